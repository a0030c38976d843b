package main

import (
	"strings"
	"testing"
	"time"
)

func TestProgressMeter(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := t0
	run := func(tty bool) string {
		var b strings.Builder
		m := newProgressMeter(&b, tty, "moved")
		m.now = func() time.Time { return clock }
		clock = t0
		m.update(0, 1000, 0, "no message move task (unsupported): falling back to a journaled redrive")
		for done := 10; done <= 1000; done += 10 {
			clock = clock.Add(10 * time.Millisecond) // 1,000 messages/s
			dups := 0
			if done >= 500 {
				dups = 3
			}
			m.update(done, 1000, dups, "")
		}
		m.finish()
		return b.String()
	}

	plain := run(false)
	if strings.ContainsAny(plain, "\r\x1b") {
		t.Errorf("plain output carries terminal controls: %q", plain)
	}
	lines := strings.Split(strings.TrimSpace(plain), "\n")
	// The note, then one line every 2 s of a 1 s run: the first and the last.
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "no message move task") {
		t.Fatalf("plain lines:\n%s", plain)
	}
	if want := "moved 1000 of 1000 (100%, 1000/s, possible duplicates 3)"; lines[2] != want {
		t.Errorf("last plain line %q, want %q", lines[2], want)
	}

	bar := run(true)
	if !strings.Contains(bar, "\r[") || !strings.HasSuffix(bar, "\n") {
		t.Fatalf("no bar redrawn in place, or the line is not ended: %q", bar)
	}
	frames := strings.Count(bar, "\r[")
	if frames < 5 || frames > 12 { // 100 updates over 1 s, at most one per 100 ms, and the last
		t.Errorf("%d bar frames for a 1 s run, want about 10", frames)
	}
	last := bar[strings.LastIndex(bar, "\r")+1:]
	if !strings.Contains(last, "#] 1000/1000 100%") || strings.Contains(last, ".") || len(last) > 80+4 || !strings.Contains(last, "possible duplicates 3") {
		t.Errorf("last frame %q", last)
	}
	mid := strings.Split(bar, "\r")[3]
	if !strings.Contains(mid, "ETA") {
		t.Errorf("a frame mid-run has no ETA: %q", mid)
	}
}

// TestProgressMeterShare: an archive replay reports a state and a share of
// its window; the meter throttles it like a redrive's counts and always
// shows the terminal state.
func TestProgressMeterShare(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	run := func(tty bool) string {
		var b strings.Builder
		clock := t0
		m := newProgressMeter(&b, tty, "replayed")
		m.now = func() time.Time { return clock }
		m.updateShare("STARTING", 0, "", "")
		for i := 1; i <= 40; i++ {
			clock = clock.Add(100 * time.Millisecond)
			m.updateShare("RUNNING", float64(i)/50, "replayed up to 12:0"+string(rune('0'+i%10)), "")
		}
		clock = clock.Add(100 * time.Millisecond)
		m.updateShare("COMPLETED", 0.9, "", "")
		m.finish()
		return b.String()
	}
	plain := strings.Split(strings.TrimSpace(run(false)), "\n")
	// 4 s of reports: the first, one every 2 s, and the terminal state.
	if len(plain) < 3 || len(plain) > 4 || plain[len(plain)-1] != "COMPLETED 90%" || !strings.HasPrefix(plain[0], "STARTING 0%") {
		t.Fatalf("plain lines: %q", plain)
	}
	bar := run(true)
	last := bar[strings.LastIndex(bar, "\r")+1:]
	if !strings.HasPrefix(last, "COMPLETED [") || !strings.Contains(last, "]  90%") || !strings.HasSuffix(bar, "\n") || strings.Count(bar, "\r") < 30 {
		t.Fatalf("bar: %q", bar)
	}
}
