package graph

import (
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"math"
	"strings"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// The graph holds up to millions of events, so their storage is compact and
// holds no Go pointers: records live in chunked slabs and refer to each other
// by int32 index (0 is "none"), and key strings live in a byte arena. The
// garbage collector never scans any of it, an event costs no allocation once
// the slabs are warm, and a message event is well under 200 bytes (see
// BenchmarkRetained1M). Everything here runs under the graph's write lock
// except the read-only helpers, which readers call under the read lock.

const (
	slabBits  = 12
	slabChunk = 1 << slabBits
)

// slab is a growable array of T in fixed chunks (no copying on growth, no
// doubling slack) with a free list. Index 0 is reserved for "none".
type slab[T any] struct {
	chunks [][]T
	mems   []*chunkMem // the chunks' mappings (offheap.go), kept so they stay mapped
	n      int32       // indexes handed out so far, including the reserved 0
	free   []int32
	live   int
}

func (s *slab[T]) alloc() int32 {
	s.live++
	if k := len(s.free); k > 0 {
		i := s.free[k-1]
		s.free = s.free[:k-1]
		return i
	}
	if s.n == 0 {
		s.n = 1
	}
	i := s.n
	if int(i>>slabBits) == len(s.chunks) {
		c, m := newChunk[T](slabChunk)
		s.chunks, s.mems = append(s.chunks, c), append(s.mems, m)
	}
	s.n++
	return i
}

func (s *slab[T]) at(i int32) *T { return &s.chunks[i>>slabBits][i&(slabChunk-1)] }

func (s *slab[T]) release(i int32) {
	var zero T
	*s.at(i) = zero
	s.free = append(s.free, i)
	s.live--
}

// ---- strings ----

const (
	arenaBits  = 20
	arenaChunk = 1 << arenaBits
	// maxKeyLen bounds one key value. Real IDs are far shorter (an S3 key is at
	// most 1,024 bytes); a longer value is cut, which cannot merge events that
	// were not already the same up to 4 KiB.
	maxKeyLen = 4096
)

// strRef locates a string in the arena: chunk<<arenaBits | offset, and the
// stored length, whose top bits name the packing pattern (see packings).
type strRef struct{ off, n uint32 }

const patShift = 29

// sharedBit marks a string whose first 16 bytes are those of the string
// written just before it (arena.putRaw): a span key ("trace/span", 24
// bytes packed) stored right after its trace ID (16) takes 8 bytes more.
const sharedBit = 1 << 28

func (r strRef) size() uint32 { return r.n & (sharedBit - 1) }

// own is how many of the string's bytes it alone refers to.
func (r strRef) own() int {
	if r.n&sharedBit != 0 {
		return int(r.size()) - 16
	}
	return int(r.size())
}
func (r strRef) pattern() int { return int(r.n >> patShift) }

// arena stores key strings back to back in 1 MiB chunks that hold no
// pointers. Bytes once written never change; space of dropped strings is
// reclaimed by compaction (store.compactArena).
type arena struct {
	chunks [][]byte
	mems   []*chunkMem // the chunks' mappings (offheap.go)
	total  int         // bytes written
	live   int         // bytes still referenced
	last   strRef      // the string written last, if a following one may share it
}

// free unmaps the arena's chunks; nothing may read them afterwards.
func (a *arena) free() {
	for _, m := range a.mems {
		m.free()
	}
	a.chunks, a.mems = nil, nil
}

// packings are the shapes of the IDs AWS and tracers hand out most, stored as
// the bytes their hex digits ('x') encode: a UUID (SQS, SNS and EventBridge
// ids, Lambda request IDs) takes 16 bytes instead of 36, a span key 24
// instead of 49. Only lowercase hex packs, so every string reads back exactly.
var packings = [...]string{
	1: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
	2: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	3: "1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx",
	4: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/xxxxxxxxxxxxxxxx",
}

// viewBuf holds an unpacked string (the longest packing).
type viewBuf [64]byte

// pack encodes s into out if it has one of the packings' shapes.
func pack(s string, out *[32]byte) (pattern, n int) {
	for p := 1; p < len(packings); p++ {
		pat := packings[p]
		if len(s) != len(pat) {
			continue
		}
		n = 0
		ok := true
		for i := 0; i < len(pat) && ok; i++ {
			if pat[i] != 'x' {
				ok = s[i] == pat[i]
				continue
			}
			hi, ok1 := lowerHex(s[i])
			lo, ok2 := lowerHex(s[i+1])
			ok = ok1 && ok2
			out[n] = hi<<4 | lo
			n++
			i++
		}
		if ok {
			return p, n
		}
	}
	return 0, 0
}

func unpack(pattern int, b []byte, out *viewBuf) []byte {
	const digits = "0123456789abcdef"
	pat := packings[pattern]
	j := 0
	for i := 0; i < len(pat); i++ {
		if pat[i] != 'x' {
			out[i] = pat[i]
			continue
		}
		out[i], out[i+1] = digits[b[j]>>4], digits[b[j]&15]
		j++
		i++
	}
	return out[:len(pat)]
}

// hexVal maps a lowercase hex digit to its value and anything else to 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
	}
	return t
}()

