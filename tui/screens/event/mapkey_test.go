package event

import (
	"testing"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"

	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
)

// TestMapKey: m opens the map on the event's path; on an ID that matched
// nothing or several events it does nothing.
func TestMapKey(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want []any
	}{
		{"ev-1", []any{screen.Open{To: MapID, Arg: "ev-1"}}},
		{"nope", nil},
		{"o-7", nil},
	} {
		s := screen.Screen(New(screentest.Env(true), fake.NewFeed(), tc.id))
		s.SetSize(120, 35)
		s, _ = screentest.Load(t, s)
		_, out := screentest.Press(t, s, "m")
		if len(out) != len(tc.want) || len(out) == 1 && out[0] != tc.want[0] {
			t.Errorf("%s: m sent %#v, want %#v", tc.id, out, tc.want)
		}
	}
}

// spanFeed is the fake feed with one event that has spans.
type spanFeed struct {
	*fake.Feed
	tid tracing.TraceID
}

func (f spanFeed) Lineage(id string) (graph.Lineage, error) {
	if id != "ev-span" {
		return f.Feed.Lineage(id)
	}
	return graph.Lineage{ID: id, Spans: []graph.SpanRow{{Span: tracing.Span{TraceID: f.tid, Name: "publish"}}}}, nil
}

// TestTraceKey: t opens the trace screen on the event's trace; an event with
// no spans has no trace to open.
func TestTraceKey(t *testing.T) {
	tid := tracing.TraceID{0x5f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	f := spanFeed{Feed: fake.NewFeed(), tid: tid}
	for _, tc := range []struct {
		id   string
		want []any
	}{
		{"ev-span", []any{screen.Open{To: TraceID, Arg: tid.String()}}},
		{"nope", nil},
	} {
		s := screen.Screen(New(screentest.Env(true), f, tc.id))
		s.SetSize(120, 35)
		s, _ = screentest.Load(t, s)
		_, out := screentest.Press(t, s, "t")
		if len(out) != len(tc.want) || len(out) == 1 && out[0] != tc.want[0] {
			t.Errorf("%s: t sent %#v, want %#v", tc.id, out, tc.want)
		}
	}
}
