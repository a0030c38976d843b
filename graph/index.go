package graph

import (
	"bytes"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// The Flows filter over a million held events answers from a cache of match
// sets, not from a scan per keystroke and never from a scan per refresh:
//
//   - A match set is one bit per event slot for one filter (its words and
//     status term), exact as of the change log position it has applied.
//   - Ingest logs each event slot it changes (once, however often it changes)
//     while some match set is held. A read applies the log: only the changed
//     events are matched again. With nothing ingested a standing filter does
//     no work at all.
//   - A filter that extends a held one ("ord" → "orde") is matched only
//     against the held one's members: an event that does not contain "ord"
//     cannot contain "orde". Backspace finds the shorter filter's set held.
//   - Only a filter unlike every held one scans the held events, once, and
//     not all at once: a new set starts incomplete. A progressive read
//     (FlowQuery.Progressive, what the console asks) decides a bounded slice
//     of slots (progressiveBudget of wall time), then walks the list newest
//     first deciding the events it meets until the page is full, and answers
//     with FlowPage.Partial set and the count found so far; the next read
//     goes on where it stopped. A narrowing starts incomplete too, its
//     candidates the events the held set did not rule out. An exact read
//     (Progressive unset) completes the set before answering.
//   - Field terms (status:, type:, source:, fn:, queue:) are matched from
//     the event's row (its summary, cached by slot, or its lineage) after
//     its words, over every held event, through the same sets. Such a set
//     is redone when the consumer map changes and re-matches the members
//     whose status the clock alone can change when that time comes.
//
// The sets answer which events match; the page itself is cut by walking the
// list order and testing bits, and the walk is remembered while the graph's
// version stands still. Once a set is complete, a read with nothing
// ingested does no work but that page cut's memo check.

// maxFilterSets is how many filters keep their match sets: enough for the
// keystrokes of one query (an ID prefix of 13 characters, say) and
// backspace over all of them. A set over 1M events is 128 KiB.
const maxFilterSets = 16

// search is the graph's filter cache. Readers fill it under the graph's read
// lock, so it has its own mutex; the change log it reads is written by ingest
// under the write lock (store.mark).
type search struct {
	mu   sync.Mutex
	sets []*filterSet // most recently used first
	use  uint64

	// Figures for tests and benchmarks: full scans, narrowings, single
	// event matches, and pages answered without walking.
	scans, narrows, evals, pageHits uint64

	parallelFrom int // tests lower it; 0 is the const parallelFrom
	// sliceEvals, when set (tests), bounds a progressive read by event
	// matches instead of by wall time: deterministic slices.
	sliceEvals int
	chunk      int    // tests lower it; 0 is the const chunkWords
	partials   uint64 // progressive reads answered before their set was complete
}

// progressiveBudget is the wall time a progressive read spends deciding
// slots (the rest of its 50 ms goes to the page's rows, the lock and a busy machine).
const progressiveBudget = 15 * time.Millisecond

// scanShare is the part of a progressive read's budget that decides slots
// in slot order (on every core for words only); the page walk gets the rest.
const scanShare = 0.6

// chunkWords is how many bitset words (64 slots each) one parallel step of
// a progressive scan decides before the budget is looked at again.
const chunkWords = 512

// budget bounds the work of one read: wall time, or (tests) event matches.
// A nil budget is unbounded.
type budget struct {
	start    time.Time
	limit    time.Duration
	evals    int
	maxEvals int
	checked  int
	over     bool
}

func (sr *search) newBudget(limit time.Duration) *budget {
	return &budget{start: time.Now(), limit: limit, maxEvals: sr.sliceEvals}
}

// spend counts n units of work (event matches or list steps).
func (b *budget) spend(n int) {
	if b != nil {
		b.evals += n
	}
}

// exhausted reports whether the budget is spent; the clock is read every
// 16 units of work at most.
func (b *budget) exhausted() bool {
	switch {
	case b == nil:
		return false
	case b.over:
		return true
	case b.maxEvals > 0:
		b.over = b.evals >= b.maxEvals
	case b.evals-b.checked >= 16 || b.evals == 0:
		b.checked = b.evals
		b.over = time.Since(b.start) >= b.limit
	}
	return b.over
}

// within returns a budget with the same start and a part of its limit.
func (b *budget) within(share float64) *budget {
	if b == nil {
		return nil
	}
	c := *b
	c.limit = time.Duration(float64(b.limit) * share)
	if c.maxEvals > 0 {
		c.maxEvals = max(1, int(float64(b.maxEvals)*share))
	}
	return &c
}

func (sr *search) parallelAt() int {
	if sr.parallelFrom > 0 {
		return sr.parallelFrom
	}
	return parallelFrom
}

// filterSet is the match set of one filter.
type filterSet struct {
	words  []string    // lower case; an event matches when it contains every one
	status string      // "" or a term its status name must contain
	fields []FieldTerm // lower case; terms on the event's row
	// rowTerms: status or fields are matched from the row (summary or
	// lineage), under cacheMu, and the clock can change the answer;
	// lineage: some field needs the whole lineage, not the summary.
	rowTerms, lineage bool
	bits              []uint64 // by event slot
	count             int      // bits set
	// While the set is incomplete (known != nil), slots below next and
	// those known holds are decided (known: a held event, matched); the
	// rest wait for a later slice. cand, when not nil, holds the slots a
	// narrowing must still match: the others were ruled out by the set it
	// narrows (a slot past its end is a candidate).
	known   []uint64
	knownN  int
	cand    []uint64
	next    int32
	pos     uint64 // change log position applied
	consGen uint64 // the consumer map the statuses were derived with
	// timed lists members (with a status term) whose status changes with
	// the clock alone, and staleAt is the earliest such change.
	timed   []int32
	staleAt int64
	// Interned names (event meta, components) match or not once per filter:
	// 0 unknown, 1 no, 2 yes.
	metaHit, compHit []uint8
	hexOnly          []bool   // per word: could match a packed (hex) key
	wordBytes        [][]byte // the words as bytes
	// hex holds, per word of hex digits only, what finds it in a packed
	// key without unpacking (see packedHas); nil for other words.
	hex  []*hexWord
	used uint64
	page pageMemo
}

// pageMemo is the last page cut from a set, reused while nothing changed.
type pageMemo struct {
	ok      bool
	version uint64
	sort    FlowSort
	invert  bool
	offset  int
	limit   int
	rows    []eventRef
	matched int
}

func (f *filterSet) has(e int32) bool {
	w := int(e >> 6)
	return w < len(f.bits) && f.bits[w]&(1<<(uint(e)&63)) != 0
}

func (f *filterSet) set(e int32, on bool) {
	w := int(e >> 6)
	if w >= len(f.bits) {
		if !on {
			return
		}
		f.bits = append(f.bits, make([]uint64, w+1-len(f.bits))...)
	}
	m := uint64(1) << (uint(e) & 63)
	switch was := f.bits[w]&m != 0; {
	case on && !was:
		f.bits[w] |= m
		f.count++
	case !on && was:
		f.bits[w] &^= m
		f.count--
	}
}

// implies reports whether every event matching f also matches o, so f can be
// found among o's members. Only a set of words alone is narrowed from: a
// row term's answer can change with the clock without a logged change, so
// its non-members are no proof.
func (f *filterSet) implies(o *filterSet) bool {
	if o.rowTerms {
		return false
	}
	for _, ow := range o.words {
		found := false
		for _, fw := range f.words {
			if strings.Contains(fw, ow) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func sameFilter(a, b *filterSet) bool {
	return a.status == b.status && slices.Equal(a.words, b.words) && slices.Equal(a.fields, b.fields)
}

// complete reports whether every held event is decided.
func (f *filterSet) complete() bool { return f.known == nil }

// decided reports whether slot e's bit is its answer.
func (f *filterSet) decided(e int32) bool {
	if f.known == nil || e < f.next {
		return true
	}
	w := int(e >> 6)
	return w < len(f.known) && f.known[w]&(1<<(uint(e)&63)) != 0
}

// candidate reports whether a narrowing must match slot e itself.
func (f *filterSet) candidate(e int32) bool {
	w := int(e >> 6)
	return f.cand == nil || w >= len(f.cand) || f.cand[w]&(1<<(uint(e)&63)) != 0
}

func (f *filterSet) setKnown(e int32, on bool) {
	if f.known == nil {
		return
	}
	w := int(e >> 6)
	if w >= len(f.known) {
		if !on {
			return
		}
		f.known = append(f.known, make([]uint64, w+1-len(f.known))...)
	}
	m := uint64(1) << (uint(e) & 63)
	switch was := f.known[w]&m != 0; {
	case on && !was:
		f.known[w] |= m
		f.knownN++
	case !on && was:
		f.known[w] &^= m
		f.knownN--
	}
}

// restart makes f an empty, incomplete set over slots that number n.
func (f *filterSet) restart(n int32) {
	words := int(n+63) / 64
	f.bits = append(f.bits[:0], make([]uint64, words)...)
	f.known = make([]uint64, words)
	f.count, f.knownN, f.next, f.cand = 0, 0, 0, nil
	f.timed, f.staleAt = f.timed[:0], 0
	f.page.ok = false
}

// finish marks f complete: every slot below next is decided, and the log
// keeps it exact from here.
func (f *filterSet) finish() {
	f.known, f.knownN, f.cand = nil, 0, nil
	f.page.ok = false
}

// soFar is how many events f has found to match so far (not to match,
// inverted: the held events it decided do not, those a narrowing ruled out
// unmet not counted); exact once f is complete, with live the held events.
func (f *filterSet) soFar(invert bool, live int) int {
	switch {
	case !invert:
		return f.count
	case f.complete():
		return live - f.count
	}
	return f.knownN - f.count
}

// narrowing returns the candidates of a set that implies f: the slots f
// has not ruled out.
func (f *filterSet) narrowing() []uint64 {
	if f.complete() {
		return slices.Clone(f.bits)
	}
	cand := make([]uint64, len(f.known))
	for w := range cand {
		var b uint64
		if w < len(f.bits) {
			b = f.bits[w]
		}
		cand[w] = ^(f.known[w] &^ b)
	}
	// A slot f has not decided stays a candidate; one that changed
	// since is in the log, and matched from there.
	return cand
}

// maxWords is how many words of a filter are matched; the rest are ignored.
const maxWords = 16

// newFilterSet parses a query's filter: words separated by spaces,
// lower-cased, its status and its field terms.
func newFilterSet(q FlowQuery) *filterSet {
	f := &filterSet{words: strings.Fields(strings.ToLower(q.Filter)), status: strings.ToLower(strings.TrimSpace(q.Status))}
	if len(f.words) > maxWords {
		f.words = f.words[:maxWords]
	}
	for _, t := range q.Fields {
		t = FieldTerm{Key: strings.ToLower(strings.TrimSpace(t.Key)), Value: strings.ToLower(strings.TrimSpace(t.Value))}
		if t.Value == "" || len(f.fields) >= maxWords {
			continue
		}
		f.fields = append(f.fields, t)
		switch t.Key {
		case "source", "fn", "queue":
			f.lineage = true
		}
	}
	f.rowTerms = f.status != "" || len(f.fields) > 0
	f.hexOnly = make([]bool, len(f.words))
	for i, w := range f.words {
		f.hexOnly[i] = strings.Trim(w, "0123456789abcdef-/") == ""
		f.wordBytes = append(f.wordBytes, []byte(w))
		f.hex = append(f.hex, newHexWord(w))
	}
	return f
}

// ---- the change log (written by ingest) ----

// maxLog bounds the change log: past it ingest stops logging and every held
// set is rebuilt on its next use, which costs no more than applying so long
// a log would.
func (s *store) maxLog() int { return max(1<<16, s.events.live/2) }

// mark logs that event slot e changed. Ingest calls it wherever an event's
// keys, hops, consumers or derived figures change (every place that bumps
// its rev or moves it in the LRU list). A slot is logged once until a reader
// next brings a set up to the log's end.
func (s *store) mark(e int32) {
	if !s.watch || e <= 0 {
		return
	}
	w := int(e >> 6)
	if w >= len(s.marked) {
		s.marked = append(s.marked, make([]uint64, w+1-len(s.marked))...)
	}
	m := uint64(1) << (uint(e) & 63)
	if s.marked[w]&m != 0 {
		return
	}
	if len(s.changed) >= s.maxLog() {
		s.overflowLog()
		return
	}
	s.marked[w] |= m
	s.changed = append(s.changed, e)
}

// bump records a change to event e readers can see: its cached summary and
// the match sets holding it are rebuilt.
func (s *store) bump(e int32) {
	s.ev(e).rev++
	s.mark(e)
}

// logEnd is the change log position after the last logged change.
func (s *store) logEnd() uint64 { return s.logBase + uint64(len(s.changed)) }

// unmark clears the marks of the log from markFrom on: a set has applied
// the whole log, so a later change must be logged again for it.
func (s *store) unmark() {
	if s.markFrom < s.logBase {
		s.markFrom = s.logBase
	}
	for _, e := range s.changed[s.markFrom-s.logBase:] {
		s.marked[e>>6] &^= 1 << (uint(e) & 63)
	}
	s.markFrom = s.logEnd()
}

// trimLog forgets the changes before position from, which every held set has applied.
func (s *store) trimLog(from uint64) {
	if from <= s.logBase {
		return
	}
	if s.markFrom < from {
		s.unmark()
	}
	n := int(from - s.logBase)
	s.changed = append(s.changed[:0], s.changed[n:]...)
	s.logBase = from
}

// overflowLog drops the change log when it would outgrow its bound: the
// held sets are rebuilt on their next use, and nothing is logged until then.
func (s *store) overflowLog() {
	s.unmark()
	s.logBase += uint64(len(s.changed)) + 1 // past every set's position
	s.markFrom = s.logBase
	s.changed = s.changed[:0]
	s.watch = false
}

// ---- matching ----

// hexPairs unpacks a byte into its two lowercase hex digits.
var hexPairs = func() (t [256][2]byte) {
	const digits = "0123456789abcdef"
	for i := range t {
		t[i] = [2]byte{digits[i>>4], digits[i&15]}
	}
	return t
}()

// unpackFast is unpack with a table.
func unpackFast(pattern int, b []byte, out *viewBuf) []byte {
	pat := packings[pattern]
	j := 0
	for i := 0; i < len(pat); i++ {
		if pat[i] != 'x' {
			out[i] = pat[i]
			continue
		}
		p := hexPairs[b[j]]
		out[i], out[i+1] = p[0], p[1]
		j++
		i++
	}
	return out[:len(pat)]
}

// hexWord is a word of hex digits, ready to be found in packed keys.
type hexWord struct {
	nib   []byte // the digits' values
	core0 []byte // w's digit pairs from w[0] as stored bytes (a match starting on a pair)
	core1 []byte // w's digit pairs from w[1] (a match starting inside one)
	one   [256]bool
}

func newHexWord(w string) *hexWord {
	h := &hexWord{}
	for i := 0; i < len(w); i++ {
		v := hexVal[w[i]]
		if v == 0xff {
			return nil
		}
		h.nib = append(h.nib, v)
	}
	if len(h.nib) == 0 {
		return nil
	}
	for i := 0; i+1 < len(h.nib); i += 2 {
		h.core0 = append(h.core0, h.nib[i]<<4|h.nib[i+1])
	}
	for i := 1; i+1 < len(h.nib); i += 2 {
		h.core1 = append(h.core1, h.nib[i]<<4|h.nib[i+1])
	}
	for b := range h.one {
		h.one[b] = byte(b)>>4 == h.nib[0] || byte(b)&15 == h.nib[0]
	}
	return h
}

// groupEnds are, per packing, where each run of hex digits ends, in digits
// (the packing's punctuation sits between runs).
var groupEnds = [...][]int{
	1: {8, 12, 16, 20, 32},
	2: {32},
	3: {8, 32},
	4: {32, 48},
}

// packedHas reports whether a key packed with pattern p holds the digits h
// when unpacked. Every run of digits has an even length, so stored bytes
// are digit pairs that never straddle punctuation: a match starts on a pair
// (its first two digits are a stored byte) or inside one (its second and
// third are), and must not cross the end of its run.
func packedHas(p int, raw []byte, h *hexWord) bool {
	n := len(h.nib)
	if n == 1 {
		if p == 3 && h.nib[0] == 1 {
			return true // the "1-" an X-Ray trace ID starts with
		}
		for _, b := range raw {
			if h.one[b] {
				return true
			}
		}
		return false
	}
	nib := func(k int) byte {
		b := raw[k>>1]
		if k&1 == 0 {
			return b >> 4
		}
		return b & 15
	}
	at := func(start int) bool {
		if start < 0 || start+n > 2*len(raw) {
			return false
		}
		for _, end := range groupEnds[p] {
			if start < end {
				if start+n > end {
					return false
				}
				break
			}
		}
		for i := 1; i < n; i++ {
			if nib(start+i) != h.nib[i] {
				return false
			}
		}
		return nib(start) == h.nib[0]
	}
	for j := 0; j < len(raw); j++ {
		k := bytes.Index(raw[j:], h.core0)
		if k < 0 {
			break
		}
		j += k
		if at(2 * j) {
			return true
		}
	}
	if n == 2 {
		for j := 0; j+1 < len(raw); j++ {
			if raw[j]&15 == h.nib[0] && raw[j+1]>>4 == h.nib[1] && at(2*j+1) {
				return true
			}
		}
		return false
	}
	for j := 1; j < len(raw); j++ {
		k := bytes.Index(raw[j:], h.core1)
		if k < 0 {
			break
		}
		j += k
		if at(2*j - 1) {
			return true
		}
	}
	return false
}

// textMatch reports whether event e contains every word of f: in its type
// or source, one of its keys, or a component it passed or was consumed by.
func (g *Graph) textMatch(f *filterSet, e int32) bool {
	if len(f.words) == 0 {
		return true
	}
	s := &g.s
	r := s.ev(e)
	var buf viewBuf
	left := uint32(1)<<len(f.words) - 1 // words not found yet
	hit := func(i int) {
		left &^= 1 << uint(i)
	}
	if r.meta != 0 {
		for i, w := range f.words {
			if left&(1<<uint(i)) != 0 && nameHit(&f.metaHit, int32(r.meta), len(f.words), i, func() bool {
				m := s.metas.get(int32(r.meta))
				return strings.Contains(strings.ToLower(m.typ), w) || strings.Contains(strings.ToLower(m.source), w)
			}) {
				hit(i)
			}
		}
	}
	for k := r.keys; k != 0 && left != 0; k = s.key(k).next {
		kr := s.key(k)
		raw := s.arena.raw(kr.str)
		p := kr.str.pattern()
		var text []byte
		for i, w := range f.words {
			if left&(1<<uint(i)) == 0 {
				continue
			}
			if p != 0 {
				if !f.hexOnly[i] {
					continue
				}
				if h := f.hex[i]; h != nil {
					if packedHas(p, raw, h) {
						hit(i)
					}
					continue
				}
				if text == nil {
					text = unpackFast(p, raw, &buf)
				}
				if bytes.Contains(text, f.wordBytes[i]) {
					hit(i)
				}
			} else if containsFold(raw, w) {
				hit(i)
			}
		}
	}
	for h := r.hops; h != 0 && left != 0; h = s.hop(h).next {
		c := s.hop(h).comp
		for i, w := range f.words {
			if left&(1<<uint(i)) != 0 && g.compHit(f, c, i, w) {
				hit(i)
			}
		}
	}
	for x := r.refs; x != 0 && left != 0; x = s.ref(x).next {
		if rf := s.ref(x); !rf.pub() {
			for i, w := range f.words {
				if left&(1<<uint(i)) != 0 && g.compHit(f, int32(rf.comp), i, w) {
					hit(i)
				}
			}
		}
	}
	return left == 0
}

func (g *Graph) compHit(f *filterSet, c int32, i int, w string) bool {
	return nameHit(&f.compHit, c, len(f.words), i, func() bool {
		return strings.Contains(strings.ToLower(g.s.compIDs.get(c).Name), w)
	})
}

// nameHit answers, once per interned name and word, whether the name holds the word.
func nameHit(memo *[]uint8, id int32, words, i int, match func() bool) bool {
	at := int(id)*words + i
	if at >= len(*memo) {
		*memo = append(*memo, make([]uint8, at+1-len(*memo))...)
	}
	switch (*memo)[at] {
	case 1:
		return false
	case 2:
		return true
	}
	ok := match()
	(*memo)[at] = 1
	if ok {
		(*memo)[at] = 2
	}
	return ok
}

// eval matches one event slot against f and records the answer. The caller
// holds the graph's read lock, search.mu and, with row terms, cacheMu.
func (g *Graph) eval(f *filterSet, e int32, now time.Time) {
	g.search.evals++
	held := g.s.ev(e).flags()&flagHeld != 0
	ok := held && g.textMatch(f, e)
	if ok && f.rowTerms {
		ok = g.rowMatch(f, e, now)
	}
	f.set(e, ok)
	f.setKnown(e, held)
}

// rowMatch reports whether event e's row holds f's status and field terms,
// and lists e in f.timed when the clock alone can change its row. The
// caller holds cacheMu.
func (g *Graph) rowMatch(f *filterSet, e int32, now time.Time) bool {
	var sum summary
	var l Lineage
	if f.lineage {
		var stale time.Time
		l, stale = g.build(g.s.viewOf(e, false), false)
		sum = g.keepSummary(e, &l, stale)
	} else {
		sum = g.summarize(e, now)
	}
	if sum.staleAt != 0 {
		f.timed = append(f.timed, e)
		if f.staleAt == 0 || sum.staleAt < f.staleAt {
			f.staleAt = sum.staleAt
		}
	}
	if f.status != "" && !strings.Contains(sum.status.String(), f.status) {
		return false
	}
	for _, t := range f.fields {
		var v string
		switch t.Key {
		case "status":
			v = sum.status.String()
		case "type":
			v = g.s.metas.get(int32(g.s.ev(e).meta)).typ // a row's Type is its event's
		case "source":
			v = l.Source
		case "fn", "queue":
			v = l.Source + " " + l.LastHop
		}
		if !strings.Contains(strings.ToLower(v), t.Value) {
			return false
		}
	}
	return true
}

// advance decides f's slots from f.next on until the budget is spent or
// every slot is, and then marks f complete. Words alone over many slots
// are matched on every core, a chunk of slots at a time.
func (g *Graph) advance(f *filterSet, now time.Time, b *budget) {
	if f.complete() {
		return
	}
	n := g.s.events.n
	if !f.rowTerms && int(n) > g.search.parallelAt() {
		if f.next == 0 && f.cand == nil {
			g.search.scans++
		}
		for f.next < n && !b.exhausted() {
			// Slots of word lo below next are known when held.
			lo := int(f.next) >> 6
			chunk := chunkWords
			if g.search.chunk > 0 {
				chunk = g.search.chunk
			}
			hi := min(lo+chunk, int(n+63)>>6)
			if b == nil {
				hi = int(n+63) >> 6
			}
			b.spend(g.matchWords(f, lo, hi))
			f.next = int32(hi << 6)
		}
	} else {
		if f.next == 0 && f.cand == nil {
			g.search.scans++
		}
		if f.rowTerms {
			g.cacheMu.Lock()
			defer g.cacheMu.Unlock()
		}
		// Slot order, not list order: the slabs are read front to back.
		for ; f.next < n && !b.exhausted(); f.next++ {
			e := f.next
			if e == 0 || g.s.ev(e).flags()&flagHeld == 0 || f.decided(e) {
				continue
			}
			if f.candidate(e) {
				g.eval(f, e, now)
				b.spend(1)
			}
		}
	}
	if f.next >= n {
		f.finish()
	}
}

// parallelFrom is the number of slots from which a filter without a row
// term is matched on every core: a keystroke over a million events then
// takes its share of the cores, not all of one.
const parallelFrom = 1 << 16

// matchWords decides the undecided slots of bitset words [lo, hi) of f, a
// set of words alone, on every core, and returns how many events it
// matched. Each worker owns whole words of the bitsets; the interned names'
// answers are filled in first, so the workers only read shared state.
func (g *Graph) matchWords(f *filterSet, lo, hi int) int {
	if lo >= hi {
		return 0
	}
	// Id 0 (no name) too: an interner that never took a name has no vals.
	for id := int32(0); id < int32(max(1, len(g.s.metas.vals))); id++ {
		for i, w := range f.words {
			m := g.s.metas.get(id)
			nameHit(&f.metaHit, id, len(f.words), i, func() bool {
				return strings.Contains(strings.ToLower(m.typ), w) || strings.Contains(strings.ToLower(m.source), w)
			})
		}
	}
	for id := int32(0); id < int32(max(1, len(g.s.compIDs.vals))); id++ {
		for i, w := range f.words {
			g.compHit(f, id, i, w)
		}
	}
	if len(f.bits) < hi {
		f.bits = append(f.bits, make([]uint64, hi-len(f.bits))...)
	}
	if len(f.known) < hi {
		f.known = append(f.known, make([]uint64, hi-len(f.known))...)
	}
	n := g.s.events.n
	workers := max(1, min(runtime.GOMAXPROCS(0), 8))
	per := (hi - lo + workers - 1) / workers
	counts := make([]int, workers)
	knowns := make([]int, workers)
	evals := make([]int, workers)
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		a, z := lo+k*per, min(lo+(k+1)*per, hi)
		if a >= z {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := a; w < z; w++ {
				cand := ^uint64(0)
				if f.cand != nil && w < len(f.cand) {
					cand = f.cand[w]
				}
				if cand == 0 {
					continue // ruled out: decided once next passes them
				}
				var out, held uint64
				for open := ^f.known[w]; open != 0; {
					b := bits.TrailingZeros64(open)
					open &^= 1 << uint(b)
					e := int32(w<<6 | b)
					if e == 0 || e >= n || g.s.ev(e).flags()&flagHeld == 0 {
						continue
					}
					held |= 1 << uint(b)
					if cand&(1<<uint(b)) == 0 {
						continue
					}
					evals[k]++
					if g.textMatch(f, e) {
						out |= 1 << uint(b)
					}
				}
				// Undecided slots had no bit: out only adds.
				f.bits[w] |= out
				f.known[w] |= held
				counts[k] += bits.OnesCount64(out)
				knowns[k] += bits.OnesCount64(held)
			}
		}()
	}
	wg.Wait()
	total := 0
	for k := range counts {
		f.count += counts[k]
		f.knownN += knowns[k]
		g.search.evals += uint64(evals[k])
		total += evals[k]
	}
	return total
}

// catchUp applies the change log (and, with row terms, the consumer map
// and the clock) to f, so what it has decided is exact now.
func (g *Graph) catchUp(f *filterSet, now time.Time) {
	s := &g.s
	end := s.logEnd()
	if f.pos < s.logBase || (f.rowTerms && f.consGen != g.consGen) {
		f.consGen = g.consGen
		f.restart(s.events.n)
		f.pos = end
		return
	}
	timed := f.rowTerms && f.staleAt != 0 && nanos(now) >= f.staleAt
	if f.pos == end && !timed {
		return
	}
	f.page.ok = false
	if f.rowTerms {
		g.cacheMu.Lock()
		defer g.cacheMu.Unlock()
	}
	for _, e := range s.changed[f.pos-s.logBase:] {
		g.eval(f, e, now)
	}
	f.pos = end
	if timed {
		old := f.timed
		f.timed, f.staleAt = nil, 0
		for _, e := range old {
			if f.decided(e) {
				g.eval(f, e, now)
			}
		}
	}
}

// filterSet returns the match set of a query's filter, from the cache when
// it can, exact in what it has decided (complete only if it was). The
// caller holds the graph's read lock and search.mu.
func (g *Graph) filterSet(q FlowQuery, now time.Time) *filterSet {
	sr := &g.search
	s := &g.s
	want := newFilterSet(q)
	sr.use++
	var f *filterSet
	for _, c := range sr.sets {
		if sameFilter(c, want) {
			f = c
			break
		}
	}
	if f == nil {
		var from *filterSet
		for _, c := range sr.sets {
			if !want.implies(c) {
				continue
			}
			// A complete set rules out the most; then the smallest.
			if from == nil || (c.complete() && !from.complete()) || (c.complete() == from.complete() && c.count < from.count) {
				from = c
			}
		}
		f = want
		f.consGen = g.consGen
		f.restart(s.events.n)
		if from != nil {
			g.catchUp(from, now)
			from.used = sr.use
			f.cand = from.narrowing()
			sr.narrows++
		}
		f.pos = s.logEnd()
		if len(sr.sets) >= maxFilterSets {
			oldest := 0
			for i, c := range sr.sets {
				if c.used < sr.sets[oldest].used {
					oldest = i
				}
			}
			sr.sets = append(sr.sets[:oldest], sr.sets[oldest+1:]...)
		}
		sr.sets = append(sr.sets, f)
	}
	f.used = sr.use
	s.watch = true
	g.catchUp(f, now)
	s.unmark()
	// Sets that lag far behind are dropped (a rescan if used again costs no
	// more than the log would); the log is trimmed to the laggiest kept one.
	low := s.logEnd()
	kept := sr.sets[:0]
	for _, c := range sr.sets {
		if c != f && (c.pos < s.logBase || s.logEnd()-c.pos > uint64(s.maxLog()/2)) {
			continue
		}
		kept = append(kept, c)
		low = min(low, c.pos)
	}
	clear(sr.sets[len(kept):])
	sr.sets = kept
	s.trimLog(low)
	return f
}

// SearchStats are the filter cache's figures: full scans of the held events
// begun, narrowings of a held set begun, single event matches, pages
// answered again without walking the list, and progressive reads answered
// before their set was complete. Tests and benchmarks read them.
type SearchStats struct {
	Scans, Narrows, Evals, PageHits, Partials uint64
}

// SearchStats returns the filter cache's figures so far.
func (g *Graph) SearchStats() SearchStats {
	g.mu.RLock()
	defer g.mu.RUnlock()
	g.search.mu.Lock()
	defer g.search.mu.Unlock()
	sr := &g.search
	return SearchStats{Scans: sr.scans, Narrows: sr.narrows, Evals: sr.evals, PageHits: sr.pageHits, Partials: sr.partials}
}

// filteredPage cuts one page of the list from a filter's match set: in the
// list order, skipping fragments still waiting, inverted when asked. A
// progressive query gets what a bounded read found (see the file comment).
func (g *Graph) filteredPage(q FlowQuery, now time.Time) FlowPage {
	sr := &g.search
	sr.mu.Lock()
	defer sr.mu.Unlock()
	var b *budget
	if q.Progressive {
		b = sr.newBudget(progressiveBudget)
	}
	f := g.filterSet(q, now)
	g.advance(f, now, b.within(scanShare))
	if !f.complete() {
		if page, ok := g.partialPage(f, q, now, b); ok {
			sr.partials++
			return page
		}
	}
	page := FlowPage{Version: g.version.Load()}
	member := func(e int32) bool { return f.has(e) != q.Invert }
	version := g.version.Load()
	waiting := g.pendingFragments(now) > 0
	pm := &f.page
	if pm.ok && !waiting && pm.version == version && pm.sort == q.Sort && pm.invert == q.Invert && pm.offset == q.Offset && pm.limit == q.Limit {
		sr.pageHits++
		for _, ref := range pm.rows {
			if g.s.ev(ref.id).seq() == ref.seq {
				page.Rows = append(page.Rows, g.row(ref.id, now))
			}
		}
		page.Matched = pm.matched
		return page
	}
	var refs []eventRef
	emit := func(e int32) {
		if page.Matched >= q.Offset && len(refs) < q.Limit {
			refs = append(refs, eventRef{e, g.s.ev(e).seq()})
		}
		page.Matched++
	}
	if q.Sort == SortRecent {
		total := f.soFar(q.Invert, g.s.events.live)
		for e := range g.frag {
			if g.waiting(e, now) && member(e) {
				total--
			}
		}
		idx := 0
		for e := g.s.head; e != 0 && len(refs) < q.Limit && idx < total; e = g.s.ev(e).next {
			if !member(e) || g.waiting(e, now) {
				continue
			}
			if idx >= q.Offset {
				refs = append(refs, eventRef{e, g.s.ev(e).seq()})
			}
			idx++
		}
		page.Matched = total
	} else {
		for _, ref := range g.sorted(q.Sort) {
			if r := g.s.ev(ref.id); r.flags()&flagHeld != 0 && r.seq() == ref.seq && member(ref.id) && !g.waiting(ref.id, now) {
				emit(ref.id)
			}
		}
	}
	*pm = pageMemo{ok: !waiting, version: version, sort: q.Sort, invert: q.Invert, offset: q.Offset, limit: q.Limit, rows: refs, matched: page.Matched}
	for _, ref := range refs {
		page.Rows = append(page.Rows, g.row(ref.id, now))
	}
	return page
}

// partialPage cuts a page from an incomplete set: it walks the list order
// (or the sort's), deciding the events it meets, until the page is full,
// the list ends or the budget is spent. A page that filled before the
// budget ran out is the page the complete set will give; its count is what
// was found so far. A walk that reached the end decided every held event:
// f is then complete and ok is false (the caller cuts the page as usual).
func (g *Graph) partialPage(f *filterSet, q FlowQuery, now time.Time, b *budget) (page FlowPage, ok bool) {
	page = FlowPage{Version: g.version.Load(), Partial: true}
	var refs []eventRef
	idx := 0
	ended := true
	visit := func(e int32) bool {
		if !f.decided(e) {
			if b.exhausted() {
				ended = false
				return false
			}
			if f.candidate(e) {
				g.eval(f, e, now)
			}
		}
		b.spend(1)
		if f.has(e) != q.Invert && !g.waiting(e, now) {
			if idx >= q.Offset {
				refs = append(refs, eventRef{e, g.s.ev(e).seq()})
			}
			idx++
		}
		if len(refs) >= q.Limit {
			ended = false
			return false
		}
		// Walking decided events costs too: a rare match must not walk a
		// million of them in one read.
		if b.exhausted() {
			ended = false
			return false
		}
		return true
	}
	var order []eventRef
	if q.Sort != SortRecent {
		order = g.sorted(q.Sort) // takes cacheMu itself
	}
	func() {
		if f.rowTerms {
			g.cacheMu.Lock()
			defer g.cacheMu.Unlock()
		}
		if q.Sort == SortRecent {
			for e := g.s.head; e != 0; e = g.s.ev(e).next {
				if !visit(e) {
					break
				}
			}
			return
		}
		for _, ref := range order {
			if r := g.s.ev(ref.id); r.flags()&flagHeld != 0 && r.seq() == ref.seq && !visit(ref.id) {
				break
			}
		}
	}()
	if ended {
		// Every held event was met (the list holds them all) and decided.
		if q.Sort == SortRecent || f.next >= g.s.events.n {
			f.next = g.s.events.n
			f.finish()
			return FlowPage{}, false
		}
	}
	total := f.soFar(q.Invert, g.s.events.live)
	for e := range g.frag {
		if g.waiting(e, now) && f.decided(e) && f.has(e) != q.Invert {
			total--
		}
	}
	page.Matched = max(total, idx)
	for _, ref := range refs {
		page.Rows = append(page.Rows, g.row(ref.id, now))
	}
	return page, true
}
