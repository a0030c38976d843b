package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// receive waits (bounded) for one message on a queue.
func receive(t *testing.T, c *sqs.Client, url string) *sqstypes.Message {
	t.Helper()
	out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 5, MessageAttributeNames: []string{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) == 0 {
		return nil
	}
	return &out.Messages[0]
}

func mkQueue(t *testing.T, c *sqs.Client, name string) string {
	t.Helper()
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl)
}

// EventBridge: targets keep every field, List* page, an input transformer
// shapes what the target gets, and an undeliverable event reaches the
// target's DLQ with EventBridge's attributes.
func TestEventBridgeTargetsConformance(t *testing.T) {
	_, cfg := startServer(t)
	ctx := context.Background()
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	outURL, dlqURL := mkQueue(t, q, "shaped"), mkQueue(t, q, "target-dlq")
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r" + string(rune('0'+i))), EventBusName: aws.String("b"), EventPattern: aws.String(`{"source":["s"]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r0"), EventBusName: aws.String("b"), Targets: []ebtypes.Target{
		{Id: aws.String("shape"), Arn: aws.String(qARN("shaped")), InputTransformer: &ebtypes.InputTransformer{
			InputPathsMap: map[string]string{"id": "$.detail.order_id", "n": "$.detail.n"}, InputTemplate: aws.String(`{"order":"<id>","n":<n>,"rule":"<aws.events.rule-name>"}`),
		}},
		{
			Id: aws.String("gone"), Arn: aws.String(qARN("no-such-queue")), DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String(qARN("target-dlq"))},
			RetryPolicy: &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(2), MaximumEventAgeInSeconds: aws.Int32(120)},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Paging: 3 rules, 2 a page.
	var names []string
	var token *string
	for pages := 0; ; pages++ {
		out, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("b"), Limit: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Rules {
			names = append(names, aws.ToString(r.Name))
			if aws.ToString(r.Arn) != "arn:aws:events:us-east-1:000000000000:rule/b/"+aws.ToString(r.Name) || aws.ToString(r.EventBusName) != "b" {
				t.Errorf("rule %+v", r)
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
		if pages > 3 {
			t.Fatal("paging does not end")
		}
	}
	if strings.Join(names, ",") != "r0,r1,r2" {
		t.Errorf("rules %v", names)
	}
	if _, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("b"), NextToken: aws.String("bogus")}); !hasCode(err, "InvalidToken") {
		t.Errorf("bad token: %v", err)
	}
	tg, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r0"), EventBusName: aws.String("b")})
	if err != nil || len(tg.Targets) != 2 {
		t.Fatalf("targets %+v %v", tg, err)
	}
	gone, shape := tg.Targets[0], tg.Targets[1]
	if aws.ToString(gone.DeadLetterConfig.Arn) != qARN("target-dlq") || aws.ToInt32(gone.RetryPolicy.MaximumRetryAttempts) != 2 || gone.InputTransformer != nil {
		t.Errorf("target gone %+v", gone)
	}
	if shape.InputTransformer == nil || shape.InputTransformer.InputPathsMap["id"] != "$.detail.order_id" || shape.DeadLetterConfig != nil || shape.RetryPolicy != nil {
		t.Errorf("target shape %+v", shape)
	}
	buses, err := eb.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
	if err != nil || len(buses.EventBuses) != 2 || aws.ToString(buses.EventBuses[0].Name) != "b" || buses.EventBuses[1].CreationTime == nil {
		t.Errorf("buses %+v %v", buses, err)
	}

	if _, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{Source: aws.String("s"), DetailType: aws.String("t"), EventBusName: aws.String("b"), Detail: aws.String(`{"order_id":"o-1","n":3}`)}}}); err != nil {
		t.Fatal(err)
	}
	m := receive(t, q, outURL)
	if m == nil || aws.ToString(m.Body) != `{"order":"o-1","n":3,"rule":"r0"}` {
		t.Errorf("transformed body %v", m)
	}
	d := receive(t, q, dlqURL)
	if d == nil {
		t.Fatal("nothing in the target DLQ")
	}
	if aws.ToString(d.MessageAttributes["RULE_ARN"].StringValue) != "arn:aws:events:us-east-1:000000000000:rule/b/r0" ||
		aws.ToString(d.MessageAttributes["TARGET_ARN"].StringValue) != qARN("no-such-queue") || d.MessageAttributes["ERROR_CODE"].StringValue == nil {
		t.Errorf("DLQ attributes %+v", d.MessageAttributes)
	}
	var env map[string]any
	if json.Unmarshal([]byte(aws.ToString(d.Body)), &env) != nil || env["detail-type"] != "t" {
		t.Errorf("DLQ body %s", aws.ToString(d.Body))
	}
}

