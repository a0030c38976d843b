// Package event is the event screen: one event's whole path (hops with their
// invocations' logs, the span waterfall, DLQ copies) in a scrolling viewport.
// An ID several events share lists them instead, and enter opens one.
package event

import (
	"errors"
	"fmt"
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
const ID screen.ID = "event"

// Feed is the slice of the engine this screen reads.
type Feed interface {
	Lineage(id string) (graph.Lineage, error)
	Find(prefix string, limit int) []graph.Match
}

// Spec is the registry line.
func Spec(f Feed) screen.Spec {
	return screen.Spec{
		ID: ID, Words: []string{"event"}, Arg: "event needs an ID: :event <event, message, request or trace ID>",
		New: func(env screen.Env, arg any) screen.Screen { id, _ := arg.(string); return New(env, f, id) },
	}
}

// Keys are the event screen's bindings.
type Keys struct {
	Open, Redrive, Replay, Wrap key.Binding
	Scroll                      viewport.KeyMap
	List                        widget.ListKeys
}

// DefaultKeys returns the screen's bindings.
func DefaultKeys() Keys {
	vk := viewport.DefaultKeyMap()
	vk.Up.SetKeys("k", "up")
	vk.Down.SetKeys("j", "down")
	vk.PageUp.SetKeys("pgup", "ctrl+b")
	vk.PageDown.SetKeys("pgdown", "ctrl+f")
	vk.HalfPageUp.SetKeys("ctrl+u")
	vk.HalfPageDown.SetKeys("ctrl+d")
	return Keys{
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open event")),
		Redrive: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "redrive DLQ copy")),
		Replay:  key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "replay")),
		Wrap:    key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "wrap")),
		Scroll:  vk,
		List:    widget.DefaultListKeys(),
	}
}

// Model is the event screen.
type Model struct {
	env     screen.Env
	feed    Feed
	keys    Keys
	id      string
	w, h    int
	lin     graph.Lineage
	err     error
	loaded  bool
	matches []graph.Match
	vp      viewport.Model
	list    widget.Table
	builds  int // how often the lines were built, for tests
}

// New returns the event screen for id.
func New(env screen.Env, f Feed, id string) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys(), id: id, w: 80, h: 20}
	m.vp = viewport.New()
	m.vp.KeyMap = m.keys.Scroll
	m.list = widget.NewTable(env.St, []widget.Column{{Title: "EVENT", Priority: 0}, {Title: "TYPE", Priority: 1}, {Title: "LAST", Priority: 2}, {Title: "VIA", Priority: 3, Grow: true}})
	m.list.Empty = "no event names " + widget.Clean(id)
	m.enable()
	return m
}

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen.
func (m *Model) Title() string { return "event " + widget.Clean(m.id) }

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) {
	if w == m.w && h == m.h && m.vp.Width() == w {
		return
	}
	m.w, m.h = w, h
	m.vp.SetWidth(w)
	m.vp.SetHeight(max(h-1, 1)) // the last line says where the view is
	m.list.SetSize(w, max(h-2, 2))
	m.build()
}

func (m *Model) ambiguous() bool { return errors.Is(m.err, graph.ErrAmbiguous) }

// enable turns on the keys that work now.
func (m *Model) enable() {
	dlq := m.err == nil && len(m.lin.DLQ) > 0 && m.env.Actions
	m.keys.Redrive.SetEnabled(dlq || m.err == nil && m.env.Actions && failedExecution(m.lin) != "")
	if dlq {
		m.keys.Redrive.SetHelp("r", "redrive DLQ copy")
	} else {
		m.keys.Redrive.SetHelp("r", "redrive execution")
	}
	m.keys.Replay.SetEnabled(dlq)
	m.keys.Open.SetEnabled(m.ambiguous() && len(m.matches) > 0)
	m.keys.Wrap.SetEnabled(!m.ambiguous())
}

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	k := m.keys
	scroll := []key.Binding{k.Scroll.Up, k.Scroll.Down, k.Scroll.PageUp, k.Scroll.PageDown, k.Scroll.HalfPageUp, k.Scroll.HalfPageDown, k.List.Top, k.List.Bottom}
	if m.ambiguous() {
		scroll = k.List.Bindings()
	}
	return screen.KeyMap{
		Short:  []key.Binding{k.Open, k.Redrive, k.Replay, k.Wrap},
		Groups: [][]key.Binding{{k.Open, k.Redrive, k.Replay, k.Wrap, mapKey, traceKey, archiveKey}, scroll},
	}
}

