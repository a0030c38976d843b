package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/flowtop/flowtop/tui/screen"
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
		m.pace.viewed(m.frame != "", time.Now())
		m.frame = ""
		return tea.NewView("")
	}
	changed := false
	if m.dirty || m.frame == "" {
		frame := m.render()
		changed, m.frame, m.dirty = frame != m.frame, frame, false
	}
	m.pace.viewed(changed, time.Now())
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
