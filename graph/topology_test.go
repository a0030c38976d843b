package graph

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

var (
	tBus      = tracing.Component{Kind: tracing.ComponentBus, Name: "orders"}
	tBillingQ = tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-queue"}
	tBillingD = tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-dlq"}
	tEmailQ   = tracing.Component{Kind: tracing.ComponentQueue, Name: "email-queue"}
	tTopic    = tracing.Component{Kind: tracing.ComponentTopic, Name: "order-events"}
	tCharge   = tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"}
	tEmail    = tracing.Component{Kind: tracing.ComponentFunction, Name: "send-email"}
	tStock    = tracing.Component{Kind: tracing.ComponentFunction, Name: "reserve-stock"}
	tAPI      = tracing.Component{Kind: tracing.ComponentFunction, Name: "orders-api"}
)

// demoRoutes is the demo world's routing configuration, as the topology collector reads it.
func demoRoutes() *tracing.RouteSet {
	rule := func(name string, to tracing.Component) tracing.Route {
		return tracing.Route{From: tBus, To: to, Via: "rule " + name, Scope: tracing.RouteScopeEvents, Evidence: "rule " + name + " on bus orders targets " + to.Name}
	}
	return &tracing.RouteSet{
		Scopes: []string{tracing.RouteScopeEvents, tracing.RouteScopeSNS, tracing.RouteScopeLambdaESM, tracing.RouteScopeLambdaAsync, tracing.RouteScopeSQS},
		Routes: []tracing.Route{
			rule("order-placed-billing", tBillingQ), rule("order-placed-stock", tStock), rule("order-placed-email", tTopic),
			{From: tTopic, To: tEmailQ, Via: "subscription", Scope: tracing.RouteScopeSNS, Evidence: "subscription of topic order-events delivers to email-queue"},
			{From: tBillingQ, To: tCharge, Via: "event source mapping", Scope: tracing.RouteScopeLambdaESM, Evidence: "event source mapping 1 feeds charge-card from billing-queue"},
			{From: tEmailQ, To: tEmail, Via: "event source mapping", Scope: tracing.RouteScopeLambdaESM, Evidence: "event source mapping 2 feeds send-email from email-queue"},
			{From: tBillingQ, To: tBillingD, Via: "redrive policy", Scope: tracing.RouteScopeSQS, Evidence: "redrive policy of billing-queue moves messages to billing-dlq after 3 receives"},
		},
		Components: []tracing.Component{tBus, tTopic, tBillingQ, tBillingD, tEmailQ},
	}
}

func routeObs(set *tracing.RouteSet, at time.Time) tracing.Observation {
	return tracing.Observation{Kind: tracing.ObsRoute, Source: "topology", Time: at, Routes: set}
}

