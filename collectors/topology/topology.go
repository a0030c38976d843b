// Package topology reads how events are routed in the account — EventBridge
// buses, rules and targets, SNS subscriptions, Lambda event source mappings,
// async destinations and dead-letter configs, SQS redrive policies — and
// emits it as [tracing.RouteSet] observations on a slow poll. The graph uses
// it to place every broker on an event's path and to draw the configured map.
//
// Each part is read on its own: one API that fails (an IAM permission
// missing, say) leaves the others working, and the source's health names the
// action to grant.
package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/tracing"
)

// EventsAPI is the part of the EventBridge client this source uses.
type EventsAPI interface {
	ListEventBuses(ctx context.Context, in *eventbridge.ListEventBusesInput, opts ...func(*eventbridge.Options)) (*eventbridge.ListEventBusesOutput, error)
	ListRules(ctx context.Context, in *eventbridge.ListRulesInput, opts ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error)
	ListTargetsByRule(ctx context.Context, in *eventbridge.ListTargetsByRuleInput, opts ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error)
}

// SNSAPI is the part of the SNS client this source uses.
type SNSAPI interface {
	ListTopics(ctx context.Context, in *sns.ListTopicsInput, opts ...func(*sns.Options)) (*sns.ListTopicsOutput, error)
	ListSubscriptions(ctx context.Context, in *sns.ListSubscriptionsInput, opts ...func(*sns.Options)) (*sns.ListSubscriptionsOutput, error)
	GetSubscriptionAttributes(ctx context.Context, in *sns.GetSubscriptionAttributesInput, opts ...func(*sns.Options)) (*sns.GetSubscriptionAttributesOutput, error)
}

// LambdaAPI is the part of the Lambda client this source uses.
type LambdaAPI interface {
	ListFunctions(ctx context.Context, in *awslambda.ListFunctionsInput, opts ...func(*awslambda.Options)) (*awslambda.ListFunctionsOutput, error)
	ListEventSourceMappings(ctx context.Context, in *awslambda.ListEventSourceMappingsInput, opts ...func(*awslambda.Options)) (*awslambda.ListEventSourceMappingsOutput, error)
	GetFunctionEventInvokeConfig(ctx context.Context, in *awslambda.GetFunctionEventInvokeConfigInput, opts ...func(*awslambda.Options)) (*awslambda.GetFunctionEventInvokeConfigOutput, error)
}

