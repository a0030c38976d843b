package graph

import (
	"runtime"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// TestMappedChunksAreReleased: graphs that are no longer referenced give
// their mapped chunks back to the system (their cleanups unmap them), so a
// process that makes graphs (tests, replays) does not grow without bound.
func TestMappedChunksAreReleased(t *testing.T) {
	if raceOn || !offHeapOK[eventRec]() {
		t.Skip("chunks are Go slices under the race detector")
	}
	fill := func() int64 {
		g := New(Config{MaxEvents: 1 << 16})
		var b tracing.Batch
		for i := 0; i < 20_000; i++ {
			b = append(b, spanObs(i, t0))
		}
		g.Ingest(b)
		return g.MappedBytes()
	}
	before := offHeapBytes()
	var made int64
	for i := 0; i < 8; i++ {
		made += fill()
	}
	if made == 0 {
		t.Skip("nothing was mapped on this platform")
	}
	deadline := time.Now().Add(30 * time.Second)
	for offHeapBytes() > before+made/4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still mapped after the graphs were dropped (%d before, %d made)", offHeapBytes(), before, made)
		}
		runtime.GC()
		runtime.Gosched()
	}
}
