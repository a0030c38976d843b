// Package logs is the `:logs [function…]` screen: the live stream of the
// watched functions' log lines, as CloudWatch Live Tail and k9s logs show
// it. It follows the tail (only while the cursor is there; otherwise it
// counts what is new), wraps and hides timestamps on demand, colours levels
// (the level is also a word, so NO_COLOR loses nothing), filters with a
// CloudWatch filter pattern ([Pattern]), opens a line's event with enter and
// saves what it holds with ctrl+s.
//
// The screen holds at most 100,000 lines of its own, read incrementally: each
// Refresh asks the graph only for lines newer than the last it has, and
// View draws only the rows on screen.
package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

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
const ID screen.ID = "logs"

// EventID is the screen enter opens, with the line's request ID.
const EventID screen.ID = "event"

// MaxHeld is how many lines the screen holds by default; the oldest go first.
const MaxHeld = 100_000

// Feed is the slice of the engine this screen reads.
type Feed interface {
	Logs(q graph.LogQuery) graph.LogPage
}

// Spec is the registry line.
func Spec(f Feed) screen.Spec {
	return screen.Spec{ID: ID, Words: []string{"logs", "log"}, New: func(env screen.Env, arg any) screen.Screen { return New(env, f, arg) }}
}

// Keys are the screen's bindings.
type Keys struct {
	Follow, Wrap, Time, Open, Save key.Binding
	List                           widget.ListKeys
}

// DefaultKeys returns the screen's bindings.
func DefaultKeys() Keys {
	return Keys{
		Follow: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow/pause")),
		Wrap:   key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "wrap")),
		Time:   key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "timestamps")),
		Open:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open event")),
		Save:   key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "save to file")),
		List:   widget.DefaultListKeys(),
	}
}

// Model is the logs screen.
type Model struct {
	env  screen.Env
	feed Feed
	keys Keys
	fns  []string
	w, h int

	// held lines: a ring of max entries; line number n (counting every line
	// ever held from 0) sits at n % max.
	max   int
	buf   []graph.LogEntry
	next  uint64 // number of the next line held
	last  uint64 // the graph's Seq read up to
	lost  uint64 // lines the graph had but the screen never got (ring lapped, limit)
	fnW   int    // width of the function column
	shown []uint64

	filter string
	pat    Pattern
	patErr error

	cur     uint64 // line number of the cursor
	top     uint64 // line number of the first row on screen
	paused  bool   // f paused following at the tail
	newN    int    // matching lines that arrived while not following
	wrap    bool
	noTime  bool
	loaded  bool
	saveDir []string
}

// New returns the logs screen; arg names functions ("a b", or []string),
// nil for every function.
func New(env screen.Env, f Feed, arg any) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys(), max: MaxHeld, w: 80, h: 20}
	switch a := arg.(type) {
	case string:
		m.fns = strings.Fields(a)
	case []string:
		m.fns = a
	}
	return m
}

// SetMaxHeld sets how many lines the screen holds (before the first load).
func (m *Model) SetMaxHeld(n int) { m.max = max(n, 1) }

// SetSaveDir makes ctrl+s write into dir instead of the current directory
// (or $TMPDIR when that is not writable).
func (m *Model) SetSaveDir(dir string) { m.saveDir = []string{dir} }

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen.
func (m *Model) Title() string {
	if len(m.fns) == 0 {
		return "logs"
	}
	return "logs " + widget.Clean(strings.Join(m.fns, " "))
}

