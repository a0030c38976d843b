package traces_test

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/traces"
)

func TestGoldens(t *testing.T) {
	mk := func() screen.Screen { return traces.New(screentest.Env(true), fake.NewFeed()) }
	screentest.Goldens(t, "traces", mk)
	screentest.Goldens(t, "traces-slowest", mk, "s")
	screentest.Goldens(t, "traces-failed", mk, "f", "j")
}

// cursor is the reverse-video row, plain.
func cursor(s screen.Screen) string {
	for _, l := range strings.Split(s.View(), "\n") {
		if strings.Contains(l, "\x1b[7m") {
			return ansi.Strip(l)
		}
	}
	return ""
}

func TestSortOpenAndFilter(t *testing.T) {
	s := traces.New(screentest.Env(true), fake.NewFeed())
	s.SetSize(120, 30)
	sc, _ := screentest.Load(t, s)
	if c := cursor(sc); !strings.HasPrefix(c, fake.Billing.String()[20:]) {
		t.Fatalf("newest first: %q", c)
	}
	sc, out := screentest.Press(t, sc, "j", "enter")
	if len(out) != 1 || out[0] != (screen.Open{To: "trace", Arg: fake.Checkout}) {
		t.Errorf("enter: %#v", out)
	}
	// s: slowest first, read again from the feed.
	sc, out = screentest.Press(t, sc, "s")
	if len(out) != 2 || !strings.Contains(sc.(screen.Informer).Info(), "slowest") {
		t.Errorf("s: %#v %q", out, sc.(screen.Informer).Info())
	}
	if c := cursor(sc); !strings.Contains(c, "1.5s") {
		t.Errorf("slowest first is the 1.5s checkout: %q", c)
	}
	// f: failed only.
	sc, _ = screentest.Press(t, sc, "f")
	v := ansi.Strip(sc.View())
	if strings.Contains(v, "billing-worker") || !strings.Contains(v, "orders-api") || !strings.Contains(sc.(screen.Informer).Info(), "failed") {
		t.Errorf("f:\n%s", v)
	}
	sc, _ = screentest.Press(t, sc, "f")
	// Filters: words go to the feed, field terms are applied here.
	sc.(screen.Filterer).SetFilter("source:cart")
	sc, _ = screentest.Run(t, sc, sc.Refresh(3))
	v = ansi.Strip(sc.View())
	if strings.Contains(v, "orders-api") || !strings.Contains(v, "cart") {
		t.Errorf("source:cart:\n%s", v)
	}
	sc.(screen.Filterer).SetFilter("status:failed")
	sc, _ = screentest.Run(t, sc, sc.Refresh(4))
	for _, l := range strings.Split(ansi.Strip(sc.View()), "\n")[1:] {
		if strings.TrimSpace(l) != "" && !strings.Contains(l, "✗") {
			t.Errorf("status:failed kept %q", l)
		}
	}
	sc.(screen.Filterer).SetFilter("billing")
	sc, _ = screentest.Run(t, sc, sc.Refresh(5))
	if n := len(strings.Split(strings.TrimSpace(ansi.Strip(sc.View())), "\n")); n != 2 {
		t.Errorf("billing: %d lines\n%s", n, ansi.Strip(sc.View()))
	}
}

// TestPlainOTLPTraces: spans without messaging attributes, from a real graph,
// are listed with their root, duration, spans and errors.
func TestPlainOTLPTraces(t *testing.T) {
	g := graph.New(graph.Config{Now: func() time.Time { return fake.Now }})
	var b tracing.Batch
	for i, tr := range []tracing.TraceID{fake.Checkout, fake.Billing} {
		spans := fake.CheckoutSpans()
		if i == 1 {
			spans = fake.BillingSpans()
		}
		for j := range spans {
			sp := spans[j]
			sp.Messaging = tracing.Messaging{}
			sp.TraceID = tr
			b = append(b, tracing.Observation{Kind: tracing.ObsSpan, Time: sp.Start, Span: &sp})
		}
	}
	g.Ingest(b)
	s := traces.New(screentest.Env(true), g)
	s.SetSize(120, 10)
	sc, _ := screentest.Load(t, s)
	v := ansi.Strip(sc.View())
	for _, want := range []string{"billing-worker billing-queue process", "orders-api   POST /orders", "1.5s", "300ms"} {
		if !strings.Contains(v, want) {
			t.Errorf("lacks %q:\n%s", want, v)
		}
	}
}
