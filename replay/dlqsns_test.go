package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flowtop/flowtop/sandbox"
)

func snsClient(srv *sandbox.Server) *sns.Client {
	return sns.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// snsWorld is a topic with a subscription whose endpoint is broken and
// whose RedrivePolicy names sub-dlq, plus an audit queue subscribed to the
// same topic without a DLQ (it must not get the messages again).
type snsWorld struct {
	n                *sns.Client
	topic, sub       string
	dlqURL, auditURL string
}

func newSNSWorld(t *testing.T, srv *sandbox.Server, c *sqs.Client, protocol, endpoint string, raw bool) snsWorld {
	t.Helper()
	ctx := context.Background()
	w := snsWorld{n: snsClient(srv)}
	for _, q := range []string{"sub-dlq", "audit-queue"} {
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q)})
		if err != nil {
			t.Fatal(err)
		}
		if q == "sub-dlq" {
			w.dlqURL = aws.ToString(out.QueueUrl)
		} else {
			w.auditURL = aws.ToString(out.QueueUrl)
		}
	}
	topic, err := w.n.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("order-events")})
	if err != nil {
		t.Fatal(err)
	}
	w.topic = aws.ToString(topic.TopicArn)
	attrs := map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:sub-dlq"}`}
	if raw {
		attrs["RawMessageDelivery"] = "true"
	}
	sub, err := w.n.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String(protocol), Endpoint: aws.String(endpoint), Attributes: attrs, ReturnSubscriptionArn: true})
	if err != nil {
		t.Fatal(err)
	}
	w.sub = aws.ToString(sub.SubscriptionArn)
	if _, err := w.n.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:audit-queue")}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w snsWorld) publish(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := w.n.Publish(context.Background(), &sns.PublishInput{
			TopicArn: aws.String(w.topic), Message: aws.String(fmt.Sprintf(`{"order":%d}`, i)),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("email")}},
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// A raw-delivery SNS subscription whose queue was deleted dead-letters
// 1,000 notifications; the queue is recreated; the plan finds the
// subscription (ListSubscriptions, GetSubscriptionAttributes) and names it,
// and the journaled redrive sends every message back to that queue — not to
// the topic, whose audit subscriber had them already: 0 lost, 0 left, 0
// duplicates, each with its attributes.
func TestRedriveSNSSubscriptionDLQToItsQueue(t *testing.T) {
	srv, c, _, _ := setup(t, false)
	ctx := context.Background()
	ep, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("email-queue")})
	if err != nil {
		t.Fatal(err)
	}
	w := newSNSWorld(t, srv, c, "sqs", "arn:aws:sqs:us-east-1:000000000000:email-queue", true)
	if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: ep.QueueUrl}); err != nil { // the endpoint breaks
		t.Fatal(err)
	}
	const n = 1000
	w.publish(t, n)
	if d := depth(t, c, w.dlqURL); d != "1000/0" {
		t.Fatalf("sub-dlq holds %s, want 1000 dead-lettered", d)
	}
	if ep, err = c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("email-queue")}); err != nil { // the fix
		t.Fatal(err)
	}
	r := New(c, Options{StateDir: t.TempDir(), Visibility: 5 * time.Second}).WithBrokers(Brokers{SNS: w.n})
	plan, err := r.PlanRedrive(ctx, RedriveRequest{DLQ: "sub-dlq"})
	if err != nil {
		t.Fatal(err)
	}
	want := "why:    subscription " + w.sub + " of topic order-events (sqs, raw delivery) dead-letters here (its RedrivePolicy names this DLQ); messages go back to its endpoint email-queue"
	if !strings.Contains(plan.String(), want) || !strings.HasPrefix(plan.Route, "email-queue, the endpoint of SNS subscription "+w.sub) || plan.Method != MethodJournaled {
		t.Fatalf("plan:\n%s", plan)
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	res, err := r.Execute(rctx, plan, nil)
	if err != nil || res.Moved != n || res.Duplicates != 0 || len(res.Unroutable) != 0 {
		t.Fatalf("%v %v", res.Lines(), err)
	}
	if d := depth(t, c, w.dlqURL); d != "0/0" {
		t.Fatalf("sub-dlq %s after the redrive", d)
	}
	got := map[string]int{}
	total := 0
	for depth(t, c, aws.ToString(ep.QueueUrl)) != "0/0" {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: ep.QueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, VisibilityTimeout: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			body := aws.ToString(m.Body)
			if !strings.HasPrefix(body, `{"order":`) || aws.ToString(m.MessageAttributes["kind"].StringValue) != "email" {
				t.Fatalf("email-queue got %q %v, want the raw message with its attributes", body, m.MessageAttributes)
			}
			got[body]++
			total++
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: ep.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) != n || total != n {
		t.Fatalf("email-queue: %d distinct of %d, want %d", len(got), total, n)
	}
	if copies, total := drainPlain(t, c, w.auditURL); len(copies) != n || total != n {
		t.Fatalf("audit-queue: %d distinct of %d: the topic's other subscriber must not get them again", len(copies), total)
	}
	t.Logf("plan:\n%s\nresult: %v", plan, res.Lines())
}

