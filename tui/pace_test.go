//go:build unix

package tui

import (
	"testing"
	"time"
)

// snapshot reads the pacer's state, its kicks, and whether it looked for
// the ticker and found none.
func (p *pacer) snapshot() (state paceState, kicks int, missing bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state, p.kicks, p.found && p.ticker == nil
}

// TestPacerFindsTheTicker runs the console as the terminal layer runs it
// and checks the pacer's whole cycle: it finds the terminal layer's frame
// ticker (if Bubble Tea renames the field this fails, rather than the
// console silently ticking at the full rate again), lets it rest while the
// view stands still, wakes it for a key whose answer is then written at
// once, and rests again.
func TestPacerFindsTheTicker(t *testing.T) {
	// A resting ticker ticks once an hour here: a frame written at once
	// after the key is the kick's, not the resting ticker's.
	p, pw, out, _ := runProbe(t, bigGraph(2000), frameRate, time.Hour)

	// waitFor polls cond, bounded.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after 10 s: %s", what)
			}
		}
	}
	waitFor("the ticker rests while the view stands still", func() bool {
		s, _, missing := p.pace.snapshot()
		if missing {
			t.Fatal("the terminal layer's frame ticker was not found: frames tick at the full rate while idle")
		}
		return s == paceResting
	})
	_, kicks, _ := p.pace.snapshot()
	out.mu.Lock()
	writes := len(out.writes)
	out.mu.Unlock()

	p.mu.Lock()
	before := p.changed
	p.mu.Unlock()
	if _, err := pw.WriteString("?"); err != nil { // help: the view changes
		t.Fatal(err)
	}
	var changed time.Time
	waitFor("the key changed the view", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		changed = p.changed
		return changed != before
	})
	waitFor("a frame was written after the change", func() bool { _, ok := out.firstAfter(changed); return ok })
	if _, k, _ := p.pace.snapshot(); k != kicks+1 {
		t.Errorf("a change at rest woke the ticker %d times, want 1", k-kicks)
	}
	out.mu.Lock()
	if len(out.writes) <= writes {
		t.Errorf("no frame was written for the change")
	}
	out.mu.Unlock()
	waitFor("the ticker rests again", func() bool { s, _, _ := p.pace.snapshot(); return s == paceResting })
}
