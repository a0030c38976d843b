// Package trace is the `:trace <id>` screen: one trace as a waterfall over a
// labelled time axis, with a cursor on spans, folding, the critical path
// marked, async hops (a producer's end to its consumer's start: a queue
// wait) drawn as labelled gaps, and the span under the cursor in a details
// pane (beside the waterfall from 160 columns, below it otherwise). Enter on
// a span with links opens the linked span's trace; the root's `-` comes back.
package trace

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

// ID names the screen.
const ID screen.ID = "trace"

// eventScreen is the screen `e` opens with a span's invocation (tui/screens/event).
const eventScreen screen.ID = "event"

// Feed is the slice of the engine this screen reads.
type Feed interface {
	Trace(id tracing.TraceID) (graph.Trace, error)
}

// Target opens the screen on a trace with the cursor on one of its spans
// (a zero Span: the first row).
type Target struct {
	Trace tracing.TraceID
	Span  tracing.SpanID
}

// Spec is the registry line. The argument is a trace ID as typed (W3C or
// X-Ray form), a [tracing.TraceID] or a [Target].
func Spec(f Feed) screen.Spec {
	return screen.Spec{
		ID: ID, Words: []string{"trace"}, Arg: "trace needs an ID: :trace <trace ID, 32 hex digits or 1-xxxxxxxx-xxxx…>",
		New: func(env screen.Env, arg any) screen.Screen { return New(env, f, arg) },
	}
}

// Keys are the screen's bindings.
type Keys struct {
	Follow, NextLink, Event, Toggle, Collapse, Expand, DetailsDown, DetailsUp key.Binding
	List                                                                      widget.ListKeys
}

// DefaultKeys returns the screen's bindings.
func DefaultKeys() Keys {
	return Keys{
		Follow:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "follow link")),
		NextLink:    key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next link")),
		Event:       key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "open event")),
		Toggle:      key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "fold")),
		Collapse:    key.NewBinding(key.WithKeys("h", "left"), key.WithHelp("h", "collapse")),
		Expand:      key.NewBinding(key.WithKeys("l", "right"), key.WithHelp("l", "expand")),
		DetailsDown: key.NewBinding(key.WithKeys("J", "shift+down"), key.WithHelp("J/K", "scroll details")),
		DetailsUp:   key.NewBinding(key.WithKeys("K", "shift+up"), key.WithHelp("K", "details up")),
		List:        widget.DefaultListKeys(),
	}
}

// node is one span in the tree.
type node struct {
	span     int // index in Model.tr.Spans
	parent   int // node index; -1 for a root (or an orphan whose parent was not seen)
	children []int
	depth    int
	start    int64 // ns from the trace's start
	end      int64 // ns from the trace's start; the trace's end while in progress
	critical bool
	async    int // the producer node this consumer waited on, or -1
	wait     time.Duration
}

// Model is the trace screen.
type Model struct {
	env    screen.Env
	feed   Feed
	keys   Keys
	target Target
	argErr error
	prefix string // the first or last digits of the trace ID, to find among the traces held

	tr     graph.Trace
	err    error
	loaded bool

	nodes    []node
	roots    []int
	total    int64 // the trace's span of time, ns
	bySpan   map[tracing.SpanID]int
	folded   map[tracing.SpanID]bool
	rows     []int // node indexes on screen, in order
	cursor   int
	off      int
	link     int // the selected link of the span under the cursor
	critical int // spans on the critical path

	w, h   int
	lay    layout
	vp     viewport.Model
	lines  map[int]string // drawn rows (not the cursor's) by node, for this layout
	detail int            // the node the details pane shows, -1 for none
	tickAt []int64        // the axis's ticks for this layout and trace
	sum    string         // the summary line, once per trace
}

// New returns the trace screen for arg (see [Spec]).
func New(env screen.Env, f Feed, arg any) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys(), folded: map[tracing.SpanID]bool{}, detail: -1, w: 80, h: 20}
	switch a := arg.(type) {
	case Target:
		m.target = a
	case tracing.TraceID:
		m.target.Trace = a
	case string:
		a = strings.ToLower(strings.TrimSpace(a))
		m.target.Trace, m.argErr = tracing.ParseTraceID(a)
		if m.argErr != nil && isHexPrefix(a) {
			// The traces list shows an ID's last 12 digits: `:trace` takes
			// them, or its first ones.
			m.prefix, m.argErr = a, nil
		}
	default:
		m.argErr = errors.New("trace: no trace ID")
	}
	m.vp = viewport.New()
	m.vp.KeyMap = viewport.KeyMap{}
	m.SetSize(m.w, m.h)
	m.enable()
	return m
}

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen.
func (m *Model) Title() string {
	if m.argErr != nil {
		return "trace"
	}
	if m.prefix != "" {
		return "trace " + m.prefix + "…"
	}
	return "trace " + m.target.Trace.String()
}

