package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// twoRegions runs the sandbox's order pipeline in us-east-1 and a second,
// smaller one in eu-west-1 on one endpoint, and an engine watching both.
// deny cuts eu-west-1 off with access-denied errors from the start.
func twoRegions(t *testing.T, deny bool) (*Engine, map[string]*sandbox.World) {
	t.Helper()
	e, w, _ := twoRegionsAt(t, deny)
	return e, w
}

// twoRegionsAt is twoRegions, also giving the sandbox's URL.
func twoRegionsAt(t *testing.T, deny bool) (*Engine, map[string]*sandbox.World, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv := sandbox.NewServer(sandbox.Options{Seed: 31})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	worlds := map[string]*sandbox.World{}
	var done []chan struct{}
	for i, region := range []string{"us-east-1", "eu-west-1"} {
		w, err := sandbox.NewWorld(ctx, url, srv, sandbox.WorldConfig{Region: region, Rate: 15, Seed: uint64(40 + i), MaxOrders: 12})
		if err != nil {
			t.Fatal(err)
		}
		worlds[region] = w
		d := make(chan struct{})
		done = append(done, d)
		go func() { defer close(d); _ = w.Run(ctx) }()
	}
	if deny {
		srv.InRegion("eu-west-1").Deny("*")
	}
	us, eu := awsConfig(url), awsConfig(url)
	eu.Region = "eu-west-1"
	us.RetryMaxAttempts, eu.RetryMaxAttempts = 1, 1
	e, err := New(Settings{
		Contexts: []Context{
			{Name: "sandbox/us-east-1", Account: sandbox.Account, Region: "us-east-1", AWS: us},
			{Name: "sandbox/eu-west-1", Account: sandbox.Account, Region: "eu-west-1", AWS: eu},
		},
		Sources:  Sources{XRay: true, LiveTail: "off", Poll: 200 * time.Millisecond, Lookback: time.Minute},
		Logger:   slog.New(slog.DiscardHandler),
		StateDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Start(ctx)
	t.Cleanup(func() {
		cancel()
		e.Close()
		for _, d := range done {
			<-d
		}
		_ = srv.Close()
	})
	return e, worlds, url
}

// firstBatch runs s until it sends a batch.
func firstBatch(t *testing.T, s collectors.Source) tracing.Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make(chan tracing.Batch)
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx, out) }()
	defer func() { cancel(); <-done }()
	select {
	case b := <-out:
		return b
	case <-ctx.Done():
		t.Fatalf("%s sent nothing", s.Name())
		return nil
	}
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// regionsOf says in which watched context the engine saw each of the
// world's events, by the IDs the world itself recorded.
func regionsOf(e *Engine, w *sandbox.World) map[int]int {
	out := map[int]int{}
	for _, ev := range w.Truth().Events {
		for _, k := range ev.Own {
			if !collectors.Followable(k.Kind) {
				continue // order numbers recur in both regions
			}
			if i, ok := e.WhereOf(k.Value); ok {
				out[i]++
				break
			}
		}
	}
	return out
}