type loaded struct {
	lin     graph.Lineage
	err     error
	matches []graph.Match
}

// Refresh reads the event's lineage.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	feed, id := m.feed, m.id
	return func() tea.Msg {
		l, err := feed.Lineage(id)
		d := loaded{lin: l, err: err}
		if errors.Is(err, graph.ErrAmbiguous) {
			d.matches = feed.Find(id, 50)
		}
		return screen.Loaded{ID: ID, Seq: seq, Data: d}
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
		same := m.loaded && d.lin.Version == m.lin.Version && d.lin.ID == m.lin.ID && errors.Is(d.err, m.err) && len(d.matches) == len(m.matches)
		m.lin, m.err, m.matches, m.loaded = d.lin, d.err, d.matches, true
		if !same {
			m.list.SetRows(len(m.matches), m.matchRow)
			m.build()
		}
		m.enable()
		return m, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.keys.Open) && m.keys.Open.Enabled():
			if i := m.list.Cursor(); i < len(m.matches) {
				m.id, m.loaded = m.matches[i].ID, false
				m.lin, m.err, m.matches = graph.Lineage{}, nil, nil
				m.build()
				m.enable()
				return m, screen.Cmd(screen.Reload{})
			}
			return m, nil
		case pressed(msg, m.keys.Redrive) && !m.ambiguous():
			// Disabled keys still answer: with no copy, say so; with actions
			// off, the root says why (read-only, or no replayer).
			if arn := failedExecution(m.lin); m.err == nil && len(m.lin.DLQ) == 0 && arn != "" {
				return m, screen.Cmd(screen.Ask{Action: screen.Action{Kind: screen.ActionRedriveExecution, EventID: arn}}) // sfn.go
			}
			if m.err != nil || len(m.lin.DLQ) == 0 {
				return m, screen.Say(screen.LevelWarn, "this event has no copy in a DLQ and no failed execution")
			}
			d := m.lin.DLQ[0]
			return m, screen.Cmd(screen.Ask{Action: screen.Action{Kind: screen.ActionRedriveSelected, Queue: d.Queue, MessageIDs: []string{d.MessageID}}})
		case pressed(msg, m.keys.Replay) && !m.ambiguous():
			if m.err != nil || len(m.lin.DLQ) == 0 {
				return m, screen.Say(screen.LevelWarn, "nothing to replay: this event has no stored copy (replay a DLQ message, or use flowtop replay with --body-file)")
			}
			d := m.lin.DLQ[0]
			return m, screen.Cmd(screen.Ask{Action: screen.Action{Kind: screen.ActionReplay, EventID: d.MessageID, Body: d.Body, Queue: d.Queue, Target: "sqs:" + d.SourceQueue}})
		case key.Matches(msg, archiveKey) && !m.ambiguous() && m.err == nil && m.lin.ID != "":
			return m, askArchive(m.lin)
		case key.Matches(msg, mapKey) && !m.ambiguous() && m.err == nil && m.lin.ID != "":
			return m, screen.Cmd(screen.Open{To: MapID, Arg: m.lin.ID})
		case key.Matches(msg, traceKey) && !m.ambiguous() && m.err == nil && len(m.lin.Spans) > 0:
			return m, screen.Cmd(screen.Open{To: TraceID, Arg: m.lin.Spans[0].Span.TraceID.String()})
		case key.Matches(msg, m.keys.Wrap):
			m.vp.SoftWrap = !m.vp.SoftWrap
			return m, nil
		}
	}
	if m.ambiguous() {
		m.list.Update(msg)
		return m, nil
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.keys.List.Top):
			m.vp.GotoTop()
			return m, nil
		case key.Matches(k, m.keys.List.Bottom):
			m.vp.GotoBottom()
			return m, nil
		}
	}
	m.vp, _ = m.vp.Update(msg)
	return m, nil
}

