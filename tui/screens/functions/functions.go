// Package functions is the `:fn` screen: every Lambda function seen, with
// invocations, errors, latency percentiles, memory and cost. With several
// accounts or regions watched, a function is a row per place it runs in,
// with a REGION column.
package functions

import (
	"fmt"
	"sort"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

// ID names the screen.
const ID screen.ID = "functions"

// Feed is the slice of the engine this screen reads.
type Feed interface {
	Functions() []graph.FunctionStats
}

// Wherer is a feed that watches more than one account or region and knows
// where each function was seen ("us-east-1, eu-west-1" for a function of
// the same name in both). The list then has a REGION column, which says so
// for a row the graph could not place (its own account and region are
// shown for those it placed).
type Wherer interface {
	WhereFunction(name string) string
}

// Spec is the registry line.
func Spec(f Feed) screen.Spec {
	return screen.Spec{ID: ID, Words: []string{"fn", "functions", "func", "lambda"}, New: func(env screen.Env, _ any) screen.Screen { return New(env, f) }}
}

// Keys are the screen's bindings.
type Keys struct {
	Sort, Reverse key.Binding
	List          widget.ListKeys
}

// DefaultKeys returns the screen's bindings.
func DefaultKeys() Keys {
	return Keys{
		Sort:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort")),
		Reverse: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse")),
		List:    widget.DefaultListKeys(),
	}
}

const (
	colName = iota
	colArch
	colMem
	colInvokes
	colErrors
	colTimeouts
	colCold
	colP50
	colP95
	colP99
	colMemUsed
	colCost
	colMonth
	colRate
)

type sortBy struct {
	name string
	col  int
	less func(a, b graph.FunctionStats) bool
}

// Sorts are the orders `s` cycles through, biggest first.
var sorts = []sortBy{
	{"cost", colCost, func(a, b graph.FunctionStats) bool { return a.CostUSD > b.CostUSD }},
	{"p95", colP95, func(a, b graph.FunctionStats) bool { return a.P95 > b.P95 }},
	{"errors", colErrors, func(a, b graph.FunctionStats) bool { return a.Errors > b.Errors }},
	{"invocations", colInvokes, func(a, b graph.FunctionStats) bool { return a.Invocations > b.Invocations }},
	{"cold starts", colCold, func(a, b graph.FunctionStats) bool { return a.ColdStarts > b.ColdStarts }},
	{"name", colName, func(a, b graph.FunctionStats) bool { return a.Name < b.Name }},
}

// Model is the functions screen.
type Model struct {
	env     screen.Env
	feed    Feed
	keys    Keys
	tbl     widget.Table
	all     []graph.FunctionStats
	shown   []graph.FunctionStats
	where   Wherer            // set when more than one account or region is watched
	regions map[string]string // function → where it was seen, read with the list
	placed  bool              // some row has a region: the REGION column shows
	filter  string
	sort    int
	reverse bool
	w, h    int
}

// New returns the functions screen.
func New(env screen.Env, f Feed) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys()}
	if w, ok := f.(Wherer); ok {
		m.where = w
	}
	m.columns()
	return m
}

// columns builds the table: a REGION column when several accounts or
// regions are watched or rows carry their place.
func (m *Model) columns() {
	cols := []widget.Column{
		colName:     {Title: "FUNCTION", Priority: 0},
		colArch:     {Title: "ARCH", Priority: 8},
		colMem:      {Title: "MEM", Priority: 8},
		colInvokes:  {Title: "INVOKES", Priority: 2},
		colErrors:   {Title: "ERRORS", Priority: 2},
		colTimeouts: {Title: "TMO", Priority: 6},
		colCold:     {Title: "COLD", Priority: 4},
		colP50:      {Title: "P50", Priority: 5},
		colP95:      {Title: "P95", Priority: 3},
		colP99:      {Title: "P99", Priority: 5},
		colMemUsed:  {Title: "MEM USED", Priority: 7},
		colCost:     {Title: "COST", Priority: 1},
		colMonth:    {Title: "/MONTH", Priority: 3},
		colRate:     {Title: "RATE", Priority: 9, Min: 4, Max: 30, Grow: true},
	}
	if m.where != nil || m.placed {
		cols = append(cols, widget.Column{Title: "REGION", Priority: 2}) // never cut: dropped whole when short
	}
	m.tbl = widget.NewTable(m.env.St, cols)
	m.tbl.Empty = "no function seen yet"
	m.tbl.SetSort(sorts[0].col, true)
	if m.w > 0 {
		m.tbl.SetSize(m.w, m.h)
	}
}

