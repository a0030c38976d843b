package event

import (
	"testing"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
)

// plainFeed is the fake feed with one event that passed no bus and carries
// no EventBridge id.
type plainFeed struct{ *fake.Feed }

func (f plainFeed) Lineage(id string) (graph.Lineage, error) {
	if id != "m-plain" {
		return f.Feed.Lineage(id)
	}
	return graph.Lineage{ID: id, First: fake.Now, Last: fake.Now, Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: id}}}, nil
}

// TestArchiveKey: A asks to replay the archive of the bus the event passed,
// over the whole minutes from 5 minutes before it to 5 after; an event that
// passed no bus says so; an unknown ID does nothing.
func TestArchiveKey(t *testing.T) {
	f := plainFeed{fake.NewFeed()}
	l, _ := f.Lineage("ev-1")
	s := screen.Screen(New(screentest.Env(true), f, "ev-1"))
	s.SetSize(120, 35)
	s, _ = screentest.Load(t, s)
	_, out := screentest.Press(t, s, "A")
	if len(out) != 1 {
		t.Fatalf("A sent %#v", out)
	}
	ask, ok := out[0].(screen.Ask)
	want := screen.Action{
		Kind: screen.ActionReplayArchive, EventID: "ev-1", Target: "events:orders",
		From: l.First.Add(-5 * time.Minute).Truncate(time.Minute), To: l.Last.Add(5 * time.Minute).Truncate(time.Minute).Add(time.Minute),
	}
	if !ok || ask.Action.Kind != want.Kind || ask.Action.Target != want.Target || !ask.Action.From.Equal(want.From) || !ask.Action.To.Equal(want.To) || ask.Action.EventID != want.EventID {
		t.Fatalf("A asked %#v, want %#v", out[0], want)
	}
	if d := ask.Action.To.Sub(ask.Action.From); d < 10*time.Minute || d > 12*time.Minute {
		t.Errorf("window %s", d)
	}
	s = screen.Screen(New(screentest.Env(true), f, "m-plain"))
	s.SetSize(120, 35)
	s, _ = screentest.Load(t, s)
	if _, out := screentest.Press(t, s, "A"); len(out) != 1 {
		t.Errorf("A on an event that passed no bus sent %#v, want a warning", out)
	} else if _, ask := out[0].(screen.Ask); ask {
		t.Errorf("A on an event that passed no bus asked %#v", out[0])
	}
	s = screen.Screen(New(screentest.Env(true), f, "nope"))
	s.SetSize(120, 35)
	s, _ = screentest.Load(t, s)
	if _, out := screentest.Press(t, s, "A"); len(out) != 0 {
		t.Errorf("A on an unknown ID sent %#v", out)
	}
}
