package replay

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestRedriveKinesisFailureRecord: a Kinesis event source mapping's
// on-failure record names records that stay in their stream; a redrive
// holds it back as unroutable and says where the records are, through the
// real SQS client against the sandbox, and the message stays in the DLQ.
func TestRedriveKinesisFailureRecord(t *testing.T) {
	_, c, _, _ := setup(t, false)
	ctx := context.Background()
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("clicks-failed")})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"requestContext":{"requestId":"c9b8fa9f-5a7f-4e2d-af9c-0c604cde93a5","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:clicks","condition":"RetryAttemptsExhausted","approximateInvokeCount":3},` +
		`"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"version":"1.0","timestamp":"2026-12-03T10:00:01.000Z",` +
		`"KinesisBatchInfo":{"shardId":"shardId-000000000001","startSequenceNumber":"49590338271490256608559692538361571095921575989136588898","endSequenceNumber":"49590338271490256608559692540000000000000000000000000000",` +
		`"approximateArrivalOfFirstRecord":"2026-12-03T10:00:00.100Z","approximateArrivalOfLastRecord":"2026-12-03T10:00:00.500Z","batchSize":4,"streamArn":"arn:aws:kinesis:us-east-1:000000000000:stream/clicks"}}`
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: dlq.QueueUrl, MessageBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
	r := New(c, Options{StateDir: t.TempDir(), Visibility: 5 * time.Second})
	plan, err := r.PlanRedrive(ctx, RedriveRequest{DLQ: "clicks-failed"})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	res, err := r.Execute(rctx, plan, nil)
	if res.Moved != 0 || len(res.Unroutable) != 1 || !strings.Contains(res.Unroutable[0].Reason, "Kinesis batch") || !strings.Contains(res.Unroutable[0].Reason, "stream clicks, shardId-000000000001") {
		t.Fatalf("%v %v", res.Lines(), err)
	}
	// The record is still in the DLQ, visible again.
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, WaitTimeSeconds: 1, VisibilityTimeout: 0})
	for end := time.Now().Add(30 * time.Second); err == nil && len(out.Messages) == 0 && time.Now().Before(end); {
		out, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, WaitTimeSeconds: 1, VisibilityTimeout: 0})
	}
	if err != nil || len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != body {
		t.Errorf("the failure record left the DLQ: %v, %v", out, err)
	}
}