// View implements screen.Screen.
func (m *Model) View() string {
	if m.ambiguous() && len(m.matches) > 0 {
		head := m.env.St.Warn.Render(fmt.Sprintf("%s names more than one event (a shared request, trace or correlation ID): %d of them, newest first; enter opens one", widget.Clean(m.id), len(m.matches)))
		return widget.Clip([]string{head, ""}, m.w, 2) + "\n" + m.list.View()
	}
	total := m.vp.TotalLineCount()
	first := m.vp.YOffset() + 1
	last := min(m.vp.YOffset()+m.vp.VisibleLineCount(), total)
	wrap := "off"
	if m.vp.SoftWrap {
		wrap = "on"
	}
	pos := m.env.St.Dim.Render(fmt.Sprintf("lines %d–%d of %d · %3.0f%% · wrap %s (w)", min(first, total), last, total, m.vp.ScrollPercent()*100, wrap))
	return widget.Clip(strings.Split(m.vp.View(), "\n"), m.w, m.h-1) + "\n" + widget.Fit(pos, m.w)
}

func (m *Model) matchRow(i int) []string {
	mt := m.matches[i]
	return []string{widget.Clean(mt.ID), widget.Clean(mt.Type), mt.Last.UTC().Format("15:04:05.000"), widget.Clean(mt.Key.Kind.String())}
}

// build renders the event as lines into the viewport, once per new lineage
// or width; scrolling never rebuilds them.
func (m *Model) build() {
	m.builds++
	m.vp.SetContentLines(Lines(m.env, m.id, m.lin, m.err, m.loaded, m.w))
}