func lowerHex(c byte) (byte, bool) { v := hexVal[c]; return v, v != 0xff }

// put stores s, packed when it has a known shape.
func (a *arena) put(s string) strRef {
	if len(s) > maxKeyLen {
		s = s[:maxKeyLen]
	}
	var b [32]byte
	if p, n := pack(s, &b); p != 0 {
		return a.putRaw(b[:n], uint32(n)|uint32(p)<<patShift)
	}
	return a.putRaw([]byte(s), uint32(len(s)))
}

func (a *arena) putRaw(b []byte, n uint32) strRef {
	if len(b) == 0 {
		return strRef{}
	}
	n &^= sharedBit
	c := len(a.chunks) - 1
	// The string just written (16 bytes: a packed trace ID) is the start of
	// this one (a span key of that trace): write the rest after it.
	if l := a.last; l.n&sharedBit == 0 && l.size() == 16 && len(b) > 16 && c >= 0 && int(l.off>>arenaBits) == c &&
		len(a.chunks[c]) == int(l.off&(arenaChunk-1))+16 && len(a.chunks[c])+len(b)-16 <= arenaChunk &&
		string(a.chunks[c][len(a.chunks[c])-16:]) == string(b[:16]) {
		a.chunks[c] = append(a.chunks[c], b[16:]...)
		a.total += len(b) - 16
		a.live += len(b) - 16
		a.last = strRef{}
		return strRef{off: l.off, n: n | sharedBit}
	}
	if c < 0 || len(a.chunks[c])+len(b) > arenaChunk {
		ch, m := newChunk[byte](arenaChunk)
		a.chunks, a.mems = append(a.chunks, ch[:0]), append(a.mems, m)
		c++
	}
	off := len(a.chunks[c])
	a.chunks[c] = append(a.chunks[c], b...)
	a.total += len(b)
	a.live += len(b)
	r := strRef{off: uint32(c)<<arenaBits | uint32(off), n: n}
	a.last = r
	return r
}

// raw returns the stored bytes without copying or unpacking.
func (a *arena) raw(r strRef) []byte {
	if r.size() == 0 {
		return nil
	}
	c, off := r.off>>arenaBits, r.off&(arenaChunk-1)
	return a.chunks[c][off : off+r.size()]
}

// view returns the string's bytes, unpacking into buf; callers must not keep
// or modify them.
func (a *arena) view(r strRef, buf *viewBuf) []byte {
	if p := r.pattern(); p != 0 {
		return unpack(p, a.raw(r), buf)
	}
	return a.raw(r)
}

// equal reports whether the stored string is s, without allocating.
func (a *arena) equal(r strRef, s string) bool {
	if len(s) > maxKeyLen {
		s = s[:maxKeyLen]
	}
	if p := r.pattern(); p != 0 {
		var b [32]byte
		q, n := pack(s, &b)
		return q == p && string(a.raw(r)) == string(b[:n])
	}
	return string(a.raw(r)) == s
}

// str returns a copy of the string, safe to hand to readers.
func (a *arena) str(r strRef) string {
	var buf viewBuf
	return string(a.view(r, &buf))
}

func (a *arena) drop(r strRef) { a.live -= r.own() }