func TestRoutesReplacedPerScope(t *testing.T) {
	t.Parallel()
	g := New(Config{})
	at := time.Unix(1_700_000_000, 0)
	g.Ingest(tracing.Batch{routeObs(demoRoutes(), at)})
	if n := len(g.Routes()); n != 7 {
		t.Fatalf("%d routes, want 7", n)
	}
	// The SQS part read completely again without the redrive policy; the
	// events part failed this time and read one rule only.
	next := &tracing.RouteSet{Scopes: []string{tracing.RouteScopeSQS}, Routes: []tracing.Route{
		{From: tBus, To: tEmailQ, Via: "rule direct", Scope: tracing.RouteScopeEvents},
	}}
	g.Ingest(tracing.Batch{routeObs(next, at.Add(time.Minute))})
	var got []string
	for _, r := range g.Routes() {
		got = append(got, r.From.Name+">"+r.To.Name)
	}
	sort.Strings(got)
	want := "billing-queue>charge-card email-queue>send-email order-events>email-queue orders>billing-queue orders>email-queue orders>order-events orders>reserve-stock"
	if strings.Join(got, " ") != want {
		t.Errorf("routes\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

// A dead-lettered event seen only in its DLQ and in its consumer's logs: no
// span names the bus or the queue. The configuration places them.
func TestLineagePlacesConfiguredBrokers(t *testing.T) {
	t.Parallel()
	at := time.Unix(1_700_000_000, 0)
	g := New(Config{Now: func() time.Time { return at.Add(time.Hour) }})
	b := tracing.Batch{routeObs(demoRoutes(), at)}
	for i := 0; i < 3; i++ {
		req := fmt.Sprintf("req-%d", i)
		b = append(b, tracing.Observation{
			Kind: tracing.ObsLog, Source: "cwlogs", Time: at.Add(time.Duration(i) * time.Second), Component: tCharge,
			Log:  &tracing.LogRecord{Kind: tracing.LogApp, Level: "ERROR", RequestID: req, Message: "CardDeclined"},
			Keys: []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}, {Kind: tracing.KeyMessageID, Value: "m-1"}, {Kind: tracing.KeyEventID, Value: "ev-1"}},
		})
	}
	b = append(b, tracing.Observation{Kind: tracing.ObsMessage, Source: "dlq", Time: at.Add(4 * time.Second), Message: &tracing.Message{
		Broker: tracing.BrokerSQS, Queue: "billing-dlq", ID: "m-1", DeadLetter: true, ReceiveCount: 3, Body: "{}",
		Layers: []tracing.Envelope{{Kind: tracing.EnvelopeEventBridge, Keys: []tracing.Key{{Kind: tracing.KeyEventID, Value: "ev-1"}}, Type: "OrderPlaced", Source: "orders.api"}},
	}})
	g.Ingest(b)
	l, err := g.Lineage("ev-1")
	if err != nil {
		t.Fatal(err)
	}
	byComp := map[tracing.Component][]Hop{}
	for _, h := range l.Hops {
		byComp[h.Component] = append(byComp[h.Component], h)
	}
	dump := hopDump(l)
	bus := byComp[tBus]
	if len(bus) != 1 || !strings.Contains(bus[0].Evidence, "rule order-placed-billing on bus orders targets billing-queue") {
		t.Fatalf("bus hop %+v; lineage:\n%s", bus, dump)
	}
	q := byComp[tBillingQ]
	if len(q) != 1 || !q[0].Configured || q[0].Confidence >= 0.9 || q[0].Evidence != "rule order-placed-billing on bus orders targets billing-queue" {
		t.Fatalf("queue hop %+v; lineage:\n%s", q, dump)
	}
	qi := -1
	for i, h := range l.Hops {
		if h.Component == tBillingQ {
			qi = i
		}
	}
	if p := l.Hops[qi].Parent; p < 0 || l.Hops[p].Component != tBus {
		t.Errorf("queue's parent is not the bus:\n%s", dump)
	}
	for _, h := range l.Hops {
		if (h.Kind == HopInvoke || h.Kind == HopDeadLetter) && (h.Parent < 0 || l.Hops[h.Parent].Component != tBillingQ) {
			t.Errorf("%s %v is not under billing-queue:\n%s", h.Kind, h.Component, dump)
		}
	}
	if len(byComp[tCharge]) != 3 || len(byComp[tBillingD]) != 1 {
		t.Errorf("want 3 attempts and one DLQ copy:\n%s", dump)
	}
	if l.Status != StatusDeadLettered {
		t.Errorf("status %v", l.Status)
	}
	for i, h := range l.Hops {
		if h.Parent >= i {
			t.Errorf("hop %d's parent %d does not precede it", i, h.Parent)
		}
	}
}

// A producer and a consumer seen, nothing between them: the chain that alone
// feeds the consumer is placed, from the bus.
func TestLineagePlacesChainFromProducer(t *testing.T) {
	t.Parallel()
	at := time.Unix(1_700_000_000, 0)
	g := New(Config{Now: func() time.Time { return at.Add(time.Hour) }})
	g.Ingest(tracing.Batch{
		routeObs(demoRoutes(), at),
		{
			Kind: tracing.ObsLog, Source: "cwlogs", Time: at, Component: tAPI, Log: &tracing.LogRecord{Kind: tracing.LogApp, RequestID: "p-1"},
			Relations: []tracing.Relation{{From: tracing.Key{Kind: tracing.KeyRequestID, Value: "p-1"}, To: tracing.Key{Kind: tracing.KeyEventID, Value: "ev-2"}, Kind: tracing.RelPublished}},
		},
		{
			Kind: tracing.ObsLog, Source: "cwlogs", Time: at.Add(time.Second), Component: tEmail, Log: &tracing.LogRecord{Kind: tracing.LogApp, RequestID: "c-1"},
			Keys: []tracing.Key{{Kind: tracing.KeyRequestID, Value: "c-1"}, {Kind: tracing.KeyEventID, Value: "ev-2"}},
		},
	})
	l, err := g.Lineage("ev-2")
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	for i := len(l.Hops) - 1; i >= 0; i = l.Hops[i].Parent {
		path = append([]string{l.Hops[i].Component.String()}, path...)
		if l.Hops[i].Parent < 0 {
			break
		}
	}
	want := "function/orders-api bus/orders topic/order-events queue/email-queue function/send-email"
	if strings.Join(path, " ") != want {
		t.Errorf("path %v, want %s\n%s", path, want, hopDump(l))
	}
}

func TestMapMarksConfiguredAndObserved(t *testing.T) {
	t.Parallel()
	at := time.Now().Add(-5 * time.Second)
	g := New(Config{})
	g.Ingest(tracing.Batch{routeObs(demoRoutes(), at)})
	// An event seen from producer to consumer through billing-queue.
	g.Ingest(tracing.Batch{
		{
			Kind: tracing.ObsSpan, Source: "otlp", Time: at, Component: tAPI, Keys: []tracing.Key{{Kind: tracing.KeyEventID, Value: "ev-3"}},
			Span: &tracing.Span{
				TraceID: tracing.TraceID{1}, SpanID: tracing.SpanID{1}, Kind: tracing.SpanKindProducer, Start: at, End: at.Add(time.Millisecond), InvocationID: "p-3",
				Messaging: tracing.Messaging{System: "aws.eventbridge", Operation: "publish", Destination: "orders", MessageID: "ev-3"},
			},
		},
		{
			Kind: tracing.ObsSpan, Source: "otlp", Time: at.Add(time.Second), Component: tCharge, Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: "m-3"}, {Kind: tracing.KeyEventID, Value: "ev-3"}},
			Span: &tracing.Span{
				TraceID: tracing.TraceID{1}, SpanID: tracing.SpanID{2}, Kind: tracing.SpanKindConsumer, Start: at.Add(time.Second), End: at.Add(2 * time.Second), InvocationID: "c-3",
				Messaging: tracing.Messaging{System: "aws_sqs", Operation: "process", Destination: "billing-queue", MessageID: "m-3"},
			},
		},
	})
	m := g.Map()
	edges := map[string]MapEdge{}
	for _, e := range m.Edges {
		edges[e.From.String()+">"+e.To.String()] = e
	}
	for k, want := range map[string][2]bool{ // configured, observed
		"function/orders-api>bus/orders":           {false, true},
		"bus/orders>queue/billing-queue":           {true, true},
		"queue/billing-queue>function/charge-card": {true, true},
		"bus/orders>topic/order-events":            {true, false},
		"topic/order-events>queue/email-queue":     {true, false},
		"queue/billing-queue>queue/billing-dlq":    {true, false},
	} {
		e, ok := edges[k]
		if !ok {
			t.Errorf("edge %s missing; have %v", k, edges)
			continue
		}
		if e.Configured != want[0] || e.Observed != want[1] {
			t.Errorf("edge %s: configured %v observed %v, want %v", k, e.Configured, e.Observed, want)
		}
	}
	if e := edges["bus/orders>queue/billing-queue"]; e.Via != "rule order-placed-billing" || e.Rate <= 0 {
		t.Errorf("bus → billing-queue: via %q rate %v", e.Via, e.Rate)
	}
	if len(edges) != 8 {
		t.Errorf("%d edges, want the 7 configured and the producer's: %v", len(edges), edges)
	}
	nodes := map[string]MapNode{}
	for _, n := range m.Nodes {
		nodes[n.Component.String()] = n
	}
	if n, ok := nodes["topic/order-events"]; !ok || !n.Configured || n.Observed {
		t.Errorf("topic node %+v", n)
	}
	if n := nodes["bus/orders"]; !n.Configured || !n.Observed {
		t.Errorf("bus node %+v", n)
	}
}