// SQSAPI is the part of the SQS client this source uses.
type SQSAPI interface {
	ListQueues(ctx context.Context, in *sqs.ListQueuesInput, opts ...func(*sqs.Options)) (*sqs.ListQueuesOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Clients are the AWS clients the source reads with; a nil one skips its part.
type Clients struct {
	Events EventsAPI
	SNS    SNSAPI
	Lambda LambdaAPI
	SQS    SQSAPI
}

// Config sets the source.
type Config struct {
	Refresh time.Duration // how often to read the configuration again (default 60s)
	// PerResourceTPS bounds the per-resource calls (GetSubscriptionAttributes,
	// GetFunctionEventInvokeConfig, GetQueueAttributes, ListTargetsByRule) a
	// second, so a large account is read without being throttled (default 10).
	PerResourceTPS int
	// MaxRoutes bounds one reading (default 10,000); the rest are counted as dropped.
	MaxRoutes int
	// Region is the region read, set when flowtop watches several: a route
	// to a resource another region holds (a rule targeting a state machine
	// there) then names the resource with its ARN's account and region.
	// "" leaves every component unplaced.
	Region string
}

// Source reads the routing configuration periodically. Create it with [New].
type Source struct {
	c       Clients
	cfg     Config
	tracker *collectors.Tracker
	now     func() time.Time

	mu   sync.Mutex
	last tracing.RouteSet
}

// New returns a topology source reading through c.
func New(c Clients, cfg Config) *Source {
	if cfg.Refresh <= 0 {
		cfg.Refresh = 60 * time.Second
	}
	if cfg.PerResourceTPS <= 0 {
		cfg.PerResourceTPS = 10
	}
	if cfg.MaxRoutes <= 0 {
		cfg.MaxRoutes = 10_000
	}
	t := collectors.NewTracker("topology", nil)
	t.SetMode("polling every " + cfg.Refresh.String())
	return &Source{c: c, cfg: cfg, tracker: t, now: time.Now}
}

// Name is "topology".
func (s *Source) Name() string { return "topology" }

// Health reports the source's state.
func (s *Source) Health() tracing.SourceHealth { return s.tracker.Health() }

// Routes returns what the last reading found.
func (s *Source) Routes() tracing.RouteSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Run reads now and every Refresh until ctx ends. A reading where some API
// failed still emits what the others returned; the source then shows as
// retrying with the failed actions named.
func (s *Source) Run(ctx context.Context, out chan<- tracing.Batch) error {
	collectors.Poll(ctx, s.tracker, s.cfg.Refresh, func(ctx context.Context) error {
		set, err := s.Discover(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(set.Scopes) > 0 || len(set.Routes) > 0 {
			select {
			case out <- Batch(set, s.now()):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err != nil {
			return err
		}
		s.tracker.OK(len(set.Routes), time.Time{})
		return nil
	})
	return nil
}

// Batch turns one reading into the observation the graph takes, for callers
// that read once (history commands) rather than run the source.
func Batch(set tracing.RouteSet, at time.Time) tracing.Batch {
	return tracing.Batch{{Kind: tracing.ObsRoute, Source: "topology", Time: at, Routes: &set}}
}

// reading is one pass over the configuration.
type reading struct {
	set     tracing.RouteSet
	errs    []error
	actions map[string]int // failures per action, to name each once
	limit   <-chan time.Time
	max     int
	dropped int
	region  string // Config.Region
}

func (r *reading) add(rt tracing.Route) {
	if len(r.set.Routes) >= r.max {
		r.dropped++
		return
	}
	r.set.Routes = append(r.set.Routes, rt)
}

// at is the component arn names, placed where it lives when that is
// another region than the one read (see Config.Region).
func (r *reading) at(arn string) tracing.Component { return r.place(Component(arn), arn) }

// place gives c the account and region of arn when arn names a region other
// than the one read.
func (r *reading) place(c tracing.Component, arn string) tracing.Component {
	parts := strings.SplitN(arn, ":", 6)
	if r.region == "" || c.Name == "" || len(parts) < 6 || parts[0] != "arn" || parts[3] == "" || parts[3] == r.region {
		return c
	}
	if strings.Trim(parts[3], "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || len(parts[3]) > 32 {
		return c // not a region
	}
	c.Region = parts[3]
	if len(parts[4]) == 12 && strings.Trim(parts[4], "0123456789") == "" {
		c.Account = parts[4]
	}
	return c
}

func (r *reading) component(c tracing.Component) {
	if c.Name != "" && len(r.set.Components) < r.max {
		r.set.Components = append(r.set.Components, c)
	}
}

// fail records a failed call; it reports false so callers can `return r.fail(…)`.
func (r *reading) fail(resource, action string, err error) bool {
	r.actions[action]++
	if r.actions[action] > 1 {
		return false
	}
	if awsutil.Classify(err) == awsutil.KindAccessDenied {
		where := ""
		if resource != "" {
			where = " on " + resource
		}
		r.errs = append(r.errs, fmt.Errorf("topology: %s denied%s (grant %s): %w", action, where, action, err))
		return false
	}
	r.errs = append(r.errs, awsutil.Explain("topology", resource, action, err))
	return false
}

// pace waits for the per-resource call budget.
func (r *reading) pace(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-r.limit:
		return true
	}
}

// Discover reads the whole routing configuration once. Scopes in the result
// lists the parts read completely; the error names every action that failed.
func (s *Source) Discover(ctx context.Context) (tracing.RouteSet, error) {
	tick := time.NewTicker(time.Second / time.Duration(s.cfg.PerResourceTPS))
	defer tick.Stop()
	r := &reading{actions: map[string]int{}, limit: tick.C, max: s.cfg.MaxRoutes, region: s.cfg.Region}
	type part struct {
		scope string
		read  func(context.Context, *reading) bool
		on    bool
	}
	parts := []part{
		{tracing.RouteScopeEvents, s.readEvents, s.c.Events != nil},
		{tracing.RouteScopeSNS, s.readSNS, s.c.SNS != nil},
		{tracing.RouteScopeLambdaESM, s.readMappings, s.c.Lambda != nil},
		{tracing.RouteScopeLambdaAsync, s.readAsync, s.c.Lambda != nil},
		{tracing.RouteScopeSQS, s.readSQS, s.c.SQS != nil},
	}
	for _, p := range parts {
		if !p.on || ctx.Err() != nil {
			continue
		}
		if p.read(ctx, r) {
			r.set.Scopes = append(r.set.Scopes, p.scope)
		}
	}
	if r.dropped > 0 {
		s.tracker.Dropped(r.dropped)
		r.set.Scopes = nil // a cut reading replaces nothing
	}
	sort.SliceStable(r.set.Routes, func(i, j int) bool {
		a, b := r.set.Routes[i].Key(), r.set.Routes[j].Key()
		return a[0]+"\x00"+a[1]+"\x00"+a[2] < b[0]+"\x00"+b[1]+"\x00"+b[2]
	})
	s.mu.Lock()
	s.last = r.set
	s.mu.Unlock()
	if len(r.errs) == 0 {
		return r.set, nil
	}
	for action, n := range r.actions {
		if n > 1 {
			r.errs = append(r.errs, fmt.Errorf("topology: %s failed %d times in all", action, n))
		}
	}
	return r.set, &roundError{errs: r.errs}
}

// roundError is every failure of one reading, shown on one line.
type roundError struct{ errs []error }

func (e *roundError) Error() string {
	msgs := make([]string, len(e.errs))
	for i, err := range e.errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e *roundError) Unwrap() []error { return e.errs }

// ---- EventBridge ----

func (s *Source) readEvents(ctx context.Context, r *reading) bool {
	var buses []string
	var token *string
	for {
		out, err := s.c.Events.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{NextToken: token, Limit: aws.Int32(100)})
		if err != nil {
			return r.fail("", "events:ListEventBuses", err)
		}
		for _, b := range out.EventBuses {
			buses = append(buses, aws.ToString(b.Name))
		}
		if token = out.NextToken; token == nil || *token == "" {
			break
		}
	}
	complete := true
	for _, bus := range buses {
		r.component(tracing.Component{Kind: tracing.ComponentBus, Name: bus})
		var token *string
		for {
			out, err := s.c.Events.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String(bus), NextToken: token, Limit: aws.Int32(100)})
			if err != nil {
				complete = r.fail("bus "+bus, "events:ListRules", err)
				break
			}
			for _, rule := range out.Rules {
				if rule.State == "DISABLED" {
					continue // a disabled rule routes nothing
				}
				if !s.readTargets(ctx, r, bus, aws.ToString(rule.Name)) {
					complete = false
				}
			}
			if token = out.NextToken; token == nil || *token == "" {
				break
			}
		}
	}
	return complete
}

func (s *Source) readTargets(ctx context.Context, r *reading, bus, rule string) bool {
	from := tracing.Component{Kind: tracing.ComponentBus, Name: bus}
	var token *string
	for {
		if !r.pace(ctx) {
			return false
		}
		out, err := s.c.Events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule), EventBusName: aws.String(bus), NextToken: token, Limit: aws.Int32(100)})
		if err != nil {
			return r.fail("rule "+rule, "events:ListTargetsByRule", err)
		}
		for _, t := range out.Targets {
			to := r.at(aws.ToString(t.Arn))
			if to.Name == "" {
				continue
			}
			attrs := map[string]string{"rule": rule, "target": aws.ToString(t.Id)}
			how := ""
			switch {
			case t.InputTransformer != nil:
				attrs["transformer"] = aws.ToString(t.InputTransformer.InputTemplate)
				how = " through an input transformer"
			case t.Input != nil:
				attrs["input"] = "constant"
				how = " with a constant input"
			case t.InputPath != nil:
				attrs["inputPath"] = aws.ToString(t.InputPath)
				how = " with input path " + aws.ToString(t.InputPath)
			}
			if rp := t.RetryPolicy; rp != nil && rp.MaximumRetryAttempts != nil {
				attrs["retries"] = strconv.Itoa(int(*rp.MaximumRetryAttempts))
			}
			if sp := t.SqsParameters; sp != nil && sp.MessageGroupId != nil {
				attrs["messageGroupId"] = *sp.MessageGroupId
			}
			r.add(tracing.Route{
				From: from, To: to, Via: "rule " + rule, Scope: tracing.RouteScopeEvents, Attrs: attrs,
				Evidence: "rule " + rule + " on bus " + bus + " targets " + to.Name + how,
			})
			if dl := t.DeadLetterConfig; dl != nil && aws.ToString(dl.Arn) != "" {
				dlq := r.at(aws.ToString(dl.Arn))
				r.add(tracing.Route{
					From: from, To: dlq, Via: "target dead-letter config", Scope: tracing.RouteScopeEvents,
					Attrs:    map[string]string{"rule": rule, "target": aws.ToString(t.Id), "for": to.String()},
					Evidence: "rule " + rule + " sends events " + to.Name + " cannot take to " + dlq.Name,
				})
			}
		}
		if token = out.NextToken; token == nil || *token == "" {
			return true
		}
	}
}

