// Package screentest drives one screen the way the root does, for the
// screens' own tests: load, size, keys, pastes and goldens. Only tests
// import it.
package screentest

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/golden"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

// Env is a plain environment on the fake clock; actions as given.
func Env(actions bool) screen.Env {
	return screen.Env{St: widget.NewStyles(true), Now: func() time.Time { return fake.Now }, Actions: actions}
}

// Load runs the screen's Refresh and hands it the reply; it returns the
// messages the screen asked the root for on the way.
func Load(t *testing.T, s screen.Screen) (screen.Screen, []tea.Msg) {
	t.Helper()
	return Run(t, s, s.Refresh(1))
}

// Run runs cmd, hands Loaded replies back to s and collects the rest.
func Run(t *testing.T, s screen.Screen, cmd tea.Cmd) (screen.Screen, []tea.Msg) {
	t.Helper()
	var out []tea.Msg
	queue := []tea.Cmd{cmd}
	for n := 0; len(queue) > 0 && n < 100; n++ {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case screen.Loaded:
			var next tea.Cmd
			s, next = s.Update(msg)
			queue = append(queue, next)
		case screen.Reload:
			queue = append(queue, s.Refresh(2))
			out = append(out, msg)
		default:
			out = append(out, msg)
		}
	}
	return s, out
}

// Key builds a key press as the terminal sends it.
func Key(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "ctrl+c", "ctrl+d", "ctrl+u":
		return tea.KeyPressMsg{Code: rune(k[5]), Mod: tea.ModCtrl}
	}
	return tea.KeyPressMsg{Code: []rune(k)[0], Text: k}
}

// Press sends keys to s, running what they ask for.
func Press(t *testing.T, s screen.Screen, keys ...string) (screen.Screen, []tea.Msg) {
	t.Helper()
	var all []tea.Msg
	for _, k := range keys {
		var cmd tea.Cmd
		s, cmd = s.Update(Key(k))
		var out []tea.Msg
		s, out = Run(t, s, cmd)
		all = append(all, out...)
	}
	return s, all
}

// Goldens renders a fresh screen at every size (the body the root gives it
// under a 3-line header and 2-line footer) and compares it with
// testdata/name-WxH.golden; it also checks the view fits.
func Goldens(t *testing.T, name string, mk func() screen.Screen, keys ...string) {
	t.Helper()
	for _, sz := range golden.Sizes {
		w, h := sz[0], sz[1]-5
		s := mk()
		s.SetSize(w, h)
		s, _ = Load(t, s)
		s, _ = Press(t, s, keys...)
		v := s.View()
		id := fmt.Sprintf("%s-%dx%d", name, sz[0], sz[1])
		golden.Fits(t, id, v, w, h)
		golden.Equal(t, id, v)
	}
}
