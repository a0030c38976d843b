package recording

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/flowtop/flowtop/tracing"
)

// The record encoding is hand-written rather than gob or JSON: a recording
// is taken beside ingest, and at 50,000 observations/s the encoder has a few
// hundred nanoseconds per observation (gob and JSON each cost more than the
// graph's own ingest). Every field of the tracing types is written in a fixed
// order; codec_test.go fails when a tracing type gains a field this file does
// not know, so the format can't silently lose one.
//
// Strings that repeat within a frame (sources, component and function names,
// log groups and streams, request IDs, attribute names) are interned per
// frame: the first use writes the bytes, later ones an index. Each frame
// starts a fresh table, so every frame decodes on its own.

// errCorrupt says a record does not decode.
var errCorrupt = errors.New("recording: corrupt record")

// encoder appends observations to buf.
type encoder struct {
	buf   []byte
	table map[string]uint64
	base  int64 // the frame's first record's ingest time
	// Format 3 writes a record's ingest time relative to the record
	// before's (prevAt), its time relative to its ingest time, and every
	// other time in it relative to its time (rt): an observation's times
	// sit close together, so most take a byte or two instead of seven.
	prevAt, rt int64
	// lastTID is the trace ID written last in the frame: an invocation's
	// log lines, span and report carry the same one (format 3 writes it
	// once, then a byte saying "the same").
	lastTID tracing.TraceID
	// mid is madeUpMid for a line at midMs (when midOK): the lines of one
	// millisecond share it, and formatting it costs more than the rest of
	// a log line.
	mid   []byte
	midMs int64
	midOK bool
	// cache remembers the table index of recently written strings by their
	// address: collectors hand the same string (a constant, a parsed
	// request ID used in several fields) again and again, and comparing an
	// address is far cheaper than hashing the bytes. Entries of an older
	// frame are told apart by gen.
	cache [1024]cached
	// slots remember, for the fields an invocation repeats (its request
	// ID, log group and stream), the last string each held and its table
	// index: an invocation's lines carry them as separate strings (each
	// line parsed on its own), and comparing with the last one is cheaper
	// than hashing into the table. Tried after the address cache.
	slots [slotCount]slot
	gen   uint32
	n     uint64 // strings entered in the frame's table (the decoder's table length)
}

// slot is one field's last string (see encoder.slots).
type slot struct {
	s   string
	i   uint64
	gen uint32
}

// The fields with a slot; weak keys have one per kind, from slotKey.
const (
	slotGroup = iota
	slotStream
	slotRequest // a log line's, an invocation's or a span's request ID
	slotKey
	slotCount = slotKey + 16
)

type cached struct {
	p   *byte
	n   int
	gen uint32
	i   uint64
}

func newEncoder() *encoder { return &encoder{table: map[string]uint64{}} }

// reset starts a new frame.
func (e *encoder) reset(base int64) {
	e.buf = e.buf[:0]
	clear(e.table)
	e.n = 0
	e.base, e.prevAt, e.rt = base, base, base
	e.lastTID = tracing.TraceID{}
	e.gen++
}

func (e *encoder) uvarint(v uint64) {
	if v < 0x80 {
		e.buf = append(e.buf, byte(v))
		return
	}
	e.buf = binary.AppendUvarint(e.buf, v)
}
func (e *encoder) varint(v int64) { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) byte1(v uint8)  { e.buf = append(e.buf, v) }

func (e *encoder) bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

// str writes a string that rarely repeats (IDs, messages, bodies).
func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// istr writes a string that repeats: 0 is "", an odd n a new string of
// n>>1 bytes (entered in the table), an even n the table's entry n>>1-1.
func (e *encoder) istr(s string) { e.sstr(s, nil) }