// samePlace reports whether a and b are one function in one place.
func samePlace(a, b graph.FunctionStats) bool {
	return a.Name == b.Name && a.Account == b.Account && a.Region == b.Region
}

// open is what enter opens for row i: the function's name, or the function
// in its place (a tracing.Component) when several accounts or regions are
// watched.
func (m *Model) open(i int) any {
	f := m.shown[i]
	if f.Account == "" && f.Region == "" {
		return f.Name
	}
	return tracing.Component{Kind: tracing.ComponentFunction, Name: f.Name, Account: f.Account, Region: f.Region}
}

// whereOf says where f runs: its region (account/region when the rows'
// accounts differ), or, for a row without a place, where its name was seen.
func (m *Model) whereOf(f graph.FunctionStats) string {
	if f.Account == "" && f.Region == "" {
		return m.regions[f.Name]
	}
	for _, x := range m.all {
		if x.Account != f.Account && (x.Account != "" || x.Region != "") {
			return f.Account + "/" + f.Region
		}
	}
	return f.Region
}

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen.
func (m *Model) Title() string { return "functions" }

// Info says how the list is sorted.
func (m *Model) Info() string {
	dir := "▼"
	if m.reverse {
		dir = "▲"
	}
	return "sort: " + sorts[m.sort].name + " " + dir + " · since flowtop started · us-east-1 list prices"
}

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) { m.w, m.h = w, h; m.tbl.SetSize(w, h) }

// Filter implements screen.Filterer.
func (m *Model) Filter() string { return m.filter }

// SetFilter implements screen.Filterer.
func (m *Model) SetFilter(q string) {
	m.filter = q
	m.apply(true)
	m.tbl.SetCursor(0)
}

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	return screen.KeyMap{
		Short:  []key.Binding{m.keys.Sort, m.keys.Reverse},
		Groups: [][]key.Binding{{m.keys.Sort, m.keys.Reverse}, m.keys.List.Bindings()},
	}
}

type loaded []graph.FunctionStats

// located is the list with where each function was seen.
type located struct {
	fns     loaded
	regions map[string]string
}

// Refresh reads the functions.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	feed, wh := m.feed, m.where
	if wh != nil {
		return func() tea.Msg {
			d := located{fns: feed.Functions(), regions: map[string]string{}}
			for _, f := range d.fns {
				d.regions[f.Name] = wh.WhereFunction(f.Name)
			}
			return screen.Loaded{ID: ID, Seq: seq, Data: d}
		}
	}
	return func() tea.Msg { return screen.Loaded{ID: ID, Seq: seq, Data: loaded(feed.Functions())} }
}

// Update implements screen.Screen.
func (m *Model) Update(msg tea.Msg) (screen.Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case screen.Loaded:
		if d, ok := msg.Data.(loaded); ok {
			m.load(d, m.regions)
		}
		if d, ok := msg.Data.(located); ok {
			m.load(d.fns, d.regions)
		}
		return m, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.keys.Sort):
			m.sort = (m.sort + 1) % len(sorts)
			m.apply(true)
			m.tbl.SetCursor(0)
			return m, screen.Say(screen.LevelInfo, "sorted by "+sorts[m.sort].name)
		case msg.String() == "enter" && m.tbl.Cursor() < len(m.shown): // the function's detail (tui/screens/fndetail)
			return m, screen.Cmd(screen.Open{To: "function", Arg: m.open(m.tbl.Cursor())})
		case key.Matches(msg, m.keys.Reverse):
			m.reverse = !m.reverse
			m.apply(true)
			m.tbl.SetCursor(0)
			return m, nil
		}
	}
	m.tbl.Update(msg)
	return m, nil
}

