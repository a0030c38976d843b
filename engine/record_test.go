package engine

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flowtop/flowtop/graph"
)

// TestRecordAndReplay records a live engine (searches landing through the
// hub while it runs) and replays the file: the replayed graph answers
// lineage exactly as the live one did, and the player jumps back and forth.
func TestRecordAndReplay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := f.engine(t, true)
	path := filepath.Join(t.TempDir(), "incident.ftr")
	if err := e.Record(path, "test"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.Start(ctx)
	for _, id := range []string{f.ev1, f.ev2, f.ev3} {
		if err := e.SearchHistory(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	var sawRecorder bool
	for _, h := range e.Health() {
		sawRecorder = sawRecorder || h.Source == "recorder"
	}
	if !sawRecorder {
		t.Errorf("health lacks the recorder: %+v", e.Health())
	}
	cancel()
	e.Close()
	// The live graph, once ingest has stopped, holds what was recorded.
	live := map[string]graph.Lineage{}
	for _, id := range []string{f.ev1, f.ev2, f.ev3, f.req1, f.msg2} {
		live[id] = lineage(t, e, id)
	}
	liveFns := e.Graph().Functions()
	st, _ := e.RecordingStats()
	if st.Written != 0 {
		t.Errorf("stats after close: %+v (the recorder should be gone)", st)
	}

	p, err := OpenRecording(path, graph.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Notes(); len(n) != 0 {
		t.Fatalf("notes %v", n)
	}
	if p.Recording().Count == 0 {
		t.Fatal("nothing recorded")
	}
	if err := p.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	for id, want := range live {
		got, err := p.Graph().Lineage(id)
		if err != nil {
			t.Fatalf("replayed lineage %s: %v", id, err)
		}
		if d := cmp.Diff(want, got, cmpopts.IgnoreFields(graph.Lineage{}, "Version")); d != "" {
			t.Errorf("lineage %s differs (-live +replayed):\n%s", id, d)
		}
	}
	if d := cmp.Diff(liveFns, p.Graph().Functions()); d != "" {
		t.Errorf("functions differ (-live +replayed):\n%s", d)
	}

	// Jump back to the start: a new, empty graph; forward again: all of it.
	gen := p.Generation()
	first, last := p.Bounds()
	p.jump(context.Background(), first.UnixNano()-1)
	if p.Generation() == gen {
		t.Fatal("a jump back kept the graph")
	}
	if tot := p.Graph().Totals(); tot.Events > 1 {
		t.Logf("after a jump to the start: %+v", tot)
	}
	p.jump(context.Background(), last.UnixNano())
	if _, err := p.Graph().Lineage(f.ev1); err != nil {
		t.Fatalf("after jumping to the end: %v", err)
	}
	if got := p.Now(); !got.Equal(last) {
		t.Errorf("clock %v, want %v", got, last)
	}
}

// TestPlayerRunStops: playback at every speed keeps its controls and stops with ctx.
func TestPlayerRunStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := f.engine(t, false)
	path := filepath.Join(t.TempDir(), "r.ftr")
	if err := e.Record(path, "test"); err != nil {
		t.Fatal(err)
	}
	if err := e.SearchHistory(context.Background(), f.ev1, nil); err != nil {
		t.Fatal(err)
	}
	e.Close()
	p, err := OpenRecording(path, graph.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	for range Speeds {
		p.Faster()
	}
	p.TogglePause()
	p.TogglePause()
	p.SeekBy(-time.Hour)
	p.Slower()
	if s := p.Status(); s == "" {
		t.Error("no status")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
