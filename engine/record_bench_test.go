package engine

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/engine/recording"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// The recorder's benchmarks over the whole ingest path: a source feeding the
// hub, the hub handing batches to the engine's sink (recorder, then graph).

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchObs is observation i of a sandbox-shaped stream: per invocation a
// START, two JSON app lines, an X-Ray span and an END/REPORT, every ID new.
func benchObs(i int) tracing.Observation {
	at := time.Unix(1_796_000_000, 0).Add(time.Duration(i) * 20 * time.Microsecond)
	n := i / 5
	fn := [...]string{"charge-card", "reserve-stock", "send-email", "record-analytics"}[n%4]
	req := fmt.Sprintf("%08x-cdc5-4441-a9e7-%012x", n, n*7)
	msg := fmt.Sprintf("%08x-0e73-44a9-8722-%012x", n, n*3)
	var tid tracing.TraceID
	tid[0], tid[1], tid[2], tid[15] = byte(n>>16), byte(n>>8), byte(n), 1
	comp := tracing.Component{Kind: tracing.ComponentFunction, Name: fn}
	stream := "2026/12/03/[$LATEST]a43b6ffb8bb5c43028d156fed7a1d2fd"
	o := tracing.Observation{Source: "cwlogs", Time: at, Component: comp, Keys: []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}}}
	logLine := func(kind tracing.LogKind, level, text string) *tracing.LogRecord {
		return &tracing.LogRecord{
			Time: at, Group: "/aws/lambda/" + fn, Stream: stream, EventID: fmt.Sprintf("%s/%d/%s", stream, at.UnixMilli(), text),
			Kind: kind, Level: level, RequestID: req, TraceID: tid, Message: text,
		}
	}
	switch i % 5 {
	case 0:
		o.Kind = tracing.ObsLog
		o.Log = logLine(tracing.LogStart, "", `{"record":{"requestId":"`+req+`","version":"$LATEST"},"time":"2026-12-03T13:59:14.598Z","type":"platform.start"}`)
	case 1, 2:
		o.Kind = tracing.ObsLog
		o.Keys = append(o.Keys, tracing.Key{Kind: tracing.KeyMessageID, Value: msg})
		o.Relations = []tracing.Relation{{From: tracing.Key{Kind: tracing.KeyRequestID, Value: req}, To: tracing.Key{Kind: tracing.KeyMessageID, Value: msg}, Kind: tracing.RelConsumed, Evidence: "app log messageId"}}
		o.Log = logLine(tracing.LogApp, "INFO", `{"cold_start":false,"correlation_id":"o-`+fmt.Sprint(n)+`","function_name":"`+fn+`","function_request_id":"`+req+`","level":"INFO","message":"processing order","messageId":"`+msg+`","service":"`+fn+`","timestamp":"2026-12-03T13:59:14.598Z"}`)
	case 3:
		o.Kind, o.Source = tracing.ObsSpan, "xray"
		o.Keys = []tracing.Key{{Kind: tracing.KeyTraceID, Value: tid.String()}, {Kind: tracing.KeyRequestID, Value: req}}
		o.Span = &tracing.Span{
			TraceID: tid, SpanID: tracing.SpanID{byte(n >> 8), byte(n), 3}, Name: fn, Service: fn, Kind: tracing.SpanKindServer,
			Start: at.Add(-100 * time.Millisecond), End: at, Status: tracing.StatusOK, InvocationID: req,
			Attrs: map[string]string{"aws.function_arn": "arn:aws:lambda:us-east-1:000000000000:function:" + fn, "aws.request_id": req},
		}
	case 4:
		o.Kind = tracing.ObsInvocation
		o.Log = logLine(tracing.LogReport, "", `{"record":{"requestId":"`+req+`","metrics":{"durationMs":102.4,"billedDurationMs":103,"memorySizeMB":128,"maxMemoryUsedMB":71},"status":"success"},"time":"2026-12-03T13:59:14.700Z","type":"platform.report"}`)
		o.Invocation = &tracing.Invocation{Function: fn, RequestID: req, Duration: 102400 * time.Microsecond, BilledDuration: 103 * time.Millisecond, MemorySizeMB: 128, MaxMemoryUsedMB: 71, Status: tracing.InvocationSuccess}
	}
	return o
}

