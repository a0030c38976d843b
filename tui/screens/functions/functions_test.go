package functions_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/functions"
)

func TestGoldens(t *testing.T) {
	screentest.Goldens(t, "functions", func() screen.Screen { return functions.New(screentest.Env(true), fake.NewFeed()) })
	screentest.Goldens(t, "functions-many", func() screen.Screen { return functions.New(screentest.Env(true), fake.NewFeed().Many()) }, "G")
}

func TestSortFilterAndCursorKeepsItsFunction(t *testing.T) {
	feed := fake.NewFeed().Many()
	s := functions.New(screentest.Env(true), feed)
	s.SetSize(120, 20)
	sc, _ := screentest.Load(t, sc0(s))
	sc, _ = screentest.Press(t, sc, "j", "j")
	row := func() string {
		for _, l := range strings.Split(sc.View(), "\n") {
			if strings.Contains(l, "\x1b[7m") {
				return strings.Fields(ansi.Strip(l))[0]
			}
		}
		return ""
	}
	was := row()
	// A function gets more expensive and moves up: the cursor follows it.
	feed.Fns[2+1].CostUSD = 1
	sc, _ = screentest.Load(t, sc)
	if got := row(); got != was {
		t.Errorf("cursor moved from %s to %s", was, got)
	}
	sc, out := screentest.Press(t, sc, "s")
	if len(out) != 1 || !strings.Contains(ansi.Strip(sc.View()), "P95 ▼") {
		t.Errorf("s: %#v", out)
	}
	sc.(screen.Filterer).SetFilter("fn:charge")
	if v := ansi.Strip(sc.View()); !strings.Contains(v, "charge-card") || strings.Contains(v, "fn-001") {
		t.Errorf("filter:\n%s", v)
	}
	sc.(screen.Filterer).SetFilter("status:failed")
	if v := ansi.Strip(sc.View()); !strings.Contains(v, "charge-card") || strings.Contains(v, "send-email") {
		t.Errorf("status filter:\n%s", v)
	}
}

func sc0(s *functions.Model) screen.Screen { return s }
