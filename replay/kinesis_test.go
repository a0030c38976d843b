package replay

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flowtop/flowtop/sandbox"
)

// TestRedriveKinesisFailureRecord: a Kinesis event source mapping's
// on-failure record names records that stay in their stream; a redrive
// holds it back as unroutable and says where the records are, through the
// real SQS client against the sandbox, and the message stays in the DLQ.
func TestRedriveKinesisFailureRecord(t *testing.T) {
	srv, c, _, _ := setup(t, false)
	ctx := context.Background()
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("clicks-failed")})
	if err != nil {
		t.Fatal(err)
	}
	// The mapping of function clicks on stream clicks sends its failures here.
	srv.RegisterFunction(sandbox.LambdaFunction{Name: "clicks", Runtime: "python3.13"})
	srv.AddStreamEventSourceMapping("arn:aws:kinesis:us-east-1:000000000000:stream/clicks", "clicks", 4, "TRIM_HORIZON", 2, "arn:aws:sqs:us-east-1:000000000000:clicks-failed")
	body := `{"requestContext":{"requestId":"c9b8fa9f-5a7f-4e2d-af9c-0c604cde93a5","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:clicks","condition":"RetryAttemptsExhausted","approximateInvokeCount":3},` +
		`"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"version":"1.0","timestamp":"2026-12-03T10:00:01.000Z",` +
		`"KinesisBatchInfo":{"shardId":"shardId-000000000001","startSequenceNumber":"49590338271490256608559692538361571095921575989136588898","endSequenceNumber":"49590338271490256608559692540000000000000000000000000000",` +
		`"approximateArrivalOfFirstRecord":"2026-12-03T10:00:00.100Z","approximateArrivalOfLastRecord":"2026-12-03T10:00:00.500Z","batchSize":4,"streamArn":"arn:aws:kinesis:us-east-1:000000000000:stream/clicks"}}`
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: dlq.QueueUrl, MessageBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	r := New(c, Options{StateDir: t.TempDir(), Visibility: 5 * time.Second}).WithBrokers(Brokers{Lambda: lc})
	// The plan says what the record is: a pointer to records still in the
	// stream (their shard and range, when the graph knows its body), not a
	// message, and how to read them again; never "say --to".
	plan, err := r.PlanRedrive(ctx, RedriveRequest{DLQ: "clicks-failed", Bodies: map[string]string{"m-1": body, "m-2": body}})
	if err != nil {
		t.Fatal(err)
	}
	text := plan.String()
	for _, want := range []string{
		"1 of them stream on-failure records: pointers to records in a stream, not messages",
		"nothing, for a stream's on-failure record",
		"the event source mapping of function clicks on stream clicks sends its on-failure records here",
		"a pointer, not a message: 4 records still in stream clicks, shardId-000000000001, sequence numbers 49590338271490256608559692538361571095921575989136588898 to 49590338271490256608559692540000000000000000000000000000",
		"GetShardIterator AT_SEQUENCE_NUMBER 49590338271490256608559692538361571095921575989136588898",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "need --to") || strings.Count(text, "kinesis: ") != 1 {
		t.Errorf("the plan asks for --to or lists the record twice:\n%s", text)
	}
	// Without its body, the mapping alone still says what such records are.
	bare, err := r.PlanRedrive(ctx, RedriveRequest{DLQ: "clicks-failed"})
	if err != nil || !strings.Contains(bare.String(), "nothing, for a stream's on-failure record") || strings.Contains(bare.String(), "need --to") {
		t.Errorf("plan without bodies: %v\n%s", err, bare)
	}

	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	res, err := r.Execute(rctx, plan, nil)
	if res.Moved != 0 || len(res.Unroutable) != 1 || !strings.Contains(res.Unroutable[0].Reason, "a pointer, not a message") || !strings.Contains(res.Unroutable[0].Reason, "stream clicks, shardId-000000000001") ||
		strings.Contains(res.Unroutable[0].Reason, "--to") {
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