// Info says where the cursor is.
func (m *Model) Info() string {
	if len(m.rows) == 0 {
		return ""
	}
	return fmt.Sprintf("span %d of %d shown (%d in the trace)", m.cursor+1, len(m.rows), len(m.nodes))
}

// layout is where the parts of the screen go.
type layout struct {
	side        bool // details beside the waterfall (else below it, or none)
	wfW, wfH    int  // the waterfall, with its summary, axis and status lines
	nameW, barW int  // columns of a row: name, bar area; then the duration
	rowsH       int  // span rows on screen
	detW, detH  int  // the details pane; 0 high: no pane
}

const durW = 8

// computeLayout places the waterfall and the details pane in w×h.
func computeLayout(w, h int) layout {
	var l layout
	w, h = max(w, 1), max(h, 1)
	switch {
	case w >= 160:
		l.side = true
		l.detW = min(max(w*2/5, 60), 90)
		l.wfW, l.wfH = w-l.detW-1, h
		l.detH = h
	case h >= 14:
		l.detH = min(max(h/3, 5), 16)
		l.wfW, l.wfH = w, h-l.detH-1
		l.detW = w
	default:
		l.wfW, l.wfH = w, h
	}
	l.rowsH = max(l.wfH-3, 0)
	l.nameW = min(max(l.wfW*2/5, 12), 56)
	l.barW = max(l.wfW-l.nameW-1-durW-1, 1)
	return l
}

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = max(w, 1), max(h, 1)
	m.lay = computeLayout(m.w, m.h)
	m.vp.SetWidth(max(m.lay.detW, 1))
	m.vp.SetHeight(max(m.lay.detH, 1))
	m.lines = map[int]string{}
	m.tickAt = m.ticks()
	m.detail = -1
	m.scroll()
	m.details()
}

func (m *Model) enable() {
	sp, ok := m.current()
	m.keys.Follow.SetEnabled(ok && len(sp.Links) > 0)
	m.keys.NextLink.SetEnabled(ok && len(sp.Links) > 1)
	m.keys.Event.SetEnabled(ok && sp.InvocationID != "")
	has := len(m.rows) > 0
	m.keys.Toggle.SetEnabled(has)
	m.keys.Collapse.SetEnabled(has)
	m.keys.Expand.SetEnabled(has)
	m.keys.DetailsDown.SetEnabled(has && m.lay.detH > 0)
	m.keys.DetailsUp.SetEnabled(false) // help shows J/K once
}

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	k := m.keys
	main := []key.Binding{k.Follow, k.NextLink, k.Event, k.Toggle, k.Collapse, k.Expand, k.DetailsDown}
	return screen.KeyMap{Short: main, Groups: [][]key.Binding{main, k.List.Bindings()}}
}

type loaded struct {
	tr  graph.Trace
	err error
	id  tracing.TraceID // the trace the prefix named
}

// Lister is a feed that lists the traces it holds; with it `:trace` takes
// the last digits of an ID, as the traces list shows them, or its first.
type Lister interface {
	Traces(graph.TraceQuery) graph.TracePage
}

