package ctx_test

import (
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/ctx"
)

// feed is two regions of one account, the second denied.
type feed struct {
	mu       sync.Mutex
	narrowed string
	calls    []string
}

func (f *feed) Contexts() []ctx.Context {
	return []ctx.Context{
		{Name: "prod/us-east-1", Account: "111122223333", Region: "us-east-1", State: ctx.StateOK, Sources: 5, Items: 12840},
		{
			Name: "prod/eu-west-1", Account: "111122223333", Region: "eu-west-1", State: ctx.StateFailing, Reason: "AccessDenied", Sources: 5, Failing: 5,
			Detail: "lambda: access denied (needs lambda:ListFunctions)",
		},
		{
			Name: "staging/eu-central-1", Account: "444455556666", Region: "eu-central-1", State: ctx.StateDegraded, Reason: "throttled", Sources: 5, Failing: 1, Items: 310,
			Detail: "xray: throttled by AWS on xray:GetTraceSummaries; backing off",
		},
	}
}

func (f *feed) Narrow(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	for _, c := range f.Contexts() {
		if c.Name == name || name == "" {
			f.narrowed = name
			return true
		}
	}
	return false
}

func (f *feed) Narrowed() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.narrowed
}

func TestGoldens(t *testing.T) {
	screentest.Goldens(t, "ctx", func() screen.Screen { return ctx.New(screentest.Env(true), &feed{}) })
	screentest.Goldens(t, "ctx-one", func() screen.Screen { return ctx.New(screentest.Env(true), nil) })
}

// enter on a context narrows the views to it; enter on "all" widens them.
func TestNarrowKeys(t *testing.T) {
	f := &feed{}
	s := screen.Screen(ctx.New(screentest.Env(true), f))
	s.SetSize(120, 20)
	s, _ = screentest.Load(t, s)
	s, out := screentest.Press(t, s, "j", "j", "enter")
	if f.Narrowed() != "prod/eu-west-1" {
		t.Fatalf("j j enter narrowed to %q", f.Narrowed())
	}
	if !hasReload(out) {
		t.Errorf("narrowing did not ask the views to reload: %#v", out)
	}
	if got := s.(screen.Informer).Info(); got != "views narrowed to prod/eu-west-1" {
		t.Errorf("info = %q", got)
	}
	s, _ = screentest.Press(t, s, "g", "enter")
	if f.Narrowed() != "" {
		t.Errorf("enter on all left the views narrowed to %q", f.Narrowed())
	}
	// A filter keeps the matching contexts only.
	s.(screen.Filterer).SetFilter("central")
	screentest.Press(t, s, "enter")
	if f.Narrowed() != "staging/eu-central-1" {
		t.Errorf("filtered enter narrowed to %q", f.Narrowed())
	}
	s.(screen.Filterer).SetFilter("status:failing")
	screentest.Press(t, s, "enter")
	if f.Narrowed() != "prod/eu-west-1" {
		t.Errorf("status:failing enter narrowed to %q", f.Narrowed())
	}
}

// `:ctx all` and `:ctx <name>` narrow or widen as soon as the screen loads.
func TestArgument(t *testing.T) {
	f := &feed{narrowed: "prod/us-east-1"}
	spec := ctx.Spec(f)
	s := spec.New(screentest.Env(true), "all")
	s.SetSize(80, 19)
	screentest.Load(t, s)
	if f.Narrowed() != "" {
		t.Errorf(":ctx all left %q", f.Narrowed())
	}
	s = spec.New(screentest.Env(true), "prod/eu-west-1")
	s.SetSize(80, 19)
	screentest.Load(t, s)
	if f.Narrowed() != "prod/eu-west-1" {
		t.Errorf(":ctx prod/eu-west-1 narrowed to %q", f.Narrowed())
	}
	s = spec.New(screentest.Env(true), "nope")
	s.SetSize(80, 19)
	_, out := screentest.Load(t, s)
	if len(out) != 1 || out[0].(screen.Flash).Level != screen.LevelError {
		t.Errorf(":ctx nope: %#v", out)
	}
	// Without contexts, enter does nothing and the screen says why.
	one := ctx.Spec(struct{}{}).New(screentest.Env(true), nil)
	one.SetSize(80, 19)
	one, _ = screentest.Load(t, one)
	if _, out := screentest.Press(t, one, "enter"); len(out) != 1 || out[0].(screen.Flash).Level != screen.LevelWarn {
		t.Errorf("enter with one context: %#v", out)
	}
}

func hasReload(out []tea.Msg) bool {
	for _, m := range out {
		if _, ok := m.(screen.Reload); ok {
			return true
		}
	}
	return false
}
