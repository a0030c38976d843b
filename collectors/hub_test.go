package collectors

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// gatedSink ingests only while its gate is open, so a test can hold the queue full.
type gatedSink struct {
	gate chan struct{}
	mu   sync.Mutex
	n    int
}

func (s *gatedSink) Ingest(b tracing.Batch) {
	<-s.gate
	s.mu.Lock()
	s.n += len(b)
	s.mu.Unlock()
}

func (s *gatedSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// floodSource offers batches without waiting, as the OTLP receiver does, and
// counts what it could not hand over.
type floodSource struct {
	batches int
	size    int
	body    string
	mu      sync.Mutex
	sent    int
	shed    int
	done    chan struct{}
}

func (f *floodSource) Name() string                 { return "flood" }
func (f *floodSource) Health() tracing.SourceHealth { return tracing.SourceHealth{Source: "flood"} }
func (f *floodSource) Run(ctx context.Context, out chan<- tracing.Batch) error {
	for i := 0; i < f.batches; i++ {
		b := make(tracing.Batch, f.size)
		for j := range b {
			b[j] = tracing.Observation{Kind: tracing.ObsLog, Source: "flood", Log: &tracing.LogRecord{Message: f.body}}
		}
		// Give the forwarder a moment to be ready, as a real request would.
		select {
		case out <- b:
			f.mu.Lock()
			f.sent += len(b)
			f.mu.Unlock()
		case <-time.After(time.Millisecond):
			f.mu.Lock()
			f.shed += len(b)
			f.mu.Unlock()
		case <-ctx.Done():
			return nil
		}
	}
	close(f.done)
	<-ctx.Done()
	return nil
}

func TestHubQueueBoundedInObservationsAndBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		limits QueueLimits
		size   int
		body   string
		maxObs int
	}{
		{"observations", QueueLimits{Observations: 100, Bytes: 1 << 30}, 10, "x", 100},
		{"bytes", QueueLimits{Observations: 1 << 20, Bytes: 64 << 10}, 10, strings.Repeat("x", 1000), 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := &gatedSink{gate: make(chan struct{})}
			h := NewHub(sink, 0)
			h.SetLimits(tc.limits)
			src := &floodSource{batches: 200, size: tc.size, body: tc.body, done: make(chan struct{})}
			h.Add(src)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go h.Run(ctx)
			<-src.done
			obs, bytes := h.Queued()
			if obs > tc.maxObs+tc.size || bytes > tc.limits.Bytes+int64(tc.size)*2000 {
				t.Fatalf("queue holds %d observations, %d bytes: over its bounds %+v", obs, bytes, tc.limits)
			}
			src.mu.Lock()
			sent, shed := src.sent, src.shed
			src.mu.Unlock()
			if shed == 0 || sent+shed != 200*tc.size {
				t.Fatalf("sent %d, shed %d of %d", sent, shed, 200*tc.size)
			}
			close(sink.gate)
			deadline := time.Now().Add(10 * time.Second)
			for sink.count() < sent && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if got := sink.count(); got != sent {
				t.Fatalf("sink got %d of %d sent", got, sent)
			}
			if obs, bytes := h.Queued(); obs != 0 || bytes != 0 {
				t.Fatalf("queue not empty after drain: %d, %d", obs, bytes)
			}
		})
	}
}

// blockingSource sends with a plain blocking select, as pollers do: it must
// be slowed down, never dropped.
type blockingSource struct {
	n, size int
	sent    chan struct{} // if set, told of each batch handed over
}

func (b blockingSource) Name() string                 { return "poller" }
func (b blockingSource) Health() tracing.SourceHealth { return tracing.SourceHealth{Source: "poller"} }

func (b blockingSource) Run(ctx context.Context, out chan<- tracing.Batch) error {
	for i := 0; i < b.n; i++ {
		select {
		case out <- make(tracing.Batch, b.size):
			if b.sent != nil {
				b.sent <- struct{}{}
			}
		case <-ctx.Done():
			return nil
		}
	}
	<-ctx.Done()
	return nil
}

