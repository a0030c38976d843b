package topology_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/smithy-go/logging"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/cwlogs"
	"github.com/flowtop/flowtop/collectors/dlq"
	lambdasrc "github.com/flowtop/flowtop/collectors/lambda"
	"github.com/flowtop/flowtop/collectors/otlp"
	"github.com/flowtop/flowtop/collectors/topology"
	"github.com/flowtop/flowtop/collectors/xray"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// pipeline is the demo's data path on a seeded world: every live source,
// the topology source among them, feeding one graph.
type pipeline struct {
	g       *graph.Graph
	world   *sandbox.World
	started time.Time
}

// rate is the world's real order rate so far (on a busy machine it places
// fewer than it is configured to).
func (p *pipeline) rate() float64 {
	return float64(p.world.Orders()) / time.Since(p.started).Seconds()
}

func startPipeline(t *testing.T, ctx context.Context, wc sandbox.WorldConfig, withOTLP bool) *pipeline {
	t.Helper()
	srv := sandbox.NewServer(sandbox.Options{Seed: wc.Seed})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	cfg := aws.Config{
		Region: sandbox.Region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url), Logger: logging.Nop{},
	}
	lam := lambdasrc.New(awslambda.NewFromConfig(cfg), lambdasrc.Config{Refresh: 2 * time.Second})
	logs := cwlogs.New(cwl.NewFromConfig(cfg), cwlogs.Config{
		CustomEndpoint: true, Poll: 500 * time.Millisecond, LiveTail: "off",
		GroupsFunc: func() []cwlogs.Group {
			var gs []cwlogs.Group
			for _, f := range lam.Functions() {
				gs = append(gs, cwlogs.Group{Name: f.LogGroup, Function: f.Name})
			}
			return gs
		},
	})
	recv, err := otlp.New(otlp.Config{GRPCAddr: "off", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	topo := topology.New(topology.Clients{Events: eventbridge.NewFromConfig(cfg), SNS: sns.NewFromConfig(cfg), Lambda: awslambda.NewFromConfig(cfg), SQS: sqs.NewFromConfig(cfg)},
		topology.Config{Refresh: 5 * time.Second})
	g := graph.New(graph.Config{})
	hub := collectors.NewHub(g, 0)
	for _, s := range []collectors.Source{lam, logs, xray.New(awsxray.NewFromConfig(cfg), xray.Config{}), dlq.New(sqs.NewFromConfig(cfg), dlq.Config{Poll: time.Second, Discover: 2 * time.Second}), topo} {
		hub.Add(s)
	}
	if withOTLP {
		hub.Add(recv)
	}
	go hub.Run(ctx)
	if withOTLP {
		addrs := recv.Addrs(ctx)
		if len(addrs) == 0 {
			t.Fatal("otlp receiver not listening")
		}
		wc.OTLPEndpoint = strings.TrimPrefix(addrs[len(addrs)-1], "http://")
	}
	w, err := sandbox.NewWorld(ctx, url, srv, wc)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	p := &pipeline{g: g, world: w, started: time.Now()}
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { <-done })
	return p
}

type mapEdge struct{ from, to string }

func (e mapEdge) String() string { return e.from + " → " + e.to }

// The world's topology, every edge of it: what the map must show, and all it may show.
var worldEdges = map[mapEdge]bool{
	{"function/orders-api", "bus/orders"}:           true, // the producer (observed only: no API configures it)
	{"bus/orders", "queue/billing-queue"}:           true,
	{"bus/orders", "function/reserve-stock"}:        true,
	{"bus/orders", "topic/order-events"}:            true,
	{"topic/order-events", "queue/email-queue"}:     true,
	{"queue/billing-queue", "function/charge-card"}: true,
	{"queue/email-queue", "function/send-email"}:    true,
	{"queue/billing-queue", "queue/billing-dlq"}:    true,
	{"queue/email-queue", "queue/email-dlq"}:        true,
	// The fulfilment workflow's rule (its tasks show only with the sfn source).
	{"bus/orders", "workflow/fulfilment"}: true,
	// The raw-delivery subscription and its batch consumer.
	{"topic/order-events", "queue/analytics-queue"}:        true,
	{"queue/analytics-queue", "function/record-analytics"}: true,
	// Code-only edges the world's functions take (sandbox.World.Truth marks
	// them not configured): orders-api publishes CloudEvents straight to the
	// topic, and send-email parks undeliverable orders in its DLQ itself.
	{"function/orders-api", "topic/order-events"}: true,
	{"function/send-email", "queue/email-dlq"}:    true,
	// The clickstream: web-frontend's PutRecords (code only), the stream's
	// event source mapping and its on-failure destination.
	{"function/web-frontend", "stream/clickstream"}:                  true,
	{"stream/clickstream", "function/clickstream-analytics"}:         true,
	{"function/clickstream-analytics", "queue/clickstream-failures"}: true,
	// The API Gateway stage in front of orders-api, and the partner's rule
	// (sandbox/world_apigw.go, world_partner.go).
	{"api/orders-http/prod", "function/orders-api"}: true,
	{"bus/orders", "function/partner-intake"}:       true,
}

