package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/screens/trace"
)

// cursorText is the reverse-video row of the body, plain.
func cursorText(m *Model) string {
	for _, l := range bodyLines(m) {
		if strings.Contains(l, "\x1b[7m") {
			return ansi.Strip(l)
		}
	}
	return ""
}

// TestFollowSpanLinkAndBack goes from the traces list into the checkout
// trace, follows the publish span's link into the billing trace (the cursor
// on the linked span), comes back with `-`, and goes over again with `-`,
// all with real key presses through the root.
func TestFollowSpanLinkAndBack(t *testing.T) {
	t.Run("fake", func(t *testing.T) { followLinkAndBack(t, fake.NewFeed()) })
	t.Run("graph", func(t *testing.T) { followLinkAndBack(t, graphTraces(t)) })
}

// tracesFromGraph is the fake feed with its traces read from a real graph.
type tracesFromGraph struct {
	*fake.Feed
	g *graph.Graph
}

func (f tracesFromGraph) Traces(q graph.TraceQuery) graph.TracePage { return f.g.Traces(q) }
func (f tracesFromGraph) Trace(id tracing.TraceID) (graph.Trace, error) {
	return f.g.Trace(id)
}

// graphTraces ingests the fake's two linked traces, as OTLP spans, into a graph.
func graphTraces(t *testing.T) Feed {
	t.Helper()
	g := graph.New(graph.Config{Now: func() time.Time { return fake.Now }})
	var b tracing.Batch
	for _, sp := range append(fake.CheckoutSpans(), fake.BillingSpans()...) {
		sp := sp
		b = append(b, tracing.Observation{Kind: tracing.ObsSpan, Time: sp.Start, Span: &sp})
	}
	g.Ingest(b)
	if p := g.Traces(graph.TraceQuery{}); len(p.Rows) != 2 {
		t.Fatalf("graph lists %d traces", len(p.Rows))
	}
	return tracesFromGraph{Feed: fake.NewFeed(), g: g}
}

func followLinkAndBack(t *testing.T, feed Feed) {
	m := newModel(t, 120, 40, Options{Feed: feed})
	m = press(t, m, ":", "t", "r", "a", "c", "e", "s", "enter")
	if m.top().ID() != "traces" {
		t.Fatalf("opened %s", m.top().ID())
	}
	m = press(t, m, "j", "enter") // the checkout trace
	if got := m.top().Title(); got != "trace "+fake.Checkout.String() {
		t.Fatalf("enter opened %q", got)
	}
	m = press(t, m, "j", "j", "j") // orders-queue publish ↪
	if c := cursorText(m); !strings.Contains(c, "orders-queue publish ↪") {
		t.Fatalf("cursor on %q", c)
	}
	m = press(t, m, "enter")
	if got := m.top().Title(); got != "trace "+fake.Billing.String() {
		t.Fatalf("enter on the link opened %q:\n%s", got, screenText(m))
	}
	if c := cursorText(m); !strings.Contains(c, "billing-queue process") {
		t.Errorf("not on the linked span: %q", c)
	}
	m = press(t, m, "-")
	if got := m.top().Title(); got != "trace "+fake.Checkout.String() {
		t.Fatalf("- went to %q", got)
	}
	if c := cursorText(m); !strings.Contains(c, "orders-queue publish") {
		t.Errorf("- lost the cursor: %q", c)
	}
	// And the other way: billing's consumer links back to the publish span.
	m = press(t, m, "-")
	if got := m.top().Title(); got != "trace "+fake.Billing.String() {
		t.Fatalf("- again went to %q", got)
	}
	m = press(t, m, "enter")
	if got := m.top().Title(); got != "trace "+fake.Checkout.String() {
		t.Fatalf("billing's link opened %q", got)
	}
	if c := cursorText(m); !strings.Contains(c, "orders-queue publish") {
		t.Errorf("not on the publish span: %q", c)
	}
	if _, ok := m.top().(*trace.Model); !ok {
		t.Errorf("top is %T", m.top())
	}
	// :trace takes the X-Ray form too.
	m = press(t, m, ":")
	m = paste(t, m, "trace 1-0af76519-16cd43dd8448eb211c80319c")
	m = press(t, m, "enter")
	if got := m.top().Title(); got != "trace "+fake.Billing.String() {
		t.Errorf(":trace with an X-Ray ID opened %q", got)
	}
}
