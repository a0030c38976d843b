package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMain guards the user's real state directory: while the tests run, HOME
// and XDG_STATE_HOME point at a sentinel directory, and the run fails if
// anything wrote flowtop state there or in the temporary-directory fallback.
// Tests inject their own state directory (runCLI does).
func TestMain(m *testing.M) {
	sentinel, err := os.MkdirTemp("", "flowtop-real-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for k, v := range map[string]string{"HOME": sentinel, "XDG_STATE_HOME": filepath.Join(sentinel, "state")} {
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	fallback := filepath.Join(os.TempDir(), "flowtop-state")
	_, ferr := os.Stat(fallback)
	hadFallback := ferr == nil
	code := m.Run()
	for _, dir := range []string{filepath.Join(sentinel, "state", "flowtop"), filepath.Join(sentinel, ".local", "state", "flowtop")} {
		if _, err := os.Stat(dir); err == nil {
			fmt.Fprintf(os.Stderr, "FAIL: a test wrote flowtop state to the user's state directory (%s): inject XDG_STATE_HOME=t.TempDir()\n", dir)
			code = 1
		}
	}
	if _, err := os.Stat(fallback); err == nil && !hadFallback {
		fmt.Fprintf(os.Stderr, "FAIL: a test wrote flowtop state to %s: inject XDG_STATE_HOME=t.TempDir()\n", fallback)
		code = 1
	}
	_ = os.RemoveAll(sentinel)
	os.Exit(code)
}
