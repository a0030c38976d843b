// Package traces is the `:traces` screen: the newest, slowest or failed
// traces the graph holds, with their root service and operation, duration,
// span count and errors, whether or not their spans carry messaging
// attributes. Enter opens the trace's waterfall.
package traces

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
const ID screen.ID = "traces"

// traceScreen is the screen enter opens (tui/screens/trace).
const traceScreen screen.ID = "trace"

// Feed is the slice of the engine this screen reads.
type Feed interface {
	Traces(graph.TraceQuery) graph.TracePage
}

// Spec is the registry line.
func Spec(f Feed) screen.Spec {
	return screen.Spec{ID: ID, Words: []string{"traces", "tr"}, New: func(env screen.Env, _ any) screen.Screen { return New(env, f) }}
}

// Keys are the screen's bindings.
type Keys struct {
	Open, Sort, Failed key.Binding
	List               widget.ListKeys
}

// DefaultKeys returns the screen's bindings.
func DefaultKeys() Keys {
	return Keys{
		Open:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open trace")),
		Sort:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "recent/slowest/failed")),
		Failed: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "failed only")),
		List:   widget.DefaultListKeys(),
	}
}

const (
	colID = iota
	colService
	colOperation
	colStarted
	colDuration
	colBar
	colSpans
	colErrors
)

// limit is how many rows one read asks for: more than a screen, so the
// cursor can move without a read, and few enough to copy on every tick.
const limit = 2000

// Model is the traces screen.
type Model struct {
	env    screen.Env
	feed   Feed
	keys   Keys
	tbl    widget.Table
	page   graph.TracePage
	shown  []graph.TraceRow
	sort   graph.TraceSort
	filter string
	maxDur float64
	toTop  bool // the order changed: the next page starts at its top
}

// New returns the traces screen.
func New(env screen.Env, f Feed) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys()}
	m.tbl = widget.NewTable(env.St, []widget.Column{
		colID:        {Title: "TRACE", Priority: 3},
		colService:   {Title: "SERVICE", Priority: 0, Min: 10, Max: 28},
		colOperation: {Title: "OPERATION", Priority: 0, Min: 12, Max: 60},
		colStarted:   {Title: "STARTED", Priority: 2},
		colDuration:  {Title: "DURATION", Priority: 0},
		colBar:       {Title: "", Priority: 6, Min: 6, Max: 24},
		colSpans:     {Title: "SPANS", Priority: 1},
		colErrors:    {Title: "ERRORS", Priority: 1},
	})
	m.setEmpty()
	m.tbl.SetSort(colStarted, true)
	return m
}

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen.
func (m *Model) Title() string { return "traces" }

// Info says how the list is ordered and what it covers.
func (m *Model) Info() string {
	s := "sort: " + m.sort.String()
	if m.page.Held > 0 {
		s += fmt.Sprintf(" · of the newest %s of %s traces held", widget.Thousands(m.page.Window), widget.Thousands(m.page.Held))
	}
	return s
}

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) { m.tbl.SetSize(w, h) }

// Filter implements screen.Filterer.
func (m *Model) Filter() string { return m.filter }

// SetFilter implements screen.Filterer.
func (m *Model) SetFilter(q string) {
	if q == m.filter {
		return
	}
	m.filter = q
	m.apply("")
	m.tbl.SetCursor(0)
	m.setEmpty()
}

func (m *Model) setEmpty() {
	switch {
	case m.filter != "":
		m.tbl.Empty = "no trace matches " + widget.Clean(m.filter)
	case m.sort == graph.TraceSortFailed:
		m.tbl.Empty = "no failed trace among the newest"
	default:
		m.tbl.Empty = "no trace yet: spans come from X-Ray or OTLP (--otlp)"
	}
}

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	k := m.keys
	return screen.KeyMap{
		Short:  []key.Binding{k.Open, k.Sort, k.Failed},
		Groups: [][]key.Binding{{k.Open, k.Sort, k.Failed}, k.List.Bindings()},
	}
}

type loaded graph.TracePage

// Refresh reads the list. Plain words filter in the graph, over its whole
// window; field terms (status:failed, source:cart) filter here.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	feed, q := m.feed, m.query()
	return func() tea.Msg { return screen.Loaded{ID: ID, Seq: seq, Data: loaded(feed.Traces(q))} }
}

func (m *Model) query() graph.TraceQuery {
	p := widget.ParseQuery(m.filter)
	q := graph.TraceQuery{Sort: m.sort, Limit: limit}
	if len(p.Fields) == 0 {
		q.Words, q.Invert = p.Words, p.Invert
	}
	return q
}

