package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// oracle answers a filter the slow way, independently of the match sets:
// each held event materialised as readers see it, every word looked for in
// its type, source, keys and components, its status from its row.
func oracle(g *Graph, q FlowQuery) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	now := g.cfg.Now()
	words := strings.Fields(strings.ToLower(q.Filter))
	status := strings.ToLower(strings.TrimSpace(q.Status))
	fieldOf := func(r FlowRow, key string) string {
		switch key {
		case "status":
			return r.Status.String()
		case "type":
			return r.Type
		case "source":
			return r.Source
		case "fn", "queue":
			return r.Source + " " + r.LastHop
		}
		return ""
	}
	var ids []string
	for e := g.s.head; e != 0; e = g.s.ev(e).next {
		if g.waiting(e, now) {
			continue
		}
		v := g.s.viewOf(e, true)
		texts := []string{v.typ, v.source}
		for _, k := range append(v.strong, v.weak...) {
			texts = append(texts, k.Value)
		}
		for _, m := range v.msgs {
			texts = append(texts, m.comp.Name)
		}
		for _, r := range v.invs {
			texts = append(texts, r.comp.Name)
		}
		ok := true
		for _, w := range words {
			found := false
			for _, t := range texts {
				if strings.Contains(strings.ToLower(t), w) {
					found = true
					break
				}
			}
			ok = ok && found
		}
		row := g.row(e, now)
		if ok && status != "" {
			ok = strings.Contains(row.Status.String(), status)
		}
		for _, f := range q.Fields {
			ok = ok && strings.Contains(strings.ToLower(fieldOf(row, f.Key)), strings.ToLower(f.Value))
		}
		if ok != q.Invert {
			ids = append(ids, row.ID)
		}
	}
	return ids
}

