package replay

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowtop/flowtop/sandbox"
)

// TestReplayEditedEvent: an edited EventBridge event goes back on its bus
// with its source and detail-type, and its rules deliver the edit; SQS and SNS
// copies carry flowtop-replay-of; bad edits and read-only are refused.
func TestReplayEditedEvent(t *testing.T) {
	srv := sandbox.NewServer(sandbox.Options{Seed: 2})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	ctx := context.Background()
	q, eb, sn := sqs.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	out, _ := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("billing")})
	qurl := aws.ToString(out.QueueUrl)
	_, _ = eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")})
	_, _ = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String("orders"), EventPattern: aws.String(`{"detail-type":["OrderPlaced"]}`)})
	_, _ = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), EventBusName: aws.String("orders"), Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:billing")}}})
	topic, _ := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("order-events")})
	_, _ = sn.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:billing"), Attributes: map[string]string{"RawMessageDelivery": "true"}})
	r := New(q, Options{StateDir: t.TempDir()}).WithBrokers(Brokers{EventBridge: eb, SNS: sn, Lambda: lambda.NewFromConfig(cfg)})
	edited := `{"version":"0","id":"ev-1","detail-type":"OrderPlaced","source":"orders.api","account":"0","time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],"detail":{"order_id":"o-1","card":"visa-fixed"}}`
	plan, err := r.PlanReplay(ctx, ReplayRequest{OriginalID: "ev-1", Body: edited, Target: Target{Kind: "events", Name: "orders"}})
	if err != nil || plan.Source != "orders.api" || plan.DetailType != "OrderPlaced" || !strings.Contains(plan.Body, "visa-fixed") {
		t.Fatalf("plan %+v %v", plan, err)
	}
	newID, err := r.ExecuteReplay(ctx, plan)
	if err != nil || newID == "" || newID == "ev-1" {
		t.Fatalf("replay: %q %v", newID, err)
	}
	got, _ := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), WaitTimeSeconds: 1})
	if len(got.Messages) != 1 || !strings.Contains(aws.ToString(got.Messages[0].Body), "visa-fixed") || !strings.Contains(aws.ToString(got.Messages[0].Body), "replay-of/ev-1") || !strings.Contains(aws.ToString(got.Messages[0].Body), newID) {
		t.Fatalf("delivered: %+v", got.Messages)
	}
	_, _ = q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(qurl), ReceiptHandle: got.Messages[0].ReceiptHandle})
	for _, target := range []Target{{Kind: "sqs", Name: "billing"}, {Kind: "sns", Name: aws.ToString(topic.TopicArn)}} {
		p, err := r.PlanReplay(ctx, ReplayRequest{OriginalID: "m-1", Body: `{"order_id":"o-1"}`, Target: target})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.ExecuteReplay(ctx, p); err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		m, _ := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if len(m.Messages) != 1 || aws.ToString(m.Messages[0].MessageAttributes["flowtop-replay-of"].StringValue) != "m-1" {
			t.Fatalf("%s: %+v", target, m.Messages)
		}
		_, _ = q.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(qurl), Entries: []sqstypes.DeleteMessageBatchRequestEntry{{Id: aws.String("0"), ReceiptHandle: m.Messages[0].ReceiptHandle}}})
	}
	for name, req := range map[string]ReplayRequest{
		"detail only":  {OriginalID: "x", Body: `{"order_id":"o-1"}`, Target: Target{Kind: "events", Name: "orders"}},
		"broken json":  {OriginalID: "x", Body: `{"version":"0","id":"e","detail-type":"T","source":"s","detail":{oops}}`, Target: Target{Kind: "events", Name: "orders"}},
		"empty":        {OriginalID: "x", Body: " ", Target: Target{Kind: "sqs", Name: "billing"}},
		"lambda text":  {OriginalID: "x", Body: "not json", Target: Target{Kind: "lambda", Name: "f"}},
		"unknown kind": {OriginalID: "x", Body: "{}", Target: Target{Kind: "kinesis", Name: "s"}},
	} {
		if _, err := r.PlanReplay(ctx, req); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ro := New(q, Options{ReadOnly: true})
	if _, err := ro.ExecuteReplay(ctx, plan); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only: %v", err)
	}
	if _, err := ParseTarget("events"); err == nil {
		t.Error("ParseTarget accepted a bare kind")
	}
}
