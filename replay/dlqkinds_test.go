package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowtop/flowtop/sandbox"
)

func str(s string) sqstypes.MessageAttributeValue {
	return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(s)}
}

// A DLQ that EventBridge and Lambda write to (no RedrivePolicy names it):
// EventBridge rule-target messages go back to their TARGET_ARN (a queue or
// a function), Lambda destination records invoke their function again with
// requestPayload, and a Lambda async DLQ message, which names no function,
// is listed. Nothing is lost, nothing stays in flight.
func TestRedriveEventBridgeAndLambdaDLQs(t *testing.T) {
	srv, c, _, _ := setup(t, false)
	ctx := context.Background()
	var mu sync.Mutex
	invoked := map[string]int{}
	srv.RegisterFunction(sandbox.LambdaFunction{
		Name: "charge-card", Runtime: "nodejs22.x", MemoryMB: 128, TimeoutSec: 3,
		Handler: func(_ context.Context, payload []byte) ([]byte, error) {
			mu.Lock()
			invoked[string(payload)]++
			mu.Unlock()
			return []byte(`{}`), nil
		},
	})
	lam := awslambda.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("events-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	target, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("audit-queue")})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300 // 100 of each kind that can be routed
	fnARN := "arn:aws:lambda:us-east-1:000000000000:function:charge-card"
	for i := 0; i < n; i += 10 {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for k := i; k < i+10; k++ {
			event := fmt.Sprintf(`{"version":"0","id":"ev-%d","detail-type":"OrderPlaced","source":"orders.api","account":"000000000000","time":"2026-12-03T10:00:00Z","region":"us-east-1","resources":[],"detail":{"n":%d}}`, k, k)
			e := sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(k - i)), MessageBody: aws.String(event)}
			switch k % 3 {
			case 0: // EventBridge → a queue target
				e.MessageAttributes = map[string]sqstypes.MessageAttributeValue{
					"RULE_ARN":   str("arn:aws:events:us-east-1:000000000000:rule/orders"),
					"TARGET_ARN": str("arn:aws:sqs:us-east-1:000000000000:audit-queue"), "ERROR_CODE": str("SQS.AWS.SimpleQueueService.NonExistentQueue"),
					"ERROR_MESSAGE": str("queue gone"), "EXHAUSTED_RETRY_CONDITION": str("MaximumRetryAttempts"), "RETRY_ATTEMPTS": str("185"),
				}
			case 1: // EventBridge → a function target
				e.MessageAttributes = map[string]sqstypes.MessageAttributeValue{
					"RULE_ARN":   str("arn:aws:events:us-east-1:000000000000:rule/orders"),
					"TARGET_ARN": str(fnARN), "ERROR_CODE": str("Lambda.TooManyRequestsException"), "ERROR_MESSAGE": str("Rate exceeded"),
					"EXHAUSTED_RETRY_CONDITION": str("MaximumEventAgeInSeconds"), "RETRY_ATTEMPTS": str("3"),
				}
			case 2: // a Lambda on-failure destination record
				rec := map[string]any{
					"version": "1.0", "timestamp": "2026-12-03T10:00:01.000Z",
					"requestContext":  map[string]any{"requestId": fmt.Sprintf("req-%d", k), "functionArn": fnARN + ":$LATEST", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
					"requestPayload":  json.RawMessage(event),
					"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
					"responsePayload": map[string]any{"errorMessage": "card declined", "errorType": "Error"},
				}
				b, _ := json.Marshal(rec)
				e.MessageBody = aws.String(string(b))
			}
			entries = append(entries, e)
		}
		if _, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: dlq.QueueUrl, Entries: entries}); err != nil {
			t.Fatal(err)
		}
	}
	// One Lambda async DLQ message: it names no function.
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: dlq.QueueUrl, MessageBody: aws.String(`{"order_id":"o-1"}`),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{"RequestID": str("9f0c-1"), "ErrorCode": str("200"), "ErrorMessage": str("card declined")},
	}); err != nil {
		t.Fatal(err)
	}
	r := New(c, Options{StateDir: t.TempDir(), Visibility: 5 * time.Second}).WithBrokers(Brokers{Lambda: lam})
	plan, err := r.PlanRedrive(ctx, RedriveRequest{DLQ: "events-dlq"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.Route, "TARGET_ARN") || !strings.Contains(plan.Route, "requestPayload") {
		t.Errorf("route: %s", plan.Route)
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	res, err := r.Execute(rctx, plan, nil) // journaled: native can't serve a DLQ no queue names
	if plan.Method != MethodJournaled || res.FellBack || res.Moved != n || len(res.Unroutable) != 1 || !strings.Contains(res.Unroutable[0].Reason, "Lambda async-invocation DLQ message (RequestID 9f0c-1") {
		t.Fatalf("%v %v", res.Lines(), err)
	}
	if d := depth(t, c, aws.ToString(dlq.QueueUrl)); d != "1/0" {
		t.Fatalf("dlq %s", d)
	}
	copies, total := drainPlain(t, c, aws.ToString(target.QueueUrl))
	if len(copies) != 100 || total != 100 {
		t.Fatalf("audit-queue: %d distinct of %d", len(copies), total)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got, calls := len(invoked), 0
		for _, k := range invoked {
			calls += k
		}
		mu.Unlock()
		if got == 200 && calls == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("charge-card invoked with %d distinct payloads, %d calls; want 200", got, calls)
		}
		time.Sleep(10 * time.Millisecond) // the sandbox runs async invocations on their own goroutines
	}
	mu.Lock()
	defer mu.Unlock()
	for p := range invoked {
		if !strings.HasPrefix(p, `{"version":"0","id":"ev-`) {
			t.Fatalf("invoked with %q, want the original event (requestPayload)", p)
		}
	}
}

