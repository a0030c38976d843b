// Package mapview is the `:map` screen: the components drawn as boxes and
// the edges between them as arrows, in layers left to right (producers →
// buses → topics → queues → consumers → DLQs), each with its rate, error
// share and p95 and coloured by health. A cursor moves between the boxes and
// enter opens the function or queue; `:map <event-id>` draws that event's
// path in double lines. When the terminal is too small for the drawing, and
// on `t`, the map is the table of edges and components it was before.
package mapview

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
const ID screen.ID = "map"

// The screens enter opens.
const (
	FunctionsID screen.ID = "functions"    // a function: Arg is its name
	QueuesID    screen.ID = "dlqs"         // a queue that is not a DLQ
	MessagesID  screen.ID = "dlq messages" // a DLQ: Arg is its name
)

// Feed is the slice of the engine this screen reads.
type Feed interface {
	Map() graph.MapView
	Queues() []graph.QueueStats
	Lineage(id string) (graph.Lineage, error)
}

// Spec is the registry line. `:map` draws the whole map; `:map <event-id>`
// also highlights that event's path.
func Spec(f Feed) screen.Spec {
	return screen.Spec{ID: ID, Words: []string{"map"}, New: func(env screen.Env, arg any) screen.Screen {
		id, _ := arg.(string)
		return New(env, f, id)
	}}
}

// Keys are the screen's bindings.
type Keys struct {
	Left, Right, Up, Down, First, Last key.Binding
	Open, Table                        key.Binding
	List                               widget.ListKeys
}

// DefaultKeys returns the screen's bindings.
func DefaultKeys() Keys {
	return Keys{
		Left:  key.NewBinding(key.WithKeys("h", "left"), key.WithHelp("←/h", "upstream")),
		Right: key.NewBinding(key.WithKeys("l", "right"), key.WithHelp("→/l", "downstream")),
		Up:    key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "up")),
		Down:  key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "down")),
		First: key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "first")),
		Last:  key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "last")),
		Open:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open function or queue")),
		Table: key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "table / drawing")),
		List:  widget.DefaultListKeys(),
	}
}

// Model is the screen.
type Model struct {
	env    screen.Env
	feed   Feed
	keys   Keys
	tbl    widget.Table
	rows   []row
	shown  []row
	filter string
	w, h   int

	event    string // the event whose path is highlighted
	note     string // what became of it
	data     graph.MapView
	dlq      map[tracing.Component]bool // the DLQs, each in its account and region
	accounts int                        // how many accounts the placed components are in
	onPath   map[tracing.Component]bool
	pathEdge map[[2]tracing.Component]bool
	loaded   bool

	table  bool // the user asked for the table
	cursor tracing.Component
	d      drawing // the layout and its cache
	// frame is the drawing as last rendered; stale says something it shows
	// changed since (data, size, filter, cursor).
	frame string
	stale bool
}

type row struct {
	name, kind string
	comp       tracing.Component // zero for an edge
	rate, errs float64
	p95        string
}

// New returns the screen; event, if set, is the event whose path to highlight.
func New(env screen.Env, f Feed, event string) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys(), event: strings.TrimSpace(event)}
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
func (m *Model) Title() string {
	if m.event != "" {
		return "map " + widget.Clean(m.event)
	}
	return "map"
}

// Info implements screen.Informer.
func (m *Model) Info() string {
	var parts []string
	if m.note != "" {
		parts = append(parts, m.note)
	}
	if m.tableShown() {
		if !m.table {
			parts = append(parts, fmt.Sprintf("table: the drawing needs %dx%d", m.d.needW, m.d.needH))
		} else {
			parts = append(parts, "table")
		}
	}
	return strings.Join(parts, " · ")
}

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) {
	m.w, m.h, m.stale = w, h, true
	m.tbl.SetSize(w, h)
	m.relayout()
	m.d.follow(m.cursorIndex())
}

// Filter implements screen.Filterer.
func (m *Model) Filter() string { return m.filter }

// SetFilter implements screen.Filterer: the table keeps the matching rows,
// the drawing the matching components and their neighbours.
func (m *Model) SetFilter(q string) {
	m.filter, m.stale = q, true
	m.apply()
	m.tbl.SetCursor(0)
	m.relayout()
	if n := m.d.first(); n >= 0 {
		m.cursor = m.d.nodes[n].Component
	}
	m.d.follow(m.cursorIndex())
}

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	if m.tableShown() {
		return screen.KeyMap{Groups: [][]key.Binding{{m.keys.Open, m.keys.Table}, m.keys.List.Bindings()}}
	}
	k := m.keys
	return screen.KeyMap{Groups: [][]key.Binding{{k.Left, k.Right, k.Up, k.Down, k.First, k.Last}, {k.Open, k.Table}}}
}