// sstr is istr for a field with a slot (nil for none): the address cache
// first, then the slot, then the table.
func (e *encoder) sstr(s string, sl *slot) {
	if s == "" {
		e.buf = append(e.buf, 0)
		return
	}
	p := unsafe.StringData(s)
	c := &e.cache[(uintptr(unsafe.Pointer(p))>>3^uintptr(len(s)))%uintptr(len(e.cache))]
	if c.p == p && c.n == len(s) && c.gen == e.gen {
		e.ref(c.i)
		return
	}
	if sl != nil && sl.gen == e.gen && len(sl.s) == len(s) && sl.s == s {
		*c = cached{p: p, n: len(s), gen: e.gen, i: sl.i}
		e.ref(sl.i)
		return
	}
	i, ok := e.table[s]
	if !ok {
		if e.n >= 1<<16 {
			// A full table: write the bytes, entered nowhere (the decoder mirrors this).
			e.uvarint(uint64(len(s))<<1 | 1)
			e.buf = append(e.buf, s...)
			return
		}
		i = e.n
		e.table[s] = i
		e.n++
		e.uvarint(uint64(len(s))<<1 | 1)
		e.buf = append(e.buf, s...)
	} else {
		e.ref(i)
	}
	*c = cached{p: p, n: len(s), gen: e.gen, i: i}
	if sl != nil {
		*sl = slot{s: s, i: i, gen: e.gen}
	}
}

// ref writes a reference to the table's entry i.
func (e *encoder) ref(i uint64) { e.uvarint((i + 1) << 1) }

// pstr writes a string that repeats, if at all, as the very same string (a
// message ID in an observation's keys and again in its relations, a request
// ID in a span's attributes): a hit in the address cache writes the table
// index, as istr does; a miss writes the bytes as a new table entry without
// hashing them into the map, so a string seen once costs what str costs.
// The decoder reads both with istr.
func (e *encoder) pstr(s string) {
	if s == "" {
		e.buf = append(e.buf, 0)
		return
	}
	p := unsafe.StringData(s)
	c := &e.cache[(uintptr(unsafe.Pointer(p))>>3^uintptr(len(s)))%uintptr(len(e.cache))]
	if c.p == p && c.n == len(s) && c.gen == e.gen {
		e.ref(c.i)
		return
	}
	if e.n < 1<<16 {
		*c = cached{p: p, n: len(s), gen: e.gen, i: e.n}
		e.n++
	}
	e.uvarint(uint64(len(s))<<1 | 1)
	e.buf = append(e.buf, s...)
}

// time writes a time inside a record, relative to the record's time.
func (e *encoder) time(t time.Time) { e.timeAt(t, e.rt) }

// timeAt writes t relative to ref: 0 is the zero time, else the zigzagged
// difference plus one.
func (e *encoder) timeAt(t time.Time, ref int64) {
	if t.IsZero() {
		e.buf = append(e.buf, 0)
		return
	}
	d := t.UnixNano() - ref
	e.uvarint((uint64(d<<1) ^ uint64(d>>63)) + 1)
}

// traceID writes a trace ID (format 3): byte 0 for none, 1 for the trace ID
// written last in the frame, else 2 and the 16 bytes.
func (e *encoder) traceID(t tracing.TraceID) {
	switch {
	case !t.IsValid():
		e.buf = append(e.buf, 0)
	case t == e.lastTID:
		e.buf = append(e.buf, 1)
	default:
		e.buf = append(e.buf, 2)
		e.buf = append(e.buf, t[:]...)
		e.lastTID = t
	}
}

// spanID writes a span ID that is often unset (a root's parent, a
// segment): byte 0 for none, else 2 and the 8 bytes (format 3).
func (e *encoder) spanID(s tracing.SpanID) {
	if !s.IsValid() {
		e.buf = append(e.buf, 0)
		return
	}
	e.buf = append(e.buf, 2)
	e.buf = append(e.buf, s[:]...)
}

func (e *encoder) dur(d time.Duration) { e.varint(int64(d)) }

func (e *encoder) smap(m map[string]string) {
	e.uvarint(uint64(len(m)))
	for k, v := range m {
		e.istr(k)
		e.pstr(v) // format 2; format 1 wrote str
	}
}

