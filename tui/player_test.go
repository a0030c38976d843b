package tui

import (
	"strings"
	"testing"
	"time"
)

// fakePlayer records the controls it was given.
type fakePlayer struct {
	calls []string
	now   time.Time
}

func (p *fakePlayer) TogglePause()           { p.calls = append(p.calls, "pause") }
func (p *fakePlayer) Faster()                { p.calls = append(p.calls, "faster") }
func (p *fakePlayer) Slower()                { p.calls = append(p.calls, "slower") }
func (p *fakePlayer) Seek(t time.Time)       { p.calls = append(p.calls, "seek "+t.Format("15:04:05")) }
func (p *fakePlayer) SeekBy(d time.Duration) { p.calls = append(p.calls, "by "+d.String()) }
func (p *fakePlayer) Bounds() (time.Time, time.Time) {
	return p.now.Add(-time.Hour), p.now.Add(time.Hour)
}
func (p *fakePlayer) Now() time.Time { return p.now }
func (p *fakePlayer) Status() string { return "⏸ 2× 12:00:00 (1h0m0s of 2h0m0s)" }

func TestPlayerKeys(t *testing.T) {
	p := &fakePlayer{now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	m := newModel(t, 120, 40, Options{Player: p})
	m = press(t, m, "space", "+", ">", "<", "[", "]", ":", "g", "o", "t", "o", " ", "1", "2", ":", "0", "3", ":", "1", "0", "enter")
	m = press(t, m, ":", "g", "o", "t", "o", " ", "+", "3", "0", "s", "enter")
	want := []string{"pause", "faster", "faster", "slower", "by -10s", "by 10s", "seek 12:03:10", "seek 12:00:30"}
	if strings.Join(p.calls, ",") != strings.Join(want, ",") {
		t.Fatalf("calls %q, want %q", p.calls, want)
	}
	if !strings.Contains(screenText(m), "⏸ 2× 12:00:00") {
		t.Errorf("header lacks the player's status:\n%s", screenText(m))
	}
	m = press(t, m, "?")
	if !strings.Contains(screenText(m), "pause or resume the recording") {
		t.Errorf("help lacks the time controls:\n%s", screenText(m))
	}
}

func TestNoPlayerNoTimeKeys(t *testing.T) {
	m := newModel(t, 120, 40, Options{})
	m = press(t, m, ":", "g", "o", "t", "o", " ", "+", "1", "s", "enter")
	if !strings.Contains(screenText(m), "open one with flowtop open FILE") {
		t.Errorf("goto without a recording:\n%s", screenText(m))
	}
}

func TestParseGoto(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in, want string
		err      bool
	}{
		{"12:03:10", "12:03:10", false},
		{"9:05", "09:05:00", false},
		{"+30s", "12:00:30", false},
		{"-1m", "11:59:00", false},
		{"", "", true},
		{"soon", "", true},
		{"+x", "", true},
	} {
		got, err := parseGoto(c.in, now)
		if (err != nil) != c.err || (!c.err && got.Format("15:04:05") != c.want) {
			t.Errorf("parseGoto(%q) = %v, %v; want %s (error %v)", c.in, got, err, c.want, c.err)
		}
	}
}