// isHexPrefix says whether s can begin or end a trace ID: 4 to 31 hex digits.
func isHexPrefix(s string) bool {
	if len(s) < 4 || len(s) > 31 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// resolve finds the one trace held whose ID starts or ends with prefix.
func resolve(feed Feed, prefix string) (tracing.TraceID, error) {
	l, ok := feed.(Lister)
	if !ok {
		return tracing.TraceID{}, fmt.Errorf("trace: %s: give the whole trace ID (32 hex digits or 1-<8 hex>-<24 hex>)", prefix)
	}
	var found []tracing.TraceID
	for _, r := range l.Traces(graph.TraceQuery{Words: []string{prefix}, Limit: 1000}).Rows {
		if id := r.ID.String(); strings.HasPrefix(id, prefix) || strings.HasSuffix(id, prefix) {
			found = append(found, r.ID)
		}
	}
	switch len(found) {
	case 0:
		return tracing.TraceID{}, fmt.Errorf("trace: no trace held starts or ends with %s", prefix)
	case 1:
		return found[0], nil
	}
	return tracing.TraceID{}, fmt.Errorf("trace: %d traces start or end with %s: give more digits", len(found), prefix)
}

// Refresh reads the trace.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	if m.argErr != nil {
		return nil
	}
	feed, id, prefix := m.feed, m.target.Trace, m.prefix
	return func() tea.Msg {
		if prefix != "" {
			var err error
			if id, err = resolve(feed, prefix); err != nil {
				return screen.Loaded{ID: ID, Seq: seq, Data: loaded{err: err}}
			}
		}
		tr, err := feed.Trace(id)
		return screen.Loaded{ID: ID, Seq: seq, Data: loaded{tr: tr, err: err, id: id}}
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
		if m.prefix != "" && d.id.IsValid() {
			m.target.Trace, m.prefix = d.id, ""
		}
		if m.loaded && d.err == nil && m.err == nil && d.tr.Version == m.tr.Version && len(d.tr.Spans) == len(m.tr.Spans) {
			return m, nil // unchanged: keep what is drawn
		}
		var keep tracing.SpanID
		if sp, ok := m.current(); ok {
			keep = sp.SpanID
		} else if !m.loaded {
			keep = m.target.Span
		}
		m.tr, m.err, m.loaded = d.tr, d.err, true
		m.build()
		m.place(keep)
		return m, nil
	case tea.MouseWheelMsg:
		if d := widget.WheelStep(msg); d != 0 {
			m.move(d)
		}
		return m, nil
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	lk := m.keys.List
	v := max(m.lay.rowsH, 1)
	switch {
	case key.Matches(k, lk.Up):
		m.move(-1)
	case key.Matches(k, lk.Down):
		m.move(1)
	case key.Matches(k, lk.PageUp):
		m.move(-v)
	case key.Matches(k, lk.PageDown):
		m.move(v)
	case key.Matches(k, lk.HalfUp):
		m.move(-max(v/2, 1))
	case key.Matches(k, lk.HalfDown):
		m.move(max(v/2, 1))
	case key.Matches(k, lk.Top):
		m.move(-len(m.rows))
	case key.Matches(k, lk.Bottom):
		m.move(len(m.rows))
	case key.Matches(k, m.keys.Toggle):
		if n, ok := m.at(); ok && len(m.nodes[n].children) > 0 {
			m.fold(n, !m.folded[m.spanOf(n).SpanID])
		}
	case key.Matches(k, m.keys.Collapse):
		if n, ok := m.at(); ok {
			if len(m.nodes[n].children) > 0 && !m.folded[m.spanOf(n).SpanID] {
				m.fold(n, true)
			} else if p := m.nodes[n].parent; p >= 0 {
				m.place(m.spanOf(p).SpanID) // on a leaf or folded span, h goes to the parent
			}
		}
	case key.Matches(k, m.keys.Expand):
		if n, ok := m.at(); ok && m.folded[m.spanOf(n).SpanID] {
			m.fold(n, false)
		} else if ok && len(m.nodes[n].children) > 0 {
			m.move(1)
		}
	case key.Matches(k, m.keys.NextLink):
		if sp, ok := m.current(); ok && len(sp.Links) > 1 {
			m.link = (m.link + 1) % len(sp.Links)
			m.detail = -1
			m.details()
		}
	case pressed(k, m.keys.Follow):
		sp, ok := m.current()
		if !ok || len(sp.Links) == 0 {
			return screen.Say(screen.LevelInfo, "this span has no links")
		}
		l := sp.Links[min(m.link, len(sp.Links)-1)]
		if !l.TraceID.IsValid() {
			return screen.Say(screen.LevelWarn, "this link names no trace")
		}
		if l.TraceID == m.tr.ID {
			if _, in := m.bySpan[l.SpanID]; in {
				m.place(l.SpanID)
				return screen.Say(screen.LevelInfo, "linked span is in this trace (- does not come back here; k/j do)")
			}
		}
		return screen.Cmd(screen.Open{To: ID, Arg: Target{Trace: l.TraceID, Span: l.SpanID}})
	case pressed(k, m.keys.Event):
		if sp, ok := m.current(); ok && sp.InvocationID != "" {
			return screen.Cmd(screen.Open{To: eventScreen, Arg: sp.InvocationID})
		}
		return screen.Say(screen.LevelInfo, "this span names no invocation")
	case key.Matches(k, m.keys.DetailsDown):
		m.vp.ScrollDown(1)
	case pressed(k, m.keys.DetailsUp): // disabled only to show J/K once in help
		m.vp.ScrollUp(1)
	}
	return nil
}

// pressed matches a binding whether or not it is enabled: a disabled key
// still says why it does nothing.
func pressed(k tea.KeyPressMsg, b key.Binding) bool { return slices.Contains(b.Keys(), k.String()) }

func (m *Model) spanOf(n int) *tracing.Span { return &m.tr.Spans[m.nodes[n].span] }

// at is the node under the cursor.
func (m *Model) at() (int, bool) {
	if m.cursor < 0 || m.cursor >= len(m.rows) {
		return 0, false
	}
	return m.rows[m.cursor], true
}

func (m *Model) current() (*tracing.Span, bool) {
	if n, ok := m.at(); ok {
		return m.spanOf(n), true
	}
	return nil, false
}

func (m *Model) move(d int) {
	if len(m.rows) == 0 {
		return
	}
	was := m.cursor
	m.cursor = min(max(m.cursor+d, 0), len(m.rows)-1)
	if m.cursor != was {
		m.link = 0
	}
	m.scroll()
	m.details()
}

