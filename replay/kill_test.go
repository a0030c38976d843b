package replay

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flowtop/flowtop/sandbox"
)

// TestKill9Child is the redrive a TestKill9AndResume child process runs
// until it is killed; it does nothing in an ordinary test run.
func TestKill9Child(t *testing.T) {
	url, dir := os.Getenv("FLOWTOP_KILL9_ENDPOINT"), os.Getenv("FLOWTOP_KILL9_STATE")
	if url == "" || dir == "" {
		t.Skip("run by TestKill9AndResume only")
	}
	c := sqs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		func(o *sqs.Options) {
			o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.Backoff = retry.NewExponentialJitterBackoff(20 * time.Millisecond) })
		})
	r := New(c, Options{StateDir: dir, Visibility: 2 * time.Second})
	if j := os.Getenv("FLOWTOP_KILL9_JOURNAL"); j != "" {
		_, err := r.Resume(context.Background(), j, nil)
		t.Log(err)
		return
	}
	plan, err := r.PlanRedrive(context.Background(), RedriveRequest{DLQ: "orders-dlq", To: "orders", Method: MethodJournaled})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Execute(context.Background(), plan, nil)
	t.Log(err)
}

// Five redrive processes killed with SIGKILL at random moments, each taking
// over the journal (and the stale lock) of the one before, against a target
// that loses 10% of its answers; then a resume in this process finishes.
// Nothing is lost, and the duplicates that arrived are at most the ones
// reported.
func TestKill9AndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	srv, c, dlqURL, srcURL := setup(t, false)
	const n = 10000
	fill(t, c, dlqURL, n, false)
	srv.Faults.Set("sqs.SendMessageBatch", sandbox.Fault{Lost: 0.10})
	dir := t.TempDir()
	rnd := rand.New(rand.NewPCG(7, 7))
	journal := ""
	kills := 0
	var outs []*bytes.Buffer // what each child said, shown when the test fails
	defer func() {
		if t.Failed() {
			for i, o := range outs {
				t.Logf("child %d said:\n%s", i, o.Bytes())
			}
		}
	}()
	for run := 0; run < 5; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.v")
		cmd.Env = append(os.Environ(), "FLOWTOP_KILL9_ENDPOINT="+srv.URL(), "FLOWTOP_KILL9_STATE="+dir, "FLOWTOP_KILL9_JOURNAL="+journal)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		outs = append(outs, &out)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// A process's life: until its journal grows (it has started moving
		// messages; on a busy machine a child takes seconds to get there),
		// then a random moment more. Bounded: a child that never writes is
		// killed after a minute.
		grew := journalSize(dir, journal)
		for deadline := time.Now().Add(time.Minute); journalSize(dir, journal) <= grew && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(rnd.IntN(800)) * time.Millisecond)
		if err := cmd.Process.Kill(); err == nil {
			kills++
		}
		_ = cmd.Wait()
		if journal == "" {
			js, _ := filepath.Glob(filepath.Join(dir, "redrive-*.journal"))
			if len(js) != 1 {
				t.Fatalf("journals after the first kill: %v", js)
			}
			journal = js[0]
		}
	}
	if _, err := os.Stat(lockPath(dir, "orders-dlq")); err != nil {
		t.Logf("no lock left behind (the last child finished before its kill?): %v", err)
	}
	j, err := openJournal(journal)
	if err != nil {
		t.Fatalf("the killed processes left an unreadable journal: %v", err)
	}
	before, _, _ := j.counts()
	j.close()
	if before == 0 {
		t.Fatal("the killed processes moved nothing: the test proves nothing")
	}
	t.Logf("%d of %d moved by the processes that were killed (torn tail cut: %d bytes)", before, n, j.truncated)
	r := New(c, Options{StateDir: dir, Visibility: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := r.Resume(ctx, journal, nil)
	if err != nil {
		t.Fatalf("final resume: %v (%v)", err, res.Lines())
	}
	if d := depth(t, c, dlqURL); d != "0/0" {
		t.Fatalf("DLQ not empty: %s", d)
	}
	srv.Faults.Clear()
	copies, _, total := drain(t, c, srcURL)
	if len(copies) != n {
		t.Fatalf("%d distinct messages arrived, want %d", len(copies), n)
	}
	if actual := total - n; actual > res.Duplicates {
		t.Fatalf("%d duplicates arrived, %d reported", actual, res.Duplicates)
	} else {
		t.Logf("%d kill -9s: %d messages, 0 lost, %d duplicates arrived, %d reported as possible", kills, n, actual, res.Duplicates)
	}
}

// journalSize is the size of the redrive journal (the one named, else the
// one in dir), 0 while there is none.
func journalSize(dir, journal string) int64 {
	if journal == "" {
		js, _ := filepath.Glob(filepath.Join(dir, "redrive-*.journal"))
		if len(js) != 1 {
			return 0
		}
		journal = js[0]
	}
	fi, err := os.Stat(journal)
	if err != nil {
		return 0
	}
	return fi.Size()
}
