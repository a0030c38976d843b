package dlq

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// TestFailureQueueWatched: a queue that is only an event source mapping's
// on-failure destination (no RedrivePolicy names it) is listed and peeked
// as a DLQ once the topology names it, and the stream batch's failure
// record it holds is read as the shard and sequence range it names.
func TestFailureQueueWatched(t *testing.T) {
	t.Parallel()
	srv := sandbox.NewServer(sandbox.Options{Seed: 5})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := sqs.NewFromConfig(aws.Config{Region: sandbox.Region, BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx := context.Background()
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("clicks-failed")})
	if err != nil {
		t.Fatal(err)
	}
	start, end := "49590338271490256608559692538361571095921575989136588898", "49590338271490256608559692540000000000000000000000000000"
	body := `{"requestContext":{"requestId":"c9b8fa9f-5a7f-4e2d-af9c-0c604cde93a5","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:clicks","condition":"RetryAttemptsExhausted","approximateInvokeCount":3},` +
		`"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"version":"1.0","timestamp":"2026-12-03T10:00:01.000Z",` +
		`"KinesisBatchInfo":{"shardId":"shardId-000000000001","startSequenceNumber":"` + start + `","endSequenceNumber":"` + end + `",` +
		`"approximateArrivalOfFirstRecord":"2026-12-03T10:00:00.100Z","approximateArrivalOfLastRecord":"2026-12-03T10:00:00.500Z","batchSize":4,"streamArn":"arn:aws:kinesis:us-east-1:000000000000:stream/clicks"}}`
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
	var named []string
	s := New(c, Config{Poll: 20 * time.Millisecond, FailureQueues: func() []string { return named }})
	qs, err := s.List(ctx)
	if err != nil || len(qs) != 1 || qs[0].IsDLQ {
		t.Fatalf("before the topology names it: %+v, %v", qs, err)
	}
	named = []string{"clicks-failed"}
	if qs, err = s.List(ctx); err != nil || len(qs) != 1 || !qs[0].IsDLQ {
		t.Fatalf("once named: %+v, %v", qs, err)
	}
	out := make(chan tracing.Batch, 4)
	if err := s.poll(ctx, out, false); err != nil {
		t.Fatal(err)
	}
	var m *tracing.Message
	for _, o := range <-out {
		if o.Message != nil {
			m = o.Message
		}
	}
	if m == nil || !m.DeadLetter || m.Reason != "" || len(m.Layers) != 1 || m.Layers[0].Type != "KinesisBatchInfo" {
		t.Fatalf("peeked %+v; want the failure record read", m)
	}
	k, ok := tracing.ParseKinesisFailure([]byte(m.Body))
	if !ok {
		t.Fatal("the body kept is not the failure record")
	}
	if k.Stream != "clicks" || k.ShardID != "shardId-000000000001" || k.StartSequence != start || k.EndSequence != end || k.BatchSize != 4 || k.Function != "clicks" || k.Attempts != 3 {
		t.Errorf("batch info %+v", k)
	}
}