func (m *Model) scroll() {
	v := max(m.lay.rowsH, 1)
	if m.cursor < m.off {
		m.off = m.cursor
	}
	if m.cursor >= m.off+v {
		m.off = m.cursor - v + 1
	}
	m.off = min(max(m.off, 0), max(len(m.rows)-v, 0))
}

// fold folds or unfolds node n; the cursor stays on it.
func (m *Model) fold(n int, fold bool) {
	id := m.spanOf(n).SpanID
	if fold {
		m.folded[id] = true
	} else {
		delete(m.folded, id)
	}
	m.flatten()
	m.place(id)
}

// place puts the cursor on span id, unfolding its ancestors; an unknown ID
// keeps the cursor where it is (within bounds).
func (m *Model) place(id tracing.SpanID) {
	if n, ok := m.bySpan[id]; ok && id.IsValid() {
		unfolded := false
		for p := m.nodes[n].parent; p >= 0; p = m.nodes[p].parent {
			if m.folded[m.spanOf(p).SpanID] {
				delete(m.folded, m.spanOf(p).SpanID)
				unfolded = true
			}
		}
		if unfolded {
			m.flatten()
		}
		if i := slices.Index(m.rows, n); i >= 0 {
			if i != m.cursor {
				m.link = 0
			}
			m.cursor = i
		}
	}
	m.cursor = min(max(m.cursor, 0), max(len(m.rows)-1, 0))
	m.detail = -1
	m.scroll()
	m.details()
}

// build makes the span tree, the critical path and the async hops, once per
// new trace.
func (m *Model) build() {
	spans := m.tr.Spans
	m.nodes = make([]node, len(spans))
	m.bySpan = make(map[tracing.SpanID]int, len(spans))
	m.roots = m.roots[:0]
	m.lines = map[int]string{}
	m.detail = -1
	var first, last int64
	for i := range spans {
		s := &spans[i]
		if _, dup := m.bySpan[s.SpanID]; !dup {
			m.bySpan[s.SpanID] = i
		}
		st := s.Start.UnixNano()
		if s.Start.IsZero() {
			continue
		}
		if first == 0 || st < first {
			first = st
		}
		if e := s.End.UnixNano(); !s.InProgress && !s.End.IsZero() && e > last {
			last = e
		}
		last = max(last, st)
	}
	m.total = max(last-first, 1)
	for i := range spans {
		s := &spans[i]
		n := &m.nodes[i]
		n.span, n.parent, n.async = i, -1, -1
		if !s.Start.IsZero() {
			n.start = s.Start.UnixNano() - first
		}
		n.end = n.start
		switch {
		case s.InProgress || s.End.IsZero():
			n.end = max(m.total, n.start)
		case s.End.UnixNano()-first > n.start:
			n.end = s.End.UnixNano() - first
		}
		if p, ok := m.bySpan[s.ParentID]; ok && s.ParentID.IsValid() && p != i {
			n.parent = p
		}
	}
	for i := range m.nodes {
		if p := m.nodes[i].parent; p >= 0 {
			m.nodes[p].children = append(m.nodes[p].children, i)
		} else {
			m.roots = append(m.roots, i)
		}
	}
	// A parent cycle (bad data) is reached from no root: each span found
	// unreached is cut from its parent and becomes a root.
	reached := make([]bool, len(m.nodes))
	stack := make([]int, 0, 64)
	reach := func(from int) {
		stack = append(stack[:0], from)
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if reached[n] {
				continue
			}
			reached[n] = true
			stack = append(stack, m.nodes[n].children...)
		}
	}
	for _, r := range m.roots {
		reach(r)
	}
	for i := range m.nodes {
		if reached[i] {
			continue
		}
		p := m.nodes[i].parent
		m.nodes[p].children = slices.DeleteFunc(m.nodes[p].children, func(c int) bool { return c == i })
		m.nodes[i].parent = -1
		m.roots = append(m.roots, i)
		reach(i)
	}
	byStart := func(a, b int) int {
		if c := m.nodes[a].start - m.nodes[b].start; c != 0 {
			return cmpInt(c)
		}
		return a - b
	}
	slices.SortFunc(m.roots, byStart)
	for i := range m.nodes {
		slices.SortFunc(m.nodes[i].children, byStart)
	}
	// Depths, iteratively (a 10,000-span chain must not recurse that deep).
	stack = append(stack[:0], m.roots...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range m.nodes[n].children {
			m.nodes[c].depth = m.nodes[n].depth + 1
			stack = append(stack, c)
		}
	}
	// Async hops: a consumer started after the producer it hangs off (its
	// parent, or a linked span of this trace) ended.
	for i := range m.nodes {
		s := &spans[i]
		if s.Kind != tracing.SpanKindConsumer {
			continue
		}
		from := -1
		if p := m.nodes[i].parent; p >= 0 && spans[p].Kind == tracing.SpanKindProducer {
			from = p
		} else {
			for _, l := range s.Links {
				if p, ok := m.bySpan[l.SpanID]; ok && l.TraceID == m.tr.ID && spans[p].Kind == tracing.SpanKindProducer {
					from = p
					break
				}
			}
		}
		if from >= 0 && m.nodes[i].start > m.nodes[from].end {
			m.nodes[i].async, m.nodes[i].wait = from, time.Duration(m.nodes[i].start-m.nodes[from].end)
		}
	}
	m.markCritical()
	m.tickAt = m.ticks()
	m.sum = m.summary()
	m.flatten()
}