// ---- SNS ----

func (s *Source) readSNS(ctx context.Context, r *reading) bool {
	complete := true
	p := sns.NewListTopicsPaginator(s.c.SNS, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			complete = r.fail("", "sns:ListTopics", err)
			break
		}
		for _, t := range out.Topics {
			r.component(r.at(aws.ToString(t.TopicArn)))
		}
	}
	ps := sns.NewListSubscriptionsPaginator(s.c.SNS, &sns.ListSubscriptionsInput{})
	for ps.HasMorePages() {
		out, err := ps.NextPage(ctx)
		if err != nil {
			return r.fail("", "sns:ListSubscriptions", err)
		}
		for _, sub := range out.Subscriptions {
			arn, proto := aws.ToString(sub.SubscriptionArn), aws.ToString(sub.Protocol)
			from := r.at(aws.ToString(sub.TopicArn))
			to := r.place(subscriber(proto, aws.ToString(sub.Endpoint)), aws.ToString(sub.Endpoint))
			if to.Name == "" || !strings.HasPrefix(arn, "arn:") {
				continue // an endpoint that is no component (email, sms, https), or still PendingConfirmation
			}
			if !r.pace(ctx) {
				return false
			}
			a, err := s.c.SNS.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn)})
			var attrs map[string]string
			if err != nil {
				complete = r.fail(from.Name+" subscription", "sns:GetSubscriptionAttributes", err)
			} else {
				attrs = a.Attributes
			}
			rt := tracing.Route{From: from, To: to, Via: "subscription", Scope: tracing.RouteScopeSNS, Attrs: map[string]string{"subscription": arn, "protocol": proto}}
			how := ""
			if attrs["RawMessageDelivery"] == "true" {
				rt.Via, rt.Attrs["raw"] = "subscription raw", "true"
				how = " raw"
			} else if proto == "sqs" && attrs != nil {
				how = " in the SNS envelope"
			}
			if f := attrs["FilterPolicy"]; f != "" {
				rt.Attrs["filter"] = f
				how += ", filtered"
			}
			rt.Evidence = "subscription of topic " + from.Name + " delivers" + how + " to " + to.Name
			r.add(rt)
			if dlq := redriveTarget(attrs["RedrivePolicy"]); dlq != "" {
				d := r.at(dlq)
				r.add(tracing.Route{
					From: from, To: d, Via: "subscription redrive policy", Scope: tracing.RouteScopeSNS,
					Attrs:    map[string]string{"subscription": arn, "for": to.String()},
					Evidence: "subscription of topic " + from.Name + " to " + to.Name + " dead-letters to " + d.Name,
				})
			}
		}
	}
	return complete
}

