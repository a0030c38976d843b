package tui

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/screen"
	ctxscreen "github.com/flowtop/flowtop/tui/screens/ctx"
	"github.com/flowtop/flowtop/tui/widget"
)

// layout is where things go on a screen of a given size.
type layout struct {
	header int // rows above the body
	body   int // rows for the focused screen
	footer int // rows below: the status line and the prompt
	width  int
}

// computeLayout is a pure function of the terminal size.
func computeLayout(w, h int) layout {
	l := layout{header: 3, footer: 2, width: max(w, 1)}
	switch {
	case h <= 1:
		l.header, l.footer = 0, 0
	case h == 2:
		l.header, l.footer = 0, 1
	case h < 12:
		l.header, l.footer = 1, 1
	}
	l.body = max(h-l.header-l.footer, 1)
	return l
}

// View renders header, body and footer. Nothing is rendered again until a
// message changed something: an idle tick returns the last frame.
func (m *Model) View() tea.View {
	if m.quitting {
		return tea.NewView("")
	}
	if m.dirty || m.frame == "" {
		m.frame = m.render()
		m.dirty = false
	}
	v := tea.NewView(m.frame)
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "flowtop"
	return v
}

func (m *Model) render() string {
	var b strings.Builder
	w := m.lay.width
	for _, line := range m.header() {
		b.WriteString(widget.Fit(line, w))
		b.WriteByte('\n')
	}
	var body string
	switch {
	case m.dlg != nil:
		body = m.dialogView()
	case m.showHelp:
		body = m.helpView()
	default:
		body = m.top().View()
	}
	b.WriteString(widget.Clip(strings.Split(body, "\n"), w, m.lay.body))
	for _, line := range m.footer() {
		b.WriteByte('\n')
		b.WriteString(widget.Fit(line, w))
	}
	return b.String()
}

// counters are the per-source figures the header shows when not zero; a
// field SourceHealth doesn't have (yet) is skipped.
var counters = []struct{ field, label string }{
	{"Dropped", "dropped"}, {"Shed", "shed"}, {"Rejected", "rejected"}, {"Unparsed", "unparsed"},
}

func healthCounters(h tracing.SourceHealth) string {
	v := reflect.ValueOf(h)
	var parts []string
	for _, c := range counters {
		f := v.FieldByName(c.field)
		if !f.IsValid() {
			continue
		}
		var n uint64
		switch f.Kind() {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			n = f.Uint()
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			n = uint64(max(f.Int(), 0))
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", c.label, widget.Thousands(n)))
		}
	}
	return strings.Join(parts, " ")
}

func (m *Model) header() []string {
	st, t := m.st, m.totals
	title := st.Title.Render("flowtop")
	if m.opts.Player != nil {
		title += " " + st.Warn.Render(widget.Clean(m.opts.Player.Status()))
	}
	title += " " + widget.Clean(m.opts.Title)
	if m.opts.ReadOnly {
		title += " " + st.Warn.Render("[read-only]")
	}
	stats := fmt.Sprintf("%s events · %.1f obs/s · evicted %d · unparsed %d", widget.Thousands(t.Events), t.RatePerSec, t.Evicted, t.Unparsed)
	var dropped uint64
	var srcs []string
	if len(m.contexts) > 0 {
		srcs = append(srcs, m.contextsLine())
	}
	for _, h := range m.health {
		dropped += h.Dropped
		if len(m.contexts) > 0 && strings.Contains(h.Source, "@") {
			continue // a context's own source: its context's mark says it, :ctx lists it
		}
		mark := st.OK.Render("●")
		state := h.State.String()
		switch h.State {
		case tracing.SourceStateRetrying:
			mark = st.Warn.Render("◐")
			state = "retrying"
			if h.RetryIn > 0 {
				state += " in " + h.RetryIn.Round(time.Second).String()
			}
		case tracing.SourceStateFailed:
			mark = st.Bad.Render("✗")
		case tracing.SourceStateStarting:
			mark = st.Dim.Render("○")
		}
		s := mark + " " + widget.Clean(h.Source) + " " + state
		if h.Mode != "" && h.State != tracing.SourceStateFailed {
			s += " (" + widget.Clean(h.Mode) + ")"
		}
		s += origins(h)
		if c := healthCounters(h); c != "" {
			s += " " + st.Warn.Render(c)
		}
		srcs = append(srcs, s)
	}
	if dropped > 0 {
		stats += fmt.Sprintf(" · dropped %d", dropped)
	}
	switch m.lay.header {
	case 0:
		return nil
	case 1:
		return []string{title + "  " + stats}
	}
	return []string{title + "   " + stats, strings.Join(srcs, "  "), m.crumb()}
}

// contextsLine is the header's account and region list: "ctx 2:
// prod/us-east-1 ✓ prod/eu-west-1 ✗ AccessDenied", the one the views are
// narrowed to in bold.
func (m *Model) contextsLine() string {
	parts := []string{fmt.Sprintf("ctx %d:", len(m.contexts))}
	for _, c := range m.contexts {
		name := widget.Clean(c.Name)
		if c.Name == m.narrowed {
			name = m.st.Bold.Render("[" + name + "]")
		}
		parts = append(parts, name+" "+ctxscreen.Mark(m.st, c))
	}
	if m.narrowed != "" {
		parts = append(parts, m.st.Dim.Render("(narrowed: :ctx all)"))
	}
	return strings.Join(parts, " ")
}