func cmpInt(c int64) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

// markCritical marks the critical path, walking back from the end of the
// trace as Jaeger does: a span's work runs to the end of its subtree (an
// async consumer outlives its producer); of its children, the one whose
// subtree finished last was being waited for, then, before that child
// started, the last one to have finished by then, and so on down each
// picked child.
func (m *Model) markCritical() {
	m.critical = 0
	if len(m.roots) == 0 {
		return
	}
	// subEnd: each node's subtree end, children before parents (reverse pre-order).
	subEnd := make([]int64, len(m.nodes))
	order := make([]int, 0, len(m.nodes))
	stack := slices.Clone(m.roots)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		order = append(order, n)
		stack = append(stack, m.nodes[n].children...)
	}
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		subEnd[n] = max(subEnd[n], m.nodes[n].end)
		if p := m.nodes[n].parent; p >= 0 {
			subEnd[p] = max(subEnd[p], subEnd[n])
		}
	}
	type item struct {
		n     int
		until int64
	}
	// The roots hang off a virtual root spanning the trace: spans whose
	// parent was not seen (a Lambda function's own segment, say) are roots
	// too, and the path runs through them.
	var work []item
	roots := slices.Clone(m.roots)
	slices.SortStableFunc(roots, func(a, b int) int { return cmpInt(subEnd[b] - subEnd[a]) })
	pick := func(byEnd []int, t int64) {
		first := true
		for _, c := range byEnd {
			// The last to finish is waited for; before it started, only one
			// that had finished by then was (one running alongside was not).
			if first && m.nodes[c].start < t || !first && subEnd[c] <= t {
				work = append(work, item{c, t})
				t, first = m.nodes[c].start, false
			}
		}
	}
	pick(roots, math.MaxInt64)
	byEnd := make([]int, 0, 16)
	for len(work) > 0 {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		n := &m.nodes[it.n]
		if n.critical {
			continue
		}
		n.critical = true
		m.critical++
		t := min(subEnd[it.n], it.until)
		byEnd = append(byEnd[:0], n.children...)
		slices.SortStableFunc(byEnd, func(a, b int) int { return cmpInt(subEnd[b] - subEnd[a]) })
		pick(byEnd, t)
	}
}

// flatten lists the rows on screen: the tree in order, without the
// children of folded spans.
func (m *Model) flatten() {
	m.rows = m.rows[:0]
	stack := make([]int, 0, 64)
	for i := len(m.roots) - 1; i >= 0; i-- {
		stack = append(stack, m.roots[i])
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		m.rows = append(m.rows, n)
		if m.folded[m.spanOf(n).SpanID] {
			continue
		}
		ch := m.nodes[n].children
		for i := len(ch) - 1; i >= 0; i-- {
			stack = append(stack, ch[i])
		}
	}
	m.lines = map[int]string{}
	m.cursor = min(max(m.cursor, 0), max(len(m.rows)-1, 0))
	m.scroll()
	m.enable()
}

// col is the bar column of a time offset.
func (m *Model) col(t int64) int {
	bw := m.lay.barW
	if m.total <= 0 {
		return 0
	}
	c := int(float64(t) / float64(m.total) * float64(bw))
	return min(max(c, 0), bw-1)
}

// colEnd is the column a bar ending at t stops before.
func (m *Model) colEnd(t int64) int {
	if m.total <= 0 {
		return 1
	}
	c := int(math.Round(float64(t) / float64(m.total) * float64(m.lay.barW)))
	return min(max(c, 0), m.lay.barW)
}

// ticks returns the axis's tick offsets (ns) at a round step with room for
// their labels.
func (m *Model) ticks() []int64 {
	bw := m.lay.barW
	n := max(bw/12, 1)
	raw := float64(m.total) / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(max(raw, 1))))
	step := p
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= raw {
			step = f * p
			break
		}
	}
	var out []int64
	for t := 0.0; t <= float64(m.total) && len(out) < 64; t += step {
		out = append(out, int64(t))
	}
	return out
}

func tickLabel(t int64) string {
	if t == 0 {
		return "0"
	}
	return widget.Dur(time.Duration(t))
}

