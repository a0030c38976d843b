package sandbox

import (
	"context"
	"encoding/json"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// archiveFixture is a bus "b" with two rules to two queues and an archive
// "arc" of the events whose source is "s".
func archiveFixture(t *testing.T, cfg aws.Config) (eb *eventbridge.Client, q *sqs.Client, urls [2]string, arcARN string) {
	t.Helper()
	ctx := context.Background()
	eb, q = eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"one", "two"} {
		urls[i] = mkQueue(t, q, "q-"+name)
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r-" + name), EventBusName: aws.String("b"), EventPattern: aws.String(`{"source":["s"]}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r-" + name), EventBusName: aws.String("b"), Targets: []ebtypes.Target{{Id: aws.String("t"), Arn: aws.String(qARN("q-" + name))}}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := eb.CreateArchive(ctx, &eventbridge.CreateArchiveInput{
		ArchiveName: aws.String("arc"), EventSourceArn: aws.String(busARN("b")), EventPattern: aws.String(`{"source":["s"]}`), RetentionDays: aws.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.State != ebtypes.ArchiveStateEnabled || aws.ToString(out.ArchiveArn) != archiveARN("arc") || out.CreationTime == nil {
		t.Fatalf("CreateArchive = %+v", out)
	}
	return eb, q, urls, aws.ToString(out.ArchiveArn)
}

func putN(t *testing.T, eb *eventbridge.Client, source string, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		out, err := eb.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String("b"), Source: aws.String(source), DetailType: aws.String("T"), Detail: aws.String(`{"n":1}`),
		}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.Entries[0].EventId))
	}
	return ids
}

// drain receives every message a queue holds now (bounded).
func drain(t *testing.T, q *sqs.Client, url string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i := 0; i < 100; i++ {
		r, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 0})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			var doc map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &doc); err != nil {
				t.Fatal(err)
			}
			out = append(out, doc)
			_, _ = q.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
	}
	return out
}