// streamObs is the benchmark's stream: a real recording's observations
// when FLOWTOP_BENCH_RECORDING names one (cycled to n), else benchObs.
func streamObs(b *testing.B, n int) ([]tracing.Observation, string) {
	obs := make([]tracing.Observation, n)
	if path := os.Getenv("FLOWTOP_BENCH_RECORDING"); path != "" {
		r, err := recording.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		var real []tracing.Observation
		r.Each(func(_ int, recs []recording.Record) bool {
			for _, x := range recs {
				real = append(real, x.Obs)
			}
			return true
		})
		for i := range obs {
			obs[i] = real[i%len(real)]
		}
		return obs, fmt.Sprintf("%s (%d observations, cycled)", path, len(real))
	}
	for i := range obs {
		obs[i] = benchObs(i)
	}
	return obs, "synthetic sandbox-shaped stream"
}

// pacedSource sends its observations at rate per second in 10 ms batches.
type pacedSource struct {
	obs  []tracing.Observation
	rate int
	flat bool // no pacing: the batches back to back, as fast as ingest takes them
	done chan struct{}
}

func (s *pacedSource) Name() string                 { return "bench" }
func (s *pacedSource) Health() tracing.SourceHealth { return tracing.SourceHealth{Source: "bench"} }
func (s *pacedSource) Run(ctx context.Context, out chan<- tracing.Batch) error {
	per := s.rate / 100
	start := time.Now()
	for i := 0; i+per <= len(s.obs); i += per {
		select {
		case out <- tracing.Batch(s.obs[i : i+per]):
		case <-ctx.Done():
			return nil
		}
		if !s.flat {
			time.Sleep(time.Until(start.Add(time.Duration(i/per+1) * 10 * time.Millisecond)))
		}
	}
	close(s.done)
	<-ctx.Done()
	return nil
}

// pacedThroughHub runs obs through a hub into an engine's sink at rate/s,
// recording to path when it is not empty, and returns the process's CPU per
// second of wall time (cores), the recorder's goroutine included.
func pacedThroughHub(b *testing.B, obs []tracing.Observation, rate int, path string) (float64, recording.Stats) {
	return throughHub(b, obs, rate, false, true, path)
}

// recordOnlySink stands in for the engine's sink when the graph is left out: it
// records, as graphSink does, and counts what arrived.
type recordOnlySink struct {
	e *Engine
	n atomic.Uint64
}

func (s *recordOnlySink) Ingest(b tracing.Batch) {
	if w := s.e.rec.writer(); w != nil {
		w.Add(b)
	}
	s.n.Add(uint64(len(b)))
}

