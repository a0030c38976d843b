package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/golden"
	"github.com/flowtop/flowtop/tui/screen"
)

// bodyLines are the raw (styled) lines of the body.
func bodyLines(m *Model) []string {
	lines := strings.Split(m.View().Content, "\n")
	return lines[m.lay.header : m.lay.header+m.lay.body]
}

// cursorVisible reports whether a row in reverse video (the cursor) is on screen.
func cursorVisible(m *Model) bool {
	for _, l := range bodyLines(m) {
		if strings.Contains(l, "\x1b[7m") {
			return true
		}
	}
	return false
}

// TestConformance checks what every screen in the registry must do at
// 80x24, 120x40 and 200x50: render within its size; and for every list, keep
// the cursor on screen however far it moves, filter with `/` (esc puts the
// filter back), and take a paste as a filter.
func TestConformance(t *testing.T) {
	for _, spec := range registry(fake.NewFeed()) {
		for _, sz := range golden.Sizes {
			w, h := sz[0], sz[1]
			t.Run(fmt.Sprintf("%s/%dx%d", spec.ID, w, h), func(t *testing.T) {
				m := newModel(t, w, h, Options{Feed: fake.NewFeed().Many(), Replayer: &fakeReplayer{}})
				if m.top().ID() != spec.ID {
					var arg any
					if spec.Arg != "" {
						arg = "billing-dlq"
					}
					m = drive(t, m, m.open(screen.Open{To: spec.ID, Arg: arg}))
				}
				if m.top().ID() != spec.ID {
					t.Fatalf("opened %s", m.top().ID())
				}
				check := func(when string) {
					t.Helper()
					v := m.View().Content
					if n := strings.Count(v, "\n") + 1; n != h {
						t.Errorf("%s: %d lines", when, n)
					}
					golden.Fits(t, when, v, w, h)
					if body := m.top().View(); strings.Count(body, "\n")+1 > m.lay.body {
						t.Errorf("%s: the screen's view has %d lines for a body of %d", when, strings.Count(body, "\n")+1, m.lay.body)
					}
				}
				check("open")
				f, isList := m.top().(screen.Filterer)
				if !isList {
					return
				}
				if !cursorVisible(m) {
					t.Fatalf("no cursor row:\n%s", screenText(m))
				}
				m = press(t, m, "G")
				check("G")
				if !cursorVisible(m) {
					t.Errorf("G: the cursor went off screen:\n%s", screenText(m))
				}
				m = press(t, m, "g")
				for i := 0; i < h+5; i++ {
					m = press(t, m, "j")
				}
				check("j")
				if !cursorVisible(m) {
					t.Errorf("j: the cursor went off screen:\n%s", screenText(m))
				}
				m = press(t, m, "pgdown", "pgdown", "up")
				if !cursorVisible(m) {
					t.Errorf("pgdown: the cursor went off screen:\n%s", screenText(m))
				}
				before := ansi.Strip(strings.Join(bodyLines(m), "\n"))
				m = press(t, m, "/", "z", "q", "x", "w")
				if f.Filter() != "zqxw" {
					t.Errorf("/ did not filter as typed: %q", f.Filter())
				}
				if after := ansi.Strip(strings.Join(bodyLines(m), "\n")); after == before || cursorVisible(m) {
					t.Errorf("/zqxw kept rows:\n%s", after)
				}
				check("/")
				m = press(t, m, "esc")
				if f.Filter() != "" {
					t.Errorf("esc kept %q", f.Filter())
				}
				m = paste(t, m, "zq\n")
				if f.Filter() != "zq" {
					t.Errorf("paste: filter %q", f.Filter())
				}
				m = press(t, m, "enter", "esc")
				if f.Filter() != "" || !cursorVisible(m) {
					t.Errorf("esc after a paste: filter %q", f.Filter())
				}
			})
		}
	}
}

// TestTinyTerminals: every screen, its help and a dialog render without
// panicking and fill exactly the terminal, however small.
func TestTinyTerminals(t *testing.T) {
	for _, spec := range registry(fake.NewFeed()) {
		for _, sz := range [][2]int{{40, 10}, {20, 3}, {1, 1}, {300, 5}} {
			w, h := sz[0], sz[1]
			m := newModel(t, w, h, Options{Feed: fake.NewFeed().Many(), Replayer: &fakeReplayer{}})
			var arg any
			if spec.Arg != "" {
				arg = "ev-1"
			}
			if m.top().ID() != spec.ID {
				m = drive(t, m, m.open(screen.Open{To: spec.ID, Arg: arg}))
			}
			for _, keys := range [][]string{nil, {"G"}, {"?"}, {"esc", ":", "x"}} {
				m = press(t, m, keys...)
				v := m.View().Content
				if n := strings.Count(v, "\n") + 1; n != h {
					t.Errorf("%s %dx%d %v: %d lines", spec.ID, w, h, keys, n)
				}
				golden.Fits(t, string(spec.ID), v, w, h)
			}
		}
	}
}