// codeOnly are the world's edges no configuration flowtop reads names: its
// functions' own calls, and the API stage's integration (flowtop reads no
// API Gateway configuration; the requests show the edge).
var codeOnly = map[mapEdge]bool{
	{"function/orders-api", "bus/orders"}:           true,
	{"function/orders-api", "topic/order-events"}:   true,
	{"function/send-email", "queue/email-dlq"}:      true,
	{"function/web-frontend", "stream/clickstream"}: true,
	{"api/orders-http/prod", "function/orders-api"}: true,
}

// mustBeObserved are the edges the seeded world's events take within the test.
var mustBeObserved = []mapEdge{
	{"function/orders-api", "bus/orders"},
	{"bus/orders", "queue/billing-queue"},
	{"queue/billing-queue", "function/charge-card"},
	{"queue/billing-queue", "queue/billing-dlq"},
	{"queue/email-queue", "function/send-email"},
}

func TestSeededWorldMap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the world for several seconds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := startPipeline(t, ctx, sandbox.WorldConfig{Rate: 8, Seed: 42, DeclineRate: 0.25, TimeoutRate: 1e-9, PoisonRate: 1e-9}, true)
	var m graph.MapView
	missing := func() []string {
		m = p.g.Map()
		have := map[mapEdge]graph.MapEdge{}
		for _, e := range m.Edges {
			have[mapEdge{e.From.String(), e.To.String()}] = e
		}
		var out []string
		for e := range worldEdges {
			if _, ok := have[e]; !ok {
				out = append(out, e.String())
			}
		}
		for _, e := range mustBeObserved {
			if !have[e].Observed {
				out = append(out, e.String()+" (observed)")
			}
		}
		// Wait for the routing reading too: on a busy machine the observed
		// edges can all be there before the first topology poll answers.
		for e := range worldEdges {
			if !codeOnly[e] && !have[e].Configured {
				out = append(out, e.String()+" (configured)")
			}
		}
		sort.Strings(out)
		return out
	}
	var miss []string
	for miss = missing(); len(miss) > 0 && ctx.Err() == nil; miss = missing() {
		time.Sleep(250 * time.Millisecond)
	}
	if len(miss) > 0 {
		t.Fatalf("map lacks %v after %d orders; edges: %v", miss, p.world.Orders(), describe(m))
	}
	for _, e := range m.Edges {
		k := mapEdge{e.From.String(), e.To.String()}
		if !worldEdges[k] {
			t.Errorf("false edge %v (configured %v, observed %v, via %q)", k, e.Configured, e.Observed, e.Via)
		}
		if !e.Configured && !e.Observed {
			t.Errorf("edge %v is neither configured nor observed", k)
		}
	}
	for _, k := range []mapEdge{{"bus/orders", "queue/billing-queue"}, {"topic/order-events", "queue/email-queue"}, {"queue/billing-queue", "queue/billing-dlq"}, {"queue/email-queue", "function/send-email"}} {
		for _, e := range m.Edges {
			if (mapEdge{e.From.String(), e.To.String()}) == k && !e.Configured {
				t.Errorf("edge %v not marked configured", k)
			}
		}
	}
	nodes := map[string]bool{}
	for _, n := range m.Nodes {
		nodes[n.Component.String()] = true
	}
	for _, want := range []string{"topic/order-events", "bus/orders", "queue/email-dlq"} {
		if !nodes[want] {
			t.Errorf("component %s missing from the map", want)
		}
	}
	if nodes["bus/eventbridge"] {
		t.Error("the placeholder bus shows although the configuration names the bus")
	}
	t.Logf("%d orders, %d events; edges: %v", p.world.Orders(), p.g.Totals().Events, describe(m))
	// Rates along the producer's and the bus's edges match the world's order
	// rate (the newest orders may not be ingested yet: a lower bound of
	// half). A rate is the last two seconds by event time, so on a busy
	// machine, where the consumer's logs arrive seconds late, it is read
	// again (bounded) until it is in range; a rate counted twice never is.
	rateOff := func() []string {
		var out []string
		rate := p.rate()
		for _, e := range p.g.Map().Edges {
			if k := (mapEdge{e.From.String(), e.To.String()}); k == (mapEdge{"function/orders-api", "bus/orders"}) || k == (mapEdge{"bus/orders", "queue/billing-queue"}) {
				if e.Rate < 0.5*rate || e.Rate > 1.3*rate {
					out = append(out, fmt.Sprintf("%v at %.2f/s, the world places %.2f orders/s", k, e.Rate, rate))
				}
			}
		}
		return out
	}
	off := rateOff()
	for deadline := time.Now().Add(20 * time.Second); len(off) > 0 && time.Now().Before(deadline) && ctx.Err() == nil; off = rateOff() {
		time.Sleep(250 * time.Millisecond)
	}
	for _, s := range off {
		t.Error(s)
	}

	// A dead-lettered event's lineage shows the bus and the queue, with the
	// configuration as evidence where nothing else named them.
	// The world dead-letters in two places: billing-dlq by the redrive
	// policy, email-dlq by send-email's own re-send. Take one of the first.
	var dead string
	var l graph.Lineage
	for _, r := range p.g.Flows(graph.FlowQuery{Limit: 1000}).Rows {
		if r.Status != graph.StatusDeadLettered {
			continue
		}
		if got, err := p.g.Lineage(r.ID); err == nil && hasAll(got, "queue/billing-dlq") {
			dead, l = r.ID, got
			break
		}
	}
	if dead == "" {
		t.Fatal("no event dead-lettered in billing-dlq")
	}
	t.Logf("lineage of %s: %v", dead, hopsOf(l))
	kinds := map[string]graph.Hop{}
	for _, h := range l.Hops {
		kinds[h.Component.String()] = h
	}
	for _, want := range []string{"bus/orders", "queue/billing-queue", "queue/billing-dlq", "function/charge-card"} {
		if _, ok := kinds[want]; !ok {
			t.Errorf("lineage of %s lacks %s: %v", dead, want, hopsOf(l))
		}
	}
}

