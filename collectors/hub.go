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
	"math/bits"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowtop/flowtop/graph"
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

// Hub starts sources, funnels their batches through one bounded queue into the
// sink, and reports every source's health.
//
// The queue is bounded three ways: in batches, in observations and in bytes
// (estimated by [graph.ObservationBytes]). Each source sends on its own
// unbuffered channel; a forwarder moves each batch into the queue and waits
// while the queue is full, so a polling source is slowed down rather than
// dropped, and a source that offers without waiting (the OTLP receiver) finds
// the channel busy and sheds with a retryable answer. A batch larger than the
// whole bound is admitted alone into an empty queue, so it cannot block
// forever.
type Hub struct {
	sink   Sink
	limits QueueLimits

	mu      sync.Mutex
	sources []Source
	failed  map[string]string // source name → why Run returned an error or panicked
	lost    map[string]uint64 // source name → observations dropped while waiting for room

	qmu    sync.Mutex
	q      []queued
	qHead  int
	qObs   int
	qBytes int64
	wake   chan struct{} // one token: the queue has something
	space  chan struct{} // closed and replaced when the queue shrinks

	ingested atomic.Uint64 // observations handed to the sink
	dropped  atomic.Uint64 // observations a forwarder held when ctx ended
}

type queued struct {
	b     tracing.Batch
	bytes int64
}

// QueueLimits bound the queue between the sources and the sink. A zero field
// takes its default.
type QueueLimits struct {
	Batches      int   // default 1024
	Observations int   // default 65,536
	Bytes        int64 // default graph.Budget{}.Queue() (64 MiB)
}

func (l QueueLimits) withDefaults() QueueLimits {
	if l.Batches <= 0 {
		l.Batches = 1024
	}
	if l.Observations <= 0 {
		l.Observations = 1 << 16
	}
	if l.Bytes <= 0 {
		l.Bytes = graph.Budget{}.Queue()
	}
	return l
}

// NewHub returns a hub that feeds sink. buffer bounds the batches queued between
// the sources and the sink (default 1024 when <= 0); observations and bytes
// take their defaults until [Hub.SetLimits].
func NewHub(sink Sink, buffer int) *Hub {
	return &Hub{
		sink: sink, limits: QueueLimits{Batches: buffer}.withDefaults(), failed: map[string]string{}, lost: map[string]uint64{},
		wake: make(chan struct{}, 1), space: make(chan struct{}),
	}
}

// SetLimits replaces the queue's bounds; call it before Run. A memory budget
// b gives QueueLimits{Bytes: b.Queue()}.
func (h *Hub) SetLimits(l QueueLimits) {
	h.qmu.Lock()
	h.limits = l.withDefaults()
	h.qmu.Unlock()
}

// Add registers a source. Sources added after Run has started are not run.
func (h *Hub) Add(s Source) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sources = append(h.sources, s)
}

// Ingested is the number of observations handed to the sink so far.
func (h *Hub) Ingested() uint64 { return h.ingested.Load() }

// Dropped is the number of accepted observations that never reached the sink
// because the hub stopped while they waited for room.
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }

// Queued is what waits for the sink now: observations and estimated bytes.
func (h *Hub) Queued() (observations int, bytes int64) {
	h.qmu.Lock()
	defer h.qmu.Unlock()
	return h.qObs, h.qBytes
}

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
		b, ok := h.pop()
		if ok {
			h.sink.Ingest(b)
			h.ingested.Add(uint64(len(b)))
			continue
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-h.wake:
		}
	}
}

// admit puts b in the queue, waiting for room while the queue is full. It
// reports false (and counts b as dropped) if ctx ends first.
func (h *Hub) admit(ctx context.Context, source string, b tracing.Batch) bool {
	if len(b) == 0 {
		return true
	}
	size := graph.BatchBytes(b)
	for {
		h.qmu.Lock()
		l := h.limits
		n := len(h.q) - h.qHead
		if n == 0 || (n < l.Batches && h.qObs+len(b) <= l.Observations && h.qBytes+size <= l.Bytes) {
			h.q = append(h.q, queued{b: b, bytes: size})
			h.qObs += len(b)
			h.qBytes += size
			h.qmu.Unlock()
			select {
			case h.wake <- struct{}{}:
			default:
			}
			return true
		}
		space := h.space
		h.qmu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			h.dropped.Add(uint64(len(b)))
			h.mu.Lock()
			h.lost[source] += uint64(len(b))
			h.mu.Unlock()
			return false
		}
	}
}