// crumb is the breadcrumb: the stack's titles, the filter and the focused
// screen's state.
func (m *Model) crumb() string {
	st := m.st
	parts := make([]string, len(m.stack))
	for i, s := range m.stack {
		parts[i] = s.Title()
	}
	// Keep the focused screen's title whole; drop the oldest first.
	for len(parts) > 1 && len(strings.Join(parts, " › ")) > m.lay.width/2 {
		parts = parts[1:]
		parts[0] = "… " + parts[0]
	}
	c := st.Bold.Render(strings.Join(parts, " › "))
	top := m.top()
	if f, ok := top.(screen.Filterer); ok && f.Filter() != "" {
		c += "  " + st.Key.Render("/"+widget.Clean(f.Filter()))
	}
	if in, ok := top.(screen.Informer); ok {
		if s := in.Info(); s != "" {
			c += "  " + st.Dim.Render(s)
		}
	}
	return c
}

func (m *Model) footer() []string {
	st := m.st
	var status string
	switch {
	case m.flash.text != "" && m.opts.Now().Before(m.flash.until):
		text := widget.Clean(m.flash.text)
		switch m.flash.level {
		case screen.LevelOK:
			status = st.OK.Render(text)
		case screen.LevelWarn:
			status = st.Warn.Render(text)
		case screen.LevelError:
			status = st.Bad.Render(text)
		default:
			status = text
		}
	case m.dlg != nil || m.showHelp:
		status = ""
	default:
		// The global keys always show; the screen's own get what is left.
		global := m.help.ShortHelpView(m.keys.short())
		status = m.shortHelp(m.top().Keys().ShortHelp(), m.lay.width-lipgloss.Width(global)-2)
		if status != "" {
			status += "  "
		}
		status += global
	}
	input := ""
	if m.prompt.active() {
		input = m.promptView()
	}
	switch m.lay.footer {
	case 0:
		return nil
	case 1:
		if input != "" {
			return []string{input}
		}
		return []string{status}
	}
	return []string{status, input}
}

// helpLines lists every binding of the focused screen, then the global ones,
// each key once, from the same bindings the keys are matched with.
func (m *Model) helpLines() []string {
	st := m.st
	out := []string{st.Head.Render("keys on " + m.top().Title())}
	seen := map[string]bool{}
	add := func(bs []key.Binding) {
		added := false
		for _, b := range bs {
			h := b.Help()
			if !b.Enabled() || h.Key == "" || seen[h.Key] {
				continue
			}
			seen[h.Key] = true
			out = append(out, "  "+st.Key.Render(widget.Fit(h.Key, 10))+" "+h.Desc)
			added = true
		}
		if added {
			out = append(out, "")
		}
	}
	for _, g := range m.top().Keys().FullHelp() {
		add(g)
	}
	add(m.keys.all())
	if m.opts.Player != nil {
		add(DefaultPlayerKeys().all())
	}
	if m.opts.ReadOnly {
		out = append(out, st.Warn.Render("read-only: actions that change anything are hidden and refused"))
	}
	return out
}

func (m *Model) helpView() string {
	lines := m.helpLines()
	m.helpOff = min(max(m.helpOff, 0), max(len(lines)-m.lay.body, 0))
	shown := lines[m.helpOff:]
	if len(shown) > m.lay.body && m.lay.body > 1 {
		shown = append(shown[:m.lay.body-1:m.lay.body-1], m.st.Dim.Render(fmt.Sprintf("  … %d more: j/k scroll, esc closes", len(lines)-m.helpOff-m.lay.body+1)))
	}
	return widget.Clip(shown, m.lay.width, m.lay.body)
}

func (m *Model) helpKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc", "?", "q", "enter":
		m.showHelp = false
	case "j", "down":
		m.helpOff++
	case "k", "up":
		m.helpOff--
	case "pgdown", "ctrl+d", "ctrl+f":
		m.helpOff += max(m.lay.body/2, 1)
	case "pgup", "ctrl+u", "ctrl+b":
		m.helpOff -= max(m.lay.body/2, 1)
	case ":":
		m.showHelp = false
		return m.openPrompt(modeCommand, "")
	}
	return nil
}

// shortHelp renders the bindings that fit in width, then "…" if some don't.
// (help.Model's own cut adds every item after the first that doesn't fit
// when the ellipsis doesn't fit either.)
func (m *Model) shortHelp(bs []key.Binding, width int) string {
	h := m.help
	h.SetWidth(0)
	for n := len(bs); n > 0; n-- {
		s := h.ShortHelpView(bs[:n])
		if n < len(bs) {
			s += " " + m.st.Dim.Render("…")
		}
		if lipgloss.Width(s) <= width {
			return s
		}
	}
	return ""
}