// SNS: subscription attributes as AWS answers them, filter policies applied,
// an undeliverable subscription's messages in its redrive DLQ, and paging.
func TestSNSSubscriptionAttributes(t *testing.T) {
	_, cfg := startServer(t)
	ctx := context.Background()
	n, q := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	rawURL, envURL, dlqURL := mkQueue(t, q, "raw"), mkQueue(t, q, "env"), mkQueue(t, q, "sub-dlq")
	topic, err := n.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := n.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(qARN("raw")),
		Attributes: map[string]string{"RawMessageDelivery": "true", "FilterPolicy": `{"kind":["order"]}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(qARN("env"))}); err != nil {
		t.Fatal(err)
	}
	lost, err := n.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(qARN("deleted")),
		Attributes: map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + qARN("sub-dlq") + `"}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(qARN("x")),
		Attributes: map[string]string{"RawMessageDelivery": "maybe"},
	}); !hasCode(err, "InvalidParameter") {
		t.Errorf("bad attribute accepted: %v", err)
	}
	a, err := n.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: raw.SubscriptionArn})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"RawMessageDelivery": "true", "FilterPolicy": `{"kind":["order"]}`, "FilterPolicyScope": "MessageAttributes",
		"Protocol": "sqs", "Endpoint": qARN("raw"), "TopicArn": aws.ToString(topic.TopicArn), "PendingConfirmation": "false",
	} {
		if a.Attributes[k] != want {
			t.Errorf("attribute %s = %q, want %q", k, a.Attributes[k], want)
		}
	}
	if _, ok := a.Attributes["RedrivePolicy"]; ok {
		t.Error("RedrivePolicy present although never set")
	}
	l, _ := n.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: lost.SubscriptionArn})
	if !strings.Contains(l.Attributes["RedrivePolicy"], qARN("sub-dlq")) || l.Attributes["RawMessageDelivery"] != "false" {
		t.Errorf("lost subscription attributes %v", l.Attributes)
	}
	if _, err := n.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(aws.ToString(topic.TopicArn) + ":nope")}); !hasCode(err, "NotFound") {
		t.Errorf("unknown subscription: %v", err)
	}
	// Filtered out of raw; delivered to env; dead-lettered for the deleted queue.
	if _, err := n.Publish(ctx, &sns.PublishInput{
		TopicArn: topic.TopicArn, Message: aws.String(`{"a":1}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("refund")}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Publish(ctx, &sns.PublishInput{
		TopicArn: topic.TopicArn, Message: aws.String(`{"a":2}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("order")}},
	}); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, q, rawURL); m == nil || aws.ToString(m.Body) != `{"a":2}` {
		t.Errorf("raw got %v", m)
	}
	if m := receive(t, q, rawURL); m != nil {
		t.Errorf("filtered message delivered: %s", aws.ToString(m.Body))
	}
	if m := receive(t, q, envURL); m == nil || !strings.Contains(aws.ToString(m.Body), `"Type":"Notification"`) {
		t.Errorf("enveloped got %v", m)
	}
	// SNS dead-letters the notification as the subscription would have had
	// it (the envelope naming the subscription), with no attributes added.
	if m := receive(t, q, dlqURL); m == nil || !strings.Contains(aws.ToString(m.Body), `"Type":"Notification"`) ||
		!strings.Contains(aws.ToString(m.Body), "SubscriptionArn="+aws.ToString(lost.SubscriptionArn)) || len(m.MessageAttributes) != 0 {
		t.Errorf("subscription DLQ got %v", m)
	}
	// Paging: 150 subscriptions, 100 a page.
	for i := 0; i < 147; i++ {
		if _, err := n.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(qARN("env"))}); err != nil {
			t.Fatal(err)
		}
	}
	total, pages := 0, 0
	p := sns.NewListSubscriptionsByTopicPaginator(n, &sns.ListSubscriptionsByTopicInput{TopicArn: topic.TopicArn})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total, pages = total+len(out.Subscriptions), pages+1
	}
	if total != 150 || pages != 2 {
		t.Errorf("%d subscriptions in %d pages, want 150 in 2", total, pages)
	}
}

