// Package fndetail is the function detail screen (enter on `:fn`, or
// `:function <name>`): one Lambda function's figures, cold starts with their
// init durations, a duration histogram, memory used against configured,
// cost per invocation and per month, errors grouped by type, and its recent,
// slowest and failed invocations (tab switches; enter opens the event; l
// opens the function's log stream). With several accounts or regions
// watched, it is the function in one place (enter on `:fn` opens that row's).
package fndetail

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

// ID names the screen.
const ID screen.ID = "function"

// EventID is the screen enter opens, with the invocation's request ID.
const EventID screen.ID = "event"

// LogsID is the screen l opens, with the function's name.
const LogsID screen.ID = "logs"

// Feed is the slice of the engine this screen reads.
type Feed interface {
	FunctionDetail(name string) graph.FunctionDetail
}

// PlacedFeed is a feed that tells apart functions of one name in several
// watched accounts or regions.
type PlacedFeed interface {
	FunctionDetailIn(c tracing.Component) graph.FunctionDetail
}

// Spec is the registry line. The argument is the function's name, or the
// function in its account and region (a tracing.Component).
func Spec(f Feed) screen.Spec {
	return screen.Spec{
		ID: ID, Words: []string{"function"}, Arg: "function needs a name: :function <name> (or enter on :fn)",
		New: func(env screen.Env, arg any) screen.Screen {
			if c, ok := arg.(tracing.Component); ok {
				return NewIn(env, f, c)
			}
			name, _ := arg.(string)
			return New(env, f, name)
		},
	}
}

// Keys are the screen's bindings.
type Keys struct {
	Next, Open, Logs key.Binding
	List             widget.ListKeys
}

// DefaultKeys returns the screen's bindings.
func DefaultKeys() Keys {
	return Keys{
		Next: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "recent/slowest/failed")),
		Open: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open event")),
		Logs: key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "its logs")),
		List: widget.DefaultListKeys(),
	}
}

// The lists tab cycles through.
const (
	listRecent = iota
	listSlowest
	listFailed
)

var listNames = []string{"recent", "slowest", "failed"}

const (
	colStart = iota
	colRequest
	colDuration
	colBilled
	colInit
	colMem
	colStatus
	colError
	colCost
	colLines
)

// Model is the function detail screen.
type Model struct {
	env    screen.Env
	feed   Feed
	keys   Keys
	name   string
	place  tracing.Component // the function in its account and region, when several are watched
	d      graph.FunctionDetail
	loaded bool
	list   int
	shown  []graph.InvocationRow
	filter string
	tbl    widget.Table
	w, h   int
	top    []string // the lines above the table, drawn on load and resize
}

// New returns the detail of function name.
func New(env screen.Env, f Feed, name string) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys(), name: strings.TrimSpace(name), w: 80, h: 20}
	m.tbl = widget.NewTable(env.St, []widget.Column{
		colStart:    {Title: "STARTED", Priority: 1},
		colRequest:  {Title: "REQUEST ID", Priority: 0, Min: 8, Max: 36},
		colDuration: {Title: "DURATION", Priority: 0},
		colBilled:   {Title: "BILLED", Priority: 6},
		colInit:     {Title: "INIT", Priority: 3},
		colMem:      {Title: "MEMORY", Priority: 4},
		colStatus:   {Title: "STATUS", Priority: 1},
		colError:    {Title: "ERROR", Priority: 2, Min: 10, Max: 60, Grow: true},
		colCost:     {Title: "COST", Priority: 5},
		colLines:    {Title: "LOG LINES", Priority: 7},
	})
	m.tbl.Empty = "no invocation reported yet"
	return m
}

// NewIn returns the detail of the function c names in c's account and region.
func NewIn(env screen.Env, f Feed, c tracing.Component) *Model {
	m := New(env, f, c.Name)
	m.place = c
	return m
}

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen: the function, and its region when it has
// one (asked by name, the graph says which of several it chose).
func (m *Model) Title() string {
	region := m.place.Region
	if region == "" {
		region = m.d.Stats.Region
	}
	if region != "" {
		return "function " + widget.Clean(m.name) + " (" + widget.Clean(region) + ")"
	}
	return "function " + widget.Clean(m.name)
}

