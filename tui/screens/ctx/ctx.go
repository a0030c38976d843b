// Package ctx is the `:ctx` screen, as in k9s: the accounts and regions
// flowtop watches, each with its health, and the way to narrow every view to
// one of them (enter) or widen them again (`:ctx all`, or enter on "all").
package ctx

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

// ID names the screen.
const ID screen.ID = "ctx"

// State is a context's condition.
type State uint8

// Context states.
const (
	StateStarting State = iota // no source has answered yet
	StateOK                    // every source answers
	StateDegraded              // some sources fail, the others answer
	StateFailing               // every source fails
)

// Context is one watched account and region, as the header and this screen
// show it.
type Context struct {
	Name, Account, Region string
	State                 State
	Reason                string // the failure in a word: "AccessDenied"
	Detail                string // the first failing source's message
	Sources, Failing      int    // sources running, and how many fail
	Items                 uint64 // observations read
}

// Feed is what this screen reads and asks: the contexts with their health,
// and narrowing. A console watching one context has no such feed.
type Feed interface {
	Contexts() []Context
	// Narrow makes every view show only the context named (false if there
	// is none); "" shows them all again.
	Narrow(name string) bool
	Narrowed() string // the context the views show, "" for all
}

// All is the `:ctx` argument and the row that widen the views again.
const All = "all"

// Spec is the registry line. f is the console's feed; when it cannot list
// contexts the screen says that one account and region is watched.
func Spec(f any) screen.Spec {
	cf, _ := f.(Feed)
	return screen.Spec{
		ID: ID, Words: []string{"ctx", "context", "contexts"},
		New: func(env screen.Env, arg any) screen.Screen {
			m := New(env, cf)
			if s, ok := arg.(string); ok {
				m.arg = strings.TrimSpace(s)
			}
			return m
		},
		// `:ctx all` and `:ctx <name>` narrow in place: the screen the user
		// is on reloads narrowed, and no context list is stacked.
		Do: func(env screen.Env, arg any) tea.Cmd {
			s, _ := arg.(string)
			if s = strings.TrimSpace(s); s == "" {
				return nil
			}
			return New(env, cf).narrow(s)
		},
	}
}

// Keys are the screen's bindings.
type Keys struct {
	Narrow key.Binding
	List   widget.ListKeys
}

// DefaultKeys returns the screen's bindings.
func DefaultKeys() Keys {
	return Keys{
		Narrow: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "narrow to it")),
		List:   widget.DefaultListKeys(),
	}
}

// Model is the context list.
type Model struct {
	env      screen.Env
	feed     Feed
	keys     Keys
	tbl      widget.Table
	all      []Context
	shown    []Context // "all" first, then the contexts the filter keeps
	narrowed string
	filter   string
	arg      string // `:ctx <arg>`: narrow (or widen) once loaded
}

// oneContext says why there is nothing to narrow.
const oneContext = "one account and region watched: name more with --profile a,b, --region x,y or contexts: in the config file"

// New returns the screen; f may be nil (one context watched).
func New(env screen.Env, f Feed) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys()}
	m.tbl = widget.NewTable(env.St, []widget.Column{
		{Title: "", Priority: 0},
		{Title: "CONTEXT", Priority: 0},
		{Title: "ACCOUNT", Priority: 2},
		{Title: "REGION", Priority: 1},
		{Title: "HEALTH", Priority: 0},
		{Title: "SOURCES", Priority: 3},
		{Title: "READ", Priority: 4},
		{Title: "WHY", Priority: 5, Min: 12, Grow: true},
	})
	m.setEmpty()
	return m
}

func (m *Model) setEmpty() {
	switch {
	case m.filter != "":
		m.tbl.Empty = "no context matches " + widget.Clean(m.filter)
	default:
		m.tbl.Empty = "no contexts yet"
	}
}

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen.
func (m *Model) Title() string { return "contexts" }

// Info names the context the views are narrowed to.
func (m *Model) Info() string {
	if m.narrowed == "" {
		return ""
	}
	return "views narrowed to " + widget.Clean(m.narrowed)
}

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) { m.tbl.SetSize(w, h) }

// Filter implements screen.Filterer.
func (m *Model) Filter() string { return m.filter }

// SetFilter implements screen.Filterer.
func (m *Model) SetFilter(q string) { m.filter = q; m.apply(); m.tbl.SetCursor(0) }

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	return screen.KeyMap{
		Short:  []key.Binding{m.keys.Narrow},
		Groups: [][]key.Binding{{m.keys.Narrow}, m.keys.List.Bindings()},
	}
}

type loaded struct {
	all      []Context
	narrowed string
}

