package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/flowtop/flowtop/tracing"
)

// TestKeyTableAgainstMap drives the key table (store.index) through growth,
// slot collisions, weak keys shared by many events and removals, and checks
// every lookup against a plain map: each strong key finds its record, each
// weak key its events newest first, and a removed key nothing. (Only the
// table is checked: dropKey leaves a record on its event's key list, which
// the graph's callers tend.)
func TestKeyTableAgainstMap(t *testing.T) {
	t.Parallel()
	s := newStore(Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	type ref struct {
		kind tracing.KeyKind
		v    string
	}
	strong := map[ref]int32{} // key → its record
	weak := map[ref][]int32{} // key → its records, newest first
	evOf := map[int32]int32{} // record → event
	var held []ref
	value := func(i int) string {
		switch i % 3 {
		case 0:
			return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) // packs
		case 1:
			return fmt.Sprintf("order-%d", i) // does not
		}
		return fmt.Sprintf("%032x", i) // packs, another pattern
	}
	check := func(step int) {
		for r, ki := range strong {
			if got := s.findStrong(r.kind, r.v); got != ki {
				t.Fatalf("step %d: findStrong(%v %q) = %d, want %d", step, r.kind, r.v, got, ki)
			}
		}
		for r, kis := range weak {
			var got []int32
			s.eachWeak(r.kind, r.v, func(e int32) { got = append(got, e) })
			var want []int32
			for _, ki := range kis {
				want = append(want, evOf[ki])
			}
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: eachWeak(%q) = %v, want %v", step, r.v, got, want)
			}
		}
	}
	for step := 0; step < 60_000; step++ {
		switch op := rng.IntN(10); {
		case op < 5: // a new strong key on a new event
			r := ref{tracing.KeyMessageID, value(step)}
			if _, ok := strong[r]; ok {
				continue
			}
			e := s.events.alloc()
			p := s.probe(r.kind, r.v)
			ki := s.addKey(e, &p, false, 0)
			strong[r], evOf[ki] = ki, e
			held = append(held, r)
		case op < 8 && len(held) > 0: // a weak key (one of few, so widely shared) on a held event
			r := ref{tracing.KeyTraceID, value(rng.IntN(50))}
			e := evOf[strong[held[rng.IntN(len(held))]]]
			if slices.ContainsFunc(weak[r], func(ki int32) bool { return evOf[ki] == e }) {
				continue
			}
			p := s.probe(r.kind, r.v)
			ki := s.addKey(e, &p, true, 0)
			weak[r], evOf[ki] = append([]int32{ki}, weak[r]...), e
		case len(held) > 0: // drop a strong key, or a weak one
			if rng.IntN(2) == 0 {
				j := rng.IntN(len(held))
				r := held[j]
				s.dropKey(strong[r])
				delete(strong, r)
				held[j] = held[len(held)-1]
				held = held[:len(held)-1]
				continue
			}
			r := ref{tracing.KeyTraceID, value(rng.IntN(50))}
			if kis := weak[r]; len(kis) > 0 {
				j := rng.IntN(len(kis))
				s.dropKey(kis[j])
				weak[r] = slices.Delete(kis, j, j+1)
			}
		}
		if step%5000 == 0 {
			check(step)
		}
	}
	check(-1)
	if want := len(strong); s.index.n != want+func() (n int) {
		for _, kis := range weak {
			n += len(kis)
		}
		return n
	}() {
		t.Fatalf("table links %d records, want %d strong and the weak ones", s.index.n, want)
	}
	if len(s.index.heads) <= minTable {
		t.Fatalf("the table never grew (%d slots)", len(s.index.heads))
	}
}
