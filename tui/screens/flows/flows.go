// Package flows is the console's home screen: the events list, newest first,
// paged from the graph so a frame costs the same with 1M events held.
package flows

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

// ID names the screen.
const ID screen.ID = "flows"

// EventID is the screen enter opens.
const EventID screen.ID = "event"

// Feed is the slice of the engine this screen reads.
type Feed interface {
	Flows(graph.FlowQuery) graph.FlowPage
}

// Wherer is a feed that watches more than one account or region and knows
// where each event was seen: "eu-west-1", or "account/region" when accounts
// differ. The flows list then has a REGION column.
type Wherer interface {
	Where(id string) string
}

// Spec is the registry line.
func Spec(f Feed) screen.Spec {
	return screen.Spec{ID: ID, Words: []string{"flows", "events", "home"}, New: func(env screen.Env, _ any) screen.Screen { return New(env, f) }}
}

// Keys are the flows screen's bindings.
type Keys struct {
	Open, Sort, Reverse, Follow key.Binding
	List                        widget.ListKeys
}

// DefaultKeys returns the screen's bindings.
func DefaultKeys() Keys {
	return Keys{
		Open:    key.NewBinding(key.WithKeys("enter", "t"), key.WithHelp("enter", "open event")),
		Sort:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort")),
		Reverse: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse")),
		Follow:  key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow")),
		List:    widget.DefaultListKeys(),
	}
}

var sortNames = [...]string{"recent activity", "start time", "latency", "hops", "status", "cost"}

// sortCol is the column that shows each sort's key.
var sortCol = [...]int{colAge, colAge, colLatency, colHops, colStatus, colCost}

const (
	colID = iota
	colType
	colPath
	colHops
	colStatus
	colAge
	colLatency
	colCost
)

// statusWidth is the widest status's ("dead-lettered").
var statusWidth = func() int {
	w := 0
	for s := graph.Status(0); s.String() != "unknown"; s++ {
		w = max(w, len(s.String()))
	}
	return w
}()

// Model is the flows screen.
type Model struct {
	env     screen.Env
	feed    Feed
	keys    Keys
	where   Wherer   // set when more than one account or region is watched
	regions []string // rows' Where, read with them
	tbl     widget.Table
	rows    []graph.FlowRow // the loaded window, in display order
	rowsOff int             // the display index of rows[0]
	matched int
	filter  string
	sort    graph.FlowSort
	reverse bool
	follow  bool
	topID   string
	newRows int
	// partial: the graph has not looked at every held event for the
	// filter yet; matched is what it found so far, and the screen reads
	// again at once.
	partial bool
}

// New returns the flows screen.
func New(env screen.Env, f Feed) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys(), follow: true}
	cols := []widget.Column{
		colID:   {Title: "ID", Priority: 0},
		colType: {Title: "TYPE", Priority: 3, Max: 20},
		// The path goes after the type, but before the hop count and the
		// cost: "orders-api →…" (12 cells, what 120 columns left it once
		// REGION came) told nothing.
		colPath: {Title: "SOURCE → LAST HOP", Priority: 4, Min: 22, Grow: true},
		colHops: {Title: "HOPS", Priority: 5},
		// As wide as the widest status, so the columns beside it do not
		// come and go as a dead-lettered event scrolls by.
		colStatus:  {Title: "STATUS", Priority: 1, Width: statusWidth},
		colAge:     {Title: "AGE", Priority: 1},
		colLatency: {Title: "LATENCY", Priority: 2},
		colCost:    {Title: "COST", Priority: 6},
	}
	if w, ok := f.(Wherer); ok {
		m.where = w
		cols = append(cols, widget.Column{Title: "REGION", Priority: 2}) // never cut: dropped whole when short
	}
	m.tbl = widget.NewTable(env.St, cols)
	m.tbl.SetSort(sortCol[m.sort], true)
	m.setEmpty()
	return m
}

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen.
func (m *Model) Title() string { return "flows" }

// Info says, with a filter, how many events match (and that the search
// goes on, while it does), whether the list follows new events and how it
// is sorted.
func (m *Model) Info() string {
	s := ""
	switch {
	case m.filter != "" && m.partial:
		s = fmt.Sprintf("≥%d so far, searching…  ", m.matched)
	case m.filter != "":
		s = fmt.Sprintf("%d %s  ", m.matched, plural(m.matched, "match", "matches"))
	}
	switch {
	case m.follow:
		s += "following"
	case m.newRows > 0:
		s += fmt.Sprintf("%d new ↑ (g)", m.newRows)
	}
	dir := "▼"
	if m.reverse {
		dir = "▲"
	}
	return strings.TrimSpace(s + "  sort: " + sortNames[m.sort] + " " + dir)
}

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) { m.tbl.SetSize(w, h) }

