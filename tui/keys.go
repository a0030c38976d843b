package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// GlobalKeys work on every screen; the root handles them before the focused
// screen sees a key.
type GlobalKeys struct {
	Filter, Command, Back, Previous, Help, Quit key.Binding
}

// DefaultGlobalKeys returns the global bindings.
func DefaultGlobalKeys() GlobalKeys {
	return GlobalKeys{
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter: words, status:failed, type:X, fn:X; ! inverts")),
		Command:  key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command: fn, dlq, map, flows, tail <id>, help, quit (tab completes)")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back (or clear the filter)")),
		Previous: key.NewBinding(key.WithKeys("-"), key.WithHelp("-", "previous screen")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// short is what the footer shows after the screen's own keys.
func (g GlobalKeys) short() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "cmd")),
		key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	}
}

func (g GlobalKeys) all() []key.Binding {
	return []key.Binding{g.Filter, g.Command, g.Back, g.Previous, g.Help, g.Quit}
}

func matches(k tea.KeyPressMsg, b key.Binding) bool { return key.Matches(k, b) }