// subscriber is the component an SNS subscription delivers to.
func subscriber(protocol, endpoint string) tracing.Component {
	switch protocol {
	case "sqs", "lambda", "firehose":
		return Component(endpoint)
	}
	return tracing.Component{}
}

// ---- Lambda ----

func (s *Source) readMappings(ctx context.Context, r *reading) bool {
	p := awslambda.NewListEventSourceMappingsPaginator(s.c.Lambda, &awslambda.ListEventSourceMappingsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return r.fail("", "lambda:ListEventSourceMappings", err)
		}
		for _, m := range out.EventSourceMappings {
			switch aws.ToString(m.State) {
			case "Disabled", "Disabling", "Deleting":
				continue
			}
			from, to := r.at(aws.ToString(m.EventSourceArn)), r.at(aws.ToString(m.FunctionArn))
			if from.Name == "" || to.Name == "" {
				continue
			}
			attrs := map[string]string{"uuid": aws.ToString(m.UUID)}
			if m.BatchSize != nil {
				attrs["batchSize"] = strconv.Itoa(int(*m.BatchSize))
			}
			streamAttrs(m, attrs)
			r.add(tracing.Route{
				From: from, To: to, Via: "event source mapping", Scope: tracing.RouteScopeLambdaESM, Attrs: attrs,
				Evidence: "event source mapping " + short(aws.ToString(m.UUID)) + " feeds " + to.Name + " from " + from.Name,
			})
			if dc := m.DestinationConfig; dc != nil && dc.OnFailure != nil && aws.ToString(dc.OnFailure.Destination) != "" {
				d := r.at(aws.ToString(dc.OnFailure.Destination))
				r.add(tracing.Route{
					From: to, To: d, Via: "mapping on-failure destination", Scope: tracing.RouteScopeLambdaESM, Attrs: map[string]string{"uuid": aws.ToString(m.UUID)},
					Evidence: "event source mapping " + short(aws.ToString(m.UUID)) + " sends batches " + to.Name + " failed to " + d.Name,
				})
			}
		}
	}
	return true
}

