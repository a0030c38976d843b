package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestSQSConformance(t *testing.T) {
	t.Parallel()
	_, cfg := startServer(t)
	ctx := context.Background()
	c := sqs.NewFromConfig(cfg)
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	dlqArn := "arn:aws:sqs:us-east-1:000000000000:orders-dlq"
	src, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders"), Attributes: map[string]string{
		"VisibilityTimeout": "1",
		"RedrivePolicy":     `{"deadLetterTargetArn":"` + dlqArn + `","maxReceiveCount":"2"}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Typed errors.
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	var qdne *types.QueueDoesNotExist
	if !errors.As(err, &qdne) {
		t.Fatalf("GetQueueUrl(nope) = %v, want QueueDoesNotExist", err)
	}
	// Send with attributes of every type and a trace header.
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: src.QueueUrl, MessageBody: aws.String(`{"order":1}`),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"s": {DataType: aws.String("String"), StringValue: aws.String("x")},
			"n": {DataType: aws.String("Number"), StringValue: aws.String("42")},
			"b": {DataType: aws.String("Binary"), BinaryValue: []byte{1, 2, 3}},
		},
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(sent.MD5OfMessageAttributes) == "" {
		t.Error("no attribute MD5")
	}
	for attempt := 1; attempt <= 2; attempt++ {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: src.QueueUrl, WaitTimeSeconds: 3, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) != 1 {
			t.Fatalf("attempt %d: %d messages", attempt, len(out.Messages))
		}
		m := out.Messages[0]
		if aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) || m.Attributes["ApproximateReceiveCount"] != strconv.Itoa(attempt) || m.Attributes["AWSTraceHeader"] == "" || len(m.MessageAttributes) != 3 {
			t.Fatalf("attempt %d: %+v", attempt, m)
		}
		if string(m.MessageAttributes["b"].BinaryValue) != "\x01\x02\x03" {
			t.Errorf("binary attribute %v", m.MessageAttributes["b"].BinaryValue)
		}
	}
	// After maxReceiveCount, the next receive moves it to the DLQ.
	time.Sleep(1100 * time.Millisecond)
	out, _ := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: src.QueueUrl})
	if len(out.Messages) != 0 {
		t.Fatalf("message received a third time")
	}
	d, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}, VisibilityTimeout: 0})
	if err != nil || len(d.Messages) != 1 {
		t.Fatalf("dlq: %v %v", err, d)
	}
	if d.Messages[0].Attributes["DeadLetterQueueSourceArn"] != "arn:aws:sqs:us-east-1:000000000000:orders" || aws.ToString(d.Messages[0].MessageId) != aws.ToString(sent.MessageId) {
		t.Errorf("dlq copy %+v", d.Messages[0])
	}
	// Give it back at once, then check the sources list and counts.
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: dlq.QueueUrl, ReceiptHandle: d.Messages[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	srcs, err := c.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: dlq.QueueUrl})
	if err != nil || len(srcs.QueueUrls) != 1 {
		t.Fatalf("sources %v %v", srcs, err)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil || attrs.Attributes["ApproximateNumberOfMessages"] != "1" {
		t.Fatalf("dlq attributes %v %v", attrs, err)
	}
	// Native redrive back to the source.
	task, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn), MaxNumberOfMessagesPerSecond: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn)})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Results) == 1 && aws.ToString(l.Results[0].Status) == "COMPLETED" {
			if l.Results[0].ApproximateNumberOfMessagesMoved != 1 {
				t.Errorf("moved %d", l.Results[0].ApproximateNumberOfMessagesMoved)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s not completed: %+v", aws.ToString(task.TaskHandle), l.Results)
		}
		time.Sleep(20 * time.Millisecond)
	}
	back, _ := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: src.QueueUrl, WaitTimeSeconds: 1})
	if len(back.Messages) != 1 || aws.ToString(back.Messages[0].Body) != `{"order":1}` {
		t.Fatalf("redriven: %+v", back.Messages)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: src.QueueUrl, ReceiptHandle: back.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: src.QueueUrl, ReceiptHandle: aws.String("garbage")})
	var bad *types.ReceiptHandleIsInvalid
	if !errors.As(err, &bad) {
		t.Errorf("bad handle: %v", err)
	}
}

func TestSQSBatchPaginationFIFO(t *testing.T) {
	t.Parallel()
	srv, cfg := startServer(t)
	ctx := context.Background()
	c := sqs.NewFromConfig(cfg)
	for i := 0; i < 7; i++ {
		if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("q%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	p := sqs.NewListQueuesPaginator(c, &sqs.ListQueuesInput{MaxResults: aws.Int32(3)})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.QueueUrls)
	}
	if n != 7 {
		t.Errorf("paginated %d queues", n)
	}
	f, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("f.fifo"), Attributes: map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	var entries []types.SendMessageBatchRequestEntry
	for i := 0; i < 4; i++ {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(fmt.Sprintf("m%d", i%3)), MessageGroupId: aws.String("g")})
	}
	if _, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: f.QueueUrl, Entries: entries}); err != nil {
		t.Fatal(err)
	}
	// m0 was sent twice: deduplicated. One group: one message in flight at a time, in order.
	var got []string
	for i := 0; i < 4; i++ {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: f.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			got = append(got, aws.ToString(m.Body))
			_, _ = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: f.QueueUrl, ReceiptHandle: m.ReceiptHandle})
		}
	}
	if fmt.Sprint(got) != "[m0 m1 m2]" {
		t.Errorf("fifo order/dedup: %v", got)
	}
	// Injected throttling is retried by the SDK.
	srv.Faults.Set("sqs.SendMessage", Fault{Throttle: 0.1})
	for i := 0; i < 10; i++ {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(srv.URL() + "/000000000000/q0"), MessageBody: aws.String("x")}); err != nil {
			t.Fatalf("throttled send not retried: %v", err)
		}
	}
	srv.DisableMessageMoveTasks(true)
	_, err = c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:q1")})
	var unsupported *types.UnsupportedOperation
	if !errors.As(err, &unsupported) {
		t.Errorf("disabled move tasks: %v", err)
	}
}
