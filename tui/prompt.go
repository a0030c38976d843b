package tui

import (
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

type promptMode uint8

const (
	modeNone promptMode = iota
	modeCommand
	modeFilter
)

// prompt is the `:` command line and the `/` filter, one textinput.
type prompt struct {
	mode promptMode
	in   textinput.Model
	prev string // the filter before `/` was pressed: esc puts it back
}

// filterSuggestions complete field terms in `/`.
var filterSuggestions = []string{
	"status:failed", "status:dead-lettered", "status:retrying", "status:ok", "status:in flight",
	"type:", "fn:", "error:", "queue:", "kind:dlq", "kind:edge", "source:",
}

func newPrompt(st widget.Styles) prompt {
	in := textinput.New()
	s := textinput.DefaultDarkStyles()
	s.Cursor.Blink = false // a blinking cursor would redraw twice a second for nothing
	s.Focused.Text, s.Focused.Prompt, s.Focused.Suggestion = st.Bold.UnsetBold(), st.Key, st.Dim
	in.SetStyles(s)
	in.ShowSuggestions = true
	in.CharLimit = 512
	return prompt{in: in}
}

func (p *prompt) active() bool { return p.mode != modeNone }

func (p *prompt) setWidth(w int) { p.in.SetWidth(max(w-4, 10)) }

func (m *Model) openPrompt(mode promptMode, text string) tea.Cmd {
	p := &m.prompt
	p.mode = mode
	p.in.Reset()
	if mode == modeCommand {
		p.in.Prompt = ":"
		p.in.SetSuggestions(m.commandWords())
		p.in.SetValue(text)
	} else {
		p.in.Prompt = "/"
		p.in.SetSuggestions(filterSuggestions)
		f := m.top().(screen.Filterer)
		p.prev = f.Filter()
		// `/` again edits the filter in place; a paste adds to it.
		v := p.prev
		if text != "" {
			v = strings.TrimSpace(v + " " + text)
		}
		p.in.SetValue(v)
		if v != p.prev {
			f.SetFilter(v)
		}
	}
	p.in.CursorEnd()
	cmd := p.in.Focus()
	if mode == modeFilter && p.in.Value() != p.prev {
		return tea.Batch(cmd, m.refresh())
	}
	return cmd
}

func (m *Model) commandWords() []string {
	var out []string
	for _, s := range m.specs {
		for _, w := range s.Words {
			if s.Arg != "" {
				w += " "
			}
			out = append(out, w)
		}
	}
	return append(out, "tail ", "help", "quit")
}

func (m *Model) closePrompt() {
	m.prompt.mode = modeNone
	m.prompt.in.Blur()
}

func (m *Model) promptKey(k tea.KeyPressMsg) tea.Cmd {
	p := &m.prompt
	switch k.String() {
	case "esc":
		mode := p.mode
		m.closePrompt()
		if mode == modeFilter {
			if f, ok := m.top().(screen.Filterer); ok && f.Filter() != p.prev {
				f.SetFilter(p.prev)
				return m.refresh()
			}
		}
		return nil
	case "enter":
		mode, v := p.mode, strings.TrimSpace(p.in.Value())
		m.closePrompt()
		if mode == modeFilter {
			if f, ok := m.top().(screen.Filterer); ok && f.Filter() != v {
				f.SetFilter(v)
				return m.refresh()
			}
			return nil
		}
		return m.run(v)
	}
	var cmd tea.Cmd
	p.in, cmd = p.in.Update(k)
	return tea.Batch(cmd, m.liveFilter())
}

func (m *Model) promptPaste(pm tea.PasteMsg) tea.Cmd {
	var cmd tea.Cmd
	m.prompt.in, cmd = m.prompt.in.Update(tea.PasteMsg{Content: pasted(pm.Content)})
	return tea.Batch(cmd, m.liveFilter())
}

// liveFilter applies the filter as it is typed.
func (m *Model) liveFilter() tea.Cmd {
	if m.prompt.mode != modeFilter {
		return nil
	}
	f, ok := m.top().(screen.Filterer)
	if !ok {
		return nil
	}
	if v := strings.TrimSpace(m.prompt.in.Value()); v != f.Filter() {
		f.SetFilter(v)
		return m.refresh()
	}
	return nil
}

func (m *Model) promptView() string {
	hint := "  tab completes · enter runs · esc cancels"
	if m.prompt.mode == modeFilter {
		hint = "  ! inverts · status:failed type:X fn:X · enter keeps · esc restores"
	}
	return m.prompt.in.View() + m.st.Dim.Render(hint)
}
