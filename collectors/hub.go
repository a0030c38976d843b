// Package collectors runs flowtop's sources (one sub-package each) and feeds what
// they see into the lineage graph.
//
// A [Source] follows the contract of Prometheus' discovery.Discoverer: Run blocks
// until ctx is done, sends each batch inside a select on ctx.Done(), and never
// closes out. Sources know nothing of Bubble Tea or the graph.
package collectors

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// Source is one collector.
type Source interface {
	// Name is the short name shown in the header: "cwlogs", "xray", "otlp", "dlq", "lambda".
	Name() string
	// Run collects until ctx is done. It sends on out inside a select on
	// ctx.Done(), never closes out, and returns nil when ctx ends. An error
	// return means the source gave up for good; the hub shows it as failed.
	Run(ctx context.Context, out chan<- tracing.Batch) error
	// Health reports the source's state. It is safe to call from any goroutine.
	Health() tracing.SourceHealth
}

// Sink takes ingested batches. *graph.Graph satisfies it. The hub calls it from
// one goroutine only: the sink has exactly one writer.
type Sink interface {
	Ingest(tracing.Batch)
}

// Hub starts sources, funnels their batches through one bounded channel into the
// sink, and reports every source's health.
type Hub struct {
	sink Sink
	in   chan tracing.Batch

	mu      sync.Mutex
	sources []Source
	failed  map[string]string // source name → why Run returned an error or panicked

	ingested atomic.Uint64 // observations handed to the sink
}

// NewHub returns a hub that feeds sink. buffer bounds the batches queued between
// the sources and the sink (default 1024 when <= 0).
func NewHub(sink Sink, buffer int) *Hub {
	if buffer <= 0 {
		buffer = 1024
	}
	return &Hub{sink: sink, in: make(chan tracing.Batch, buffer), failed: map[string]string{}}
}

// Add registers a source. Sources added after Run has started are not run.
func (h *Hub) Add(s Source) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sources = append(h.sources, s)
}

// Ingested is the number of observations handed to the sink so far.
func (h *Hub) Ingested() uint64 { return h.ingested.Load() }

// Run starts every source and ingests until ctx is done. A source that panics
// or returns an error is marked failed; the others keep running.
func (h *Hub) Run(ctx context.Context) {
	h.mu.Lock()
	sources := append([]Source(nil), h.sources...)
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.runSource(ctx, s)
		}()
	}
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case b := <-h.in:
			h.sink.Ingest(b)
			h.ingested.Add(uint64(len(b)))
		}
	}
}

func (h *Hub) runSource(ctx context.Context, s Source) {
	defer func() {
		if r := recover(); r != nil {
			slog.Error("collector panicked", "source", s.Name(), "panic", r, "stack", string(debug.Stack()))
			h.setFailed(s.Name(), fmt.Sprintf("%s: internal error: %v (please report this)", s.Name(), r))
		}
	}()
	if err := s.Run(ctx, h.in); err != nil && ctx.Err() == nil {
		h.setFailed(s.Name(), err.Error())
	}
}

func (h *Hub) setFailed(name, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failed[name] = why
}

// Health returns every source's health, in the order they were added.
func (h *Hub) Health() []tracing.SourceHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]tracing.SourceHealth, 0, len(h.sources))
	for _, s := range h.sources {
		hl := s.Health()
		if why, ok := h.failed[s.Name()]; ok {
			hl.State = tracing.SourceStateFailed
			hl.LastError = why
		}
		out = append(out, hl)
	}
	return out
}

// Tracker keeps a source's health. Sources embed or hold one and call OK and
// Fail as they work; Health returns a copy. It is safe for concurrent use.
type Tracker struct {
	mu    sync.Mutex
	h     tracing.SourceHealth
	now   func() time.Time
	rateT time.Time
	rateN uint64
}

// NewTracker returns a tracker for the named source. now may be nil (time.Now).
func NewTracker(name string, now func() time.Time) *Tracker {
	if now == nil {
		now = time.Now
	}
	return &Tracker{h: tracing.SourceHealth{Source: name}, now: now}
}

// SetMode records how the source is collecting ("live tail", "polling", …).
func (t *Tracker) SetMode(mode string) {
	t.mu.Lock()
	t.h.Mode = mode
	t.mu.Unlock()
}

// OK records a successful round that yielded n items, the newest of which
// happened at newest (zero if unknown, for lag).
func (t *Tracker) OK(n int, newest time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.h.State = tracing.SourceStateOK
	t.h.LastSuccess = now
	t.h.LastError = ""
	t.h.RetryIn = 0
	t.h.Items += uint64(n)
	if !newest.IsZero() {
		t.h.Lag = max(now.Sub(newest), 0)
	}
	if t.rateT.IsZero() {
		t.rateT, t.rateN = now, t.h.Items
	} else if d := now.Sub(t.rateT); d >= time.Second {
		t.h.ItemsPerSec = float64(t.h.Items-t.rateN) / d.Seconds()
		t.rateT, t.rateN = now, t.h.Items
	}
}

// Fail records an error. retryIn > 0 means the source will try again then;
// zero means it gave up.
func (t *Tracker) Fail(err error, retryIn time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.h.LastError = err.Error()
	t.h.RetryIn = retryIn
	if retryIn > 0 {
		t.h.State = tracing.SourceStateRetrying
	} else {
		t.h.State = tracing.SourceStateFailed
	}
}

// Dropped counts n items shed under pressure.
func (t *Tracker) Dropped(n int) {
	t.mu.Lock()
	t.h.Dropped += uint64(n)
	t.mu.Unlock()
}

// Unparsed counts n inputs kept as unparsed.
func (t *Tracker) Unparsed(n int) {
	t.mu.Lock()
	t.h.Unparsed += uint64(n)
	t.mu.Unlock()
}

// Stopped marks the source as stopped.
func (t *Tracker) Stopped() {
	t.mu.Lock()
	t.h.State = tracing.SourceStateStopped
	t.mu.Unlock()
}

// Health returns a copy of the current health.
func (t *Tracker) Health() tracing.SourceHealth {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.h
}