func (e *encoder) key(k tracing.Key) {
	e.byte1(uint8(k.Kind))
	if k.Kind == tracing.KeyRequestID || k.Kind == tracing.KeyTraceID || k.Kind == tracing.KeyCorrelation {
		e.sstr(k.Value, &e.slots[slotKey+int(k.Kind)&15]) // weak keys repeat across the lines of one invocation or trace
	} else {
		e.pstr(k.Value) // format 2: a strong key repeats in the observation's relations
	}
}

// comp writes a component: its kind, with compAt set when an account or
// region follows the name (format 2), and its name.
func (e *encoder) comp(c tracing.Component) {
	if c.Account == "" && c.Region == "" {
		e.byte1(uint8(c.Kind))
		e.istr(c.Name)
		return
	}
	e.byte1(uint8(c.Kind) | compAt)
	e.istr(c.Name)
	e.istr(c.Account)
	e.istr(c.Region)
}

// compAt marks a component written with its account and region.
const compAt = 0x80

// record appends one record as a frame holds it: a uvarint length and the
// observation. Two bytes are reserved for the length (a record is rarely
// under 128 bytes or over 16 KiB) and the record moved when it needs more
// or fewer.
func (e *encoder) record(at time.Time, o *tracing.Observation) {
	start := len(e.buf)
	e.buf = append(e.buf, 0, 0)
	e.observation(at, o)
	n := len(e.buf) - start - 2
	var lb [binary.MaxVarintLen64]byte
	ln := binary.PutUvarint(lb[:], uint64(n))
	if ln > 2 {
		e.buf = append(e.buf, make([]byte, ln-2)...)
	}
	if ln != 2 {
		copy(e.buf[start+ln:], e.buf[start+2:start+2+n]) // copy is a memmove
	}
	copy(e.buf[start:], lb[:ln])
	e.buf = e.buf[:start+ln+n]
}

// observation appends one record: at (when it was ingested) and o.
func (e *encoder) observation(at time.Time, o *tracing.Observation) {
	atRef := e.base
	if !at.IsZero() {
		atRef = at.UnixNano()
	}
	e.timeAt(at, e.prevAt)
	e.prevAt = atRef
	e.byte1(uint8(o.Kind))
	e.istr(o.Source)
	e.timeAt(o.Time, atRef)
	e.rt = atRef
	if !o.Time.IsZero() {
		e.rt = o.Time.UnixNano()
	}
	e.comp(o.Component)
	e.uvarint(uint64(len(o.Keys)))
	for _, k := range o.Keys {
		e.key(k)
	}
	e.uvarint(uint64(len(o.Relations)))
	for _, r := range o.Relations {
		e.key(r.From)
		e.key(r.To)
		e.byte1(uint8(r.Kind))
		e.istr(r.Evidence)
	}
	// A bit set says which payloads follow, in this order.
	var set uint8
	if o.Span != nil {
		set |= 1
	}
	if o.Log != nil {
		set |= 2
	}
	if o.Invocation != nil {
		set |= 4
	}
	if o.Message != nil {
		set |= 8
	}
	if o.Function != nil {
		set |= 16
	}
	if o.Queue != nil {
		set |= 32
	}
	if o.Routes != nil {
		set |= 64
	}
	e.byte1(set)
	if s := o.Span; s != nil {
		e.span(s)
	}
	if l := o.Log; l != nil {
		e.log(l)
	}
	if v := o.Invocation; v != nil {
		e.invocation(v)
	}
	if m := o.Message; m != nil {
		e.message(m)
	}
	if f := o.Function; f != nil {
		e.function(f)
	}
	if q := o.Queue; q != nil {
		e.queue(q)
	}
	if r := o.Routes; r != nil {
		e.routes(r)
	}
}

