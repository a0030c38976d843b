package graph

import (
	"hash/maphash"
	"math"

	"github.com/flowtop/flowtop/tracing"
)

// Spans are stored like events (store.go): pointer-free records in slabs,
// strings interned or in the arena. A trace is a list of its spans; traces
// are dropped oldest first once more than Config.MaxEvents are held.

// maxSpansPerTrace bounds one trace, so a runaway trace can't take the whole
// store; the store as a whole is bounded by maxSpans (traces dropped oldest
// first), in proportion to Config.MaxEvents and so to the memory budget.
const maxSpansPerTrace = 100_000

// spansPerEvent is how many spans the store holds per event of
// Config.MaxEvents: spans are about a third of an event's size.
const spansPerEvent = 4

// bigTrace is the span count past which a trace gets a span ID index, so
// that storing the 10,000th span doesn't walk the 9,999 before it.
const bigTrace = 64

// traceRec is one trace: its ID and the head of its span list. (Storing a
// span walks a small trace's list for an earlier copy anyway, which finds
// its last span and counts them; a big trace keeps both in its bigIndex.)
type traceRec struct {
	id    tracing.TraceID
	spans int32
	next  int32  // the next younger trace (FIFO order of arrival)
	hnext int32  // the next trace in the same index chain
	gen   uint32 // bumped by every span stored, so a cached summary knows it is stale; kept when the slot is reused
}

// bigIndex finds the spans of a trace past bigTrace spans by ID.
type bigIndex struct {
	ids  map[tracing.SpanID]int32
	tail int32 // the last span, so appending doesn't walk the list
}

// spanRec keeps what the waterfall shows, and the span's identity: 36
// bytes. Its trace is the list it is on; its status shares the flags' byte;
// its end is a 32-bit offset from its start (a span longer than 2.1 s keeps
// its end in spanStore.ends). No field needs 8-byte alignment, so records
// pack at 4.
type spanRec struct {
	start  n64
	dur    int32 // end - start in nanoseconds; noEnd: no end
	id     tracing.SpanID
	parent tracing.SpanID
	next   int32  // next span of the trace
	shape  uint16 // interned spanShape (the interner holds at most 1<<16); see spanExtra when it is full
	kind   tracing.SpanKind
	flags  uint8 // the span* flags below, and the status in bits 4 and 5
}

const (
	spanInProgress uint8 = 1 << iota
	spanColdStart
	spanHasExtra // g.sp.extra holds the shape, status message, links or attributes
	spanHasInv   // g.sp.invs holds its invocation ID
	_
	_
	spanLongEnd // g.sp.ends holds its end
)

// statusShift places a span's status in its flags' bits 4 and 5: OTLP's
// codes are 0 to 2, and any code past them (malformed input) reads as 3,
// neither unset, ok nor error, as it did before.
const statusShift = 4

func packStatus(c tracing.StatusCode) uint8 { return uint8(min(c, 3)) << statusShift }

func (r *spanRec) status() tracing.StatusCode { return tracing.StatusCode(r.flags >> statusShift & 3) }

// noEnd is spanRec.dur of a span without an end time.
const noEnd = math.MinInt32

// n64 is an int64 kept as two 32-bit halves, so that a record holding one
// aligns to 4 bytes, not 8.
type n64 [2]uint32

func mk64(v int64) n64   { return n64{uint32(v), uint32(uint64(v) >> 32)} }
func (n n64) get() int64 { return int64(uint64(n[0]) | uint64(n[1])<<32) }

// setEnd stores span i's end (unix nanoseconds, 0: none).
func (ss *spanStore) setEnd(i int32, end int64) {
	r := ss.spans.at(i)
	switch d := end - r.start.get(); {
	case end == 0:
		r.dur = noEnd
	case d > noEnd && d <= math.MaxInt32:
		r.dur = int32(d)
	default:
		r.flags |= spanLongEnd
		ss.ends[i] = end
	}
}

// end is span i's end (unix nanoseconds, 0: none).
func (ss *spanStore) end(i int32) int64 {
	r := ss.spans.at(i)
	switch {
	case r.flags&spanLongEnd != 0:
		return ss.ends[i]
	case r.dur == noEnd:
		return 0
	}
	return r.start.get() + int64(r.dur)
}

