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
	path := filepath.Join(t.TempDir(), "r.ftr")
	clock := time.Unix(1_796_000_000, 0)
	w, err := recording.Create(path, recording.Options{ChunkBytes: 4 << 10, Queue: 1 << 10, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += per {
		batch := make(tracing.Batch, per)
		for j := range batch {
			batch[j] = benchObs(i + j)
		}
		w.Add(batch)
		clock = clock.Add(10 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := OpenRecording(path, graph.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if f := len(p.Recording().Frames); f < 20 {
		t.Fatalf("%d frames: too few to decode ahead", f)
	}
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
	path := filepath.Join(t.TempDir(), "r.ftr")
	clock := time.Unix(1_796_000_000, 0)
	w, err := recording.Create(path, recording.Options{ChunkBytes: 4 << 10, Queue: 1 << 10, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	fresh := graph.New(graph.Config{Now: func() time.Time { return clock }})
	for i := 0; i < n; i += per {
		batch := make(tracing.Batch, per)
		for j := range batch {
			batch[j] = benchObs(i + j)
		}
		w.Add(batch)
		own := make(tracing.Batch, per)
		for j := range own {
			own[j] = benchObs(i + j)
		}
		fresh.Ingest(own)
		clock = clock.Add(10 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := OpenRecording(path, graph.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if f := len(p.Recording().Frames); f < 20 {
		t.Fatalf("%d frames: too few to recycle", f)
	}
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
