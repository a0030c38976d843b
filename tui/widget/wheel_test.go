package widget

import (
	"testing"

	tea "charm.land/bubbletea/v2"
)

func TestWheelStep(t *testing.T) {
	for _, tc := range []struct {
		button tea.MouseButton
		want   int
	}{
		{tea.MouseWheelUp, -3},
		{tea.MouseWheelDown, 3},
		{tea.MouseWheelLeft, 0},
		{tea.MouseLeft, 0},
	} {
		if got := WheelStep(tea.MouseWheelMsg{Button: tc.button}); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.button, got, tc.want)
		}
	}
}
