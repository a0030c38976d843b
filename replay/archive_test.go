package replay

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// archiveWorld is a sandbox with bus "orders", two rules ("billing" and
// "email") to two consumer queues, and an archive "orders-archive".
type archiveWorld struct {
	srv  *sandbox.Server
	eb   *eventbridge.Client
	sqs  *sqs.Client
	urls map[string]string // rule → its consumer queue URL
}

func newArchiveWorld(t *testing.T) archiveWorld {
	t.Helper()
	srv := sandbox.NewServer(sandbox.Options{Seed: 5})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	cfg := aws.Config{Region: sandbox.Region, BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	w := archiveWorld{srv: srv, eb: eventbridge.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg), urls: map[string]string{}}
	ctx := context.Background()
	if _, err := w.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	for _, rule := range []string{"billing", "email"} {
		q, err := w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(rule + "-queue")})
		if err != nil {
			t.Fatal(err)
		}
		w.urls[rule] = aws.ToString(q.QueueUrl)
		if _, err := w.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String("orders"), EventPattern: aws.String(`{"source":["orders.api"]}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String("orders"), Targets: []ebtypes.Target{{
			Id: aws.String("q"), Arn: aws.String("arn:aws:sqs:" + sandbox.Region + ":" + sandbox.Account + ":" + rule + "-queue"),
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.eb.CreateArchive(ctx, &eventbridge.CreateArchiveInput{
		ArchiveName: aws.String("orders-archive"), EventSourceArn: aws.String("arn:aws:events:" + sandbox.Region + ":" + sandbox.Account + ":event-bus/orders"), RetentionDays: aws.Int32(7),
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

// put places n orders on the bus at event time at, and returns their ids.
func (w archiveWorld) put(t *testing.T, n int, at time.Time) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		out, err := w.eb.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String("orders"), Source: aws.String("orders.api"), DetailType: aws.String("OrderPlaced"),
			Detail: aws.String(`{"order_id":"o-` + string(rune('a'+i%26)) + `"}`), Time: aws.Time(at),
		}}})
		if err != nil || out.FailedEntryCount > 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
		ids = append(ids, aws.ToString(out.Entries[0].EventId))
	}
	return ids
}

// consume receives what a consumer queue holds now, as the consumer would,
// and deletes it.
func (w archiveWorld) consume(t *testing.T, rule string) []string {
	t.Helper()
	var bodies []string
	for i := 0; i < 200; i++ {
		// A long poll: the bus delivers to its targets asynchronously, so a
		// short poll may answer empty before the last deliveries land (seen
		// once under load: 15 of 25), which would end the count early.
		out, err := w.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.urls[rule]), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			_, _ = w.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(w.urls[rule]), ReceiptHandle: m.ReceiptHandle})
		}
	}
	return bodies
}

// consumeN is consume for a consumer that expects want deliveries: it
// polls until it has them (bounded by a minute: on a busy machine the bus's
// asynchronous deliveries of a finished replay can pause longer than one
// empty long poll) and once more, so an extra delivery is counted too.
func (w archiveWorld) consumeN(t *testing.T, rule string, want int) []string {
	t.Helper()
	var bodies []string
	for deadline := time.Now().Add(time.Minute); len(bodies) < want && time.Now().Before(deadline); {
		bodies = append(bodies, w.consume(t, rule)...)
	}
	return append(bodies, w.consume(t, rule)...)
}

func (w archiveWorld) replayer(t *testing.T, readOnly bool) *Replayer {
	return New(w.sqs, Options{StateDir: t.TempDir(), ReadOnly: readOnly, PollEvery: 10 * time.Millisecond}).WithBrokers(Brokers{EventBridge: w.eb})
}

// consumed is the observation a consumer's delivery gives the graph: the
// message and the envelopes its body carries.
func consumed(queue, body string, at time.Time) tracing.Observation {
	u := tracing.Unwrap([]byte(body))
	return tracing.Observation{
		Kind: tracing.ObsMessage, Source: "test", Time: at, Component: tracing.Component{Kind: tracing.ComponentQueue, Name: queue},
		Keys: u.Keys, Relations: u.Relations, Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: queue, Body: body, Layers: u.Layers},
	}
}

// TestArchiveReplayDeliversAgainAndLinks: events put over a 5-minute window
// are replayed from the archive (only those in the window, only to the
// asked rule); the consumer counts each again, and lineage shows each replay
// as an event of its own linked to its original, whether EventBridge keeps
// the original's id or gives the replay a new one (AWS does not say which),
// and whichever the graph hears of first.
func TestArchiveReplayDeliversAgainAndLinks(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		newIDs, replaysFirst bool
	}{
		{"same id", false, false},
		{"new id", true, false},
		{"new id, replays heard first", true, true},
		{"same id, replays heard first", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) { testArchiveReplayLinks(t, tc.newIDs, tc.replaysFirst) })
	}
}

func testArchiveReplayLinks(t *testing.T, newIDs, replaysFirst bool) {
	w := newArchiveWorld(t)
	w.srv.SetReplayNewIDs(newIDs)
	now := time.Now().UTC().Truncate(time.Second)
	from, to := now.Add(-10*time.Minute), now.Add(-5*time.Minute)
	before := w.put(t, 3, from.Add(-time.Minute)) // outside the window
	var inside []string
	for m := 0; m < 5; m++ {
		inside = append(inside, w.put(t, 4, from.Add(time.Duration(m)*time.Minute+10*time.Second))...)
	}
	w.put(t, 2, to.Add(30*time.Second)) // outside the window
	live := w.consumeN(t, "billing", 25)
	if len(live) != 25 || len(w.consumeN(t, "email", 25)) != 25 {
		t.Fatalf("%d live deliveries to billing, want 25", len(live))
	}
	r := w.replayer(t, false)
	plan, err := r.PlanArchive(context.Background(), ArchiveRequest{Archive: "orders-archive", From: from, To: to, Rules: []string{"billing"}})
	if err != nil {
		t.Fatal(err)
	}
	text := plan.String()
	for _, want := range []string{"orders-archive (bus orders)", "25 events", "rules billing of bus orders only", "kept 7 days", "replay-name"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	var states []string
	res, err := r.ExecuteArchive(context.Background(), plan, func(p ArchiveProgress) { states = append(states, p.State) })
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(res.Lines(), "\n"))
	}
	if res.State != "COMPLETED" || res.LastReplayed.IsZero() || !strings.HasSuffix(res.Journal, ".done") || len(states) == 0 {
		t.Errorf("result %+v, progress %v", res, states)
	}
	again := w.consumeN(t, "billing", len(inside))
	if len(again) != len(inside) {
		t.Fatalf("the billing consumer got %d replayed events, want the window's %d", len(again), len(inside))
	}
	if n := len(w.consume(t, "email")); n != 0 {
		t.Errorf("the email rule, left out of the replay, got %d", n)
	}
	want := map[string]bool{}
	for _, id := range inside {
		want[id] = true
	}
	newSeen := 0
	for _, b := range again {
		if id := eventIDOf(t, b); !want[id] {
			newSeen++
		}
	}
	if (newSeen == len(again)) != newIDs || (newSeen == 0) == newIDs {
		t.Fatalf("%d of %d replayed events came under a new id (new ids: %v)", newSeen, len(again), newIDs)
	}
	// Lineage: each replayed event is its own event, replay-of its original.
	g := graph.New(graph.Config{MaxEvents: 1000})
	t0 := time.Now()
	first, second := live, again
	if replaysFirst {
		first, second = again, live
	}
	for i, b := range first {
		g.Ingest(tracing.Batch{consumed("billing-queue", b, t0.Add(time.Duration(i)*time.Millisecond))})
	}
	for i, b := range second {
		g.Ingest(tracing.Batch{consumed("billing-queue", b, t0.Add(time.Second+time.Duration(i)*time.Millisecond))})
	}
	for _, id := range inside {
		l, err := g.Lineage(id)
		if err != nil {
			t.Fatalf("Lineage(%s): %v", id, err)
		}
		if l.ID != id || l.Status != graph.StatusReplayed || len(l.Links) != 1 || l.Links[0].Rel != "replayed-as" {
			t.Fatalf("original %s: id %s status %v links %+v", id, l.ID, l.Status, l.Links)
		}
		cp, err := g.Lineage(l.Links[0].ID)
		if err != nil || cp.ID == id || len(cp.Links) != 1 || cp.Links[0].Rel != "replay-of" || cp.Links[0].ID != id {
			t.Fatalf("replay of %s: %+v %v", id, cp, err)
		}
		if newIDs && strings.HasPrefix(cp.ID, id) {
			t.Errorf("replay %s of %s: want the replay's own new id", cp.ID, id)
		}
	}
	for _, id := range before {
		if l, err := g.Lineage(id); err != nil || len(l.Links) != 0 {
			t.Errorf("event %s, before the window, has links %+v (%v)", id, l.Links, err)
		}
	}
	st := g.ReplayLinkStats()
	wantFP, wantLate := uint64(0), uint64(0)
	if newIDs || replaysFirst {
		wantFP = uint64(len(inside)) // by fingerprint: no held event had the id
	}
	if replaysFirst {
		wantLate = wantFP
	}
	if st.ByFingerprint != wantFP || st.Late != wantLate || st.Unmatched != wantLate || st.Ambiguous != 0 || st.Pending != 0 {
		t.Errorf("replay link stats %+v, want %d by fingerprint, %d late", st, wantFP, wantLate)
	}
	audit, _ := os.ReadFile(filepath.Join(r.opts.StateDir, "audit.log"))
	if !strings.Contains(string(audit), "archive replay start") || !strings.Contains(string(audit), "archive replay end") {
		t.Errorf("audit log: %s", audit)
	}
}

// eventIDOf is the EventBridge id of a delivered event and, when it is an
// archive replay, the key its replay is held under.
func eventIDOf(t *testing.T, body string) string {
	t.Helper()
	var doc struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.ID == "" {
		t.Fatalf("delivered body %s: %v", body, err)
	}
	return doc.ID
}

// replayKeyOf is the ID lineage knows a delivered archive replay by.
func replayKeyOf(t *testing.T, body string) string {
	t.Helper()
	var doc struct {
		ID   string `json:"id"`
		Name string `json:"replay-name"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Name == "" {
		t.Fatalf("replayed body %s: %v", body, err)
	}
	return tracing.ReplayEventID(doc.ID, doc.Name)
}

