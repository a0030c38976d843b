package engine

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/replay"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// Both regions run a bus, topic and queues of the same names: the map shows
// each once per region, placed, and an event's lineage names its own
// region's brokers.
func TestTwoRegionsPlaceBrokers(t *testing.T) {
	t.Parallel()
	e, worlds := twoRegions(t, false)
	g := e.Graph()
	placed := func(kind tracing.ComponentKind, name string) map[string]bool {
		out := map[string]bool{}
		for _, n := range g.Map().Nodes {
			if c := n.Component; c.Kind == kind && c.Name == name {
				out[c.Region] = true
			}
		}
		return out
	}
	both := func(kind tracing.ComponentKind, name string) bool {
		p := placed(kind, name)
		return p["us-east-1"] && p["eu-west-1"]
	}
	waitFor(t, "the bus, the billing queue and its consumer of both regions on the map", func() bool {
		return both(tracing.ComponentBus, sandbox.BusName) && both(tracing.ComponentQueue, sandbox.BillingQueue) &&
			both(tracing.ComponentFunction, "charge-card")
	})
	if placed(tracing.ComponentFunction, "charge-card")[""] {
		t.Error("charge-card has an unplaced node beside its two regions'")
	}
	for _, n := range g.Map().Nodes {
		if c := n.Component; (c.Kind == tracing.ComponentQueue || c.Kind == tracing.ComponentBus || c.Kind == tracing.ComponentTopic) &&
			(c.Region == "" || c.Account != sandbox.Account) {
			t.Errorf("map node %s is not placed", c)
		}
	}
	// Every route's ends are placed, in the region read, except a target
	// another region holds: both regions' buses start the sandbox's one
	// workflow, in us-east-1, and the rule's target ARN says so.
	waitFor(t, "eu-west-1's rule to the us-east-1 workflow", func() bool {
		for _, r := range g.Routes() {
			if r.From.Region == "eu-west-1" && r.To.Kind == tracing.ComponentWorkflow {
				return true
			}
		}
		return false
	})
	for _, r := range g.Routes() {
		want := r.From.Region
		if r.To.Kind == tracing.ComponentWorkflow && r.To.Name == sandbox.FulfilmentMachine {
			want = "us-east-1"
		}
		if r.From.Region == "" || r.To.Region != want || r.To.Account != sandbox.Account {
			t.Errorf("route %s → %s (%s): want its target in %s", r.From, r.To, r.Via, want)
		}
	}
	// Each region's events: every broker hop of their lineage is in that region.
	for i, region := range []string{"us-east-1", "eu-west-1"} {
		checked := 0
		waitFor(t, region+" lineages with broker hops", func() bool {
			checked = 0
			for _, ev := range worlds[region].Truth().Events {
				id := ""
				for _, k := range ev.Own {
					if j, ok := e.WhereOf(k.Value); ok && j == i && collectors.Followable(k.Kind) {
						id = k.Value
						break
					}
				}
				if id == "" {
					continue
				}
				l, err := g.Lineage(id)
				if err != nil {
					continue
				}
				brokers := 0
				for _, h := range l.Hops {
					if h.Kind != graph.HopBroker && h.Kind != graph.HopDeadLetter {
						continue
					}
					brokers++
					if h.Component.Region != region {
						t.Fatalf("%s event %s: broker hop %s is in another region", region, id, h.Component)
					}
				}
				if brokers > 0 {
					checked++
				}
			}
			return checked >= 3
		})
	}
}