// interner gives small ids to the few distinct strings the graph repeats
// (components, evidence texts, event types). Id 0 is the zero value.
type interner[T comparable] struct {
	ids  map[T]int32
	vals []T
	max  int
}

func (in *interner[T]) id(v T) int32 {
	var zero T
	if v == zero {
		return 0
	}
	if id, ok := in.ids[v]; ok {
		return id
	}
	if in.ids == nil {
		in.ids = map[T]int32{}
		in.vals = []T{zero}
	}
	if in.max > 0 && len(in.vals) >= in.max {
		return 0 // full: a pathological source names too many distinct things
	}
	id := int32(len(in.vals))
	in.ids[v] = id
	in.vals = append(in.vals, v)
	return id
}

func (in *interner[T]) get(id int32) T {
	if id <= 0 || int(id) >= len(in.vals) {
		var zero T
		return zero
	}
	return in.vals[id]
}

// ---- records ----

// eventRec is one event (the root of its union of strong keys): 48 bytes.
// Its flags share the sequence number's word, and the few events with links
// (replays and redrives) keep them in store.links.
type eventRec struct {
	sf          uint64 // seq<<seqShift | flags
	first, last int64  // unix nanoseconds
	prev, next  int32  // LRU list, most recently active first
	keys        int32  // first keyRec of the event's list
	hops        int32  // first hopRec
	refs        int32  // first refRec
	meta        uint16 // interned {type, source} (the interner holds at most 1<<16)
	rev         uint16 // changes whenever the event does; readers' summary cache checks it
}

// seqShift leaves the low byte of eventRec.sf to the flags: 56 bits of
// sequence number outlast any process.
const seqShift = 8

func (r *eventRec) seq() uint64      { return r.sf >> seqShift }
func (r *eventRec) flags() uint8     { return uint8(r.sf) }
func (r *eventRec) addFlags(f uint8) { r.sf |= uint64(f) }

const (
	flagRedriven uint8 = 1 << iota
	flagReplayed
	flagHeld // a live event in the LRU list
)

// keyRec is one key of one event. Strong keys have one record; a weak key has
// one record per event it is attached to. Records whose hashes pick the same
// slot of store.index form a chain from it.
type keyRec struct {
	str   strRef
	ev    int32 // the event
	next  int32 // next key of the same event
	hnext int32 // hash chain
	kind  tracing.KeyKind
	weak  bool
	tag   uint16 // the hash's high bits: most records of a chain are told apart without reading the arena
}

// hopRec is one broker layer of an event: the key it had there, where it
// was, and the layer it carries (its causal parent).
type hopRec struct {
	at    int64
	key   int32 // keyRec of the event
	inner int32 // keyRec of the layer this one carries, or 0
	comp  int32 // interned component
	recv  int32
	next  int32
	evid  int32 // interned evidence
	kind  HopKind
	extra bool // g.hopExtra holds the DLQ body, attributes and source queue
}

// hopExtra is what only DLQ copies (and the source-queue hop a copy implies) carry.
type hopExtra struct {
	source   string
	body     string
	attrs    map[string]string
	evidence string
}

// refRec ties an invocation (or a span standing for one) to the key of the
// event it consumed or published: 36 bytes. Its component is an interned id
// (that interner holds at most 1<<16); how it was seen (evidence and
// confidence, interned together in store.hows, at most 1<<14) shares a
// 16-bit word with whether it published and whether it is slim. Its time is
// in halves (n64), so records pack at 4 bytes.
//
// A slim ref is a span's that names no request, on an event holding the
// span's trace ID as a weak key (attach adds it): a names that key's bytes
// in the arena (borrowed: they count as the key's) and b holds the span
// ID's 8 bytes themselves, so its span key costs no bytes of its own.
type refRec struct {
	at   n64    // unix nanoseconds
	a    strRef // the Lambda request ID; a slim ref's trace ID
	b    strRef // the span key ("trace/span"); a slim ref's span ID
	via  int32  // keyRec of the event
	next int32
	comp uint16
	how  uint16 // pubBit | slimBit | interned refHow
}

const (
	pubBit  = 1 << 15
	slimBit = 1 << 14
	howMask = slimBit - 1
)

func (f *refRec) pub() bool  { return f.how&pubBit != 0 }
func (f *refRec) slim() bool { return f.how&slimBit != 0 }

