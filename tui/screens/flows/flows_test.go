package flows_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/flows"
)

func newScreen() screen.Screen { return flows.New(screentest.Env(true), fake.NewFeed()) }

func TestGoldens(t *testing.T) {
	screentest.Goldens(t, "flows", newScreen)
	screentest.Goldens(t, "flows-status-filter", func() screen.Screen {
		s := newScreen()
		s.(screen.Filterer).SetFilter("status:dead type:order")
		return s
	})
}

func TestKeys(t *testing.T) {
	s := newScreen()
	s.SetSize(120, 20)
	s, _ = screentest.Load(t, s)
	s, out := screentest.Press(t, s, "j", "j", "enter")
	if len(out) == 0 || out[len(out)-1] != (screen.Open{To: flows.EventID, Arg: fake.NewFeed().Rows[2].ID}) {
		t.Fatalf("enter: %#v", out)
	}
	s, out = screentest.Press(t, s, "s")
	if !strings.Contains(s.(screen.Informer).Info(), "sort: start time ▼") || len(out) < 2 {
		t.Errorf("s: %s %#v", s.(screen.Informer).Info(), out)
	}
	s, _ = screentest.Press(t, s, "S")
	v := ansi.Strip(s.View())
	if !strings.Contains(strings.Split(v, "\n")[1], "ev-0059") || !strings.Contains(v, "AGE ▲") {
		t.Errorf("S:\n%s", v)
	}
	s, _ = screentest.Press(t, s, "f")
	if !strings.Contains(s.(screen.Informer).Info(), "following") {
		t.Errorf("f: %s", s.(screen.Informer).Info())
	}
}

func TestFieldFilter(t *testing.T) {
	s := newScreen()
	s.SetSize(120, 30)
	s.(screen.Filterer).SetFilter("status:dead-lettered")
	s, _ = screentest.Load(t, s)
	v := ansi.Strip(s.View())
	if !strings.Contains(v, "ev-0005") || strings.Contains(v, "ev-0004") || strings.Contains(v, " ok ") {
		t.Errorf("status filter:\n%s", v)
	}
	s.(screen.Filterer).SetFilter("!status:ok")
	s, _ = screentest.Load(t, s)
	if v := ansi.Strip(s.View()); strings.Contains(v, " ok ") || !strings.Contains(v, "retrying") {
		t.Errorf("inverted status filter:\n%s", v)
	}
}

// TestCursorStaysOnItsEvent: when not following, new events push the
// selected one down and the cursor goes with it.
func TestCursorStaysOnItsEvent(t *testing.T) {
	feed := fake.NewFeed()
	s := screen.Screen(flows.New(screentest.Env(true), feed))
	s.SetSize(120, 10) // 9 rows
	s, _ = screentest.Load(t, s)
	s, _ = screentest.Press(t, s, "j", "j", "j", "j", "j", "j") // ev-0006, the 7th row
	for i := 0; i < 4; i++ {
		feed.Rows = append([]graph.FlowRow{{ID: fmt.Sprintf("new-%d", i)}}, feed.Rows...)
	}
	s, _ = screentest.Load(t, s)
	cur := ""
	for _, l := range strings.Split(s.View(), "\n") {
		if strings.Contains(l, "\x1b[7m") {
			cur = strings.Fields(ansi.Strip(l))[0]
		}
	}
	if cur != "ev-0006-aaaaaaaaaaaaaaaaaaaa" {
		t.Errorf("cursor on %q:\n%s", cur, ansi.Strip(s.View()))
	}
	if !strings.Contains(s.(screen.Informer).Info(), "new") {
		t.Errorf("no new count: %s", s.(screen.Informer).Info())
	}
}

// versioned is the fake feed with a graph version on its pages, counting
// the pages asked for.
type versioned struct {
	*fake.Feed
	version uint64
	calls   int
}

func (v *versioned) Flows(q graph.FlowQuery) graph.FlowPage {
	v.calls++
	p := v.Feed.Flows(q)
	p.Version = v.version
	return p
}

// TestStandingFieldFilterReadsOnce: a field-term filter scans once per
// graph version; a refresh with the version unchanged asks one probe.
func TestStandingFieldFilterReadsOnce(t *testing.T) {
	feed := &versioned{Feed: fake.NewFeed(), version: 7}
	s := screen.Screen(flows.New(screentest.Env(true), feed))
	s.SetSize(120, 30)
	s.(screen.Filterer).SetFilter("status:dead-lettered")
	s, _ = screentest.Load(t, s)
	first := ansi.Strip(s.View())
	feed.calls = 0
	for i := 0; i < 10; i++ {
		s, _ = screentest.Load(t, s)
	}
	if feed.calls != 10 || ansi.Strip(s.View()) != first {
		t.Fatalf("ten refreshes with the version unchanged asked %d pages", feed.calls)
	}
	feed.version++
	feed.calls = 0
	screentest.Load(t, s)
	if feed.calls < 2 {
		t.Fatalf("a new version did not scan again (%d pages)", feed.calls)
	}
}