// Without OTel spans nothing names the bus or the queue a dead-lettered
// event passed: the DLQ copy's envelope has an anonymous bus, and the
// consumer's logs name the message only. The configuration names both.
func TestDeadLetteredLineageFromLogsAndConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the world for several seconds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := startPipeline(t, ctx, sandbox.WorldConfig{Rate: 8, Seed: 43, DeclineRate: 0.3, TimeoutRate: 1e-9, PoisonRate: 1e-9}, false)
	var l graph.Lineage
	for ctx.Err() == nil {
		for _, r := range p.g.Flows(graph.FlowQuery{Limit: 1000}).Rows {
			if r.Status != graph.StatusDeadLettered {
				continue
			}
			// Any dead-lettered event through billing-queue will do: one that
			// also reached email-queue by the world's direct SNS publish can
			// leave its bus anonymous (two configured chains lead there).
			if got, err := p.g.Lineage(r.ID); err == nil && (hasAll(got, "bus/orders", "queue/billing-queue", "queue/billing-dlq", "function/charge-card") || len(got.Hops) > len(l.Hops)) && !hasAll(l, "bus/orders", "queue/billing-queue", "queue/billing-dlq", "function/charge-card") {
				l = got
			}
		}
		if hasAll(l, "bus/orders", "queue/billing-queue", "queue/billing-dlq", "function/charge-card") {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !hasAll(l, "bus/orders", "queue/billing-queue", "queue/billing-dlq", "function/charge-card") {
		t.Fatalf("no dead-lettered lineage with its bus, queue, DLQ and consumer: %v", hopsOf(l))
	}
	t.Logf("lineage of %s: %v", l.ID, hopsOf(l))
	fromConfig := 0
	for _, h := range l.Hops {
		if h.Component.String() == "bus/orders" || h.Component.String() == "queue/billing-queue" {
			if h.Configured || strings.Contains(h.Evidence, "by the configuration") || strings.Contains(h.Evidence, "rule order-placed-billing") {
				fromConfig++
				if h.Confidence >= 0.9 && h.Configured {
					t.Errorf("placed hop %v has confidence %.2f, not below a seen hop's", h.Component, h.Confidence)
				}
			}
		}
	}
	if fromConfig == 0 {
		t.Errorf("neither the bus nor the queue cites the configuration: %v", hopsOf(l))
	}
	for _, h := range l.Hops {
		// send-email parks some orders in email-dlq itself: only billing-dlq's copy sits under billing-queue.
		if h.Kind == graph.HopDeadLetter && h.Component.String() == "queue/billing-dlq" && (h.Parent < 0 || l.Hops[h.Parent].Component.String() != "queue/billing-queue") {
			t.Errorf("DLQ copy not under billing-queue: %v", hopsOf(l))
		}
	}
}

func hasAll(l graph.Lineage, comps ...string) bool {
	have := map[string]bool{}
	for _, h := range l.Hops {
		have[h.Component.String()] = true
	}
	for _, c := range comps {
		if !have[c] {
			return false
		}
	}
	return true
}

func describe(m graph.MapView) []string {
	var out []string
	for _, e := range m.Edges {
		out = append(out, fmt.Sprintf("%v→%v(c=%v,o=%v,%.1f/s)", e.From, e.To, e.Configured, e.Observed, e.Rate))
	}
	sort.Strings(out)
	return out
}

func hopsOf(l graph.Lineage) []string {
	var out []string
	for _, h := range l.Hops {
		out = append(out, fmt.Sprintf("%d:%s %v parent=%d conf=%.1f %q", h.Depth, h.Kind, h.Component, h.Parent, h.Confidence, h.Evidence))
	}
	return out
}

var _ = tracing.ObsRoute