// Info says which list is shown and what it is drawn from.
func (m *Model) Info() string {
	return fmt.Sprintf("%s · from the newest %d reported · since flowtop started", listNames[m.list], m.d.Held)
}

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = max(w, 1), max(h, 1)
	m.layout()
}

// Filter implements screen.Filterer.
func (m *Model) Filter() string { return m.filter }

// SetFilter implements screen.Filterer: words match the request ID, status
// and error; status:failed, error:X, kind:cold select.
func (m *Model) SetFilter(q string) {
	m.filter = q
	m.apply()
	m.tbl.SetCursor(0)
}

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	return screen.KeyMap{
		Short:  []key.Binding{m.keys.Next, m.keys.Open, m.keys.Logs},
		Groups: [][]key.Binding{{m.keys.Next, m.keys.Open, m.keys.Logs}, m.keys.List.Bindings()},
	}
}

type loaded graph.FunctionDetail

// Refresh reads the function's detail.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	feed, name, place := m.feed, m.name, m.place
	return func() tea.Msg {
		if pf, ok := feed.(PlacedFeed); ok && (place.Region != "" || place.Account != "") {
			return screen.Loaded{ID: ID, Seq: seq, Data: loaded(pf.FunctionDetailIn(place))}
		}
		return screen.Loaded{ID: ID, Seq: seq, Data: loaded(feed.FunctionDetail(name))}
	}
}

// Update implements screen.Screen.
func (m *Model) Update(msg tea.Msg) (screen.Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case screen.Loaded:
		if d, ok := msg.Data.(loaded); ok {
			keep := m.cursorRequest()
			m.d, m.loaded = graph.FunctionDetail(d), true
			m.layout()
			for i, r := range m.shown {
				if r.RequestID == keep {
					m.tbl.SetCursor(i)
				}
			}
		}
		return m, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.keys.Next):
			m.list = (m.list + 1) % len(listNames)
			m.layout()
			m.tbl.SetCursor(0)
			return m, nil
		case key.Matches(msg, m.keys.Logs):
			return m, screen.Cmd(screen.Open{To: LogsID, Arg: m.name})
		case key.Matches(msg, m.keys.Open):
			if id := m.cursorRequest(); id != "" {
				return m, screen.Cmd(screen.Open{To: EventID, Arg: id})
			}
			return m, nil
		}
	}
	m.tbl.Update(msg)
	return m, nil
}

func (m *Model) cursorRequest() string {
	if i := m.tbl.Cursor(); i < len(m.shown) {
		return m.shown[i].RequestID
	}
	return ""
}

// apply picks the list and filters it.
func (m *Model) apply() {
	rows := [][]graph.InvocationRow{m.d.Recent, m.d.Slowest, m.d.Failed}[m.list]
	q := widget.ParseQuery(m.filter)
	m.shown = m.shown[:0]
	for _, r := range rows {
		status := r.Status.String()
		if r.Failed {
			status += " failed"
		}
		kind := "warm"
		if r.InitDuration > 0 {
			kind = "cold"
		}
		if q.Match(r.RequestID+" "+r.ErrorType+" "+status, func(k string) string {
			switch k {
			case "status":
				return status
			case "error":
				return r.ErrorType
			case "kind":
				return kind
			}
			return ""
		}) {
			m.shown = append(m.shown, r)
		}
	}
	m.tbl.SetSort(map[int]int{listRecent: colStart, listSlowest: colDuration, listFailed: colStart}[m.list], true)
	m.tbl.SetRows(len(m.shown), m.cells)
	switch {
	case m.filter != "":
		m.tbl.Empty = "no invocation matches " + widget.Clean(m.filter)
	case m.list == listFailed:
		m.tbl.Empty = "no failed invocation held"
	default:
		m.tbl.Empty = "no invocation reported yet"
	}
}