// throughHub is pacedThroughHub, or with flat the same batches unpaced, and
// without ingest (toGraph false) the hub feeding only the recorder (or, with
// no path either, nothing); it returns the process's CPU per wall second
// (paced) or per observation in ns (flat).
func throughHub(b *testing.B, obs []tracing.Observation, rate int, flat, toGraph bool, path string) (float64, recording.Stats) {
	e := &Engine{graph: graph.New(graph.Config{MaxEvents: len(obs)}), log: slog.New(slog.DiscardHandler)}
	if path != "" {
		opts := recording.Options{Flowtop: "bench", Codec: os.Getenv("FLOWTOP_BENCH_CODEC")}
		if flat {
			opts.Queue = 1 << 12 // unpaced, the hub outruns the disk goroutine now and then
		}
		w, err := recording.Create(path, opts)
		if err != nil {
			b.Fatal(err)
		}
		e.rec.w = w
	}
	var sink collectors.Sink = graphSink{e}
	counted := &recordOnlySink{e: e}
	arrived := func() uint64 { return e.graph.Totals().Observations }
	if !toGraph {
		sink, arrived = counted, counted.n.Load
	}
	hub := collectors.NewHub(sink, 4096)
	src := &pacedSource{obs: obs, rate: rate, flat: flat, done: make(chan struct{})}
	hub.Add(src)
	ctx, cancel := context.WithCancel(context.Background())
	runtime.GC() // the last run's garbage is not this one's cost
	start, cpu0 := time.Now(), processCPU()
	ran := make(chan struct{})
	go func() { hub.Run(ctx); close(ran) }()
	<-src.done
	// The last batches may still be in the hub's queue: wait for them
	// (bounded), so both runs ingest the same.
	want := uint64(len(obs) / (rate / 100) * (rate / 100))
	for deadline := time.Now().Add(time.Minute); arrived() < want && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-ran
	var st recording.Stats
	if w := e.rec.writer(); w != nil {
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		st = w.Stats()
		if st.Dropped > 0 {
			b.Fatalf("recorder dropped %d", st.Dropped)
		}
	}
	cpu := processCPU() - cpu0
	cores := float64(cpu) / float64(time.Since(start))
	if got := arrived(); got != want {
		b.Fatalf("%d of %d observations arrived", got, len(obs))
	}
	if flat {
		return float64(cpu.Nanoseconds()) / float64(len(obs)), st
	}
	return cores, st
}

