package engine

import (
	"context"
	"testing"
	"time"

	"github.com/flowtop/flowtop/replay"
)

// A replay of a dead-lettered event is an event of its own, linked to its
// original both ways, although its body carries the original's IDs: the
// engine tells the graph before the copy's consumers could log it.
func TestReplayIsItsOwnEventLinkedToItsOriginal(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := e.SearchHistory(ctx, f.ev2, nil); err != nil {
		t.Fatal(err)
	}
	body, msgID, err := e.StoredCopy(f.ev2)
	if err != nil {
		t.Fatalf("no DLQ copy of %s: %v", f.ev2, err)
	}
	id, err := e.ExecuteReplay(ctx, replay.ReplayPlan{OriginalID: msgID, Target: replay.Target{Kind: "sqs", Name: "billing-queue"}, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	orig := lineage(t, e, f.ev2)
	cp := lineage(t, e, id)
	if cp.ID == orig.ID {
		t.Fatalf("the replay %s merged into its original %s", id, orig.ID)
	}
	var toOrig, toCopy bool
	for _, k := range cp.Links {
		toOrig = toOrig || (k.Rel == "replay-of" && k.ID == orig.ID)
	}
	for _, k := range orig.Links {
		toCopy = toCopy || (k.Rel == "replayed-as" && k.ID == cp.ID)
	}
	if !toOrig || !toCopy {
		t.Fatalf("links: copy %+v, original %+v", cp.Links, orig.Links)
	}
}