func TestHubBackpressureLosesNothing(t *testing.T) {
	t.Parallel()
	sink := &gatedSink{gate: make(chan struct{})}
	close(sink.gate)
	h := NewHub(sink, 2)
	h.SetLimits(QueueLimits{Batches: 2, Observations: 5})
	h.Add(blockingSource{n: 500, size: 3})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for sink.count() < 1500 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if sink.count() != 1500 || h.Ingested() != 1500 || h.Dropped() != 0 {
		t.Fatalf("sink %d, ingested %d, dropped %d; want 1500, 1500, 0", sink.count(), h.Ingested(), h.Dropped())
	}
}

func TestTrackerRejectionRate(t *testing.T) {
	t.Parallel()
	tr := NewTracker("otlp", nil)
	tr.Accepted(10, time.Time{})
	for i := 0; i < 201; i++ {
		tr.Rejected("otlp: cannot decode ExportTraceServiceRequest")
	}
	h := tr.Health()
	if h.State != tracing.SourceStateDegraded || h.Rejected != 201 || !strings.Contains(h.LastError, "64 of the last 64 requests rejected") {
		t.Fatalf("after 201 rejections: %v %d %q", h.State, h.Rejected, h.LastError)
	}
	// A success does not hide a majority of rejections…
	tr.Accepted(1, time.Time{})
	if h := tr.Health(); h.State != tracing.SourceStateDegraded {
		t.Fatalf("one success cleared a 63/64 rejection rate: %v", h.State)
	}
	// …but a run of them does.
	for i := 0; i < 40; i++ {
		tr.Accepted(1, time.Time{})
	}
	if h := tr.Health(); h.State != tracing.SourceStateOK || h.LastError != "" || h.Accepted != 51 {
		t.Fatalf("after recovery: %v %q accepted %d", h.State, h.LastError, h.Accepted)
	}
	// A few rejections among many successes are counted but do not degrade.
	for i := 0; i < 5; i++ {
		tr.Rejected("bad")
	}
	if h := tr.Health(); h.State != tracing.SourceStateOK || h.Rejected != 206 {
		t.Fatalf("5 rejections in 64: %v, rejected %d", h.State, h.Rejected)
	}
	tr.Degrade(errors.New("otlp: grpc listener refused"))
	tr.Accepted(1, time.Time{})
	if h := tr.Health(); h.State != tracing.SourceStateDegraded || !strings.Contains(h.LastError, "grpc listener") {
		t.Fatalf("degraded for good: %v %q", h.State, h.LastError)
	}
}

// TestHubCountsWhatItDropsAtStop: a batch still waiting for room when the hub
// stops is counted, in the hub and in its source's health.
func TestHubCountsWhatItDropsAtStop(t *testing.T) {
	t.Parallel()
	sink := &gatedSink{gate: make(chan struct{})}
	h := NewHub(sink, 1)
	h.SetLimits(QueueLimits{Batches: 1, Observations: 3})
	sent := make(chan struct{}, 5)
	h.Add(blockingSource{n: 5, size: 3, sent: sent})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	// One batch in the sink, one queued, and the third held by the forwarder,
	// waiting for room.
	for i := 0; i < 3; i++ {
		<-sent
	}
	deadline := time.Now().Add(10 * time.Second)
	for obs, _ := h.Queued(); obs < 3 && time.Now().Before(deadline); obs, _ = h.Queued() {
		time.Sleep(time.Millisecond)
	}
	cancel()
	for h.Dropped() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(sink.gate)
	<-done
	if h.Dropped() != 3 || h.Health()[0].Dropped != 3 {
		t.Fatalf("dropped %d, source health %d; want 3", h.Dropped(), h.Health()[0].Dropped)
	}
}