// axis is the time axis line over the bars.
func (m *Model) axis() string {
	bw := m.lay.barW
	cells := []rune(strings.Repeat(" ", bw))
	for _, t := range m.tickAt {
		c := m.col(t)
		label := []rune("╷" + tickLabel(t))
		if c+len(label) > bw {
			continue
		}
		if c > 0 && cells[c-1] != ' ' {
			continue
		}
		copy(cells[c:], label)
	}
	head := widget.Fit(m.env.St.Dim.Render("service · operation"), m.lay.nameW)
	return head + " " + m.env.St.Dim.Render(string(cells)) + " " + m.env.St.Dim.Render(widget.Fit("duration", durW))
}

// row draws node n's line (without the cursor's reverse video).
func (m *Model) row(n int) string {
	st := m.env.St
	nd := &m.nodes[n]
	sp := m.spanOf(n)
	l := m.lay
	gutter := " "
	if nd.critical {
		gutter = "◆"
	}
	indent := strings.Repeat(" ", min(nd.depth, l.nameW/3))
	fold := "  "
	if len(nd.children) > 0 {
		if m.folded[sp.SpanID] {
			fold = "▸ "
		} else {
			fold = "▾ "
		}
	}
	mark := ""
	if nd.parent < 0 && sp.ParentID.IsValid() {
		mark = st.Dim.Render("⋯ ")
	}
	if sp.Status == tracing.StatusError {
		mark += st.Bad.Render("✗ ")
	}
	link := ""
	if len(sp.Links) > 0 {
		link = st.Key.Render(" ↪")
	}
	svc := widget.Clean(sp.Service)
	if p := nd.parent; svc == "" || p >= 0 && m.spanOf(p).Service == sp.Service {
		svc = "" // the parent's service: said once
	} else {
		svc = st.Dim.Render(svc) + " "
	}
	name := widget.Fit(gutter+indent+fold+mark+svc+widget.Clean(sp.Name)+link, l.nameW)
	if m.folded[sp.SpanID] {
		name = widget.Fit(gutter+indent+fold+mark+svc+widget.Clean(sp.Name)+st.Dim.Render(fmt.Sprintf(" (+%d)", m.hidden(n)))+link, l.nameW)
	}

	// Bar area: tick grid, the async wait, the bar.
	bw := l.barW
	cells := []rune(strings.Repeat(" ", bw))
	for _, t := range m.tickAt {
		cells[m.col(t)] = '┊'
	}
	s, e := m.col(nd.start), m.colEnd(nd.end)
	e = min(max(e, s+1), bw)
	gapFrom, gapTo := -1, -1
	if nd.async >= 0 {
		gapFrom, gapTo = min(m.col(m.nodes[nd.async].end)+1, s), s
		for c := gapFrom; c < gapTo; c++ {
			cells[c] = '┄'
		}
		label := []rune(" wait " + widget.Dur(nd.wait) + " ")
		if gapTo-gapFrom >= len(label)+2 {
			copy(cells[gapFrom+(gapTo-gapFrom-len(label))/2:], label)
		}
	}
	barRune := '▒'
	if nd.critical {
		barRune = '█'
	}
	for c := s; c < e; c++ {
		cells[c] = barRune
	}
	barStyle := st.Key
	switch {
	case sp.Status == tracing.StatusError:
		barStyle = st.Bad
	case nd.critical:
		barStyle = st.Warn
	}
	var b strings.Builder
	b.WriteString(st.Dim.Render(string(cells[:min(s, gapFromOr(gapFrom, s))])))
	if gapFrom >= 0 && gapTo > gapFrom {
		b.WriteString(st.Warn.Render(string(cells[gapFrom:gapTo])))
	}
	b.WriteString(barStyle.Render(string(cells[s:e])))
	b.WriteString(st.Dim.Render(string(cells[e:])))
	dur := widget.Dur(sp.Duration())
	if sp.InProgress {
		dur = "running…"
	}
	return name + " " + b.String() + " " + widget.Fit(dur, durW)
}

func gapFromOr(g, s int) int {
	if g >= 0 {
		return g
	}
	return s
}

// hidden counts the spans under folded node n.
func (m *Model) hidden(n int) int {
	c := 0
	stack := append([]int(nil), m.nodes[n].children...)
	for len(stack) > 0 && c < 1_000_000 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		c++
		stack = append(stack, m.nodes[x].children...)
	}
	return c
}

// details fills the details pane with the span under the cursor, when it changed.
func (m *Model) details() {
	n, ok := m.at()
	if !ok {
		m.vp.SetContentLines(nil)
		m.detail = -1
		m.enable()
		return
	}
	if n == m.detail {
		return
	}
	m.detail = n
	m.vp.SetContentLines(m.detailLines(n))
	m.vp.GotoTop()
	m.enable()
}