func (e *encoder) span(s *tracing.Span) {
	e.traceID(s.TraceID)
	e.buf = append(e.buf, s.SpanID[:]...)
	e.spanID(s.ParentID)
	e.istr(s.Name)
	e.istr(s.Service)
	e.byte1(uint8(s.Kind))
	e.time(s.Start)
	e.time(s.End)
	e.byte1(uint8(s.Status))
	e.str(s.StatusMessage)
	e.bool(s.InProgress)
	e.uvarint(uint64(len(s.Links)))
	for _, l := range s.Links {
		e.buf = append(e.buf, l.TraceID[:]...)
		e.buf = append(e.buf, l.SpanID[:]...)
		e.smap(l.Attrs)
	}
	m := s.Messaging
	e.istr(m.System)
	e.istr(m.Operation)
	e.istr(m.Destination)
	e.pstr(m.MessageID) // format 2; usually the same string as a key
	e.varint(int64(m.BatchCount))
	e.sstr(s.InvocationID, &e.slots[slotRequest])
	e.bool(s.ColdStart)
	e.smap(s.Attrs)
	// Format 2: the span's events.
	e.uvarint(uint64(len(s.Events)))
	for _, ev := range s.Events {
		e.time(ev.Time)
		e.istr(ev.Name)
		e.smap(ev.Attrs)
	}
}

func (e *encoder) log(l *tracing.LogRecord) {
	e.time(l.Time)
	e.sstr(l.Group, &e.slots[slotGroup])
	e.sstr(l.Stream, &e.slots[slotStream])
	e.eventID(l)
	e.byte1(uint8(l.Kind))
	e.istr(l.Level)
	e.sstr(l.RequestID, &e.slots[slotRequest])
	e.traceID(l.TraceID)
	e.str(l.Message)
	e.istr(l.EventType)
	e.istr(l.Reason)
}

// eventID writes a log line's event ID (format 2). CloudWatch's live tail and
// Logs Insights give none, so the collector makes one of the stream, the
// time and the message; that one is written as the part between the stream
// and the message (byte 1), which nearly halves a live-tailed line, or,
// when that part is "/" and the line's time in Unix ms and "/" as the
// collector makes it, as byte 2 alone (format 3). Any other ID is written
// whole (byte 0).
func (e *encoder) eventID(l *tracing.LogRecord) {
	id := l.EventID
	if l.Stream != "" && l.Message != "" && len(id) >= len(l.Stream)+len(l.Message) &&
		strings.HasPrefix(id, l.Stream) && strings.HasSuffix(id, l.Message) {
		mid := id[len(l.Stream) : len(id)-len(l.Message)]
		if ms := l.Time.UnixMilli(); ms != e.midMs || !e.midOK {
			e.mid, e.midMs, e.midOK = madeUpMid(e.mid[:0], l.Time), ms, true
		}
		if string(e.mid) == mid {
			e.byte1(2)
			return
		}
		e.byte1(1)
		e.str(mid)
		return
	}
	e.byte1(0)
	e.str(id)
}

// madeUpMid is the part of a made-up event ID between its stream and its
// message: "/", the line's time in Unix ms, "/" (cwlogs sampled.go).
func madeUpMid(dst []byte, t time.Time) []byte {
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, t.UnixMilli(), 10)
	return append(dst, '/')
}

func (e *encoder) invocation(v *tracing.Invocation) {
	e.istr(v.Function)
	e.sstr(v.RequestID, &e.slots[slotRequest])
	e.dur(v.Duration)
	e.dur(v.BilledDuration)
	e.dur(v.InitDuration)
	e.dur(v.RestoreDuration)
	e.dur(v.BilledRestoreDuration)
	e.varint(int64(v.MemorySizeMB))
	e.varint(int64(v.MaxMemoryUsedMB))
	e.byte1(uint8(v.Status))
	e.istr(v.ErrorType)
	e.traceID(v.TraceID)
	e.spanID(v.SegmentID)
}

func (e *encoder) message(m *tracing.Message) {
	e.byte1(uint8(m.Broker))
	e.istr(m.Queue)
	e.pstr(m.ID) // format 2; usually the same string as a key
	e.str(m.Body)
	e.smap(m.Attributes)
	e.smap(m.UserAttrs)
	e.varint(int64(m.ReceiveCount))
	e.time(m.SentAt)
	e.time(m.FirstRecvAt)
	e.bool(m.DeadLetter)
	e.istr(m.SourceQueue)
	e.istr(m.GroupID)
	e.str(m.DedupID)
	e.uvarint(uint64(len(m.Layers)))
	for _, l := range m.Layers {
		e.byte1(uint8(l.Kind))
		e.uvarint(uint64(len(l.Keys)))
		for _, k := range l.Keys {
			e.key(k)
		}
		e.istr(l.Type)
		e.istr(l.Source)
		e.time(l.Time)
		e.str(l.TraceHeader)
		e.str(l.Fingerprint)
	}
	e.istr(m.Reason)
}