func hopDump(l Lineage) string {
	var b strings.Builder
	for i, h := range l.Hops {
		fmt.Fprintf(&b, "%d %s%s %v parent=%d conf=%.1f configured=%v %q\n", i, strings.Repeat("  ", h.Depth), h.Kind, h.Component, h.Parent, h.Confidence, h.Configured, h.Evidence)
	}
	return b.String()
}

// BenchmarkMapWithTopology is one Map read on a map screen over a busy
// graph: the observed edges of the most recent events are re-read each second.
func BenchmarkMapWithTopology(b *testing.B) {
	now := time.Now()
	g := New(Config{Now: func() time.Time { return now }})
	g.Ingest(tracing.Batch{routeObs(demoRoutes(), now)})
	for i := 0; i < 5000; i++ {
		at := now.Add(-time.Duration(5000-i) * 5 * time.Millisecond)
		ev, msg := fmt.Sprintf("ev-%d", i), fmt.Sprintf("m-%d", i)
		g.Ingest(tracing.Batch{
			{
				Kind: tracing.ObsSpan, Source: "otlp", Time: at, Component: tAPI, Keys: []tracing.Key{{Kind: tracing.KeyEventID, Value: ev}},
				Span: &tracing.Span{
					TraceID: tracing.TraceID{byte(i), byte(i >> 8), 1}, SpanID: tracing.SpanID{1}, Kind: tracing.SpanKindProducer, Start: at, End: at.Add(time.Millisecond), InvocationID: "p-" + ev,
					Messaging: tracing.Messaging{System: "aws.eventbridge", Operation: "publish", Destination: "orders", MessageID: ev},
				},
			},
			{
				Kind: tracing.ObsSpan, Source: "otlp", Time: at.Add(time.Millisecond), Component: tCharge, Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: msg}, {Kind: tracing.KeyEventID, Value: ev}},
				Span: &tracing.Span{
					TraceID: tracing.TraceID{byte(i), byte(i >> 8), 1}, SpanID: tracing.SpanID{2}, Kind: tracing.SpanKindConsumer, Start: at.Add(time.Millisecond), End: at.Add(2 * time.Millisecond), InvocationID: "c-" + ev,
					Messaging: tracing.Messaging{System: "aws_sqs", Operation: "process", Destination: "billing-queue", MessageID: msg},
				},
			},
		})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(mapRefresh) // every read recomputes
		_ = g.Map()
	}
}