func (m *Model) detailLines(n int) []string {
	st := m.env.St
	nd := &m.nodes[n]
	sp := m.spanOf(n)
	status := st.OK.Render("ok")
	switch sp.Status {
	case tracing.StatusError:
		status = st.Bad.Render("error")
	case tracing.StatusUnset:
		status = "unset"
	}
	dur := widget.Dur(sp.Duration())
	if sp.InProgress {
		dur = "in progress"
	}
	kv := func(k, v string) string { return st.Dim.Render(widget.Fit(k, 11)) + " " + v }
	out := []string{
		st.Bold.Render(widget.Clean(sp.Name)),
		kv("kind", sp.Kind.String()) + "  " + st.Dim.Render("status") + " " + status,
		kv("duration", dur+st.Dim.Render("  at +"+tickLabel(nd.start))),
		kv("service", widget.Clean(widget.FirstNonEmpty(sp.Service, "(none)"))),
		kv("span", sp.SpanID.String()),
	}
	if sp.ParentID.IsValid() {
		p := sp.ParentID.String()
		if nd.parent < 0 {
			p += st.Warn.Render(" (not seen)")
		}
		out = append(out, kv("parent", p))
	}
	if nd.critical {
		out = append(out, kv("critical", st.Warn.Render("◆ on the critical path")))
	}
	if sp.StatusMessage != "" {
		out = append(out, kv("message", st.Bad.Render(widget.Clean(sp.StatusMessage))))
	}
	if msg := sp.Messaging; msg.System != "" || msg.Destination != "" {
		v := strings.TrimSpace(widget.Clean(msg.System + " " + msg.Operation + " " + msg.Destination))
		if msg.BatchCount > 0 {
			v += fmt.Sprintf(" (batch of %d)", msg.BatchCount)
		}
		out = append(out, kv("messaging", v))
	}
	if nd.async >= 0 {
		p := m.spanOf(nd.async)
		out = append(out, kv("async", st.Warn.Render("waited "+widget.Dur(nd.wait))+" after "+widget.Clean(p.Service+" "+p.Name)+" ended"))
	}
	if sp.InvocationID != "" {
		v := widget.Clean(sp.InvocationID)
		if sp.ColdStart {
			v += st.Warn.Render(" cold start")
		}
		out = append(out, kv("invocation", v+st.Dim.Render("  (e opens its event)")))
	}
	out = append(out, "", st.Head.Render("attributes"))
	if len(sp.Attrs) == 0 {
		out = append(out, st.Dim.Render("  none kept"))
	}
	for _, k := range slices.Sorted(maps.Keys(sp.Attrs)) {
		out = append(out, "  "+st.Dim.Render(widget.Fit(widget.Clean(k), 24))+" "+widget.Clean(sp.Attrs[k]))
	}
	out = append(out, "", st.Head.Render(fmt.Sprintf("events (%d)", len(sp.Events))))
	if len(sp.Events) == 0 {
		out = append(out, st.Dim.Render("  none"))
	}
	out = append(out, m.eventLines(sp)...)
	out = append(out, "", st.Head.Render(fmt.Sprintf("links (%d)", len(sp.Links))))
	if len(sp.Links) == 0 {
		out = append(out, st.Dim.Render("  none"))
	}
	for i, l := range sp.Links {
		mark := "  "
		if i == m.link {
			mark = st.Key.Render("▶ ")
		}
		where := "trace " + l.TraceID.String()
		if l.TraceID == m.tr.ID {
			where = "this trace"
		}
		line := mark + where + " span " + l.SpanID.String()
		if len(l.Attrs) > 0 {
			var a []string
			for _, k := range slices.Sorted(maps.Keys(l.Attrs)) {
				a = append(a, widget.Clean(k+"="+l.Attrs[k]))
			}
			line += st.Dim.Render(" " + strings.Join(a, " "))
		}
		out = append(out, line)
	}
	if len(sp.Links) > 0 {
		h := "  enter follows ▶"
		if len(sp.Links) > 1 {
			h += ", tab picks another"
		}
		out = append(out, st.Key.Render(h+"; - comes back"))
	}
	return out
}

// maxStackLines is how many lines of an exception's stack trace the details
// pane shows; J/K scroll the pane, and the rest is counted.
const maxStackLines = 12

