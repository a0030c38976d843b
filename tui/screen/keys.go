package screen

import (
	"charm.land/bubbles/v2/key"
)

// KeyMap is a screen's bindings as a [help.KeyMap]: Short for the footer,
// Groups for `?`. Disabled bindings are left out of both.
type KeyMap struct {
	Short  []key.Binding
	Groups [][]key.Binding
}

// ShortHelp returns the footer's bindings.
func (k KeyMap) ShortHelp() []key.Binding { return enabled(k.Short) }

// FullHelp returns every binding, in groups.
func (k KeyMap) FullHelp() [][]key.Binding {
	var out [][]key.Binding
	for _, g := range k.Groups {
		if e := enabled(g); len(e) > 0 {
			out = append(out, e)
		}
	}
	return out
}

func enabled(bs []key.Binding) []key.Binding {
	out := make([]key.Binding, 0, len(bs))
	for _, b := range bs {
		if b.Enabled() {
			out = append(out, b)
		}
	}
	return out
}
