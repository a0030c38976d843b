package engine

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/flowtop/flowtop/engine/recording"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// TestPlayerManyFrames plays a recording of many small frames, decoded
// ahead on several goroutines: whole, it ingests every observation once and
// in order; after jumps forward, back to the start (dropping the frames
// decoded ahead) and to the end, the rebuilt graph matches the first.
func TestPlayerManyFrames(t *testing.T) {
	t.Parallel()
	const n, per = 3000, 50
	p, path := openSmallFrames(t, n, per, nil)
	if err := p.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	whole := p.Graph().Totals()
	if whole.Observations != n || len(p.Notes()) != 0 {
		t.Fatalf("loaded %d of %d observations, notes %v", whole.Observations, n, p.Notes())
	}
	req := benchObs(n - 1).Keys[0].Value
	want, err := p.Graph().Lineage(req)
	if err != nil {
		t.Fatal(err)
	}

	q, err := OpenRecording(path, graph.Config{})
	if err != nil {
		t.Fatal(err)
	}
	first, last := q.Bounds()
	ctx := context.Background()
	q.jump(ctx, first.Add(last.Sub(first)/2).UnixNano())
	mid := q.Graph().Totals().Observations
	if mid == 0 || mid >= n {
		t.Fatalf("half way: %d observations", mid)
	}
	q.jump(ctx, first.UnixNano()-1)
	if got := q.Graph().Totals().Observations; got > per {
		t.Fatalf("back at the start: %d observations", got)
	}
	q.jump(ctx, last.UnixNano())
	if got := q.Graph().Totals(); got.Observations != whole.Observations || got.Events != whole.Events {
		t.Fatalf("after the jumps: %+v, want %+v", got, whole)
	}
	got, err := q.Graph().Lineage(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hops) != len(want.Hops) {
		t.Errorf("lineage after the jumps has %d hops, want %d", len(got.Hops), len(want.Hops))
	}
}

// TestPlayerRecycledFrames plays a recording whose frames are decoded into
// the memory of frames already ingested (Columns.Recycle): the graph keeps
// nothing of an ingested batch but its strings, so the graph played is the
// one the same observations make ingested fresh, each in memory of its own.
func TestPlayerRecycledFrames(t *testing.T) {
	t.Parallel()
	const n, per = 3000, 50
	var fresh *graph.Graph
	p, _ := openSmallFrames(t, n, per, func(clock func() time.Time, i int) {
		if fresh == nil {
			fresh = graph.New(graph.Config{Now: clock})
		}
		own := make(tracing.Batch, per)
		for j := range own {
			own[j] = benchObs(i + j)
		}
		fresh.Ingest(own)
	})
	if err := p.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	played := p.Graph()
	if got, want := played.Totals(), fresh.Totals(); got != want {
		t.Fatalf("played %+v, fresh %+v", got, want)
	}
	same := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: played\n%+v\nfresh\n%+v", what, got, want)
		}
	}
	same("functions", played.Functions(), fresh.Functions())
	same("logs", played.Logs(graph.LogQuery{Limit: n}), fresh.Logs(graph.LogQuery{Limit: n}))
	same("flows", played.Flows(graph.FlowQuery{Limit: n}), fresh.Flows(graph.FlowQuery{Limit: n}))
	same("traces", played.Traces(graph.TraceQuery{Limit: n}), fresh.Traces(graph.TraceQuery{Limit: n}))
	for i := 0; i < n; i += 5 * 7 { // every 7th invocation, the first frames' among them
		req := benchObs(i).Keys[0].Value
		got, err := played.Lineage(req)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fresh.Lineage(req)
		if err != nil {
			t.Fatal(err)
		}
		same("lineage of "+req, got, want)
	}
}

// openSmallFrames writes n sandbox-shaped observations (benchObs) as a
// recording of many small frames, per observations a batch and 10 ms apart,
// calling each (when set) with the writer's clock and the batch's first
// index, and opens it; at least 20 frames, so frames are decoded ahead and
// recycled. It returns the player and the file's path.
func openSmallFrames(t *testing.T, n, per int, each func(clock func() time.Time, i int)) (*Player, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.ftr")
	at := time.Unix(1_796_000_000, 0)
	clock := func() time.Time { return at }
	w, err := recording.Create(path, recording.Options{ChunkBytes: 4 << 10, Queue: 1 << 10, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += per {
		batch := make(tracing.Batch, per)
		for j := range batch {
			batch[j] = benchObs(i + j)
		}
		w.Add(batch)
		if each != nil {
			each(clock, i)
		}
		at = at.Add(10 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := OpenRecording(path, graph.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if f := len(p.Recording().Frames); f < 20 {
		t.Fatalf("%d frames: too few to decode ahead and recycle", f)
	}
	return p, path
}