// Info says whether the stream follows, how much it holds, and the pattern.
func (m *Model) Info() string {
	var parts []string
	switch {
	case m.following():
		parts = append(parts, "following")
	case m.newN > 0:
		parts = append(parts, fmt.Sprintf("paused · %s new", widget.Thousands(m.newN)))
	default:
		parts = append(parts, "paused")
	}
	held := m.held()
	if m.filter != "" {
		parts = append(parts, fmt.Sprintf("%s of %s lines", widget.Thousands(len(m.shown)), widget.Thousands(held)))
	} else {
		parts = append(parts, fmt.Sprintf("%s lines", widget.Thousands(held)))
	}
	if m.lost > 0 {
		parts = append(parts, fmt.Sprintf("%s missed", widget.Thousands(m.lost)))
	}
	if m.wrap {
		parts = append(parts, "wrap")
	}
	if m.patErr != nil {
		parts = append(parts, widget.Clean(m.patErr.Error()))
	}
	return strings.Join(parts, " · ")
}

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = max(w, 1), max(h, 1)
	m.scroll()
}

// Filter implements screen.Filterer.
func (m *Model) Filter() string { return m.filter }

// SetFilter implements screen.Filterer: q is a CloudWatch filter pattern.
// While it does not parse (a JSON pattern half typed), the last one that did
// stays applied and Info says what is wrong.
func (m *Model) SetFilter(q string) {
	m.filter = q
	p, err := ParsePattern(q)
	if err != nil {
		m.patErr = err
		return
	}
	m.patErr = nil
	m.pat = p
	follow := m.following()
	m.shown = m.shown[:0]
	for n := m.oldest(); n < m.next; n++ {
		if m.pat.Match(m.at(n).Message) {
			m.shown = append(m.shown, n)
		}
	}
	m.newN = 0
	if follow || len(m.shown) == 0 {
		m.toTail()
		return
	}
	// The cursor stays on its line, or the next one shown.
	i := min(m.pos(m.cur), len(m.shown)-1)
	m.cur = m.shown[i]
	m.scroll()
}

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	k := m.keys
	return screen.KeyMap{
		Short:  []key.Binding{k.Follow, k.Wrap, k.Time, k.Open, k.Save},
		Groups: [][]key.Binding{{k.Follow, k.Wrap, k.Time, k.Open, k.Save}, k.List.Bindings()},
	}
}

type loaded graph.LogPage

// Refresh reads the lines newer than those held.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	feed := m.feed
	q := graph.LogQuery{After: m.last, Functions: append([]string(nil), m.fns...), Limit: m.max}
	return func() tea.Msg { return screen.Loaded{ID: ID, Seq: seq, Data: loaded(feed.Logs(q))} }
}

// Update implements screen.Screen.
func (m *Model) Update(msg tea.Msg) (screen.Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case screen.Loaded:
		if d, ok := msg.Data.(loaded); ok {
			m.add(graph.LogPage(d))
		}
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
	v := m.h
	lk := m.keys.List
	switch {
	case key.Matches(k, m.keys.Follow):
		if m.following() {
			m.paused = true
			return screen.Say(screen.LevelInfo, "paused: new lines are counted, f follows again")
		}
		m.toTail()
		return nil
	case key.Matches(k, m.keys.Wrap):
		m.wrap = !m.wrap
		m.scroll()
	case key.Matches(k, m.keys.Time):
		m.noTime = !m.noTime
	case key.Matches(k, m.keys.Open):
		if l, ok := m.cursorLine(); ok && l.RequestID != "" {
			return screen.Cmd(screen.Open{To: EventID, Arg: l.RequestID})
		}
	case key.Matches(k, m.keys.Save):
		return m.save()
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
		if len(m.shown) > 0 {
			m.cur, m.top = m.shown[0], m.shown[0]
		}
	case key.Matches(k, lk.Bottom):
		m.toTail()
	}
	return nil
}

// ---- the held lines ----

func (m *Model) held() int      { return int(m.next - m.oldest()) }
func (m *Model) oldest() uint64 { return m.next - min(m.next, uint64(len(m.buf))) }
func (m *Model) at(n uint64) *graph.LogEntry {
	return &m.buf[n%uint64(m.max)]
}

// pos is the index in shown of line n, or of the first shown line after it.
func (m *Model) pos(n uint64) int {
	return sort.Search(len(m.shown), func(i int) bool { return m.shown[i] >= n })
}

