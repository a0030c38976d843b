package trace_test

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
	"github.com/flowtop/flowtop/tui/screens/trace"
)

func open(t *testing.T, arg any, w, h int) screen.Screen {
	t.Helper()
	s := trace.New(screentest.Env(true), fake.NewFeed(), arg)
	s.SetSize(w, h)
	sc, _ := screentest.Load(t, s)
	return sc
}

func TestGoldens(t *testing.T) {
	feed := fake.NewFeed()
	mk := func(arg any) func() screen.Screen {
		return func() screen.Screen { return trace.New(screentest.Env(true), feed, arg) }
	}
	// The consumer of the async hop under the cursor: its wait in the details.
	screentest.Goldens(t, "trace-checkout", mk(fake.Checkout.String()), "j", "j", "j", "j")
	// Opened by a link on its linked span, the second link picked.
	screentest.Goldens(t, "trace-billing-links", mk(trace.Target{Trace: fake.Billing, Span: fake.BillingProcess}), "tab")
	// The publish span folded: its consumer and the call under it hidden.
	screentest.Goldens(t, "trace-folded", mk(fake.Checkout), "j", "j", "j", "space")
	screentest.Goldens(t, "trace-not-held", mk("4bf92f3577b34da6a3ce929d0e0e4799"))
	screentest.Goldens(t, "trace-bad-id", mk("ev-1"))
}

// rows are the waterfall's span rows (plain), from the third line on.
func rows(s screen.Screen) []string {
	lines := strings.Split(ansi.Strip(s.View()), "\n")
	var out []string
	for _, l := range lines[2:] {
		if strings.HasPrefix(l, "span ") || strings.HasPrefix(l, "── span") {
			break
		}
		if strings.TrimSpace(l) != "" {
			out = append(out, strings.TrimRight(l, " "))
		}
	}
	return out
}

// cursor is the name in the reverse-video row.
func cursor(s screen.Screen) string {
	for _, l := range strings.Split(s.View(), "\n") {
		if strings.Contains(l, "\x1b[7m") {
			return strings.TrimSpace(ansi.Strip(l))
		}
	}
	return ""
}

