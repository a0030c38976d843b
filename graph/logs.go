package graph

import (
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// The log stream and the function detail read what this file keeps beside
// the invocations: a ring of the newest log lines across every function (the
// `:logs` screen tails it) and, per function, a ring of its newest reported
// invocations, with what fell out of that ring folded into running totals
// (the function detail draws from both). Ingest adds to them in O(1); a
// reader asks only for what is new since its last read, so no read scans
// everything the graph holds.

// logRingCap is how many log lines the stream holds; a variable so tests
// can lap a small ring.
var logRingCap = 100_000

// fnRingCap is how many reported invocations a function keeps for its
// detail's lists; older ones are folded into the function's totals.
var fnRingCap = 512

// maxFnIndexes bounds the functions with a detail index, as maxComponents
// bounds the statistics: names come from outside.
const maxFnIndexes = 1024

// maxErrorTypes bounds the error types a function counts; past it, new
// types count as errorTypeOther.
const maxErrorTypes = 64

const errorTypeOther = "(other error types)"

// histBounds are the upper bounds of the duration histogram's buckets; the
// last bucket holds everything slower.
var histBounds = [...]time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute,
}

// heldLine is one line of the stream: the line as kept and its invocation,
// which names the request and (once known) the function.
type heldLine struct {
	inv  *invocation
	fn   string
	line logLine
}

// logTail is the stream's ring and the per-function invocation rings. The
// graph's write lock guards it.
type logTail struct {
	lines []heldLine          // line seq s sits at (s-1) % logRingCap
	next  uint64              // the seq the next line gets; the first is 1
	fns   map[fnSite]*fnIndex // by the function in its place (stats.go)
}

// fnIndex is one function's newest reported invocations and the totals of
// those that fell out.
type fnIndex struct {
	ring   []*invocation // invocation number n sits at n % fnRingCap
	pushed uint64
	folded fnFold
}

// fnFold is what the invocations no longer in a function's ring add up to.
type fnFold struct {
	count  uint64
	cold   uint64
	hist   [len(histBounds) + 1]uint64
	inits  []time.Duration
	errors map[string]*ErrorGroup
}

// add keeps a log line the graph kept for inv (not one it dropped as read
// twice), and, when o is inv's first REPORT, the invocation in its
// function's ring. Called by ingestLog under the write lock.
func (t *logTail) add(o *tracing.Observation, inv *invocation, line *logLine, dup bool) {
	if dup {
		return
	}
	fn := inv.function
	if fn == "" && o.Invocation != nil {
		fn = o.Invocation.Function
	}
	t.next++
	h := heldLine{inv: inv, fn: fn, line: *line}
	if len(t.lines) < logRingCap {
		t.lines = append(t.lines, h)
	} else {
		t.lines[(t.next-1)%uint64(logRingCap)] = h
	}
	if o.Invocation == nil || inv.inv != nil || fn == "" {
		return
	}
	if t.fns == nil {
		t.fns = map[fnSite]*fnIndex{}
	}
	k := fnSite{account: inv.account, region: inv.region, name: fn}
	ix := t.fns[k]
	if ix == nil {
		if len(t.fns) >= maxFnIndexes {
			return
		}
		ix = &fnIndex{}
		t.fns[k] = ix
	}
	if len(ix.ring) < fnRingCap {
		ix.ring = append(ix.ring, inv)
	} else {
		slot := ix.pushed % uint64(fnRingCap)
		ix.folded.fold(ix.ring[slot])
		ix.ring[slot] = inv
	}
	ix.pushed++
}

// fold adds an invocation leaving the ring to the totals.
func (f *fnFold) fold(inv *invocation) {
	if inv == nil || inv.inv == nil {
		return
	}
	f.count++
	f.hist[histBucket(inv.inv.Duration)]++
	if d := initDuration(inv.inv); d > 0 {
		f.cold++
		// A bounded sample of init durations: every one until 4096, then
		// the newest overwrite the slots in turn.
		if len(f.inits) < 4096 {
			f.inits = append(f.inits, d)
		} else {
			f.inits[f.count%4096] = d
		}
	}
	if inv.failed {
		if f.errors == nil {
			f.errors = map[string]*ErrorGroup{}
		}
		addError(f.errors, inv)
	}
}

