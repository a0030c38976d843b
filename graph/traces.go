package graph

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// The traces read API: a list of the newest, slowest and failed traces, and
// one trace's spans. The span store (spans.go) keeps traces in a FIFO list
// that can only be walked from the oldest, so the store also feeds a small
// index of the newest traces and of the traces with a failed span
// ([traceIndex]); a read walks only those, with a budget of spans, and its
// rows are cached until the graph changes.

// ErrTraceNotFound means the graph holds no span of the trace asked for: it
// was never seen, or it was dropped to keep memory bounded.
var ErrTraceNotFound = errors.New("graph: trace not found")

// TraceSort orders the Traces list.
type TraceSort uint8

// Orders for [TraceQuery].
const (
	TraceSortRecent  TraceSort = iota // latest start first
	TraceSortSlowest                  // longest first
	TraceSortFailed                   // only traces with a failed span, latest start first
)

var traceSortNames = [...]string{"recent", "slowest", "failed"}

// String returns the order as shown to users.
func (s TraceSort) String() string {
	if int(s) < len(traceSortNames) {
		return traceSortNames[s]
	}
	return "unknown"
}

// TraceQuery asks for the Traces list.
type TraceQuery struct {
	Sort TraceSort
	// Words must each occur (case-insensitively) in the trace ID, a root
	// service or operation name; Invert keeps the traces where they don't.
	Words  []string
	Invert bool
	Limit  int // rows at most; 0 means 1,000
}

// TraceRow is one trace as a row of the Traces list.
type TraceRow struct {
	ID          tracing.TraceID
	RootService string // the root span's service; the earliest span's when no root was seen
	RootName    string // the root span's name (the operation)
	RootMissing bool   // no span without a parent was seen
	Start       time.Time
	Duration    time.Duration // first start to last end of the finished spans
	Spans       int
	Errors      int  // spans with an error status
	InProgress  bool // some span has not finished
}

// TracePage is the answer to a [TraceQuery].
type TracePage struct {
	Rows []TraceRow
	// Matched counts the rows that matched before Limit. Window is how many
	// of the newest traces were looked at (the slowest are the slowest of
	// those; failed traces are looked up further back); Held is how many
	// traces the graph holds.
	Matched, Window, Held int
	Version               uint64
}

// Trace is one trace's spans, in the order they were stored.
type Trace struct {
	ID    tracing.TraceID
	Spans []tracing.Span
	// Truncated says the trace had more spans than the graph keeps for one
	// trace (MaxSpansPerTrace); the rest were not stored.
	Truncated bool
	// Version changes whenever the trace's spans change (and only then,
	// unlike the graph's version), so a reader can keep what it drew.
	Version uint64
}

// MaxSpansPerTrace is how many spans the graph keeps of one trace.
const MaxSpansPerTrace = maxSpansPerTrace

const (
	recentTraces = 10_000  // the newest traces the index remembers
	failedTraces = 2_000   // the newest failed traces the index remembers
	spanBudget   = 300_000 // spans one read walks at most
	defaultLimit = 1_000
)

// traceRef names a trace slot and the trace it held when it was noted: slots
// are reused, so the ID tells whether it still holds that trace.
type traceRef struct {
	slot int32
	id   tracing.TraceID
}

// traceIndex remembers the newest traces and the newest failed ones, in
// rings. The writer notes traces under the graph's write lock; readers fill
// the row cache under the read lock, guarded by mu.
type traceIndex struct {
	recent []traceRef // ring, recentTraces long once full
	rnext  int
	failed []traceRef
	fnext  int

	mu       sync.Mutex
	version  uint64
	rows     []TraceRow // summaries of the recent ring, newest first
	failRows []TraceRow // summaries of the failed ring, newest first
	slow     []int32    // rows by duration, longest first, once asked for
	slowOK   bool
	cached   bool
	sums     map[int32]summaryEntry // per slot, reused while the trace is unchanged
	seen     []uint32               // per slot: the pass that listed it
	stamp    uint32
	keys     []startKey // scratch for byStart
	spare    []TraceRow
}

type summaryEntry struct {
	id   tracing.TraceID
	gen  uint32
	used uint64 // the version that last used it
	row  TraceRow
	n    int
}

func pushRef(ring *[]traceRef, next *int, capacity int, r traceRef) {
	if len(*ring) < capacity {
		*ring = append(*ring, r)
		return
	}
	(*ring)[*next] = r
	*next = (*next + 1) % capacity
}

// added notes a new trace.
func (ix *traceIndex) added(slot int32, id tracing.TraceID) {
	pushRef(&ix.recent, &ix.rnext, recentTraces, traceRef{slot, id})
}

