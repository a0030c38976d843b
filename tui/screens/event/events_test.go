package event

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
)

// exceptionFeed is the fake feed whose failed spans recorded an exception.
type exceptionFeed struct{ Feed }

func (f exceptionFeed) Lineage(id string) (graph.Lineage, error) {
	l, err := f.Feed.Lineage(id)
	var spans []graph.SpanRow
	for i, sp := range fake.CheckoutSpans() {
		spans = append(spans, graph.SpanRow{Span: sp, Depth: min(i, 1), Offset: sp.Start.Sub(fake.CheckoutSpans()[0].Start)})
	}
	for i := range spans {
		if spans[i].Span.Name == "charge" || spans[i].Span.Status == tracing.StatusError {
			sp := spans[i].Span
			sp.Events = []tracing.SpanEvent{
				{Name: "retry", Attrs: map[string]string{"attempt": "2"}},
				{Name: "exception", Attrs: map[string]string{"exception.type": "CardDeclined", "exception.message": "no funds \x1b[31m", "exception.stacktrace": "a\nb"}},
			}
			spans[i].Span = sp
		}
	}
	l.Spans = spans
	return l, err
}

// TestSpanExceptions: a span's exceptions show under it on the event
// screen, one line each, sanitised; other events do not.
func TestSpanExceptions(t *testing.T) {
	mk := func() screen.Screen { return New(screentest.Env(true), exceptionFeed{fake.NewFeed()}, "ev-1") }
	screentest.Goldens(t, "event-exception", mk)
	s := mk()
	s.SetSize(200, 50)
	sc, _ := screentest.Load(t, s)
	v := sc.View()
	if !strings.Contains(ansi.Strip(v), "⚠ CardDeclined: no funds") || strings.Contains(v, "\x1b[31m") {
		t.Errorf("exception line missing or unsanitised:\n%s", ansi.Strip(v))
	}
	if strings.Contains(ansi.Strip(v), "retry") {
		t.Errorf("a plain event is listed:\n%s", ansi.Strip(v))
	}
}

// deepFailureFeed is the fake feed's event with a first hop of many log
// lines, so the failed hop and the waterfall sit far below the fold.
type deepFailureFeed struct{ exceptionFeed }

func (f deepFailureFeed) Lineage(id string) (graph.Lineage, error) {
	l, err := f.exceptionFeed.Lineage(id)
	hops := slices.Clone(l.Hops)
	for i := range 40 {
		hops[0].Logs = append(hops[0].Logs, graph.LogLine{Level: "INFO", Message: fmt.Sprintf("step %d of the order done", i)})
	}
	l.Hops = hops
	return l, err
}

// TestExceptionAboveTheFold: at 80x24 (a 19-row body under the root's
// 3-row header) a failed event's first exception, type and message, is on
// screen without scrolling, whatever the length of its hop tree and
// waterfall, and names the failed hop.
func TestExceptionAboveTheFold(t *testing.T) {
	const termW, termH, header, footer = 80, 24, 3, 2
	s := New(screentest.Env(true), deepFailureFeed{exceptionFeed{fake.NewFeed()}}, "ev-1")
	s.SetSize(termW, termH-header-footer)
	sc, _ := screentest.Load(t, s)
	rows := strings.Split(ansi.Strip(sc.View()), "\n")
	at := -1
	for i, r := range rows {
		if strings.Contains(r, "CardDeclined: no funds") {
			at = i
			break
		}
	}
	if at < 0 || header+at >= termH {
		t.Fatalf("exception line at body row %d, not within the first %d rows:\n%s", at, termH, strings.Join(rows, "\n"))
	}
	if !strings.Contains(rows[at], "✗ CardDeclined: no funds") || !strings.Contains(rows[at], "in function charge-card") {
		t.Errorf("exception line %q", rows[at])
	}
	if strings.Contains(sc.View(), "\x1b[31m") {
		t.Error("the exception message is not sanitised")
	}
}

// TestFailureLine: which exception the failure line shows.
func TestFailureLine(t *testing.T) {
	ex := func(typ, msg string) []tracing.SpanEvent {
		return []tracing.SpanEvent{{Name: "exception", Attrs: map[string]string{"exception.type": typ, "exception.message": msg}}}
	}
	fn := tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"}
	other := tracing.Component{Kind: tracing.ComponentFunction, Name: "send-email"}
	req := tracing.Key{Kind: tracing.KeyRequestID, Value: "r-2"}
	tests := []struct {
		name       string
		status     graph.Status
		hops       []graph.Hop
		spans      []graph.SpanRow
		why, where string
	}{
		{
			name: "ok event", status: graph.StatusSucceeded,
			hops:  []graph.Hop{{Component: fn, Status: graph.HopOK}},
			spans: []graph.SpanRow{{Span: tracing.Span{Service: "charge-card", Events: ex("Handled", "retried")}}},
		},
		{
			name: "the failed hop's own span, not an earlier one's", status: graph.StatusFailed,
			hops: []graph.Hop{{Component: other, Status: graph.HopOK}, {Component: fn, Status: graph.HopError, ErrorType: "Declined", Keys: []tracing.Key{req}}},
			spans: []graph.SpanRow{
				{Span: tracing.Span{Service: "send-email", SpanID: fake.SpanID(1), Events: ex("Smtp", "slow")}},
				{Span: tracing.Span{Service: "charge-card", SpanID: fake.SpanID(2), InvocationID: "r-1", Events: ex("Other", "invocation")}},
				{Span: tracing.Span{Service: "charge-card", SpanID: fake.SpanID(3), InvocationID: "r-2"}},
				{Span: tracing.Span{Service: "stripe", SpanID: fake.SpanID(4), ParentID: fake.SpanID(3), Events: ex("CardDeclined", "no funds")}},
			},
			why: "CardDeclined: no funds", where: "function charge-card",
		},
		{
			name: "no exception: the error type", status: graph.StatusFailed,
			hops: []graph.Hop{{Component: fn, Status: graph.HopError, ErrorType: "Declined\x1b[2J"}},
			why:  "Declined\\x1b[2J", where: "function charge-card",
		},
		{
			name: "no failed hop: a failed span's", status: graph.StatusDeadLettered,
			hops:  []graph.Hop{{Component: fn, Status: graph.HopOK}},
			spans: []graph.SpanRow{{Span: tracing.Span{Service: "svc", Name: "op", Status: tracing.StatusError, Events: ex("Boom", "")}}},
			why:   "Boom", where: "svc op",
		},
		{
			name: "a timeout says so", status: graph.StatusFailed,
			hops: []graph.Hop{{Component: fn, Status: graph.HopTimeout}},
			why:  "timed out", where: "function charge-card",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := graph.Lineage{Status: tt.status, Hops: tt.hops, Spans: tt.spans}
			for i := range l.Hops {
				l.Hops[i].Parent = i - 1
			}
			names, _ := hopNames(l.Hops)
			why, where := failure(l, names)
			if why != tt.why || where != tt.where {
				t.Errorf("got %q in %q, want %q in %q", why, where, tt.why, tt.where)
			}
		})
	}
}
