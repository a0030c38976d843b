package graph

import (
	"testing"

	"github.com/flowtop/flowtop/tracing"
)

// TestArenaSharesTracePrefix: a span key written right after its trace ID
// stores only the span's 8 bytes more, both read back exactly, dropping both
// leaves nothing live, and a span key of another trace (or one not written
// right after) is stored whole.
func TestArenaSharesTracePrefix(t *testing.T) {
	var a arena
	tid := tracing.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	other := tracing.TraceID{0: 9, 15: 1}
	sid := tracing.SpanID{1, 1, 1, 1, 1, 1, 1, 1}
	tr := a.put(tid.String())
	sp := a.put(tracing.SpanKey(tid, sid).Value)
	if a.total != 24 || a.live != 24 {
		t.Fatalf("trace then its span key: %d bytes written, %d live; want 24", a.total, a.live)
	}
	if a.str(tr) != tid.String() || a.str(sp) != tracing.SpanKey(tid, sid).Value {
		t.Fatalf("read back %q and %q", a.str(tr), a.str(sp))
	}
	if !a.equal(sp, tracing.SpanKey(tid, sid).Value) || a.equal(sp, tracing.SpanKey(other, sid).Value) {
		t.Fatal("equal is wrong on a shared string")
	}
	sp2 := a.put(tracing.SpanKey(tid, sid).Value) // not right after a trace ID
	sp3 := a.put(tracing.SpanKey(other, sid).Value)
	if a.total != 24+24+24 {
		t.Fatalf("%d bytes written; want each later span key whole", a.total)
	}
	for _, r := range []strRef{tr, sp, sp2, sp3} {
		a.drop(r)
	}
	if a.live != 0 {
		t.Fatalf("%d bytes live after dropping everything", a.live)
	}
	// Compaction copies a shared string whole, so the copy owns its bytes.
	var b arena
	c := b.putRaw(a.raw(sp), sp.n)
	if c.n&sharedBit != 0 || b.str(c) != tracing.SpanKey(tid, sid).Value || b.live != 24 {
		t.Fatalf("copy: %q, shared %v, %d live", b.str(c), c.n&sharedBit != 0, b.live)
	}
}
