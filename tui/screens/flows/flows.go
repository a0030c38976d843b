// Package flows is the console's home screen: the events list, newest first,
// paged from the graph so a frame costs the same with 1M events held.
package flows

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

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

// ScanLimit bounds a filter the graph cannot answer itself (a field term
// such as status:failed or type:order): the screen looks at the newest
// ScanLimit events the graph's filter keeps and filters those.
const ScanLimit = 5000

// scanPage is how many events one read of such a filter asks for.
const scanPage = 250

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
	memo    *scanMemo // the last field-term scan, shared with Refresh's commands
}

// New returns the flows screen.
func New(env screen.Env, f Feed) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys(), follow: true, memo: &scanMemo{}}
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

// Info says whether the list follows new events and how it is sorted.
func (m *Model) Info() string {
	s := ""
	switch {
	case m.follow:
		s = "following"
	case m.newRows > 0:
		s = fmt.Sprintf("%d new ↑ (g)", m.newRows)
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
		m.follow, m.newRows = true, 0
		m.setEmpty()
	}
}

func (m *Model) setEmpty() {
	if m.filter != "" {
		m.tbl.Empty = "no event matches " + widget.Clean(m.filter)
	} else {
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
	where   []string // each row's account and region, when more than one is watched
}

// Refresh reads the window on screen.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	feed, q, memo, now, wh := m.feed, widget.ParseQuery(m.filter), m.memo, m.env.Now, m.where
	off, n, sortBy, rev := m.tbl.Offset(), m.tbl.Visible(), m.sort, m.reverse
	if m.follow {
		off = 0
	}
	return func() tea.Msg {
		rows, matched := read(feed, q, sortBy, rev, off, n, memo, now)
		d := loaded{rows: rows, off: off, matched: matched}
		if wh != nil {
			d.where = make([]string, len(rows))
			for i, r := range rows {
				d.where[i] = wh.Where(r.ID)
			}
		}
		return screen.Loaded{ID: ID, Seq: seq, Data: d}
	}
}

// read returns rows [off, off+n) of the list in display order and how many
// rows the list has. Words the graph answers itself, from its match sets;
// field terms (status:failed, type:order) are decided here over the newest
// ScanLimit events the graph's filter keeps, and that scan is remembered
// while the graph's version stands still (memo), so a standing filter costs
// one probe per refresh. A status term is not asked of the graph: a cold
// graph derives every event's status to answer it, seconds under its read
// lock with a million events held.
func read(feed Feed, q widget.Query, by graph.FlowSort, rev bool, off, n int, memo *scanMemo, now func() time.Time) ([]graph.FlowRow, int) {
	if len(q.Fields) == 0 {
		gq := graph.FlowQuery{Filter: strings.Join(q.Words, " "), Invert: q.Invert, Sort: by, Offset: off, Limit: n}
		if !rev {
			p := feed.Flows(gq)
			return p.Rows, p.Matched
		}
		// Reversed: the window counted from the end.
		probe := gq
		probe.Offset, probe.Limit = 0, 1
		total := feed.Flows(probe).Matched
		gq.Offset = max(total-off-n, 0)
		gq.Limit = max(min(n, total-off), 0)
		if gq.Limit == 0 {
			return nil, total
		}
		p := feed.Flows(gq)
		slices.Reverse(p.Rows)
		return p.Rows, p.Matched
	}
	// Field terms: the graph's filter narrows, this screen decides,
	// reading pages until the window is full (and one row more, so the
	// list can scroll on) or ScanLimit events were looked at.
	gq := graph.FlowQuery{Sort: by, Limit: scanPage}
	if !q.Invert {
		gq.Filter = narrow(q)
	}
	want := off + n + 1
	if rev {
		want = ScanLimit // reversed: the end of the list is needed
	}
	probe := gq
	probe.Limit = 1
	version := feed.Flows(probe).Version
	key := scanKey{q: q.Raw, by: by, rev: rev, want: want}
	if keep, ok := memo.get(key, version, now()); ok {
		return window(keep, off, n)
	}
	var keep []graph.FlowRow
	for scanned := 0; scanned < ScanLimit; scanned += scanPage {
		gq.Offset = scanned
		p := feed.Flows(gq)
		for _, r := range p.Rows {
			if q.Match(r.ID, fields(r)) {
				keep = append(keep, r)
			}
		}
		if len(keep) >= want || scanned+len(p.Rows) >= p.Matched || len(p.Rows) == 0 {
			break
		}
	}
	if rev {
		slices.Reverse(keep)
	}
	memo.put(key, version, now(), keep)
	return window(keep, off, n)
}

func window(keep []graph.FlowRow, off, n int) ([]graph.FlowRow, int) {
	total := len(keep)
	if off >= total {
		return nil, total
	}
	return keep[off:min(off+n, total)], total
}

// scanKey names one field-term scan.
type scanKey struct {
	q    string
	by   graph.FlowSort
	rev  bool
	want int
}

// memoFor is how long a scan is reused while the graph stands still: a
// status can change with the clock alone (a hop missing for too long).
const memoFor = 10 * time.Second

// scanMemo is the last field-term scan and the graph version it read.
// Refresh's commands share it, so a mutex guards it.
type scanMemo struct {
	mu      sync.Mutex
	key     scanKey
	version uint64
	at      time.Time
	rows    []graph.FlowRow
}

func (c *scanMemo) get(k scanKey, version uint64, now time.Time) ([]graph.FlowRow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok := version != 0 && c.version == version && c.key == k && now.Sub(c.at) < memoFor && !now.Before(c.at)
	return c.rows, ok
}

func (c *scanMemo) put(k scanKey, version uint64, now time.Time, rows []graph.FlowRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.key, c.version, c.at, c.rows = k, version, now, rows
}

// narrow is the words the graph can filter by itself: the query's words and
// the values of the fields its text filter covers.
func narrow(q widget.Query) string {
	words := slices.Clone(q.Words)
	for _, f := range q.Fields {
		if f.Key == "type" || f.Key == "fn" || f.Key == "source" || f.Key == "queue" {
			words = append(words, f.Value)
		}
	}
	return strings.Join(words, " ")
}

func fields(r graph.FlowRow) func(string) string {
	return func(k string) string {
		switch k {
		case "status":
			return r.Status.String()
		case "type":
			return r.Type
		case "fn", "queue":
			return r.Source + " " + r.LastHop
		case "source":
			return r.Source
		}
		return ""
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
	if len(d.rows) > 0 && d.off == 0 {
		top := d.rows[0].ID
		if m.follow {
			m.topID, m.newRows = top, 0
		} else if top != m.topID && m.topID != "" {
			m.newRows++
			m.topID = top
		}
	}
	m.tbl.SetRows(d.matched, m.cells)
	if m.follow || !had {
		return nil
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
		return nil
	}
	m.tbl.SetCursor(to)
	if m.tbl.Offset() != d.off {
		return screen.Cmd(screen.Reload{})
	}
	return nil
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