// drainPlain reads and deletes every message of a queue: body → copies.
func drainPlain(t *testing.T, c *sqs.Client, url string) (map[string]int, int) {
	t.Helper()
	copies, total := map[string]int{}, 0
	failed := 0 // receives whose answer was not read: their messages come back after 5s (see drain)
	for depth(t, c, url) != "0/0" {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 5})
		if err != nil {
			if failed++; failed > 20 {
				t.Fatalf("drain: %d receives failed, the last: %v", failed, err)
			}
			continue
		}
		for _, m := range out.Messages {
			copies[aws.ToString(m.Body)]++
			total++
			if _, err := c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return copies, total
}

// An EventBridge rule target that can't take events dead-letters them (the
// sandbox writes them as EventBridge does); the plan finds the rule in the
// configuration and says so; the redrive sends all 1,000 back to the target.
func TestRedriveEventBridgeDLQFromTheSandbox(t *testing.T) {
	srv, c, _, _ := setup(t, false)
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("rule-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("fulfil"), EventPattern: aws.String(`{"source":["orders.api"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("fulfil"), Targets: []ebtypes.Target{{
		Id:  aws.String("q"),
		Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:fulfil-queue"), DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:rule-dlq")},
	}}}); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for i := 0; i < n; i += 10 {
		var entries []ebtypes.PutEventsRequestEntry
		for k := i; k < i+10; k++ {
			entries = append(entries, ebtypes.PutEventsRequestEntry{Source: aws.String("orders.api"), DetailType: aws.String("OrderPlaced"), Detail: aws.String(fmt.Sprintf(`{"n":%d}`, k))})
		}
		if _, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, MessageAttributeNames: []string{"All"}, VisibilityTimeout: 1})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("dead-lettered: %v", err)
	}
	for _, a := range []string{"RULE_ARN", "TARGET_ARN", "ERROR_CODE", "ERROR_MESSAGE", "EXHAUSTED_RETRY_CONDITION", "RETRY_ATTEMPTS"} {
		if aws.ToString(out.Messages[0].MessageAttributes[a].StringValue) == "" {
			t.Errorf("no %s on a dead-lettered event: %v", a, out.Messages[0].MessageAttributes)
		}
	}
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: dlq.QueueUrl, ReceiptHandle: out.Messages[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	target, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("fulfil-queue")}) // the fix: the target exists again
	if err != nil {
		t.Fatal(err)
	}
	r := New(c, Options{StateDir: t.TempDir(), Visibility: 5 * time.Second}).WithBrokers(Brokers{EventBridge: eb})
	plan, err := r.PlanRedrive(ctx, RedriveRequest{DLQ: "rule-dlq"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.String(), "why:    EventBridge rule fulfil on bus default dead-letters its target arn:aws:sqs:us-east-1:000000000000:fulfil-queue here") {
		t.Fatalf("plan:\n%s", plan)
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	res, err := r.Execute(rctx, plan, nil)
	if err != nil || res.Moved != n || res.Method != MethodJournaled {
		t.Fatalf("%v %v", res.Lines(), err)
	}
	if d := depth(t, c, aws.ToString(dlq.QueueUrl)); d != "0/0" {
		t.Fatalf("dlq %s", d)
	}
	if copies, total := drainPlain(t, c, aws.ToString(target.QueueUrl)); len(copies) != n || total != n {
		t.Fatalf("fulfil-queue: %d distinct of %d", len(copies), total)
	}
	t.Logf("plan:\n%s", plan)
}

// Lambda's own dead-lettering, as the sandbox does it: failed asynchronous
// invocations of one function land in its DeadLetterConfig queue (payload
// plus RequestID, ErrorCode, ErrorMessage), of another in its on-failure
// destination (a record). Once the functions are fixed, a redrive of each
// queue invokes each function again with each original payload: 1,000
// each, none lost, none left.
func TestRedriveLambdaDLQAndDestinationFromTheSandbox(t *testing.T) {
	srv, c, _, _ := setup(t, false)
	ctx := context.Background()
	for _, q := range []string{"charge-dlq", "ship-failures"} {
		if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q)}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	broken := true
	done := map[string]map[string]int{"charge-card": {}, "ship-order": {}}
	handler := func(name string) sandbox.LambdaHandler {
		return func(_ context.Context, payload []byte) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			if broken {
				return nil, fmt.Errorf("%s: card processor unreachable", name)
			}
			done[name][string(payload)]++
			return []byte(`{}`), nil
		}
	}
	srv.RegisterFunction(sandbox.LambdaFunction{
		Name: "charge-card", Runtime: "nodejs22.x", MemoryMB: 128, TimeoutSec: 3, Handler: handler("charge-card"),
		DeadLetterTarget: "arn:aws:sqs:us-east-1:000000000000:charge-dlq",
	})
	srv.RegisterFunction(sandbox.LambdaFunction{
		Name: "ship-order", Runtime: "nodejs22.x", MemoryMB: 128, TimeoutSec: 3, Handler: handler("ship-order"),
	})
	srv.SetEventInvokeConfig("ship-order", sandbox.EventInvokeConfig{OnFailure: "arn:aws:sqs:us-east-1:000000000000:ship-failures"})
	lam := awslambda.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	const n = 1000
	for i := 0; i < n; i++ {
		for _, fn := range []string{"charge-card", "ship-order"} {
			if _, err := lam.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String(fn), InvocationType: "Event", Payload: []byte(fmt.Sprintf(`{"order":"o-%d"}`, i))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for depth(t, c, "charge-dlq") != "1000/0" || depth(t, c, "ship-failures") != "1000/0" {
		if time.Now().After(deadline) {
			t.Fatalf("dead-lettering: charge-dlq %s, ship-failures %s", depth(t, c, "charge-dlq"), depth(t, c, "ship-failures"))
		}
		time.Sleep(20 * time.Millisecond) // the sandbox runs async invocations on their own goroutines
	}
	mu.Lock()
	broken = false // the fix is deployed
	mu.Unlock()
	r := New(c, Options{StateDir: t.TempDir(), Visibility: 5 * time.Second}).WithBrokers(Brokers{Lambda: lam})
	for _, q := range []string{"charge-dlq", "ship-failures"} {
		plan, err := r.PlanRedrive(ctx, RedriveRequest{DLQ: q})
		if err != nil {
			t.Fatal(err)
		}
		if q == "charge-dlq" && !strings.Contains(plan.String(), "why:    the DeadLetterConfig of function charge-card names this DLQ") {
			t.Fatalf("plan:\n%s", plan)
		}
		rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		res, err := r.Execute(rctx, plan, nil)
		cancel()
		if err != nil || res.Moved != n {
			t.Fatalf("%s: %v %v", q, res.Lines(), err)
		}
		if d := depth(t, c, q); d != "0/0" {
			t.Fatalf("%s: %s", q, d)
		}
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		a, b := len(done["charge-card"]), len(done["ship-order"])
		mu.Unlock()
		if a == n && b == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("invoked again: charge-card %d, ship-order %d distinct payloads, want %d each", a, b, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for p := range done["ship-order"] {
		if !strings.HasPrefix(p, `{"order":"o-`) {
			t.Fatalf("ship-order invoked with %q, want the original payload", p)
		}
	}
}