// eventLines draws a span's events: when each happened after the span
// started, its name, an exception's type and message (in red) and the top of
// its stack trace, and the other attributes as k=v.
func (m *Model) eventLines(sp *tracing.Span) []string {
	st := m.env.St
	var out []string
	for _, ev := range sp.Events {
		at := ""
		if !ev.Time.IsZero() && !sp.Start.IsZero() {
			at = "+" + tickLabel(ev.Time.Sub(sp.Start).Nanoseconds()) + " "
		}
		head := "  " + st.Dim.Render(at) + widget.Clean(ev.Name)
		typ, msg := ev.Attrs["exception.type"], ev.Attrs["exception.message"]
		if typ != "" || msg != "" {
			head += " " + st.Bad.Render(widget.Clean(strings.TrimSpace(typ+": "+msg)))
		}
		out = append(out, head)
		var rest []string
		for _, k := range slices.Sorted(maps.Keys(ev.Attrs)) {
			switch k {
			case "exception.type", "exception.message", "exception.stacktrace":
				continue
			}
			rest = append(rest, widget.Clean(k+"="+ev.Attrs[k]))
		}
		if len(rest) > 0 {
			out = append(out, "    "+st.Dim.Render(strings.Join(rest, " ")))
		}
		if stack := ev.Attrs["exception.stacktrace"]; stack != "" {
			lines := strings.Split(strings.TrimRight(tracing.Sanitize(stack, true), "\n"), "\n")
			for i, l := range lines {
				if i == maxStackLines {
					out = append(out, "    "+st.Dim.Render(fmt.Sprintf("… %d more lines", len(lines)-i)))
					break
				}
				out = append(out, "    "+st.Dim.Render(strings.TrimRight(l, " \t")))
			}
		}
	}
	return out
}

// summary is the waterfall's first line.
func (m *Model) summary() string {
	st := m.env.St
	errs, svcs := 0, map[string]bool{}
	for i := range m.tr.Spans {
		if m.tr.Spans[i].Status == tracing.StatusError {
			errs++
		}
		svcs[m.tr.Spans[i].Service] = true
	}
	root := ""
	if len(m.roots) > 0 {
		r := m.spanOf(m.roots[0])
		root = widget.Clean(r.Service + " " + r.Name)
	}
	s := st.Bold.Render("trace "+m.tr.ID.String()) + "  " + root + fmt.Sprintf("  %s  %s  %s", widget.Dur(time.Duration(m.total)), plural(len(m.tr.Spans), "span"), plural(len(svcs), "service"))
	if errs > 0 {
		s += "  " + st.Bad.Render(plural(errs, "error"))
	}
	if m.tr.Truncated {
		s += "  " + st.Warn.Render(fmt.Sprintf("only the first %d spans are kept", graph.MaxSpansPerTrace))
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// View implements screen.Screen.
func (m *Model) View() string {
	st := m.env.St
	l := m.lay
	var msg string
	switch {
	case m.argErr != nil:
		msg = st.Warn.Render(widget.Clean(m.argErr.Error()))
	case m.err != nil && errors.Is(m.err, graph.ErrTraceNotFound):
		msg = st.Warn.Render("trace " + m.target.Trace.String() + " is not held: not seen yet, or dropped to keep memory bounded (- goes back)")
	case m.err != nil:
		msg = st.Warn.Render(widget.Clean(m.err.Error()))
	case !m.loaded:
		msg = st.Dim.Render("loading trace " + m.target.Trace.String() + "…")
	case len(m.rows) == 0:
		msg = st.Dim.Render("trace " + m.target.Trace.String() + " has no spans")
	}
	if msg != "" {
		return widget.Clip(strings.Split(ansi.Wordwrap(msg, m.w, " "), "\n"), m.w, m.h)
	}
	wf := make([]string, 0, l.wfH)
	wf = append(wf, m.sum, m.axis())
	end := min(m.off+l.rowsH, len(m.rows))
	for i := m.off; i < end; i++ {
		n := m.rows[i]
		line, ok := m.lines[n]
		if !ok {
			line = widget.Fit(m.row(n), l.wfW)
			m.lines[n] = line
		}
		if i == m.cursor {
			line = st.Sel.Render(ansi.Strip(line))
		}
		wf = append(wf, line)
	}
	for len(wf) < l.wfH-1 {
		wf = append(wf, "")
	}
	status := fmt.Sprintf("span %d/%d · ◆ critical path (%d) · ┄ async wait · ↪ links · ⋯ no parent", m.cursor+1, len(m.rows), m.critical)
	wf = append(wf, st.Dim.Render(status))
	wfText := widget.Clip(wf, l.wfW, l.wfH)
	if l.detH == 0 {
		return wfText
	}
	det := strings.Split(m.vp.View(), "\n")
	if l.side {
		left := strings.Split(wfText, "\n")
		out := make([]string, m.h)
		for i := range out {
			d := ""
			if i < len(det) {
				d = det[i]
			}
			out[i] = left[i] + st.Dim.Render("│") + widget.Fit(d, l.detW)
		}
		return strings.Join(out, "\n")
	}
	head := ansi.Truncate("── span "+m.curName()+" ", max(m.w-2, 1), "… ")
	sep := st.Dim.Render(head + strings.Repeat("─", max(m.w-ansi.StringWidth(head), 0)))
	return wfText + "\n" + sep + "\n" + widget.Clip(det, m.w, l.detH)
}

func (m *Model) curName() string {
	if sp, ok := m.current(); ok {
		return widget.Clean(sp.Name)
	}
	return ""
}
