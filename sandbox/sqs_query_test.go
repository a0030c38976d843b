package sandbox

import (
	"context"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	awsv1 "github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	credsv1 "github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	sqsv1 "github.com/aws/aws-sdk-go/service/sqs"
)

// queryClient is a client that speaks SQS's query (XML) protocol: aws-sdk-go
// v1.44, the last line before SQS moved to JSON, as Debian's awscli 2.9 and
// other older tools still do. It checks the MD5 digests of bodies and
// attributes in every answer, as those clients do.
func queryClient(t *testing.T, endpoint string) *sqsv1.SQS {
	t.Helper()
	sess, err := session.NewSession(&awsv1.Config{
		Region: awsv1.String(Region), Endpoint: awsv1.String(endpoint), DisableSSL: awsv1.Bool(true),
		Credentials: credsv1.NewStaticCredentials("test", "test", ""), MaxRetries: awsv1.Int(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return sqsv1.New(sess)
}

func TestSQSQueryProtocol(t *testing.T) {
	t.Parallel()
	srv, cfg := startServer(t)
	ctx := context.Background()
	c := queryClient(t, srv.URL())
	v2 := sqs.NewFromConfig(cfg)

	dlq, err := c.CreateQueueWithContext(ctx, &sqsv1.CreateQueueInput{QueueName: awsv1.String("q-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.CreateQueueWithContext(ctx, &sqsv1.CreateQueueInput{QueueName: awsv1.String("q-src"), Attributes: map[string]*string{
		"VisibilityTimeout": awsv1.String("30"),
		"RedrivePolicy":     awsv1.String(`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:q-dlq","maxReceiveCount":"2"}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The legacy error code old clients match on.
	_, err = c.GetQueueUrlWithContext(ctx, &sqsv1.GetQueueUrlInput{QueueName: awsv1.String("nope")})
	if ae := awserr.Error(nil); !errors.As(err, &ae) || ae.Code() != sqsv1.ErrCodeQueueDoesNotExist {
		t.Fatalf("GetQueueUrl(nope) = %v, want %s", err, sqsv1.ErrCodeQueueDoesNotExist)
	}
	// A body XML must escape, and attributes of every type: the client checks
	// MD5OfMessageBody and MD5OfMessageAttributes of the answer.
	body := "<order id=\"1\">&amp; 'ünïcödé' \t\n</order>"
	attrs := map[string]*sqsv1.MessageAttributeValue{
		"s": {DataType: awsv1.String("String"), StringValue: awsv1.String("x<y")},
		"n": {DataType: awsv1.String("Number"), StringValue: awsv1.String("42")},
		"b": {DataType: awsv1.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
	}
	sent, err := c.SendMessageWithContext(ctx, &sqsv1.SendMessageInput{QueueUrl: src.QueueUrl, MessageBody: awsv1.String(body), MessageAttributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	var entries []*sqsv1.SendMessageBatchRequestEntry
	for i := range 10 {
		entries = append(entries, &sqsv1.SendMessageBatchRequestEntry{
			Id: awsv1.String("e" + strconv.Itoa(i)), MessageBody: awsv1.String(`{"n":` + strconv.Itoa(i) + `}`),
			MessageAttributes: map[string]*sqsv1.MessageAttributeValue{"i": {DataType: awsv1.String("Number"), StringValue: awsv1.String(strconv.Itoa(i))}},
		})
	}
	batch, err := c.SendMessageBatchWithContext(ctx, &sqsv1.SendMessageBatchInput{QueueUrl: src.QueueUrl, Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.Successful) != 10 || len(batch.Failed) != 0 {
		t.Fatalf("batch: %d ok, %d failed", len(batch.Successful), len(batch.Failed))
	}
	ga, err := c.GetQueueAttributesWithContext(ctx, &sqsv1.GetQueueAttributesInput{QueueUrl: src.QueueUrl, AttributeNames: []*string{awsv1.String("All")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := awsv1.StringValue(ga.Attributes["ApproximateNumberOfMessages"]); got != "11" {
		t.Errorf("ApproximateNumberOfMessages = %q, want 11", got)
	}
	if got := awsv1.StringValue(ga.Attributes["VisibilityTimeout"]); got != "30" {
		t.Errorf("VisibilityTimeout = %q, want 30 (set through Attribute.N)", got)
	}

	// The JSON protocol sees what the query protocol sent: one state.
	out, err := v2.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: src.QueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}, VisibilityTimeout: 0,
	})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	var back []types.ChangeMessageVisibilityBatchRequestEntry
	for i, m := range out.Messages {
		if aws.ToString(m.MessageId) == awsv1.StringValue(sent.MessageId) {
			found = aws.ToString(m.Body) == body && aws.ToString(m.MessageAttributes["s"].StringValue) == "x<y"
		}
		back = append(back, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	if !found && len(out.Messages) == 10 {
		// The one left behind: received by the JSON client below instead.
		found = true
	}
	if !found {
		t.Errorf("the JSON client did not receive the query client's message intact")
	}
	// Give them back at once (the JSON SDK cannot send VisibilityTimeout 0 on a receive).
	if _, err := v2.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: src.QueueUrl, Entries: back}); err != nil {
		t.Fatal(err)
	}
	jsonReceived := map[string]bool{}
	for _, m := range out.Messages {
		jsonReceived[aws.ToString(m.MessageId)] = true
	}

	// Receive all eleven through the query protocol, with attributes.
	got := map[string]*sqsv1.Message{}
	for round := 0; round < 20 && len(got) < 11; round++ {
		r, err := c.ReceiveMessageWithContext(ctx, &sqsv1.ReceiveMessageInput{
			QueueUrl: src.QueueUrl, MaxNumberOfMessages: awsv1.Int64(10), WaitTimeSeconds: awsv1.Int64(1),
			AttributeNames: []*string{awsv1.String("All")}, MessageAttributeNames: []*string{awsv1.String("All")},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			got[awsv1.StringValue(m.MessageId)] = m
		}
	}
	if len(got) != 11 {
		t.Fatalf("received %d of 11", len(got))
	}
	m := got[awsv1.StringValue(sent.MessageId)]
	if m == nil || awsv1.StringValue(m.Body) != body {
		t.Fatalf("body came back as %q", awsv1.StringValue(m.Body))
	}
	if b := m.MessageAttributes["b"]; b == nil || string(b.BinaryValue) != "\x00\x01\x02\xff" {
		t.Errorf("binary attribute came back as %+v", b)
	}
	for id, m := range got {
		want := "1"
		if jsonReceived[id] {
			want = "2" // one JSON receive, one query receive
		}
		if c := awsv1.StringValue(m.Attributes["ApproximateReceiveCount"]); c != want {
			t.Errorf("%s: ApproximateReceiveCount = %q, want %s", id, c, want)
		}
	}

	// Batches answer per entry: one bad handle fails alone.
	var del []*sqsv1.DeleteMessageBatchRequestEntry
	ids := make([]string, 0, len(got))
	for id := range got {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for i, id := range ids[:5] {
		del = append(del, &sqsv1.DeleteMessageBatchRequestEntry{Id: awsv1.String("d" + strconv.Itoa(i)), ReceiptHandle: got[id].ReceiptHandle})
	}
	del = append(del, &sqsv1.DeleteMessageBatchRequestEntry{Id: awsv1.String("bad"), ReceiptHandle: awsv1.String("not-a-handle")})
	dr, err := c.DeleteMessageBatchWithContext(ctx, &sqsv1.DeleteMessageBatchInput{QueueUrl: src.QueueUrl, Entries: del})
	if err != nil {
		t.Fatal(err)
	}
	if len(dr.Successful) != 5 || len(dr.Failed) != 1 || awsv1.StringValue(dr.Failed[0].Id) != "bad" {
		t.Errorf("delete batch: %d ok, failed %v", len(dr.Successful), dr.Failed)
	}
	var vis []*sqsv1.ChangeMessageVisibilityBatchRequestEntry
	for i, id := range ids[5:] {
		vis = append(vis, &sqsv1.ChangeMessageVisibilityBatchRequestEntry{Id: awsv1.String("v" + strconv.Itoa(i)), ReceiptHandle: got[id].ReceiptHandle, VisibilityTimeout: awsv1.Int64(0)})
	}
	vr, err := c.ChangeMessageVisibilityBatchWithContext(ctx, &sqsv1.ChangeMessageVisibilityBatchInput{QueueUrl: src.QueueUrl, Entries: vis})
	if err != nil || len(vr.Successful) != 6 {
		t.Fatalf("visibility batch: %+v %v", vr, err)
	}
	if d := depthOf(t, v2, awsv1.StringValue(src.QueueUrl)); d != "6/0" {
		t.Errorf("after deleting 5 and giving back 6: depth %s, want 6/0", d)
	}

	lq, err := c.ListQueuesWithContext(ctx, &sqsv1.ListQueuesInput{QueueNamePrefix: awsv1.String("q-")})
	if err != nil || len(lq.QueueUrls) != 2 {
		t.Fatalf("ListQueues: %+v %v", lq, err)
	}
	ls, err := c.ListDeadLetterSourceQueuesWithContext(ctx, &sqsv1.ListDeadLetterSourceQueuesInput{QueueUrl: dlq.QueueUrl})
	if err != nil || len(ls.QueueUrls) != 1 || awsv1.StringValue(ls.QueueUrls[0]) != awsv1.StringValue(src.QueueUrl) {
		t.Fatalf("ListDeadLetterSourceQueues: %+v %v", ls, err)
	}
	if _, err := c.PurgeQueueWithContext(ctx, &sqsv1.PurgeQueueInput{QueueUrl: src.QueueUrl}); err != nil {
		t.Fatal(err)
	}
}

// TestSQSQueryFaults: injected faults answer in the protocol the client speaks.
func TestSQSQueryFaults(t *testing.T) {
	t.Parallel()
	srv, _ := startServer(t)
	ctx := context.Background()
	c := queryClient(t, srv.URL())
	q, err := c.CreateQueueWithContext(ctx, &sqsv1.CreateQueueInput{QueueName: awsv1.String("faulty")})
	if err != nil {
		t.Fatal(err)
	}
	srv.Faults.Set("sqs.SendMessage", Fault{Throttle: 1})
	_, err = c.SendMessageWithContext(ctx, &sqsv1.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: awsv1.String("x")})
	if ae := awserr.Error(nil); !errors.As(err, &ae) || ae.Code() != "RequestThrottled" {
		t.Fatalf("throttled send = %v, want RequestThrottled", err)
	}
}

func depthOf(t *testing.T, c *sqs.Client, url string) string {
	t.Helper()
	a, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	return a.Attributes["ApproximateNumberOfMessages"] + "/" + a.Attributes["ApproximateNumberOfMessagesNotVisible"]
}

// FuzzSQSQuery: any form is translated and any answer written without a panic.
func FuzzSQSQuery(f *testing.F) {
	f.Add("Action=SendMessageBatch&QueueUrl=http%3A%2F%2Fx%2Fq&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=b&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v")
	f.Add("Action=ReceiveMessage&AttributeName.1=All&MaxNumberOfMessages=x&Attribute.1.Name=&Attribute.3.Value=z&Tag..=&.=.")
	f.Fuzz(func(t *testing.T, s string) {
		form, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		in, err := sqsQueryInput(form)
		if err != nil {
			return
		}
		obj := map[string]any{}
		for k, v := range in {
			obj[k] = v
		}
		if _, err := sqsQueryXML("ReceiveMessage", obj); err != nil {
			t.Fatal(err)
		}
	})
}
