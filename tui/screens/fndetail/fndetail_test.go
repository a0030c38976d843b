package fndetail_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

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
