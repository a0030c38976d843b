package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// clean neutralises control sequences in text from AWS or OTLP.
func clean(s string) string { return tracing.Sanitize(s, false) }

// fit pads or truncates s (which may hold ANSI styles) to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if sw := ansi.StringWidth(s); sw > w {
		return ansi.Truncate(s, w, "…")
	} else if sw < w {
		return s + strings.Repeat(" ", w-sw)
	}
	return s
}

// frame is the last rendered view and the state it was rendered from.
type frame struct {
	gen  uint64
	view tea.View
}

// nextGen hands out state generations. It is global, so that two copies of a
// model that diverge from one state never share a generation.
var nextGen atomic.Uint64

// View renders the screen: header, the current screen's body, footer. A tick
// that changed nothing keeps the generation, and then the last frame is
// returned as it was, without rendering.
func (m Model) View() tea.View {
	if m.frame != nil && m.frame.gen == m.gen && m.gen != 0 {
		return m.frame.view
	}
	v := m.render()
	if m.frame != nil {
		m.frame.gen, m.frame.view = m.gen, v
	}
	return v
}

func (m Model) render() tea.View {
	var b strings.Builder
	if m.quitting {
		v := tea.NewView("")
		return v
	}
	for _, line := range m.header() {
		b.WriteString(fit(line, m.w))
		b.WriteByte('\n')
	}
	body := m.body()
	for i := 0; i < m.lay.body; i++ {
		line := ""
		if i < len(body) {
			line = body[i]
		}
		b.WriteString(fit(line, m.w))
		b.WriteByte('\n')
	}
	footer := m.footer()
	for i, line := range footer {
		b.WriteString(fit(line, m.w))
		if i < len(footer)-1 {
			b.WriteByte('\n')
		}
	}
	v := tea.NewView(b.String())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "flowtop"
	return v
}