func (m *Model) atTail() bool { return len(m.shown) == 0 || m.cur >= m.shown[len(m.shown)-1] }

func (m *Model) following() bool { return m.atTail() && !m.paused }

func (m *Model) toTail() {
	m.paused, m.newN = false, 0
	if len(m.shown) > 0 {
		m.cur = m.shown[len(m.shown)-1]
	}
	m.scroll()
}

func (m *Model) cursorLine() (graph.LogEntry, bool) {
	if len(m.shown) == 0 || m.cur < m.oldest() {
		return graph.LogEntry{}, false
	}
	return *m.at(m.cur), true
}

// add appends a page read from the graph.
func (m *Model) add(p graph.LogPage) {
	follow := m.following()
	if m.buf == nil {
		m.buf = make([]graph.LogEntry, 0, min(m.max, max(len(p.Lines), 1024)))
	}
	if m.loaded {
		m.lost += p.Missed
	}
	m.loaded = true
	// Skip what an older read already brought; within one read, order by
	// time (each source delivers its log groups in batches).
	fresh := p.Lines
	for len(fresh) > 0 && fresh[0].Seq <= m.last {
		fresh = fresh[1:]
	}
	if !sort.SliceIsSorted(fresh, func(i, j int) bool { return fresh[i].Time.Before(fresh[j].Time) }) {
		fresh = append([]graph.LogEntry(nil), fresh...)
		sort.SliceStable(fresh, func(i, j int) bool { return fresh[i].Time.Before(fresh[j].Time) })
	}
	for _, l := range fresh {
		m.last = max(m.last, l.Seq)
		n := m.next
		m.next++
		if len(m.buf) < m.max {
			m.buf = append(m.buf, l)
		} else {
			m.buf[n%uint64(m.max)] = l
		}
		if w := ansi.StringWidth(widget.Clean(l.Function)); w > m.fnW {
			m.fnW = min(w, 24)
		}
		if m.pat.Match(l.Message) {
			m.shown = append(m.shown, n)
			if !follow {
				m.newN++
			}
		}
	}
	m.last = max(m.last, p.Last)
	// Lines that fell out of the ring leave the shown list.
	if old := m.oldest(); len(m.shown) > 0 && m.shown[0] < old {
		m.shown = m.shown[m.pos(old):]
	}
	if follow {
		m.toTail()
		return
	}
	if len(m.shown) > 0 && m.cur < m.shown[0] {
		m.cur = m.shown[0]
	}
	m.scroll()
}

// move moves the cursor d shown lines; landing on the tail follows again.
func (m *Model) move(d int) {
	if len(m.shown) == 0 {
		return
	}
	i := min(max(m.pos(m.cur)+d, 0), len(m.shown)-1)
	m.cur = m.shown[i]
	if i == len(m.shown)-1 && d > 0 {
		m.toTail()
		return
	}
	m.scroll()
}

// ---- drawing ----

// rows is how many screen rows the body has for lines: one goes to the
// "N new" bar while paused with new lines.
func (m *Model) rows() int {
	if !m.following() && m.newN > 0 && m.h > 2 {
		return m.h - 1
	}
	return m.h
}

// height is how many rows line n takes.
func (m *Model) height(n uint64) int {
	if !m.wrap {
		return 1
	}
	return len(m.render(n, false))
}

// scroll keeps the cursor's line on screen: at the bottom while following.
func (m *Model) scroll() {
	if len(m.shown) == 0 {
		m.top = m.next
		return
	}
	h := m.rows()
	ci := m.pos(m.cur)
	if ci >= len(m.shown) {
		ci = len(m.shown) - 1
		m.cur = m.shown[ci]
	}
	ti := m.pos(m.top)
	if m.following() || ti > ci || ti >= len(m.shown) || ci-ti >= h {
		// Bottom-anchored: as many lines above the cursor as fit.
		ti = ci
		for used := m.height(m.shown[ci]); ti > 0; ti-- {
			hh := m.height(m.shown[ti-1])
			if used+hh > h {
				break
			}
			used += hh
		}
		if m.following() {
			m.top = m.shown[ti]
			return
		}
	}
	// Top-anchored: move the top down until the cursor's line fits.
	for ti < ci {
		used := 0
		for i := ti; i <= ci && used <= h; i++ {
			used += m.height(m.shown[i])
		}
		if used <= h {
			break
		}
		ti++
	}
	m.top = m.shown[ti]
}

