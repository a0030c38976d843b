package mapview_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/mapview"
)

func TestGoldens(t *testing.T) {
	screentest.Goldens(t, "map", func() screen.Screen { return mapview.New(screentest.Env(true), fake.NewFeed()) })
}

func TestFilter(t *testing.T) {
	s := screen.Screen(mapview.New(screentest.Env(true), fake.NewFeed()))
	s.SetSize(120, 20)
	s, _ = screentest.Load(t, s)
	s.(screen.Filterer).SetFilter("kind:edge")
	if v := ansi.Strip(s.View()); strings.Count(v, "\n") < 1 || !strings.Contains(v, "→") || strings.Contains(v, "function  ") {
		t.Errorf("kind:edge:\n%s", v)
	}
	s.(screen.Filterer).SetFilter("status:failed")
	if v := ansi.Strip(s.View()); strings.Contains(v, "queue/billing-queue  ") {
		t.Errorf("status:failed:\n%s", v)
	}
}