// load takes a new list; the table gains its REGION column when rows
// first carry their place.
func (m *Model) load(fns []graph.FunctionStats, regions map[string]string) {
	var keep *graph.FunctionStats
	if i := m.tbl.Cursor(); i < len(m.shown) {
		keep = &m.shown[i]
	}
	m.all, m.regions = fns, regions
	placed := false
	for _, f := range fns {
		placed = placed || f.Account != "" || f.Region != ""
	}
	if placed != m.placed {
		m.placed = placed
		m.columns()
	}
	m.keeping(keep) // the table may be new: its cursor is not the row's
}

// apply filters and sorts; unless moved, the cursor stays on the function
// (in its place) it was on.
func (m *Model) apply(moved bool) {
	var was *graph.FunctionStats
	if i := m.tbl.Cursor(); !moved && i < len(m.shown) {
		was = &m.shown[i]
	}
	m.keeping(was)
}

// keeping filters and sorts, and puts the cursor on was's row when given.
func (m *Model) keeping(was *graph.FunctionStats) {
	q := widget.ParseQuery(m.filter)
	shown := make([]graph.FunctionStats, 0, len(m.all))
	for _, f := range m.all {
		text := f.Name
		if f.Region != "" {
			text += " " + f.Region
		}
		if q.Match(text, func(k string) string {
			switch k {
			case "fn":
				return f.Name
			case "arch":
				return f.Architecture
			case "region":
				return f.Region
			case "account":
				return f.Account
			case "status":
				if f.Errors > 0 {
					return "failed errors"
				}
				return "ok"
			}
			return ""
		}) {
			shown = append(shown, f)
		}
	}
	less := sorts[m.sort].less
	sort.SliceStable(shown, func(i, j int) bool {
		a, b := shown[i], shown[j]
		if m.reverse {
			a, b = b, a
		}
		if less(a, b) != less(b, a) {
			return less(a, b)
		}
		if shown[i].Name != shown[j].Name {
			return shown[i].Name < shown[j].Name
		}
		if shown[i].Account != shown[j].Account {
			return shown[i].Account < shown[j].Account
		}
		return shown[i].Region < shown[j].Region
	})
	var keepF graph.FunctionStats
	if was != nil {
		keepF = *was // copied before m.shown is replaced
	}
	m.shown = shown
	m.tbl.SetSort(sorts[m.sort].col, sorts[m.sort].col != colName != m.reverse)
	m.tbl.SetRows(len(shown), m.cells)
	for i, f := range shown {
		if was != nil && samePlace(f, keepF) {
			m.tbl.SetCursor(i)
			break
		}
	}
	if m.filter != "" {
		m.tbl.Empty = "no function matches " + widget.Clean(m.filter)
	} else {
		m.tbl.Empty = "no function seen yet"
	}
}

func (m *Model) cells(i int) []string {
	f := m.shown[i]
	errs := fmt.Sprint(f.Errors)
	if f.Errors > 0 {
		errs = m.env.St.Bad.Render(errs)
	}
	cells := []string{
		widget.Clean(f.Name), widget.Clean(f.Architecture), fmt.Sprintf("%dMB", f.MemoryMB), fmt.Sprint(f.Invocations), errs,
		fmt.Sprint(f.Timeouts), fmt.Sprint(f.ColdStarts), widget.Dur(f.P50), widget.Dur(f.P95), widget.Dur(f.P99),
		fmt.Sprintf("%d/%d MB", f.MaxMemoryUsedMB, f.MemoryMB), fmt.Sprintf("$%.4f", f.CostUSD), fmt.Sprintf("$%.2f", f.CostPerMonthUSD), widget.Sparkline(f.Rate, 30),
	}
	if m.where != nil || m.placed {
		cells = append(cells, widget.Clean(m.whereOf(f)))
	}
	return cells
}

// View implements screen.Screen.
func (m *Model) View() string { return m.tbl.View() }
