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
//   - Only a filter unlike every held one scans the held events, once.
//
// The sets answer which events match; the page itself is cut by walking the
// list order and testing bits, and the walk is remembered while the graph's
// version stands still.

// maxFilterSets is how many filters keep their match sets: enough for the
// keystrokes of one query and a backspace or two.
const maxFilterSets = 8

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
}

func (sr *search) parallelAt() int {
	if sr.parallelFrom > 0 {
		return sr.parallelFrom
	}
	return parallelFrom
}

// filterSet is the match set of one filter.
type filterSet struct {
	words   []string // lower case; an event matches when it contains every one
	status  string   // "" or a term its status name must contain
	bits    []uint64 // by event slot
	count   int      // bits set
	pos     uint64   // change log position applied
	consGen uint64   // the consumer map the statuses were derived with
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
// found among o's members.
func (f *filterSet) implies(o *filterSet) bool {
	if !strings.Contains(f.status, o.status) {
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
	return a.status == b.status && slices.Equal(a.words, b.words)
}

// maxWords is how many words of a filter are matched; the rest are ignored.
const maxWords = 16

// newFilterSet parses a filter: words separated by spaces, lower-cased.
func newFilterSet(filter, status string) *filterSet {
	f := &filterSet{words: strings.Fields(strings.ToLower(filter)), status: strings.ToLower(strings.TrimSpace(status))}
	if len(f.words) > maxWords {
		f.words = f.words[:maxWords]
	}
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
			if left&(1<<uint(i)) != 0 && nameHit(&f.metaHit, r.meta, len(f.words), i, func() bool {
				m := s.metas.get(r.meta)
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
		if rf := s.ref(x); !rf.pub {
			for i, w := range f.words {
				if left&(1<<uint(i)) != 0 && g.compHit(f, rf.comp, i, w) {
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
// holds the graph's read lock, search.mu and, with a status term, cacheMu.
func (g *Graph) eval(f *filterSet, e int32, now time.Time) {
	g.search.evals++
	r := g.s.ev(e)
	ok := r.flags&flagHeld != 0 && g.textMatch(f, e)
	if ok && f.status != "" {
		sum := g.summarize(e, now)
		ok = strings.Contains(sum.status.String(), f.status)
		if sum.staleAt != 0 {
			f.timed = append(f.timed, e)
			if f.staleAt == 0 || sum.staleAt < f.staleAt {
				f.staleAt = sum.staleAt
			}
		}
	}
	f.set(e, ok)
}

// scan matches every held event.
func (g *Graph) scan(f *filterSet, now time.Time) {
	g.search.scans++
	f.bits, f.count, f.timed, f.staleAt = f.bits[:0], 0, f.timed[:0], 0
	f.bits = append(f.bits, make([]uint64, int(g.s.events.n+63)/64)...)
	lockCache := f.status != ""
	if lockCache {
		g.cacheMu.Lock()
		defer g.cacheMu.Unlock()
	}
	if f.status == "" && int(g.s.events.n) > g.search.parallelAt() {
		g.matchWords(f, nil)
		return
	}
	// Slot order, not list order: the slabs are read front to back.
	for e := int32(1); e < g.s.events.n; e++ {
		if g.s.ev(e).flags&flagHeld != 0 {
			g.eval(f, e, now)
		}
	}
}

// parallelFrom is the number of slots from which a filter without a status
// term is matched on every core: a keystroke over a million events then
// takes its share of the cores, not all of one.
const parallelFrom = 1 << 16

// matchWords sets f's bits for the held events (among from's members when
// from is not nil) that contain f's words, on every core. Each worker owns
// whole words of the bitset; the interned names' answers are filled in
// first, so the workers only read shared state.
func (g *Graph) matchWords(f, from *filterSet) {
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
	words := len(f.bits)
	if from != nil {
		words = min(words, len(from.bits))
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), 8))
	per := (words + workers - 1) / workers
	counts := make([]int, workers)
	evals := make([]uint64, workers)
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		lo, hi := k*per, min((k+1)*per, words)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := lo; w < hi; w++ {
				cand := ^uint64(0)
				if from != nil {
					cand = from.bits[w]
				}
				var out uint64
				for cand != 0 {
					b := bits.TrailingZeros64(cand)
					cand &^= 1 << uint(b)
					e := int32(w<<6 | b)
					if e == 0 || e >= g.s.events.n || g.s.ev(e).flags&flagHeld == 0 {
						continue
					}
					evals[k]++
					if g.textMatch(f, e) {
						out |= 1 << uint(b)
					}
				}
				f.bits[w] = out
				counts[k] += bits.OnesCount64(out)
			}
		}()
	}
	wg.Wait()
	for k := range counts {
		f.count += counts[k]
		g.search.evals += evals[k]
	}
}

// narrowFrom matches only the members of from, a set f implies.
func (g *Graph) narrowFrom(f, from *filterSet, now time.Time) {
	g.search.narrows++
	f.bits, f.count, f.timed, f.staleAt = make([]uint64, len(from.bits)), 0, nil, 0
	if f.status == "" && from.count > g.search.parallelAt() {
		g.matchWords(f, from)
		return
	}
	if f.status != "" {
		g.cacheMu.Lock()
		defer g.cacheMu.Unlock()
	}
	for w, word := range from.bits {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << uint(b)
			g.eval(f, int32(w<<6|b), now)
		}
	}
}

// catchUp applies the change log (and, with a status term, the consumer map
// and the clock) to f, so it is exact now.
func (g *Graph) catchUp(f *filterSet, now time.Time) {
	s := &g.s
	end := s.logEnd()
	if f.pos < s.logBase || (f.status != "" && f.consGen != g.consGen) {
		f.consGen = g.consGen
		g.scan(f, now)
		f.pos = end
		f.page.ok = false
		return
	}
	timed := f.status != "" && f.staleAt != 0 && nanos(now) >= f.staleAt
	if f.pos == end && !timed {
		return
	}
	f.page.ok = false
	if f.status != "" {
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
			g.eval(f, e, now)
		}
	}
}

// filterSet returns the exact match set of a filter, from the cache when it
// can. The caller holds the graph's read lock and search.mu.
func (g *Graph) filterSet(filter, status string, now time.Time) *filterSet {
	sr := &g.search
	s := &g.s
	want := newFilterSet(filter, status)
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
			if want.implies(c) && (from == nil || c.count < from.count) {
				from = c
			}
		}
		f = want
		if from != nil {
			g.catchUp(from, now)
			from.used = sr.use
			g.narrowFrom(f, from, now)
			f.consGen = g.consGen
		} else {
			f.consGen = g.consGen
			g.scan(f, now)
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

// SearchStats are the filter cache's figures: full scans of the held events,
// narrowings of a held set, single event matches, and pages answered again
// without walking the list. Tests and benchmarks read them.
type SearchStats struct {
	Scans, Narrows, Evals, PageHits uint64
}

// SearchStats returns the filter cache's figures so far.
func (g *Graph) SearchStats() SearchStats {
	g.mu.RLock()
	defer g.mu.RUnlock()
	g.search.mu.Lock()
	defer g.search.mu.Unlock()
	sr := &g.search
	return SearchStats{Scans: sr.scans, Narrows: sr.narrows, Evals: sr.evals, PageHits: sr.pageHits}
}

// filteredPage cuts one page of the list from a filter's match set: in the
// list order, skipping fragments still waiting, inverted when asked.
func (g *Graph) filteredPage(q FlowQuery, status string, now time.Time) FlowPage {
	sr := &g.search
	sr.mu.Lock()
	defer sr.mu.Unlock()
	f := g.filterSet(q.Filter, status, now)
	page := FlowPage{Version: g.version.Load()}
	member := func(e int32) bool { return f.has(e) != q.Invert }
	version := g.version.Load()
	waiting := g.pendingFragments(now) > 0
	pm := &f.page
	if pm.ok && !waiting && pm.version == version && pm.sort == q.Sort && pm.invert == q.Invert && pm.offset == q.Offset && pm.limit == q.Limit {
		sr.pageHits++
		for _, ref := range pm.rows {
			if g.s.ev(ref.id).seq == ref.seq {
				page.Rows = append(page.Rows, g.row(ref.id, now))
			}
		}
		page.Matched = pm.matched
		return page
	}
	var refs []eventRef
	emit := func(e int32) {
		if page.Matched >= q.Offset && len(refs) < q.Limit {
			refs = append(refs, eventRef{e, g.s.ev(e).seq})
		}
		page.Matched++
	}
	if q.Sort == SortRecent {
		total := f.count
		if q.Invert {
			total = g.s.events.live - f.count
		}
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
				refs = append(refs, eventRef{e, g.s.ev(e).seq})
			}
			idx++
		}
		page.Matched = total
	} else {
		for _, ref := range g.sorted(q.Sort) {
			if r := g.s.ev(ref.id); r.flags&flagHeld != 0 && r.seq == ref.seq && member(ref.id) && !g.waiting(ref.id, now) {
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
