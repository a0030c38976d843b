package dlqs_test

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

// regionsFeed is two regions running queues of the same names, in the
// graph's order: DLQs first, then by name and region.
type regionsFeed struct{}

func (regionsFeed) Queues() []graph.QueueStats {
	const acct = "000000000000"
	return []graph.QueueStats{
		{Name: "billing-dlq", Account: acct, Region: "eu-west-1", IsDLQ: true, Depth: 3, OldestAge: 2 * time.Minute, Sources: []string{"billing-queue"}},
		{Name: "billing-dlq", Account: acct, Region: "us-east-1", IsDLQ: true, Depth: 7, OldestAge: 3 * time.Minute, Sources: []string{"billing-queue"}},
		{Name: "billing-queue", Account: acct, Region: "eu-west-1", DeadLetterQueue: "billing-dlq", MaxReceiveCount: 3},
		{Name: "billing-queue", Account: acct, Region: "us-east-1", Depth: 1, DeadLetterQueue: "billing-dlq", MaxReceiveCount: 3},
	}
}

func TestGoldensTwoRegions(t *testing.T) {
	screentest.Goldens(t, "dlqs-regions", func() screen.Screen { return dlqs.New(screentest.Env(true), regionsFeed{}) }, "j")
}

// TestTwoRegionsAreTwoRows: a DLQ of one name in two regions is two rows,
// each saying its region; enter and r act on the one under the cursor.
func TestTwoRegionsAreTwoRows(t *testing.T) {
	s := screen.Screen(dlqs.New(screentest.Env(true), regionsFeed{}))
	s.SetSize(120, 20)
	s, _ = screentest.Load(t, s)
	v := ansi.Strip(s.View())
	if !strings.Contains(v, "REGION") || strings.Count(v, "billing-dlq") < 2 || !strings.Contains(v, "eu-west-1") || !strings.Contains(v, "us-east-1") {
		t.Fatalf("two regions' DLQs:\n%s", v)
	}
	s, _ = screentest.Press(t, s, "j") // the second DLQ row: us-east-1's
	_, out := screentest.Press(t, s, "enter")
	want := tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-dlq", Account: "000000000000", Region: "us-east-1"}
	if len(out) != 1 || out[0] != (screen.Open{To: dlqs.MessagesID, Arg: want}) {
		t.Errorf("enter: %#v, want %s", out, want)
	}
	_, out = screentest.Press(t, s, "r")
	if a := out[0].(screen.Ask).Action; a.Queue != "billing-dlq" || a.Region != "us-east-1" {
		t.Errorf("r: %+v, want us-east-1's billing-dlq", a)
	}
	// A filter on the region keeps that region's rows.
	s.(screen.Filterer).SetFilter("region:eu-west-1")
	if v := ansi.Strip(s.View()); strings.Contains(v, "us-east-1") || !strings.Contains(v, "eu-west-1") {
		t.Errorf("region:eu-west-1:\n%s", v)
	}
}