func (m *Model) cells(i int) []string {
	r := m.shown[i]
	st := m.env.St
	status := r.Status.String()
	switch {
	case r.Failed:
		status = st.Bad.Render(status)
	case r.Status.String() == "success":
		status = st.OK.Render("ok")
	}
	init := "-"
	if r.InitDuration > 0 {
		init = st.Warn.Render(widget.Dur(r.InitDuration))
	}
	mem := "-"
	if r.MemorySizeMB > 0 {
		mem = fmt.Sprintf("%d/%d MB", r.MemoryUsedMB, r.MemorySizeMB)
	}
	return []string{
		widget.Age(m.env.Now(), r.Start) + " ago", widget.Clean(r.RequestID), widget.Dur(r.Duration), widget.Dur(r.BilledDuration),
		init, mem, status, widget.Clean(r.ErrorType), fmt.Sprintf("$%.7f", r.CostUSD), fmt.Sprint(r.Lines),
	}
}

// sections is how many lines go to the summary and to the histogram and
// errors panel, for a body h lines high: the table keeps at least 6.
func sections(h, histLines, errLines int) (summary, panel int) {
	summary = min(3, max(h-6, 0))
	want := max(histLines, errLines) + 1
	panel = min(want, max(h-summary-6-1, 0))
	if panel < 3 {
		panel = 0
	}
	return summary, panel
}

// layout draws the lines above the table and sizes the table under them.
func (m *Model) layout() {
	m.top = m.top[:0]
	if !m.loaded {
		m.top = append(m.top, m.env.St.Dim.Render("reading…"))
	} else if !m.d.Found {
		m.top = append(m.top, widget.Fit("no function "+widget.Clean(m.name)+" seen yet", m.w))
	} else {
		sum, panel := sections(m.h, len(m.d.Histogram), len(m.d.Errors))
		m.top = append(m.top, m.summary()[:sum]...)
		if panel > 0 {
			m.top = append(m.top, "")
			left, right := m.w/2, m.w-m.w/2
			hist, errs := m.histogram(left-1, panel), m.errors(right-1, panel)
			for i := 0; i < max(len(hist), len(errs)); i++ {
				var l, r string
				if i < len(hist) {
					l = hist[i]
				}
				if i < len(errs) {
					r = errs[i]
				}
				m.top = append(m.top, widget.Fit(l, left)+widget.Fit(r, right))
			}
		}
	}
	m.top = append(m.top, m.tabs())
	m.tbl.SetSize(m.w, max(m.h-len(m.top), 2))
	m.apply()
}

func (m *Model) tabs() string {
	var parts []string
	for i, n := range listNames {
		count := [][]graph.InvocationRow{m.d.Recent, m.d.Slowest, m.d.Failed}[i]
		label := fmt.Sprintf("%s (%d)", n, len(count))
		if i == m.list {
			parts = append(parts, m.env.St.Bold.Render("["+label+"]"))
		} else {
			parts = append(parts, " "+label+" ")
		}
	}
	return widget.Fit(strings.Join(parts, " ")+m.env.St.Dim.Render("   tab switches · enter opens the event"), m.w)
}

// summary is three lines: counts and cold starts; latency and memory; cost.
func (m *Model) summary() []string {
	d, s, st := m.d, m.d.Stats, m.env.St
	errs := fmt.Sprintf("errors %s", widget.Thousands(s.Errors))
	if s.Invocations > 0 {
		errs += fmt.Sprintf(" (%.1f%%)", 100*float64(s.Errors)/float64(s.Invocations))
	}
	if s.Errors > 0 {
		errs = st.Bad.Render(errs)
	}
	cold := fmt.Sprintf("cold starts %s", widget.Thousands(d.ColdStarts))
	if d.ColdStarts > 0 {
		cold += fmt.Sprintf(" · init p50 %s p95 %s", widget.Dur(d.InitP50), widget.Dur(d.InitP95))
	}
	l1 := fmt.Sprintf("invocations %s · %s · timeouts %s · %s", widget.Thousands(s.Invocations), errs, widget.Thousands(s.Timeouts), cold)
	l2 := fmt.Sprintf("duration p50 %s p95 %s p99 %s · memory ", widget.Dur(s.P50), widget.Dur(s.P95), widget.Dur(s.P99))
	if s.MemoryMB > 0 {
		used := max(d.MemUsedP95, s.MaxMemoryUsedMB)
		pct := 100 * float64(used) / float64(s.MemoryMB)
		bar := meter(pct/100, 10)
		if pct >= 90 {
			bar = st.Bad.Render(bar)
		}
		l2 += fmt.Sprintf("%s max %d / %d MB (%.0f%%) · p50 %d p95 %d MB", bar, s.MaxMemoryUsedMB, s.MemoryMB, pct, d.MemUsedP50, d.MemUsedP95)
	} else {
		l2 += fmt.Sprintf("max %d MB (configured size unknown)", s.MaxMemoryUsedMB)
	}
	l3 := fmt.Sprintf("cost $%.7f per invocation · $%.4f so far · $%.2f per month at this rate · %s", d.CostPerInvocationUSD, s.CostUSD, s.CostPerMonthUSD, widget.Clean(s.Architecture))
	return []string{widget.Fit(l1, m.w), widget.Fit(l2, m.w), widget.Fit(l3, m.w)}
}

