//go:build unix

package tui

import (
	"os"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
)

// readOnce writes each chunk to the pipe (pausing gap between them) and
// returns what one Read of an escInput waiting wait over it gives.
func readOnce(t *testing.T, wait, gap time.Duration, chunks ...string) string {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	go func() {
		for i, c := range chunks {
			if i > 0 {
				time.Sleep(gap)
			}
			_, _ = pw.WriteString(c)
		}
	}()
	in := &escInput{File: pr, wait: wait}
	b := make([]byte, 256)
	n, err := in.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:n])
}

// TestEscInput: a lone ESC is the Escape key at once, written so the
// terminal layer decodes it without its 50 ms wait; a sequence, whole or
// with its rest close behind, passes untouched.
func TestEscInput(t *testing.T) {
	if got := readOnce(t, escWait, 0, "\x1b"); got != kittyEsc {
		t.Errorf("a lone ESC reads %q, want %q", got, kittyEsc)
	}
	if got := readOnce(t, escWait, 0, "\x1b[A"); got != "\x1b[A" {
		t.Errorf("an arrow key reads %q", got)
	}
	// Split: the ESC alone (or both halves in one read), never the Escape
	// key, when the rest comes within the wait (long here, so a busy
	// machine's scheduling cannot stretch the 1 ms gap past it).
	if got := readOnce(t, 5*time.Second, time.Millisecond, "\x1b", "[A"); got != "\x1b" && got != "\x1b[A" {
		t.Errorf("a split sequence's ESC reads %q, want it raw for the decoder", got)
	}
	if got := readOnce(t, escWait, 0, "q"); got != "q" {
		t.Errorf("a key reads %q", got)
	}
	// What the terminal layer makes of it: the Escape key.
	var d uv.EventDecoder
	n, ev := d.Decode([]byte(kittyEsc))
	k, ok := ev.(uv.KeyPressEvent)
	if n != len(kittyEsc) || !ok || tea.Key(k).String() != "esc" {
		t.Errorf("%q decodes as %T %v (%d bytes)", kittyEsc, ev, ev, n)
	}
}
