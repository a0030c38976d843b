package graph

import (
	"strconv"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// TestSpanShapeInternerFull: once the shape interner holds its maximum of
// distinct name/service/messaging tuples, a span with yet another one keeps
// all five strings (in its extra) and the trace shows them unchanged.
func TestSpanShapeInternerFull(t *testing.T) {
	t.Parallel()
	g := New(Config{MaxEvents: 1 << 16, Now: func() time.Time { return t0 }})
	span := func(i int, name, service, dest string) tracing.Observation {
		var tid tracing.TraceID
		tid[0], tid[1], tid[2], tid[15] = byte(i>>16), byte(i>>8), byte(i), 1
		sid := tracing.SpanID{7: 1}
		return tracing.Observation{Kind: tracing.ObsSpan, Time: t0, Span: &tracing.Span{
			TraceID: tid, SpanID: sid, Name: name, Service: service, Start: t0, End: t0.Add(time.Millisecond),
			Messaging: tracing.Messaging{System: "aws_sqs", Operation: "process", Destination: dest},
		}}
	}
	var b tracing.Batch
	for i := 0; i < 1<<16; i++ {
		b = append(b, span(i, "op-"+strconv.Itoa(i), "svc", "q"))
		if len(b) == 4096 {
			g.Ingest(b)
			b = b[:0]
		}
	}
	g.Ingest(b)
	if n := len(g.sp.shapes.vals); n != 1<<16 {
		t.Fatalf("the interner holds %d shapes, want it full (%d)", n, 1<<16)
	}
	last := span(1<<16+1, "the-last-op", "the-last-service", "the-last-queue")
	g.Ingest(tracing.Batch{last})
	for _, o := range []tracing.Observation{last, span(5, "op-5", "svc", "q")} {
		tr, err := g.Trace(o.Span.TraceID)
		if err != nil || len(tr.Spans) != 1 {
			t.Fatalf("trace %s: %v, %d spans", o.Span.TraceID, err, len(tr.Spans))
		}
		got := tr.Spans[0]
		if got.Name != o.Span.Name || got.Service != o.Span.Service || got.Messaging.Destination != o.Span.Messaging.Destination ||
			got.Messaging.System != "aws_sqs" || got.Messaging.Operation != "process" {
			t.Errorf("span %q: got name %q service %q messaging %+v", o.Span.Name, got.Name, got.Service, got.Messaging)
		}
	}
	page := g.Traces(TraceQuery{Words: []string{"the-last-service"}})
	if len(page.Rows) != 1 || page.Rows[0].RootName != "the-last-op" {
		t.Errorf("Traces: %+v", page.Rows)
	}
}