func pageIDs(p FlowPage) []string {
	var ids []string
	for _, r := range p.Rows {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestFilterIncrementalEqualsScan ingests a mixed load (orders that merge
// and dead-letter, bare messages, consumer spans) into a graph small enough
// to evict and reuse slots, and after every batch asks filters as a user
// types them, backspaces, adds a status term and inverts: every answer
// equals the slow oracle's.
func TestFilterIncrementalEqualsScan(t *testing.T) {
	t.Parallel()
	for _, parallel := range []int{0, 1} {
		t.Run(fmt.Sprint("parallel=", parallel), func(t *testing.T) { incrementalEqualsScan(t, parallel) })
	}
}

// incrementalEqualsScan is the test; parallel 1 matches every scan and
// narrowing on every core, as a graph of a million events does.
func incrementalEqualsScan(t *testing.T, parallel int) {
	g := newTestGraph(120)
	g.search.parallelFrom = parallel
	rng := rand.New(rand.NewPCG(1, 2))
	queries := []FlowQuery{
		{Filter: "e"},
		{Filter: "ev"},
		{Filter: "ev-1"},
		{Filter: "ev-12"},
		{Filter: "ev-1"},
		{Filter: "CHARGE"},
		{Filter: "charge billing"},
		{Filter: "0000"},
		{Filter: "00000001"},
		{Filter: "ev", Status: "dead"},
		{Status: "ok"},
		{Filter: "billing", Invert: true},
		{Filter: "ev-2", Status: "dead", Invert: true},
		{Filter: "orderplaced"},
		{Filter: "msg-0"},
	}
	n := 0
	for round := 0; round < 40; round++ {
		var b tracing.Batch
		for k := rng.IntN(6); k >= 0; k-- {
			n++
			switch rng.IntN(3) {
			case 0:
				b = append(b, scenario(fmt.Sprintf("ev-%d", n), fmt.Sprintf("msg-%d", n), testTrace, reqIDs(n))...)
			case 1:
				b = append(b, messageObs(n, t0.Add(time.Duration(n)*time.Second)))
			default:
				b = append(b, spanObs(rng.IntN(n+1), t0.Add(time.Duration(n)*time.Second)))
			}
		}
		g.Ingest(b)
		for _, q := range queries[:1+rng.IntN(len(queries))] {
			q.Limit = 1000
			got, want := g.Flows(q), oracle(g, q)
			if !slices.Equal(pageIDs(got), want) || got.Matched != len(want) {
				t.Fatalf("round %d, %+v: matched %d %v\nwant %d %v", round, q, got.Matched, pageIDs(got), len(want), want)
			}
			// A window of it, too.
			q.Offset, q.Limit = 3, 4
			if got := pageIDs(g.Flows(q)); !slices.Equal(got, want[min(3, len(want)):min(7, len(want))]) {
				t.Fatalf("round %d, %+v window: %v, want %v", round, q, got, want)
			}
		}
	}
	if st := g.SearchStats(); st.Narrows == 0 || st.Scans == 0 {
		t.Errorf("the cache was never narrowed or never scanned: %+v", st)
	}
}

// TestStandingFilterIdle: a filter asked again and again while nothing is
// ingested matches no event again; an ingest makes it match only what changed.
func TestStandingFilterIdle(t *testing.T) {
	t.Parallel()
	g := New(Config{MaxEvents: 50_000, Now: func() time.Time { return t0.Add(time.Hour) }})
	batch := make(tracing.Batch, 0, 1000)
	for i := 0; i < 20_000; i++ {
		batch = append(batch, messageObs(i, t0.Add(time.Duration(i)*time.Millisecond)))
		if len(batch) == cap(batch) {
			g.Ingest(batch)
			batch = batch[:0]
		}
	}
	q := FlowQuery{Filter: "0000123", Limit: 40}
	first := g.Flows(q)
	if first.Matched != 17 { // 00000123, 00001230 … 0000123f
		t.Fatalf("matched %d: %v", first.Matched, pageIDs(first))
	}
	st := g.SearchStats()
	if st.Scans != 1 || st.Evals != 20_000 {
		t.Fatalf("first answer: %+v, want one scan of 20000 events", st)
	}
	for i := 0; i < 100; i++ {
		if p := g.Flows(q); p.Matched != first.Matched || !slices.Equal(pageIDs(p), pageIDs(first)) {
			t.Fatalf("answer %d changed: %v", i, pageIDs(p))
		}
	}
	idle := g.SearchStats()
	if idle.Evals != st.Evals || idle.Scans != 1 || idle.PageHits < 100 {
		t.Fatalf("a standing filter worked while idle: %+v after %+v", idle, st)
	}
	// Three new events, one of them matching: three matched again.
	g.Ingest(tracing.Batch{messageObs(0x10000123, t0), messageObs(0x7654321, t0), messageObs(0x1111111, t0)})
	p := g.Flows(q)
	after := g.SearchStats()
	if p.Matched != 18 || p.Rows[0].ID != "10000123-0000-4000-8000-000000000000" {
		t.Fatalf("after ingest: %d %v", p.Matched, pageIDs(p))
	}
	if after.Scans != 1 || after.Evals-idle.Evals > 10 {
		t.Fatalf("one ingest of three events cost %+v after %+v", after, idle)
	}
	// Typing on narrows the set; backspace finds the shorter filter held.
	g.Flows(FlowQuery{Filter: "0000123f", Limit: 40})
	g.Flows(q)
	if end := g.SearchStats(); end.Scans != 1 || end.Narrows != 1 || end.Evals-after.Evals != 18 {
		t.Fatalf("typing on and backspace: %+v after %+v", end, after)
	}
}

// TestChangeLogBounded: with a filter held but never asked again, ingest
// stops logging past the bound, and the next answer is still exact.
func TestChangeLogBounded(t *testing.T) {
	t.Parallel()
	g := New(Config{MaxEvents: 200_000, Now: func() time.Time { return t0.Add(time.Hour) }})
	g.Flows(FlowQuery{Filter: "0000", Limit: 10})
	batch := make(tracing.Batch, 0, 1000)
	for i := 0; i < 100_000; i++ {
		batch = append(batch, messageObs(i, t0))
		if len(batch) == cap(batch) {
			g.Ingest(batch)
			batch = batch[:0]
		}
	}
	if n := len(g.s.changed); n > g.s.maxLog() {
		t.Fatalf("change log holds %d > %d", n, g.s.maxLog())
	}
	q := FlowQuery{Filter: "0000", Limit: 10}
	if got, want := g.Flows(q).Matched, len(oracle(g, q)); got != want {
		t.Fatalf("after overflow: matched %d, want %d", got, want)
	}
}

// TestPackedHas: finding hex digits in a packed key agrees with looking in
// its unpacked text, for every packing and many words.
func TestPackedHas(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	const hex = "0123456789abcdef"
	for trial := 0; trial < 20000; trial++ {
		pat := packings[1+rng.IntN(len(packings)-1)]
		b := []byte(pat)
		for i := range b {
			if b[i] == 'x' {
				b[i] = hex[2+rng.IntN(3)] // few digits: many matches
			}
		}
		var packed [32]byte
		p, n := pack(string(b), &packed)
		if p == 0 {
			t.Fatalf("%s did not pack", b)
		}
		w := make([]byte, 1+rng.IntN(6))
		for i := range w {
			w[i] = hex[1+rng.IntN(4)]
		}
		if rng.IntN(4) == 0 { // a word taken from the key itself
			at := rng.IntN(len(b))
			w = b[at:min(len(b), at+1+rng.IntN(8))]
		}
		h := newHexWord(string(w))
		if h == nil {
			continue
		}
		if got, want := packedHas(p, packed[:n], h), strings.Contains(string(b), string(w)); got != want {
			t.Fatalf("%q in %s: %v, want %v", w, b, got, want)
		}
	}
}

// TestParallelMatchWithoutNames: events that name no type and no queue are
// matched on every core as the oracle matches them.
func TestParallelMatchWithoutNames(t *testing.T) {
	t.Parallel()
	g := newTestGraph(10_000)
	g.search.parallelFrom = 1
	var b tracing.Batch
	for i := 0; i < 2000; i++ {
		id := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
		b = append(b, tracing.Observation{Kind: tracing.ObsMessage, Time: t0, Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: id}}, Message: &tracing.Message{ID: id}})
	}
	g.Ingest(b)
	for _, q := range []FlowQuery{{Filter: "00000"}, {Filter: "000001"}, {Filter: "zz"}} {
		q.Limit = 5000
		if got, want := g.Flows(q), oracle(g, q); got.Matched != len(want) {
			t.Errorf("%q: matched %d, want %d", q.Filter, got.Matched, len(want))
		}
	}
}