// View implements screen.Screen.
func (m *Model) View() string {
	h := m.rows()
	var out []string
	if len(m.shown) == 0 {
		switch {
		case m.filter != "" && m.held() > 0:
			out = append(out, m.env.St.Dim.Render(widget.Fit("no line matches "+widget.Clean(m.filter), m.w)))
		case !m.loaded:
			out = append(out, m.env.St.Dim.Render("reading…"))
		default:
			what := "the watched functions"
			if len(m.fns) > 0 {
				what = widget.Clean(strings.Join(m.fns, ", "))
			}
			out = append(out, widget.Fit("no log lines from "+what+" yet", m.w))
		}
	}
	tail := m.wrap && m.following() && len(m.shown) > 0
	if tail {
		// From the newest line up, the oldest on screen cut at its top, so
		// the tail fills the screen with no gap below.
		var blocks [][]string
		rows := 0
		for i := len(m.shown) - 1; i >= 0 && rows < h; i-- {
			b := m.render(m.shown[i], m.shown[i] == m.cur)
			blocks = append(blocks, b)
			rows += len(b)
		}
		for i := len(blocks) - 1; i >= 0; i-- {
			out = append(out, blocks[i]...)
		}
		out = out[max(len(out)-h, 0):]
	}
	for i := m.pos(m.top); !tail && i < len(m.shown) && len(out) < h; i++ {
		for _, r := range m.render(m.shown[i], m.shown[i] == m.cur) {
			if len(out) == h {
				break
			}
			out = append(out, r)
		}
	}
	if h < m.h {
		for len(out) < h {
			out = append(out, "")
		}
		bar := fmt.Sprintf("── %s new line(s) below · G or f to follow ", widget.Thousands(m.newN))
		out = append(out, m.env.St.Warn.Render(widget.Fit(bar+strings.Repeat("─", max(m.w-ansi.StringWidth(bar), 0)), m.w)))
	}
	return strings.Join(out, "\n")
}

// levelOf is the word shown for a line's level: its own, or its platform
// kind for START, END, REPORT and the like.
func levelOf(l *graph.LogEntry) string {
	if l.Level != "" {
		return strings.ToUpper(l.Level)
	}
	switch l.Kind {
	case tracing.LogApp, tracing.LogUnparsed:
		return ""
	case tracing.LogTimeout:
		return "TIMEOUT"
	}
	return strings.ToUpper(l.Kind.String())
}

// text is a line's message as shown: the Lambda text format's time, request
// ID and level (which the columns show) cut off, newlines as ⏎, sanitised.
func text(l *graph.LogEntry) string {
	msg := l.Message
	if l.Kind == tracing.LogApp && l.RequestID != "" {
		if f := strings.SplitN(msg, "\t", 4); len(f) == 4 && f[1] == l.RequestID {
			msg = f[3]
		}
	}
	msg = strings.TrimRight(msg, " \t\r\n")
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, "\r\n", "\n"), "\n", " ⏎ ")
	return widget.Clean(msg)
}

// prefix is a line's columns before the message: time, function, level.
func (m *Model) prefix(l *graph.LogEntry) (string, int) {
	var b strings.Builder
	if !m.noTime {
		b.WriteString(l.Time.UTC().Format("15:04:05.000") + " ")
	}
	if len(m.fns) != 1 && m.fnW > 0 {
		b.WriteString(widget.Fit(widget.Clean(l.Function), m.fnW) + " ")
	}
	b.WriteString(widget.Fit(levelOf(l), 7) + " ")
	s := b.String()
	return s, ansi.StringWidth(s)
}