func (s *Source) readAsync(ctx context.Context, r *reading) bool {
	var fns []lambdatypes.FunctionConfiguration
	p := awslambda.NewListFunctionsPaginator(s.c.Lambda, &awslambda.ListFunctionsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return r.fail("", "lambda:ListFunctions", err)
		}
		fns = append(fns, out.Functions...)
	}
	complete := true
	for _, f := range fns {
		name := aws.ToString(f.FunctionName)
		fn := tracing.Component{Kind: tracing.ComponentFunction, Name: name}
		if dl := f.DeadLetterConfig; dl != nil && aws.ToString(dl.TargetArn) != "" {
			d := r.at(aws.ToString(dl.TargetArn))
			r.add(tracing.Route{
				From: fn, To: d, Via: "dead-letter config", Scope: tracing.RouteScopeLambdaAsync,
				Evidence: name + " sends async events that failed every retry to " + d.Name + " (DeadLetterConfig)",
			})
		}
		if !r.pace(ctx) {
			return false
		}
		c, err := s.c.Lambda.GetFunctionEventInvokeConfig(ctx, &awslambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name)})
		if err != nil {
			if awsutil.Classify(err) == awsutil.KindNotFound {
				continue // no async configuration: Lambda's defaults, no destinations
			}
			complete = r.fail(name, "lambda:GetFunctionEventInvokeConfig", err)
			continue
		}
		attrs := map[string]string{}
		if c.MaximumRetryAttempts != nil {
			attrs["retries"] = strconv.Itoa(int(*c.MaximumRetryAttempts))
		}
		if dc := c.DestinationConfig; dc != nil {
			if dc.OnFailure != nil && aws.ToString(dc.OnFailure.Destination) != "" {
				d := r.at(aws.ToString(dc.OnFailure.Destination))
				r.add(tracing.Route{
					From: fn, To: d, Via: "on-failure destination", Scope: tracing.RouteScopeLambdaAsync, Attrs: attrs,
					Evidence: name + "'s async on-failure destination is " + d.Name,
				})
			}
			if dc.OnSuccess != nil && aws.ToString(dc.OnSuccess.Destination) != "" {
				d := r.at(aws.ToString(dc.OnSuccess.Destination))
				r.add(tracing.Route{
					From: fn, To: d, Via: "on-success destination", Scope: tracing.RouteScopeLambdaAsync, Attrs: attrs,
					Evidence: name + "'s async on-success destination is " + d.Name,
				})
			}
		}
	}
	return complete
}

// ---- SQS ----