func (h *Hub) pop() (tracing.Batch, bool) {
	h.qmu.Lock()
	defer h.qmu.Unlock()
	if h.qHead == len(h.q) {
		return nil, false
	}
	e := h.q[h.qHead]
	h.q[h.qHead] = queued{}
	h.qHead++
	if h.qHead == len(h.q) {
		h.q, h.qHead = h.q[:0], 0
	} else if h.qHead > 64 && h.qHead*2 > len(h.q) {
		h.q = h.q[:copy(h.q, h.q[h.qHead:])]
		h.qHead = 0
	}
	h.qObs -= len(e.b)
	h.qBytes -= e.bytes
	close(h.space)
	h.space = make(chan struct{})
	return e.b, true
}

// runSource runs s with its own unbuffered channel and forwards what it sends
// into the queue until s returns.
func (h *Hub) runSource(ctx context.Context, s Source) {
	ch := make(chan tracing.Batch)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				slog.Error("collector panicked", tracing.LogKeySource, s.Name(), tracing.LogKeyPanic, r, tracing.LogKeyStack, string(debug.Stack()))
				h.setFailed(s.Name(), fmt.Sprintf("%s: internal error: %v (please report this)", s.Name(), r))
			}
		}()
		if err := s.Run(ctx, ch); err != nil && ctx.Err() == nil {
			h.setFailed(s.Name(), err.Error())
		}
	}()
	for {
		select {
		case b := <-ch:
			h.admit(ctx, s.Name(), b)
		case <-done:
			return
		}
	}
}

func (h *Hub) setFailed(name, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failed[name] = why
}

// Health returns every source's health, in the order they were added, with
// what the hub dropped of each source's batches added to its Dropped.
func (h *Hub) Health() []tracing.SourceHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]tracing.SourceHealth, 0, len(h.sources))
	for _, s := range h.sources {
		hl := s.Health()
		hl.Dropped += h.lost[s.Name()]
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

	// The outcomes of the last requests (bit set: rejected), newest in bit 0,
	// for sources that answer requests (OTLP). nOut counts them, up to 64.
	outcomes uint64
	nOut     int
	lastWhy  string
	sticky   string // why the source is degraded for good (Degrade)
}

// degradedAfter is how many of the last 64 requests must have been rejected,
// at least, and in the majority, before the source says it is degraded.
const degradedAfter = 8

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
	t.ok(n, newest)
}

func (t *Tracker) ok(n int, newest time.Time) {
	now := t.now()
	t.h.LastSuccess = now
	t.h.RetryIn = 0
	if !t.degraded() && t.sticky == "" {
		t.h.State = tracing.SourceStateOK
		t.h.LastError = ""
	}
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

// Accepted records a request whose n items were taken in: they count as
// accepted and as items, and the request as a success for the rejection rate.
func (t *Tracker) Accepted(n int, newest time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.outcome(false, "")
	t.h.Accepted += uint64(n)
	t.ok(n, newest)
}

// Shed counts n items refused with a retryable answer under pressure.
func (t *Tracker) Shed(n int) {
	t.mu.Lock()
	t.h.Shed += uint64(n)
	t.mu.Unlock()
}

// Rejected records a request refused for good (malformed, too large), and
// why. When most of the recent requests were rejected, the source's state
// becomes [tracing.SourceStateDegraded] with why and the rate as its error,
// until accepted requests outnumber them again.
func (t *Tracker) Rejected(why string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.h.Rejected++
	t.outcome(true, why)
}

// Truncated counts n attributes, links or values cut by per-item limits.
func (t *Tracker) Truncated(n int) {
	if n == 0 {
		return
	}
	t.mu.Lock()
	t.h.Truncated += uint64(n)
	t.mu.Unlock()
}

func (t *Tracker) outcome(rejected bool, why string) {
	t.outcomes <<= 1
	if rejected {
		t.outcomes |= 1
		t.lastWhy = why
	}
	t.nOut = min(t.nOut+1, 64)
	switch {
	case t.degraded():
		t.h.State = tracing.SourceStateDegraded
		t.h.LastError = fmt.Sprintf("%d of the last %d requests rejected; last: %s", bits.OnesCount64(t.outcomes), t.nOut, t.lastWhy)
	case t.h.State == tracing.SourceStateDegraded && t.sticky != "":
		t.h.LastError = t.sticky
	case t.h.State == tracing.SourceStateDegraded:
		t.h.State = tracing.SourceStateOK
		t.h.LastError = ""
	}
}

func (t *Tracker) degraded() bool {
	bad := bits.OnesCount64(t.outcomes)
	return bad >= degradedAfter && 2*bad > t.nOut
}

// Dropped counts n items lost after they were accepted.
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

// Degrade marks a running source as degraded with a reason: it works, but
// not all of it (one of two listeners could not bind, say).
func (t *Tracker) Degrade(err error) {
	t.mu.Lock()
	t.sticky = err.Error()
	t.h.State = tracing.SourceStateDegraded
	t.h.LastError = t.sticky
	t.mu.Unlock()
}

// Health returns a copy of the current health.
func (t *Tracker) Health() tracing.SourceHealth {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.h
}