// req is the ref's request ID in the arena (zero: none).
func (f *refRec) req() strRef {
	if f.slim() {
		return strRef{}
	}
	return f.a
}

// hasSpan reports whether the ref names a span.
func (f *refRec) hasSpan() bool { return f.slim() || f.b.n != 0 }

// spanID is a slim ref's span ID.
func (f *refRec) spanID() (id [8]byte) {
	binary.LittleEndian.PutUint32(id[:4], f.b.off)
	binary.LittleEndian.PutUint32(id[4:], f.b.n)
	return id
}

// spanKey is the ref's span key, or "".
func (s *store) spanKey(f *refRec) string {
	if !f.slim() {
		return s.arena.str(f.b)
	}
	var buf [64 + 1 + 16]byte
	return string(s.slimKey(f, &buf))
}

// slimKey writes a slim ref's span key ("trace/span") into buf.
func (s *store) slimKey(f *refRec, buf *[64 + 1 + 16]byte) []byte {
	var vb viewBuf
	out := append(buf[:0], s.arena.view(f.a, &vb)...)
	out = append(out, '/')
	id := f.spanID()
	return hex.AppendEncode(out, id[:])
}

// spanIs reports whether the ref's span key is v, without allocating.
func (s *store) spanIs(f *refRec, v string) bool {
	if !f.slim() {
		return s.arena.equal(f.b, v)
	}
	var buf [64 + 1 + 16]byte
	return string(s.slimKey(f, &buf)) == v
}

// refTrace is the trace ID of the ref's span, or "".
func (s *store) refTrace(f *refRec) string {
	switch {
	case f.slim():
		return s.arena.str(f.a)
	case f.b.n == 0:
		return ""
	}
	tr, _, _ := strings.Cut(s.arena.str(f.b), "/")
	return tr
}

// setSpan names the ref's span: slim when the event holds the span's trace
// ID as a weak key of 16 stored bytes and the span ID is 16 lowercase hex
// digits, the key stored in the arena otherwise. The ref names no request.
func (s *store) setSpan(e int32, f *refRec, v string) {
	tr, sp, ok := strings.Cut(v, "/")
	var id [8]byte
	if ok && len(sp) == 16 {
		for i := 0; i < 8 && ok; i++ {
			hi, ok1 := lowerHex(sp[2*i])
			lo, ok2 := lowerHex(sp[2*i+1])
			id[i], ok = hi<<4|lo, ok1 && ok2
		}
		if ok {
			p := s.probe(tracing.KeyTraceID, tr)
			for i := s.ev(e).keys; i != 0; i = s.key(i).next {
				if k := s.key(i); k.weak && k.str.n&sharedBit == 0 && k.str.size() == 16 && s.keyIs(k, &p) {
					f.a = strRef{off: k.str.off, n: k.str.n | sharedBit} // own() is 0: the key's bytes
					f.b = strRef{off: binary.LittleEndian.Uint32(id[:4]), n: binary.LittleEndian.Uint32(id[4:])}
					f.how |= slimBit
					return
				}
			}
		}
	}
	f.b = s.arena.put(v)
}

// dropStrs releases the ref's strings in the arena.
func (s *store) dropStrs(f *refRec) {
	s.arena.drop(f.a) // a slim ref's trace ID owns no bytes
	if !f.slim() {
		s.arena.drop(f.b)
	}
}

// refHow is a ref's evidence (an interned id) and confidence in hundredths.
type refHow struct {
	evid int32
	conf uint8
}

// confOf is a confidence (0–1) in hundredths.
func confOf(c float64) uint8 { return uint8(math.Round(min(max(c, 0), 1) * 100)) }

// setHow sets a ref's evidence and confidence, keeping whether it published.
func (s *store) setHow(f *refRec, evidence string, conf float64) {
	f.how = f.how&^howMask | uint16(s.hows.id(refHow{s.evids.id(evidence), confOf(conf)}))
}

func (s *store) howOf(f *refRec) refHow { return s.hows.get(int32(f.how & howMask)) }

