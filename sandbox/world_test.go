package sandbox

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/flowtop/flowtop/collectors/otlp"
	"github.com/flowtop/flowtop/tracing"
)

// TestWorld runs the order pipeline for a few seconds at a high rate with a
// high decline rate, then checks the account looks like the issue says: the
// DLQ holds messages, REPORT lines with cold starts exist, X-Ray holds
// traces, and one order's IDs agree across logs, segments and messages.
func TestWorld(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the world for several seconds")
	}
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb, err := Start(ctx, Config{World: WorldConfig{Rate: 40, Seed: 42, DeclineRate: 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	cfg := aws.Config{Region: Region, BaseEndpoint: aws.String(sb.URL()), Credentials: staticCreds()}
	q := sqs.NewFromConfig(cfg)
	logs := cwl.NewFromConfig(cfg)
	deadline := time.Now().Add(20 * time.Second)
	var dlqDepth string
	for time.Now().Before(deadline) {
		a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(sb.URL() + "/000000000000/" + BillingDLQ), AttributeNames: []sqsAttrName{"ApproximateNumberOfMessages"}})
		if err != nil {
			t.Fatal(err)
		}
		dlqDepth = a.Attributes["ApproximateNumberOfMessages"]
		if dlqDepth != "0" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if dlqDepth == "0" {
		t.Fatalf("billing-dlq still empty after %d orders", sb.World.Orders())
	}
	reports, err := logs.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/orders-api"), FilterPattern: aws.String(`"Init Duration"`)})
	if err != nil || len(reports.Events) == 0 {
		t.Fatalf("no cold-start REPORT lines: %v", err)
	}
	declined, err := logs.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/charge-card"), FilterPattern: aws.String(`{ $.message = "CardDeclined*" }`)})
	if err != nil || len(declined.Events) == 0 {
		t.Fatalf("no declined charges in the logs: %v", err)
	}
	x := xray.NewFromConfig(cfg)
	sums, err := x.GetTraceSummaries(ctx, &xray.GetTraceSummariesInput{StartTime: aws.Time(time.Now().Add(-time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute))})
	if err != nil || len(sums.TraceSummaries) == 0 {
		t.Fatalf("no traces: %v", err)
	}
	// Consistency: the declined message's ID appears in the DLQ and in charge-card's logs.
	m, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(sb.URL() + "/000000000000/" + BillingDLQ), VisibilityTimeout: 0})
	if err != nil || len(m.Messages) == 0 {
		t.Fatalf("dlq receive: %v", err)
	}
	id := aws.ToString(m.Messages[0].MessageId)
	hits, err := logs.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/charge-card"), FilterPattern: aws.String(`"` + id + `"`)})
	if err != nil || len(hits.Events) < 3 {
		t.Fatalf("message %s: %d log lines in charge-card, want one per attempt (3+): %v", id, len(hits.Events), err)
	}
	if !strings.Contains(aws.ToString(hits.Events[0].Message), "xray_trace_id") {
		t.Errorf("charge-card logs lack the trace id: %s", aws.ToString(hits.Events[0].Message))
	}
}

// TestWorldSendsOTLP: with an OTLP endpoint, the world's invocations arrive as
// OTel spans (through the real OTel SDK exporter) in the same trace as X-Ray,
// naming the invocation and the message; a record-analytics batch is one span
// in its own trace with a link, naming the message, to each message's
// producer span.
func TestWorldSendsOTLP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the world")
	}
	t.Parallel()
	r, err := otlp.New(otlp.Config{GRPCAddr: "off", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan tracing.Batch, 1024)
	go func() { _ = r.Run(ctx, out) }()
	addr := r.Addrs(ctx)[0]
	sb, err := Start(ctx, Config{World: WorldConfig{Rate: 20, Seed: 5, OTLPEndpoint: addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	deadline := time.After(20 * time.Second)
	var producer, consumer, linked bool
	producers := map[string]bool{} // trace/span of every producer span seen
	var batches [][]tracing.Link   // links of every batch span seen
	for !producer || !consumer || !linked {
		select {
		case b := <-out:
			for _, o := range b {
				s := o.Span
				if s.Service == PartnerService {
					continue // the other cloud's producer: world_partner_test.go
				}
				if s.InvocationID == "" {
					t.Fatalf("span without its invocation: %+v", s)
				}
				if s.Messaging.MessageID == "" && len(s.Links) < 2 {
					t.Fatalf("span without its message, not a linked batch: %+v", s)
				}
				if s.Kind == tracing.SpanKindProducer {
					producers[s.TraceID.String()+"/"+s.SpanID.String()] = true
				}
				if s.Messaging.MessageID == "" {
					if s.Messaging.Destination != AnalyticsQueue || s.Kind != tracing.SpanKindConsumer {
						t.Fatalf("batch span %q kind %v on %q, want a consumer of %s", s.Name, s.Kind, s.Messaging.Destination, AnalyticsQueue)
					}
					for _, l := range s.Links {
						if l.TraceID == s.TraceID || l.Attrs["messaging.message.id"] == "" {
							t.Fatalf("batch link %+v: want another trace and the message id", l)
						}
					}
					batches = append(batches, s.Links)
				}
				producer = producer || (s.Kind == tracing.SpanKindProducer && s.Messaging.System == "aws.eventbridge")
				consumer = consumer || (s.Kind == tracing.SpanKindConsumer && s.Messaging.Destination == BillingQueue)
			}
			// A batch counts once every link names a producer span that arrived.
			for _, links := range batches {
				all := true
				for _, l := range links {
					all = all && producers[l.TraceID.String()+"/"+l.SpanID.String()]
				}
				linked = linked || all
			}
		case <-deadline:
			t.Fatalf("producer %v consumer %v linked batch %v (%d batches, %d producer spans)", producer, consumer, linked, len(batches), len(producers))
		}
	}
}