// meter is a bar of n cells filled to frac with eighths.
func meter(frac float64, n int) string {
	frac = min(max(frac, 0), 1)
	eighths := int(frac*float64(n*8) + 0.5)
	full := eighths / 8
	out := strings.Repeat("█", full)
	if r := eighths % 8; r > 0 && full < n {
		out += string([]rune("▏▎▍▌▋▊▉")[r-1])
		full++
	}
	return out + strings.Repeat("░", n-full)
}

// histogram draws the duration buckets as text bars, at most h lines with
// its title; buckets past that are summed into the last line.
func (m *Model) histogram(w, h int) []string {
	out := []string{m.env.St.Head.Render("duration histogram")}
	b := m.d.Histogram
	if len(b) == 0 {
		return append(out, m.env.St.Dim.Render("no invocation reported yet"))
	}
	if len(b) > h-1 {
		// Keep the first h-2 buckets and sum the rest into one.
		rest := graph.DurationBucket{}
		for _, x := range b[h-2:] {
			rest.Count += x.Count
		}
		b = append(append([]graph.DurationBucket(nil), b[:h-2]...), rest)
	}
	var most uint64
	for _, x := range b {
		most = max(most, x.Count)
	}
	labels := make([]string, len(b))
	lw := 0
	for i, x := range b {
		switch {
		case x.Upper == 0 && i > 0 && b[i-1].Upper > 0:
			labels[i] = ">" + widget.Dur(b[i-1].Upper)
		case x.Upper == 0:
			labels[i] = "slower"
		default:
			labels[i] = "≤" + widget.Dur(x.Upper)
		}
		lw = max(lw, ansi.StringWidth(labels[i]))
	}
	barW := max(w-lw-2-8, 4)
	for i, x := range b {
		frac := 0.0
		if most > 0 {
			frac = float64(x.Count) / float64(most)
		}
		bar := strings.TrimRight(meter(frac, barW), "░")
		out = append(out, widget.Fit(fmt.Sprintf("%*s %s %s", lw, labels[i], bar, widget.Thousands(x.Count)), w))
	}
	return out
}

// errors lists the error types, most frequent first, at most h lines with
// its title.
func (m *Model) errors(w, h int) []string {
	out := []string{m.env.St.Head.Render("errors by type")}
	if len(m.d.Errors) == 0 {
		return append(out, m.env.St.OK.Render("none"))
	}
	for i, e := range m.d.Errors {
		if len(out) == h-1 && i < len(m.d.Errors)-1 {
			out = append(out, m.env.St.Dim.Render(fmt.Sprintf("… %d more types", len(m.d.Errors)-i)))
			break
		}
		line := fmt.Sprintf("%6s  %s", widget.Thousands(e.Count), widget.Clean(e.Type))
		if !e.Last.IsZero() {
			line += m.env.St.Dim.Render(" · last " + widget.Age(m.env.Now(), e.Last) + " ago")
		}
		out = append(out, widget.Fit(m.env.St.Bad.Render(line), w))
	}
	return out
}

// View implements screen.Screen.
func (m *Model) View() string {
	lines := append(append([]string(nil), m.top...), strings.Split(m.tbl.View(), "\n")...)
	return widget.Clip(lines, m.w, m.h)
}