// spanShape is what many spans share: one interned id stands for the five
// strings (a third of a span's record when each had its own).
type spanShape struct{ name, service, system, op, dest string }

// spanExtra is what few spans carry.
type spanExtra struct {
	shape     spanShape // when the shape interner is full
	statusMsg string
	links     []tracing.Link
	attrs     spanAttrs
	events    []tracing.SpanEvent
	batch     int
}

// spanAttrs are the few attributes a stored span keeps (8 at most), as
// pairs: one small allocation where a map took a few hundred bytes, for
// each of the hundreds of thousands of spans a large recording holds.
type spanAttrs []spanAttr

type spanAttr struct{ k, v string }

// get is the value of attribute k, or "".
func (a spanAttrs) get(k string) string {
	for _, x := range a {
		if x.k == k {
			return x.v
		}
	}
	return ""
}

// has reports whether attribute k is kept.
func (a spanAttrs) has(k string) bool {
	for _, x := range a {
		if x.k == k {
			return true
		}
	}
	return false
}

type spanStore struct {
	traces slab[traceRec]
	spans  slab[spanRec]
	index  table // traceHash → first trace of its chain (store.go)
	seed   maphash.Seed
	extra  map[int32]*spanExtra
	invs   map[int32]strRef    // faas.invocation_id / aws.request_id, of the few spans that name one
	ends   map[int32]int64     // the end of each span longer than 2.1 s
	big    map[int32]*bigIndex // per trace past bigTrace spans
	oldest int32               // FIFO of traces
	newest int32
	shapes interner[spanShape] // span names, services and messaging fields
	recent traceIndex          // the newest and the failed traces, for Graph.Traces (traces.go)
}

func newSpanStore(cfg Config) spanStore {
	return spanStore{index: table{size: tableSize(cfg.MaxEvents, cfg.MaxBytes)}, seed: maphash.MakeSeed(), extra: map[int32]*spanExtra{}, invs: map[int32]strRef{}, ends: map[int32]int64{}, shapes: interner[spanShape]{max: 1 << 16}}
}

// addSpan stores a span (replacing an earlier copy with the same span ID: a
// completed segment replaces its in-progress one). It reports whether it
// replaced one.
func (g *Graph) addSpan(sp *tracing.Span) bool {
	ss := &g.sp
	t := ss.find(sp.TraceID)
	if t == 0 {
		if ss.index.full() {
			ss.growIndex()
		}
		t = ss.traces.alloc()
		slot := ss.index.slot(ss.traceHash(sp.TraceID))
		tr := ss.traces.at(t)
		tr.id, tr.hnext = sp.TraceID, *slot
		*slot = t
		ss.index.n++
		if ss.newest != 0 {
			ss.traces.at(ss.newest).next = t
		}
		ss.newest = t
		if ss.oldest == 0 {
			ss.oldest = t
		}
		ss.recent.added(t, sp.TraceID)
		for ss.traces.live > g.cfg.MaxEvents {
			g.dropTrace()
		}
	}
	ss.recent.span(t, sp)
	tr := ss.traces.at(t)
	tr.gen++
	var last int32
	n := 0 // the trace's spans
	if idx := ss.big[t]; idx != nil {
		if i, ok := idx.ids[sp.SpanID]; ok {
			g.fillSpan(i, sp)
			return true
		}
		last, n = idx.tail, len(idx.ids)
	} else {
		for i := tr.spans; i != 0; i = ss.spans.at(i).next {
			if ss.spans.at(i).id == sp.SpanID {
				g.fillSpan(i, sp)
				return true
			}
			last = i
			n++
		}
	}
	if n >= maxSpansPerTrace {
		return false
	}
	// Room for the span: drop the oldest traces (never this one) while the
	// store holds more spans than its share of the budget.
	for ss.spans.live >= spansPerEvent*g.cfg.MaxEvents && ss.oldest != t && ss.oldest != 0 {
		g.dropTrace()
	}
	i := ss.spans.alloc()
	g.fillSpan(i, sp)
	tr = ss.traces.at(t)
	if last == 0 {
		tr.spans = i
	} else {
		ss.spans.at(last).next = i
	}
	n++
	switch idx := ss.big[t]; {
	case idx != nil:
		idx.ids[sp.SpanID], idx.tail = i, i
	case n > bigTrace:
		idx = &bigIndex{ids: make(map[tracing.SpanID]int32, 2*bigTrace), tail: i}
		for j := tr.spans; j != 0; j = ss.spans.at(j).next {
			idx.ids[ss.spans.at(j).id] = j
		}
		if ss.big == nil {
			ss.big = map[int32]*bigIndex{}
		}
		ss.big[t] = idx
	}
	return false
}