func (s *Source) readSQS(ctx context.Context, r *reading) bool {
	var urls []string
	p := sqs.NewListQueuesPaginator(s.c.SQS, &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return r.fail("", "sqs:ListQueues", err)
		}
		urls = append(urls, out.QueueUrls...)
	}
	complete := true
	for _, u := range urls {
		q := tracing.Component{Kind: tracing.ComponentQueue, Name: arnName(u)}
		r.component(q)
		if !r.pace(ctx) {
			return false
		}
		a, err := s.c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(u),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy},
		})
		if err != nil {
			if awsutil.Classify(err) == awsutil.KindNotFound {
				continue // deleted since it was listed
			}
			complete = r.fail(q.Name, "sqs:GetQueueAttributes", err)
			continue
		}
		raw := a.Attributes[string(sqstypes.QueueAttributeNameRedrivePolicy)]
		dlq := redriveTarget(raw)
		if dlq == "" {
			continue
		}
		d := r.at(dlq)
		attrs := map[string]string{}
		how := ""
		if n := maxReceive(raw); n > 0 {
			attrs["maxReceiveCount"] = strconv.Itoa(n)
			how = " after " + strconv.Itoa(n) + " receives"
		}
		r.add(tracing.Route{
			From: q, To: d, Via: "redrive policy", Scope: tracing.RouteScopeSQS, Attrs: attrs,
			Evidence: "redrive policy of " + q.Name + " moves messages to " + d.Name + how,
		})
	}
	return complete
}

// ---- helpers ----

// Component names the resource an ARN (or an SQS queue URL) points to:
// a queue, topic, bus or function (a version or alias qualifier dropped);
// other services are a [tracing.ComponentService] named after the resource.
func Component(arn string) tracing.Component {
	if strings.HasPrefix(arn, "https://") || strings.HasPrefix(arn, "http://") {
		return tracing.Component{Kind: tracing.ComponentQueue, Name: arnName(arn)}
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return tracing.Component{}
	}
	svc, res := parts[2], parts[5]
	switch svc {
	case "sqs":
		return tracing.Component{Kind: tracing.ComponentQueue, Name: res}
	case "sns":
		return tracing.Component{Kind: tracing.ComponentTopic, Name: res}
	case "events":
		if name, ok := strings.CutPrefix(res, "event-bus/"); ok {
			return tracing.Component{Kind: tracing.ComponentBus, Name: name}
		}
	case "lambda":
		if rest, ok := strings.CutPrefix(res, "function:"); ok {
			name, _, _ := strings.Cut(rest, ":")
			return tracing.Component{Kind: tracing.ComponentFunction, Name: name}
		}
	case "s3":
		return tracing.Component{Kind: tracing.ComponentBucket, Name: res}
	case "kinesis":
		if name := tracing.KinesisStream(arn); name != "" {
			return tracing.Component{Kind: tracing.ComponentStream, Name: name}
		}
	case "states":
		if rest, ok := strings.CutPrefix(res, "stateMachine:"); ok {
			name, _, _ := strings.Cut(rest, ":") // a version or alias after the name
			return tracing.Component{Kind: tracing.ComponentWorkflow, Name: name}
		}
	}
	return tracing.Component{Kind: tracing.ComponentService, Name: svc + ":" + arnName(res)}
}

// arnName returns the resource name at the end of an ARN or queue URL.
func arnName(s string) string {
	if i := strings.LastIndexAny(s, ":/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// redriveTarget reads deadLetterTargetArn from a redrive policy (SQS or SNS).
func redriveTarget(raw string) string {
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	}
	if raw == "" || json.Unmarshal([]byte(raw), &rp) != nil {
		return ""
	}
	return rp.DeadLetterTargetArn
}

// maxReceive reads maxReceiveCount, which SQS gives as a number or a string.
func maxReceive(raw string) int {
	var rp struct {
		MaxReceiveCount any `json:"maxReceiveCount"`
	}
	if json.Unmarshal([]byte(raw), &rp) != nil {
		return 0
	}
	switch v := rp.MaxReceiveCount.(type) {
	case float64:
		return int(v)
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

func short(uuid string) string {
	if len(uuid) > 8 {
		return uuid[:8]
	}
	return uuid
}