// Lines renders an event as lines: summary, hop tree with each invocation's
// logs, span waterfall, DLQ copies.
func Lines(env screen.Env, id string, l graph.Lineage, err error, loaded bool, width int) []string {
	st := env.St
	if err != nil {
		if errors.Is(err, graph.ErrAmbiguous) {
			return []string{st.Warn.Render(widget.Clean(id) + " names more than one event (a shared request, trace or correlation ID): give an event or message ID")}
		}
		return []string{st.Warn.Render("no event with ID " + widget.Clean(id) + " yet — it appears here as soon as a collector sees it")}
	}
	if !loaded || l.ID == "" {
		return []string{st.Dim.Render("loading " + widget.Clean(id) + "…")}
	}
	head := st.Bold.Render("event " + widget.Clean(l.ID))
	facts := strings.TrimSpace(strings.Join([]string{widget.Clean(l.Type), st.Status(l.Status)}, "  ")) + fmt.Sprintf("  %d hops  %s end to end  cost $%.6f", len(l.Hops), widget.Dur(l.Last.Sub(l.First)), l.CostUSD)
	out := []string{head + "  " + facts}
	if ansi.StringWidth(out[0]) > width {
		// A long ID (a Kinesis record's is 88 characters) would push the
		// status, hops and latency off the line: they get their own.
		out = []string{head, "  " + facts}
	}
	names, accounts := hopNames(l.Hops)
	if why, where := failure(l, names); why != "" {
		// Why the event failed, above the fold at any height: the hop tree
		// and the waterfall below may be longer than the screen.
		line := st.Bad.Render("✗ " + why)
		if where != "" {
			line += st.Dim.Render("  in " + where)
		}
		out = append(out, line)
	}
	out = append(out, st.Dim.Render("keys: "+keysLine(l.Keys)), "")
	nameW := 16
	for _, n := range names {
		nameW = max(nameW, ansi.StringWidth(n))
	}
	nameW = min(nameW, 40)
	for i, h := range l.Hops {
		indent := strings.Repeat("  ", h.Depth)
		branch := "● "
		if h.Parent >= 0 {
			branch = "└ "
		}
		name := names[i]
		detail := h.Time.UTC().Format("15:04:05.000")
		if h.Parent >= 0 && h.Latency > 0 {
			// Unknown (no earlier hop timed) shows nothing, not "+-".
			detail += "  +" + widget.Dur(h.Latency)
		}
		if accounts && h.Component.Account != "" {
			detail += "  account " + widget.Clean(h.Component.Account)
		}
		if r := h.Request(); r != "" { // an API Gateway request: method, route, status
			detail += "  " + widget.Clean(r)
		}
		if h.Cloud != "" { // a hop in another cloud (cloud.provider/cloud.platform)
			detail += "  in " + widget.Clean(h.Cloud)
		}
		if h.Duration > 0 {
			detail += "  took " + widget.Dur(h.Duration)
		}
		if h.ColdStart {
			detail += "  cold"
		}
		if h.ErrorType != "" {
			detail += "  " + st.Bad.Render(widget.Clean(h.ErrorType))
		}
		if h.Status == graph.HopMissing {
			detail = st.Warn.Render("missing: " + widget.Clean(h.Evidence))
		}
		// The kind column is one wider than the longest kind ("dead-letter"),
		// so a kind never runs into the component's name.
		line := indent + branch + hopMark(h.Status) + " " + widget.Fit(h.Kind.String(), 12) + widget.Fit(name, nameW) + " " + detail
		if h.Evidence != "" && h.Status != graph.HopMissing {
			line += st.Dim.Render(fmt.Sprintf("  [%s %.0f%%]", widget.Clean(h.Evidence), h.Confidence*100))
		}
		out = append(out, line)
		for _, lg := range h.Logs {
			// One log event may hold several lines (a REPORT line's
			// "\nXRAY TraceId: …"): each gets its own, not a "\x0a".
			for _, ln := range strings.Split(strings.TrimRight(lg.Message, "\r\n"), "\n") {
				text := widget.Clean(strings.TrimSuffix(ln, "\r"))
				if lg.Level == "ERROR" {
					text = st.Bad.Render(text)
				} else {
					text = st.Dim.Render(text)
				}
				out = append(out, indent+"    │ "+text)
			}
		}
	}
	if len(l.Spans) > 0 {
		out = append(out, "", st.Head.Render("spans"))
		var total time.Duration
		for _, s := range l.Spans {
			if end := s.Offset + s.Span.Duration(); end > total {
				total = end
			}
		}
		barW := max(width/3, 10)
		for _, s := range l.Spans {
			start, w := 0, 1
			if total > 0 {
				start = int(float64(s.Offset) / float64(total) * float64(barW))
				w = max(int(float64(s.Span.Duration())/float64(total)*float64(barW)), 1)
			}
			start = min(start, barW-1)
			bar := strings.Repeat(" ", start) + strings.Repeat("▇", min(w, barW-start))
			via := ""
			if s.ViaLink {
				via = " ↪"
			}
			name := strings.Repeat(" ", s.Depth) + widget.Clean(s.Span.Service+" "+s.Span.Name) + via
			line := widget.Fit(name, 34) + " " + widget.Fit(bar, barW) + " " + widget.Dur(s.Span.Duration())
			if s.Span.Status == tracing.StatusError {
				line = st.Bad.Render(line)
			}
			out = append(out, line)
			// The span's exceptions, one line each (the trace screen, t,
			// shows every event with its stack trace).
			for _, ev := range s.Span.Events {
				if text := exceptionText(ev); text != "" {
					out = append(out, strings.Repeat(" ", s.Depth)+"  "+st.Bad.Render("⚠ "+text))
				}
			}
		}
	}
	for _, d := range l.DLQ {
		out = append(out, "", st.Bad.Render(fmt.Sprintf("dead-lettered in %s as %s, received %s", widget.Clean(d.Queue), widget.Clean(d.MessageID), times(d.ReceiveCount))))
		if d.Error != "" {
			out = append(out, "  last consumer error: "+widget.Clean(d.Error))
		}
		for _, b := range widget.PrettyBody(d.Body, 12) {
			out = append(out, "  "+b)
		}
		if env.Actions {
			out = append(out, st.Key.Render("  r redrive this message to "+widget.FirstNonEmpty(widget.Clean(d.SourceQueue), "its source")+"   e replay (edit) it"))
		}
	}
	return out
}