// Two regions watched through the real SDK: each region's events arrive,
// each known in its own context, and components carry their region.
func TestTwoRegionsBothLive(t *testing.T) {
	t.Parallel()
	e, worlds := twoRegions(t, false)
	waitFor(t, "events from both regions", func() bool {
		return regionsOf(e, worlds["us-east-1"])[0] >= 3 && regionsOf(e, worlds["eu-west-1"])[1] >= 3
	})
	// Every event the graph lists is placed in a context, whatever ID it
	// goes by (a body's event ID, a message ID, a request ID).
	for _, r := range e.Graph().Flows(graph.FlowQuery{Limit: 1000}).Rows {
		if _, ok := e.WhereOf(r.ID); !ok {
			l, _ := e.Graph().Lineage(r.ID)
			var hops []string
			for _, h := range l.Hops {
				hops = append(hops, fmt.Sprintf("%s %s %s@%s", h.Kind, h.Evidence, h.Component.Name, h.Component.Region))
			}
			t.Errorf("event %s is in no context; its keys %v, hops %v", r.ID, l.Keys, hops)
		}
	}
	if n := regionsOf(e, worlds["us-east-1"])[1]; n > 0 {
		t.Errorf("%d us-east-1 events were placed in eu-west-1", n)
	}
	if n := regionsOf(e, worlds["eu-west-1"])[0]; n > 0 {
		t.Errorf("%d eu-west-1 events were placed in us-east-1", n)
	}
	// The graph keys functions by name; what the engine hands it carries
	// the account and region: the live sources of a second engine over the
	// same contexts, run by hand, stamp every component.
	probe, err := New(Settings{Contexts: e.set.Contexts, Sources: Sources{LiveTail: "off"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range probe.liveSources() {
		if !strings.HasPrefix(s.Name(), "lambda@") {
			continue
		}
		region := strings.TrimPrefix(s.Name(), "lambda@sandbox/")
		b := firstBatch(t, s)
		if len(b) == 0 {
			t.Fatalf("%s sent an empty batch", s.Name())
		}
		for _, o := range b {
			if o.Component.Region != region || o.Component.Account != sandbox.Account {
				t.Errorf("%s: component %s, want @%s/%s", s.Name(), o.Component, sandbox.Account, region)
			}
		}
	}
	waitFor(t, "both contexts ok", func() bool {
		cs := e.Contexts()
		return len(cs) == 2 && cs[0].State == ContextOK && cs[1].State == ContextOK
	})
	fn := tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"}
	if !e.Seen(0, fn) || !e.Seen(1, fn) {
		t.Errorf("charge-card runs in both regions: seen in us-east-1 %v, eu-west-1 %v", e.Seen(0, fn), e.Seen(1, fn))
	}
	// A history search reaches both regions' sources, each named with its context.
	names := map[string]bool{}
	for _, s := range e.searchers() {
		names[s.Name()] = true
	}
	for _, want := range []string{"cwlogs@sandbox/us-east-1", "cwlogs@sandbox/eu-west-1"} {
		if !names[want] {
			t.Errorf("searcher %s missing: %v", want, names)
		}
	}
}

// Access denied in one region: that context fails, named with its reason,
// while the other stays live and its events keep arriving.
func TestOneRegionDeniedOtherLive(t *testing.T) {
	t.Parallel()
	e, worlds := twoRegions(t, true)
	waitFor(t, "us-east-1 events", func() bool { return regionsOf(e, worlds["us-east-1"])[0] >= 5 })
	defer func() {
		if t.Failed() {
			for _, c := range e.Contexts() {
				t.Logf("%s %s %s %s", c.Name, c.State, c.Reason, c.Detail)
				for _, h := range c.Sources {
					t.Logf("  %s %s %q", h.Source, h.State, h.LastError)
				}
			}
		}
	}()
	waitFor(t, "eu-west-1 failing", func() bool {
		cs := e.Contexts()
		return len(cs) == 2 && cs[1].State == ContextFailing
	})
	cs := e.Contexts()
	if cs[0].State != ContextOK {
		t.Errorf("us-east-1 = %s (%s), want ok", cs[0].State, cs[0].Detail)
	}
	if cs[1].Reason != "AccessDenied" {
		t.Errorf("eu-west-1 reason = %q (%s), want AccessDenied", cs[1].Reason, cs[1].Detail)
	}
	if n := regionsOf(e, worlds["eu-west-1"])[1]; n > 0 {
		t.Errorf("%d events read from the denied region", n)
	}
	var failedEU, failedUS bool
	for _, f := range e.Failures() {
		failedEU = failedEU || strings.HasSuffix(f.Source, "@sandbox/eu-west-1")
		failedUS = failedUS || strings.HasSuffix(f.Source, "@sandbox/us-east-1")
	}
	if !failedEU || failedUS {
		t.Errorf("failures %v: want eu-west-1's sources named, not us-east-1's", e.Failures())
	}
}

// One context stamps nothing: today's single-account users see no change.
func TestOneContextStampsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := f.engine(t, true)
	if err := e.Collect(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if cs := e.Contexts(); cs != nil {
		t.Errorf("Contexts = %v, want none", cs)
	}
	if _, ok := e.WhereOf(f.ev1); ok {
		t.Error("WhereOf answers with one context")
	}
	for _, n := range e.Graph().Map().Nodes {
		if n.Component.Account != "" || n.Component.Region != "" {
			t.Errorf("component %s stamped with one context", n.Component)
		}
	}
	page := e.Graph().Flows(graph.FlowQuery{Limit: 10})
	if len(page.Rows) == 0 {
		t.Error("no flows collected")
	}
}

func TestReason(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]string{
		"cwlogs: /aws/lambda/x: access denied (needs logs:FilterLogEvents): operation error CloudWatch Logs: FilterLogEvents, https response error StatusCode: 400, RequestID: 1, api error AccessDeniedException: User: x": "AccessDenied",
		"sqs: api error AuthorizationError: no":                                  "AccessDenied",
		"lambda: api error ExpiredTokenException: gone":                          "ExpiredTokenException",
		"xray: cannot reach the endpoint (network or --endpoint-url?): dial tcp": "unreachable",
		"something odd": "error",
	} {
		if got := reason(msg); got != want {
			t.Errorf("reason(%q) = %q, want %q", msg, got, want)
		}
	}
}

// A component a source already placed (a linked account's log group, read
// through a monitoring account) keeps its account; the rest are stamped.
func TestStampKeepsWhatSourcesSay(t *testing.T) {
	t.Parallel()
	e := &Engine{where: newWhere(2)}
	m := &member{ctx: Context{Name: "mon/us-east-1", Account: "111111111111", Region: "us-east-1"}, idx: 1}
	b := tracing.Batch{
		{Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "a"}, Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: "m-1"}, {Kind: tracing.KeyCorrelation, Value: "order_id=o-1"}}},
		{Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "b", Account: "222222222222"}},
	}
	e.stamp(m, b)
	if c := b[0].Component; c.Account != "111111111111" || c.Region != "us-east-1" {
		t.Errorf("unplaced component stamped %s", c)
	}
	if c := b[1].Component; c.Account != "222222222222" || c.Region != "us-east-1" {
		t.Errorf("linked account's component became %s", c)
	}
	if i, ok := e.WhereOf("m-1"); !ok || i != 1 {
		t.Errorf("WhereOf(m-1) = %d, %v", i, ok)
	}
	if _, ok := e.WhereOf("order_id=o-1"); ok {
		t.Error("a correlation value, shared across regions, was placed")
	}
	if !e.Seen(1, tracing.Component{Kind: tracing.ComponentFunction, Name: "a"}) || e.Seen(0, tracing.Component{Kind: tracing.ComponentFunction, Name: "a"}) {
		t.Error("Seen does not say function a was seen in context 1 only")
	}
}