// Update implements screen.Screen.
func (m *Model) Update(msg tea.Msg) (screen.Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case screen.Loaded:
		if d, ok := msg.Data.(loaded); ok {
			keep := ""
			if r, ok := m.selected(); ok && !m.toTop {
				keep = r.ID.String()
			}
			m.toTop = false
			m.page = graph.TracePage(d)
			m.apply(keep)
		}
		return m, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.keys.Open):
			if r, ok := m.selected(); ok {
				return m, screen.Cmd(screen.Open{To: traceScreen, Arg: r.ID})
			}
			return m, nil
		case key.Matches(msg, m.keys.Sort):
			m.sort = (m.sort + 1) % 3
			return m, m.resort()
		case key.Matches(msg, m.keys.Failed):
			if m.sort == graph.TraceSortFailed {
				m.sort = graph.TraceSortRecent
			} else {
				m.sort = graph.TraceSortFailed
			}
			return m, m.resort()
		}
	}
	m.tbl.Update(msg)
	return m, nil
}

func (m *Model) resort() tea.Cmd {
	m.tbl.SetCursor(0)
	m.toTop = true
	col := colStarted
	if m.sort == graph.TraceSortSlowest {
		col = colDuration
	}
	m.tbl.SetSort(col, true)
	m.setEmpty()
	return tea.Batch(screen.Cmd(screen.Reload{}), screen.Say(screen.LevelInfo, "traces: "+m.sort.String()))
}

func (m *Model) selected() (graph.TraceRow, bool) {
	if i := m.tbl.Cursor(); i < len(m.shown) {
		return m.shown[i], true
	}
	return graph.TraceRow{}, false
}

// apply filters the page by the filter's field terms; the cursor stays on
// the trace keep when it is still listed.
func (m *Model) apply(keep string) {
	p := widget.ParseQuery(m.filter)
	shown := m.page.Rows
	if len(p.Fields) > 0 {
		shown = make([]graph.TraceRow, 0, len(m.page.Rows))
		for _, r := range m.page.Rows {
			if p.Match(r.ID.String()+" "+r.RootService+" "+r.RootName, func(k string) string { return field(r, k) }) {
				shown = append(shown, r)
			}
		}
	} else if len(p.Words) > 0 {
		// The graph filtered; the fake and stale pages are filtered again.
		shown = shown[:0:0]
		for _, r := range m.page.Rows {
			if p.Match(r.ID.String()+" "+r.RootService+" "+r.RootName, func(string) string { return "" }) {
				shown = append(shown, r)
			}
		}
	}
	m.shown = shown
	m.maxDur = 0
	for _, r := range shown {
		m.maxDur = max(m.maxDur, float64(r.Duration))
	}
	m.tbl.SetRows(len(shown), m.cells)
	if keep != "" {
		for i, r := range shown {
			if r.ID.String() == keep {
				m.tbl.SetCursor(i)
				break
			}
		}
	}
}

func field(r graph.TraceRow, k string) string {
	switch k {
	case "status", "error":
		if r.Errors > 0 {
			return "failed error"
		}
		if r.InProgress {
			return "in-progress"
		}
		return "ok"
	case "source", "fn":
		return r.RootService
	case "type", "kind":
		return r.RootName
	}
	return ""
}

func (m *Model) cells(i int) []string {
	r := m.shown[i]
	st := m.env.St
	// The random end of the ID: an X-Ray ID starts with its epoch seconds.
	id := r.ID.String()[20:]
	svc := widget.Clean(r.RootService)
	op := widget.Clean(r.RootName)
	if r.RootMissing {
		op += st.Dim.Render(" (no root yet)")
	}
	dur := widget.Dur(r.Duration)
	if r.InProgress {
		dur += "…"
	}
	errs := "0"
	if r.Errors > 0 {
		errs = st.Bad.Render(fmt.Sprint(r.Errors))
		svc = st.Bad.Render("✗ ") + svc
	}
	bar := ""
	if m.maxDur > 0 {
		n := int(float64(r.Duration) / m.maxDur * 24)
		bar = strings.Repeat("▇", max(n, 1))
	}
	return []string{id, svc, op, r.Start.UTC().Format("15:04:05.000"), dur, st.Dim.Render(bar), fmt.Sprint(r.Spans), errs}
}

// View implements screen.Screen.
func (m *Model) View() string { return m.tbl.View() }
