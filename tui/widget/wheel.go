package widget

import tea "charm.land/bubbletea/v2"

// wheelRows is how many rows one wheel notch scrolls, on every screen.
const wheelRows = 3

// WheelStep is the rows a mouse wheel message scrolls: up is negative, and
// any other button (a tilt, a click) is 0, so a screen moves its cursor by
// it without a switch of its own.
func WheelStep(msg tea.MouseWheelMsg) int {
	switch msg.Button {
	case tea.MouseWheelUp:
		return -wheelRows
	case tea.MouseWheelDown:
		return wheelRows
	}
	return 0
}