// The index forgets its oldest IDs past its bound.
func TestWhereIsBounded(t *testing.T) {
	t.Parallel()
	w := newWhere(2)
	for i := 0; i < maxWhere+10; i++ {
		w.note(fmt.Sprintf("id-%d", i), i%2)
	}
	if len(w.ids) != maxWhere {
		t.Errorf("%d IDs held, want %d", len(w.ids), maxWhere)
	}
	if _, ok := w.of("id-0"); ok {
		t.Error("the oldest ID was kept")
	}
	if i, ok := w.of(fmt.Sprintf("id-%d", maxWhere+9)); !ok || i != 1 {
		t.Errorf("the newest ID: %d %v", i, ok)
	}
}

// A span the serving engine's receiver reads is in the context its resource
// names: its event has a REGION from the first span, not only once logs
// are polled. A span of another cloud, or of no watched region, is in none.
func TestReceiverSpansArePlaced(t *testing.T) {
	t.Parallel()
	e := &Engine{where: newWhere(2)}
	for i, r := range []string{"us-east-1", "eu-west-1"} {
		e.members = append(e.members, &member{ctx: Context{Name: "p/" + r, Account: "111111111111", Region: r}, idx: i})
	}
	span := func(region, trace string) tracing.Observation {
		var id tracing.TraceID
		copy(id[:], trace)
		return tracing.Observation{
			Kind: tracing.ObsSpan, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "f", Account: "111111111111", Region: region},
			Span: &tracing.Span{TraceID: id}, Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: "m-" + region}},
		}
	}
	b := tracing.Batch{span("eu-west-1", "trace-eu-west-1-x"), span("us-east-1", "trace-us-east-1-x"), span("europe-west1", "trace-gcp-xxxxxxx")}
	e.learnPlaced(b)
	for want, id := range []string{"m-us-east-1", "m-eu-west-1"} {
		if i, ok := e.WhereOf(id); !ok || i != want {
			t.Errorf("WhereOf(%s) = %d, %v, want %d", id, i, ok, want)
		}
	}
	if _, ok := e.WhereOf("m-europe-west1"); ok {
		t.Error("a span of no watched region was placed")
	}
}
