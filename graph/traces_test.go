package graph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowtop/flowtop/tracing"
)

func tid(n int) tracing.TraceID {
	var t tracing.TraceID
	binary.BigEndian.PutUint64(t[8:], uint64(n))
	t[0] = 0x5f
	return t
}

func sid(n int) tracing.SpanID {
	var s tracing.SpanID
	binary.BigEndian.PutUint64(s[:], uint64(n)+1)
	return s
}

// otlpSpan is a span as an app without messaging attributes sends it.
func otlpSpan(trace, span, parent int, svc, name string, start time.Time, d time.Duration, failed bool) tracing.Observation {
	sp := &tracing.Span{TraceID: tid(trace), SpanID: sid(span), Name: name, Service: svc, Kind: tracing.SpanKindServer, Start: start, End: start.Add(d)}
	if parent >= 0 {
		sp.ParentID, sp.Kind = sid(parent), tracing.SpanKindClient
	}
	if failed {
		sp.Status, sp.StatusMessage = tracing.StatusError, "boom"
	}
	return tracing.Observation{Kind: tracing.ObsSpan, Time: start, Span: sp}
}

func TestTracesListsPlainOTLPTraces(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	g := New(Config{Now: func() time.Time { return t0 }})
	g.Ingest(tracing.Batch{
		otlpSpan(1, 10, -1, "cart", "GET /cart", t0, 40*time.Millisecond, false),
		otlpSpan(1, 11, 10, "cart", "SELECT", t0.Add(5*time.Millisecond), 10*time.Millisecond, false),
		otlpSpan(2, 20, -1, "checkout", "POST /checkout", t0.Add(time.Second), 900*time.Millisecond, false),
		otlpSpan(2, 21, 20, "payments", "charge", t0.Add(time.Second+100*time.Millisecond), 950*time.Millisecond, true),
		// Trace 3 has no root span yet: its earliest span stands in.
		otlpSpan(3, 30, 99, "email", "send", t0.Add(2*time.Second), 5*time.Millisecond, false),
	})
	rows := func(q TraceQuery) []string {
		var out []string
		for _, r := range g.Traces(q).Rows {
			out = append(out, fmt.Sprintf("%x %s %s %v %d %d %v", r.ID[15], r.RootService, r.RootName, r.Duration, r.Spans, r.Errors, r.RootMissing))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    TraceQuery
		want []string
	}{
		{"recent", TraceQuery{}, []string{"3 email send 5ms 1 0 true", "2 checkout POST /checkout 1.05s 2 1 false", "1 cart GET /cart 40ms 2 0 false"}},
		{"slowest", TraceQuery{Sort: TraceSortSlowest}, []string{"2 checkout POST /checkout 1.05s 2 1 false", "1 cart GET /cart 40ms 2 0 false", "3 email send 5ms 1 0 true"}},
		{"failed", TraceQuery{Sort: TraceSortFailed}, []string{"2 checkout POST /checkout 1.05s 2 1 false"}},
		{"words", TraceQuery{Words: []string{"CART", "get"}}, []string{"1 cart GET /cart 40ms 2 0 false"}},
		{"invert", TraceQuery{Words: []string{"cart"}, Invert: true}, []string{"3 email send 5ms 1 0 true", "2 checkout POST /checkout 1.05s 2 1 false"}},
		{"id", TraceQuery{Words: []string{tid(2).String()[20:]}}, []string{"2 checkout POST /checkout 1.05s 2 1 false"}},
		{"limit", TraceQuery{Limit: 1}, []string{"3 email send 5ms 1 0 true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, rows(tc.q)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	if p := g.Traces(TraceQuery{Limit: 1}); p.Matched != 3 || p.Held != 3 || p.Window != 3 {
		t.Errorf("page counts: %+v", p)
	}
	tr, err := g.Trace(tid(2))
	if err != nil || len(tr.Spans) != 2 || tr.Truncated {
		t.Fatalf("Trace: %v %+v", err, tr)
	}
	// Another trace's span leaves this trace's version alone; its own changes it.
	g.Ingest(tracing.Batch{otlpSpan(1, 12, 10, "cart", "GET redis", t0, time.Millisecond, false)})
	if again, _ := g.Trace(tid(2)); again.Version != tr.Version {
		t.Errorf("version moved with another trace: %x → %x", tr.Version, again.Version)
	}
	g.Ingest(tracing.Batch{otlpSpan(2, 22, 20, "checkout", "render", t0.Add(time.Second), time.Millisecond, false)})
	if again, _ := g.Trace(tid(2)); again.Version == tr.Version || len(again.Spans) != 3 {
		t.Errorf("version kept after a new span: %x, %d spans", again.Version, len(again.Spans))
	}
	if _, err := g.Trace(tid(42)); !errors.Is(err, ErrTraceNotFound) {
		t.Errorf("unknown trace: %v", err)
	}
	// The failed span is replaced by its completed, successful copy: the
	// trace leaves the failed list.
	g.Ingest(tracing.Batch{otlpSpan(2, 21, 20, "payments", "charge", t0.Add(time.Second+100*time.Millisecond), 950*time.Millisecond, false)})
	if got := rows(TraceQuery{Sort: TraceSortFailed}); len(got) != 0 {
		t.Errorf("failed after the fix: %v", got)
	}
}

// TestTracesNewestByStart: a trace polled late (X-Ray) that started earlier
// is listed under one pushed early (OTLP) that started later.
func TestTracesNewestByStart(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	g := New(Config{Now: func() time.Time { return t0 }})
	g.Ingest(tracing.Batch{otlpSpan(1, 1, -1, "late", "pushed", t0.Add(time.Second), time.Millisecond, true)})
	g.Ingest(tracing.Batch{otlpSpan(2, 2, -1, "early", "polled", t0, time.Millisecond, true)})
	for _, sort := range []TraceSort{TraceSortRecent, TraceSortFailed} {
		p := g.Traces(TraceQuery{Sort: sort})
		if len(p.Rows) != 2 || p.Rows[0].RootService != "late" {
			t.Errorf("%s: %+v", sort, p.Rows)
		}
	}
}

func TestTracesForgetDroppedTracesAndWrap(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	g := New(Config{MaxEvents: 100, Now: func() time.Time { return t0 }})
	var b tracing.Batch
	for i := 0; i < recentTraces+50; i++ {
		b = append(b, otlpSpan(i, i, -1, "svc", fmt.Sprint("op-", i), t0.Add(time.Duration(i)*time.Millisecond), time.Millisecond, i%7 == 0))
	}
	g.Ingest(b)
	p := g.Traces(TraceQuery{Limit: 1000})
	// Only 100 traces are held: slots were reused many times over, and the
	// index lists each held trace once, newest first.
	if p.Held != 100 || p.Window != 100 || len(p.Rows) != 100 {
		t.Fatalf("held %d window %d rows %d", p.Held, p.Window, len(p.Rows))
	}
	for i, r := range p.Rows {
		if want := fmt.Sprint("op-", recentTraces+49-i); r.RootName != want {
			t.Fatalf("row %d: %s, want %s", i, r.RootName, want)
		}
	}
	f := g.Traces(TraceQuery{Sort: TraceSortFailed})
	if len(f.Rows) != 14 || f.Rows[0].RootName != "op-10045" {
		t.Errorf("failed: %d rows, first %+v", len(f.Rows), f.Rows[0])
	}
}

// BenchmarkTraces1M reads the list with 1M spans held (100,000 traces of
// ten spans), after every ingest: the worst case, no cached rows.
func BenchmarkTraces1M(b *testing.B) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	g := New(Config{MaxEvents: 200_000, Now: func() time.Time { return t0 }})
	batch := make(tracing.Batch, 0, 1000)
	for tr := 0; tr < 100_000; tr++ {
		for s := 0; s < 10; s++ {
			parent := -1
			if s > 0 {
				parent = tr*10 + s - 1
			}
			batch = append(batch, otlpSpan(tr, tr*10+s, parent, "svc", "op", t0.Add(time.Duration(tr)*time.Millisecond), time.Duration(s+1)*time.Millisecond, s == 9 && tr%10 == 0))
		}
		if len(batch) >= 1000 {
			g.Ingest(batch)
			batch = batch[:0]
		}
	}
	one := tracing.Batch{otlpSpan(200_000, 2_000_000, -1, "svc", "op", t0, time.Millisecond, false)}
	for _, sort := range []TraceSort{TraceSortRecent, TraceSortSlowest, TraceSortFailed} {
		b.Run(sort.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				g.Ingest(one) // a new version: the rows are summed again
				if p := g.Traces(TraceQuery{Sort: sort, Limit: 1000}); len(p.Rows) == 0 {
					b.Fatal("no rows")
				}
			}
		})
	}
	b.Run("cached", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			g.Traces(TraceQuery{Sort: TraceSortSlowest, Limit: 1000})
		}
	})
}