// Filter implements screen.Filterer.
func (m *Model) Filter() string { return m.filter }

// SetFilter implements screen.Filterer.
func (m *Model) SetFilter(q string) {
	if q != m.filter {
		m.filter = q
		m.tbl.SetCursor(0)
		m.follow, m.newRows, m.partial = true, 0, false
		m.setEmpty()
	}
}

func (m *Model) setEmpty() {
	switch {
	case m.filter != "" && m.partial:
		m.tbl.Empty = "searching the held events for " + widget.Clean(m.filter) + "…"
	case m.filter != "":
		m.tbl.Empty = "no event matches " + widget.Clean(m.filter)
	default:
		m.tbl.Empty = "waiting for events… (collectors are starting; see their state above)"
	}
}

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	k := m.keys
	return screen.KeyMap{
		Short:  []key.Binding{k.Open, k.Sort, k.Reverse, k.Follow},
		Groups: [][]key.Binding{{k.Open, k.Sort, k.Reverse, k.Follow}, k.List.Bindings()},
	}
}

type loaded struct {
	rows    []graph.FlowRow
	off     int
	matched int
	partial bool     // the graph's answer is not complete yet
	where   []string // each row's account and region, when more than one is watched
}

// Refresh reads the window on screen.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	feed, q, wh := m.feed, widget.ParseQuery(m.filter), m.where
	off, n, sortBy, rev := m.tbl.Offset(), m.tbl.Visible(), m.sort, m.reverse
	if m.follow {
		off = 0
	}
	return func() tea.Msg {
		rows, matched, partial := read(feed, q, sortBy, rev, off, n)
		d := loaded{rows: rows, off: off, matched: matched, partial: partial}
		if wh != nil {
			d.where = make([]string, len(rows))
			for i, r := range rows {
				d.where[i] = wh.Where(r.ID)
			}
		}
		return screen.Loaded{ID: ID, Seq: seq, Data: d}
	}
}

// read returns rows [off, off+n) of the list in display order, how many
// rows the list has, and whether that answer is partial. The graph answers
// every term itself, over every held event, from its match sets: words and
// field terms (status:failed, type:order). It is asked progressively: a
// read costs a bounded slice of work, and a new filter's first answers are
// partial (the count is what was found so far) until the graph has looked
// at every held event; the screen reads again at once while they are.
func read(feed Feed, q widget.Query, by graph.FlowSort, rev bool, off, n int) ([]graph.FlowRow, int, bool) {
	gq := graph.FlowQuery{Filter: strings.Join(q.Words, " "), Fields: graphFields(q), Invert: q.Invert, Sort: by, Offset: off, Limit: n, Progressive: true}
	if !rev {
		p := feed.Flows(gq)
		return p.Rows, p.Matched, p.Partial
	}
	// Reversed: the window counted from the end, which a partial answer
	// does not know yet.
	probe := gq
	probe.Offset, probe.Limit = 0, 1
	pp := feed.Flows(probe)
	total := pp.Matched
	if pp.Partial {
		return nil, total, true
	}
	gq.Offset = max(total-off-n, 0)
	gq.Limit = max(min(n, total-off), 0)
	if gq.Limit == 0 {
		return nil, total, false
	}
	p := feed.Flows(gq)
	slices.Reverse(p.Rows)
	return p.Rows, p.Matched, p.Partial
}

// graphFields is the query's field terms as the graph takes them. A key
// the graph does not know (error:, kind:, arch:) matches no event there,
// as it matched no row here before.
func graphFields(q widget.Query) []graph.FieldTerm {
	var out []graph.FieldTerm
	for _, f := range q.Fields {
		out = append(out, graph.FieldTerm{Key: f.Key, Value: f.Value})
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Update implements screen.Screen.
func (m *Model) Update(msg tea.Msg) (screen.Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case screen.Loaded:
		d, ok := msg.Data.(loaded)
		if !ok {
			return m, nil
		}
		return m, m.apply(d)
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.keys.Open):
			if r, ok := m.selected(); ok {
				return m, screen.Cmd(screen.Open{To: EventID, Arg: r.ID})
			}
			return m, nil
		case key.Matches(msg, m.keys.Sort):
			m.sort = (m.sort + 1) % graph.FlowSort(len(sortNames))
			m.tbl.SetSort(sortCol[m.sort], !m.reverse)
			m.tbl.SetCursor(0)
			return m, tea.Batch(screen.Cmd(screen.Reload{}), screen.Say(screen.LevelInfo, "sorted by "+sortNames[m.sort]))
		case key.Matches(msg, m.keys.Reverse):
			m.reverse = !m.reverse
			m.tbl.SetSort(sortCol[m.sort], !m.reverse)
			m.tbl.SetCursor(0)
			return m, screen.Cmd(screen.Reload{})
		case key.Matches(msg, m.keys.Follow):
			m.follow, m.newRows = !m.follow, 0
			if m.follow {
				m.tbl.SetCursor(0)
			}
			return m, screen.Cmd(screen.Reload{})
		}
	}
	before := m.tbl.Offset()
	if m.tbl.Update(msg) {
		m.follow = m.tbl.Offset() == 0 && m.tbl.Cursor() == 0
		if m.follow {
			m.newRows = 0
		}
		if m.tbl.Offset() != before || m.follow {
			return m, screen.Cmd(screen.Reload{})
		}
	}
	return m, nil
}