// Refresh reads the contexts.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	feed := m.feed
	if feed == nil {
		return func() tea.Msg { return screen.Loaded{ID: ID, Seq: seq, Data: loaded{}} }
	}
	return func() tea.Msg {
		return screen.Loaded{ID: ID, Seq: seq, Data: loaded{all: feed.Contexts(), narrowed: feed.Narrowed()}}
	}
}

// narrow asks the feed to narrow the views, in a command.
func (m *Model) narrow(name string) tea.Cmd {
	feed := m.feed
	if feed == nil {
		return screen.Say(screen.LevelWarn, oneContext)
	}
	if name == All {
		name = ""
	}
	// The root knows only its own messages: the answer is a flash and a
	// reload, which reads the narrowing back with the contexts.
	return func() tea.Msg {
		switch {
		case !feed.Narrow(name):
			return screen.Flash{Level: screen.LevelError, Text: fmt.Sprintf("no context %q: :ctx lists them", widget.Clean(name))}
		case name == "":
			return tea.BatchMsg{screen.Say(screen.LevelOK, "showing every context"), screen.Cmd(screen.Reload{})}
		}
		return tea.BatchMsg{screen.Say(screen.LevelOK, "views narrowed to "+widget.Clean(name)+" (:ctx all widens them)"), screen.Cmd(screen.Reload{})}
	}
}

// Update implements screen.Screen.
func (m *Model) Update(msg tea.Msg) (screen.Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case screen.Loaded:
		d, ok := msg.Data.(loaded)
		if !ok {
			return m, nil
		}
		keep := ""
		if i := m.tbl.Cursor(); i < len(m.shown) {
			keep = m.shown[i].Name
		}
		m.all, m.narrowed = d.all, d.narrowed
		m.apply()
		for i, c := range m.shown {
			if c.Name == keep {
				m.tbl.SetCursor(i)
			}
		}
		if m.arg != "" {
			arg := m.arg
			m.arg = ""
			return m, m.narrow(arg)
		}
		return m, nil
	case tea.KeyPressMsg:
		if key.Matches(msg, m.keys.Narrow) {
			i := m.tbl.Cursor()
			if i >= len(m.shown) {
				return m, nil
			}
			return m, m.narrow(m.shown[i].Name)
		}
	}
	m.tbl.Update(msg)
	return m, nil
}

func (m *Model) apply() {
	q := widget.ParseQuery(m.filter)
	m.shown = m.shown[:0:0]
	if (len(m.all) > 0 || m.feed == nil) && m.filter == "" {
		m.shown = append(m.shown, Context{Name: All})
	}
	for _, c := range m.all {
		if q.Match(c.Name+" "+c.Account+" "+c.Region, func(k string) string {
			if k == "status" { // status:failing
				return stateName(c.State)
			}
			return ""
		}) {
			m.shown = append(m.shown, c)
		}
	}
	m.setEmpty()
	m.tbl.SetRows(len(m.shown), m.cells)
}

func stateName(s State) string {
	switch s {
	case StateOK:
		return "ok"
	case StateDegraded:
		return "degraded"
	case StateFailing:
		return "failing"
	}
	return "starting"
}

// Mark is a context's health as one symbol and word, as the header shows it.
func Mark(st widget.Styles, c Context) string {
	switch c.State {
	case StateOK:
		return st.OK.Render("✓")
	case StateDegraded:
		return st.Warn.Render("◐ " + widget.Clean(c.Reason))
	case StateFailing:
		return st.Bad.Render("✗ " + widget.Clean(c.Reason))
	}
	return st.Dim.Render("○")
}

func (m *Model) cells(i int) []string {
	c, st := m.shown[i], m.env.St
	cur := " "
	if c.Name == m.narrowed || (c.Name == All && m.narrowed == "") {
		cur = st.Key.Render("*")
	}
	if c.Name == All {
		why := "every context at once"
		if m.feed == nil {
			why = oneContext
		}
		return []string{cur, st.Bold.Render(All), "", "", "", "", "", st.Dim.Render(why)}
	}
	health := stateName(c.State)
	switch c.State {
	case StateOK:
		health = st.OK.Render("✓ ok")
	case StateDegraded:
		health = st.Warn.Render("◐ " + health)
	case StateFailing:
		health = st.Bad.Render("✗ " + health)
	}
	srcs := fmt.Sprint(c.Sources)
	if c.Failing > 0 {
		srcs = fmt.Sprintf("%d/%d fail", c.Failing, c.Sources)
	}
	why := widget.Clean(c.Reason)
	if c.Detail != "" {
		why += ": " + widget.Clean(c.Detail)
	}
	return []string{cur, widget.Clean(c.Name), widget.Clean(c.Account), widget.Clean(c.Region), health, srcs, widget.Thousands(c.Items), why}
}

// View implements screen.Screen.
func (m *Model) View() string { return m.tbl.View() }
