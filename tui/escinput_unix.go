//go:build unix

package tui

import (
	"os"
	"time"

	"github.com/charmbracelet/x/term"
	"golang.org/x/sys/unix"
)

// escWait is how long a lone ESC byte waits for the rest of an escape
// sequence before it is the Escape key. The terminal layer waits 50 ms for
// the same; a sequence from a local terminal arrives in one read, so a short
// wait tells the two apart sooner.
const escWait = 10 * time.Millisecond

// kittyEsc is the Escape key as the kitty keyboard protocol writes it: a
// complete sequence the terminal layer decodes at once.
const kittyEsc = "\x1b[27u"

// escInput is the terminal's input with the Escape key told apart from the
// start of a sequence in escWait instead of the terminal layer's 50 ms (esc
// is the console's back key). A terminal speaking the kitty keyboard
// protocol already sends kittyEsc; this serves the others (xterm, tmux,
// most SSH sessions). It stays a file, so reads remain cancellable and the
// terminal can be put in raw mode.
type escInput struct {
	*os.File
	wait time.Duration
}

// terminalInput is the console's input: stdin read through escInput when it
// is a terminal, else nil (the terminal layer opens the TTY itself).
func terminalInput() *escInput {
	if !term.IsTerminal(os.Stdin.Fd()) {
		return nil
	}
	return &escInput{File: os.Stdin, wait: escWait}
}

// Read reads the terminal; a read that is one ESC byte alone, with nothing
// following within wait, is returned as kittyEsc.
func (r *escInput) Read(b []byte) (int, error) {
	n, err := r.File.Read(b)
	if err != nil || n != 1 || b[0] != 0x1b || len(b) < len(kittyEsc) {
		return n, err
	}
	fds := []unix.PollFd{{Fd: int32(r.Fd()), Events: unix.POLLIN}} //nolint:gosec // a file descriptor fits
	if k, perr := unix.Poll(fds, int(r.wait.Milliseconds())); perr != nil || k > 0 {
		return n, nil // more follows (or the poll was interrupted): the decoder sees the sequence
	}
	return copy(b, kittyEsc), nil
}