// apply takes a window. When not following, the cursor stays on the event
// it was on as new events push it down; if that scrolls the window, the
// window is read again.
func (m *Model) apply(d loaded) tea.Cmd {
	was, had := m.selected()
	first := ""
	if len(m.rows) > 0 && m.rowsOff == d.off {
		first = m.rows[0].ID
	}
	m.rows, m.rowsOff, m.matched, m.regions = d.rows, d.off, d.matched, d.where
	if m.partial != d.partial {
		m.partial = d.partial
		m.setEmpty()
	}
	// A partial answer: read again at once; each read is a bounded slice
	// of the graph's work, so the search goes on while the screen shows
	// what was found so far.
	var again tea.Cmd
	if d.partial {
		again = screen.Cmd(screen.Reload{})
	}
	if len(d.rows) > 0 && d.off == 0 {
		top := d.rows[0].ID
		if m.follow {
			m.topID, m.newRows = top, 0
		} else if top != m.topID && m.topID != "" {
			m.newRows++
			m.topID = top
		}
	}
	shown := d.matched
	if d.partial && len(d.rows) == 0 {
		shown = 0 // reversed: no window yet; the table says it is searching
	}
	m.tbl.SetRows(shown, m.cells)
	if m.follow || !had {
		return again
	}
	to := -1
	for i, r := range d.rows {
		if r.ID == was.ID {
			to = i + d.off
			break
		}
	}
	if to < 0 && first != "" {
		// Pushed out of the window: the old first row says by how much.
		for i, r := range d.rows {
			if r.ID == first && i > 0 {
				to = m.tbl.Cursor() + i
				break
			}
		}
	}
	if to < 0 || to == m.tbl.Cursor() {
		return again
	}
	m.tbl.SetCursor(to)
	if m.tbl.Offset() != d.off {
		return screen.Cmd(screen.Reload{})
	}
	return again
}

func (m *Model) selected() (graph.FlowRow, bool) {
	i := m.tbl.Cursor() - m.rowsOff
	if i < 0 || i >= len(m.rows) {
		return graph.FlowRow{}, false
	}
	return m.rows[i], true
}

func (m *Model) cells(i int) []string {
	i -= m.rowsOff
	if i < 0 || i >= len(m.rows) {
		return []string{"…"}
	}
	r := m.rows[i]
	path := widget.Clean(r.Source)
	if r.LastHop != "" {
		// A source not known yet (the partner's CloudEvent before its
		// producer span) reads "? → partner-intake", not " → partner-intake".
		path = widget.FirstNonEmpty(path, "?") + " → " + widget.Clean(r.LastHop)
	}
	cells := []string{
		widget.Clean(shortID(r.ID)), widget.Clean(r.Type), path, fmt.Sprint(r.Hops), m.env.St.Status(r.Status),
		widget.Age(m.env.Now(), r.Last), widget.Dur(r.Latency), fmt.Sprintf("$%.6f", r.CostUSD),
	}
	if m.where != nil {
		region := ""
		if i < len(m.regions) {
			region = widget.Clean(m.regions[i])
		}
		cells = append(cells, region)
	}
	return cells
}

// View implements screen.Screen.
func (m *Model) View() string { return m.tbl.View() }

// shortID is how the list shows an event's ID. A Kinesis record's
// (stream/shardId-000000000000:<56-digit sequence number>) would take the
// whole row at 120 columns; its shard number and the sequence number's last
// digits, which tell records apart, are kept: clickstream/0:…060000113000.
// The event screen and :tail use the whole ID.
func shortID(id string) string {
	stream, rest, ok := strings.Cut(id, "/shardId-")
	if !ok || len(id) < 60 {
		return id
	}
	shard, seq, ok := strings.Cut(rest, ":")
	if !ok || len(seq) < 24 {
		return id
	}
	shard = strings.TrimLeft(shard, "0")
	if shard == "" {
		shard = "0"
	}
	return stream + "/" + shard + ":…" + seq[len(seq)-12:]
}
