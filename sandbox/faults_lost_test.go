package sandbox

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestParseChaosLost(t *testing.T) {
	f, err := ParseChaos("sqs.SendMessageBatch:lost=0.1,sqs:5xx=0.05")
	if err != nil || f["sqs.SendMessageBatch"].Lost != 0.1 || f["sqs"].Error5xx != 0.05 {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := ParseChaos("sqs:lost=2"); err == nil {
		t.Error("lost=2 accepted")
	}
}

// A lost answer: the call is made (the message is in the queue), the caller
// sees only a cut connection.
func TestLostAnswerPerformsTheCall(t *testing.T) {
	srv, cfg := startServer(t)
	c := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), 1) })
	ctx := context.Background()
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("lost")})
	if err != nil {
		t.Fatal(err)
	}
	srv.Faults.Set("sqs.SendMessageBatch", Fault{Lost: 1})
	_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q.QueueUrl, Entries: []sqstypes.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("one")}, {Id: aws.String("b"), MessageBody: aws.String("two")},
	}})
	if err == nil {
		t.Fatal("the answer arrived")
	}
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages"}})
	if err != nil || a.Attributes["ApproximateNumberOfMessages"] != "2" {
		t.Fatalf("after a lost answer: %v %v", a.Attributes, err)
	}
}

// The field compat mode: StartMessageMoveTask is an HTML 500, and a
// dead-lettered message keeps its ID but names no source.
func TestCompatField(t *testing.T) {
	srv := NewServer(Options{Seed: 7, Compat: CompatField})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := sqs.NewFromConfig(aws.Config{Region: Region, Credentials: staticCreds(), BaseEndpoint: aws.String(url)},
		func(o *sqs.Options) { o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), 1) })
	ctx := context.Background()
	dlq, _ := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("d")})
	src, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("s"), Attributes: map[string]string{
		"VisibilityTimeout": "0", "RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d","maxReceiveCount":"1"}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: src.QueueUrl, MessageBody: aws.String("x")})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		_, _ = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: src.QueueUrl})
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"}})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("dlq: %v", err)
	}
	m := out.Messages[0]
	if aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) || m.Attributes["DeadLetterQueueSourceArn"] != "" {
		t.Fatalf("dead-lettered: id %s (sent %s), source %q", aws.ToString(m.MessageId), aws.ToString(sent.MessageId), m.Attributes["DeadLetterQueueSourceArn"])
	}
	_, err = c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:d")})
	if err == nil || !strings.Contains(err.Error(), "StatusCode: 500") {
		t.Fatalf("StartMessageMoveTask: %v", err)
	}
}
