package graph

import (
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

func TestParseBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"512MiB", 512 << 20, ""},
		{"1GiB", 1 << 30, ""},
		{" 2 g ", 2 << 30, ""},
		{"800MB", 800e6, ""},
		{"1.5GiB", 3 << 29, ""},
		{"67108864", 64 << 20, ""},
		{"1MiB", 0, "below"},
		{"lots", 0, "want a size"},
		{"12TB", 0, "want a size"},
		{"-1GiB", 0, "want a size"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			b, err := ParseBudget(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || b.Total != tc.want {
				t.Fatalf("%d, %v; want %d", b.Total, err, tc.want)
			}
		})
	}
	if b := (Budget{}); b.Bytes() != DefaultBudgetBytes || b.InFlight()+b.Queue()+b.Held() != b.Bytes() || b.String() != "512MiB" {
		t.Errorf("default budget: %d = %d + %d + %d, %s", b.Bytes(), b.InFlight(), b.Queue(), b.Held(), b)
	}
}

func TestObservationBytesGrowsWithContent(t *testing.T) {
	t.Parallel()
	small := tracing.Observation{Source: "otlp", Span: &tracing.Span{Name: "x"}}
	big := tracing.Observation{
		Source: "otlp", Span: &tracing.Span{Name: strings.Repeat("x", 10000), Attrs: map[string]string{"k": "v"}},
		Keys: []tracing.Key{{Value: strings.Repeat("k", 100)}},
	}
	if s, b := ObservationBytes(&small), ObservationBytes(&big); s <= 0 || b < s+10000+100 {
		t.Errorf("small %d, big %d", s, b)
	}
	if BatchBytes(tracing.Batch{small, big}) != ObservationBytes(&small)+ObservationBytes(&big) {
		t.Error("batch bytes are not the sum")
	}
}

// TestMaxBytesEvicts: with a byte bound far below what the events would
// take, the graph holds what fits, evicting the least recently active
// events (counted) or the oldest traces, and the newest stay findable.
func TestMaxBytesEvicts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mk   func(int, time.Time) tracing.Observation
	}{{"messages", messageObs}, {"spans", randomIDs(spanObs)}} {
		t.Run(tc.name, func(t *testing.T) {
			const bound = 2 << 20
			g := New(Config{MaxEvents: 1 << 20, MaxBytes: bound, Now: func() time.Time { return t0 }})
			for j := 0; j < 50_000; j += 500 {
				var b tracing.Batch
				for k := j; k < j+500; k++ {
					b = append(b, tc.mk(k, t0.Add(time.Duration(k)*time.Millisecond)))
				}
				g.Ingest(b)
				if held := g.heldBytes(); held > bound {
					t.Fatalf("after %d observations the graph holds %d bytes > %d", j+500, held, bound)
				}
			}
			tot := g.Totals()
			if tot.Evicted == 0 || tot.Events < 2000 || uint64(tot.Events)+tot.Evicted < 50_000 {
				t.Fatalf("held %d, evicted %d", tot.Events, tot.Evicted)
			}
			last := tc.mk(49_999, t0).Keys
			if _, err := g.Lineage(last[len(last)-1].Value); err != nil {
				t.Fatalf("the newest event is gone: %v", err)
			}
		})
	}
}

// TestHeldEstimate: the estimate that eviction by bytes works from is
// within a quarter of what a separate process measures holding the same
// events (its live heap and the chunks mapped beside it, offheap.go), and
// that process's resident set is reported.
func TestHeldEstimate(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a graph in a child process")
	}
	n := 200_000
	if raceOn {
		n = 40_000 // the child is a race-instrumented binary too
	}
	for _, kind := range []string{"messages", "spans"} {
		f := heldInChild(t, kind, n, 2<<30)
		per := float64(f.Estimate) / float64(f.Held)
		if per < 0.75*f.HeldPerEvent || per > 1.25*f.HeldPerEvent {
			t.Errorf("%s: estimate %.0f B/event, held %.0f B/event (live heap %.0f, mapped %.0f)", kind, per, f.HeldPerEvent, f.HeapPerEvent, f.OffPerEvent)
		}
		t.Logf("%s: %d held, RSS %.0f B/event, held %.0f B/event (live heap %.0f, mapped %.0f), estimate %.0f B/event", kind, f.Held, f.RSSPerEvent, f.HeldPerEvent, f.HeapPerEvent, f.OffPerEvent, per)
	}
}
