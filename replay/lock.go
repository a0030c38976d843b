package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrLocked is wrapped by the error a redrive returns when another process
// is redriving the same DLQ.
var ErrLocked = errors.New("replay: another redrive of this DLQ is running")

// lockInfo is what a lock file holds: who holds the DLQ, since when.
type lockInfo struct {
	PID     int       `json:"pid"`
	Start   string    `json:"start,omitempty"` // the holder's process start time, as the OS tells it
	Since   time.Time `json:"since"`
	DLQ     string    `json:"dlq"`
	Command string    `json:"command,omitempty"`
}

// lock is one held DLQ lock; release it with unlock.
type lock struct{ path string }

func lockPath(dir, dlq string) string {
	return filepath.Join(dir, "redrive-"+safeName(dlq)+".lock")
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// acquireLock takes the lock of one DLQ. A lock whose holder is gone (no such
// process, or a process with that PID that started at another time: the PID
// was reused) is stale and taken over; a live holder is named in the error.
func acquireLock(dir, dlq string, now time.Time) (*lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("replay: state directory: %w", err)
	}
	path := lockPath(dir, dlq)
	me := lockInfo{PID: os.Getpid(), Start: processStart(os.Getpid()), Since: now.UTC(), DLQ: dlq, Command: strings.Join(os.Args, " ")}
	b, _ := json.Marshal(me)
	for attempt := 0; attempt < 3; attempt++ {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			_, werr := f.Write(append(b, '\n'))
			cerr := f.Close()
			if werr != nil || cerr != nil {
				_ = os.Remove(path)
				return nil, fmt.Errorf("replay: lock %s: %w", path, errors.Join(werr, cerr))
			}
			return &lock{path: path}, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("replay: lock %s: %w", path, err)
		}
		held, readErr := readLock(path)
		if readErr != nil {
			// Half-written by a holder that died while writing it, or emptied:
			// stale only if it is old enough that no live holder is still writing.
			if st, err := os.Stat(path); err == nil && now.Sub(st.ModTime()) > 10*time.Second {
				_ = os.Remove(path)
				continue
			}
			return nil, fmt.Errorf("%w: %s (lock file %s unreadable: %w; if no flowtop runs, delete it)", ErrLocked, dlq, path, readErr)
		}
		if held.PID == me.PID && held.Start == me.Start {
			return nil, fmt.Errorf("%w: %s: this process already redrives it", ErrLocked, dlq)
		}
		if alive(held) {
			return nil, fmt.Errorf("%w: %s is being redriven by process %d (started %s, holding since %s: %s); wait for it, or stop it and resume its journal",
				ErrLocked, dlq, held.PID, orUnknown(held.Start), held.Since.Format(time.RFC3339), orUnknown(held.Command))
		}
		_ = os.Remove(path) // stale: the holder is gone
	}
	return nil, fmt.Errorf("%w: %s: could not take the lock %s", ErrLocked, dlq, path)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func readLock(path string) (lockInfo, error) {
	var l lockInfo
	b, err := os.ReadFile(path)
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, err
	}
	if l.PID <= 0 {
		return l, errors.New("no pid")
	}
	return l, nil
}

// alive reports whether the lock's holder still runs: a process with its PID
// exists and, where the OS tells start times, started when the holder did.
func alive(l lockInfo) bool {
	if !processExists(l.PID) {
		return false
	}
	if l.Start == "" {
		return true
	}
	now := processStart(l.PID)
	return now == "" || now == l.Start
}

// processStart is the start time of a process as /proc tells it (clock ticks
// since boot), or "" where the OS has no /proc.
func processStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19] // field 22, starttime
}

func (l *lock) unlock() {
	if l != nil {
		_ = os.Remove(l.path)
	}
}