func (e *encoder) function(f *tracing.FunctionConfig) {
	e.istr(f.Name)
	e.istr(f.ARN)
	e.varint(int64(f.MemoryMB))
	e.istr(f.Architecture)
	e.dur(f.Timeout)
	e.istr(f.LogGroup)
	e.istr(f.LogFormat)
	e.istr(f.Tracing)
	e.istr(f.Runtime)
}

func (e *encoder) queue(q *tracing.QueueInfo) {
	e.istr(q.Name)
	e.istr(q.URL)
	e.istr(q.ARN)
	e.varint(int64(q.Depth))
	e.varint(int64(q.InFlight))
	e.dur(q.OldestAge)
	e.istr(q.DeadLetterQueue)
	e.varint(int64(q.MaxReceiveCount))
	e.bool(q.IsDLQ)
	e.uvarint(uint64(len(q.Sources)))
	for _, s := range q.Sources {
		e.istr(s)
	}
	e.bool(q.FIFO)
}

func (e *encoder) routes(r *tracing.RouteSet) {
	e.uvarint(uint64(len(r.Scopes)))
	for _, s := range r.Scopes {
		e.istr(s)
	}
	e.uvarint(uint64(len(r.Routes)))
	for _, rt := range r.Routes {
		e.comp(rt.From)
		e.comp(rt.To)
		e.istr(rt.Via)
		e.istr(rt.Evidence)
		e.smap(rt.Attrs)
		e.istr(rt.Scope)
	}
	e.uvarint(uint64(len(r.Components)))
	for _, c := range r.Components {
		e.comp(c)
	}
}

// decoder reads records written by encoder. It never panics: a read past
// the end or an absurd length sets err, and every later read returns zero.
type decoder struct {
	buf   []byte
	err   error
	table []string
	base  int64
	ver   uint8 // the frame's record encoding: 0 is format 1, 2 is format 2, 3 is format 3
	// Format 3's references (see encoder): the record before's ingest time
	// (base until atSet), the record's time, the trace ID read last.
	prevAt  int64
	atSet   bool
	rt      int64
	lastTID tracing.TraceID
	// Slabs the frame's records take their keys, relations, log lines,
	// spans and invocations from: one allocation for many records instead
	// of one each (opening a recording allocates about half as often).
	// Every slice handed out is capped at its own length, so appending to
	// one never writes into the next.
	keys  []tracing.Key
	rels  []tracing.Relation
	logs  []tracing.LogRecord
	spans []tracing.Span
	invs  []tracing.Invocation
}

// slabSize is how many records' worth a slab holds.
const slabSize = 64