type loaded struct {
	v      graph.MapView
	qs     []graph.QueueStats
	lin    graph.Lineage
	linErr error
}

// Refresh reads the map, the queues (to know the DLQs) and the event's
// lineage when one is highlighted.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	feed, ev := m.feed, m.event
	return func() tea.Msg {
		d := loaded{v: feed.Map(), qs: feed.Queues()}
		if ev != "" {
			d.lin, d.linErr = feed.Lineage(ev)
		}
		return screen.Loaded{ID: ID, Seq: seq, Data: d}
	}
}

// Update implements screen.Screen.
func (m *Model) Update(msg tea.Msg) (screen.Screen, tea.Cmd) {
	m.stale = true
	switch msg := msg.(type) {
	case screen.Loaded:
		if d, ok := msg.Data.(loaded); ok {
			m.load(d)
		}
		return m, nil
	case tea.KeyPressMsg:
		if key.Matches(msg, m.keys.Table) {
			m.table = !m.table
			m.d.follow(m.cursorIndex())
			return m, nil
		}
		if m.tableShown() {
			if key.Matches(msg, m.keys.Open) {
				if i := m.tbl.Cursor(); i >= 0 && i < len(m.shown) && m.shown[i].comp.Name != "" {
					return m, m.open(m.shown[i].comp)
				}
				return m, nil
			}
			m.tbl.Update(msg)
			return m, nil
		}
		return m, m.mapKey(msg)
	}
	return m, nil
}

func (m *Model) load(d loaded) {
	first := !m.loaded
	m.loaded = true
	m.data = d.v
	m.dlq = map[tracing.Component]bool{}
	for _, q := range d.qs {
		if q.IsDLQ {
			m.dlq[tracing.Component{Kind: tracing.ComponentQueue, Name: q.Name, Account: q.Account, Region: q.Region}] = true
		}
	}
	for _, e := range d.v.Edges {
		if e.To.Kind == tracing.ComponentQueue && strings.Contains(e.Via, "redrive") {
			m.dlq[e.To] = true
		}
	}
	accounts := map[string]bool{}
	for _, n := range d.v.Nodes {
		if n.Component.Account != "" {
			accounts[n.Component.Account] = true
		}
	}
	m.accounts = len(accounts)
	m.onPath, m.pathEdge = nil, nil
	var last tracing.Component
	if m.event != "" {
		switch {
		case d.linErr != nil:
			m.note = "no path for " + widget.Clean(m.event) + ": " + widget.Clean(d.linErr.Error())
		default:
			m.onPath = map[tracing.Component]bool{}
			m.pathEdge = map[[2]tracing.Component]bool{}
			for _, h := range d.lin.Hops {
				if h.Component.Name == "" {
					continue
				}
				m.onPath[h.Component] = true
				last = h.Component
				if h.Parent >= 0 && h.Parent < len(d.lin.Hops) {
					if p := d.lin.Hops[h.Parent].Component; p.Name != "" && p != h.Component {
						m.pathEdge[[2]tracing.Component{p, h.Component}] = true
					}
				}
			}
			// The title names the event already ("map <id>"): saying its
			// 36-character ID again pushed the rest of the line (why the
			// map is a table) off a 120-column screen.
			of := ""
			if d.lin.ID != m.event {
				of = " of " + widget.Clean(d.lin.ID)
			}
			m.note = fmt.Sprintf("path%s: %d components, %s", of, len(m.onPath), d.lin.Status)
		}
	}
	m.rows = m.rows[:0:0]
	for _, e := range d.v.Edges {
		m.rows = append(m.rows, row{name: m.label(e.From) + " → " + m.label(e.To), kind: "edge", rate: e.Rate, errs: e.ErrorPct, p95: widget.Dur(e.P95)})
	}
	for _, n := range d.v.Nodes {
		m.rows = append(m.rows, row{name: m.label(n.Component), kind: m.kind(n.Component), comp: n.Component, rate: n.Rate, errs: n.ErrorPct, p95: widget.Dur(n.P95)})
	}
	m.apply()
	m.relayout()
	if first && last.Name != "" {
		m.cursor = last // the event's last stop: where it ended up
	}
	if m.cursorIndex() < 0 {
		if n := m.d.first(); n >= 0 {
			m.cursor = m.d.nodes[n].Component
		}
	}
	m.d.follow(m.cursorIndex()) // a new layout may have moved it out of view
}

// label is kind/name, followed by where it lives when several regions are
// watched: @region, or @account/region when the components span accounts.
func (m *Model) label(c tracing.Component) string {
	if w := m.where(c); w != "" {
		return c.Kind.String() + "/" + c.Name + "@" + w
	}
	return c.Kind.String() + "/" + c.Name
}