// span notes a span of a trace: a failed one puts the trace on the failed
// ring. (Its summary changes too: addSpan bumps the trace's gen.)
func (ix *traceIndex) span(slot int32, sp *tracing.Span) {
	if sp.Status != tracing.StatusError {
		return
	}
	if n := len(ix.failed); n > 0 && ix.failed[(ix.fnext-1+n)%n].id == sp.TraceID {
		return
	}
	pushRef(&ix.failed, &ix.fnext, failedTraces, traceRef{slot, sp.TraceID})
}

// newestFirst calls f for each entry of a ring, newest first, until f returns false.
func newestFirst(ring []traceRef, next int, f func(traceRef) bool) {
	n := len(ring)
	if n == 0 {
		return
	}
	start := (next - 1 + n) % n // until the ring is full next is 0 and the newest is last
	for k := 0; k < n; k++ {
		if !f(ring[(start-k+n)%n]) {
			return
		}
	}
}

// summary builds a trace's row by walking its spans (the caller holds a read lock).
func (g *Graph) summary(slot int32) (TraceRow, int) {
	ss := &g.sp
	tr := ss.traces.at(slot)
	row := TraceRow{ID: tr.id}
	var first, last, rootStart, earliest int64
	var root, early int32
	walked := 0
	for i := tr.spans; i != 0; i = ss.spans.at(i).next {
		r := ss.spans.at(i)
		walked++
		if r.status() == tracing.StatusError {
			row.Errors++
		}
		start, end := r.start.get(), ss.end(i)
		if r.flags&spanInProgress != 0 || end == 0 {
			row.InProgress = true
		} else if end > last {
			last = end
		}
		if start != 0 && (first == 0 || start < first) {
			first = start
		}
		if !r.parent.IsValid() && (root == 0 || start < rootStart) {
			root, rootStart = i, start
		}
		if early == 0 || start < earliest {
			early, earliest = i, start
		}
	}
	if root == 0 {
		root, row.RootMissing = early, true
	}
	if root != 0 {
		sh := ss.shapeOf(root)
		row.RootService, row.RootName = sh.service, sh.name
	}
	row.Spans = walked
	row.Start = fromNanos(first)
	if first != 0 && last > first {
		row.Duration = time.Duration(last - first)
	}
	return row, walked
}

// traceRows fills the row cache for the current version (the caller holds
// the read lock and ix.mu).
func (g *Graph) traceRows() {
	ix := &g.sp.recent
	v := g.version.Load()
	if ix.cached && ix.version == v {
		return
	}
	ix.version, ix.cached, ix.slowOK = v, true, false
	if ix.sums == nil {
		ix.sums = map[int32]summaryEntry{}
	}
	ix.rows, ix.failRows = ix.rows[:0], ix.failRows[:0]
	budget := spanBudget
	// seen[slot] == stamp: the slot was listed in this pass (a slot is on a
	// ring more than once when its trace was dropped and the slot reused).
	if n := int(g.sp.traces.n); len(ix.seen) < n {
		ix.seen = append(ix.seen, make([]uint32, n-len(ix.seen))...)
	}
	ix.stamp++
	if ix.stamp == 0 { // wrapped: old stamps could match
		clear(ix.seen)
		ix.stamp = 1
	}
	seen := func(slot int32) bool {
		if ix.seen[slot] == ix.stamp {
			return true
		}
		ix.seen[slot] = ix.stamp
		return false
	}
	alive := func(r traceRef) bool {
		return r.slot > 0 && r.slot < g.sp.traces.n && g.sp.traces.at(r.slot).id == r.id
	}
	newestFirst(ix.recent, ix.rnext, func(r traceRef) bool {
		if !alive(r) {
			return true
		}
		if seen(r.slot) {
			return true
		}
		row, n := g.cachedSummary(r.slot, v)
		ix.rows = append(ix.rows, row)
		budget -= n
		return budget > 0
	})
	budget = spanBudget / 4
	ix.stamp++
	if ix.stamp == 0 {
		clear(ix.seen)
		ix.stamp = 1
	}
	newestFirst(ix.failed, ix.fnext, func(r traceRef) bool {
		if !alive(r) {
			return true
		}
		if seen(r.slot) {
			return true
		}
		row, n := g.cachedSummary(r.slot, v)
		if row.Errors > 0 { // a failed span may have been replaced by its retry's success
			ix.failRows = append(ix.failRows, row)
		}
		budget -= n
		return budget > 0
	})
	// Newest first by start: traces arrive out of order (X-Ray is polled,
	// OTLP pushed), and the list says when each started.
	ix.rows, ix.spare = ix.byStart(ix.rows, ix.spare)
	ix.failRows, ix.spare = ix.byStart(ix.failRows, ix.spare)
	if len(ix.sums) > 2*(recentTraces+failedTraces) {
		for slot, e := range ix.sums {
			if e.used != v {
				delete(ix.sums, slot)
			}
		}
	}
}