// take returns n zero elements from slab (refilled when short), capped at n.
// A refill is twice the last slab (from slabSize), so a decoder whose slabs
// are reused (see frameMem) soon takes a whole frame from one.
func take[T any](slab *[]T, n int) []T {
	if cap(*slab)-len(*slab) < n {
		*slab = make([]T, 0, max(n, slabSize, 2*cap(*slab)))
	}
	l := len(*slab)
	*slab = (*slab)[:l+n]
	return (*slab)[l : l+n : l+n]
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.buf = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) int() int {
	v := d.varint()
	if v > math.MaxInt32 || v < math.MinInt32 {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *decoder) byte1() uint8 {
	if len(d.buf) < 1 {
		d.fail()
		return 0
	}
	v := d.buf[0]
	d.buf = d.buf[1:]
	return v
}

func (d *decoder) bool() bool { return d.byte1() != 0 }

func (d *decoder) raw(n uint64) []byte {
	if n > uint64(len(d.buf)) {
		d.fail()
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) str() string { return string(d.raw(d.uvarint())) }

// str2 reads a field format 2 writes with pstr and format 1 with str.
func (d *decoder) str2() string {
	if d.ver >= 2 {
		return d.istr()
	}
	return d.str()
}

func (d *decoder) istr() string {
	n := d.uvarint()
	switch {
	case n == 0:
		return ""
	case n&1 == 1:
		s := string(d.raw(n >> 1))
		if d.err == nil && len(d.table) < 1<<16 {
			d.table = append(d.table, s)
		}
		return s
	}
	i := n>>1 - 1
	if i >= uint64(len(d.table)) {
		d.fail()
		return ""
	}
	return d.table[i]
}

// time reads a time inside a record (relative to the record's time in
// format 3, to the frame's base before).
func (d *decoder) time() time.Time { return d.timeAt(d.rt) }

func (d *decoder) timeAt(ref int64) time.Time {
	u := d.uvarint()
	if u == 0 {
		return time.Time{}
	}
	u--
	delta := int64(u>>1) ^ -int64(u&1)
	return time.Unix(0, ref+delta)
}

// traceID reads a trace ID: 16 bytes before format 3, else a byte saying
// none (0), the one read last (1) or 16 bytes (2).
func (d *decoder) traceID(t *tracing.TraceID) {
	if d.ver < 3 {
		d.fixed(t[:])
		return
	}
	switch d.byte1() {
	case 0:
	case 1:
		*t = d.lastTID
	case 2:
		d.fixed(t[:])
		d.lastTID = *t
	default:
		d.fail()
	}
}

// spanID reads a span ID written with encoder.spanID (format 3), or its 8
// bytes before.
func (d *decoder) spanID(s *tracing.SpanID) {
	if d.ver >= 3 {
		switch d.byte1() {
		case 0:
			return
		case 2:
		default:
			d.fail()
			return
		}
	}
	d.fixed(s[:])
}

func (d *decoder) dur() time.Duration { return time.Duration(d.varint()) }

// count reads a slice length, bounded by what is left (each element takes
// at least one byte), so a hostile length can't allocate much.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) smap() map[string]string {
	n := d.count()
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.istr()
		if d.ver >= 2 {
			m[k] = d.istr()
		} else {
			m[k] = d.str()
		}
	}
	return m
}

func (d *decoder) key() tracing.Key {
	k := tracing.Key{Kind: tracing.KeyKind(d.byte1())}
	if d.ver >= 2 || k.Kind == tracing.KeyRequestID || k.Kind == tracing.KeyTraceID || k.Kind == tracing.KeyCorrelation {
		k.Value = d.istr()
	} else {
		k.Value = d.str()
	}
	return k
}

func (d *decoder) comp() tracing.Component {
	k := d.byte1()
	if d.ver < 2 || k&compAt == 0 {
		return tracing.Component{Kind: tracing.ComponentKind(k), Name: d.istr()}
	}
	c := tracing.Component{Kind: tracing.ComponentKind(k &^ compAt), Name: d.istr()}
	c.Account = d.istr()
	c.Region = d.istr()
	return c
}

func (d *decoder) fixed(dst []byte) { copy(dst, d.raw(uint64(len(dst)))) }

// observation reads one record.
func (d *decoder) observation() (at time.Time, o tracing.Observation) {
	at = d.observationInto(&o)
	return at, o
}

