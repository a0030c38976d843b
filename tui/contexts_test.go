package tui

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/golden"
	ctxscreen "github.com/flowtop/flowtop/tui/screens/ctx"
	"github.com/flowtop/flowtop/tui/screens/flows"
)

// ctxFeed watches two regions of one account; eu-west-1 is denied. Events
// with an even number are us-east-1's, odd ones eu-west-1's.
type ctxFeed struct {
	*fake.Feed
	mu       sync.Mutex
	narrowed string
	bumps    uint64
}

var _ ctxscreen.Feed = (*ctxFeed)(nil)

func (f *ctxFeed) Contexts() []ctxscreen.Context {
	return []ctxscreen.Context{
		{Name: "prod/us-east-1", Account: "111122223333", Region: "us-east-1", State: ctxscreen.StateOK, Sources: 5, Items: 1200},
		{Name: "prod/eu-west-1", Account: "111122223333", Region: "eu-west-1", State: ctxscreen.StateFailing, Reason: "AccessDenied", Sources: 5, Failing: 5},
	}
}

func (f *ctxFeed) Narrow(name string) bool {
	if name != "" && name != "prod/us-east-1" && name != "prod/eu-west-1" {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.narrowed = name
	f.bumps++
	return true
}

func (f *ctxFeed) Narrowed() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.narrowed
}

func (f *ctxFeed) Version() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Feed.Version() + f.bumps
}

func (f *ctxFeed) Where(id string) string {
	var n int
	_, _ = fmt.Sscanf(id, "ev-%04d", &n)
	if n%2 == 0 {
		return "us-east-1"
	}
	return "eu-west-1"
}

// charge-card runs in both regions, the others in us-east-1 only.
func (f *ctxFeed) WhereFunction(name string) string {
	if name == "charge-card" {
		return "us-east-1, eu-west-1"
	}
	return "us-east-1"
}

func (f *ctxFeed) Flows(q graph.FlowQuery) graph.FlowPage {
	narrowed := f.Narrowed()
	if narrowed == "" {
		return f.Feed.Flows(q)
	}
	all := q
	all.Offset, all.Limit = 0, 0
	var rows []graph.FlowRow
	for _, r := range f.Feed.Flows(all).Rows {
		if strings.HasSuffix(narrowed, "/"+f.Where(r.ID)) {
			rows = append(rows, r)
		}
	}
	p := graph.FlowPage{Matched: len(rows)}
	rows = rows[min(q.Offset, len(rows)):]
	if q.Limit > 0 && len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	p.Rows = rows
	return p
}

// A context's own sources are named "source@context": the header lists
// contexts instead, and the sources that belong to none.
func (f *ctxFeed) Health() []tracing.SourceHealth {
	return []tracing.SourceHealth{
		{Source: "cwlogs@prod/us-east-1", State: tracing.SourceStateOK},
		{Source: "cwlogs@prod/eu-west-1", State: tracing.SourceStateFailed, LastError: "denied"},
		{Source: "otlp", State: tracing.SourceStateOK, Mode: "listening 127.0.0.1:4318"},
	}
}

func TestContextsGoldens(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"contexts-flows", nil},
		{"contexts-ctx", []string{":", "c", "t", "x", "enter"}},
		{"contexts-narrowed", []string{":", "c", "t", "x", "enter", "j", "j", "enter", "esc"}},
		{"contexts-functions", []string{":", "f", "n", "enter"}},
	} {
		for _, size := range golden.Sizes {
			m := press(t, newModel(t, size[0], size[1], Options{Feed: &ctxFeed{Feed: fake.NewFeed()}}), tc.keys...)
			got := screenText(m)
			if lines := strings.Count(got, "\n") + 1; lines != size[1] {
				t.Errorf("%s %dx%d: %d lines", tc.name, size[0], size[1], lines)
			}
			golden.Fits(t, tc.name, got, size[0], size[1])
			golden.Equal(t, fmt.Sprintf("%s-%dx%d", tc.name, size[0], size[1]), got)
		}
	}
}