// where is a placed component's region, or account/region when the map
// spans accounts; "" when not placed.
func (m *Model) where(c tracing.Component) string {
	switch {
	case c.Account == "" && c.Region == "":
		return ""
	case m.accounts > 1 || c.Region == "":
		return c.Account + "/" + c.Region
	}
	return c.Region
}

// isDLQ reports whether c is a dead-letter queue.
func (m *Model) isDLQ(c tracing.Component) bool {
	return c.Kind == tracing.ComponentQueue && m.dlq[c]
}

// kind names a component's kind as the map shows it ("dlq" for a DLQ).
func (m *Model) kind(c tracing.Component) string {
	if m.isDLQ(c) {
		return "dlq"
	}
	if c.Kind == tracing.ComponentFunction {
		return "fn"
	}
	return c.Kind.String()
}

func (m *Model) apply() {
	q := widget.ParseQuery(m.filter)
	m.shown = m.shown[:0:0]
	for _, r := range m.rows {
		if q.Match(r.name, func(k string) string { return field(k, r.kind, r.errs) }) {
			m.shown = append(m.shown, r)
		}
	}
	m.tbl.SetRows(len(m.shown), m.cells)
	if m.filter != "" {
		m.tbl.Empty = "nothing on the map matches " + widget.Clean(m.filter)
	} else {
		m.tbl.Empty = "no component seen yet"
	}
}

// field answers the query's key:value terms.
func field(k, kind string, errs float64) string {
	switch k {
	case "kind", "type":
		return kind
	case "status":
		if errs > 0 {
			return "failed errors"
		}
		return "ok"
	}
	return ""
}

func (m *Model) cells(i int) []string {
	r := m.shown[i]
	errs := fmt.Sprintf("%.1f%%", r.errs)
	if r.errs > 5 {
		errs = m.env.St.Bad.Render(errs)
	}
	return []string{widget.Clean(r.name), r.kind, fmt.Sprintf("%.2f/s", r.rate), errs, r.p95}
}

// tableShown reports whether the table is what the screen shows: on t, when
// the drawing does not fit, and when the filter keeps rows but no component
// (kind:edge).
func (m *Model) tableShown() bool {
	return m.table || !m.d.fits || m.filter != "" && len(m.d.nodes) == 0 && len(m.shown) > 0
}

// open asks the root for the screen of a component.
func (m *Model) open(c tracing.Component) tea.Cmd {
	switch {
	case c.Kind == tracing.ComponentFunction:
		return screen.Cmd(screen.Open{To: FunctionsID, Arg: c.Name})
	case m.isDLQ(c) && c.Region == "" && c.Account == "":
		return screen.Cmd(screen.Open{To: MessagesID, Arg: c.Name})
	case m.isDLQ(c): // in its account and region (see the dlqmsgs screen)
		return screen.Cmd(screen.Open{To: MessagesID, Arg: c})
	case c.Kind == tracing.ComponentQueue:
		return screen.Cmd(screen.Open{To: QueuesID})
	}
	return screen.Say(screen.LevelInfo, "no screen for "+widget.Clean(c.String())+" yet")
}

func (m *Model) cursorIndex() int {
	if i, ok := m.d.index[m.cursor]; ok {
		return i
	}
	return -1
}

// mapKey moves the cursor on the drawing or opens what it is on.
func (m *Model) mapKey(k tea.KeyPressMsg) tea.Cmd {
	cur := m.cursorIndex()
	next := cur
	switch {
	case key.Matches(k, m.keys.Open):
		if cur >= 0 {
			return m.open(m.cursor)
		}
		return nil
	case key.Matches(k, m.keys.Left):
		next = m.d.across(cur, -1)
	case key.Matches(k, m.keys.Right):
		next = m.d.across(cur, +1)
	case key.Matches(k, m.keys.Up), key.Matches(k, m.keys.List.PageUp), key.Matches(k, m.keys.List.HalfUp):
		next = m.d.along(cur, -1)
	case key.Matches(k, m.keys.Down), key.Matches(k, m.keys.List.PageDown), key.Matches(k, m.keys.List.HalfDown):
		next = m.d.along(cur, +1)
	case key.Matches(k, m.keys.First):
		next = m.d.first()
	case key.Matches(k, m.keys.Last):
		next = m.d.last()
	}
	if next >= 0 {
		m.cursor = m.d.nodes[next].Component
		m.d.follow(next)
	}
	return nil
}

// View implements screen.Screen.
func (m *Model) View() string {
	if m.tableShown() {
		return m.tbl.View()
	}
	if m.stale || m.frame == "" {
		m.frame, m.stale = m.d.view(m), false
	}
	return m.frame
}

// Layouts reports how many times the map was laid out: figures alone must
// not cause one.
func (m *Model) Layouts() int { return m.d.layouts }