// observationInto reads one record into o (zero on entry).
func (d *decoder) observationInto(o *tracing.Observation) (at time.Time) {
	if d.ver < 3 {
		d.rt = d.base
		at = d.time()
		o.Kind = tracing.ObsKind(d.byte1())
		o.Source = d.istr()
		o.Time = d.time()
	} else {
		if !d.atSet {
			d.prevAt, d.atSet = d.base, true
		}
		at = d.timeAt(d.prevAt)
		atRef := d.base
		if !at.IsZero() {
			atRef = at.UnixNano()
		}
		d.prevAt = atRef
		o.Kind = tracing.ObsKind(d.byte1())
		o.Source = d.istr()
		o.Time = d.timeAt(atRef)
		d.rt = atRef
		if !o.Time.IsZero() {
			d.rt = o.Time.UnixNano()
		}
	}
	o.Component = d.comp()
	if n := d.count(); n > 0 {
		o.Keys = take(&d.keys, n)[:0]
		for i := 0; i < n && d.err == nil; i++ {
			o.Keys = append(o.Keys, d.key())
		}
	}
	if n := d.count(); n > 0 {
		o.Relations = take(&d.rels, n)[:0]
		for i := 0; i < n && d.err == nil; i++ {
			r := tracing.Relation{From: d.key(), To: d.key()}
			r.Kind = tracing.RelKind(d.byte1())
			r.Evidence = d.istr()
			o.Relations = append(o.Relations, r)
		}
	}
	set := d.byte1()
	if set&1 != 0 {
		o.Span = d.span()
	}
	if set&2 != 0 {
		o.Log = d.log()
	}
	if set&4 != 0 {
		o.Invocation = d.invocation()
	}
	if set&8 != 0 {
		o.Message = d.message()
	}
	if set&16 != 0 {
		o.Function = d.function()
	}
	if set&32 != 0 {
		o.Queue = d.queue()
	}
	if set&64 != 0 {
		o.Routes = d.routes()
	}
	return at
}

func (d *decoder) span() *tracing.Span {
	s := &take(&d.spans, 1)[0]
	d.traceID(&s.TraceID)
	d.fixed(s.SpanID[:])
	d.spanID(&s.ParentID)
	s.Name = d.istr()
	s.Service = d.istr()
	s.Kind = tracing.SpanKind(d.byte1())
	s.Start = d.time()
	s.End = d.time()
	s.Status = tracing.StatusCode(d.byte1())
	s.StatusMessage = d.str()
	s.InProgress = d.bool()
	if n := d.count(); n > 0 {
		s.Links = make([]tracing.Link, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			var l tracing.Link
			d.fixed(l.TraceID[:])
			d.fixed(l.SpanID[:])
			l.Attrs = d.smap()
			s.Links = append(s.Links, l)
		}
	}
	s.Messaging.System = d.istr()
	s.Messaging.Operation = d.istr()
	s.Messaging.Destination = d.istr()
	s.Messaging.MessageID = d.str2()
	s.Messaging.BatchCount = d.int()
	s.InvocationID = d.istr()
	s.ColdStart = d.bool()
	s.Attrs = d.smap()
	if d.ver >= 2 {
		if n := d.count(); n > 0 {
			s.Events = make([]tracing.SpanEvent, 0, n)
			for i := 0; i < n && d.err == nil; i++ {
				ev := tracing.SpanEvent{Time: d.time(), Name: d.istr()}
				ev.Attrs = d.smap()
				s.Events = append(s.Events, ev)
			}
		}
	}
	return s
}

func (d *decoder) log() *tracing.LogRecord {
	l := &take(&d.logs, 1)[0]
	l.Time = d.time()
	l.Group = d.istr()
	l.Stream = d.istr()
	derived, made := false, false
	if d.ver >= 2 {
		switch k := d.byte1(); {
		case k == 0:
		case k == 1:
			derived = true
		case k == 2 && d.ver >= 3:
			derived, made = true, true
		default:
			d.fail()
		}
	}
	// When derived, the part between the stream and the message (format
	// 3's byte 2: "/", the line's time in Unix ms, "/"): the ID is made
	// whole below, in one allocation.
	var mid []byte
	var mb [24]byte
	switch {
	case made:
		mid = madeUpMid(mb[:0], l.Time)
	case derived:
		mid = d.raw(d.uvarint())
	default:
		l.EventID = d.str()
	}
	l.Kind = tracing.LogKind(d.byte1())
	l.Level = d.istr()
	l.RequestID = d.istr()
	d.traceID(&l.TraceID)
	if derived {
		// The message is the ID's tail: one string holds both.
		msg := d.raw(d.uvarint())
		if d.err == nil {
			// A Builder, not l.Stream + string(mid) + string(msg): the
			// conversion of a message over 32 bytes allocates a copy first.
			var b strings.Builder
			b.Grow(len(l.Stream) + len(mid) + len(msg))
			b.WriteString(l.Stream)
			b.Write(mid)
			b.Write(msg)
			l.EventID = b.String()
			l.Message = l.EventID[len(l.EventID)-len(msg):]
		}
	} else {
		l.Message = d.str()
	}
	l.EventType = d.istr()
	l.Reason = d.istr()
	return l
}