// benchMedian returns the middle of xs (sorted in place).
func benchMedian(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// BenchmarkRecordOverheadHub is the recorder's CPU cost at 50,000
// observations/s over the whole ingest path (hub → sink → graph): the same
// two seconds of stream without and with recording, interleaved three times
// (the order alternating), and the extra the recording costs in percent of
// ingest's CPU: the median of the three pairs, and the lowest and highest
// (on a shared machine one pair swings by tens of percent). Set
// FLOWTOP_BENCH_RECORDING to a recording to replay a real stream (make one
// with `flowtop sandbox --rate 150` and `flowtop tail x --json --timeout
// 25s --record FILE` against it); FLOWTOP_BENCH_CODEC picks the codec.
func BenchmarkRecordOverheadHub(b *testing.B) {
	const rate, secs, pairs = 50_000, 2, 3
	obs, what := streamObs(b, rate*secs)
	b.Logf("stream: %s", what)
	for range b.N {
		var extra, withouts, withs []float64
		var st recording.Stats
		for i := range pairs {
			var without, with float64
			if i%2 == 0 {
				without, _ = pacedThroughHub(b, obs, rate, "")
				with, st = pacedThroughHub(b, obs, rate, filepath.Join(b.TempDir(), "r.ftr"))
			} else {
				with, st = pacedThroughHub(b, obs, rate, filepath.Join(b.TempDir(), "r.ftr"))
				without, _ = pacedThroughHub(b, obs, rate, "")
			}
			withouts, withs = append(withouts, without), append(withs, with)
			extra = append(extra, 100*(with-without)/without)
		}
		b.ReportMetric(benchMedian(withouts), "cores-ingest")
		b.ReportMetric(benchMedian(withs), "cores-ingest+record")
		b.ReportMetric(benchMedian(extra), "extra-%")
		b.ReportMetric(extra[0], "extra-%-min")
		b.ReportMetric(extra[len(extra)-1], "extra-%-max")
		b.ReportMetric(float64(st.Bytes)/float64(len(obs)), "file-bytes/obs")
	}
}

// BenchmarkRecordCPUHub is BenchmarkRecordOverheadHub without the pacing:
// the same 10 ms batches of a 50,000/s stream, back to back, through the hub
// to the graph, without and with recording, interleaved three times. It
// reports the process CPU per observation of each (the recorder's goroutine
// included) and the median of the three ratios. On a shared machine the
// paced figure (about 0.1 core measured) drowns in noise; this one measures
// a few seconds of CPU per run.
//
// It also takes the recorder apart from the graph: the hub feeding the
// recorder alone (record-only) and feeding nothing (hub-only), so that
// record-only − hub-only is the recorder's own CPU per observation and its
// ratio to graph-only − hub-only is the recorder's cost in percent of
// ingest's, measured on parts rather than as a small difference of two
// large totals. Reading the stream's cold observations is charged to the
// recorder there (in the pipeline the graph reads them too), so this
// figure errs high.
func BenchmarkRecordCPUHub(b *testing.B) {
	const rate, rounds = 50_000, 3
	obs, what := streamObs(b, 100_000)
	b.Logf("stream: %s", what)
	for range b.N {
		var ratios, parts, hubs, graphs, recs, withouts, withs []float64
		var st recording.Stats
		for range rounds {
			without, _ := throughHub(b, obs, rate, true, true, "")
			with, s := throughHub(b, obs, rate, true, true, filepath.Join(b.TempDir(), "r.ftr"))
			hub, _ := throughHub(b, obs, rate, true, false, "")
			rec, _ := throughHub(b, obs, rate, true, false, filepath.Join(b.TempDir(), "r.ftr"))
			st = s
			ratios = append(ratios, 100*(with-without)/without)
			parts = append(parts, 100*(rec-hub)/(without-hub))
			hubs, graphs, recs = append(hubs, hub), append(graphs, without-hub), append(recs, rec-hub)
			withouts, withs = append(withouts, without), append(withs, with)
		}
		b.ReportMetric(benchMedian(withouts), "cpu-ns/obs-ingest")
		b.ReportMetric(benchMedian(withs), "cpu-ns/obs-ingest+record")
		b.ReportMetric(benchMedian(ratios), "extra-%-median")
		b.ReportMetric(benchMedian(hubs), "cpu-ns/obs-hub-only")
		b.ReportMetric(benchMedian(graphs), "cpu-ns/obs-graph")
		b.ReportMetric(benchMedian(recs), "cpu-ns/obs-recorder")
		b.ReportMetric(benchMedian(parts), "recorder-%-of-ingest")
		b.ReportMetric(float64(st.Bytes)/float64(len(obs)), "file-bytes/obs")
	}
}

// BenchmarkOpen1M writes a recording of 1,000,000 observations (not timed),
// then opens it as `flowtop open` and `--from-file` do: read and index the
// file, decode every frame and ingest every record into the player's graph.
func BenchmarkOpen1M(b *testing.B) {
	const n = 1_000_000
	path := filepath.Join(b.TempDir(), "1m.ftr")
	w, err := recording.Create(path, recording.Options{Queue: 1 << 14})
	if err != nil {
		b.Fatal(err)
	}
	batch := make(tracing.Batch, 1000)
	for i := 0; i < n; i += len(batch) {
		for j := range batch {
			batch[j] = benchObs(i + j)
		}
		w.Add(batch)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	size := w.Stats().Bytes
	b.ResetTimer()
	for range b.N {
		start, cpu0 := time.Now(), processCPU()
		p, err := OpenRecording(path, graph.Config{})
		if err != nil {
			b.Fatal(err)
		}
		opened := time.Since(start)
		if err := p.LoadAll(context.Background()); err != nil {
			b.Fatal(err)
		}
		if got := p.Graph().Totals().Observations; got != uint64(n) {
			b.Fatalf("graph ingested %d observations, want %d", got, n)
		}
		b.ReportMetric(float64(opened.Milliseconds()), "index-ms")
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "open+ingest-ms")
		b.ReportMetric(float64((processCPU() - cpu0).Milliseconds()), "cpu-ms")
		b.ReportMetric(float64(size)/1e6, "file-MB")
	}
}
