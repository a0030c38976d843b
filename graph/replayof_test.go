package graph

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// ebDelivery is the observation of an EventBridge event (an archive replay
// when name is set) delivered to a consumer queue.
func ebDelivery(id, name, order string, at time.Time) tracing.Observation {
	m := map[string]any{
		"version": "0", "id": id, "detail-type": "OrderPlaced", "source": "orders.api", "account": "000000000000",
		"time": "2026-11-23T10:00:00Z", "region": "us-east-1", "resources": []string{}, "detail": map[string]any{"order_id": order},
	}
	if name != "" {
		m["replay-name"] = name
	}
	b, _ := json.Marshal(m)
	u := tracing.Unwrap(b)
	return tracing.Observation{
		Kind: tracing.ObsMessage, Source: "test", Time: at, Component: tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-queue"},
		Keys: u.Keys, Relations: u.Relations, Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: "billing-queue", Body: string(b), Layers: u.Layers},
	}
}

// TestReplayIndexBounded: the fingerprints of originals are held within
// the index's bound, the oldest forgotten and counted; a replay under a new
// id of a forgotten original stays unlinked and counted, one of a held
// original links. The bound follows MaxBytes when it is tighter.
func TestReplayIndexBounded(t *testing.T) {
	t.Parallel()
	g := newTestGraph(1000)
	if c := g.replayCap(); c != 1000 {
		t.Fatalf("cap %d, want MaxEvents", c)
	}
	const n = 1500 // more than the cap; the graph evicts events too
	for i := 0; i < n; i++ {
		g.Ingest(tracing.Batch{ebDelivery(fmt.Sprintf("orig-%04d", i), "", fmt.Sprintf("o-%d", i), t0.Add(time.Duration(i)*time.Millisecond))})
	}
	st := g.ReplayLinkStats()
	if st.Originals > 1000 || st.Forgotten < n-1000 {
		t.Fatalf("stats %+v: want at most 1000 held and the rest forgotten", st)
	}
	g.Ingest(tracing.Batch{ebDelivery("new-0001", "fix", "o-1", t0.Add(time.Minute))})
	g.Ingest(tracing.Batch{ebDelivery("new-1499", "fix", fmt.Sprintf("o-%d", n-1), t0.Add(time.Minute))})
	st = g.ReplayLinkStats()
	if st.Unmatched != 1 || st.ByFingerprint != 1 || st.Pending != 1 {
		t.Fatalf("stats %+v: want the forgotten original's replay unmatched and the held one's linked", st)
	}
	l, err := g.Lineage(tracing.ReplayEventID("new-1499", "fix"))
	if err != nil || len(l.Links) != 1 || l.Links[0].ID != "orig-1499" || l.Links[0].Rel != "replay-of" {
		t.Errorf("replay of orig-1499: %+v %v", l.Links, err)
	}
	if l, err := g.Lineage(tracing.ReplayEventID("new-0001", "fix")); err != nil || len(l.Links) != 0 {
		t.Errorf("replay of a forgotten original: %+v %v", l.Links, err)
	}
	// Waiting replays are bounded too.
	for i := 0; i < 3000; i++ {
		g.Ingest(tracing.Batch{ebDelivery(fmt.Sprintf("lost-%d", i), "fix", fmt.Sprintf("never-%d", i), t0.Add(2*time.Minute))})
	}
	if st := g.ReplayLinkStats(); st.Pending+st.Originals > g.replayCap() || st.Unmatched != 3001 {
		t.Errorf("stats %+v: index past its bound %d", st, g.replayCap())
	}
	small := New(Config{MaxEvents: 100_000, MaxBytes: 64 << 20})
	if c := small.replayCap(); c != 64<<20/replayIndexShare/replayEntryBytes {
		t.Errorf("cap %d under a 64MiB budget", c)
	}
}

