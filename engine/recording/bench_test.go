package recording

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// paced ingests obs into a fresh graph at rate observations/s in 10 ms
// batches, recording them when w is set, and returns the process's CPU time
// per second of wall time (the writer's goroutine included).
func paced(b *testing.B, obs []tracing.Observation, rate int, w *Writer) float64 {
	g := graph.New(graph.Config{MaxEvents: len(obs)})
	per := rate / 100
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i+per <= len(obs); i += per {
		batch := tracing.Batch(obs[i : i+per])
		if w != nil {
			w.Add(batch)
		}
		g.Ingest(batch)
		next := start.Add(time.Duration(i/per+1) * 10 * time.Millisecond)
		time.Sleep(time.Until(next))
	}
	if w != nil {
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if st := w.Stats(); st.Dropped > 0 {
			b.Fatalf("dropped %d", st.Dropped)
		}
	}
	return float64(cpuTime()-cpu0) / float64(time.Since(start))
}

// BenchmarkRecordOverhead ingests 50,000 observations/s for two seconds
// without and with the recorder and reports the CPU each takes (cores) and
// the extra the recorder costs, in percent of ingest's.
func BenchmarkRecordOverhead(b *testing.B) {
	const rate, secs = 50_000, 2
	obs := make([]tracing.Observation, rate*secs)
	for i := range obs {
		obs[i] = sample(i)
	}
	for range b.N {
		without := paced(b, obs, rate, nil)
		w, err := Create(filepath.Join(b.TempDir(), "r.ftr"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		with := paced(b, obs, rate, w)
		st := w.Stats()
		b.ReportMetric(without, "cores-ingest")
		b.ReportMetric(with, "cores-ingest+record")
		b.ReportMetric(100*(with-without)/without, "extra-%")
		b.ReportMetric(float64(st.Bytes)/float64(len(obs)), "file-bytes/obs")
	}
}

// BenchmarkRecordAdd is the recorder's own CPU per observation: encoding in
// Add and compressing and writing in its goroutine, measured as process CPU.
// The stream is the sandbox-shaped one of the engine's benchmarks, 100,000
// observations built up front, so the encoder reads them cold as it does
// behind the hub.
func BenchmarkRecordAdd(b *testing.B) {
	obs := sandboxStream(100_000)
	b.ResetTimer()
	cpu0 := cpuTime()
	n := 0
	for range b.N {
		w, err := Create(filepath.Join(b.TempDir(), "r.ftr"), Options{Queue: 1 << 12})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(obs); i += 500 {
			w.Add(obs[i : i+500])
		}
		_ = w.Close()
		n += len(obs)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/obs")
}

// BenchmarkOpen1M writes a recording of 1,000,000 observations (not timed),
// then opens it: reading and indexing the file (what `flowtop open` waits
// for before it shows the first frame), and decoding every record.
func BenchmarkOpen1M(b *testing.B) {
	path := filepath.Join(b.TempDir(), "1m.ftr")
	w, err := Create(path, Options{Queue: 1 << 14})
	if err != nil {
		b.Fatal(err)
	}
	batch := make(tracing.Batch, 1000)
	for i := 0; i < 1_000_000; i += len(batch) {
		for j := range batch {
			batch[j] = sample(i + j)
		}
		w.Add(batch)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	st := w.Stats()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		r, err := Open(path)
		if err != nil || r.Count != 1_000_000 {
			b.Fatalf("%v, %d records", err, r.Count)
		}
		opened := time.Since(start)
		n := 0
		r.Each(func(_ int, recs []Record) bool { n += len(recs); return true })
		if n != 1_000_000 {
			b.Fatalf("decoded %d", n)
		}
		b.ReportMetric(float64(opened.Milliseconds()), "open-ms")
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "open+decode-ms")
		b.ReportMetric(float64(st.Bytes)/1e6, "file-MB")
	}
}

// BenchmarkRecordOverheadReal is BenchmarkRecordOverhead over a real
// stream: the observations of a recording named by FLOWTOP_BENCH_RECORDING
// (make one with `flowtop sandbox --rate 150` and `flowtop tail x --json
// --timeout 25s --record FILE` against it), cycled to two seconds' worth.
// Cycling repeats IDs, which the graph merges: both runs see the same.
func BenchmarkRecordOverheadReal(b *testing.B) {
	path := os.Getenv("FLOWTOP_BENCH_RECORDING")
	if path == "" {
		b.Skip("FLOWTOP_BENCH_RECORDING names no recording")
	}
	r, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	var real []tracing.Observation
	r.Each(func(_ int, recs []Record) bool {
		for _, x := range recs {
			real = append(real, x.Obs)
		}
		return true
	})
	const rate, secs = 50_000, 2
	obs := make([]tracing.Observation, rate*secs)
	for i := range obs {
		obs[i] = real[i%len(real)]
	}
	b.Logf("%d real observations, cycled to %d", len(real), len(obs))
	for range b.N {
		without := paced(b, obs, rate, nil)
		w, err := Create(filepath.Join(b.TempDir(), "r.ftr"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		with := paced(b, obs, rate, w)
		st := w.Stats()
		b.ReportMetric(without, "cores-ingest")
		b.ReportMetric(with, "cores-ingest+record")
		b.ReportMetric(100*(with-without)/without, "extra-%")
		b.ReportMetric(float64(st.Bytes)/float64(len(obs)), "file-bytes/obs")
	}
}