func waitReplay(t *testing.T, eb *eventbridge.Client, name string, want ...ebtypes.ReplayState) *eventbridge.DescribeReplayOutput {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := eb.DescribeReplay(context.Background(), &eventbridge.DescribeReplayInput{ReplayName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if d.State == w {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replay %s still %s after 30s, want %v", name, d.State, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestArchiveReplay: an archive records the matching events of its bus; a
// replay sends those of its window again to the chosen rules only, marked
// with replay-name and keeping id and time, and DescribeReplay reports it as
// the API reference describes.
func TestArchiveReplay(t *testing.T) {
	_, cfg := startServer(t)
	ctx := context.Background()
	eb, q, urls, arcARN := archiveFixture(t, cfg)
	start := time.Now().Add(-time.Minute)
	ids := putN(t, eb, "s", 5)
	putN(t, eb, "other", 2) // not the archive's pattern
	for _, u := range urls {
		if got := drain(t, q, u); len(got) != 5 {
			t.Fatalf("%d live deliveries, want 5", len(got))
		}
	}
	d, err := eb.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("arc")})
	if err != nil {
		t.Fatal(err)
	}
	if d.EventCount != 5 || d.SizeBytes <= 0 || aws.ToString(d.EventPattern) != `{"source":["s"]}` || aws.ToInt32(d.RetentionDays) != 1 || aws.ToString(d.EventSourceArn) != busARN("b") {
		t.Fatalf("DescribeArchive = count %d size %d pattern %s retention %d source %s", d.EventCount, d.SizeBytes, aws.ToString(d.EventPattern), aws.ToInt32(d.RetentionDays), aws.ToString(d.EventSourceArn))
	}
	st, err := eb.StartReplay(ctx, &eventbridge.StartReplayInput{
		ReplayName: aws.String("fix-1"), EventSourceArn: aws.String(arcARN),
		EventStartTime: aws.Time(start), EventEndTime: aws.Time(time.Now().Add(time.Second)),
		Destination: &ebtypes.ReplayDestination{Arn: aws.String(busARN("b")), FilterArns: []string{ruleARN("b", "r-one")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.State != ebtypes.ReplayStateStarting || aws.ToString(st.ReplayArn) != replayARN("fix-1") {
		t.Fatalf("StartReplay = %+v", st)
	}
	done := waitReplay(t, eb, "fix-1", ebtypes.ReplayStateCompleted)
	if done.ReplayEndTime == nil || done.EventLastReplayedTime == nil || len(done.Destination.FilterArns) != 1 {
		t.Errorf("DescribeReplay = %+v", done)
	}
	got := drain(t, q, urls[0])
	if len(got) != 5 {
		t.Fatalf("%d replayed to r-one, want 5", len(got))
	}
	seen := map[string]bool{}
	for _, doc := range got {
		if doc["replay-name"] != "fix-1" || doc["time"] == "" {
			t.Errorf("replayed event %v", doc)
		}
		seen[doc["id"].(string)] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("original %s not replayed under its id", id)
		}
	}
	if n := len(drain(t, q, urls[1])); n != 0 {
		t.Errorf("%d replayed to r-two, which the filter left out", n)
	}
	if d, _ := eb.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("arc")}); d.EventCount != 5 {
		t.Errorf("replayed events were archived again: EventCount %d", d.EventCount)
	}
	l, err := eb.ListReplays(ctx, &eventbridge.ListReplaysInput{EventSourceArn: aws.String(arcARN)})
	if err != nil || len(l.Replays) != 1 || l.Replays[0].State != ebtypes.ReplayStateCompleted {
		t.Errorf("ListReplays = %+v, %v", l, err)
	}
	if _, err := eb.CancelReplay(ctx, &eventbridge.CancelReplayInput{ReplayName: aws.String("fix-1")}); !hasCode(err, "IllegalStatusException") {
		t.Errorf("CancelReplay of a completed replay: %v", err)
	}
}

// TestArchiveReplayErrors: the errors AWS answers StartReplay and the
// archive calls with.
func TestArchiveReplayErrors(t *testing.T) {
	_, cfg := startServer(t)
	ctx := context.Background()
	eb, _, _, arcARN := archiveFixture(t, cfg)
	now := time.Now()
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	start := func(name, src, dest string, from, to time.Time) error {
		_, err := eb.StartReplay(ctx, &eventbridge.StartReplayInput{
			ReplayName: aws.String(name), EventSourceArn: aws.String(src),
			EventStartTime: aws.Time(from), EventEndTime: aws.Time(to), Destination: &ebtypes.ReplayDestination{Arn: aws.String(dest)},
		})
		return err
	}
	for _, c := range []struct {
		name string
		err  error
		code string
	}{
		{"end before start", start("a", arcARN, busARN("b"), now, now.Add(-time.Minute)), "ValidationException"},
		{"unknown archive", start("a", archiveARN("nope"), busARN("b"), now.Add(-time.Minute), now), "ValidationException"},
		{"another bus", start("a", arcARN, busARN("other"), now.Add(-time.Minute), now), "ValidationException"},
		{"unknown bus", start("a", arcARN, busARN("gone"), now.Add(-time.Minute), now), "ResourceNotFoundException"},
		{"duplicate archive", func() error {
			_, err := eb.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("arc"), EventSourceArn: aws.String(busARN("b"))})
			return err
		}(), "ResourceAlreadyExistsException"},
		{"archive of an unknown bus", func() error {
			_, err := eb.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("x"), EventSourceArn: aws.String(busARN("gone"))})
			return err
		}(), "ResourceNotFoundException"},
		{"unknown archive described", func() error {
			_, err := eb.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("nope")})
			return err
		}(), "ResourceNotFoundException"},
		{"unknown replay described", func() error {
			_, err := eb.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String("nope")})
			return err
		}(), "ResourceNotFoundException"},
	} {
		if !hasCode(c.err, c.code) {
			t.Errorf("%s: %v, want %s", c.name, c.err, c.code)
		}
	}
	if err := start("dup", arcARN, busARN("b"), now.Add(-time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := start("dup", arcARN, busARN("b"), now.Add(-time.Minute), now); !hasCode(err, "ResourceAlreadyExistsException") {
		t.Errorf("a second replay named dup: %v", err)
	}
}

// TestArchiveReplayCancel: CancelReplay midway answers CANCELLING, the
// replay ends CANCELLED, and it delivered fewer events than the window held.
func TestArchiveReplayCancel(t *testing.T) {
	srv, cfg := startServer(t)
	ctx := context.Background()
	eb, q, urls, arcARN := archiveFixture(t, cfg)
	start := time.Now().Add(-time.Minute)
	putN(t, eb, "s", 40)
	drain(t, q, urls[0])
	drain(t, q, urls[1])
	srv.SetReplayRate(20) // two seconds for the window's 40 events
	if _, err := eb.StartReplay(ctx, &eventbridge.StartReplayInput{
		ReplayName: aws.String("slow"), EventSourceArn: aws.String(arcARN), EventStartTime: aws.Time(start), EventEndTime: aws.Time(time.Now().Add(time.Second)),
		Destination: &ebtypes.ReplayDestination{Arn: aws.String(busARN("b"))},
	}); err != nil {
		t.Fatal(err)
	}
	waitReplay(t, eb, "slow", ebtypes.ReplayStateRunning)
	c, err := eb.CancelReplay(ctx, &eventbridge.CancelReplayInput{ReplayName: aws.String("slow")})
	if err != nil || c.State != ebtypes.ReplayStateCancelling {
		t.Fatalf("CancelReplay = %+v, %v", c, err)
	}
	d := waitReplay(t, eb, "slow", ebtypes.ReplayStateCancelled, ebtypes.ReplayStateCompleted)
	if d.State != ebtypes.ReplayStateCancelled {
		t.Fatalf("replay ended %s, want CANCELLED", d.State)
	}
	if n := len(drain(t, q, urls[0])); n >= 40 {
		t.Errorf("a cancelled replay delivered all %d events", n)
	}
}

// TestArchiveRetention: an archive forgets events older than RetentionDays.
func TestArchiveRetention(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	srv := NewServer(Options{Seed: 7, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	cfg := aws.Config{Region: Region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(url)}
	eb, _, _, _ := archiveFixture(t, cfg)
	putN(t, eb, "s", 3)
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	putN(t, eb, "s", 1)
	d, err := eb.DescribeArchive(context.Background(), &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("arc")})
	if err != nil || d.EventCount != 1 {
		t.Fatalf("after a day and an hour, EventCount %d (%v), want 1: a 1-day retention forgets the first three", d.EventCount, err)
	}
}

// TestArchiveReplayNewIDs: with SetReplayNewIDs a replay delivers each
// archived event under a new, UUID-shaped id, keeping its time, source,
// detail-type, detail and resources, and marked with replay-name.
func TestArchiveReplayNewIDs(t *testing.T) {
	srv, cfg := startServer(t)
	srv.SetReplayNewIDs(true)
	ctx := context.Background()
	eb, q, urls, arcARN := archiveFixture(t, cfg)
	start := time.Now().Add(-time.Minute)
	ids := putN(t, eb, "s", 4)
	live := map[string]map[string]any{}
	for _, doc := range drain(t, q, urls[0]) {
		live[doc["id"].(string)] = doc
	}
	drain(t, q, urls[1])
	if len(live) != 4 {
		t.Fatalf("%d live deliveries, want 4", len(live))
	}
	if _, err := eb.StartReplay(ctx, &eventbridge.StartReplayInput{
		ReplayName: aws.String("new-ids"), EventSourceArn: aws.String(arcARN),
		EventStartTime: aws.Time(start), EventEndTime: aws.Time(time.Now().Add(time.Second)),
		Destination: &ebtypes.ReplayDestination{Arn: aws.String(busARN("b")), FilterArns: []string{ruleARN("b", "r-one")}},
	}); err != nil {
		t.Fatal(err)
	}
	waitReplay(t, eb, "new-ids", ebtypes.ReplayStateCompleted)
	got := drain(t, q, urls[0])
	if len(got) != len(ids) {
		t.Fatalf("%d replayed, want %d", len(got), len(ids))
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	unmatched := map[string]bool{}
	for id := range live {
		unmatched[id] = true
	}
	for _, doc := range got {
		id, _ := doc["id"].(string)
		if live[id] != nil || seen[id] || !uuid.MatchString(id) {
			t.Errorf("replayed id %q: want a new UUID-shaped id of its own", id)
		}
		seen[id] = true
		if doc["replay-name"] != "new-ids" {
			t.Errorf("replayed event %v lacks replay-name", doc)
		}
		// Everything but id and replay-name is the original's.
		match := ""
		for oid, o := range live {
			if !unmatched[oid] {
				continue
			}
			same := true
			for _, k := range []string{"time", "source", "detail-type", "account", "region"} {
				same = same && o[k] == doc[k]
			}
			ob, _ := json.Marshal([]any{o["detail"], o["resources"]})
			rb, _ := json.Marshal([]any{doc["detail"], doc["resources"]})
			if same && string(ob) == string(rb) {
				match = oid
				break
			}
		}
		if match == "" {
			t.Errorf("replayed event %v matches no original", doc)
		}
		delete(unmatched, match)
	}
}