// TestReplayOfKeptIDUnchanged: a replay that kept its original's id links
// by the id, as before, and nothing is counted by fingerprint, even when a
// twin of the original (same fingerprint) is held.
func TestReplayOfKeptIDUnchanged(t *testing.T) {
	t.Parallel()
	g := newTestGraph(100)
	g.Ingest(tracing.Batch{ebDelivery("e-1", "", "o-1", t0)})
	g.Ingest(tracing.Batch{ebDelivery("e-2", "", "o-1", t0)}) // a twin
	g.Ingest(tracing.Batch{ebDelivery("e-2", "fix", "o-1", t0.Add(time.Minute))})
	l, err := g.Lineage("e-2")
	if err != nil || l.ID != "e-2" || l.Status != StatusReplayed || len(l.Links) != 1 || l.Links[0].ID != tracing.ReplayEventID("e-2", "fix") {
		t.Fatalf("e-2: %s %v %+v %v", l.ID, l.Status, l.Links, err)
	}
	if l, _ := g.Lineage("e-1"); len(l.Links) != 0 {
		t.Errorf("e-1, the twin, got links %+v", l.Links)
	}
	if st := g.ReplayLinkStats(); st.ByFingerprint != 0 || st.Ambiguous != 0 || st.Unmatched != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestReplayNewIDLogMakesNoOriginal: a replay under a new id links by
// fingerprint; its consumer's log line then names the new id with
// replay_name, as if it were the original's: no original of that id is made
// up, and the replay keeps its one link.
func TestReplayNewIDLogMakesNoOriginal(t *testing.T) {
	t.Parallel()
	g := newTestGraph(100)
	g.Ingest(tracing.Batch{ebDelivery("e-1", "", "o-1", t0)})
	g.Ingest(tracing.Batch{ebDelivery("n-1", "fix", "o-1", t0.Add(time.Minute))})
	cp := tracing.Key{Kind: tracing.KeyEventID, Value: tracing.ReplayEventID("n-1", "fix")}
	g.Ingest(tracing.Batch{{
		Kind: tracing.ObsLog, Source: "test", Time: t0.Add(time.Minute), Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "charge"},
		Keys:      []tracing.Key{{Kind: tracing.KeyRequestID, Value: "req-1"}, cp},
		Relations: []tracing.Relation{{From: cp, To: tracing.Key{Kind: tracing.KeyEventID, Value: "n-1"}, Kind: tracing.RelReplayOf, Evidence: "replay_name in the consumer's log"}},
		Log:       &tracing.LogRecord{Message: "charging", RequestID: "req-1"},
	}})
	l, err := g.Lineage(cp.Value)
	if err != nil || len(l.Links) != 1 || l.Links[0].ID != "e-1" {
		t.Fatalf("replay: %+v %v", l.Links, err)
	}
	if ki := g.s.findStrong(tracing.KeyEventID, "n-1"); ki != 0 {
		t.Errorf("an original n-1 was made up from the replay's log line")
	}
	if st := g.ReplayLinkStats(); st.ByFingerprint != 1 {
		t.Errorf("stats %+v", st)
	}
}

// replayLog is a consumer's log line naming an archive replay of event id
// by its id and replay_name, as tracing's Lambda log parser gives it.
func replayLog(id, name, req string, at time.Time) tracing.Observation {
	cp := tracing.Key{Kind: tracing.KeyEventID, Value: tracing.ReplayEventID(id, name)}
	return tracing.Observation{
		Kind: tracing.ObsLog, Source: "test", Time: at, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "charge"},
		Keys:      []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}, cp},
		Relations: []tracing.Relation{{From: cp, To: tracing.Key{Kind: tracing.KeyEventID, Value: id}, Kind: tracing.RelReplayOf, Evidence: "replay_name in the consumer's log"}},
		Log:       &tracing.LogRecord{Message: "charging", RequestID: req},
	}
}

// TestReplayLogBeforeOriginal: a replay's log line (id and replay_name, no
// fingerprint) arrives before anything of its original: no original is made
// up from it; the replay waits, counted, and links when the original's own
// delivery arrives. One whose original never arrives stays unlinked.
func TestReplayLogBeforeOriginal(t *testing.T) {
	t.Parallel()
	g := newTestGraph(100)
	g.Ingest(tracing.Batch{replayLog("e-1", "fix", "req-1", t0.Add(time.Minute))})
	g.Ingest(tracing.Batch{replayLog("n-9", "fix", "req-2", t0.Add(time.Minute))})
	if ki := g.s.findStrong(tracing.KeyEventID, "e-1"); ki != 0 {
		t.Fatal("an original e-1 was made up from its replay's log line")
	}
	if st := g.ReplayLinkStats(); st.Unmatched != 2 || st.Pending != 2 {
		t.Fatalf("stats %+v", st)
	}
	g.Ingest(tracing.Batch{replayLog("e-1", "fix", "req-1", t0.Add(time.Minute))}) // a second line: counted once
	g.Ingest(tracing.Batch{ebDelivery("e-1", "", "o-1", t0)})
	l, err := g.Lineage("e-1")
	if err != nil || l.ID != "e-1" || l.Status != StatusReplayed || len(l.Links) != 1 || l.Links[0].ID != tracing.ReplayEventID("e-1", "fix") {
		t.Fatalf("e-1: %s %v %+v %v", l.ID, l.Status, l.Links, err)
	}
	if st := g.ReplayLinkStats(); st.Unmatched != 2 || st.Late != 1 || st.Pending != 1 || st.ByFingerprint != 0 {
		t.Errorf("stats %+v", st)
	}
	if l, err := g.Lineage(tracing.ReplayEventID("n-9", "fix")); err != nil || len(l.Links) != 0 {
		t.Errorf("n-9's replay: %+v %v", l.Links, err)
	}
}