func (g *Graph) fillSpan(i int32, sp *tracing.Span) {
	ss := &g.sp
	r := ss.spans.at(i)
	ss.dropInv(&g.s.arena, i)
	// The side tables hold a slot only while its flags say so (dropTrace
	// deletes a dropped span's entries): most spans are new, and a delete
	// from a map of hundreds of thousands of spans is a cache miss.
	if r.flags&spanHasExtra != 0 {
		delete(ss.extra, i)
	}
	if r.flags&spanLongEnd != 0 {
		delete(ss.ends, i)
	}
	next := r.next
	shape := spanShape{sp.Name, sp.Service, sp.Messaging.System, sp.Messaging.Operation, sp.Messaging.Destination}
	*r = spanRec{
		start: mk64(nanos(sp.Start)), id: sp.SpanID, parent: sp.ParentID, next: next,
		shape: uint16(ss.shapes.id(shape)), kind: sp.Kind, flags: packStatus(sp.Status),
	}
	ss.setEnd(i, nanos(sp.End))
	if inv := invocationOf(sp); inv != "" {
		ss.invs[i] = g.s.arena.put(inv)
		r.flags |= spanHasInv
	}
	if sp.InProgress {
		r.flags |= spanInProgress
	}
	if sp.ColdStart {
		r.flags |= spanColdStart
	}
	var x spanExtra
	if r.shape == 0 {
		x.shape = shape
	}
	x.statusMsg, x.links, x.batch, x.events = sp.StatusMessage, sp.Links, sp.Messaging.BatchCount, sp.Events
	if len(sp.Attrs) > 0 {
		x.attrs = make(spanAttrs, 0, min(len(sp.Attrs), 8))
		// aws.function_arn marks X-Ray's function segment (see functionFault);
		// cloud.* say which cloud a hop ran in (cloud.go).
		for _, k := range [...]string{"aws.function_arn", tracing.AttrCloudProvider, tracing.AttrCloudPlatform} {
			if v := sp.Attrs[k]; v != "" {
				x.attrs = append(x.attrs, spanAttr{k, v})
			}
		}
		for k, v := range sp.Attrs {
			if len(x.attrs) == 8 {
				break
			}
			if !x.attrs.has(k) {
				x.attrs = append(x.attrs, spanAttr{k, v})
			}
		}
	}
	if x.shape != (spanShape{}) || x.statusMsg != "" || len(x.links) > 0 || len(x.attrs) > 0 || len(x.events) > 0 || x.batch != 0 {
		xp := new(spanExtra) // only spans with extras allocate
		*xp = x
		ss.extra[i] = xp
		r.flags |= spanHasExtra
	}
}

// dropTrace forgets the oldest trace and its spans.
func (g *Graph) dropTrace() {
	ss := &g.sp
	t := ss.oldest
	if t == 0 {
		return
	}
	tr := ss.traces.at(t)
	ss.oldest = tr.next
	if ss.oldest == 0 {
		ss.newest = 0
	}
	slot := ss.index.slot(ss.traceHash(tr.id))
	ss.index.n--
	if head := *slot; head == t {
		*slot = tr.hnext
	} else {
		for i := head; i != 0; i = ss.traces.at(i).hnext {
			if ss.traces.at(i).hnext == t {
				ss.traces.at(i).hnext = tr.hnext
				break
			}
		}
	}
	for i := tr.spans; i != 0; {
		r := ss.spans.at(i)
		next := r.next
		ss.dropInv(&g.s.arena, i)
		delete(ss.extra, i)
		delete(ss.ends, i)
		ss.spans.release(i)
		i = next
	}
	delete(ss.big, t)
	gen := tr.gen
	ss.traces.release(t)
	ss.traces.at(t).gen = gen // a Trace's Version stays new for the slot's next trace
}