// Lambda: event source mappings page with Marker/NextMarker, the async
// configuration is 404 until set, and async failures retry, then reach the
// on-failure destination (or the DeadLetterConfig target).
func TestLambdaRoutingConformance(t *testing.T) {
	srv, cfg := startServer(t)
	ctx := context.Background()
	l, q := awslambda.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	failURL, dlqURL := mkQueue(t, q, "fn-failures"), mkQueue(t, q, "fn-dlq")
	srv.lambda().retryIn = time.Millisecond
	var calls atomic.Int32
	srv.RegisterFunction(LambdaFunction{Name: "flaky", Runtime: "python3.13", MemoryMB: 128, Handler: func(context.Context, []byte) ([]byte, error) {
		calls.Add(1)
		return nil, errors.New("boom")
	}})
	srv.RegisterFunction(LambdaFunction{Name: "old", Runtime: "python3.13", MemoryMB: 128, DeadLetterTarget: qARN("fn-dlq"), Handler: func(context.Context, []byte) ([]byte, error) {
		return nil, errors.New("old boom")
	}})
	if _, err := l.GetFunctionEventInvokeConfig(ctx, &awslambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("flaky")}); !hasCode(err, "ResourceNotFoundException") || !hasStatus(err, http.StatusNotFound) {
		t.Errorf("no config yet: %v", err)
	}
	if _, err := l.PutFunctionEventInvokeConfig(ctx, &awslambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("flaky"), MaximumRetryAttempts: aws.Int32(1),
		DestinationConfig: &lambdatypes.DestinationConfig{OnFailure: &lambdatypes.OnFailure{Destination: aws.String(qARN("fn-failures"))}},
	}); err != nil {
		t.Fatal(err)
	}
	c, err := l.GetFunctionEventInvokeConfig(ctx, &awslambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("flaky")})
	if err != nil || aws.ToInt32(c.MaximumRetryAttempts) != 1 || aws.ToString(c.DestinationConfig.OnFailure.Destination) != qARN("fn-failures") ||
		c.DestinationConfig.OnSuccess != nil || c.MaximumEventAgeInSeconds != nil || c.LastModified == nil {
		t.Errorf("config %+v %v", c, err)
	}
	if _, err := l.PutFunctionEventInvokeConfig(ctx, &awslambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("flaky"), MaximumRetryAttempts: aws.Int32(5)}); !hasCode(err, "InvalidParameterValueException") {
		t.Errorf("5 retries accepted: %v", err)
	}
	fc, err := l.GetFunctionConfiguration(ctx, &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("old")})
	if err != nil || fc.DeadLetterConfig == nil || aws.ToString(fc.DeadLetterConfig.TargetArn) != qARN("fn-dlq") {
		t.Errorf("DeadLetterConfig %+v %v", fc, err)
	}
	if _, err := l.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("flaky"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{"x":1}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("old"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{"y":2}`)}); err != nil {
		t.Fatal(err)
	}
	m := receive(t, q, failURL)
	if m == nil {
		t.Fatal("nothing at the on-failure destination")
	}
	var rec struct {
		RequestContext struct {
			Condition              string
			ApproximateInvokeCount int
		} `json:"requestContext"`
		RequestPayload map[string]any `json:"requestPayload"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &rec); err != nil || rec.RequestContext.Condition != "RetriesExhausted" || rec.RequestContext.ApproximateInvokeCount != 2 || rec.RequestPayload["x"] != float64(1) {
		t.Errorf("record %s (%v)", aws.ToString(m.Body), err)
	}
	if calls.Load() != 2 {
		t.Errorf("%d attempts, want 1 + 1 retry", calls.Load())
	}
	if d := receive(t, q, dlqURL); d == nil || aws.ToString(d.Body) != `{"y":2}` || aws.ToString(d.MessageAttributes["ErrorMessage"].StringValue) != "old boom" {
		t.Errorf("function DLQ got %v", d)
	}
	// Mappings: 150 of them, through the SDK's paginator.
	for i := 0; i < 150; i++ {
		srv.AddEventSourceMapping(qARN("fn-failures"), "flaky", 10)
	}
	if _, err := l.CreateEventSourceMapping(ctx, &awslambda.CreateEventSourceMappingInput{FunctionName: aws.String("old"), EventSourceArn: aws.String(qARN("fn-dlq")), BatchSize: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	total, pages := 0, 0
	p := awslambda.NewListEventSourceMappingsPaginator(l, &awslambda.ListEventSourceMappingsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total, pages = total+len(out.EventSourceMappings), pages+1
		for _, m := range out.EventSourceMappings {
			if aws.ToString(m.State) != "Enabled" || m.LastModified == nil || !strings.HasPrefix(aws.ToString(m.FunctionArn), "arn:aws:lambda:") {
				t.Fatalf("mapping %+v", m)
			}
		}
	}
	if total != 151 || pages != 2 {
		t.Errorf("%d mappings in %d pages, want 151 in 2", total, pages)
	}
	only, err := l.ListEventSourceMappings(ctx, &awslambda.ListEventSourceMappingsInput{FunctionName: aws.String("old")})
	if err != nil || len(only.EventSourceMappings) != 1 || aws.ToInt32(only.EventSourceMappings[0].BatchSize) != 5 || only.NextMarker != nil {
		t.Errorf("filtered mappings %+v %v", only, err)
	}
}

// A denied call fails in the service's own access-denied shape; others go on.
func TestDeny(t *testing.T) {
	srv, cfg := startServer(t)
	ctx := context.Background()
	srv.Deny("events.ListRules")
	srv.Deny("sns")
	eb, n := eventbridge.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	_, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{})
	if !hasCode(err, "AccessDeniedException") || !strings.Contains(err.Error(), "not authorized to perform: events:ListRules") {
		t.Errorf("ListRules: %v", err)
	}
	if _, err := eb.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{}); err != nil {
		t.Errorf("ListEventBuses denied too: %v", err)
	}
	if _, err := n.ListTopics(ctx, &sns.ListTopicsInput{}); !hasCode(err, "AuthorizationError") {
		t.Errorf("ListTopics: %v", err)
	}
	srv.Allow("sns")
	if _, err := n.ListTopics(ctx, &sns.ListTopicsInput{}); err != nil {
		t.Errorf("ListTopics after Allow: %v", err)
	}
}

func hasCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

func hasStatus(err error, status int) bool {
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == status
}