// cachedSummary is summary, from the cache while the trace is unchanged;
// the count it returns is what the budget is charged (a cached row costs
// its spans too, so the window does not depend on what was cached).
func (g *Graph) cachedSummary(slot int32, v uint64) (TraceRow, int) {
	ix := &g.sp.recent
	id, gen := g.sp.traces.at(slot).id, g.sp.traces.at(slot).gen
	if e, ok := ix.sums[slot]; ok && e.id == id && e.gen == gen {
		e.used = v
		ix.sums[slot] = e
		return e.row, e.n
	}
	row, n := g.summary(slot)
	ix.sums[slot] = summaryEntry{id: id, gen: gen, used: v, row: row, n: n}
	return row, n
}

// byStart returns rows ordered by start, latest first (ties keep their
// order), built in spare; it returns spare's new storage as the next spare.
// It sorts 16-byte keys, not the rows.
func (ix *traceIndex) byStart(rows, spare []TraceRow) ([]TraceRow, []TraceRow) {
	keys := ix.keys[:0]
	for i := range rows {
		keys = append(keys, startKey{rows[i].Start.UnixNano(), int32(i)})
	}
	slices.SortFunc(keys, func(a, b startKey) int {
		if c := cmp.Compare(b.start, a.start); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	ix.keys = keys
	out := spare[:0]
	for _, k := range keys {
		out = append(out, rows[k.i])
	}
	return out, rows[:0]
}

type startKey struct {
	start int64
	i     int32
}

// slowest orders the rows by duration, once per version (the caller holds ix.mu).
func (ix *traceIndex) slowest() []int32 {
	if ix.slowOK {
		return ix.slow
	}
	ix.slow = ix.slow[:0]
	for i := range ix.rows {
		ix.slow = append(ix.slow, int32(i))
	}
	slices.SortStableFunc(ix.slow, func(a, b int32) int {
		da, db := ix.rows[a].Duration, ix.rows[b].Duration
		switch {
		case da > db:
			return -1
		case da < db:
			return 1
		}
		return 0
	})
	ix.slowOK = true
	return ix.slow
}

// Traces lists the newest, slowest or failed traces. It looks at the newest
// traces only (TracePage.Window of them, at most 10,000 and a budget of
// 300,000 spans), and failed traces among the newest 2,000 that had a failed
// span; rows are cached until the graph changes, so a read per frame costs a
// filter and a sort of at most the window.
func (g *Graph) Traces(q TraceQuery) TracePage {
	g.mu.RLock()
	defer g.mu.RUnlock()
	ix := &g.sp.recent
	ix.mu.Lock()
	defer ix.mu.Unlock()
	g.traceRows()
	src := ix.rows
	if q.Sort == TraceSortFailed {
		src = ix.failRows
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	words := make([]string, 0, len(q.Words))
	for _, w := range q.Words {
		if w = strings.ToLower(strings.TrimSpace(w)); w != "" {
			words = append(words, w)
		}
	}
	p := TracePage{Window: len(ix.rows), Held: g.sp.traces.live, Version: ix.version}
	rows := make([]TraceRow, 0, min(len(src), limit))
	keep := func(r *TraceRow) bool {
		if len(words) == 0 {
			return true
		}
		hay := strings.ToLower(r.ID.String() + " " + r.ID.XRay() + " " + r.RootService + " " + r.RootName)
		all := true
		for _, w := range words {
			if !strings.Contains(hay, w) {
				all = false
				break
			}
		}
		return all != q.Invert
	}
	if q.Sort != TraceSortSlowest {
		for i := range src {
			if keep(&src[i]) {
				p.Matched++
				if len(rows) < limit {
					rows = append(rows, src[i])
				}
			}
		}
		p.Rows = rows
		return p
	}
	for _, i := range ix.slowest() {
		if keep(&src[i]) {
			p.Matched++
			if len(rows) < limit {
				rows = append(rows, src[i])
			}
		}
	}
	p.Rows = rows
	return p
}

// Trace returns one trace's spans, or [ErrTraceNotFound].
func (g *Graph) Trace(id tracing.TraceID) (Trace, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	t := g.sp.find(id)
	if t == 0 {
		return Trace{ID: id}, ErrTraceNotFound
	}
	tr := g.sp.traces.at(t)
	n := g.sp.count(t)
	out := Trace{ID: id, Truncated: n >= maxSpansPerTrace, Version: uint64(t)<<32 | uint64(tr.gen)}
	out.Spans = g.traceSpans(id, make([]tracing.Span, 0, n))
	return out, nil
}