// TestArchiveReplayNewIDAmbiguous: two originals alike in everything a
// replay keeps (source, detail-type, time, detail) are replayed under new
// ids; neither replay is linked to either original, and both are counted
// ambiguous, while a third, distinct original links. Under kept ids the id
// tells them apart. A replay whose original flowtop never held stays
// unlinked and counted, with no made-up original.
func TestArchiveReplayNewIDAmbiguous(t *testing.T) {
	for _, newIDs := range []bool{true, false} {
		t.Run(map[bool]string{true: "new id", false: "same id"}[newIDs], func(t *testing.T) {
			w := newArchiveWorld(t)
			w.srv.SetReplayNewIDs(newIDs)
			now := time.Now().UTC().Truncate(time.Second)
			from, to := now.Add(-10*time.Minute), now.Add(-5*time.Minute)
			at := from.Add(time.Minute)
			twins := append(w.put(t, 1, at), w.put(t, 1, at)...) // both o-a, same time
			other := w.put(t, 2, at.Add(time.Second))            // o-a and o-b a second later: unlike the twins
			unheld := w.put(t, 1, at.Add(2*time.Second))[0]      // the graph never hears of it
			live := w.consumeN(t, "billing", 5)
			w.consumeN(t, "email", 5)
			if len(live) != 5 {
				t.Fatalf("%d live deliveries, want 5", len(live))
			}
			r := w.replayer(t, false)
			plan, err := r.PlanArchive(context.Background(), ArchiveRequest{Archive: "orders-archive", From: from, To: to, Rules: []string{"billing"}})
			if err != nil {
				t.Fatal(err)
			}
			if res, err := r.ExecuteArchive(context.Background(), plan, nil); err != nil || res.State != "COMPLETED" {
				t.Fatalf("%v: %v", res.Lines(), err)
			}
			again := w.consumeN(t, "billing", 5)
			if len(again) != 5 {
				t.Fatalf("%d replayed, want 5", len(again))
			}
			g := graph.New(graph.Config{MaxEvents: 1000})
			t0 := time.Now()
			for i, b := range live {
				if eventIDOf(t, b) == unheld {
					continue
				}
				g.Ingest(tracing.Batch{consumed("billing-queue", b, t0.Add(time.Duration(i)*time.Millisecond))})
			}
			for i, b := range again {
				g.Ingest(tracing.Batch{consumed("billing-queue", b, t0.Add(time.Second+time.Duration(i)*time.Millisecond))})
			}
			st := g.ReplayLinkStats()
			if newIDs {
				if st.Ambiguous != 2 || st.ByFingerprint != 2 || st.Unmatched != 1 || st.Pending != 1 {
					t.Errorf("stats %+v, want 2 ambiguous, 2 linked by fingerprint, 1 unmatched and waiting", st)
				}
				for _, id := range twins {
					if l, err := g.Lineage(id); err != nil || len(l.Links) != 0 || l.Status == graph.StatusReplayed {
						t.Errorf("twin %s: status %v links %+v (%v), want no guess", id, l.Status, l.Links, err)
					}
				}
			} else {
				if st.Ambiguous != 0 || st.ByFingerprint != 0 || st.Unmatched != 1 || st.Pending != 1 {
					t.Errorf("stats %+v, want none ambiguous: the kept id tells the twins apart", st)
				}
				for _, id := range twins {
					l, err := g.Lineage(id)
					if err != nil || len(l.Links) != 1 || l.Links[0].Rel != "replayed-as" || l.Links[0].ID != tracing.ReplayEventID(id, plan.ReplayName) {
						t.Errorf("twin %s: links %+v (%v), want its own replay", id, l.Links, err)
					}
				}
			}
			for _, id := range other {
				if l, err := g.Lineage(id); err != nil || len(l.Links) != 1 || l.Status != graph.StatusReplayed {
					t.Errorf("the distinct original %s: status %v links %+v (%v)", id, l.Status, l.Links, err)
				}
			}
			// (Lineage takes a prefix: the unheld id may find its replay, never an original.)
			if l, err := g.Lineage(unheld); err == nil && (l.ID == unheld || len(l.Links) != 0) {
				t.Errorf("an original never heard of was made up from its replay: %s %+v", l.ID, l.Links)
			}
			unlinked := 0
			for _, b := range again {
				cp, err := g.Lineage(replayKeyOf(t, b))
				if err != nil {
					t.Fatalf("replay %s: %v", replayKeyOf(t, b), err)
				}
				if len(cp.Links) == 0 {
					unlinked++
				}
			}
			if want := map[bool]int{true: 3, false: 1}[newIDs]; unlinked != want {
				t.Errorf("%d replays unlinked, want %d", unlinked, want)
			}
		})
	}
}

