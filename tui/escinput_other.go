//go:build !unix

package tui

import "os"

// terminalInput is nil where escInput is not built: the terminal layer
// reads the terminal itself.
func terminalInput() *os.File { return nil }
