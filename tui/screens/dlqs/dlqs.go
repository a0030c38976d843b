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
}

// New returns the screen.
func New(env screen.Env, f Feed) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys()}
	m.keys.Redrive.SetEnabled(env.Actions)
	m.tbl = widget.NewTable(env.St, []widget.Column{
		{Title: "QUEUE", Priority: 0},
		{Title: "DEPTH", Priority: 1},
		{Title: "IN FLIGHT", Priority: 3},
		{Title: "OLDEST", Priority: 2},
		{Title: "SOURCES / DLQ", Priority: 4, Min: 10, Grow: true},
	})
	m.tbl.Empty = "no queues found yet (the dlq collector lists them)"
	return m
}

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen.
func (m *Model) Title() string { return "dlqs" }

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) { m.tbl.SetSize(w, h) }

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
			keep := ""
			if i := m.tbl.Cursor(); i < len(m.shown) {
				keep = m.shown[i].Name
			}
			m.all = d
			m.apply()
			for i, q := range m.shown {
				if q.Name == keep {
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
				return m, screen.Cmd(screen.Open{To: MessagesID, Arg: m.shown[i].Name})
			}
			return m, nil
		case key.Matches(msg, m.keys.Redrive) && m.keys.Redrive.Enabled():
			if i < len(m.shown) {
				return m, screen.Cmd(screen.Ask{Action: screen.Action{Kind: screen.ActionRedriveAll, Queue: m.shown[i].Name}})
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
		if q.Match(x.Name, func(k string) string {
			switch k {
			case "kind", "type":
				return kind
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
	return []string{name, depth, fmt.Sprint(q.InFlight), oldest, rel}
}

// View implements screen.Screen.
func (m *Model) View() string { return m.tbl.View() }
