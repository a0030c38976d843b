package topology

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/logging"
	"github.com/google/go-cmp/cmp"

	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// world is the demo world's resources on a sandbox endpoint (no traffic),
// with the SDK clients the source reads through.
type world struct {
	srv     *sandbox.Server
	clients Clients
	eb      *eventbridge.Client
	sns     *sns.Client
	lambda  *awslambda.Client
	sqs     *sqs.Client
}

func startWorld(t *testing.T) *world {
	t.Helper()
	srv := sandbox.NewServer(sandbox.Options{Seed: 17})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ctx := context.Background()
	if _, err := sandbox.NewWorld(ctx, url, srv, sandbox.WorldConfig{Seed: 17}); err != nil {
		t.Fatal(err)
	}
	cfg := aws.Config{
		Region: sandbox.Region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url), Logger: logging.Nop{}, RetryMaxAttempts: 1,
	}
	w := &world{srv: srv, eb: eventbridge.NewFromConfig(cfg), sns: sns.NewFromConfig(cfg), lambda: awslambda.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg)}
	w.clients = Clients{Events: w.eb, SNS: w.sns, Lambda: w.lambda, SQS: w.sqs}
	return w
}

func qARN(name string) string {
	return "arn:aws:sqs:" + sandbox.Region + ":" + sandbox.Account + ":" + name
}

func comp(kind tracing.ComponentKind, name string) tracing.Component {
	return tracing.Component{Kind: kind, Name: name}
}

var (
	bus      = comp(tracing.ComponentBus, sandbox.BusName)
	billingQ = comp(tracing.ComponentQueue, sandbox.BillingQueue)
	billingD = comp(tracing.ComponentQueue, sandbox.BillingDLQ)
	emailQ   = comp(tracing.ComponentQueue, sandbox.EmailQueue)
	topic    = comp(tracing.ComponentTopic, sandbox.OrdersTopic)
)

// edge is what a test checks of a route.
type edge struct{ From, To, Via string }

func edges(set tracing.RouteSet) []edge {
	var out []edge
	for _, r := range set.Routes {
		out = append(out, edge{r.From.String(), r.To.String(), r.Via})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From+out[i].To+out[i].Via < out[j].From+out[j].To+out[j].Via })
	return out
}

func find(set tracing.RouteSet, from, to tracing.Component, via string) *tracing.Route {
	for i, r := range set.Routes {
		if r.From == from && r.To == to && r.Via == via {
			return &set.Routes[i]
		}
	}
	return nil
}

// The demo world as created: every rule target, both subscriptions (one raw),
// the three event source mappings and both redrive policies, and nothing else.
func TestDiscoverDemoWorld(t *testing.T) {
	w := startWorld(t)
	s := New(w.clients, Config{PerResourceTPS: 1000})
	set, err := s.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []edge{
		{"bus/orders", "function/partner-intake", "rule partner-shipments"},
		{"bus/orders", "function/reserve-stock", "rule order-placed-stock"},
		{"bus/orders", "queue/billing-queue", "rule order-placed-billing"},
		{"bus/orders", "topic/order-events", "rule order-placed-email"},
		{"bus/orders", "workflow/fulfilment", "rule order-placed-fulfilment"},
		{"function/clickstream-analytics", "queue/clickstream-failures", "mapping on-failure destination"},
		{"queue/analytics-queue", "function/record-analytics", "event source mapping"},
		{"queue/billing-queue", "function/charge-card", "event source mapping"},
		{"queue/billing-queue", "queue/billing-dlq", "redrive policy"},
		{"queue/email-queue", "function/send-email", "event source mapping"},
		{"queue/email-queue", "queue/email-dlq", "redrive policy"},
		{"stream/clickstream", "function/clickstream-analytics", "event source mapping"},
		{"topic/order-events", "queue/analytics-queue", "subscription raw"},
		{"topic/order-events", "queue/email-queue", "subscription"},
	}
	if d := cmp.Diff(want, edges(set)); d != "" {
		t.Errorf("routes (-want +got):\n%s", d)
	}
	wantScopes := []string{tracing.RouteScopeEvents, tracing.RouteScopeSNS, tracing.RouteScopeLambdaESM, tracing.RouteScopeLambdaAsync, tracing.RouteScopeSQS}
	if d := cmp.Diff(wantScopes, set.Scopes); d != "" {
		t.Errorf("scopes (-want +got):\n%s", d)
	}
	r := find(set, bus, billingQ, "rule order-placed-billing")
	if r == nil || r.Evidence != "rule order-placed-billing on bus orders targets billing-queue" || r.Scope != tracing.RouteScopeEvents {
		t.Errorf("billing rule route = %+v", r)
	}
	if r := find(set, billingQ, billingD, "redrive policy"); r == nil || r.Attrs["maxReceiveCount"] != "3" {
		t.Errorf("redrive route = %+v", r)
	}
	if r := find(set, topic, emailQ, "subscription"); r == nil || r.Attrs["raw"] != "" || !strings.Contains(r.Evidence, "in the SNS envelope") {
		t.Errorf("subscription route = %+v", r)
	}
	var comps []string
	for _, c := range set.Components {
		comps = append(comps, c.String())
	}
	sort.Strings(comps)
	wantComps := []string{"bus/default", "bus/orders", "queue/analytics-queue", "queue/billing-dlq", "queue/billing-queue", "queue/clickstream-failures", "queue/email-dlq", "queue/email-queue", "topic/order-events"}
	if d := cmp.Diff(wantComps, comps); d != "" {
		t.Errorf("components (-want +got):\n%s", d)
	}
}