// An SNS subscription to a function that did not exist dead-letters its
// enveloped notifications; once the function exists, each is invoked on it
// again asynchronously with the Records event SNS sends (1,000, once each),
// and with --to all go to a queue instead.
func TestRedriveSNSSubscriptionDLQToItsFunction(t *testing.T) {
	srv, c, _, _ := setup(t, false)
	ctx := context.Background()
	w := newSNSWorld(t, srv, c, "lambda", "arn:aws:lambda:us-east-1:000000000000:function:notify", false)
	const n = 1000
	w.publish(t, n+20)
	if d := depth(t, c, w.dlqURL); d != fmt.Sprintf("%d/0", n+20) {
		t.Fatalf("sub-dlq holds %s", d)
	}
	var mu sync.Mutex
	invoked := map[string]int{}
	var bad []string
	srv.RegisterFunction(sandbox.LambdaFunction{
		Name: "notify", Runtime: "nodejs22.x", MemoryMB: 128, TimeoutSec: 3,
		Handler: func(_ context.Context, payload []byte) ([]byte, error) {
			var ev struct {
				Records []struct {
					EventSource, EventSubscriptionArn string
					Sns                               struct {
						Type, TopicArn, Message string
						UnsubscribeURL          string `json:"UnsubscribeUrl"` // as Lambda spells it
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if json.Unmarshal(payload, &ev) != nil || len(ev.Records) != 1 || ev.Records[0].EventSource != "aws:sns" || ev.Records[0].EventSubscriptionArn != w.sub ||
				ev.Records[0].Sns.Type != "Notification" || ev.Records[0].Sns.TopicArn != w.topic || ev.Records[0].Sns.UnsubscribeURL == "" {
				bad = append(bad, string(payload))
				return nil, nil
			}
			invoked[ev.Records[0].Sns.Message]++
			return []byte(`{}`), nil
		},
	})
	lam := awslambda.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	r := New(c, Options{StateDir: t.TempDir(), Visibility: 5 * time.Second}).WithBrokers(Brokers{SNS: w.n, Lambda: lam})

	// --to overrides: the first 20 go to a queue, selected by ID.
	other, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("manual-queue")})
	if err != nil {
		t.Fatal(err)
	}
	peek, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.dlqURL), MaxNumberOfMessages: 10})
	if err != nil || len(peek.Messages) == 0 {
		t.Fatalf("peek: %v", err)
	}
	var ids []string
	for _, m := range peek.Messages {
		ids = append(ids, aws.ToString(m.MessageId))
		if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(w.dlqURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := r.PlanRedrive(ctx, RedriveRequest{DLQ: "sub-dlq", To: "manual-queue", MessageIDs: ids})
	if err != nil || plan.Route != "manual-queue (asked for with --to)" {
		t.Fatalf("--to plan: %v\n%s", err, plan)
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if res, err := r.Execute(rctx, plan, nil); err != nil || res.Moved != len(ids) {
		t.Fatalf("--to: %v %v", res.Lines(), err)
	}
	if copies, total := drainPlain(t, c, aws.ToString(other.QueueUrl)); len(copies) != len(ids) || total != len(ids) {
		t.Fatalf("manual-queue: %d distinct of %d", len(copies), total)
	}
	left := n + 20 - len(ids)

	plan, err = r.PlanRedrive(ctx, RedriveRequest{DLQ: "sub-dlq"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.String(), "subscription "+w.sub+" of topic order-events (lambda, enveloped delivery) dead-letters here (its RedrivePolicy names this DLQ); messages go back to its endpoint, function notify") {
		t.Fatalf("plan:\n%s", plan)
	}
	res, err := r.Execute(rctx, plan, nil)
	if err != nil || res.Moved != left || res.Duplicates != 0 || len(res.Unroutable) != 0 {
		t.Fatalf("%v %v", res.Lines(), err)
	}
	if d := depth(t, c, w.dlqURL); d != "0/0" {
		t.Fatalf("sub-dlq %s after the redrive", d)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		got, calls := len(invoked), 0
		for _, k := range invoked {
			calls += k
		}
		nbad := len(bad)
		mu.Unlock()
		if nbad > 0 {
			t.Fatalf("invoked with %d payloads unlike SNS's, e.g. %s", nbad, bad[0])
		}
		if got == left && calls == left {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notify invoked with %d distinct messages in %d calls; want %d", got, calls, left)
		}
		time.Sleep(10 * time.Millisecond) // the sandbox runs async invocations on their own goroutines
	}
	if copies, total := drainPlain(t, c, w.auditURL); len(copies) != n+20 || total != n+20 {
		t.Fatalf("audit-queue: %d distinct of %d: the topic's other subscriber must not get them again", len(copies), total)
	}
}

// Two enveloped subscriptions of two topics share one DLQ: each
// notification names its subscription (UnsubscribeURL), so each goes back
// to its own queue. A raw one there names none: it is refused at once,
// listed, and left visible in the DLQ.
func TestRedriveSNSSharedDLQ(t *testing.T) {
	srv, c, _, _ := setup(t, false)
	ctx := context.Background()
	n := snsClient(srv)
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("shared-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	const per = 100
	urls := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("ep-" + name)})
		if err != nil {
			t.Fatal(err)
		}
		topic, err := n.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("topic-" + name)})
		if err != nil {
			t.Fatal(err)
		}
		attrs := map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:shared-dlq"}`}
		if name == "c" {
			attrs["RawMessageDelivery"] = "true"
		}
		if _, err := n.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:ep-" + name), Attributes: attrs}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}); err != nil {
			t.Fatal(err)
		}
		count := per
		if name == "c" {
			count = 3
		}
		for i := 0; i < count; i++ {
			if _, err := n.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String(fmt.Sprintf(`{"from":%q,"n":%d}`, name, i))}); err != nil {
				t.Fatal(err)
			}
		}
		if q, err = c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("ep-" + name)}); err != nil {
			t.Fatal(err)
		}
		urls[name] = aws.ToString(q.QueueUrl)
	}
	r := New(c, Options{StateDir: t.TempDir(), Visibility: 5 * time.Second}).WithBrokers(Brokers{SNS: n})
	plan, err := r.PlanRedrive(ctx, RedriveRequest{DLQ: "shared-dlq"})
	if err != nil || len(plan.SNSSubscriptions) != 3 || !strings.HasPrefix(plan.Route, "each SNS notification to the endpoint of the subscription that dead-lettered it (3 subscriptions") {
		t.Fatalf("%v\n%s", err, plan)
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	start := time.Now()
	res, err := r.Execute(rctx, plan, nil)
	if err == nil || res.Moved != 2*per || len(res.Unroutable) != 3 || !strings.Contains(res.Unroutable[0].Reason, "no SNS envelope, and 3 SNS subscriptions") {
		t.Fatalf("%v %v", res.Lines(), err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("took %v to refuse 3 raw messages", took)
	}
	if d := depth(t, c, aws.ToString(dlq.QueueUrl)); d != "3/0" {
		t.Fatalf("shared-dlq %s, want the 3 raw ones visible", d)
	}
	for _, name := range []string{"a", "b"} {
		copies, total := drainPlain(t, c, urls[name])
		if len(copies) != per || total != per {
			t.Fatalf("ep-%s: %d distinct of %d", name, len(copies), total)
		}
		for body := range copies {
			var env struct{ Message string }
			if json.Unmarshal([]byte(body), &env) != nil || !strings.HasPrefix(env.Message, `{"from":"`+name+`"`) {
				t.Fatalf("ep-%s got %s", name, body)
			}
		}
	}
}

// Some AWS-compatible endpoints give an SNS subscription's dead-letter copy
// the RequestID, ErrorCode and ErrorMessage attributes of a Lambda
// async-invocation DLQ message (sandbox --compat field). The redrive must
// still take them for the subscription's and send each back to its
// endpoint, enveloped or raw, not ask for a function.
func TestRedriveSNSDLQWithLambdaStyleAttributes(t *testing.T) {
	for _, raw := range []bool{false, true} {
		t.Run(fmt.Sprintf("raw=%v", raw), func(t *testing.T) {
			srv, c, _, _ := setupWith(t, false, sandbox.Options{Seed: 5, Compat: sandbox.CompatField})
			ctx := context.Background()
			ep, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("email-queue")})
			if err != nil {
				t.Fatal(err)
			}
			w := newSNSWorld(t, srv, c, "sqs", "arn:aws:sqs:us-east-1:000000000000:email-queue", raw)
			if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: ep.QueueUrl}); err != nil {
				t.Fatal(err)
			}
			const n = 200
			w.publish(t, n)
			peek, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.dlqURL), MessageAttributeNames: []string{"All"}, VisibilityTimeout: 0})
			if err != nil || len(peek.Messages) != 1 || peek.Messages[0].MessageAttributes["ErrorCode"].StringValue == nil {
				t.Fatalf("the field-format copy carries no ErrorCode: %+v %v", peek, err)
			}
			// Give the peeked one back at once (a receive cannot ask for visibility 0 through this SDK).
			if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(w.dlqURL), ReceiptHandle: peek.Messages[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
				t.Fatal(err)
			}
			if ep, err = c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("email-queue")}); err != nil {
				t.Fatal(err)
			}
			r := New(c, Options{StateDir: t.TempDir(), Visibility: 5 * time.Second}).WithBrokers(Brokers{SNS: w.n})
			plan, err := r.PlanRedrive(ctx, RedriveRequest{DLQ: "sub-dlq"})
			if err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			res, err := r.Execute(rctx, plan, nil)
			if err != nil || res.Moved != n || len(res.Unroutable) != 0 {
				t.Fatalf("plan:\n%s\nresult %v %v", plan, res.Lines(), err)
			}
			if d := depth(t, c, w.dlqURL); d != "0/0" {
				t.Fatalf("sub-dlq %s after the redrive", d)
			}
			if copies, total := drainPlain(t, c, aws.ToString(ep.QueueUrl)); len(copies) != n || total != n {
				t.Fatalf("email-queue: %d distinct of %d, want %d", len(copies), total, n)
			}
		})
	}
}
