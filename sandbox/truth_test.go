package sandbox

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// TestWorldTruth runs a small seeded world until every event reached an
// outcome and checks the record against what the world was built to do: every
// order's event carries its IDs and the path through all four branches, a
// two-part order shares its producer's request ID and order, a parked
// CloudEvent's DLQ copy has a MessageId of its own, and the function counts
// add up.
func TestWorldTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the world for several seconds")
	}
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const orders = 30
	sb, err := Start(ctx, Config{World: WorldConfig{Rate: 30, Seed: 3, MaxOrders: orders, DeclineRate: 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	deadline := time.Now().Add(45 * time.Second)
	var tr Truth
	for {
		tr = sb.World.Truth()
		if tr.Orders >= orders && tr.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, e := range tr.Events {
				if !e.Done {
					t.Logf("pending: %s %s path %v", e.Label, e.Status, e.Path)
				}
			}
			t.Fatalf("%d orders, %d events pending after 45s", tr.Orders, tr.Pending)
		}
		<-time.After(100 * time.Millisecond)
	}
	var parts, parked, dead, direct int
	for _, e := range tr.Events {
		if !strings.HasPrefix(e.Label, "order ") {
			continue
		}
		if strings.HasSuffix(e.Label, "(cloudevent to sns)") {
			// Published to SNS as a CloudEvent; send-email fails it into email-dlq.
			direct++
			var path []string
			for _, c := range e.Path {
				path = append(path, c.String())
			}
			slices.Sort(path)
			want := []string{"api/orders-http/prod", "function/orders-api", "function/record-analytics", "function/send-email", "queue/analytics-queue", "queue/email-dlq", "queue/email-queue", "topic/order-events"}
			if !slices.Equal(path, want) || e.Status != "dead-lettered" {
				t.Errorf("%s: %s, path %v, want %v", e.Label, e.Status, path, want)
			}
			continue
		}
		for _, c := range []string{
			"api/orders-http/prod", "function/orders-api", "bus/orders", "queue/billing-queue", "function/charge-card", "function/reserve-stock",
			"topic/order-events", "queue/email-queue", "function/send-email", "queue/analytics-queue", "function/record-analytics",
		} {
			if !slices.ContainsFunc(e.Path, func(p tracing.Component) bool { return p.String() == c }) {
				t.Errorf("%s: path %v lacks %s", e.Label, e.Path, c)
			}
		}
		kinds := map[tracing.KeyKind]int{}
		for _, k := range e.Keys() {
			kinds[k.Kind]++
		}
		if kinds[tracing.KeyEventID] != 1 || kinds[tracing.KeyMessageID] < 3 || kinds[tracing.KeyRequestID] < 5 || kinds[tracing.KeyTraceID] < 2 {
			t.Errorf("%s: keys %v", e.Label, e.Keys())
		}
		if strings.Contains(e.Label, " part ") {
			parts++
			if !slices.ContainsFunc(e.Shared, func(k tracing.Key) bool { return k.Kind == tracing.KeyCorrelation }) {
				t.Errorf("%s: the order's correlation key is not shared: %v", e.Label, e.Shared)
			}
		}
		if slices.ContainsFunc(e.Path, func(p tracing.Component) bool { return p.Name == EmailDLQ }) {
			parked++
			if kinds[tracing.KeyCloudEventID] != 1 || kinds[tracing.KeyMessageID] < 4 || kinds[tracing.KeySNSMessageID] != 1 {
				t.Errorf("%s: parked without a CloudEvents key and a new MessageId: %v", e.Label, e.Keys())
			}
		}
		if e.Status == "dead-lettered" {
			dead++
		}
	}
	if direct != orders/10 {
		t.Errorf("%d CloudEvents published to SNS for %d orders", direct, orders)
	}
	wantParts := 0
	for n := 1; n <= orders; n++ {
		if n%7 == 3 && n%10 != 0 {
			wantParts += 2
		}
	}
	if parts != wantParts {
		t.Errorf("%d two-part events for %d orders", parts, orders)
	}
	if parked == 0 || dead <= parked {
		t.Errorf("%d parked in email-dlq, %d dead-lettered in all", parked, dead)
	}
	f := tr.Functions["orders-api"]
	if f.Invocations != orders {
		t.Errorf("orders-api ran %d times for %d orders", f.Invocations, orders)
	}
	if tr.Functions["charge-card"].Errors == 0 || tr.Functions["record-analytics"].Invocations >= tr.Functions["send-email"].Invocations {
		t.Errorf("functions %+v: want charge-card errors and record-analytics batching", tr.Functions)
	}
	core := 0 // the order pipeline (with the API front and the partner rule)'s own edges; world parts (world_*.go) add theirs
	for _, e := range tr.Edges {
		if e.From.Kind != tracing.ComponentWorkflow && e.To.Kind != tracing.ComponentWorkflow {
			core++
		}
	}
	if n := core - len(clickstreamEdges(tr)); n != 15 || len(clickstreamEdges(tr)) != 3 {
		t.Errorf("%d topology edges (%d of the clickstream): %+v", len(tr.Edges), len(clickstreamEdges(tr)), tr.Edges)
	}
}

// TestTruthBounded: the record keeps its newest events, counts the ones it
// forgot, and forgets their index entries with them.
func TestTruthBounded(t *testing.T) {
	t.Parallel()
	tl := newTruthLog(3)
	var hs []int
	for i := range 5 {
		h := tl.event("e", 1)
		tl.key(h, tracing.KeyEventID, string(rune('a'+i)))
		tl.tag(h, string(rune('A'+i)))
		hs = append(hs, h)
	}
	tr := tl.snapshot()
	if len(tr.Events) != 3 || tr.Dropped != 2 || tr.Pending != 3 {
		t.Fatalf("events %d dropped %d pending %d", len(tr.Events), tr.Dropped, tr.Pending)
	}
	if tl.find(tracing.Key{Kind: tracing.KeyEventID, Value: "a"}) != 0 || tl.findTag("B") != 0 {
		t.Error("a forgotten event is still indexed")
	}
	if tl.find(tracing.Key{Kind: tracing.KeyEventID, Value: "e"}) != hs[4] || tl.findTag("E") != hs[4] {
		t.Error("the newest event is not indexed")
	}
	tl.outcome(hs[4], "failed")
	tl.outcome(hs[3], "ok")
	tl.forget(hs[2])
	tr = tl.snapshot()
	if len(tr.Events) != 2 || tr.Pending != 0 || tr.Events[1].Status != "failed" {
		t.Fatalf("after outcomes and a forget: %+v", tr)
	}
}

// TestTrueFunctionRate: invocations count in the second they started, and a
// rate covers whole seconds.
func TestTrueFunctionRate(t *testing.T) {
	t.Parallel()
	l := newTruthLog(0)
	base := time.Unix(1_800_000_000, 0)
	for _, ms := range []int{0, 400, 999, 1000, 1500, 2100, 3000} {
		l.invocation("f", ms == 400, base.Add(time.Duration(ms)*time.Millisecond))
	}
	f := l.snapshot().Functions["f"]
	if f.Invocations != 7 || f.Errors != 1 {
		t.Fatalf("counts %d/%d", f.Invocations, f.Errors)
	}
	if got := f.Rate(base, base.Add(2*time.Second)); got != 2.5 {
		t.Errorf("rate over [0 s, 2 s) %.2f, want 2.5", got)
	}
	if got := f.Rate(base.Add(2*time.Second), base.Add(2*time.Second)); got != 0 {
		t.Errorf("empty window %.2f", got)
	}
}
