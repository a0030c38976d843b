package traces_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/traces"
)

// BenchmarkFrame1M is one frame of the traces list over a real graph
// holding 1M spans (100,000 traces of ten plain OTLP spans) while spans keep
// arriving: an ingest (so nothing is cached), the screen's read, Update and
// View, for each order.
func BenchmarkFrame1M(b *testing.B) {
	g := graph.New(graph.Config{MaxEvents: 200_000, Now: func() time.Time { return fake.Now }})
	id := func(n int) (t tracing.TraceID) {
		binary.BigEndian.PutUint64(t[:], uint64(n)*0x9e3779b97f4a7c15)
		binary.BigEndian.PutUint64(t[8:], uint64(n)+1)
		return t
	}
	sid := func(n int) (s tracing.SpanID) { binary.BigEndian.PutUint64(s[:], uint64(n)+1); return s }
	batch := make(tracing.Batch, 0, 1000)
	for tr := 0; tr < 100_000; tr++ {
		for s := 0; s < 10; s++ {
			sp := &tracing.Span{TraceID: id(tr), SpanID: sid(tr*10 + s), Service: "svc", Name: "GET /x", Start: fake.Now.Add(time.Duration(tr) * time.Millisecond), End: fake.Now.Add(time.Duration(tr+s+1) * time.Millisecond)}
			if s > 0 {
				sp.ParentID = sid(tr * 10)
			}
			if s == 9 && tr%10 == 0 {
				sp.Status = tracing.StatusError
			}
			batch = append(batch, tracing.Observation{Kind: tracing.ObsSpan, Time: sp.Start, Span: sp})
		}
		if len(batch) >= 1000 {
			g.Ingest(batch)
			batch = batch[:0]
		}
	}
	n := 0
	for _, keys := range [][]string{nil, {"s"}, {"f"}} {
		name := "recent"
		if len(keys) > 0 {
			name = map[string]string{"s": "slowest", "f": "failed"}[keys[0]]
		}
		b.Run(name, func(b *testing.B) {
			s := traces.New(screentest.Env(false), g)
			s.SetSize(160, 43)
			var sc screen.Screen = s
			sc, _ = sc.Update(sc.Refresh(1)().(screen.Loaded))
			for _, k := range keys {
				sc, _ = sc.Update(screentest.Key(k))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				n++
				sp := &tracing.Span{TraceID: id(200_000 + n), SpanID: sid(5_000_000 + n), Service: "svc", Name: "new", Start: fake.Now, End: fake.Now.Add(time.Millisecond)}
				g.Ingest(tracing.Batch{{Kind: tracing.ObsSpan, Time: sp.Start, Span: sp}})
				sc, _ = sc.Update(sc.Refresh(uint64(i + 2))())
				_ = sc.View()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/frame")
		})
	}
}
