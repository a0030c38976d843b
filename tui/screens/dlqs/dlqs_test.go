package dlqs_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/dlqs"
)

func TestGoldens(t *testing.T) {
	screentest.Goldens(t, "dlqs", func() screen.Screen { return dlqs.New(screentest.Env(true), fake.NewFeed()) })
}

func TestKeys(t *testing.T) {
	s := screen.Screen(dlqs.New(screentest.Env(true), fake.NewFeed()))
	s.SetSize(120, 20)
	s, _ = screentest.Load(t, s)
	_, out := screentest.Press(t, s, "enter")
	if len(out) != 1 || out[0] != (screen.Open{To: dlqs.MessagesID, Arg: "billing-dlq"}) {
		t.Errorf("enter: %#v", out)
	}
	_, out = screentest.Press(t, s, "r")
	if len(out) != 1 || out[0].(screen.Ask).Action.Kind != screen.ActionRedriveAll {
		t.Errorf("r: %#v", out)
	}
	ro := screen.Screen(dlqs.New(screentest.Env(false), fake.NewFeed()))
	ro.SetSize(120, 20)
	ro, _ = screentest.Load(t, ro)
	if _, out := screentest.Press(t, ro, "r"); len(out) != 0 {
		t.Errorf("r without actions: %#v", out)
	}
	s.(screen.Filterer).SetFilter("kind:dlq")
	s.(screen.Filterer).SetFilter("!kind:dlq")
	if _, out := screentest.Press(t, s, "enter"); len(out) != 1 || out[0].(screen.Open).Arg != "billing-queue" {
		t.Errorf("filtered enter: %#v", out)
	}
}

// destinationFeed has a DLQ no queue's redrive policy names (the demo's
// clickstream-failures, a Lambda on-failure destination).
type destinationFeed struct{}

func (destinationFeed) Queues() []graph.QueueStats {
	return []graph.QueueStats{{Name: "clickstream-failures", IsDLQ: true, Depth: 110}}
}

// TestDLQWithoutSourceSaysSo: its row said "←" pointing at nothing.
func TestDLQWithoutSourceSaysSo(t *testing.T) {
	for _, w := range []int{80, 120, 200} {
		s := screen.Screen(dlqs.New(screentest.Env(false), destinationFeed{}))
		s.SetSize(w, 10)
		s, _ = screentest.Load(t, s)
		v := ansi.Strip(s.View())
		if !strings.Contains(v, "no source queue known") || strings.Contains(v, "←") {
			t.Errorf("%d columns:\n%s", w, v)
		}
	}
}
