package functions_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
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

// twoRegions is the feed when us-east-1 and eu-west-1 are watched: each
// function is a row per region it runs in, charge-card in both with its own
// memory, invocations and errors.
type twoRegions struct{ fns []graph.FunctionStats }

func (f *twoRegions) Functions() []graph.FunctionStats {
	return append([]graph.FunctionStats(nil), f.fns...)
}

func newTwoRegions() *twoRegions {
	const acct = "123456789012"
	base := fake.NewFeed().Fns
	us, eu := base[0], base[0]
	us.Account, us.Region = acct, "us-east-1"
	eu.Account, eu.Region = acct, "eu-west-1"
	eu.MemoryMB, eu.Invocations, eu.Errors, eu.Timeouts, eu.ColdStarts = 1024, 40, 12, 0, 1
	eu.MaxMemoryUsedMB, eu.CostUSD, eu.CostPerMonthUSD = 640, 0.00031, 4.71
	mail := base[1]
	mail.Account, mail.Region = acct, "us-east-1"
	return &twoRegions{fns: []graph.FunctionStats{eu, us, mail}}
}

func TestGoldensTwoRegions(t *testing.T) {
	screentest.Goldens(t, "functions-regions", func() screen.Screen { return functions.New(screentest.Env(true), newTwoRegions()) })
}

// Two regions: a row per place, each with its figures; enter opens the
// detail of the row's place; a region's name filters.
func TestTwoRegionsRowsAndEnter(t *testing.T) {
	s := functions.New(screentest.Env(true), newTwoRegions())
	s.SetSize(160, 20)
	sc, _ := screentest.Load(t, s)
	v := ansi.Strip(sc.View())
	if !strings.Contains(v, "REGION") {
		t.Fatalf("no REGION column:\n%s", v)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(v, "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[0] == "charge-card" {
			rows[f[len(f)-1]] = strings.Join(f[1:5], " ")
		}
	}
	// Sorted by cost: us-east-1's charge-card, then eu-west-1's.
	if rows["us-east-1"] != "arm64 512MB 120 9" || rows["eu-west-1"] != "arm64 1024MB 40 12" {
		t.Errorf("charge-card rows %q in\n%s", rows, v)
	}
	_, out := screentest.Press(t, sc, "j", "enter")
	want := screen.Open{To: "function", Arg: tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card", Account: "123456789012", Region: "eu-west-1"}}
	if len(out) != 1 || out[0] != want {
		t.Errorf("enter on eu-west-1's charge-card: %#v", out)
	}
	sc.(screen.Filterer).SetFilter("eu-west-1")
	if v := ansi.Strip(sc.View()); strings.Count(v, "charge-card") != 1 || strings.Contains(v, "send-email") {
		t.Errorf("eu-west-1 kept:\n%s", v)
	}
	// The field term says the same, and keeps a name that merely mentions
	// the region out.
	sc.(screen.Filterer).SetFilter("region:us-east charge")
	if v := ansi.Strip(sc.View()); strings.Count(v, "charge-card") != 1 || !strings.Contains(v, "us-east-1") || strings.Contains(v, "eu-west-1") {
		t.Errorf("region:us-east charge kept:\n%s", v)
	}
}