func (d *decoder) invocation() *tracing.Invocation {
	v := &take(&d.invs, 1)[0]
	v.Function = d.istr()
	v.RequestID = d.istr()
	v.Duration = d.dur()
	v.BilledDuration = d.dur()
	v.InitDuration = d.dur()
	v.RestoreDuration = d.dur()
	v.BilledRestoreDuration = d.dur()
	v.MemorySizeMB = d.int()
	v.MaxMemoryUsedMB = d.int()
	v.Status = tracing.InvocationStatus(d.byte1())
	v.ErrorType = d.istr()
	d.traceID(&v.TraceID)
	d.spanID(&v.SegmentID)
	return v
}

func (d *decoder) message() *tracing.Message {
	m := &tracing.Message{}
	m.Broker = tracing.BrokerKind(d.byte1())
	m.Queue = d.istr()
	m.ID = d.str2()
	m.Body = d.str()
	m.Attributes = d.smap()
	m.UserAttrs = d.smap()
	m.ReceiveCount = d.int()
	m.SentAt = d.time()
	m.FirstRecvAt = d.time()
	m.DeadLetter = d.bool()
	m.SourceQueue = d.istr()
	m.GroupID = d.istr()
	m.DedupID = d.str()
	if n := d.count(); n > 0 {
		m.Layers = make([]tracing.Envelope, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			l := tracing.Envelope{Kind: tracing.EnvelopeKind(d.byte1())}
			if k := d.count(); k > 0 {
				l.Keys = make([]tracing.Key, 0, k)
				for j := 0; j < k && d.err == nil; j++ {
					l.Keys = append(l.Keys, d.key())
				}
			}
			l.Type = d.istr()
			l.Source = d.istr()
			l.Time = d.time()
			l.TraceHeader = d.str()
			if d.ver >= 2 {
				l.Fingerprint = d.str()
			}
			m.Layers = append(m.Layers, l)
		}
	}
	m.Reason = d.istr()
	return m
}

func (d *decoder) function() *tracing.FunctionConfig {
	f := &tracing.FunctionConfig{}
	f.Name = d.istr()
	f.ARN = d.istr()
	f.MemoryMB = d.int()
	f.Architecture = d.istr()
	f.Timeout = d.dur()
	f.LogGroup = d.istr()
	f.LogFormat = d.istr()
	f.Tracing = d.istr()
	f.Runtime = d.istr()
	return f
}

func (d *decoder) queue() *tracing.QueueInfo {
	q := &tracing.QueueInfo{}
	q.Name = d.istr()
	q.URL = d.istr()
	q.ARN = d.istr()
	q.Depth = d.int()
	q.InFlight = d.int()
	q.OldestAge = d.dur()
	q.DeadLetterQueue = d.istr()
	q.MaxReceiveCount = d.int()
	q.IsDLQ = d.bool()
	if n := d.count(); n > 0 {
		q.Sources = make([]string, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			q.Sources = append(q.Sources, d.istr())
		}
	}
	q.FIFO = d.bool()
	return q
}

func (d *decoder) routes() *tracing.RouteSet {
	r := &tracing.RouteSet{}
	if n := d.count(); n > 0 {
		r.Scopes = make([]string, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			r.Scopes = append(r.Scopes, d.istr())
		}
	}
	if n := d.count(); n > 0 {
		r.Routes = make([]tracing.Route, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			rt := tracing.Route{From: d.comp(), To: d.comp()}
			rt.Via = d.istr()
			rt.Evidence = d.istr()
			rt.Attrs = d.smap()
			rt.Scope = d.istr()
			r.Routes = append(r.Routes, rt)
		}
	}
	if n := d.count(); n > 0 {
		r.Components = make([]tracing.Component, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			r.Components = append(r.Components, d.comp())
		}
	}
	return r
}
