package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/smithy-go/logging"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// fixture is a small account written through the real SDK into an empty
// sandbox, so that each ID and each way to reach it is known:
//
//   - producer invocation reqP (orders-api, trace trP) publishes ev1 and ev2;
//   - consumer invocation req1 (charge-card, trace tr1) handles ev1 as message msg1;
//   - consumer invocation req2 (charge-card) handles ev2 as msg2 and fails; a copy
//     of ev2 sits in billing-dlq under a new message ID (dlqMsg) that no log names;
//   - consumer invocation req3 (charge-card, trace tr3) handles ev3 but logs no
//     event ID: only its X-Ray segment, annotated event_id = ev3, ties them.
type fixture struct {
	url                      string
	srv                      *sandbox.Server
	reqP, req1, req2, req3   string
	trP, tr1, tr3            string
	ev1, ev2, ev3            string
	msg1, msg2, dlqMsg       string
	producerGroup, consumers string
}

func awsConfig(url string) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), Logger: logging.Nop{}}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := sandbox.NewServer(sandbox.Options{Seed: 21})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	f := &fixture{
		url: url, srv: srv,
		reqP: "0a000000-0000-4000-8000-00000000000a", req1: "0b000000-0000-4000-8000-00000000000b",
		req2: "0c000000-0000-4000-8000-00000000000c", req3: "0d000000-0000-4000-8000-00000000000d",
		ev1: "6f1c0000-aaaa-4bbb-8ccc-000000000001", ev2: "6f1c0000-aaaa-4bbb-8ccc-000000000002", ev3: "6f1c0000-aaaa-4bbb-8ccc-000000000003",
		msg1: "7a2d0000-1111-4222-8333-000000000001", msg2: "7a2d0000-1111-4222-8333-000000000002",
		producerGroup: "/aws/lambda/orders-api", consumers: "/aws/lambda/charge-card",
	}
	now := time.Now()
	sec := now.Unix() - 120
	f.trP = fmt.Sprintf("1-%08x-%024x", sec, 0xa)
	f.tr1 = fmt.Sprintf("1-%08x-%024x", sec, 0xb)
	f.tr3 = fmt.Sprintf("1-%08x-%024x", sec, 0xd)
	ctx := context.Background()
	cfg := awsConfig(url)

	// The DLQ copy of ev2, under a new message ID.
	q := sqs.NewFromConfig(cfg)
	dlq, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("billing-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("billing-queue"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:billing-dlq","maxReceiveCount":"3"}`,
	}}); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"OrderPlaced","source":"orders.api","account":"000000000000","time":"2026-12-03T10:00:00Z","region":"us-east-1","resources":[],"detail":{"order_id":"o-2"}}`, f.ev2)
	sent, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: dlq.QueueUrl, MessageBody: aws.String(body)})
	if err != nil {
		t.Fatal(err)
	}
	f.dlqMsg = aws.ToString(sent.MessageId)

	// Logs.
	logs := cwl.NewFromConfig(cfg)
	at := now.Add(-2 * time.Minute)
	line := func(req, level string, fields map[string]any) string {
		fields["level"], fields["function_request_id"] = level, req
		b, _ := json.Marshal(fields)
		return string(b)
	}
	report := func(req, trace string) []string {
		return []string{
			"START RequestId: " + req + " Version: $LATEST", "END RequestId: " + req,
			"REPORT RequestId: " + req + "\tDuration: 12.00 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\nXRAY TraceId: " + trace + "\tSegmentId: 00000000000000" + req[:2] + "\tSampled: true\t",
		}
	}
	producer := append(report(f.reqP, f.trP),
		line(f.reqP, "INFO", map[string]any{"message": "published", "published_event_id": f.ev1}),
		line(f.reqP, "INFO", map[string]any{"message": "published", "published_event_id": f.ev2}))
	consumer := append(append(append(report(f.req1, f.tr1), report(f.req2, "1-00000000-000000000000000000000000")[:2]...), report(f.req3, f.tr3)...),
		line(f.req1, "INFO", map[string]any{"message": "charged", "messageId": f.msg1, "event_id": f.ev1}),
		line(f.req2, "ERROR", map[string]any{"message": "card declined", "messageId": f.msg2, "event_id": f.ev2}),
		line(f.req3, "INFO", map[string]any{"message": "charged"}))
	for group, lines := range map[string][]string{f.producerGroup: producer, f.consumers: consumer} {
		if _, err := logs.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
			t.Fatal(err)
		}
		if _, err := logs.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
		var evs []cwltypes.InputLogEvent
		for i, l := range lines {
			evs = append(evs, cwltypes.InputLogEvent{Timestamp: aws.Int64(at.Add(time.Duration(i) * time.Millisecond).UnixMilli()), Message: aws.String(l)})
		}
		if _, err := logs.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}

	// X-Ray: req3's segment is the only record that names ev3.
	seg := func(id, trace, name, req string, annots map[string]any) string {
		b, _ := json.Marshal(map[string]any{
			"id": id, "trace_id": trace, "name": name, "origin": "AWS::Lambda::Function",
			"start_time": float64(sec), "end_time": float64(sec) + 0.012, "aws": map[string]any{"request_id": req}, "annotations": annots,
		})
		return string(b)
	}
	xr := awsxray.NewFromConfig(cfg)
	if _, err := xr.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{
		seg("0b0000000000000b", f.tr1, "charge-card", f.req1, nil),
		seg("0d0000000000000d", f.tr3, "charge-card", f.req3, map[string]any{"event_id": f.ev3}),
	}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) engine(t *testing.T, xray bool) *Engine {
	t.Helper()
	e, err := New(Settings{
		AWS: awsConfig(f.url), Title: "test", StateDir: t.TempDir(),
		Sources: Sources{LogGroups: []string{f.producerGroup, f.consumers}, XRay: xray, LiveTail: "off"},
		Search:  SearchBounds{Timeout: 30 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// hasInvocation reports whether the lineage has an invocation hop of fn with
// request ID req.
func hasInvocation(l graph.Lineage, fn, req string) bool {
	for _, h := range l.Hops {
		if h.Component.Name != fn {
			continue
		}
		for _, k := range h.Keys {
			if k.Kind == tracing.KeyRequestID && k.Value == req {
				return true
			}
		}
	}
	return false
}

func lineage(t *testing.T, e *Engine, id string) graph.Lineage {
	t.Helper()
	l, err := e.Graph().Lineage(id)
	if err != nil {
		t.Fatalf("lineage %s: %v (keys known: %d events)", id, err, e.Graph().Totals().Events)
	}
	return l
}

// TestSearchFindsAnEventByEachOfItsIDs: the history search reaches ev1 and its
// consumer invocation from its EventBridge id, its message ID, the consumer's
// request ID and the consumer's trace ID.
func TestSearchFindsAnEventByEachOfItsIDs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct{ name, id string }{
		{"eventbridge id", f.ev1},
		{"message id", f.msg1},
		{"request id", f.req1},
		{"trace id", f.tr1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := f.engine(t, true)
			var notes []string
			res, err := e.Search(context.Background(), tc.id, time.Hour, func(n string) { notes = append(notes, n) })
			if err != nil || !res.Found {
				t.Fatalf("search: %+v %v; notes %q; failures %v", res, err, notes, e.Failures())
			}
			l := lineage(t, e, tc.id)
			if l.ID != f.ev1 && !slicesContainsKey(l.Keys, f.ev1) {
				t.Errorf("found event %s, want ev1 %s", l.ID, f.ev1)
			}
			if !hasInvocation(l, "charge-card", f.req1) || !hasInvocation(l, "orders-api", f.reqP) {
				t.Errorf("lineage by %s lacks the consumer or the producer:\n%+v", tc.name, l.Hops)
			}
			if len(notes) == 0 || !strings.HasPrefix(notes[0], "round 1: 1 keys, ") {
				t.Errorf("progress notes %q", notes)
			}
			if f := e.Failures(); len(f) != 0 {
				t.Errorf("failures: %v", f)
			}
		})
	}
}

func slicesContainsKey(keys []tracing.Key, v string) bool {
	for _, k := range keys {
		if k.Value == v {
			return true
		}
	}
	return false
}

// TestSearchFollowsEveryCandidate: the producer's request ID matches two
// events after round one; the search follows both, so each reaches its
// consumer (before, it stopped when a round found more than one event).
func TestSearchFollowsEveryCandidate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := f.engine(t, true)
	var notes []string
	res, err := e.Search(context.Background(), f.reqP, time.Hour, func(n string) { notes = append(notes, n) })
	if err != nil || !res.Found || res.Rounds < 2 {
		t.Fatalf("search: %+v %v %q", res, err, notes)
	}
	if _, err := e.Graph().Lineage(f.reqP); !errors.Is(err, graph.ErrAmbiguous) {
		t.Errorf("the producer's request ID should match both events: %v", err)
	}
	if l := lineage(t, e, f.ev1); !hasInvocation(l, "charge-card", f.req1) {
		t.Errorf("ev1 was not followed to its consumer: %+v", l.Hops)
	}
	if l := lineage(t, e, f.ev2); !hasInvocation(l, "charge-card", f.req2) || len(l.DLQ) == 0 {
		t.Errorf("ev2 was not followed to its consumer and its DLQ copy: %+v %+v", l.Hops, l.DLQ)
	}
	t.Logf("notes: %q", notes)
}

// TestXRayAndDLQSearchersContribute: ev3's consumer is tied to it only by an
// X-Ray annotation, and the DLQ copy of ev2 is named only by the DLQ.
func TestXRayAndDLQSearchersContribute(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Not in parallel: a peek hides the DLQ's messages from another peek
	// until it gives them back.
	t.Run("xray", func(t *testing.T) {
		e := f.engine(t, true)
		if res, err := e.Search(context.Background(), f.ev3, time.Hour, nil); err != nil || !res.Found {
			t.Fatalf("search: %+v %v %v", res, err, e.Failures())
		}
		if l := lineage(t, e, f.ev3); !hasInvocation(l, "charge-card", f.req3) {
			t.Errorf("ev3 lacks its consumer found through X-Ray: %+v", l.Hops)
		}
		off := f.engine(t, false)
		if res, _ := off.Search(context.Background(), f.ev3, time.Hour, nil); res.Found {
			t.Errorf("without X-Ray nothing names ev3, yet it was found: the test proves nothing")
		}
	})
	t.Run("dlq", func(t *testing.T) {
		e := f.engine(t, true)
		if res, err := e.Search(context.Background(), f.dlqMsg, time.Hour, nil); err != nil || !res.Found {
			t.Fatalf("search: %+v %v %v", res, err, e.Failures())
		}
		l := lineage(t, e, f.dlqMsg)
		if !slicesContainsKey(l.Keys, f.ev2) || !hasInvocation(l, "charge-card", f.req2) || len(l.DLQ) != 1 {
			t.Errorf("the DLQ copy's ID should reach ev2, its consumer and the copy: keys %v hops %+v dlq %+v", l.Keys, l.Hops, l.DLQ)
		}
	})
}

// TestSearchBounds: the round bound stops the search and says so.
func TestSearchBounds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e, err := New(Settings{
		AWS: awsConfig(f.url), Sources: Sources{LogGroups: []string{f.producerGroup, f.consumers}, XRay: true, LiveTail: "off"},
		Search: SearchBounds{Rounds: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var notes []string
	res, err := e.Search(context.Background(), f.reqP, time.Hour, func(n string) { notes = append(notes, n) })
	if err != nil || res.Rounds != 1 || res.Bound != "rounds" {
		t.Fatalf("%+v %v", res, err)
	}
	if notes[len(notes)-1] != "stopped at the rounds bound" {
		t.Errorf("notes %q", notes)
	}
}

// TestFailedSourcesAreNamed: against an endpoint that refuses connections,
// a search finds nothing and Err names every source that failed and why.
func TestFailedSourcesAreNamed(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	_ = l.Close()
	cfg := awsConfig(url)
	cfg.RetryMaxAttempts = 1
	e, err := New(Settings{AWS: cfg, Sources: Sources{LogGroups: []string{"/aws/lambda/x"}, XRay: true, LiveTail: "off"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.SearchHistory(context.Background(), "some-id", nil)
	var fe *FailedSourcesError
	if !errors.As(err, &fe) {
		t.Fatalf("SearchHistory = %v, want the failed sources", err)
	}
	names := map[string]bool{}
	for _, f := range fe.Failures {
		names[f.Source] = true
		if !strings.Contains(f.Err, "cannot reach the endpoint") {
			t.Errorf("%s: %q does not say why", f.Source, f.Err)
		}
	}
	for _, want := range []string{"cwlogs", "dlq", "lambda", "xray"} {
		if !names[want] {
			t.Errorf("%s not named: %v", want, fe.Failures)
		}
	}
}

// TestSearchWhileLive: with the hub running, search results reach the graph
// through it (one writer), and the engine's own source stays out of Health.
func TestSearchWhileLive(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := f.engine(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.Start(ctx)
	if err := e.SearchHistory(ctx, f.ev1, nil); err != nil {
		t.Fatal(err)
	}
	if l := lineage(t, e, f.ev1); !hasInvocation(l, "charge-card", f.req1) {
		t.Errorf("hops %+v", l.Hops)
	}
	for _, h := range e.Health() {
		if h.Source == injectorName {
			t.Errorf("health shows the engine's own source")
		}
	}
	// Once the hub has stopped, a search still lands in the graph.
	cancel()
	e.Close()
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	if err := e.SearchHistory(sctx, f.ev2, nil); err != nil {
		t.Fatal(err)
	}
	if l := lineage(t, e, f.ev2); !hasInvocation(l, "charge-card", f.req2) {
		t.Errorf("after close: hops %+v", l.Hops)
	}
}
