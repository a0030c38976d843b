// Package mapview is the `:map` screen: the component map as a table of
// edges and components with their rate, error share and p95.
package mapview

import (
	"fmt"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

// ID names the screen.
const ID screen.ID = "map"

// Feed is the slice of the engine this screen reads.
type Feed interface {
	Map() graph.MapView
}

// Spec is the registry line.
func Spec(f Feed) screen.Spec {
	return screen.Spec{ID: ID, Words: []string{"map"}, New: func(env screen.Env, _ any) screen.Screen { return New(env, f) }}
}

// Model is the screen.
type Model struct {
	env    screen.Env
	feed   Feed
	keys   widget.ListKeys
	tbl    widget.Table
	rows   []row
	shown  []row
	filter string
}

type row struct {
	name, kind string
	rate, errs float64
	p95        string
}

// New returns the screen.
func New(env screen.Env, f Feed) *Model {
	m := &Model{env: env, feed: f, keys: widget.DefaultListKeys()}
	m.tbl = widget.NewTable(env.St, []widget.Column{
		{Title: "EDGE / COMPONENT", Priority: 0},
		{Title: "KIND", Priority: 3},
		{Title: "RATE", Priority: 1},
		{Title: "ERRORS", Priority: 1},
		{Title: "P95", Priority: 2, Grow: true},
	})
	m.tbl.Empty = "no component seen yet"
	return m
}

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen.
func (m *Model) Title() string { return "map" }

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) { m.tbl.SetSize(w, h) }

// Filter implements screen.Filterer.
func (m *Model) Filter() string { return m.filter }

// SetFilter implements screen.Filterer.
func (m *Model) SetFilter(q string) { m.filter = q; m.apply(); m.tbl.SetCursor(0) }

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	return screen.KeyMap{Groups: [][]key.Binding{m.keys.Bindings()}}
}

type loaded graph.MapView

// Refresh reads the map.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	feed := m.feed
	return func() tea.Msg { return screen.Loaded{ID: ID, Seq: seq, Data: loaded(feed.Map())} }
}

// Update implements screen.Screen.
func (m *Model) Update(msg tea.Msg) (screen.Screen, tea.Cmd) {
	if l, ok := msg.(screen.Loaded); ok {
		if d, ok := l.Data.(loaded); ok {
			m.rows = m.rows[:0:0]
			for _, e := range d.Edges {
				m.rows = append(m.rows, row{name: e.From.String() + " → " + e.To.String(), kind: "edge", rate: e.Rate, errs: e.ErrorPct, p95: widget.Dur(e.P95)})
			}
			for _, n := range d.Nodes {
				m.rows = append(m.rows, row{name: n.Component.String(), kind: n.Component.Kind.String(), rate: n.Rate, errs: n.ErrorPct, p95: widget.Dur(n.P95)})
			}
			m.apply()
		}
		return m, nil
	}
	m.tbl.Update(msg)
	return m, nil
}

func (m *Model) apply() {
	q := widget.ParseQuery(m.filter)
	m.shown = m.shown[:0:0]
	for _, r := range m.rows {
		if q.Match(r.name, func(k string) string {
			switch k {
			case "kind", "type":
				return r.kind
			case "status":
				if r.errs > 0 {
					return "failed errors"
				}
				return "ok"
			}
			return ""
		}) {
			m.shown = append(m.shown, r)
		}
	}
	m.tbl.SetRows(len(m.shown), m.cells)
	if m.filter != "" {
		m.tbl.Empty = "nothing on the map matches " + widget.Clean(m.filter)
	}
}

func (m *Model) cells(i int) []string {
	r := m.shown[i]
	errs := fmt.Sprintf("%.1f%%", r.errs)
	if r.errs > 5 {
		errs = m.env.St.Bad.Render(errs)
	}
	return []string{widget.Clean(r.name), r.kind, fmt.Sprintf("%.2f/s", r.rate), errs, r.p95}
}

// View implements screen.Screen.
func (m *Model) View() string { return m.tbl.View() }