// placedAt is c in account 000000000000 and region r.
func placedAt(c tracing.Component, r string) tracing.Component {
	c.Account, c.Region = "000000000000", r
	return c
}

// demoRoutesIn is the demo's routing configuration as one region's reading
// stamps it when several regions are watched.
func demoRoutesIn(region string) *tracing.RouteSet {
	set := demoRoutes()
	for i := range set.Routes {
		set.Routes[i].From, set.Routes[i].To = placedAt(set.Routes[i].From, region), placedAt(set.Routes[i].To, region)
	}
	for i := range set.Components {
		set.Components[i] = placedAt(set.Components[i], region)
	}
	return set
}

// Two regions' readings of the same configuration: each replaces only its
// own region's routes; a dead-lettered message read in eu-west-1 follows
// eu-west-1's bus and queue, and the map shows both regions' brokers, the
// bus no observation named carrying the rate of the events through it.
func TestTwoRegionsRoutesAndLineage(t *testing.T) {
	t.Parallel()
	at := time.Unix(1_700_000_000, 0)
	g := New(Config{Now: func() time.Time { return at.Add(10 * time.Second) }})
	g.Ingest(tracing.Batch{routeObs(demoRoutesIn("us-east-1"), at), routeObs(demoRoutesIn("eu-west-1"), at)})
	// eu-west-1 read again: us-east-1's routes stay.
	g.Ingest(tracing.Batch{routeObs(demoRoutesIn("eu-west-1"), at.Add(time.Second))})
	if n := len(g.Routes()); n != 14 {
		t.Fatalf("%d routes, want 7 per region", n)
	}
	charge := placedAt(tCharge, "eu-west-1")
	dlq := placedAt(tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-dlq"}, "eu-west-1")
	b := tracing.Batch{{
		Kind: tracing.ObsLog, Source: "cwlogs", Time: at.Add(2 * time.Second), Component: charge,
		Log:  &tracing.LogRecord{Kind: tracing.LogApp, Level: "ERROR", RequestID: "req-1", Message: "CardDeclined"},
		Keys: []tracing.Key{{Kind: tracing.KeyRequestID, Value: "req-1"}, {Kind: tracing.KeyMessageID, Value: "m-1"}, {Kind: tracing.KeyEventID, Value: "ev-1"}},
	}, {
		Kind: tracing.ObsMessage, Source: "dlq", Time: at.Add(4 * time.Second), Component: dlq, Message: &tracing.Message{
			Broker: tracing.BrokerSQS, Queue: "billing-dlq", ID: "m-1", DeadLetter: true, ReceiveCount: 3, Body: "{}", SourceQueue: "billing-queue",
			Layers: []tracing.Envelope{{Kind: tracing.EnvelopeEventBridge, Keys: []tracing.Key{{Kind: tracing.KeyEventID, Value: "ev-1"}}, Type: "OrderPlaced", Source: "orders.api"}},
		},
	}}
	g.Ingest(b)
	l, err := g.Lineage("ev-1")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[tracing.Component]bool{}
	for _, h := range l.Hops {
		seen[h.Component] = true
		if h.Kind == HopBroker || h.Kind == HopDeadLetter {
			if h.Component.Region != "eu-west-1" {
				t.Errorf("broker hop %s is not eu-west-1's:\n%s", h.Component, hopDump(l))
			}
		}
	}
	for _, c := range []tracing.Component{placedAt(tBus, "eu-west-1"), placedAt(tBillingQ, "eu-west-1"), dlq} {
		if !seen[c] {
			t.Errorf("lineage lacks %s:\n%s", c, hopDump(l))
		}
	}
	if dm := g.DLQMessagesIn(dlq); len(dm) != 1 || dm[0].Region != "eu-west-1" {
		t.Errorf("eu-west-1's billing-dlq holds %+v", dm)
	}
	if dm := g.DLQMessagesIn(placedAt(dlq, "us-east-1")); len(dm) != 0 {
		t.Errorf("us-east-1's billing-dlq holds eu-west-1's message: %+v", dm)
	}
	nodes := map[tracing.Component]MapNode{}
	for _, n := range g.Map().Nodes {
		nodes[n.Component] = n
	}
	for _, r := range []string{"us-east-1", "eu-west-1"} {
		for _, c := range []tracing.Component{tBus, tTopic, tBillingQ, tBillingD, tEmailQ} {
			if _, ok := nodes[placedAt(c, r)]; !ok {
				t.Errorf("map lacks %s", placedAt(c, r))
			}
		}
	}
	if n := nodes[placedAt(tBus, "eu-west-1")]; n.Rate <= 0 {
		t.Errorf("eu-west-1's bus, which the event went through, shows %+v", n)
	}
	if n := nodes[placedAt(tBus, "us-east-1")]; n.Rate != 0 {
		t.Errorf("us-east-1's bus, which no event went through, shows %+v", n)
	}
	for c := range nodes {
		if c.Name == tBus.Name && c.Region == "" {
			t.Errorf("an unplaced %s beside the placed ones", c)
		}
	}
}