// :ctx lists the contexts, enter narrows every view to one, :ctx all widens
// them again; the header says which context failed and why throughout.
func TestContextKeys(t *testing.T) {
	f := &ctxFeed{Feed: fake.NewFeed()}
	m := newModel(t, 120, 30, Options{Feed: f})
	header := strings.Split(screenText(m), "\n")[1]
	if !strings.Contains(header, "ctx 2: prod/us-east-1 ✓ prod/eu-west-1 ✗ AccessDenied") {
		t.Errorf("header: %q", header)
	}
	if strings.Contains(header, "cwlogs") || !strings.Contains(header, "otlp") {
		t.Errorf("header lists contexts' own sources, or lost the others: %q", header)
	}
	if b := body(m); !strings.Contains(b, "REGION") || !strings.Contains(b, "eu-west-1") || !strings.Contains(b, "us-east-1") {
		t.Fatalf("flows without regions:\n%s", b)
	}
	m = press(t, m, ":", "f", "n", "enter")
	if b := body(m); !strings.Contains(b, "REGION") || !strings.Contains(b, "us-east-1, eu-west-1") {
		t.Errorf("functions without regions:\n%s", b)
	}
	m = press(t, m, ":", "c", "t", "x", "enter")
	if top(m).ID() != ctxscreen.ID || !strings.Contains(body(m), "AccessDenied") {
		t.Fatalf(":ctx opened %v:\n%s", top(m).ID(), body(m))
	}
	m = press(t, m, "j", "j", "enter")
	if f.Narrowed() != "prod/eu-west-1" {
		t.Fatalf("enter narrowed to %q", f.Narrowed())
	}
	if !strings.Contains(footerLine(m), "views narrowed to prod/eu-west-1") {
		t.Errorf("footer: %q", footerLine(m))
	}
	m = press(t, m, ":", "f", "l", "o", "w", "s", "enter")
	if top(m).ID() != flows.ID {
		t.Fatalf(":flows: %v", top(m).ID())
	}
	b := body(m)
	if strings.Contains(b, "us-east-1") || !strings.Contains(b, "eu-west-1") {
		t.Errorf("narrowed flows still show us-east-1:\n%s", b)
	}
	if h := strings.Split(screenText(m), "\n")[1]; !strings.Contains(h, "[prod/eu-west-1]") {
		t.Errorf("header does not mark the narrowed context: %q", h)
	}
	m = press(t, m, ":", "c", "t", "x", " ", "a", "l", "l", "enter")
	if f.Narrowed() != "" {
		t.Fatalf(":ctx all left %q", f.Narrowed())
	}
	m = press(t, m, ":", "f", "l", "o", "w", "s", "enter")
	if b := body(m); !strings.Contains(b, "us-east-1") || !strings.Contains(b, "eu-west-1") {
		t.Errorf(":ctx all did not widen the flows:\n%s", b)
	}
}

// One context: no ctx line, no REGION column, the sources as today.
func TestOneContextHeaderUnchanged(t *testing.T) {
	m := newModel(t, 120, 30, Options{})
	if s := screenText(m); strings.Contains(s, "ctx ") || strings.Contains(s, "REGION") {
		t.Errorf("one context shows contexts:\n%s", s)
	}
	m = press(t, m, ":", "c", "t", "x", "enter")
	if m = press(t, m, "enter"); !strings.Contains(body(m), "one account and region watched") || !strings.Contains(footerLine(m), "one account and region watched") {
		t.Errorf(":ctx with one context:\n%s", body(m))
	}
}

// :ctx <name> and :ctx all narrow and widen in place, as k9s switches: the
// screen the user is on stays on top, reloaded, and no context list is
// stacked however often they switch.
func TestCtxArgumentNarrowsInPlace(t *testing.T) {
	f := &ctxFeed{Feed: fake.NewFeed()}
	m := newModel(t, 120, 30, Options{Feed: f})
	depth := len(m.stack)
	typeLine := func(line string) {
		t.Helper()
		keys := []string{":"}
		for _, r := range line {
			keys = append(keys, string(r))
		}
		m = press(t, m, append(keys, "enter")...)
	}
	for range 3 {
		typeLine("ctx prod/eu-west-1")
		if f.Narrowed() != "prod/eu-west-1" {
			t.Fatalf(":ctx prod/eu-west-1 narrowed to %q", f.Narrowed())
		}
		if b := body(m); top(m).ID() != flows.ID || strings.Contains(b, "us-east-1") {
			t.Fatalf(":ctx prod/eu-west-1 left %s on top:\n%s", top(m).ID(), b)
		}
		typeLine("ctx all")
		if f.Narrowed() != "" || top(m).ID() != flows.ID {
			t.Fatalf(":ctx all: narrowed %q, %s on top", f.Narrowed(), top(m).ID())
		}
	}
	if len(m.stack) != depth {
		t.Errorf("the stack grew from %d to %d screens", depth, len(m.stack))
	}
	if b := body(m); !strings.Contains(b, "us-east-1") || !strings.Contains(b, "eu-west-1") {
		t.Errorf(":ctx all did not widen the flows in place:\n%s", b)
	}
}
