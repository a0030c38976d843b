package replay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ErrJournalDamaged is wrapped by the error Resume returns when a journal line
// can't be read; the message names the file and line and the safe way forward.
var ErrJournalDamaged = errors.New("replay: journal damaged")

// record is one journal line. The operations, in the order one message meets them:
//
//	recv       the message as received (body, attributes): written before any send
//	sending    one send attempt is about to start (synced before the attempt)
//	uncertain  that attempt's outcome is unknown (the answer was lost): the
//	           target may hold a copy, so a later success is a possible duplicate
//	failed     that attempt surely delivered nothing (an error the service answered)
//	sent       the target confirmed a copy (NewID is the copy's ID)
//	deleted    the DLQ copy is gone
type record struct {
	Op     string                                    `json:"op"`
	ID     string                                    `json:"id,omitempty"`
	Body   string                                    `json:"body,omitempty"`
	Attrs  map[string]sqstypes.MessageAttributeValue `json:"attrs,omitempty"`
	Trace  string                                    `json:"trace,omitempty"`
	Group  string                                    `json:"group,omitempty"`
	Dedup  string                                    `json:"dedup,omitempty"`
	Target string                                    `json:"target,omitempty"`
	NewID  string                                    `json:"new_id,omitempty"`
	Reason string                                    `json:"reason,omitempty"`
	Plan   *RedrivePlan                              `json:"plan,omitempty"`
}

type journal struct {
	path string
	f    *os.File
	w    *bufio.Writer

	mu        sync.Mutex
	plan      RedrivePlan
	hasPlan   bool
	recv      map[string]bool   // received, by original message ID
	sent      map[string]string // original ID → target's new ID
	done      map[string]bool   // deleted from the DLQ
	attempts  map[string]int    // send attempts not known to have failed
	uncertain int               // attempts whose outcome was unknown
	dups      int               // confirmed messages × (attempts − 1): possible duplicates
	// truncated is how many bytes of a torn last line were cut off on open.
	truncated int
}

func newJournal(path string) *journal {
	return &journal{path: path, recv: map[string]bool{}, sent: map[string]string{}, done: map[string]bool{}, attempts: map[string]int{}}
}

// append writes records and syncs them: nothing depends on them before they are on disk.
func (j *journal) append(recs ...record) error {
	if err := j.appendNoSync(recs...); err != nil {
		return err
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("replay: journal %s: sync: %w", j.path, err)
	}
	return nil
}

// appendNoSync writes records that are safe to lose in a crash: a lost
// "deleted" only means deleting again, which SQS answers fine.
func (j *journal) appendNoSync(recs ...record) error {
	if len(recs) == 0 {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, rec := range recs {
		b, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("replay: journal: encode: %w", err)
		}
		_, _ = j.w.Write(b)
		_ = j.w.WriteByte('\n')
		j.apply(rec)
	}
	if err := j.w.Flush(); err != nil {
		return fmt.Errorf("replay: journal %s: write: %w", j.path, err)
	}
	return nil
}

// apply folds one record into the state (the caller holds mu, or owns j alone).
func (j *journal) apply(rec record) {
	switch rec.Op {
	case "plan":
		if rec.Plan != nil {
			j.plan, j.hasPlan = *rec.Plan, true
		}
	case "recv":
		j.recv[rec.ID] = true
	case "sending":
		j.attempts[rec.ID]++
	case "uncertain":
		j.uncertain++
	case "failed":
		if j.attempts[rec.ID] > 0 {
			j.attempts[rec.ID]--
		}
	case "sent":
		if _, again := j.sent[rec.ID]; !again {
			// Every earlier attempt not known to have failed may have left a copy.
			j.dups += max(0, j.attempts[rec.ID]-1)
		} else {
			// A copy confirmed already: every attempt since may have added one.
			j.dups += j.attempts[rec.ID]
		}
		j.attempts[rec.ID] = 0
		j.sent[rec.ID] = rec.NewID
	case "deleted":
		j.done[rec.ID] = true
	}
}

// openJournal reads a journal (a missing file is a new journal) and opens it
// for appending. A torn last line — a record cut short by a crash, never
// synced, so nothing depended on it — is cut off, so that the next record
// starts on a line of its own. Any other unreadable line is an error naming
// file:line: guessing past it could send messages twice or lose track of them.
func openJournal(path string) (*journal, error) {
	j := newJournal(path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("replay: journal: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("replay: journal %s: read: %w", path, err)
	}
	good := 0 // bytes of whole, readable lines
	for line := 1; good < len(data); line++ {
		rest := data[good:]
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			// The last line has no newline: a write cut short. Cut it off.
			j.truncated = len(rest)
			break
		}
		text := rest[:nl]
		if len(bytes.TrimSpace(text)) > 0 {
			var rec record
			if err := json.Unmarshal(text, &rec); err != nil || rec.Op == "" {
				f.Close()
				if err == nil {
					err = errors.New("no op field")
				}
				return nil, damaged(path, line, err)
			}
			if line == 1 && rec.Op != "plan" {
				f.Close()
				return nil, damaged(path, line, errors.New("the first line is not the plan"))
			}
			j.apply(rec)
		}
		good += nl + 1
	}
	if len(data) > 0 && !j.hasPlan {
		f.Close()
		return nil, damaged(path, 1, errors.New("no plan record"))
	}
	if j.truncated > 0 {
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return nil, fmt.Errorf("replay: journal %s: cut off the torn last line: %w", path, err)
		}
	}
	if _, err := f.Seek(int64(good), io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("replay: journal %s: %w", path, err)
	}
	j.f, j.w = f, bufio.NewWriter(f)
	return j, nil
}

func damaged(path string, line int, err error) error {
	return fmt.Errorf("%w: %s:%d: %v. Nothing was sent. The safe way forward: keep this file; "+
		"if the damaged line is the plan (line 1), start a new journaled redrive of the same DLQ "+
		"(messages this journal confirmed are already gone from the DLQ; the others are still there and "+
		"may reach the target twice, as a crash would allow); otherwise copy the file, delete only line %d "+
		"and resume the copy (a lost record can only make a message go twice, never lose it)",
		ErrJournalDamaged, path, line, err, line)
}

func (j *journal) close() error {
	if j.f == nil {
		return nil
	}
	err := j.w.Flush()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (j *journal) isSent(id string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.sent[id]
	return ok
}

func (j *journal) wasReceived(id string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.recv[id]
}

// prior reports whether an earlier attempt may have left a copy in the target.
func (j *journal) prior(id string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.attempts[id] > 0
}

func (j *journal) counts() (done, dups, uncertain int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.done), j.dups, j.uncertain
}

func (j *journal) allDone(selected map[string]bool) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	for id := range selected {
		if !j.done[id] {
			return false
		}
	}
	return true
}

func (j *journal) missing(selected map[string]bool) []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for id := range selected {
		if !j.done[id] {
			out = append(out, id)
		}
	}
	return out
}