func (m Model) header() []string {
	t := m.totals
	title := m.st.title.Render("flowtop") + " " + clean(m.opts.Title)
	if m.opts.ReadOnly {
		title += " " + m.st.warn.Render("[read-only]")
	}
	stats := fmt.Sprintf("%s events · %.1f obs/s · evicted %d · unparsed %d", thousands(t.Events), t.RatePerSec, t.Evicted, t.Unparsed)
	var dropped uint64
	var srcs []string
	for _, h := range m.health {
		dropped += h.Dropped
		mark := m.st.ok.Render("●")
		state := h.State.String()
		switch h.State {
		case tracing.SourceStateRetrying:
			mark = m.st.warn.Render("◐")
			state = "retrying"
			if h.RetryIn > 0 {
				state += " in " + h.RetryIn.Round(time.Second).String()
			}
		case tracing.SourceStateFailed:
			mark = m.st.bad.Render("✗")
		case tracing.SourceStateStarting:
			mark = m.st.dim.Render("○")
		}
		s := mark + " " + h.Source + " " + state
		if h.Mode != "" && h.State != tracing.SourceStateFailed {
			s += " (" + clean(h.Mode) + ")"
		}
		srcs = append(srcs, s)
	}
	if dropped > 0 {
		stats += fmt.Sprintf(" · dropped %d", dropped)
	}
	if m.lay.header == 1 {
		return []string{title + "  " + stats}
	}
	crumb := m.st.bold.Render(screenNames[m.screen])
	switch m.screen {
	case scrEvent:
		crumb += " " + clean(m.eventID)
	case scrDLQMessages, scrMessage:
		crumb += " " + clean(m.dlqQueue)
	}
	if m.filter != "" {
		crumb += "  " + m.st.key.Render("/"+clean(m.filter))
	}
	if m.screen == scrFlows {
		if m.follow {
			crumb += m.st.dim.Render("  following")
		} else if m.newRows > 0 {
			crumb += "  " + m.st.warn.Render(fmt.Sprintf("%d new ↑ (g)", m.newRows))
		}
		crumb += m.st.dim.Render("  sort: " + sortNames[m.flowSort])
	}
	return []string{title + "   " + stats, strings.Join(srcs, "  "), crumb}
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (m Model) footer() []string {
	var status string
	switch {
	case m.confirm != nil:
		status = m.st.warn.Render("confirm: " + m.confirm.Summary + " — y to go ahead, n to cancel")
	case m.progress != nil:
		status = fmt.Sprintf("working: %d/%d %s", m.progress.Done, m.progress.Total, m.progress.Note)
	case m.status != "" && m.opts.Now().Before(m.until):
		if m.statusOK {
			status = m.st.ok.Render(clean(m.status))
		} else {
			status = m.st.bad.Render(clean(m.status))
		}
	default:
		status = m.st.dim.Render(m.hints())
	}
	input := ""
	switch m.mode {
	case modeCommand:
		input = m.st.key.Render(":") + m.input + "█"
		if c := complete(m.input); c != "" && c != m.input {
			input += m.st.dim.Render("  tab → " + c)
		}
	case modeFilter:
		input = m.st.key.Render("/") + m.input + "█" + m.st.dim.Render("  (! inverts; enter keeps, esc cancels)")
	}
	if m.lay.footer == 1 {
		if input != "" {
			return []string{input}
		}
		return []string{status}
	}
	return []string{status, input}
}

func (m Model) hints() string {
	base := "? help  : command  / filter  q quit"
	switch m.screen {
	case scrFlows:
		return "enter open  s sort  f follow  " + base
	case scrEvent:
		if len(m.lineage.DLQ) > 0 && m.actionsShown() {
			return "r redrive  e replay  esc back  " + base
		}
		return "esc back  " + base
	case scrDLQs:
		if m.actionsShown() {
			return "enter messages  r redrive all  " + base
		}
		return "enter messages  " + base
	case scrDLQMessages:
		if m.actionsShown() {
			return "enter body  space select  a select group  R redrive selected  r redrive all  t trace  " + base
		}
		return "enter body  t trace  " + base
	case scrMessage:
		if m.actionsShown() {
			return "e replay  t trace  esc back  " + base
		}
		return "t trace  esc back  " + base
	case scrFunctions:
		return "s sort  " + base
	}
	return base
}

func (m Model) actionsShown() bool { return !m.opts.ReadOnly && m.opts.Replayer != nil }

func (m Model) body() []string {
	switch m.screen {
	case scrFlows:
		return m.flowsView()
	case scrEvent:
		lines := m.eventLines()
		off := clampInt(m.eventLine-m.lay.body/2, 0, len(lines)-m.lay.body)
		var out []string
		for i := off; i < len(lines) && len(out) < m.lay.body; i++ {
			l := lines[i]
			if i == m.eventLine {
				l = m.st.sel.Render(fit(ansi.Strip(l), m.w))
			}
			out = append(out, l)
		}
		return out
	case scrFunctions:
		return m.fnView()
	case scrDLQs:
		return m.dlqView()
	case scrDLQMessages:
		return m.msgsView()
	case scrMessage:
		return m.messageView()
	case scrMap:
		return m.mapView()
	case scrHelp:
		return m.helpView()
	}
	return nil
}

// columns lays out a table: widths for each column given the screen width;
// the flexible column takes what is left.
func columns(total int, fixed []int, flex int) []int {
	w := append([]int(nil), fixed...)
	used := 0
	for i, c := range fixed {
		if i != flex {
			used += c + 1
		}
	}
	w[flex] = max(total-used-1, 8)
	return w
}

func row(cells []string, widths []int) string {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fit(c, widths[i]))
	}
	return b.String()
}

func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

func (m Model) statusStyle(s graph.Status) string {
	switch s {
	case graph.StatusSucceeded:
		return m.st.ok.Render(s.String())
	case graph.StatusRetrying, graph.StatusInFlight:
		return m.st.warn.Render(s.String())
	case graph.StatusFailed, graph.StatusDeadLettered:
		return m.st.bad.Render(s.String())
	}
	return s.String()
}

