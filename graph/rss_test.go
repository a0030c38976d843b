package graph

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// What one held event costs the whole process, as a user's `ps` shows it:
// a child process (this test binary run again) fills a graph the way
// flowtop does, with the memory limit flowtop sets, and reports its resident
// set before and after, and the live heap. RSS is read from /proc, so the
// figures exist on Linux only.

// rssChild is the environment variable that makes this binary the child.
const rssChild = "FLOWTOP_RSS_CHILD"

// heldFigures is what the child reports.
type heldFigures struct {
	Held          int     `json:"held"`
	Evicted       uint64  `json:"evicted"`
	RSSPerEvent   float64 `json:"rss_per_event"`
	HeapPerEvent  float64 `json:"heap_per_event"`    // the live Go heap
	OffPerEvent   float64 `json:"offheap_per_event"` // chunks mapped beside it (offheap.go)
	HeldPerEvent  float64 `json:"held_per_event"`    // the two: what the graph holds
	TotalPerEvent float64 `json:"runtime_total_per_event"`
	Estimate      int64   `json:"estimate"`
	PeakRSS       int64   `json:"peak_rss"`
}

// vmRSS reads the resident set (VmRSS) or its peak (VmHWM) in bytes.
func vmRSS(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n << 10
		}
	}
	return 0
}

func runtimeBytes(name string) int64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// TestHeldChild is the child's body; it does nothing in a normal run.
func TestHeldChild(t *testing.T) {
	kind := os.Getenv(rssChild)
	if kind == "" {
		t.Skip("run by the held-memory benchmarks")
	}
	n, _ := strconv.Atoi(os.Getenv(rssChild + "_N"))
	budget, _ := strconv.ParseInt(os.Getenv(rssChild+"_BUDGET"), 10, 64)
	mk := randomIDs(messageObs)
	if kind == "spans" {
		mk = randomIDs(spanObs)
	}
	debug.SetMemoryLimit(Budget{Total: budget}.Bytes()) // as cmd/flowtop does
	runtime.GC()
	off0 := offHeapBytes()
	rss0, heap0, total0 := vmRSS("VmRSS"), runtimeBytes("/memory/classes/heap/objects:bytes"), runtimeBytes("/memory/classes/total:bytes")-runtimeBytes("/memory/classes/heap/released:bytes")
	g := New(Config{MaxEvents: n, MaxBytes: Budget{Total: budget}.Held()})
	batch := make(tracing.Batch, 0, 1000)
	for j := 0; j < n; j++ {
		batch = append(batch, mk(j, t0.Add(time.Duration(j)*time.Microsecond)))
		if len(batch) == cap(batch) {
			g.Ingest(batch)
			batch = batch[:0]
		}
	}
	g.Ingest(batch)
	// What a user sees a moment later: the runtime has collected once.
	runtime.GC()
	held := g.Totals().Events
	off := offHeapBytes()
	rss, heap, total := vmRSS("VmRSS"), runtimeBytes("/memory/classes/heap/objects:bytes"), runtimeBytes("/memory/classes/total:bytes")-runtimeBytes("/memory/classes/heap/released:bytes")
	g.mu.RLock()
	est := g.heldBytes()
	g.mu.RUnlock()
	f := heldFigures{
		Held: held, Evicted: g.Totals().Evicted,
		RSSPerEvent:   float64(rss-rss0) / float64(held),
		HeapPerEvent:  float64(heap-heap0) / float64(held),
		OffPerEvent:   float64(off-off0) / float64(held),
		HeldPerEvent:  float64(heap-heap0+off-off0) / float64(held),
		TotalPerEvent: float64(total-total0) / float64(held),
		Estimate:      est, PeakRSS: vmRSS("VmHWM"),
	}
	out, _ := json.Marshal(f)
	os.Stdout.Write(append([]byte("HELD "), append(out, '\n')...))
	runtime.KeepAlive(g)
}

// heldInChild runs the child and returns its figures.
func heldInChild(tb testing.TB, kind string, n int, budget int64) heldFigures {
	tb.Helper()
	if runtime.GOOS != "linux" {
		tb.Skip("RSS is read from /proc")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHeldChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), rssChild+"="+kind, rssChild+"_N="+strconv.Itoa(n), rssChild+"_BUDGET="+strconv.FormatInt(budget, 10))
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("child: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "HELD "); ok {
			var f heldFigures
			if err := json.Unmarshal([]byte(v), &f); err != nil {
				tb.Fatal(err)
			}
			return f
		}
	}
	tb.Fatalf("child said nothing:\n%s", out)
	return heldFigures{}
}

// BenchmarkHeldRSS1M holds 1M events in a process of its own, with a
// budget large enough to keep them all (as `--max-events 1000000 --memory
// 2GiB` would), and reports what one costs the whole process (RSS) and the
// live heap: message events, and events made by consumer spans (each with
// its trace and span held too). held-B/event is the live heap plus the
// chunks the graph maps beside it (offheap.go); runtime-B/event is what the
// Go runtime holds (not the mapped chunks).
func BenchmarkHeldRSS1M(b *testing.B) {
	for _, kind := range []string{"messages", "spans"} {
		b.Run(kind, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				f := heldInChild(b, kind, 1_000_000, 2<<30)
				b.ReportMetric(f.RSSPerEvent, "rss-B/event")
				b.ReportMetric(f.HeapPerEvent, "heap-B/event")
				b.ReportMetric(f.OffPerEvent, "offheap-B/event")
				b.ReportMetric(f.HeldPerEvent, "held-B/event")
				b.ReportMetric(f.TotalPerEvent, "runtime-B/event")
				b.ReportMetric(float64(f.Estimate)/float64(f.Held), "estimate-B/event")
				b.ReportMetric(float64(f.PeakRSS)/(1<<20), "peak-rss-MiB")
			}
		})
	}
}
