package event

import (
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
)

func TestGoldens(t *testing.T) {
	screentest.Goldens(t, "event", func() screen.Screen { return New(screentest.Env(true), fake.NewFeed(), "ev-1") })
	screentest.Goldens(t, "event-ambiguous", func() screen.Screen { return New(screentest.Env(true), fake.NewFeed(), "o-7") })
	screentest.Goldens(t, "event-wrapped", func() screen.Screen { return New(screentest.Env(false), fake.NewFeed(), "ev-1") }, "w")
}

// TestScrollingNeverRebuilds: moving through the event scrolls the viewport;
// the lines are built once per lineage (clamp() used to render the whole
// screen to bound a cursor).
func TestScrollingNeverRebuilds(t *testing.T) {
	s := New(screentest.Env(true), fake.NewFeed(), "ev-1")
	s.SetSize(80, 8)
	sc, _ := screentest.Load(t, s)
	built := s.builds
	sc, _ = screentest.Press(t, sc, "j", "j", "j", "G", "g", "ctrl+d", "pgdown")
	if s.builds != built {
		t.Errorf("scrolling rebuilt the lines %d times", s.builds-built)
	}
	sc, _ = screentest.Load(t, sc) // same Version
	if s.builds != built {
		t.Errorf("a reload of the same lineage rebuilt the lines")
	}
	sc, _ = screentest.Press(t, sc, "G")
	if v := ansi.Strip(sc.View()); !strings.Contains(v, "100%") || !strings.Contains(v, "e replay (edit) it") {
		t.Errorf("G:\n%s", v)
	}
}

func TestKeysFollowTheEvent(t *testing.T) {
	s := New(screentest.Env(true), fake.NewFeed(), "ev-1")
	s.SetSize(120, 30)
	sc, _ := screentest.Load(t, s)
	_, out := screentest.Press(t, sc, "r")
	if len(out) != 1 || out[0].(screen.Ask).Action.Kind != screen.ActionRedriveSelected || out[0].(screen.Ask).Action.MessageIDs[0] != "m-1" {
		t.Errorf("r: %#v", out)
	}
	_, out = screentest.Press(t, sc, "e")
	if len(out) != 1 || out[0].(screen.Ask).Action.Kind != screen.ActionReplay || out[0].(screen.Ask).Action.Target != "sqs:billing-queue" {
		t.Errorf("e: %#v", out)
	}
	if k := s.Keys().FullHelp(); strings.Contains(keysOf(k), "enter") {
		t.Errorf("enter offered on a resolved event: %s", keysOf(k))
	}
	ro := New(screentest.Env(false), fake.NewFeed(), "ev-1")
	ro.SetSize(120, 30)
	rs, _ := screentest.Load(t, ro)
	if _, out := screentest.Press(t, rs, "r"); len(out) != 1 {
		t.Errorf("r without actions: %#v (the root says why)", out)
	}
	nodlq := New(screentest.Env(true), fake.NewFeed(), "nope")
	nodlq.SetSize(120, 30)
	ns, _ := screentest.Load(t, nodlq)
	if _, out := screentest.Press(t, ns, "e"); len(out) != 1 || out[0].(screen.Flash).Level != screen.LevelWarn {
		t.Errorf("e without a copy: %#v", out)
	}
	if strings.Contains(keysOf(ro.Keys().FullHelp()), "replay") {
		t.Error("replay offered without actions")
	}
}

func TestAmbiguousOpensOne(t *testing.T) {
	s := New(screentest.Env(true), fake.NewFeed(), "o-7")
	s.SetSize(120, 30)
	sc, _ := screentest.Load(t, s)
	if n := strings.Count(keysOf(s.Keys().FullHelp()), "enter"); n != 1 {
		t.Errorf("enter listed %d times", n)
	}
	sc, out := screentest.Press(t, sc, "j", "enter")
	if len(out) != 1 || sc.Title() != "event ev-old" || !strings.Contains(ansi.Strip(sc.View()), "event ev-old") {
		t.Errorf("%s %#v\n%s", sc.Title(), out, ansi.Strip(sc.View()))
	}
}

func TestHopKindHasItsOwnColumn(t *testing.T) {
	l, _ := fake.NewFeed().Lineage("ev-1")
	got := ansi.Strip(strings.Join(Lines(screentest.Env(false), "ev-1", l, nil, true, 200), "\n"))
	if !strings.Contains(got, "dead-letter queue billing-dlq") {
		t.Errorf("%s", got)
	}
}

func keysOf(groups [][]key.Binding) string {
	var b strings.Builder
	for _, g := range groups {
		for _, k := range g {
			b.WriteString(strings.Join(k.Keys(), ",") + " ")
		}
	}
	return b.String()
}