func TestCriticalPathAndAsyncWait(t *testing.T) {
	s := open(t, fake.Checkout, 120, 30)
	var critical []string
	for _, r := range rows(s) {
		if strings.HasPrefix(r, "◆") {
			critical = append(critical, r)
		}
	}
	// The trace ends with the async chain: publish → charge-card → stripe.
	// "render response" ran while the message waited: not critical.
	want := []string{"POST /orders", "validate order", "DynamoDB.PutItem", "orders-queue publish", "orders-queue process", "POST api.stripe.com"}
	if len(critical) != len(want) {
		t.Fatalf("critical rows:\n%s", strings.Join(critical, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(critical[i], w) {
			t.Errorf("critical %d: %q, want %s", i, critical[i], w)
		}
	}
	consumer := rows(s)[4]
	if !strings.Contains(consumer, "┄ wait 1.2s ┄") {
		t.Errorf("no labelled wait on the consumer's row: %q", consumer)
	}
	// The axis is labelled with round ticks.
	axis := strings.Split(ansi.Strip(s.View()), "\n")[1]
	for _, l := range []string{"╷0", "╷500ms", "╷1.0s"} {
		if !strings.Contains(axis, l) {
			t.Errorf("axis %q lacks %s", axis, l)
		}
	}
}

// TestCriticalPathAcrossOrphans: spans whose parents were not seen (the
// function segment of a Lambda) are roots; the path runs through the ones
// that explain the trace's end, and they are marked ⋯.
func TestCriticalPathAcrossOrphans(t *testing.T) {
	id := fake.Checkout
	at := func(ms int) time.Time { return fake.Now.Add(time.Duration(ms) * time.Millisecond) }
	spans := []tracing.Span{
		{TraceID: id, SpanID: fake.SpanID(1), ParentID: fake.SpanID(90), Name: "first", Start: at(0), End: at(100)},
		{TraceID: id, SpanID: fake.SpanID(2), ParentID: fake.SpanID(91), Name: "overlapped", Start: at(10), End: at(60)},
		{TraceID: id, SpanID: fake.SpanID(3), ParentID: fake.SpanID(92), Name: "last", Start: at(150), End: at(300)},
		// Runs alongside "last" but ends before it: not waited for.
		{TraceID: id, SpanID: fake.SpanID(4), ParentID: fake.SpanID(93), Name: "alongside", Start: at(90), End: at(200)},
	}
	s := trace.New(screentest.Env(true), bigFeed{graph.Trace{ID: id, Spans: spans, Version: 1}}, id)
	s.SetSize(120, 30)
	sc, _ := screentest.Load(t, s)
	got := rows(sc)
	want := []string{"◆  ⋯ first", "   ⋯ overlapped", "   ⋯ alongside", "◆  ⋯ last"}
	for i, w := range want {
		if i >= len(got) || !strings.HasPrefix(got[i], w) {
			t.Errorf("row %d: %q, want %q…", i, got[min(i, len(got)-1)], w)
		}
	}
}

func TestCursorFoldAndDetails(t *testing.T) {
	s := open(t, fake.Checkout, 120, 34)
	if c := cursor(s); !strings.Contains(c, "POST /orders") {
		t.Fatalf("cursor starts on %q", c)
	}
	s, _ = screentest.Press(t, s, "j", "j", "j")
	if c := cursor(s); !strings.Contains(c, "orders-queue publish") {
		t.Fatalf("j×3: %q", c)
	}
	n := len(rows(s))
	s, _ = screentest.Press(t, s, "space")
	if got := len(rows(s)); got != n-2 || !strings.Contains(cursor(s), "(+2)") {
		t.Errorf("space folded %d → %d rows; cursor %q", n, got, cursor(s))
	}
	s, _ = screentest.Press(t, s, "l")
	if got := len(rows(s)); got != n {
		t.Errorf("l: %d rows, want %d", got, n)
	}
	s, _ = screentest.Press(t, s, "j", "j") // the stripe call, a leaf
	if c := cursor(s); !strings.Contains(c, "stripe") {
		t.Fatalf("cursor %q", c)
	}
	v := ansi.Strip(s.View())
	for _, want := range []string{"kind        client", "status error", "card_declined", "service     charge-card"} {
		if !strings.Contains(v, want) {
			t.Errorf("details lack %q:\n%s", want, v)
		}
	}
	// The bottom pane scrolls with J: attributes, events, links.
	s, _ = screentest.Press(t, s, "J", "J", "J", "J", "J", "J", "J", "J")
	v = ansi.Strip(s.View())
	for _, want := range []string{"http.status_code         402", "events", "links (0)"} {
		if !strings.Contains(v, want) {
			t.Errorf("details after J lack %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "kind        client") {
		t.Errorf("J did not scroll the details:\n%s", v)
	}
	s, _ = screentest.Press(t, s, "K", "K", "K", "K", "K", "K", "K", "K")
	if v = ansi.Strip(s.View()); !strings.Contains(v, "kind        client") {
		t.Errorf("K did not scroll the details back:\n%s", v)
	}
	s, _ = screentest.Press(t, s, "h") // a leaf: h goes to the parent
	if c := cursor(s); !strings.Contains(c, "orders-queue process") {
		t.Errorf("h on a leaf: %q", c)
	}
	s, _ = screentest.Press(t, s, "h", "h") // folds it, then goes up
	if c := cursor(s); !strings.Contains(c, "orders-queue publish") {
		t.Errorf("h h: %q", c)
	}
	s, _ = screentest.Press(t, s, "G")
	if c := cursor(s); !strings.Contains(c, "render response") {
		t.Errorf("G: %q", c)
	}
}

func TestLinksAndEvent(t *testing.T) {
	s := open(t, fake.Checkout, 120, 34)
	_, out := screentest.Press(t, s, "enter")
	if len(out) != 1 || !strings.Contains(out[0].(screen.Flash).Text, "no links") {
		t.Errorf("enter without links: %#v", out)
	}
	s, _ = screentest.Press(t, s, "j", "j", "j")
	_, out = screentest.Press(t, s, "enter")
	want := screen.Open{To: trace.ID, Arg: trace.Target{Trace: fake.Billing, Span: fake.BillingProcess}}
	if len(out) != 1 || out[0] != want {
		t.Errorf("enter on the publish span: %#v", out)
	}
	s, _ = screentest.Press(t, s, "j")
	_, out = screentest.Press(t, s, "e")
	if len(out) != 1 || out[0] != (screen.Open{To: "event", Arg: "c0ffee00-1111-4000-8000-000000000001"}) {
		t.Errorf("e on the consumer: %#v", out)
	}
	b := open(t, trace.Target{Trace: fake.Billing, Span: fake.BillingProcess}, 200, 45)
	b, _ = screentest.Press(t, b, "tab")
	if v := ansi.Strip(b.View()); !strings.Contains(v, "▶ trace 5759e988bd862e3fe1be46a994272793") {
		t.Errorf("tab did not pick the second link:\n%s", v)
	}
	_, out = screentest.Press(t, b, "tab", "enter")
	if len(out) != 1 || out[0] != (screen.Open{To: trace.ID, Arg: trace.Target{Trace: fake.Checkout, Span: fake.CheckoutPublish}}) {
		t.Errorf("tab, enter: %#v", out)
	}
}

func TestKeysShowWhatWorks(t *testing.T) {
	s := open(t, fake.Checkout, 120, 34)
	has := func(k string) bool {
		for _, b := range s.Keys().ShortHelp() {
			if b.Help().Key == k {
				return true
			}
		}
		return false
	}
	if has("enter") || has("e") {
		t.Error("enter and e offered on a span without links or invocation")
	}
	s, _ = screentest.Press(t, s, "j", "j", "j")
	if !has("enter") || has("tab") {
		t.Error("one link: enter without tab")
	}
}

// bigTrace is a trace of n spans: a fan-out of ten services, each a chain
// of calls, with an async hop every 50 spans.
func bigTrace(n int) graph.Trace {
	id := fake.Checkout
	base := fake.Now
	spans := make([]tracing.Span, 0, n)
	for i := 0; i < n; i++ {
		sp := tracing.Span{
			TraceID: id, SpanID: fake.SpanID(i), Service: "svc-" + string(rune('a'+i%10)), Name: "op", Kind: tracing.SpanKindInternal,
			Start: base.Add(time.Duration(i) * time.Millisecond), End: base.Add(time.Duration(i)*time.Millisecond + 5*time.Millisecond),
		}
		switch {
		case i == 0:
			sp.End = base.Add(time.Duration(n) * time.Millisecond)
		case i < 10:
			sp.ParentID = fake.SpanID(0)
		default:
			sp.ParentID = fake.SpanID(i - 10)
		}
		if i%50 == 0 && i > 0 {
			sp.Kind = tracing.SpanKindConsumer
			spans[i-10].Kind = tracing.SpanKindProducer
		}
		if i%97 == 0 {
			sp.Status = tracing.StatusError
		}
		spans = append(spans, sp)
	}
	return graph.Trace{ID: id, Spans: spans, Version: 1}
}

type bigFeed struct{ tr graph.Trace }

func (f bigFeed) Trace(tracing.TraceID) (graph.Trace, error) { return f.tr, nil }

func TestBigTraceFitsAndMoves(t *testing.T) {
	s := trace.New(screentest.Env(true), bigFeed{bigTrace(10_000)}, fake.Checkout)
	s.SetSize(120, 43)
	sc, _ := screentest.Load(t, s)
	sc, _ = screentest.Press(t, sc, "G")
	if !strings.Contains(ansi.Strip(sc.View()), "span 10000/10000") {
		t.Errorf("G:\n%s", ansi.Strip(sc.View()))
	}
	sc, _ = screentest.Press(t, sc, "g", "space")
	if got := len(rows(sc)); got != 1 {
		t.Errorf("folding the root left %d rows", got)
	}
}

// BenchmarkFrame10k is one frame of the trace screen over a 10,000-span
// trace at 160x43: what a tick costs (the read's reply, Update, View), a
// cursor move, a page down (rows not drawn yet), and the first load (tree,
// critical path). Target: ≤10 ms per frame.
func BenchmarkFrame10k(b *testing.B) {
	feed := bigFeed{bigTrace(10_000)}
	setup := func() screen.Screen {
		s := trace.New(screentest.Env(false), feed, fake.Checkout)
		s.SetSize(160, 43)
		s2, _ := s.Update(s.Refresh(1)())
		_ = s2.View()
		return s2
	}
	b.Run("tick", func(b *testing.B) {
		s := setup()
		for i := 0; i < b.N; i++ {
			s, _ = s.Update(s.Refresh(uint64(i))())
			_ = s.View()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/frame")
	})
	for _, k := range []string{"j", "pgdown"} {
		b.Run(k, func(b *testing.B) {
			s := setup()
			key := screentest.Key(k)
			for i := 0; i < b.N; i++ {
				s, _ = s.Update(key)
				_ = s.View()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/frame")
		})
	}
	// The same tick over a real graph holding the 10,000-span trace (the
	// graph kept 512 spans of a trace before): the read materialises it.
	b.Run("tick-graph", func(b *testing.B) {
		g := graph.New(graph.Config{})
		batch := make(tracing.Batch, 0, 10_000)
		for _, sp := range feed.tr.Spans {
			batch = append(batch, tracing.Observation{Kind: tracing.ObsSpan, Source: "otlp", Time: sp.Start, Span: &sp})
		}
		g.Ingest(batch)
		var s screen.Screen = trace.New(screentest.Env(false), g, fake.Checkout)
		s.SetSize(160, 43)
		s, _ = s.Update(s.Refresh(1)())
		if v := s.View(); !strings.Contains(v, "10000 spans") {
			b.Fatalf("the graph's trace is not whole:\n%s", v)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			s, _ = s.Update(s.Refresh(uint64(i + 2))())
			_ = s.View()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/frame")
	})
	b.Run("load", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s := trace.New(screentest.Env(false), feed, fake.Checkout)
			s.SetSize(160, 43)
			s2, _ := s.Update(s.Refresh(1)())
			_ = s2.View()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/frame")
	})
}

// TestBadData: a parent cycle, a duplicate span ID, an in-progress span and
// a span with no start neither hang nor lose a span.
func TestBadData(t *testing.T) {
	id := fake.Checkout
	at := func(ms int) time.Time { return fake.Now.Add(time.Duration(ms) * time.Millisecond) }
	spans := []tracing.Span{
		{TraceID: id, SpanID: fake.SpanID(1), Name: "root", Start: at(0), End: at(100)},
		{TraceID: id, SpanID: fake.SpanID(2), ParentID: fake.SpanID(3), Name: "loop-a", Start: at(10), End: at(20)},
		{TraceID: id, SpanID: fake.SpanID(3), ParentID: fake.SpanID(2), Name: "loop-b", Start: at(20), End: at(30)},
		{TraceID: id, SpanID: fake.SpanID(1), Name: "root-again", Start: at(0), End: at(50)},
		{TraceID: id, SpanID: fake.SpanID(4), ParentID: fake.SpanID(1), Name: "running", Start: at(40), InProgress: true},
		{TraceID: id, SpanID: fake.SpanID(5), ParentID: fake.SpanID(1), Name: "no-start"},
	}
	s := trace.New(screentest.Env(true), bigFeed{graph.Trace{ID: id, Spans: spans, Version: 1}}, id)
	s.SetSize(120, 30)
	sc, _ := screentest.Load(t, s)
	got := strings.Join(rows(sc), "\n")
	for _, name := range []string{"root", "loop-a", "loop-b", "root-again", "running", "no-start"} {
		if !strings.Contains(got, " "+name) {
			t.Errorf("%s missing:\n%s", name, got)
		}
	}
	if !strings.Contains(got, "running…") {
		t.Errorf("the running span does not say so:\n%s", got)
	}
}

// exceptionTrace is a small trace whose failed span recorded an exception
// (with a long stack trace and a terminal escape in its message) and a
// plain event.
func exceptionTrace() graph.Trace {
	id := fake.Checkout
	at := func(ms int) time.Time { return fake.Now.Add(time.Duration(ms) * time.Millisecond) }
	var stack []string
	for i := range 20 {
		stack = append(stack, "  File \"/var/task/pay.py\", line "+string(rune('0'+i%10))+", in charge")
	}
	return graph.Trace{ID: id, Version: 1, Spans: []tracing.Span{
		{TraceID: id, SpanID: fake.SpanID(1), Name: "POST /orders", Service: "orders-api", Kind: tracing.SpanKindServer, Start: at(0), End: at(120), Status: tracing.StatusError},
		{
			TraceID: id, SpanID: fake.SpanID(2), ParentID: fake.SpanID(1), Name: "charge", Service: "charge-card", Kind: tracing.SpanKindInternal,
			Start: at(10), End: at(90), Status: tracing.StatusError, StatusMessage: "CardDeclined",
			Events: []tracing.SpanEvent{
				{Time: at(30), Name: "card checked", Attrs: map[string]string{"attempt": "2"}},
				{Time: at(85), Name: "exception", Attrs: map[string]string{
					"exception.type": "CardDeclined", "exception.message": "no funds \x1b[2J", "exception.escaped": "true",
					"exception.stacktrace": "Traceback (most recent call last):\n" + strings.Join(stack, "\n"),
				}},
			},
		},
	}}
}

// TestExceptionEvents: the details pane lists a span's events, an
// exception's type and message in full and its stack trace's first lines.
func TestExceptionEvents(t *testing.T) {
	mk := func() screen.Screen { return trace.New(screentest.Env(true), bigFeed{exceptionTrace()}, fake.Checkout) }
	screentest.Goldens(t, "trace-exception", mk, "j")
	s := mk()
	s.SetSize(200, 50)
	sc, _ := screentest.Load(t, s)
	sc, _ = screentest.Press(t, sc, "j")
	v := ansi.Strip(sc.View())
	for _, want := range []string{"events (2)", "+20ms card checked", "attempt=2", "+75ms exception CardDeclined: no funds", "exception.escaped=true", "Traceback (most recent call last):", "… 9 more lines"} {
		if !strings.Contains(v, want) {
			t.Errorf("details lack %q:\n%s", want, v)
		}
	}
	if strings.Contains(sc.View(), "\x1b[2J") {
		t.Error("an escape sequence in the exception message reached the screen")
	}
}