// TestTracesConcurrentReaders reads the list and traces from several
// goroutines while one ingests (run with -race): readers share the row cache.
func TestTracesConcurrentReaders(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	g := New(Config{MaxEvents: 500, Now: func() time.Time { return t0 }})
	done := make(chan struct{})
	var readers sync.WaitGroup
	for r := 0; r < 4; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				p := g.Traces(TraceQuery{Sort: TraceSort(r % 3), Limit: 50})
				for _, row := range p.Rows[:min(len(p.Rows), 3)] {
					if tr, err := g.Trace(row.ID); err == nil && len(tr.Spans) == 0 {
						t.Error("a held trace without spans")
					}
				}
			}
		}()
	}
	for i := 0; i < 3000; i++ {
		g.Ingest(tracing.Batch{otlpSpan(i/3, i, -1+(i%3), "svc", "op", t0.Add(time.Duration(i)*time.Millisecond), time.Millisecond, i%5 == 0)})
	}
	close(done)
	readers.Wait()
	if p := g.Traces(TraceQuery{}); p.Held != 500 || len(p.Rows) != 500 {
		t.Errorf("held %d, rows %d", p.Held, len(p.Rows))
	}
}

// TestBigTrace holds a 10,000-span trace whole (the cap was 512), replaces a
// span of it by ID, keeps span events, and still drops traces oldest first
// once the store's share is used.
func TestBigTrace(t *testing.T) {
	t.Parallel()
	g := New(Config{MaxEvents: 5_000}) // a store of 20,000 spans
	t0 := time.Unix(1_700_000_000, 0)
	tid := tracing.TraceID{9, 9, 9}
	const n = 10_000
	batch := make(tracing.Batch, 0, n)
	for i := range n {
		sp := &tracing.Span{TraceID: tid, SpanID: tracing.SpanID{byte(i >> 8), byte(i), 1}, Name: "op", Service: "svc", Start: t0.Add(time.Duration(i) * time.Millisecond), End: t0.Add(time.Duration(i+1) * time.Millisecond)}
		if i > 0 {
			sp.ParentID = tracing.SpanID{0, 0, 1}
		}
		batch = append(batch, tracing.Observation{Kind: tracing.ObsSpan, Source: "otlp", Time: sp.Start, Span: sp})
	}
	g.Ingest(batch)
	// A later copy of span 5000 replaces it, with an exception.
	again := *batch[5000].Span
	again.Status = tracing.StatusError
	again.AddEvent(tracing.SpanEvent{Time: t0, Name: "exception", Attrs: map[string]string{"exception.type": "Boom"}})
	g.Ingest(tracing.Batch{{Kind: tracing.ObsSpan, Source: "otlp", Time: t0, Span: &again}})
	tr, err := g.Trace(tid)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Spans) != n || tr.Truncated {
		t.Fatalf("held %d spans (truncated %v), want %d", len(tr.Spans), tr.Truncated, n)
	}
	var found bool
	for _, sp := range tr.Spans {
		if sp.SpanID == again.SpanID {
			found = sp.Status == tracing.StatusError && len(sp.Events) == 1 && sp.Events[0].Attrs["exception.type"] == "Boom"
		}
	}
	if !found {
		t.Error("the replaced span lost its status or events")
	}
	// Three more traces of 5,000 spans: the store holds 20,000, so the big
	// trace (the oldest) goes, and the newest stay whole.
	for k := range 3 {
		id := tracing.TraceID{1, byte(k)}
		b := make(tracing.Batch, 0, 5000)
		for i := range 5000 {
			sp := &tracing.Span{TraceID: id, SpanID: tracing.SpanID{byte(i >> 8), byte(i), 2}, Name: "op", Start: t0, End: t0.Add(time.Millisecond)}
			b = append(b, tracing.Observation{Kind: tracing.ObsSpan, Source: "otlp", Time: t0, Span: sp})
		}
		g.Ingest(b)
	}
	if _, err := g.Trace(tid); !errors.Is(err, ErrTraceNotFound) {
		t.Errorf("the oldest trace is still held past the store's share: %v", err)
	}
	if tr, err := g.Trace(tracing.TraceID{1, 2}); err != nil || len(tr.Spans) != 5000 {
		t.Errorf("newest trace: %v, %d spans", err, len(tr.Spans))
	}
}
