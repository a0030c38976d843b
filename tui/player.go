package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/tui/screen"
)

// Player controls the playback of a recording (`flowtop open FILE`). The
// engine's player implements it; nil means the console is live. Each method
// returns at once: the player moves in its own goroutine.
type Player interface {
	TogglePause()
	Faster()
	Slower()
	Seek(t time.Time)       // jump to this time of the recording
	SeekBy(d time.Duration) // jump by d, back when negative
	Bounds() (first, last time.Time)
	Now() time.Time // the recording's time the graph has reached
	Status() string // one line for the header: "▶ 2× 12:03:10 (1m5s of 7m0s)"
}

// PlayerKeys are the time controls, on every screen while a recording plays.
type PlayerKeys struct {
	Pause, Faster, Slower, Back, Forward key.Binding
}

// DefaultPlayerKeys returns the time controls. `-` stays "previous screen";
// `<` slows down.
func DefaultPlayerKeys() PlayerKeys {
	return PlayerKeys{
		Pause:   key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "pause or resume the recording")),
		Faster:  key.NewBinding(key.WithKeys("+", "=", ">"), key.WithHelp("+ >", "play faster (1×, 2×, 10×, max)")),
		Slower:  key.NewBinding(key.WithKeys("<"), key.WithHelp("<", "play slower")),
		Back:    key.NewBinding(key.WithKeys("["), key.WithHelp("[", "10 s back (:goto 12:03:10 or :goto -30s jumps)")),
		Forward: key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "10 s forward")),
	}
}

func (p PlayerKeys) all() []key.Binding {
	return []key.Binding{p.Pause, p.Faster, p.Slower, p.Back, p.Forward}
}

// playerKey handles a time control; ok is false for any other key.
func (m *Model) playerKey(k tea.KeyPressMsg) (cmd tea.Cmd, ok bool) {
	p, pk := m.opts.Player, DefaultPlayerKeys()
	switch {
	case matches(k, pk.Pause):
		p.TogglePause()
	case matches(k, pk.Faster):
		p.Faster()
	case matches(k, pk.Slower):
		p.Slower()
	case matches(k, pk.Back):
		p.SeekBy(-10 * time.Second)
	case matches(k, pk.Forward):
		p.SeekBy(10 * time.Second)
	default:
		return nil, false
	}
	return m.refresh(), true
}

// playerGoto carries out `:goto 12:03:10`, `:goto +30s` or `:goto -1m`.
func (m *Model) playerGoto(arg string) tea.Cmd {
	p := m.opts.Player
	if p == nil {
		m.say(screen.LevelError, "goto moves in a recording: open one with flowtop open FILE")
		return nil
	}
	t, err := parseGoto(arg, p.Now())
	if err != nil {
		m.say(screen.LevelError, err.Error())
		return nil
	}
	first, last := p.Bounds()
	if t.Before(first) || t.After(last) {
		m.say(screen.LevelWarn, fmt.Sprintf("the recording runs from %s to %s; going to the nearest end", first.Format("15:04:05"), last.Format("15:04:05")))
	}
	p.Seek(t)
	return m.refresh()
}

// parseGoto reads a clock time (15:04:05 or 15:04, on now's day, in now's
// zone) or a signed duration from now.
func parseGoto(arg string, now time.Time) (time.Time, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return time.Time{}, fmt.Errorf("goto needs a time: :goto 12:03:10, :goto +30s or :goto -1m")
	}
	if arg[0] == '+' || arg[0] == '-' {
		d, err := time.ParseDuration(arg)
		if err != nil {
			return time.Time{}, fmt.Errorf("goto: %q is not a duration such as +30s or -2m", arg)
		}
		return now.Add(d), nil
	}
	for _, layout := range []string{"15:04:05", "15:04"} {
		if c, err := time.ParseInLocation(layout, arg, now.Location()); err == nil {
			y, mo, d := now.Date()
			return time.Date(y, mo, d, c.Hour(), c.Minute(), c.Second(), 0, now.Location()), nil
		}
	}
	return time.Time{}, fmt.Errorf("goto: %q is not a time such as 12:03:10 or a duration such as +30s", arg)
}