// linkRec ties an event to another it must never merge with: its original
// (this event replays or redrives it) or a copy of it. The other event is
// named by a strong key, so the link outlives that event's slot.
type linkRec struct {
	at    int64
	other strRef
	kind  tracing.KeyKind // the other key's kind
	rel   tracing.RelKind // RelReplayOf or RelRedriveOf
	copy  bool            // this event is the copy; the other is the original
	next  int32
}

type meta struct{ typ, source string }

// table is a hash table of chain heads: a power-of-two array of record
// indexes (0: none) picked by a hash's low bits, the chains running through
// the records themselves. An entry costs half to one slot of 4 bytes and no
// allocation; the array lives beside the slabs (offheap.go) and doubles, its
// chains rebuilt, once it holds more than loadFactor records a slot. (Two a
// slot on average: a key's record is told from its chain's others by a tag
// in the record, a trace by its ID, and a miss reads two records instead of
// one, which costs less than the 2 to 4 bytes a record a bigger array would.)
type table struct {
	heads []int32
	mem   *chunkMem
	n     int // records linked
	size  int // slots of the first array
}

const (
	loadFactor = 2
	minTable   = 1 << 10
	// maxPresized bounds the first array (4 MiB): its slots are written at
	// random, so every page of it is soon resident however few records it has.
	maxPresized = 1 << 20
)

// tableSize is the first array's size for about n records: relinking every
// record when the table doubles reads each record and its key's bytes, so a
// graph sized for n events starts with room for them. With a byte bound
// (Config.MaxBytes) it is also room for at most a 64th of that (a record
// and its share of an event take more than 64 bytes).
func tableSize(n int, maxBytes int64) int {
	if maxBytes > 0 {
		n = int(min(int64(n), maxBytes/64/4))
	}
	n /= loadFactor
	size := minTable
	for size < n && size < maxPresized {
		size *= 2
	}
	return size
}

func (t *table) slot(h uint32) *int32 { return &t.heads[h&uint32(len(t.heads)-1)] }

// head is the first record of the chain h picks, or 0.
func (t *table) head(h uint32) int32 {
	if len(t.heads) == 0 {
		return 0
	}
	return *t.slot(h)
}

// resize replaces the heads with a table of size slots and returns the old
// ones; the caller relinks the records, then frees mem.
func (t *table) resize(size int) (old []int32, mem *chunkMem) {
	old, mem = t.heads, t.mem
	t.heads, t.mem = newChunk[int32](size)
	return old, mem
}

// full reports whether one more record would exceed loadFactor a slot.
func (t *table) full() bool { return t.n+1 > loadFactor*len(t.heads) }

// store is the graph's compact event storage.
type store struct {
	events   slab[eventRec]
	keys     slab[keyRec]
	hops     slab[hopRec]
	refs     slab[refRec]
	links    slab[linkRec]
	evLinks  map[int32]int32 // event → its first linkRec: replays and redrives of, or by, it
	hopExtra map[int32]*hopExtra
	arena    arena
	index    table // key hash (folded) → first keyRec of its chain
	seed     maphash.Seed
	head     int32 // LRU: most recently active
	tail     int32
	compIDs  interner[tracing.Component]
	evids    interner[string]
	hows     interner[refHow]
	metas    interner[meta]

	compactions int

	// The change log the Flows filter's match sets apply (index.go): event
	// slots changed since logBase, each once since markFrom (marked bits).
	watch    bool
	changed  []int32
	marked   []uint64
	logBase  uint64
	markFrom uint64
}

