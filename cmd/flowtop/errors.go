package main

import (
	"errors"
	"fmt"
)

// Exit codes that scripts can trust.
const (
	exitOK       = 0 // success
	exitRuntime  = 1 // something failed while running
	exitUsage    = 2 // bad flags, arguments or configuration
	exitNotFound = 3 // the event or queue asked for does not exist
	exitPartial  = 4 // finished, but some sources failed (named on stderr)
)

// exitError carries the exit code for an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func notFoundErrorf(format string, args ...any) error {
	return &exitError{code: exitNotFound, err: fmt.Errorf(format, args...)}
}

func partialErrorf(format string, args ...any) error {
	return &exitError{code: exitPartial, err: fmt.Errorf(format, args...)}
}

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		return exitUsage
	}
	return exitRuntime
}
