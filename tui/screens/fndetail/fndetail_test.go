package fndetail_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/fndetail"
	"github.com/flowtop/flowtop/tui/screens/functions"
)

func newScreen(name string) screen.Screen {
	return fndetail.New(screentest.Env(true), fake.NewFeed(), name)
}

func TestGoldens(t *testing.T) {
	screentest.Goldens(t, "fndetail", func() screen.Screen { return newScreen("charge-card") })
	screentest.Goldens(t, "fndetail-slowest", func() screen.Screen { return newScreen("charge-card") }, "tab", "j")
	screentest.Goldens(t, "fndetail-failed", func() screen.Screen { return newScreen("charge-card") }, "tab", "tab")
	screentest.Goldens(t, "fndetail-unknown", func() screen.Screen { return newScreen("nope") })
}

func cursorText(s screen.Screen) string {
	for _, l := range strings.Split(s.View(), "\n") {
		if strings.Contains(l, "\x1b[7m") {
			return strings.TrimSpace(ansi.Strip(l))
		}
	}
	return ""
}

func TestTabEnterAndFilter(t *testing.T) {
	s := newScreen("charge-card")
	s.SetSize(160, 40)
	s, _ = screentest.Load(t, s)
	v := ansi.Strip(s.View())
	for _, want := range []string{
		"invocations 120", "errors 9 (7.5%)", "cold starts 3 · init p50 310ms p95 840ms", "duration p50 180ms p95 410ms",
		"max 301 / 512 MB (59%)", "$0.0000035 per invocation", "$6.38 per month", "≤200ms", "CardDeclined: insufficient funds", "[recent (40)]",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("no %q in\n%s", want, v)
		}
	}
	if c := cursorText(s); !strings.Contains(c, "00000000-1111") {
		t.Errorf("recent cursor: %q", c)
	}
	s, _ = screentest.Press(t, s, "tab")
	if c := cursorText(s); !strings.Contains(c, "00000032-1111") || !strings.Contains(c, "484ms") {
		t.Errorf("slowest cursor: %q", c)
	}
	s, _ = screentest.Press(t, s, "tab", "j")
	if c := cursorText(s); !strings.Contains(c, "00000013-1111") || !strings.Contains(c, "error") {
		t.Errorf("failed cursor: %q", c)
	}
	s, out := screentest.Press(t, s, "enter")
	if len(out) != 1 || out[0] != (screen.Open{To: fndetail.EventID, Arg: "00000013-1111-4000-8000-000000000000"}) {
		t.Errorf("enter: %#v", out)
	}
	_, out = screentest.Press(t, s, "l")
	if len(out) != 1 || out[0] != (screen.Open{To: fndetail.LogsID, Arg: "charge-card"}) {
		t.Errorf("l: %#v", out)
	}
	s, _ = screentest.Press(t, s, "tab")
	s.(screen.Filterer).SetFilter("kind:cold")
	if v := ansi.Strip(s.View()); strings.Count(v, "-1111-4000-") != 4 {
		t.Errorf("kind:cold kept %d rows:\n%s", strings.Count(v, "-1111-4000-"), v)
	}
	s.(screen.Filterer).SetFilter("timed")
	if v := ansi.Strip(s.View()); strings.Count(v, "Task timed out") != 2+1 { // two rows and the error group
		t.Errorf("timed:\n%s", v)
	}
}

func TestEnterOnFunctionsOpensTheDetail(t *testing.T) {
	s := functions.New(screentest.Env(true), fake.NewFeed())
	s.SetSize(120, 20)
	sc, _ := screentest.Load(t, s)
	sc, out := screentest.Press(t, sc, "j", "enter")
	if len(out) != 1 || out[0] != (screen.Open{To: fndetail.ID, Arg: "send-email"}) {
		t.Errorf("enter on :fn: %#v", out)
	}
	_ = sc
}

// placedFeed answers for a function in one place: eu-west-1's charge-card
// ran 40 times at 1024 MB; asked by name alone, it would say us-east-1's.
type placedFeed struct {
	*fake.Feed
	asked []tracing.Component
}

func (f *placedFeed) FunctionDetailIn(c tracing.Component) graph.FunctionDetail {
	f.asked = append(f.asked, c)
	d := f.FunctionDetail(c.Name)
	d.Stats.Account, d.Stats.Region = c.Account, c.Region
	d.Stats.MemoryMB, d.Stats.Invocations, d.Stats.Errors = 1024, 40, 12
	return d
}

// Opened from a placed :fn row (the registry's argument is a component),
// the screen reads that place's detail and says which region it is.
func TestOpenedInARegion(t *testing.T) {
	f := &placedFeed{Feed: fake.NewFeed()}
	eu := tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card", Account: "123456789012", Region: "eu-west-1"}
	s := fndetail.Spec(f).New(screentest.Env(true), eu)
	s.SetSize(160, 40)
	s, _ = screentest.Load(t, s)
	if len(f.asked) != 1 || f.asked[0] != eu {
		t.Fatalf("asked %v, want eu-west-1's charge-card", f.asked)
	}
	if got := s.Title(); got != "function charge-card (eu-west-1)" {
		t.Errorf("title %q", got)
	}
	if v := ansi.Strip(s.View()); !strings.Contains(v, "invocations 40") || !strings.Contains(v, "1024 MB") {
		t.Errorf("not eu-west-1's figures:\n%s", v)
	}
	// By name, with one region watched: as before, no region in the title.
	s = fndetail.Spec(f).New(screentest.Env(true), "charge-card")
	s, _ = screentest.Load(t, s)
	if len(f.asked) != 1 || s.Title() != "function charge-card" {
		t.Errorf("by name: asked %v, title %q", f.asked, s.Title())
	}
}
