package event

import (
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