// Every attribute that changes an event's path is read: input transformers,
// target DLQs and retry policies, raw delivery, filter and redrive policies
// of subscriptions, async destinations and DLQs, through pagination.
func TestDiscoverAttributes(t *testing.T) {
	w := startWorld(t)
	ctx := context.Background()
	for _, q := range []string{"audit-queue", "audit-dlq", "stock-failures", "stock-ok", "raw-queue", "raw-dlq", "stock-dlq"} {
		if _, err := w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("to-audit"), EventBusName: aws.String(sandbox.BusName), EventPattern: aws.String(`{"source":["orders.api"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("to-audit"), EventBusName: aws.String(sandbox.BusName), Targets: []ebtypes.Target{{
		Id: aws.String("audit"), Arn: aws.String(qARN("audit-queue")),
		InputTransformer: &ebtypes.InputTransformer{InputPathsMap: map[string]string{"id": "$.detail.order_id"}, InputTemplate: aws.String(`{"order":"<id>"}`)},
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String(qARN("audit-dlq"))},
		RetryPolicy:      &ebtypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(4), MaximumEventAgeInSeconds: aws.Int32(3600)},
	}}}); err != nil {
		t.Fatal(err)
	}
	// A disabled rule routes nothing.
	if _, err := w.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("off"), EventBusName: aws.String(sandbox.BusName), State: ebtypes.RuleStateDisabled, EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("off"), EventBusName: aws.String(sandbox.BusName), Targets: []ebtypes.Target{{Id: aws.String("x"), Arn: aws.String(qARN("audit-queue"))}}}); err != nil {
		t.Fatal(err)
	}
	topicArn := "arn:aws:sns:" + sandbox.Region + ":" + sandbox.Account + ":" + sandbox.OrdersTopic
	if _, err := w.sns.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(topicArn), Protocol: aws.String("sqs"), Endpoint: aws.String(qARN("raw-queue")),
		Attributes: map[string]string{"RawMessageDelivery": "true", "FilterPolicy": `{"kind":["order"]}`, "RedrivePolicy": `{"deadLetterTargetArn":"` + qARN("raw-dlq") + `"}`},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.lambda.PutFunctionEventInvokeConfig(ctx, &awslambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("reserve-stock"), MaximumRetryAttempts: aws.Int32(1),
		DestinationConfig: &lambdatypes.DestinationConfig{OnFailure: &lambdatypes.OnFailure{Destination: aws.String(qARN("stock-failures"))}, OnSuccess: &lambdatypes.OnSuccess{Destination: aws.String(qARN("stock-ok"))}},
	}); err != nil {
		t.Fatal(err)
	}
	w.srv.RegisterFunction(sandbox.LambdaFunction{Name: "audit-fn", Runtime: "python3.13", MemoryMB: 128, DeadLetterTarget: qARN("stock-dlq")})
	// Enough mappings to need a second page.
	for i := 0; i < 120; i++ {
		w.srv.AddEventSourceMapping(qARN("audit-queue"), "audit-fn", 5)
	}

	s := New(w.clients, Config{PerResourceTPS: 1000})
	set, err := s.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	auditQ := comp(tracing.ComponentQueue, "audit-queue")
	r := find(set, bus, auditQ, "rule to-audit")
	if r == nil {
		t.Fatal("no route for rule to-audit")
	}
	if r.Attrs["transformer"] != `{"order":"<id>"}` || r.Attrs["retries"] != "4" || !strings.HasSuffix(r.Evidence, "through an input transformer") {
		t.Errorf("to-audit route = %+v", r)
	}
	if find(set, bus, comp(tracing.ComponentQueue, "audit-dlq"), "target dead-letter config") == nil {
		t.Error("no route for the target's DLQ")
	}
	if find(set, bus, auditQ, "rule off") != nil {
		t.Error("a disabled rule was read as a route")
	}
	raw := find(set, topic, comp(tracing.ComponentQueue, "raw-queue"), "subscription raw")
	if raw == nil || raw.Attrs["filter"] != `{"kind":["order"]}` || raw.Attrs["raw"] != "true" {
		t.Errorf("raw subscription route = %+v", raw)
	}
	if find(set, topic, comp(tracing.ComponentQueue, "raw-dlq"), "subscription redrive policy") == nil {
		t.Error("no route for the subscription's DLQ")
	}
	stock := comp(tracing.ComponentFunction, "reserve-stock")
	if r := find(set, stock, comp(tracing.ComponentQueue, "stock-failures"), "on-failure destination"); r == nil || r.Attrs["retries"] != "1" {
		t.Errorf("on-failure route = %+v", r)
	}
	if find(set, stock, comp(tracing.ComponentQueue, "stock-ok"), "on-success destination") == nil {
		t.Error("no route for the on-success destination")
	}
	if find(set, comp(tracing.ComponentFunction, "audit-fn"), comp(tracing.ComponentQueue, "stock-dlq"), "dead-letter config") == nil {
		t.Error("no route for the function's DeadLetterConfig")
	}
	n := 0
	for _, r := range set.Routes {
		if r.Via == "event source mapping" && r.To.Name == "audit-fn" {
			n++
			if r.Attrs["batchSize"] != "5" {
				t.Errorf("mapping batch size = %q", r.Attrs["batchSize"])
			}
		}
	}
	if n != 120 {
		t.Errorf("read %d of 120 event source mappings (pagination)", n)
	}
}

// One API denied: the others still answer, the scope it belongs to is not
// claimed complete, and the health names the action to grant.
func TestAccessDeniedOnOneAPI(t *testing.T) {
	for _, tc := range []struct {
		deny, action, lostScope string
		kept                    edge
	}{
		{"events.ListRules", "events:ListRules", tracing.RouteScopeEvents, edge{"topic/order-events", "queue/email-queue", "subscription"}},
		{"sns.ListSubscriptions", "sns:ListSubscriptions", tracing.RouteScopeSNS, edge{"bus/orders", "queue/billing-queue", "rule order-placed-billing"}},
		{"lambda.ListEventSourceMappings", "lambda:ListEventSourceMappings", tracing.RouteScopeLambdaESM, edge{"queue/billing-queue", "queue/billing-dlq", "redrive policy"}},
		{"lambda.GetFunctionEventInvokeConfig", "lambda:GetFunctionEventInvokeConfig", tracing.RouteScopeLambdaAsync, edge{"queue/billing-queue", "function/charge-card", "event source mapping"}},
		{"sqs.GetQueueAttributes", "sqs:GetQueueAttributes", tracing.RouteScopeSQS, edge{"bus/orders", "topic/order-events", "rule order-placed-email"}},
	} {
		t.Run(tc.deny, func(t *testing.T) {
			w := startWorld(t)
			w.srv.Deny(tc.deny)
			s := New(w.clients, Config{PerResourceTPS: 1000, Refresh: time.Hour})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := make(chan tracing.Batch, 4)
			done := make(chan struct{})
			go func() { defer close(done); _ = s.Run(ctx, out) }()
			var b tracing.Batch
			select {
			case b = <-out:
			case <-time.After(20 * time.Second):
				t.Fatal("no batch")
			}
			if len(b) != 1 || b[0].Kind != tracing.ObsRoute || b[0].Routes == nil {
				t.Fatalf("batch = %+v", b)
			}
			set := *b[0].Routes
			if !containsEdge(edges(set), tc.kept) {
				t.Errorf("lost %v when only %s was denied: %v", tc.kept, tc.action, edges(set))
			}
			for _, sc := range set.Scopes {
				if sc == tc.lostScope {
					t.Errorf("scope %s claimed complete although %s was denied", sc, tc.action)
				}
			}
			if len(set.Scopes) != 4 {
				t.Errorf("scopes = %v, want the 4 others", set.Scopes)
			}
			// Health turns to retrying with the action named; wait for Poll to record it.
			deadline := time.Now().Add(10 * time.Second)
			h := s.Health()
			for h.State != tracing.SourceStateRetrying && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				h = s.Health()
			}
			want := "topology: " + tc.action + " denied"
			if h.State != tracing.SourceStateRetrying || !strings.Contains(h.LastError, want) || !strings.Contains(h.LastError, "(grant "+tc.action+")") {
				t.Errorf("health = %v %q, want retrying with %q", h.State, h.LastError, want)
			}
			cancel()
			<-done
		})
	}
}

func containsEdge(es []edge, e edge) bool {
	for _, x := range es {
		if x == e {
			return true
		}
	}
	return false
}

func TestDiscoverErrorNamesEveryAction(t *testing.T) {
	w := startWorld(t)
	w.srv.Deny("events.ListTargetsByRule")
	w.srv.Deny("sns.GetSubscriptionAttributes")
	_, err := New(w.clients, Config{PerResourceTPS: 1000}).Discover(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"topology: events:ListTargetsByRule denied on rule ", "(grant events:ListTargetsByRule)", "topology: sns:GetSubscriptionAttributes denied", "events:ListTargetsByRule failed 5 times in all"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	var re *roundError
	if !errors.As(err, &re) || len(re.errs) < 2 {
		t.Errorf("error is not a roundError with every failure: %T", err)
	}
}

func TestComponent(t *testing.T) {
	for arn, want := range map[string]tracing.Component{
		"arn:aws:sqs:us-east-1:1:q":                             comp(tracing.ComponentQueue, "q"),
		"https://sqs.us-east-1.amazonaws.com/1/q":               comp(tracing.ComponentQueue, "q"),
		"arn:aws:sns:us-east-1:1:t":                             comp(tracing.ComponentTopic, "t"),
		"arn:aws:events:us-east-1:1:event-bus/b":                comp(tracing.ComponentBus, "b"),
		"arn:aws:lambda:us-east-1:1:function:f":                 comp(tracing.ComponentFunction, "f"),
		"arn:aws:lambda:us-east-1:1:function:f:live":            comp(tracing.ComponentFunction, "f"),
		"arn:aws:states:us-east-1:1:stateMachine:checkout":      comp(tracing.ComponentWorkflow, "checkout"),
		"arn:aws:states:us-east-1:1:stateMachine:checkout:live": comp(tracing.ComponentWorkflow, "checkout"),
		"arn:aws:s3:::bucket":                                   comp(tracing.ComponentBucket, "bucket"),
		"not an arn":                                            {},
		"arn:aws:sqs":                                           {},
	} {
		if got := Component(arn); got != want {
			t.Errorf("Component(%q) = %v, want %v", arn, got, want)
		}
	}
}