// traceHash picks a trace's index chain. IDs come from outside and need not
// be random, so they are hashed with the store's seed.
func (ss *spanStore) traceHash(id tracing.TraceID) uint32 {
	h := maphash.Bytes(ss.seed, id[:])
	return uint32(h>>32) ^ uint32(h)
}

// growIndex doubles the trace table and relinks every held trace.
func (ss *spanStore) growIndex() {
	old, mem := ss.index.resize(max(ss.index.size, minTable, 2*len(ss.index.heads)))
	defer mem.free()
	for _, head := range old {
		for t := head; t != 0; {
			tr := ss.traces.at(t)
			next := tr.hnext
			slot := ss.index.slot(ss.traceHash(tr.id))
			tr.hnext, *slot = *slot, t
			t = next
		}
	}
}

func (ss *spanStore) find(id tracing.TraceID) int32 {
	for i := ss.index.head(ss.traceHash(id)); i != 0; i = ss.traces.at(i).hnext {
		if ss.traces.at(i).id == id {
			return i
		}
	}
	return 0
}

// traceSpans materializes the spans of one trace for a reader.
func (g *Graph) traceSpans(id tracing.TraceID, out []tracing.Span) []tracing.Span {
	ss := &g.sp
	t := ss.find(id)
	if t == 0 {
		return out
	}
	for i := ss.traces.at(t).spans; i != 0; i = ss.spans.at(i).next {
		r := ss.spans.at(i)
		sh := ss.shapeOf(i)
		sp := tracing.Span{
			TraceID: id, SpanID: r.id, ParentID: r.parent, Name: sh.name, Service: sh.service,
			Kind: r.kind, Start: fromNanos(r.start.get()), End: fromNanos(ss.end(i)), Status: r.status(),
			InProgress: r.flags&spanInProgress != 0, ColdStart: r.flags&spanColdStart != 0,
			Messaging:    tracing.Messaging{System: sh.system, Operation: sh.op, Destination: sh.dest},
			InvocationID: g.s.arena.str(ss.invOf(i)),
		}
		if x := ss.extra[i]; r.flags&spanHasExtra != 0 && x != nil {
			sp.StatusMessage, sp.Messaging.BatchCount = x.statusMsg, x.batch
			sp.Links = append([]tracing.Link(nil), x.links...)
			sp.Events = x.events // never changed once stored: a new copy of the span replaces the slice
			if len(x.attrs) > 0 {
				sp.Attrs = make(map[string]string, len(x.attrs))
				for _, a := range x.attrs {
					sp.Attrs[a.k] = a.v
				}
			}
		}
		out = append(out, sp)
	}
	return out
}

// shapeOf is a stored span's name, service and messaging fields, from the
// interner or its extra.
func (ss *spanStore) shapeOf(i int32) spanShape {
	r := ss.spans.at(i)
	if r.shape == 0 && r.flags&spanHasExtra != 0 {
		if x := ss.extra[i]; x != nil {
			return x.shape
		}
	}
	return ss.shapes.get(int32(r.shape))
}

// invOf is a stored span's invocation ID, if it named one.
func (ss *spanStore) invOf(i int32) strRef {
	if ss.spans.at(i).flags&spanHasInv == 0 {
		return strRef{}
	}
	return ss.invs[i]
}

func (ss *spanStore) dropInv(a *arena, i int32) {
	if ss.spans.at(i).flags&spanHasInv != 0 {
		a.drop(ss.invs[i])
		delete(ss.invs, i)
	}
}

// moveInvs moves the invocation IDs into a compacted arena (store.compactArena).
func (ss *spanStore) moveInvs(move func(strRef) strRef) {
	for i, r := range ss.invs {
		ss.invs[i] = move(r)
	}
}

// count is how many spans trace t holds.
func (ss *spanStore) count(t int32) int {
	if idx := ss.big[t]; idx != nil {
		return len(idx.ids)
	}
	n := 0
	for i := ss.traces.at(t).spans; i != 0; i = ss.spans.at(i).next {
		n++
	}
	return n
}