// render draws line n as one row, or as several when wrapping.
func (m *Model) render(n uint64, selected bool) []string {
	l := m.at(n)
	pre, pw := m.prefix(l)
	msg := text(l)
	var rows []string
	if !m.wrap || m.w-pw < 8 {
		rows = []string{widget.Fit(pre+msg, m.w)}
	} else {
		for i, r := range strings.Split(ansi.Wrap(msg, m.w-pw, ""), "\n") {
			if i == 0 {
				rows = append(rows, widget.Fit(pre+r, m.w))
			} else {
				rows = append(rows, widget.Fit(strings.Repeat(" ", pw)+r, m.w))
			}
		}
	}
	st := m.env.St
	for i, r := range rows {
		switch lv := levelOf(l); {
		case selected:
			rows[i] = st.Sel.Render(r)
		case lv == "ERROR" || lv == "FATAL" || lv == "CRITICAL" || lv == "TIMEOUT":
			rows[i] = st.Bad.Render(r)
		case lv == "WARN" || lv == "WARNING":
			rows[i] = st.Warn.Render(r)
		case lv == "DEBUG" || lv == "TRACE" || l.Kind != tracing.LogApp:
			rows[i] = st.Dim.Render(r)
		}
	}
	return rows
}

// ---- saving ----

// save writes the shown lines (the filter applied) to a file, in a command.
func (m *Model) save() tea.Cmd {
	if len(m.shown) == 0 {
		return screen.Say(screen.LevelWarn, "nothing to save")
	}
	lines := make([]graph.LogEntry, len(m.shown))
	for i, n := range m.shown {
		lines[i] = *m.at(n)
	}
	dirs := m.saveDir
	if dirs == nil {
		dirs = []string{".", os.TempDir()}
	}
	now := time.Now
	if m.env.Now != nil {
		now = m.env.Now
	}
	name := "flowtop-logs-" + now().UTC().Format("20060102-150405") + ".log"
	return func() tea.Msg {
		path, err := writeLines(dirs, name, lines)
		if err != nil {
			return screen.Flash{Text: "logs: save: " + err.Error(), Level: screen.LevelError}
		}
		return screen.Flash{Text: fmt.Sprintf("saved %s lines to %s", widget.Thousands(len(lines)), path), Level: screen.LevelOK}
	}
}

// writeLines writes lines to a new file name in the first directory that
// takes it and returns its path.
func writeLines(dirs []string, name string, lines []graph.LogEntry) (string, error) {
	var b strings.Builder
	for i := range lines {
		l := &lines[i]
		msg := strings.TrimRight(tracing.Sanitize(l.Message, true), "\n")
		msg = strings.ReplaceAll(msg, "\n", "\n\t")
		fmt.Fprintf(&b, "%s %s %s %s %s\n", l.Time.UTC().Format(time.RFC3339Nano), tracing.Sanitize(l.Function, false),
			tracing.Sanitize(l.RequestID, false), widget.FirstNonEmpty(levelOf(l), "-"), msg)
	}
	var errs []string
	for _, dir := range dirs {
		path := filepath.Join(dir, name)
		for i := 1; i < 100; i++ {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if os.IsExist(err) {
				path = filepath.Join(dir, strings.TrimSuffix(name, ".log")+fmt.Sprintf("-%d.log", i))
				continue
			}
			if err != nil {
				errs = append(errs, err.Error())
				break
			}
			_, werr := f.WriteString(b.String())
			cerr := f.Close()
			if werr != nil || cerr != nil {
				_ = os.Remove(path)
				errs = append(errs, fmt.Sprint(werr, cerr))
				break
			}
			if abs, err := filepath.Abs(path); err == nil {
				path = abs
			}
			return path, nil
		}
	}
	return "", fmt.Errorf("no directory took the file: %s", strings.Join(errs, "; "))
}
