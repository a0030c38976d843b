// Package widget holds what every screen of the console draws with: the
// styles, the text helpers that neutralise outside text, the list table over
// bubbles' table with column priorities, and the `/` query language.
package widget

import (
	"charm.land/lipgloss/v2"

	"github.com/flowtop/flowtop/graph"
)

// Styles are the console's colours; with NO_COLOR every style is plain
// (reverse video still marks the cursor row).
type Styles struct {
	Title, Dim, Bold, Sel, OK, Warn, Bad, Key, Head lipgloss.Style
}

// NewStyles returns the console's styles, plain when noColor is set.
func NewStyles(noColor bool) Styles {
	p := lipgloss.NewStyle()
	if noColor {
		return Styles{Title: p, Dim: p, Bold: p, Sel: p.Reverse(true), OK: p, Warn: p, Bad: p, Key: p, Head: p}
	}
	return Styles{
		Title: p.Bold(true).Foreground(lipgloss.Color("12")),
		Dim:   p.Foreground(lipgloss.Color("8")),
		Bold:  p.Bold(true),
		Sel:   p.Reverse(true),
		OK:    p.Foreground(lipgloss.Color("10")),
		Warn:  p.Foreground(lipgloss.Color("11")),
		Bad:   p.Foreground(lipgloss.Color("9")),
		Key:   p.Foreground(lipgloss.Color("14")),
		Head:  p.Bold(true).Underline(true),
	}
}

// Status renders an event status in the colour of its severity.
func (s Styles) Status(st graph.Status) string {
	switch st {
	case graph.StatusSucceeded:
		return s.OK.Render(st.String())
	case graph.StatusRetrying, graph.StatusInFlight:
		return s.Warn.Render(st.String())
	case graph.StatusFailed, graph.StatusDeadLettered:
		return s.Bad.Render(st.String())
	}
	return st.String()
}
