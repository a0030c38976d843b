package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func planLine(t *testing.T, url string) string {
	t.Helper()
	b, err := json.Marshal(record{Op: "plan", Plan: &RedrivePlan{DLQ: "orders-dlq", DLQURL: url, Method: MethodJournaled}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// A damaged journal is refused at once, naming file:line, never spun on.
func TestResumeDamagedJournal(t *testing.T) {
	_, c, dlqURL, _ := setup(t, false)
	fill(t, c, dlqURL, 5, false)
	dir := t.TempDir()
	r := New(c, Options{StateDir: dir})
	for _, tc := range []struct {
		name, text string
		line       int
	}{
		{"plan line", `{"op":"plan","plan":{"DLQ":"orders-dl` + "\x00\x00garbage\n" + `{"op":"recv","id":"m1"}` + "\n", 1},
		{"middle line", planLine(t, dlqURL) + `{"op":"recv","id":"m1"}` + "\n" + `{"op":"sen` + "\n" + `{"op":"sent","id":"m1"}` + "\n", 3},
		{"not a plan first", `{"op":"recv","id":"m1"}` + "\n", 1},
		{"plan without a queue", `{"op":"plan","plan":{"DLQ":""}}` + "\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "redrive-x-"+strconv.Itoa(tc.line)+strings.ReplaceAll(tc.name, " ", "")+".journal")
			writeFile(t, path, tc.text)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			_, err := r.Resume(ctx, path, nil)
			if !errors.Is(err, ErrJournalDamaged) || !strings.Contains(err.Error(), path+":"+strconv.Itoa(tc.line)+":") || !strings.Contains(err.Error(), "safe way forward") {
				t.Fatalf("err %v", err)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
	if d := depth(t, c, dlqURL); d != "5/0" {
		t.Errorf("a damaged journal touched the DLQ: %s", d)
	}
}

// A torn last line (a crash mid-write) is cut off, so the next record starts
// on a line of its own and the journal reads back whole.
func TestTornLastLineIsCutOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.journal")
	writeFile(t, path, planLine(t, "http://127.0.0.1:1/000000000000/orders-dlq")+`{"op":"sending","id":"m1"}`+"\n"+`{"op":"sent","id":"m1","new_`)
	j, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if j.truncated == 0 || j.isSent("m1") || !j.prior("m1") {
		t.Fatalf("truncated %d, sent %v, prior %v", j.truncated, j.isSent("m1"), j.prior("m1"))
	}
	if err := j.append(record{Op: "sent", ID: "m1", NewID: "n1"}); err != nil {
		t.Fatal(err)
	}
	j.close()
	f, _ := os.Open(path)
	defer f.Close()
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		lines++
		var rec record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d unreadable: %q", lines, sc.Text())
		}
	}
	if lines != 3 {
		t.Fatalf("%d lines", lines)
	}
	j2, err := openJournal(path)
	if err != nil || !j2.isSent("m1") || j2.truncated != 0 {
		t.Fatalf("reopened: %v sent=%v", err, j2 != nil && j2.isSent("m1"))
	}
	j2.close()
}

// The journal's duplicate count: every attempt not known to have failed,
// beyond the one confirmed, may have left a copy.
func TestJournalCountsPossibleDuplicates(t *testing.T) {
	j := newJournal("x")
	for _, rec := range []record{
		{Op: "sending", ID: "a"}, {Op: "sent", ID: "a"}, // clean: 0
		{Op: "sending", ID: "b"}, {Op: "uncertain", ID: "b"}, {Op: "sending", ID: "b"}, {Op: "sent", ID: "b"}, // 1
		{Op: "sending", ID: "c"}, {Op: "failed", ID: "c"}, {Op: "sending", ID: "c"}, {Op: "sent", ID: "c"}, // 0
		{Op: "sending", ID: "d"}, {Op: "sending", ID: "d"}, {Op: "sent", ID: "d"}, {Op: "sent", ID: "d"}, // two raced: 1
		{Op: "sending", ID: "e"}, // crashed, never confirmed: not yet a duplicate
	} {
		j.apply(rec)
	}
	if _, dups, unc := j.counts(); dups != 2 || unc != 1 {
		t.Fatalf("dups %d uncertain %d", dups, unc)
	}
}

func TestLockRefusesASecondRedrive(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	l, err := acquireLock(dir, "orders-dlq", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acquireLock(dir, "orders-dlq", now); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	other, err := acquireLock(dir, "billing-dlq", now)
	if err != nil {
		t.Fatalf("another DLQ: %v", err)
	}
	other.unlock()
	l.unlock()

	// Held by another live process (our parent): refused, naming it.
	ppid := os.Getppid()
	b, _ := json.Marshal(lockInfo{PID: ppid, Start: processStart(ppid), Since: now, DLQ: "orders-dlq", Command: "flowtop dlq redrive orders-dlq"})
	writeFile(t, lockPath(dir, "orders-dlq"), string(b))
	_, c, _, _ := setup(t, false)
	r := New(c, Options{StateDir: dir})
	plan, err := r.PlanRedrive(context.Background(), RedriveRequest{DLQ: "orders-dlq", Method: MethodJournaled})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Execute(context.Background(), plan, nil)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "process "+strconv.Itoa(ppid)) || !strings.Contains(err.Error(), "flowtop dlq redrive") {
		t.Fatalf("held lock: %v", err)
	}

	// Stale: the holder is gone, or the PID now belongs to a process that
	// started at another time.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no `true` to make a finished process:", err)
	}
	for _, stale := range []lockInfo{{PID: cmd.Process.Pid, Since: now}, {PID: ppid, Start: "1", Since: now}} {
		if stale.PID == ppid && processStart(ppid) == "" {
			continue // no /proc: start times unknown
		}
		b, _ := json.Marshal(stale)
		writeFile(t, lockPath(dir, "orders-dlq"), string(b))
		l, err := acquireLock(dir, "orders-dlq", now)
		if err != nil {
			t.Fatalf("stale lock %+v: %v", stale, err)
		}
		l.unlock()
	}
}