func (m Model) flowsView() []string {
	w := columns(m.w, []int{36, 16, 30, 4, 13, 5, 8, 10}, 2)
	out := []string{m.st.head.Render(row([]string{"ID", "TYPE", "SOURCE → LAST HOP", "HOPS", "STATUS", "AGE", "LATENCY", "COST"}, w))}
	now := m.opts.Now()
	for i, r := range m.flows.Rows {
		if len(out) >= m.lay.body {
			break
		}
		path := clean(r.Source)
		if r.LastHop != "" {
			path += " → " + clean(r.LastHop)
		}
		line := row([]string{clean(r.ID), clean(r.Type), path, fmt.Sprint(r.Hops), m.statusStyle(r.Status), age(now, r.Last), dur(r.Latency), fmt.Sprintf("$%.6f", r.CostUSD)}, w)
		if i == m.flowCur {
			line = m.st.sel.Render(fit(ansi.Strip(line), m.w))
		}
		out = append(out, line)
	}
	if len(m.flows.Rows) == 0 {
		if m.filter != "" {
			out = append(out, m.st.dim.Render("no event matches "+clean(m.filter)))
		} else {
			out = append(out, m.st.dim.Render("waiting for events… (collectors are starting; see their state above)"))
		}
	}
	return out
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

// matchListTop is the first line of the event list an ambiguous ID shows.
const matchListTop = 2

// eventLines renders the event screen as lines: summary, hop tree with each
// invocation's logs, span waterfall, DLQ copies.
func (m Model) eventLines() []string {
	if m.screen != scrEvent && m.eventID == "" {
		return nil
	}
	if m.linErr != nil {
		msg := "no event with ID " + clean(m.eventID) + " yet — it appears here as soon as a collector sees it"
		if !errors.Is(m.linErr, graph.ErrAmbiguous) {
			return []string{m.st.warn.Render(msg)}
		}
		msg = clean(m.eventID) + " names more than one event (a shared request, trace or correlation ID)"
		if len(m.matches) == 0 {
			return []string{m.st.warn.Render(msg + ": give an event or message ID")}
		}
		out := []string{m.st.warn.Render(fmt.Sprintf("%s: %d of them, newest first; enter opens one", msg, len(m.matches))), ""}
		for _, mt := range m.matches {
			out = append(out, fmt.Sprintf("%s  %s  last %s  via %s", fit(clean(mt.ID), 36), fit(clean(mt.Type), 16), mt.Last.UTC().Format("15:04:05.000"), clean(mt.Key.Kind.String())))
		}
		return out
	}
	l := m.lineage
	if l.ID == "" {
		return []string{m.st.dim.Render("loading " + clean(m.eventID) + "…")}
	}
	out := []string{
		m.st.bold.Render("event "+clean(l.ID)) + "  " + clean(l.Type) + "  " + m.statusStyle(l.Status) + fmt.Sprintf("  %d hops  %s end to end  cost $%.6f", len(l.Hops), dur(l.Last.Sub(l.First)), l.CostUSD),
		m.st.dim.Render("keys: " + keysLine(l.Keys)),
		"",
	}
	for _, h := range l.Hops {
		indent := strings.Repeat("  ", h.Depth)
		branch := "● "
		if h.Parent >= 0 {
			branch = "└ "
		}
		mark := hopMark(h.Status)
		name := h.Component.Kind.String() + " " + clean(h.Component.Name)
		if h.Kind == graph.HopInvoke && h.Attempt > 1 {
			name += fmt.Sprintf(" #%d", h.Attempt)
		}
		detail := h.Time.UTC().Format("15:04:05.000")
		if h.Parent >= 0 {
			detail += "  +" + dur(h.Latency)
		}
		if h.Duration > 0 {
			detail += "  took " + dur(h.Duration)
		}
		if h.ColdStart {
			detail += "  cold"
		}
		if h.ErrorType != "" {
			detail += "  " + m.st.bad.Render(clean(h.ErrorType))
		}
		if h.Status == graph.HopMissing {
			detail = m.st.warn.Render("missing: " + clean(h.Evidence))
		}
		line := indent + branch + mark + " " + fit(h.Kind.String(), 11) + fit(name, 32) + " " + detail
		if h.Evidence != "" && h.Status != graph.HopMissing {
			line += m.st.dim.Render(fmt.Sprintf("  [%s %.0f%%]", clean(h.Evidence), h.Confidence*100))
		}
		out = append(out, line)
		for _, lg := range h.Logs {
			text := clean(lg.Message)
			if lg.Level == "ERROR" {
				text = m.st.bad.Render(text)
			} else {
				text = m.st.dim.Render(text)
			}
			out = append(out, indent+"    │ "+text)
		}
	}
	if len(l.Spans) > 0 {
		out = append(out, "", m.st.head.Render("spans"))
		var total time.Duration
		for _, s := range l.Spans {
			if end := s.Offset + s.Span.Duration(); end > total {
				total = end
			}
		}
		barW := max(m.w/3, 10)
		for _, s := range l.Spans {
			start, width := 0, 1
			if total > 0 {
				start = int(float64(s.Offset) / float64(total) * float64(barW))
				width = max(int(float64(s.Span.Duration())/float64(total)*float64(barW)), 1)
			}
			bar := strings.Repeat(" ", min(start, barW)) + strings.Repeat("▇", min(width, barW-min(start, barW-1)))
			via := ""
			if s.ViaLink {
				via = " ↪"
			}
			name := strings.Repeat(" ", s.Depth) + clean(s.Span.Service+" "+s.Span.Name) + via
			line := fit(name, 34) + " " + fit(bar, barW) + " " + dur(s.Span.Duration())
			if s.Span.Status == tracing.StatusError {
				line = m.st.bad.Render(line)
			}
			out = append(out, line)
		}
	}
	for _, d := range l.DLQ {
		out = append(out, "", m.st.bad.Render(fmt.Sprintf("dead-lettered in %s as %s, received %d times", clean(d.Queue), clean(d.MessageID), d.ReceiveCount)))
		if d.Error != "" {
			out = append(out, "  last consumer error: "+clean(d.Error))
		}
		for _, l := range prettyBody(d.Body, 12) {
			out = append(out, "  "+l)
		}
		if m.actionsShown() {
			out = append(out, m.st.key.Render("  r redrive this message to "+firstNonEmpty(d.SourceQueue, "its source")+"   e replay (edit) it"))
		}
	}
	return out
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func keysLine(keys []tracing.Key) string {
	var parts []string
	for _, k := range keys {
		if strings.HasPrefix(k.Value, "=") || strings.HasPrefix(k.Value, "ce:") {
			continue // lookup aliases
		}
		parts = append(parts, k.Kind.String()+":"+clean(strings.ReplaceAll(k.Value, "\n", "/")))
	}
	return strings.Join(parts, " ")
}

// prettyBody indents a JSON body, or keeps text, as sanitised lines.
func prettyBody(body string, maxLines int) []string {
	var v any
	text := body
	if json.Unmarshal([]byte(body), &v) == nil {
		if b, err := json.MarshalIndent(v, "", "  "); err == nil {
			text = string(b)
		}
	}
	lines := strings.Split(tracing.Sanitize(text, true), "\n")
	if maxLines > 0 && len(lines) > maxLines {
		lines = append(lines[:maxLines], fmt.Sprintf("… %d more lines", len(lines)-maxLines))
	}
	return lines
}

const sparks = "▁▂▃▄▅▆▇█"

func sparkline(vals []float64, n int) string {
	if len(vals) > n {
		vals = vals[len(vals)-n:]
	}
	hi := 0.0
	for _, v := range vals {
		hi = max(hi, v)
	}
	var b strings.Builder
	for _, v := range vals {
		i := 0
		if hi > 0 {
			i = int(v / hi * float64(len([]rune(sparks))-1))
		}
		b.WriteRune([]rune(sparks)[i])
	}
	return b.String()
}

func (m Model) fnView() []string {
	w := columns(m.w, []int{20, 6, 7, 7, 6, 5, 5, 8, 8, 8, 12, 11, 11, 12}, 0)
	out := []string{m.st.head.Render(row([]string{"FUNCTION", "ARCH", "MEM", "INVOKES", "ERRORS", "TMO", "COLD", "P50", "P95", "P99", "MEM USED", "COST", "/MONTH", "RATE"}, w))}
	for i, f := range m.matchFns() {
		if len(out) >= m.lay.body {
			break
		}
		used := fmt.Sprintf("%d/%d MB", f.MaxMemoryUsedMB, f.MemoryMB)
		errs := fmt.Sprint(f.Errors)
		if f.Errors > 0 {
			errs = m.st.bad.Render(errs)
		}
		line := row([]string{clean(f.Name), f.Architecture, fmt.Sprintf("%dMB", f.MemoryMB), fmt.Sprint(f.Invocations), errs, fmt.Sprint(f.Timeouts), fmt.Sprint(f.ColdStarts),
			dur(f.P50), dur(f.P95), dur(f.P99), used, fmt.Sprintf("$%.4f", f.CostUSD), fmt.Sprintf("$%.2f", f.CostPerMonthUSD), sparkline(f.Rate, w[13])}, w)
		if i == m.fnCur {
			line = m.st.sel.Render(fit(ansi.Strip(line), m.w))
		}
		out = append(out, line)
	}
	if len(m.fns) == 0 {
		out = append(out, m.st.dim.Render("no function seen yet"))
	}
	out = append(out, "", m.st.dim.Render("sorted by "+fnSorts[m.fnSort].name+" · window: since flowtop started · prices: us-east-1 list price (see README)"))
	return out
}

func (m Model) dlqView() []string {
	w := columns(m.w, []int{26, 8, 9, 10, 30}, 4)
	out := []string{m.st.head.Render(row([]string{"QUEUE", "DEPTH", "IN FLIGHT", "OLDEST", "SOURCES / DLQ"}, w))}
	for i, q := range m.queues {
		if len(out) >= m.lay.body {
			break
		}
		name := clean(q.Name)
		rel := ""
		if q.IsDLQ {
			name = m.st.bad.Render("☠ ") + name
			rel = "← " + clean(strings.Join(q.Sources, ", "))
		} else if q.DeadLetterQueue != "" {
			rel = fmt.Sprintf("→ %s after %d receives", clean(q.DeadLetterQueue), q.MaxReceiveCount)
		}
		depth := fmt.Sprint(q.Depth)
		if q.IsDLQ && q.Depth > 0 {
			depth = m.st.bad.Render(depth)
		}
		oldest := "-"
		if q.OldestAge > 0 {
			oldest = dur(q.OldestAge)
		}
		line := row([]string{name, depth, fmt.Sprint(q.InFlight), oldest, rel}, w)
		if i == m.dlqCur {
			line = m.st.sel.Render(fit(ansi.Strip(line), m.w))
		}
		out = append(out, line)
	}
	if len(m.queues) == 0 {
		out = append(out, m.st.dim.Render("no queues found yet (the dlq collector lists them)"))
	}
	return out
}

func (m Model) msgsView() []string {
	w := columns(m.w, []int{2, 36, 36, 5, 8, 24}, 5)
	out := []string{m.st.head.Render(row([]string{"", "MESSAGE", "EVENT", "RECV", "AGE", "CONSUMER ERROR"}, w))}
	now := m.opts.Now()
	lastErr := "\x00"
	off := clampInt(m.msgCur-(m.lay.body-4), 0, len(m.msgs))
	for i := off; i < len(m.msgs) && len(out) < m.lay.body; i++ {
		d := m.msgs[i]
		if d.Error != lastErr {
			n := 0
			for _, x := range m.msgs {
				if x.Error == d.Error {
					n++
				}
			}
			out = append(out, m.st.bold.Render(fmt.Sprintf("%s (%d)", firstNonEmpty(clean(d.Error), "error unknown"), n)))
			lastErr = d.Error
		}
		sel := " "
		if m.selected[d.MessageID] {
			sel = "✓"
		}
		line := row([]string{sel, clean(d.MessageID), clean(d.EventID), fmt.Sprint(d.ReceiveCount), age(now, d.SentAt), clean(d.Error)}, w)
		if i == m.msgCur {
			line = m.st.sel.Render(fit(ansi.Strip(line), m.w))
		}
		out = append(out, line)
	}
	if len(m.msgs) == 0 {
		out = append(out, m.st.dim.Render("no messages peeked in "+clean(m.dlqQueue)+" yet"))
	}
	return out
}

func (m Model) messageView() []string {
	d := m.message
	out := []string{
		m.st.bold.Render("message "+clean(d.MessageID)) + "  in " + clean(d.Queue),
		fmt.Sprintf("event %s · received %d times · from %s · sent %s", clean(d.EventID), d.ReceiveCount, firstNonEmpty(clean(d.SourceQueue), "?"), d.SentAt.UTC().Format(time.RFC3339)),
	}
	if d.Error != "" {
		out = append(out, m.st.bad.Render("consumer error: "+clean(d.Error)))
	}
	for k, v := range d.Attributes {
		out = append(out, m.st.dim.Render("attribute "+clean(k)+" = "+clean(v)))
	}
	out = append(out, "")
	out = append(out, prettyBody(d.Body, m.lay.body-len(out)-1)...)
	return out
}

func (m Model) mapView() []string {
	out := []string{m.st.head.Render(row([]string{"EDGE", "RATE", "ERRORS", "P95"}, columns(m.w, []int{40, 10, 8, 8}, 0)))}
	w := columns(m.w, []int{40, 10, 8, 8}, 0)
	i := 0
	for _, e := range m.mapv.Edges {
		line := row([]string{clean(e.From.String()) + " → " + clean(e.To.String()), fmt.Sprintf("%.2f/s", e.Rate), fmt.Sprintf("%.1f%%", e.ErrorPct), dur(e.P95)}, w)
		if e.ErrorPct > 5 {
			line = m.st.bad.Render(line)
		}
		if i == m.mapCur {
			line = m.st.sel.Render(fit(ansi.Strip(line), m.w))
		}
		out = append(out, line)
		i++
	}
	out = append(out, "", m.st.head.Render(row([]string{"COMPONENT", "RATE", "ERRORS", "P95"}, w)))
	for _, n := range m.mapv.Nodes {
		line := row([]string{clean(n.Component.String()), fmt.Sprintf("%.2f/s", n.Rate), fmt.Sprintf("%.1f%%", n.ErrorPct), dur(n.P95)}, w)
		if i == m.mapCur {
			line = m.st.sel.Render(fit(ansi.Strip(line), m.w))
		}
		out = append(out, line)
		i++
	}
	off := clampInt(m.mapCur-(m.lay.body-2), 0, len(out))
	return out[off:]
}

type helpKey struct{ keys, what string }

func (m Model) helpKeys(s screen) []helpKey {
	global := []helpKey{{"j/k ↑/↓", "move"}, {"g/G", "top / bottom"}, {"ctrl-d/ctrl-u", "half page down / up"}, {"enter", "open"},
		{"esc", "back (or clear the filter)"}, {"-", "previous screen"}, {"/", "filter (! inverts)"}, {":", "command: fn, dlq, map, flows, tail <id>, help, quit (tab completes)"},
		{"?", "this help"}, {"q, ctrl-c", "quit"}, {"mouse wheel", "scroll"}}
	var local []helpKey
	switch s {
	case scrFlows:
		local = []helpKey{{"enter, t", "open the event: its hops, logs, spans"}, {"s", "cycle sort: recent, start, latency, hops, status, cost"}, {"f", "follow new events"}}
	case scrEvent:
		local = []helpKey{{"enter", "on an ID several events share: open the one under the cursor"}}
		if m.actionsShown() {
			local = append(local, helpKey{"r", "redrive this event's DLQ copy (plan, then confirm)"}, helpKey{"e", "replay this event (plan, then confirm)"})
		}
	case scrFunctions:
		local = []helpKey{{"s", "cycle sort: cost, p95, errors, invocations, cold starts, name"}}
	case scrDLQs:
		local = []helpKey{{"enter", "peeked messages, grouped by consumer error"}}
		if m.actionsShown() {
			local = append(local, helpKey{"r", "redrive all (plan, then confirm)"})
		}
	case scrDLQMessages:
		local = []helpKey{{"enter", "the message body"}, {"t", "open the message's event"}}
		if m.actionsShown() {
			local = append(local, helpKey{"space", "select"}, helpKey{"a", "select the whole error group"}, helpKey{"R", "redrive selected"}, helpKey{"r", "redrive all"})
		}
	case scrMessage:
		local = []helpKey{{"t", "open the message's event"}}
		if m.actionsShown() {
			local = append(local, helpKey{"e", "replay (plan, then confirm)"})
		}
	}
	return append(local, global...)
}

func (m Model) helpView() []string {
	out := []string{m.st.head.Render("keys on " + screenNames[m.helpFor])}
	for _, k := range m.helpKeys(m.helpFor) {
		out = append(out, "  "+m.st.key.Render(fit(k.keys, 16))+" "+k.what)
	}
	if m.opts.ReadOnly {
		out = append(out, "", m.st.warn.Render("read-only: actions that change anything are hidden and refused"))
	}
	return out
}

// matchFns applies the filter to functions (fuzzy on the name).
func (m Model) matchFns() []graph.FunctionStats {
	if m.filter == "" {
		return m.fns
	}
	return fuzzyFilter(m.fns, m.filter, func(f graph.FunctionStats) string { return f.Name })
}