// failure says why a failed event failed, and where: the first failed hop's
// first exception ("CardDeclined: no funds") from the spans of that hop's
// function or invocation, else its error type; with no failed hop, the
// first exception any failed span recorded. Both are sanitised; why is ""
// when the event did not fail or nothing says why.
func failure(l graph.Lineage, names []string) (why, where string) {
	failed := l.Status == graph.StatusFailed || l.Status == graph.StatusDeadLettered || l.Status == graph.StatusRetrying
	first := -1
	for i, h := range l.Hops {
		if h.Status != graph.HopError && h.Status != graph.HopTimeout {
			continue
		}
		failed = true
		if first < 0 {
			first = i
		}
		if ex := hopException(l.Spans, h); ex != "" {
			return ex, names[i]
		}
	}
	if !failed {
		return "", ""
	}
	if first >= 0 && l.Hops[first].ErrorType != "" {
		return widget.Clean(l.Hops[first].ErrorType), names[first]
	}
	for _, s := range l.Spans {
		if s.Span.Status != tracing.StatusError {
			continue
		}
		if ex := firstException(s.Span); ex != "" {
			return ex, widget.Clean(s.Span.Service + " " + s.Span.Name)
		}
	}
	if first >= 0 && l.Hops[first].Status == graph.HopTimeout {
		return "timed out", names[first]
	}
	return "", ""
}

// hopException is the first exception recorded by the spans of a hop: the
// spans of its invocation (by request ID) or of its function (by service
// name), and the spans under them.
func hopException(spans []graph.SpanRow, h graph.Hop) string {
	var reqs []string
	for _, k := range h.Keys {
		if k.Kind == tracing.KeyRequestID {
			reqs = append(reqs, k.Value)
		}
	}
	mine := map[tracing.SpanID]bool{}
	for _, s := range spans { // parents come before their children
		sp := s.Span
		switch {
		case sp.ParentID.IsValid() && mine[sp.ParentID]:
		case sp.InvocationID != "" && slices.Contains(reqs, sp.InvocationID):
		case h.Component.Name != "" && sp.Service == h.Component.Name && (len(reqs) == 0 || sp.InvocationID == ""):
		default:
			continue
		}
		mine[sp.SpanID] = true
		if ex := firstException(sp); ex != "" {
			return ex
		}
	}
	return ""
}

// firstException renders a span's first exception as "type: message",
// sanitised, or "".
func firstException(sp tracing.Span) string {
	for _, ev := range sp.Events {
		if ex := exceptionText(ev); ex != "" {
			return ex
		}
	}
	return ""
}

// exceptionText renders an exception event as "type: message", sanitised;
// "" for an event that is not an exception.
func exceptionText(ev tracing.SpanEvent) string {
	typ, msg := ev.Attrs["exception.type"], ev.Attrs["exception.message"]
	if ev.Name != "exception" && typ == "" {
		return ""
	}
	if msg == typ {
		msg = "" // "ValueError: ValueError" says it twice
	}
	text := strings.TrimSpace(strings.TrimSuffix(typ+": "+msg, ": "))
	return widget.Clean(widget.FirstNonEmpty(text, ev.Name))
}

// hopNames names each hop's component for the hop tree (kind, name, and the
// attempt of a retried invocation) and says whether the event crossed
// accounts: only then does each hop show its account (one account's 12
// digits on every hop cut the names and told nothing).
func hopNames(hops []graph.Hop) ([]string, bool) {
	accounts := map[string]bool{}
	for _, h := range hops {
		if h.Component.Account != "" {
			accounts[h.Component.Account] = true
		}
	}
	names := make([]string, len(hops))
	for i, h := range hops {
		name := h.Component.Kind.String() + " " + widget.Clean(h.Component.Name)
		if h.Kind == graph.HopInvoke && h.Attempt > 1 {
			name += fmt.Sprintf(" #%d", h.Attempt)
		}
		names[i] = name
	}
	return names, len(accounts) > 1
}

// times says how often a message was received: "once", "3 times".
func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func hopMark(s graph.HopStatus) string {
	switch s {
	case graph.HopError:
		return "✗"
	case graph.HopTimeout:
		return "⏱"
	case graph.HopPending:
		return "…"
	case graph.HopMissing:
		return "?"
	}
	return "✓"
}

func keysLine(keys []tracing.Key) string {
	var parts []string
	for _, k := range keys {
		if strings.HasPrefix(k.Value, "=") || strings.HasPrefix(k.Value, "ce:") {
			continue // lookup aliases
		}
		parts = append(parts, k.Kind.String()+":"+widget.Clean(strings.ReplaceAll(k.Value, "\n", "/")))
	}
	return strings.Join(parts, " ")
}

// pressed matches a binding whether or not it is enabled.
func pressed(k tea.KeyPressMsg, b key.Binding) bool {
	return slices.Contains(b.Keys(), k.String())
}
