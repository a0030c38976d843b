package graph

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// TestCompactionKeepsSpans churns consumer spans (each naming an invocation
// and a long message ID) through a small graph until the arena has been
// compacted twice, and checks right after the second compaction that the
// spans stored before it read back exactly: the span's invocation ID on the
// trace, and the event's keys and span key.
func TestCompactionKeepsSpans(t *testing.T) {
	t.Parallel()
	g := New(Config{MaxEvents: 500, Now: func() time.Time { return t0 }})
	pad := strings.Repeat("p", 300)
	mk := func(i int) tracing.Observation {
		o := spanObs(i, t0.Add(time.Duration(i)*time.Millisecond))
		msg := fmt.Sprintf("m-%d-%s", i, pad)
		o.Keys[2].Value, o.Relations[0].To.Value = msg, msg
		o.Span.Messaging.MessageID = msg
		o.Span.InvocationID = fmt.Sprintf("%08x-1111-4000-8000-000000000000", i)
		return o
	}
	n := 0
	for ; g.s.compactions < 2; n += 100 {
		if n > 200_000 {
			t.Fatalf("arena compacted %d times after %d spans", g.s.compactions, n)
		}
		var b tracing.Batch
		for j := n; j < n+100; j++ {
			b = append(b, mk(j))
		}
		g.Ingest(b)
	}
	for _, i := range []int{n - 1, n - 200} {
		o := mk(i)
		tr, err := g.Trace(o.Span.TraceID)
		if err != nil || len(tr.Spans) != 1 || tr.Spans[0].InvocationID != o.Span.InvocationID {
			t.Fatalf("trace of span %d: %v, %+v", i, err, tr.Spans)
		}
		l, err := g.Lineage(o.Keys[2].Value)
		if err != nil || l.ID != o.Keys[2].Value {
			t.Fatalf("Lineage of span %d's message: %.30q, %v", i, l.ID, err)
		}
		g.mu.RLock()
		ki := g.s.findStrong(tracing.KeyMessageID, o.Keys[2].Value)
		v := g.s.view(g.s.key(ki).ev)
		g.mu.RUnlock()
		if len(v.invs) != 1 || v.invs[0].span != o.Keys[1] || v.invs[0].request != o.Span.InvocationID ||
			!slices.Contains(v.weak, o.Keys[0]) {
			t.Fatalf("event of span %d: consumers %+v, weak keys %v", i, v.invs, v.weak)
		}
	}
}

// TestSlimRefs: a consumer span naming no invocation is held as a slim ref
// (its trace ID borrowed from the event's trace key, its span ID in place);
// its span key reads back exactly through compaction, through a merge that
// drops the key record it borrowed from (the other event already held the
// trace), and beside span keys that cannot be slim, which are stored whole.
func TestSlimRefs(t *testing.T) {
	t.Parallel()
	g := New(Config{MaxEvents: 500, Now: func() time.Time { return t0 }})
	pad := strings.Repeat("p", 300)
	mk := func(i int) tracing.Observation {
		o := spanObs(i, t0.Add(time.Duration(i)*time.Millisecond))
		msg := fmt.Sprintf("m-%d-%s", i, pad)
		o.Keys[2].Value, o.Relations[0].To.Value = msg, msg
		o.Span.Messaging.MessageID = msg
		return o
	}
	check := func(o tracing.Observation, msg string, wantSlim bool) {
		t.Helper()
		g.mu.RLock()
		defer g.mu.RUnlock()
		ki := g.s.findStrong(tracing.KeyMessageID, msg)
		if ki == 0 {
			t.Fatalf("%.20q not held", msg)
		}
		e := g.s.key(ki).ev
		v := g.s.view(e)
		var spans []tracing.Key
		for _, r := range v.invs {
			spans = append(spans, r.span)
			if r.request != "" {
				t.Errorf("%.20q: a span ref reads request %q", msg, r.request)
			}
		}
		if !slices.Contains(spans, o.Keys[1]) {
			t.Fatalf("%.20q: consumer spans %v, want %v among them", msg, spans, o.Keys[1])
		}
		tr, _, _ := strings.Cut(o.Keys[1].Value, "/")
		for i := g.s.ev(e).refs; i != 0; i = g.s.ref(i).next {
			f := g.s.ref(i)
			if g.s.spanKey(f) != o.Keys[1].Value {
				continue
			}
			if f.slim() != wantSlim || g.s.refTrace(f) != tr || !g.s.spanIs(f, o.Keys[1].Value) || g.s.spanIs(f, o.Keys[1].Value+"0") {
				t.Errorf("%.20q: slim %v (want %v), trace %q (want %q)", msg, f.slim(), wantSlim, g.s.refTrace(f), tr)
			}
			return
		}
		t.Fatalf("%.20q: no ref reads back %q", msg, o.Keys[1].Value)
	}
	n := 0
	for ; g.s.compactions < 2; n += 100 {
		if n > 200_000 {
			t.Fatalf("arena compacted %d times after %d spans", g.s.compactions, n)
		}
		var b tracing.Batch
		for j := n; j < n+100; j++ {
			b = append(b, mk(j))
		}
		g.Ingest(b)
	}
	for _, i := range []int{n - 1, n - 200} {
		o := mk(i)
		check(o, o.Keys[2].Value, true)
		if l, err := g.Lineage(o.Keys[2].Value); err != nil || !slices.ContainsFunc(l.Hops, func(h Hop) bool { return slices.Contains(h.Keys, o.Keys[1]) }) {
			t.Errorf("lineage of span %d names no hop by its span key: %v", i, err)
		}
	}

	// Two events consumed in one trace, then found to be one message: the
	// second's trace key record is dropped as a duplicate; its ref keeps
	// reading the bytes it borrowed.
	a, b := mk(n+1), mk(n+2)
	b.Span.TraceID = a.Span.TraceID
	b.Keys[0] = a.Keys[0]
	b.Keys[1] = tracing.SpanKey(a.Span.TraceID, b.Span.SpanID)
	b.Relations[0].From = b.Keys[1]
	g.Ingest(tracing.Batch{a, b})
	g.Ingest(tracing.Batch{{Time: t0, Keys: []tracing.Key{a.Keys[2], b.Keys[2]}}}) // one message's two layers
	check(a, a.Keys[2].Value, true)
	check(b, a.Keys[2].Value, true)
	g.mu.RLock()
	if ea, eb := g.s.key(g.s.findStrong(tracing.KeyMessageID, a.Keys[2].Value)).ev, g.s.key(g.s.findStrong(tracing.KeyMessageID, b.Keys[2].Value)).ev; ea != eb {
		t.Errorf("the two layers are events %d and %d", ea, eb)
	}
	g.mu.RUnlock()

	// Span keys that cannot be slim are stored whole: an upper-case span ID
	// (not 16 lower-case hex digits).
	c := mk(n + 3)
	c.Keys[1].Value = strings.ToUpper(c.Keys[1].Value)
	c.Relations[0].From = c.Keys[1]
	g.Ingest(tracing.Batch{c})
	check(c, c.Keys[2].Value, false)
}
