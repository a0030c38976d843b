// Package dlqs is the `:dlq` screen: the queues the DLQ collector found, DLQs
// first with their depth and sources, and the way into their messages.
package dlqs

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

// ID names the screen.
const ID screen.ID = "dlqs"

// MessagesID is the screen enter opens.
const MessagesID screen.ID = "dlq messages"

// Feed is the slice of the engine this screen reads.
type Feed interface {
	Queues() []graph.QueueStats
}

// Spec is the registry line.
func Spec(f Feed) screen.Spec {
	return screen.Spec{ID: ID, Words: []string{"dlq", "dlqs", "queues"}, New: func(env screen.Env, _ any) screen.Screen { return New(env, f) }}
}

// Keys are the screen's bindings.
type Keys struct {
	Open, Redrive key.Binding
	List          widget.ListKeys
}

// DefaultKeys returns the screen's bindings.
func DefaultKeys() Keys {
	return Keys{
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "messages")),
		Redrive: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "redrive all")),
		List:    widget.DefaultListKeys(),
	}
}

// Model is the DLQ list.
type Model struct {
	env    screen.Env
	feed   Feed
	keys   Keys
	tbl    widget.Table
	all    []graph.QueueStats
	shown  []graph.QueueStats
	filter string
	placed bool // some queue has a region: the REGION column shows
	w, h   int
}

// New returns the screen.
func New(env screen.Env, f Feed) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys()}
	m.keys.Redrive.SetEnabled(env.Actions)
	m.columns()
	return m
}

// columns builds the table: a REGION column when queues carry their place.
func (m *Model) columns() {
	cols := []widget.Column{
		{Title: "QUEUE", Priority: 0},
		{Title: "DEPTH", Priority: 1},
		{Title: "IN FLIGHT", Priority: 3},
		{Title: "OLDEST", Priority: 2},
	}
	if m.placed {
		cols = append(cols, widget.Column{Title: "REGION", Priority: 2})
	}
	cols = append(cols, widget.Column{Title: "SOURCES / DLQ", Priority: 4, Min: 10, Grow: true})
	m.tbl = widget.NewTable(m.env.St, cols)
	m.tbl.Empty = "no queues found yet (the dlq collector lists them)"
	if m.w > 0 {
		m.tbl.SetSize(m.w, m.h)
	}
}

// open is what enter opens for row i: the queue's name, or the queue in its
// place (a tracing.Component) when several accounts or regions are watched.
func (m *Model) open(i int) any {
	q := m.shown[i]
	if q.Account == "" && q.Region == "" {
		return q.Name
	}
	return tracing.Component{Kind: tracing.ComponentQueue, Name: q.Name, Account: q.Account, Region: q.Region}
}

// where says in which region (account/region when accounts differ) q lives.
func (m *Model) where(q graph.QueueStats) string {
	accounts := map[string]bool{}
	for _, x := range m.all {
		accounts[x.Account] = true
	}
	if len(accounts) > 1 {
		return q.Account + "/" + q.Region
	}
	return q.Region
}

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen.
func (m *Model) Title() string { return "dlqs" }

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) { m.w, m.h = w, h; m.tbl.SetSize(w, h) }

// Filter implements screen.Filterer.
func (m *Model) Filter() string { return m.filter }

// SetFilter implements screen.Filterer.
func (m *Model) SetFilter(q string) { m.filter = q; m.apply(); m.tbl.SetCursor(0) }

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	return screen.KeyMap{
		Short:  []key.Binding{m.keys.Open, m.keys.Redrive},
		Groups: [][]key.Binding{{m.keys.Open, m.keys.Redrive}, m.keys.List.Bindings()},
	}
}

type loaded []graph.QueueStats

// Refresh reads the queues.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	feed := m.feed
	return func() tea.Msg { return screen.Loaded{ID: ID, Seq: seq, Data: loaded(feed.Queues())} }
}

// Update implements screen.Screen.
func (m *Model) Update(msg tea.Msg) (screen.Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case screen.Loaded:
		if d, ok := msg.Data.(loaded); ok {
			var keep graph.QueueStats
			if i := m.tbl.Cursor(); i < len(m.shown) {
				keep = m.shown[i]
			}
			m.all = d
			placed := false
			for _, q := range d {
				placed = placed || q.Region != "" || q.Account != ""
			}
			if placed != m.placed {
				m.placed = placed
				m.columns()
			}
			m.apply()
			for i, q := range m.shown {
				if q.Name == keep.Name && q.Region == keep.Region && q.Account == keep.Account {
					m.tbl.SetCursor(i)
				}
			}
		}
		return m, nil
	case tea.KeyPressMsg:
		i := m.tbl.Cursor()
		switch {
		case key.Matches(msg, m.keys.Open):
			if i < len(m.shown) {
				return m, screen.Cmd(screen.Open{To: MessagesID, Arg: m.open(i)})
			}
			return m, nil
		case key.Matches(msg, m.keys.Redrive) && m.keys.Redrive.Enabled():
			if i < len(m.shown) {
				q := m.shown[i]
				return m, screen.Cmd(screen.Ask{Action: screen.Action{Kind: screen.ActionRedriveAll, Queue: q.Name, Account: q.Account, Region: q.Region}})
			}
			return m, nil
		}
	}
	m.tbl.Update(msg)
	return m, nil
}

func (m *Model) apply() {
	q := widget.ParseQuery(m.filter)
	m.shown = m.shown[:0:0]
	for _, x := range m.all {
		kind := "queue"
		if x.IsDLQ {
			kind = "dlq"
		}
		if q.Match(x.Name+" "+x.Region, func(k string) string {
			switch k {
			case "kind", "type":
				return kind
			case "region":
				return x.Region
			case "account":
				return x.Account
			case "queue":
				return x.Name
			case "source":
				return strings.Join(x.Sources, " ")
			}
			return ""
		}) {
			m.shown = append(m.shown, x)
		}
	}
	m.tbl.SetRows(len(m.shown), m.cells)
	if m.filter != "" {
		m.tbl.Empty = "no queue matches " + widget.Clean(m.filter)
	} else {
		m.tbl.Empty = "no queues found yet (the dlq collector lists them)"
	}
}

func (m *Model) cells(i int) []string {
	q, st := m.shown[i], m.env.St
	name := widget.Clean(q.Name)
	rel := ""
	if q.IsDLQ {
		name = st.Bad.Render("☠ ") + name
		if len(q.Sources) > 0 {
			rel = "← " + widget.Clean(strings.Join(q.Sources, ", "))
		} else {
			// Named by a Lambda destination or a rule target, not by a
			// queue's redrive policy: an arrow to nothing told nothing.
			rel = "no source queue known"
		}
	} else if q.DeadLetterQueue != "" {
		rel = fmt.Sprintf("→ %s after %d receives", widget.Clean(q.DeadLetterQueue), q.MaxReceiveCount)
	}
	depth := fmt.Sprint(q.Depth)
	if q.IsDLQ && q.Depth > 0 {
		depth = st.Bad.Render(depth)
	}
	oldest := "-"
	if q.OldestAge > 0 {
		oldest = widget.Dur(q.OldestAge)
	}
	if m.placed {
		return []string{name, depth, fmt.Sprint(q.InFlight), oldest, widget.Clean(m.where(q)), rel}
	}
	return []string{name, depth, fmt.Sprint(q.InFlight), oldest, rel}
}

// View implements screen.Screen.
func (m *Model) View() string { return m.tbl.View() }