// TestArchiveReplayCancelled: ending the context midway cancels the replay
// with CancelReplay and waits until EventBridge reports CANCELLED.
func TestArchiveReplayCancelled(t *testing.T) {
	w := newArchiveWorld(t)
	now := time.Now().UTC()
	from := now.Add(-10 * time.Minute)
	w.put(t, 60, from.Add(time.Minute))
	w.consume(t, "billing")
	w.srv.SetReplayRate(20) // three seconds for the 60 events
	r := w.replayer(t, false)
	plan, err := r.PlanArchive(context.Background(), ArchiveRequest{Archive: "orders-archive", From: from, To: now.Add(-5 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := r.ExecuteArchive(ctx, plan, func(p ArchiveProgress) {
		if p.State == "RUNNING" && !p.LastReplayed.IsZero() {
			cancel() // the user pressed ctrl-c once events flowed
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if res.State != "CANCELLED" || !res.Cancelled {
		t.Fatalf("replay ended %s (cancelled %v), want CANCELLED: %v", res.State, res.Cancelled, res.Lines())
	}
	if n := len(w.consume(t, "billing")); n == 0 || n >= 60 {
		t.Errorf("a replay cancelled midway delivered %d of 60", n)
	}
}

// TestArchiveDryRunAndReadOnly: planning changes nothing (no replay exists
// after it), read-only refuses to execute, and the plan warns of an empty
// archive, a window wider than the retention and an unknown rule.
func TestArchiveDryRunAndReadOnly(t *testing.T) {
	w := newArchiveWorld(t)
	now := time.Now()
	r := w.replayer(t, true)
	plan, err := r.PlanArchive(context.Background(), ArchiveRequest{Archive: "orders-archive", From: now.Add(-30 * 24 * time.Hour), To: now})
	if err != nil {
		t.Fatal(err)
	}
	text := plan.String()
	for _, want := range []string{"holds no events", "before the archive's retention (7 days)", "last 10 minutes", "every rule of bus orders whose pattern matches (2 rules: billing, email)"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	l, err := w.eb.ListReplays(context.Background(), &eventbridge.ListReplaysInput{})
	if err != nil || len(l.Replays) != 0 {
		t.Errorf("planning started a replay: %+v %v", l, err)
	}
	if _, err := r.ExecuteArchive(context.Background(), plan, nil); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only execute: %v", err)
	}
	if _, err := r.PlanArchive(context.Background(), ArchiveRequest{Archive: "orders-archive", From: now.Add(-time.Hour), To: now, Rules: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), "billing, email") {
		t.Errorf("an unknown rule: %v", err)
	}
	if _, err := r.PlanArchive(context.Background(), ArchiveRequest{Archive: "nope", From: now.Add(-time.Hour), To: now}); !IsArchiveNotFound(err) {
		t.Errorf("an unknown archive: %v", err)
	}
	if _, err := r.PlanArchive(context.Background(), ArchiveRequest{Archive: "orders-archive", From: now, To: now.Add(-time.Hour)}); err == nil {
		t.Error("a window that ends before it starts was planned")
	}
	names, err := r.ArchivesOf(context.Background(), "orders")
	if err != nil || len(names) != 1 || names[0] != "orders-archive" {
		t.Errorf("ArchivesOf(orders) = %v, %v", names, err)
	}
	b, _ := json.Marshal(plan)
	if len(b) == 0 {
		t.Error("the plan does not marshal")
	}
}

// TestArchiveReplayLostAnswers: StartReplay's answer is lost every time
// (the replay starts all the same) and DescribeReplay fails now and then;
// the replay is found by its name, followed to COMPLETED, and the consumer
// gets each event of the window once more, not twice.
func TestArchiveReplayLostAnswers(t *testing.T) {
	w := newArchiveWorld(t)
	now := time.Now().UTC()
	from := now.Add(-10 * time.Minute)
	ids := w.put(t, 12, from.Add(time.Minute))
	w.consume(t, "billing")
	w.srv.Faults.Set("events.StartReplay", sandbox.Fault{Lost: 1})
	w.srv.Faults.Set("events.DescribeReplay", sandbox.Fault{Error5xx: 0.3})
	r := w.replayer(t, false)
	plan, err := r.PlanArchive(context.Background(), ArchiveRequest{Archive: "orders-archive", From: from, To: now.Add(-5 * time.Minute), Rules: []string{"billing"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.ExecuteArchive(context.Background(), plan, nil)
	if err != nil || res.State != "COMPLETED" || !strings.Contains(res.Note, "lost") {
		t.Fatalf("%v: %v", res.Lines(), err)
	}
	w.srv.Faults.Clear()
	l, err := w.eb.ListReplays(context.Background(), &eventbridge.ListReplaysInput{})
	if err != nil || len(l.Replays) != 1 {
		t.Fatalf("%d replays (%v), want the one", len(l.Replays), err)
	}
	if got := w.consumeN(t, "billing", len(ids)); len(got) != len(ids) {
		t.Errorf("the consumer got %d replayed events, want %d", len(got), len(ids))
	}
}

// TestArchiveReplayLocked: a second replay of one archive while another
// flowtop holds it is refused, naming why; nothing starts.
func TestArchiveReplayLocked(t *testing.T) {
	w := newArchiveWorld(t)
	r := w.replayer(t, false)
	now := time.Now()
	plan, err := r.PlanArchive(context.Background(), ArchiveRequest{Archive: "orders-archive", From: now.Add(-time.Hour), To: now})
	if err != nil {
		t.Fatal(err)
	}
	lk, err := acquireLock(r.opts.StateDir, "archive-orders-archive", now)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.unlock()
	if _, err := r.ExecuteArchive(context.Background(), plan, nil); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "replaying archive orders-archive") {
		t.Fatalf("a second replay: %v", err)
	}
	if l, _ := w.eb.ListReplays(context.Background(), &eventbridge.ListReplaysInput{}); len(l.Replays) != 0 {
		t.Errorf("a refused replay started: %+v", l.Replays)
	}
}