// newStore makes the storage of a graph configured by cfg.
func newStore(cfg Config) store {
	return store{
		index:    table{size: tableSize(3*cfg.MaxEvents, cfg.MaxBytes)}, // a message and two weak keys (request, trace) an event, often
		hopExtra: map[int32]*hopExtra{},
		evLinks:  map[int32]int32{},
		seed:     maphash.MakeSeed(),
		compIDs:  interner[tracing.Component]{max: 1 << 16},
		evids:    interner[string]{max: 1 << 16},
		hows:     interner[refHow]{max: howMask + 1},
		metas:    interner[meta]{max: 1 << 16},
	}
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (s *store) ev(e int32) *eventRec { return s.events.at(e) }
func (s *store) key(k int32) *keyRec  { return s.keys.at(k) }
func (s *store) hop(h int32) *hopRec  { return s.hops.at(h) }
func (s *store) ref(r int32) *refRec  { return s.refs.at(r) }

// probe is one key to look up, hashed and packed once.
type probe struct {
	kind tracing.KeyKind
	v    string
	h    uint32
	pat  int
	n    int
	b    [32]byte
}

func (s *store) probe(kind tracing.KeyKind, v string) probe {
	if len(v) > maxKeyLen {
		v = v[:maxKeyLen]
	}
	p := probe{kind: kind, v: v}
	p.pat, p.n = pack(v, &p.b)
	if p.pat != 0 {
		p.h = fold(maphash.Bytes(s.seed, p.b[:p.n]), kind, p.pat)
	} else {
		p.h = fold(maphash.String(s.seed, v), kind, 0)
	}
	return p
}

// keyHash is a stored key's hash, as probe computes it: over the bytes as
// stored (packed or not), so nothing is unpacked to rehash.
func (s *store) keyHash(k *keyRec) uint32 {
	return fold(maphash.Bytes(s.seed, s.arena.raw(k.str)), k.kind, k.str.pattern())
}

// fold mixes in the key's kind and packing and keeps 32 bits: the low bits
// pick a slot of the table, the high 16 are the record's tag.
func fold(h uint64, kind tracing.KeyKind, pattern int) uint32 {
	h ^= uint64(kind)*0x9e3779b97f4a7c15 ^ uint64(pattern)*0xbf58476d1ce4e5b9
	return uint32(h>>32) ^ uint32(h)
}

func tagOf(h uint32) uint16 { return uint16(h >> 16) }

func (s *store) keyIs(k *keyRec, p *probe) bool {
	if k.tag != tagOf(p.h) || k.kind != p.kind || k.str.pattern() != p.pat {
		return false
	}
	if p.pat != 0 {
		return string(s.arena.raw(k.str)) == string(p.b[:p.n])
	}
	return string(s.arena.raw(k.str)) == p.v
}

// keyOf materializes a key for a reader.
func (s *store) keyOf(k int32) tracing.Key {
	if k == 0 {
		return tracing.Key{}
	}
	r := s.key(k)
	return tracing.Key{Kind: r.kind, Value: s.arena.str(r.str)}
}

// findStrong returns the record of a strong key, or 0.
func (s *store) findStrong(kind tracing.KeyKind, v string) int32 {
	p := s.probe(kind, v)
	return s.findStrongP(&p)
}

// chainHead is the first key record of the chain the hash h picks, or 0.
func (s *store) chainHead(h uint32) int32 { return s.index.head(h) }

func (s *store) findStrongP(p *probe) int32 {
	for i := s.index.head(p.h); i != 0; {
		k := s.key(i)
		if !k.weak && s.keyIs(k, p) {
			return i
		}
		i = k.hnext
	}
	return 0
}

// eachWeak calls fn with each event a weak key is attached to.
func (s *store) eachWeak(kind tracing.KeyKind, v string, fn func(e int32)) {
	p := s.probe(kind, v)
	for i := s.index.head(p.h); i != 0; {
		k := s.key(i)
		next := k.hnext
		if k.weak && s.keyIs(k, &p) {
			fn(k.ev)
		}
		i = next
	}
}

// addKey appends a key record to event e's list and the index. (head, the
// first record of the key's chain when the caller looked, is read again: the
// table may grow first.)
func (s *store) addKey(e int32, p *probe, weak bool, _ int32) int32 {
	if s.index.full() {
		s.growIndex()
	}
	head := s.index.head(p.h)
	i := s.keys.alloc()
	k := s.key(i)
	k.ev, k.kind, k.weak, k.tag = e, p.kind, weak, tagOf(p.h)
	if p.pat != 0 {
		k.str = s.arena.putRaw(p.b[:p.n], uint32(p.n)|uint32(p.pat)<<patShift)
	} else {
		k.str = s.arena.put(p.v)
	}
	k.hnext = head
	*s.index.slot(p.h) = i
	s.index.n++
	s.appendKey(e, i)
	return i
}

// growIndex doubles the key table and relinks every indexed key. Each old
// chain is relinked from its tail, so the records of one key keep their
// order (newest first) in the new chains.
func (s *store) growIndex() {
	old, mem := s.index.resize(max(s.index.size, minTable, 2*len(s.index.heads)))
	defer mem.free()
	var chain []int32
	for _, head := range old {
		chain = chain[:0]
		for i := head; i != 0; i = s.key(i).hnext {
			chain = append(chain, i)
		}
		for j := len(chain) - 1; j >= 0; j-- {
			i := chain[j]
			k := s.key(i)
			slot := s.index.slot(s.keyHash(k))
			k.hnext, *slot = *slot, i
		}
	}
}

func (s *store) appendKey(e, i int32) {
	s.mark(e)
	s.key(i).next = 0
	r := s.ev(e)
	if r.keys == 0 {
		r.keys = i
		return
	}
	last := r.keys
	for s.key(last).next != 0 {
		last = s.key(last).next
	}
	s.key(last).next = i
}

// dropKey removes a key record from the index and frees it (not from its event's list).
func (s *store) dropKey(i int32) {
	k := s.key(i)
	slot := s.index.slot(s.keyHash(k))
	if *slot == i {
		*slot = k.hnext
	} else {
		// Chains are short (one or two keys a slot), but a weak key shared by
		// many events (up to maxWeakFanout) is one chain of its records.
		p := *slot
		for p != 0 && s.key(p).hnext != i {
			p = s.key(p).hnext
		}
		if p != 0 {
			s.key(p).hnext = k.hnext
		}
	}
	s.index.n--
	s.arena.drop(k.str)
	s.keys.release(i)
}

// hasWeak reports whether event e already has the weak key.
func (s *store) hasWeak(e int32, p *probe) bool {
	for i := s.ev(e).keys; i != 0; i = s.key(i).next {
		if k := s.key(i); k.weak && s.keyIs(k, p) {
			return true
		}
	}
	return false
}

// weakFanout counts the events the weak key is attached to, up to limit,
// walking its hash chain from head.
func (s *store) weakFanout(p *probe, head int32, limit int) int {
	n := 0
	for i := head; i != 0 && n < limit; i = s.key(i).hnext {
		if k := s.key(i); k.weak && s.keyIs(k, p) {
			n++
		}
	}
	return n
}

// ---- LRU ----

func (s *store) lruPushFront(e int32) {
	s.mark(e)
	r := s.ev(e)
	r.prev, r.next = 0, s.head
	if s.head != 0 {
		s.ev(s.head).prev = e
	}
	s.head = e
	if s.tail == 0 {
		s.tail = e
	}
}

func (s *store) lruRemove(e int32) {
	s.mark(e)
	r := s.ev(e)
	if r.prev != 0 {
		s.ev(r.prev).next = r.next
	} else {
		s.head = r.next
	}
	if r.next != 0 {
		s.ev(r.next).prev = r.prev
	} else {
		s.tail = r.prev
	}
	r.prev, r.next = 0, 0
}

func (s *store) lruMoveFront(e int32) {
	if s.head == e {
		s.mark(e)
		return
	}
	s.lruRemove(e)
	s.lruPushFront(e)
}

// freeEvent releases an event's records (keys, hops, refs) and the event.
func (s *store) freeEvent(e int32) {
	r := s.ev(e)
	for i := r.keys; i != 0; {
		next := s.key(i).next
		s.dropKey(i)
		i = next
	}
	for i := r.hops; i != 0; {
		next := s.hop(i).next
		if s.hop(i).extra {
			delete(s.hopExtra, i)
		}
		s.hops.release(i)
		i = next
	}
	for i := r.refs; i != 0; {
		next := s.ref(i).next
		s.dropStrs(s.ref(i))
		s.refs.release(i)
		i = next
	}
	for i := s.evLinks[e]; i != 0; {
		next := s.links.at(i).next
		s.arena.drop(s.links.at(i).other)
		s.links.release(i)
		i = next
	}
	delete(s.evLinks, e)
	s.events.release(e)
}

// compactArena rewrites the arena with only the strings still referenced,
// once more than half of it (and at least 8 MiB) is dead. others moves the
// references held outside the store (spans).
func (s *store) compactArena(others func(move func(strRef) strRef)) {
	dead := s.arena.total - s.arena.live
	if dead < 8<<20 || dead < s.arena.live {
		return
	}
	var na arena
	move := func(r strRef) strRef { return na.putRaw(s.arena.raw(r), r.n) }
	for i := int32(1); i < s.keys.n; i++ {
		if k := s.keys.at(i); k.str.n != 0 {
			k.str = move(k.str)
		}
	}
	for i := int32(1); i < s.refs.n; i++ {
		if r := s.refs.at(i); r.via != 0 {
			r.a = move(r.a) // a slim ref's trace ID gets bytes of its own
			if !r.slim() {
				r.b = move(r.b)
			}
		}
	}
	for i := int32(1); i < s.links.n; i++ {
		if l := s.links.at(i); l.other.n != 0 {
			l.other = move(l.other)
		}
	}
	others(move)
	s.arena.free()
	s.arena = na
	s.compactions++
}

// ---- reading ----

// eventView is one event materialized for a reader (built under the read lock).
type eventView struct {
	id     int32
	seq    uint64
	strong []tracing.Key
	weak   []tracing.Key
	msgs   []*msgHop
	invs   []invRef
	pubs   []invRef
	links  []linkView
	typ    string
	source string
	first  time.Time
	last   time.Time
	flags  uint8
}

// msgHop is a broker layer as readers see it.
type msgHop struct {
	key      tracing.Key
	inner    tracing.Key
	kind     HopKind
	comp     tracing.Component
	at       time.Time
	recv     int
	source   string // DLQ: the source queue
	body     string // DLQ copies only
	attrs    map[string]string
	evidence string
}

// linkView is a link as readers see it.
type linkView struct {
	other tracing.Key
	rel   tracing.RelKind
	copy  bool
	at    time.Time
}

// invRef is a consumer or producer as readers see it.
type invRef struct {
	request  string
	span     tracing.Key
	via      tracing.Key
	comp     tracing.Component
	at       time.Time
	evidence string
	conf     float64
}

func (s *store) view(e int32) *eventView { return s.viewOf(e, true) }

// viewOf is view; without weak keys unless weak (the list's summaries need none).
func (s *store) viewOf(e int32, weak bool) *eventView {
	r := s.ev(e)
	m := s.metas.get(int32(r.meta))
	v := &eventView{id: e, seq: r.seq(), typ: m.typ, source: m.source, first: fromNanos(r.first), last: fromNanos(r.last), flags: r.flags()}
	for i := r.keys; i != 0; i = s.key(i).next {
		if s.key(i).weak {
			if weak {
				v.weak = append(v.weak, s.keyOf(i))
			}
		} else {
			v.strong = append(v.strong, s.keyOf(i))
		}
	}
	for i := r.hops; i != 0; i = s.hop(i).next {
		h := s.hop(i)
		m := &msgHop{key: s.keyOf(h.key), inner: s.keyOf(h.inner), kind: h.kind, comp: s.compIDs.get(h.comp), at: fromNanos(h.at), recv: int(h.recv), evidence: s.evids.get(h.evid)}
		if x := s.hopExtra[i]; h.extra && x != nil {
			m.source, m.body, m.attrs = x.source, x.body, x.attrs
			if x.evidence != "" {
				m.evidence = x.evidence
			}
		}
		v.msgs = append(v.msgs, m)
	}
	for i := r.refs; i != 0; i = s.ref(i).next {
		f := s.ref(i)
		how := s.howOf(f)
		ref := invRef{request: s.arena.str(f.req()), via: s.keyOf(f.via), comp: s.compIDs.get(int32(f.comp)), at: fromNanos(f.at.get()), evidence: s.evids.get(how.evid), conf: float64(how.conf) / 100}
		if f.hasSpan() {
			ref.span = tracing.Key{Kind: tracing.KeySpanID, Value: s.spanKey(f)}
		}
		if f.pub() {
			v.pubs = append(v.pubs, ref)
		} else {
			v.invs = append(v.invs, ref)
		}
	}
	for i := s.evLinks[e]; i != 0; i = s.links.at(i).next {
		l := s.links.at(i)
		v.links = append(v.links, linkView{other: tracing.Key{Kind: l.kind, Value: s.arena.str(l.other)}, rel: l.rel, copy: l.copy, at: fromNanos(l.at)})
	}
	return v
}