// A DLQ of one name in both regions is listed twice, each in its context; a
// bare name is refused naming both; a redrive of eu-west-1's (named by its
// ARN) moves its messages only, counted in the sandbox.
func TestTwoRegionsDLQOfOneName(t *testing.T) {
	t.Parallel()
	e, _, url := twoRegionsAt(t, false)
	ctx := context.Background()
	const src, dlq = "regional-orders", "regional-dlq"
	clients := map[string]*sqs.Client{}
	urls := map[string][2]string{}
	planted := map[string]int{"us-east-1": 2, "eu-west-1": 3}
	for region, n := range planted {
		c := awsConfig(url)
		c.Region = region
		cl := sqs.NewFromConfig(c)
		clients[region] = cl
		d, err := cl.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(dlq)})
		if err != nil {
			t.Fatal(err)
		}
		arn := "arn:aws:sqs:" + region + ":" + sandbox.Account + ":" + dlq
		s, err := cl.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(src), Attributes: map[string]string{
			"RedrivePolicy": `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":"1"}`,
		}})
		if err != nil {
			t.Fatal(err)
		}
		urls[region] = [2]string{aws.ToString(s.QueueUrl), aws.ToString(d.QueueUrl)}
		for range n {
			if _, err := cl.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: d.QueueUrl, MessageBody: aws.String(`{"order":"` + region + `"}`)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func(region string, which int) int {
		out, err := clients[region].GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(urls[region][which]), AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"},
		})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range out.Attributes {
			x, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			n += x
		}
		return n
	}
	qs, err := e.DLQs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]int{}
	for _, q := range qs {
		if q.Name == dlq {
			regions[q.Region] = q.Depth + q.InFlight
			if !strings.HasSuffix(q.Context, q.Region) {
				t.Errorf("%s in %s listed in context %s", dlq, q.Region, q.Context)
			}
		}
	}
	if regions["us-east-1"] != 2 || regions["eu-west-1"] != 3 || len(regions) != 2 {
		t.Fatalf("DLQs lists %s as %v, want us-east-1:2 and eu-west-1:3", dlq, regions)
	}
	// A bare name is in both: refused, naming both contexts.
	_, err = e.PlanRedrive(ctx, replay.RedriveRequest{DLQ: dlq})
	var amb *AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) != 2 || !strings.Contains(err.Error(), "sandbox/us-east-1") || !strings.Contains(err.Error(), "sandbox/eu-west-1") {
		t.Fatalf("redrive of bare %s = %v, want refused naming both contexts", dlq, err)
	}
	// Named by its ARN: eu-west-1's engine plans and moves eu-west-1's messages.
	euARN := "arn:aws:sqs:eu-west-1:" + sandbox.Account + ":" + dlq
	in, err := e.ForQueue(ctx, euARN)
	if err != nil {
		t.Fatal(err)
	}
	if in != e.InContext(1) {
		t.Fatalf("ForQueue(%s) is not eu-west-1's engine", euARN)
	}
	plan, err := in.PlanRedrive(ctx, replay.RedriveRequest{DLQ: urls["eu-west-1"][1], To: src, Method: replay.MethodJournaled})
	if err != nil {
		t.Fatal(err)
	}
	res, err := in.Replayer().Execute(ctx, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 3 {
		t.Errorf("moved %d, want eu-west-1's 3 (%v)", res.Moved, res.Lines())
	}
	waitFor(t, "the peeked messages visible again", func() bool {
		return count("eu-west-1", 1) == 0 && count("us-east-1", 1) == 2
	})
	if n := count("eu-west-1", 0); n != 3 {
		t.Errorf("eu-west-1's %s holds %d, want the 3 redriven", src, n)
	}
	if n := count("us-east-1", 0); n != 0 {
		t.Errorf("us-east-1's %s holds %d: a redrive in eu-west-1 moved us-east-1's messages", src, n)
	}
	if n := count("us-east-1", 1); n != 2 {
		t.Errorf("us-east-1's %s holds %d, want its 2 untouched", dlq, n)
	}
}

// An execution is planned for redrive by the context of the region its ARN
// names, here the second one's view of the first region's workflow (both
// regions' buses start the sandbox's one state machine, in us-east-1), and
// the other context's redriver does not know it.
func TestTwoRegionsExecutionRedrivePlannedInItsRegion(t *testing.T) {
	t.Parallel()
	e, _, url := twoRegionsAt(t, false)
	ctx := context.Background()
	cl := awssfn.NewFromConfig(awsConfig(url))
	machine := "arn:aws:states:us-east-1:" + sandbox.Account + ":stateMachine:" + sandbox.FulfilmentMachine
	var arn string
	waitFor(t, "an execution", func() bool {
		out, err := cl.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
		if err != nil || len(out.Executions) == 0 {
			return false
		}
		arn = aws.ToString(out.Executions[0].ExecutionArn)
		return true
	})
	// Found either way: planned (it failed) or refused with its reason (it did not).
	plan, err := e.PlanExecutionRedrive(ctx, arn)
	if err != nil && !errors.Is(err, replay.ErrNotRedrivable) {
		t.Fatalf("plan: %v", err)
	}
	if plan.ExecutionARN != arn {
		t.Errorf("planned %s, want %s", plan.ExecutionARN, arn)
	}
	if _, err := e.InContext(1).ExecutionRedriver().PlanExecutionRedrive(ctx, arn); err == nil || errors.Is(err, replay.ErrNotRedrivable) {
		t.Errorf("eu-west-1's redriver found a us-east-1 execution (%v): the routing was not needed", err)
	}
	// An ARN of a region no context watches is refused, not sent to the first.
	other := strings.Replace(arn, ":us-east-1:", ":ap-south-1:", 1)
	if _, err := e.PlanExecutionRedrive(ctx, other); err == nil || !strings.Contains(err.Error(), "no watched context") {
		t.Errorf("plan of %s: %v, want refused", other, err)
	}
}
