package graph

import (
	"slices"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// filterGraph holds n events with random IDs, as real ones are: every other
// one a consumer-span event (a trace, a span and a message key), the rest
// SQS messages, one in 20,000 of them dead-lettered (the oldest event
// among them). It returns the graph and the message ID of event n/4 (a span's).
func filterGraph(n int) (*Graph, string) {
	g := New(Config{MaxEvents: n + n/4})
	spans, msgs := randomIDs(spanObs), randomIDs(messageObs)
	batch := make(tracing.Batch, 0, 512)
	for j := 0; j < n; j++ {
		at := t0.Add(time.Duration(j) * time.Microsecond)
		o := spans(j, at)
		if j%2 == 1 {
			o = msgs(j, at)
			if j%20_000 == 1 {
				o.Message.Queue, o.Message.DeadLetter, o.Message.SourceQueue = "billing-dlq", true, "billing-queue"
			}
		}
		batch = append(batch, o)
		if len(batch) == cap(batch) {
			g.Ingest(batch)
			batch = batch[:0]
		}
	}
	g.Ingest(batch)
	o := spans(n/4&^1, t0)
	return g, o.Keys[len(o.Keys)-1].Value
}

// readStats are the figures of a run of reads: each read's wall and
// process CPU time, and how long until an answer was complete.
type readStats struct {
	reads             int
	wall, cpu         []time.Duration // per read
	complete, firstMs []time.Duration // per query: until complete, the first read
}

func (r *readStats) read(g *Graph, filter, status string) (FlowPage, bool) {
	start, cpu0 := time.Now(), cpuTime()
	p, partial := ask(g, filter, status)
	r.wall = append(r.wall, time.Since(start))
	r.cpu = append(r.cpu, cpuTime()-cpu0)
	r.reads++
	return p, partial
}

// settle asks a filter as the console does: once, then again while the
// answer is partial (the screen reads again at once).
func (r *readStats) settle(g *Graph, filter, status string) FlowPage {
	start := time.Now()
	p, partial := r.read(g, filter, status)
	r.firstMs = append(r.firstMs, r.wall[len(r.wall)-1])
	for partial {
		p, partial = r.read(g, filter, status)
	}
	r.complete = append(r.complete, time.Since(start))
	return p
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func worst(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return slices.Max(ds)
}

// percentile is the p-th percentile of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func (r *readStats) report(b *testing.B, prefix string) {
	b.ReportMetric(ms(percentile(r.wall, 0.5)), prefix+"p50-read-ms")
	b.ReportMetric(ms(percentile(r.wall, 0.99)), prefix+"p99-read-ms")
	b.ReportMetric(ms(worst(r.wall)), prefix+"worst-read-ms")
	b.ReportMetric(ms(worst(r.cpu)), prefix+"worst-read-cpu-ms")
	b.ReportMetric(ms(worst(r.firstMs)), prefix+"worst-first-page-ms")
	b.ReportMetric(ms(worst(r.complete)), prefix+"worst-complete-ms")
	b.ReportMetric(float64(r.reads)/float64(max(1, len(r.complete))), prefix+"reads/answer")
}

// BenchmarkFilterKeys1M types filters over 1M held events as the console
// asks them (each answer read until complete, a read at most every
// keystroke plus the re-reads a partial answer asks for): the first
// keystroke of a filter nothing held narrows (a fresh cache each time, one
// run per first key), each next keystroke, then backspace to one key.
// Every read's wall and process CPU time is reported as its worst;
// worst-read-ms is what a user waits for a screen after a key.
func BenchmarkFilterKeys1M(b *testing.B) {
	g, id := filterGraph(1_000_000)
	queries := []string{id[:13], "charge-card", "4"}
	b.Run("first-key", func(b *testing.B) {
		var r readStats
		for i := 0; i < b.N; i++ {
			for _, q := range queries {
				g.search = search{}
				r.settle(g, q[:1], "")
			}
		}
		r.report(b, "")
	})
	b.Run("next-keys", func(b *testing.B) {
		var r readStats
		for i := 0; i < b.N; i++ {
			for _, q := range queries {
				g.search = search{}
				var skip readStats
				skip.settle(g, q[:1], "")
				for k := 2; k <= len(q); k++ {
					r.settle(g, q[:k], "")
				}
			}
		}
		r.report(b, "")
	})
	b.Run("backspace", func(b *testing.B) {
		var r readStats
		for i := 0; i < b.N; i++ {
			for _, q := range queries {
				g.search = search{}
				var skip readStats
				for k := 1; k <= len(q); k++ {
					skip.settle(g, q[:k], "")
				}
				for k := len(q) - 1; k >= 1; k-- {
					r.settle(g, q[:k], "")
				}
			}
		}
		r.report(b, "")
	})
	b.Run("status-dead", func(b *testing.B) {
		var r readStats
		found := 0
		for i := 0; i < b.N; i++ {
			g.search, g.sums = search{}, nil // summaries not cached yet either
			p := r.settle(g, "", "dead")
			found = p.Matched
		}
		if found != 50 {
			b.Fatalf("status:dead found %d of the 50 dead-lettered events", found)
		}
		r.report(b, "")
	})
	b.Run("idle", func(b *testing.B) {
		// A standing filter, complete, asked again with nothing ingested:
		// the console's refresh. Process CPU per read.
		var warm readStats
		for _, f := range []struct{ filter, status string }{{id[:13], ""}, {"", "dead"}} {
			warm.settle(g, f.filter, f.status)
		}
		before := g.SearchStats()
		b.ResetTimer()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			ask(g, id[:13], "")
			ask(g, "", "dead")
		}
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(2*b.N), "cpu-µs/read")
		if after := g.SearchStats(); after.Evals != before.Evals || after.Scans != before.Scans {
			b.Fatalf("a standing filter was matched again while idle: %+v after %+v", after, before)
		}
	})
}

// TestFilterGraphShape keeps the benchmark's graph honest at a small size:
// the dead-lettered events are what status:dead finds, and the ID typed
// names one event.
func TestFilterGraphShape(t *testing.T) {
	t.Parallel()
	g, id := filterGraph(60_001)
	if p := g.Flows(FlowQuery{Fields: []FieldTerm{{Key: "status", Value: "dead"}}, Limit: 50}); p.Matched != 3 {
		t.Fatalf("status:dead matched %d, want 3", p.Matched)
	}
	if p := g.Flows(FlowQuery{Filter: id, Limit: 50}); p.Matched != 1 {
		t.Fatalf("%s matched %d", id, p.Matched)
	}
}
