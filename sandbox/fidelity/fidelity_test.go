package fidelity

import (
	"context"
	"flag"
	"fmt"
	"net"
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

var (
	flagOrders = flag.Int("fidelity.orders", 0, "orders the fidelity world places (0: the short run of go test)")
	flagRate   = flag.Float64("fidelity.rate", 0, "orders per second (0: the default of the run)")
)

// run is one seeded world and flowtop's collectors over it, as cmd wires them.
type run struct {
	sb    *sandbox.Sandbox
	hub   *collectors.Hub
	g     *graph.Graph
	rates []string // function rates sampled while orders still flowed
	seen  map[string]Sighting
}

// world starts the pipeline: the OTLP receiver first (the world sends to it),
// then the sandbox, then flowtop's sources through the real SDK clients into
// one hub and one graph. Everything stops when the test ends.
func world(t *testing.T, orders int, rate float64) *run {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g := graph.New(graph.Config{RateBucket: time.Second})
	// The world needs the OTLP receiver's address before the sources can be
	// built over the sandbox's URL: reserve a loopback port for the receiver,
	// which listens once the hub runs (the world's exporter first sends after
	// its 500 ms batch timeout).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	otlpAddr := ln.Addr().String()
	_ = ln.Close()
	rcv, err := otlp.New(otlp.Config{GRPCAddr: "off", HTTPAddr: otlpAddr})
	if err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	sb, err := sandbox.Start(ctx, sandbox.Config{Seed: 11, World: sandbox.WorldConfig{
		Rate: rate, Seed: 11, MaxOrders: orders, DeclineRate: 0.12, PoisonRate: 0.04, OTLPEndpoint: otlpAddr, Hold: hold,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	cfg := aws.Config{Region: sandbox.Region, BaseEndpoint: aws.String(sb.URL()), Logger: logging.Nop{},
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	lam := lambdasrc.New(awslambda.NewFromConfig(cfg), lambdasrc.Config{})
	logs := cwlogs.New(cwl.NewFromConfig(cfg), cwlogs.Config{
		LiveTail: "auto", CustomEndpoint: true, Poll: 500 * time.Millisecond, Lookback: time.Minute,
		GroupsFunc: func() []cwlogs.Group {
			var gs []cwlogs.Group
			for _, f := range lam.Functions() {
				gs = append(gs, cwlogs.Group{Name: f.LogGroup, Function: f.Name})
			}
			return gs
		},
	})
	hub := collectors.NewHub(g, 4096)
	hub.Add(rcv)
	hub.Add(lam)
	hub.Add(logs)
	hub.Add(xray.New(awsxray.NewFromConfig(cfg), xray.Config{Poll: time.Second, Lookback: time.Minute}))
	hub.Add(dlq.New(sqs.NewFromConfig(cfg), dlq.Config{Poll: time.Second, Discover: 5 * time.Second}))
	hub.Add(topology.New(topology.Clients{
		Events: eventbridge.NewFromConfig(cfg), SNS: sns.NewFromConfig(cfg),
		Lambda: awslambda.NewFromConfig(cfg), SQS: sqs.NewFromConfig(cfg),
	}, topology.Config{}))
	done := make(chan struct{})
	go func() { defer close(done); hub.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// Orders start once every source is listening: Live Tail reads only what
	// is logged after it opens (it does not read back Lookback), and this run
	// scores lineage, not start-up.
	end := time.Now().Add(30 * time.Second)
	for !ready(hub.Health()) {
		if time.Now().After(end) {
			t.Fatalf("sources not ready after 30s: %+v", hub.Health())
		}
		waitTick()
	}
	close(hold)
	return &run{sb: sb, g: g, hub: hub, seen: map[string]Sighting{}}
}

// settle waits, with deadlines, until the world has placed its orders and
// every event reached an outcome, then until the graph's score has not changed
// for settleFor (and at least that long after the world went quiet).
func (r *run) settle(t *testing.T, orders int, worldDeadline, graphDeadline time.Duration) (sandbox.Truth, Report) {
	t.Helper()
	const settleFor = 3 * time.Second
	end := time.Now().Add(worldDeadline)
	sampled := false
	for {
		tr := r.sb.World.Truth()
		if !sampled && tr.Orders >= orders*3/4 {
			sampled = true
			r.rates = rateFigures(r.g)
		}
		Watch(r.g, time.Now(), r.seen)
		if tr.Orders >= orders && tr.Pending == 0 {
			break
		}
		if time.Now().After(end) {
			t.Logf("world not quiet after %s: %d orders, %d events pending", worldDeadline, tr.Orders, tr.Pending)
			break
		}
		waitTick()
	}
	quiet := time.Now()
	end = time.Now().Add(graphDeadline)
	last, since := "", time.Now()
	for {
		tr := r.sb.World.Truth()
		Watch(r.g, time.Now(), r.seen)
		rep := Score(tr, r.g)
		line := rep.String()
		if line != last {
			last, since = line, time.Now()
		}
		if time.Since(since) >= settleFor && time.Since(quiet) >= settleFor {
			return tr, rep
		}
		if time.Now().After(end) {
			t.Logf("graph still changing after %s", graphDeadline)
			return tr, rep
		}
		waitTick()
	}
}

// ready reports whether every source has started: the logs tailed (or
// polled), and the others answered once.
func ready(hs []tracing.SourceHealth) bool {
	for _, h := range hs {
		switch h.Source {
		case "cwlogs":
			if h.Mode != "live tail" && h.LastSuccess.IsZero() {
				return false
			}
		case "otlp":
			if !strings.HasPrefix(h.Mode, "listening") {
				return false
			}
		default:
			if h.LastSuccess.IsZero() {
				return false
			}
		}
	}
	return true
}

func waitTick() { <-time.After(250 * time.Millisecond) }

// rateFigures are each function's rate on the map (:map) and in the
// function figures (:fn, the last full interval), for the log.
func rateFigures(g *graph.Graph) []string {
	fn := map[string]float64{}
	for _, f := range g.Functions() {
		if n := len(f.Rate); n >= 2 {
			fn[f.Name] = (f.Rate[n-2] + f.Rate[max(n-3, 0)]) / 2
		}
	}
	var out []string
	for _, n := range g.Map().Nodes {
		if n.Component.Kind == tracing.ComponentFunction {
			out = append(out, fmt.Sprintf("%s map %.2f/s fn %.2f/s", n.Component.Name, n.Rate, fn[n.Component.Name]))
		}
	}
	sort.Strings(out)
	return out
}

// Floors: what main's code measured on this seeded world when the scorer was
// written (2026-12-03, before the identity, topology and counting fixes of
// issue 11). Short run (24 orders at 8/s, 29 events; 3 runs): ids 353–355/360
// (98.1–98.6%), lookups 300–315/330 (90.9–95.5%), path 243–246/273
// (89.0–90.1%), 0 false merges, 1–2 fragment rows, invocations exact 5/5,
// errors exact 4/5 (reserve-stock's thrown errors: text format, REPORT
// without Status, count 0), rows agree 29–30 of 30–31, 4 rows that stood
// for no whole event for 2 s or more while the world ran; map edges 5/13, 0
// extra. Long run (`make fidelity`, 200 orders at 10/s, 237 events): ids
// 3078/3173 (97.0%), lookups 2311/2565 (90.1%), path 2017/2276 (88.6%), 0
// false merges, 19 fragment rows, invocations 5/5, errors 4/5, rows agree
// 237/256, 47 live fragments. The test fails when a change makes flowtop show less; the lead
// raises the floors to 100%/0 as the fixes land. Timing (which messages
// share a batch, what a source has read when the score settles) moves a few
// figures between runs, so each floor sits a little under its measurement.
const (
	floorIDs          = 0.95
	floorLookups      = 0.86
	floorPath         = 0.86
	maxFalseMerges    = 0
	maxFragmentsShare = 0.15 // fragment rows per true event
	maxLiveShare      = 0.25 // rows listed 2 s or more for no whole event, per true event
	floorInvExact     = 5
	floorErrExact     = 4
	floorMapEdges     = 5 // of the world's 13 topology edges
	maxMapExtra       = 0 // edges neither configured nor observed
)

// TestFidelity runs a seeded world, flowtop's real collectors over it, and
// scores the graph against the world's truth. It prints one line of figures;
// `make fidelity` runs a longer world (-fidelity.orders).
func TestFidelity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the world and the collectors for several seconds")
	}
	orders, rate := 24, 8.0
	if *flagOrders > 0 {
		orders = *flagOrders
	}
	if *flagRate > 0 {
		rate = *flagRate
	}
	r := world(t, orders, rate)
	tr, rep := r.settle(t, orders, 60*time.Second+time.Duration(float64(orders)/rate*float64(time.Second)), 30*time.Second)
	rep.CountLive(r.seen, 2*time.Second)
	fmt.Println(rep.String())
	t.Log(rep.String())
	for _, p := range rep.Problems {
		t.Log("  " + p)
	}
	for _, f := range rep.Functions {
		t.Logf("  function %-16s invocations %d/%d errors %d/%d (graph/true)", f.Name, f.GraphInv, f.TrueInvocations, f.GraphErrors, f.TrueErrors)
	}
	for _, h := range r.hub.Health() {
		t.Logf("  source %-7s %s items %d dropped %d unparsed %d %s", h.Source, h.Mode, h.Items, h.Dropped, h.Unparsed, h.LastError)
	}
	m := ScoreMap(tr, r.g)
	fmt.Printf("%s; function rates at %.1f orders/s: %s\n", m, rate, strings.Join(r.rates, ", "))
	for _, e := range m.Missing {
		t.Log("  map lacks " + e)
	}
	for _, e := range m.Extra {
		t.Log("  map has an edge the world has not: " + e)
	}
	if rep.Events < orders || rep.Pending > 0 {
		t.Errorf("%d true events for %d orders, %d of them pending", rep.Events, orders, rep.Pending)
	}
	if Ratio(rep.IDsLinked, rep.IDsExpected) < floorIDs {
		t.Errorf("ids linked %d/%d, below the floor %.3f", rep.IDsLinked, rep.IDsExpected, floorIDs)
	}
	if Ratio(rep.Lookups, rep.LookupsTotal) < floorLookups {
		t.Errorf("lookups %d/%d, below the floor %.3f", rep.Lookups, rep.LookupsTotal, floorLookups)
	}
	if Ratio(rep.PathShown, rep.PathTrue) < floorPath {
		t.Errorf("path %d/%d, below the floor %.3f", rep.PathShown, rep.PathTrue, floorPath)
	}
	if rep.FalseMerges > maxFalseMerges {
		t.Errorf("%d false merges, above %d", rep.FalseMerges, maxFalseMerges)
	}
	if float64(rep.Fragments) > maxFragmentsShare*float64(rep.Events) {
		t.Errorf("%d fragment rows for %d events, above %.0f%%", rep.Fragments, rep.Events, 100*maxFragmentsShare)
	}
	if float64(rep.LiveFragments) > maxLiveShare*float64(rep.Events) {
		t.Errorf("%d rows stood for no whole event for 2 s or more (%d events), above %.0f%%", rep.LiveFragments, rep.Events, 100*maxLiveShare)
	}
	if rep.InvExact < floorInvExact || rep.ErrExact < floorErrExact {
		t.Errorf("exact counts: invocations %d, errors %d; floors %d, %d", rep.InvExact, rep.ErrExact, floorInvExact, floorErrExact)
	}
	// The map (issue 11: every topology edge, none that is neither configured
	// nor observed). Rates are reported above, not asserted: they are sampled
	// while orders flow, and main's map counts observations, not invocations.
	if m.Shown < floorMapEdges || len(m.Extra) > maxMapExtra {
		t.Errorf("%s: floors %d shown, %d extra", m, floorMapEdges, maxMapExtra)
	}
}