func initDuration(r *tracing.Invocation) time.Duration {
	if r.InitDuration > 0 {
		return r.InitDuration
	}
	return r.RestoreDuration
}

func histBucket(d time.Duration) int {
	for i, b := range histBounds {
		if d <= b {
			return i
		}
	}
	return len(histBounds)
}

func errorTypeOf(inv *invocation) string {
	if inv.errorType != "" {
		return inv.errorType
	}
	if inv.inv != nil && inv.inv.Status != tracing.InvocationSuccess && inv.inv.Status != tracing.InvocationUnknown {
		return inv.inv.Status.String()
	}
	return "error"
}

func addError(m map[string]*ErrorGroup, inv *invocation) {
	typ := errorTypeOf(inv)
	e := m[typ]
	if e == nil {
		if len(m) >= maxErrorTypes {
			typ = errorTypeOther
			e = m[typ]
		}
		if e == nil {
			e = &ErrorGroup{Type: typ}
			m[typ] = e
		}
	}
	e.Count++
	if !inv.start.Before(e.Last) {
		e.Last, e.RequestID = inv.start, inv.request
	}
}

// ---- reading ----

// LogQuery asks for the newest log lines of the stream.
type LogQuery struct {
	After     uint64   // only lines newer than this [LogEntry].Seq; 0: any held
	Functions []string // only these functions; empty: every function
	Limit     int      // the newest Limit lines at most (0: 1,000)
}

// LogEntry is one Lambda log line of the stream. Message is raw, as received;
// display code must pass it through [tracing.Sanitize].
type LogEntry struct {
	Seq       uint64 // the line's place in the stream, rising by one per line kept
	Time      time.Time
	Function  string
	RequestID string
	Level     string // INFO, ERROR, … when the line says
	Kind      tracing.LogKind
	Message   string
}

// LogPage is the answer to a [LogQuery].
type LogPage struct {
	Lines []LogEntry // oldest first
	// Last is the newest line's Seq the graph holds, of any function: pass
	// it as After next time.
	Last uint64
	// Missed counts lines newer than After (when After is set) that were not
	// returned: beyond Limit, or already gone from the ring (those counted
	// whatever their function).
	Missed uint64
}

// Logs returns the newest log lines, oldest first. The graph holds the
// newest 100,000 lines (the invocations keep theirs for the event screen);
// a reader that passes the previous page's Last gets only what is new, so
// its cost follows the lines that arrived, not the lines held.
func (g *Graph) Logs(q LogQuery) LogPage {
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	t := &g.logs
	p := LogPage{Last: t.next}
	if t.next == 0 {
		return p
	}
	oldest := uint64(1)
	if t.next > uint64(logRingCap) {
		oldest = t.next - uint64(logRingCap) + 1
	}
	from := oldest
	if q.After >= from {
		from = q.After + 1
	} else if q.After > 0 {
		p.Missed = oldest - q.After - 1
	}
	want := func(h *heldLine) bool {
		if len(q.Functions) == 0 {
			return true
		}
		fn := h.fn
		if fn == "" {
			fn = h.inv.function
		}
		for _, f := range q.Functions {
			if f == fn {
				return true
			}
		}
		return false
	}
	// Newest first until Limit, then (only when the reader asked for what is
	// new) count the rest as missed.
	var picked []uint64
	for s := t.next; s >= from && s > 0; s-- {
		h := &t.lines[(s-1)%uint64(logRingCap)]
		if !want(h) {
			continue
		}
		if len(picked) == q.Limit {
			if q.After == 0 {
				break
			}
			p.Missed++
			continue
		}
		picked = append(picked, s)
	}
	p.Lines = make([]LogEntry, len(picked))
	for i, s := range picked {
		h := &t.lines[(s-1)%uint64(logRingCap)]
		fn := h.fn
		if fn == "" {
			fn = h.inv.function
		}
		p.Lines[len(picked)-1-i] = LogEntry{
			Seq: s, Time: fromNanos(h.line.at), Function: fn, RequestID: h.inv.request,
			Level: h.line.level, Kind: h.line.kind, Message: h.line.message,
		}
	}
	return p
}
