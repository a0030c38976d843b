package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// subsequenceOf reports whether sub's IDs appear in all in the same order.
func subsequenceOf(sub, all []string) bool {
	i := 0
	for _, id := range all {
		if i < len(sub) && sub[i] == id {
			i++
		}
	}
	return i == len(sub)
}

// TestProgressiveEqualsScan asks filters progressively, a few event matches
// per read, over a randomized graph that keeps ingesting (merges, dead
// letters, evictions and reused slots) between reads. Every partial answer
// is consistent with the slow oracle's at that moment: its rows are matches
// in list order, a full page is the oracle's page, and the count found so
// far never exceeds the oracle's. Each filter ends complete, with the
// oracle's page and count.
func TestProgressiveEqualsScan(t *testing.T) {
	t.Parallel()
	for _, parallel := range []int{0, 1} {
		t.Run(fmt.Sprint("parallel=", parallel), func(t *testing.T) {
			t.Parallel()
			progressiveEqualsScan(t, parallel)
		})
	}
}

func progressiveEqualsScan(t *testing.T, parallel int) {
	g := newTestGraph(200)
	g.search.parallelFrom = parallel
	g.search.sliceEvals, g.search.chunk = 10, 1
	rng := rand.New(rand.NewPCG(5, 6))
	n := 0
	ingest := func(k int) {
		var b tracing.Batch
		for ; k > 0; k-- {
			n++
			switch rng.IntN(4) {
			case 0:
				b = append(b, scenario(fmt.Sprintf("ev-%d", n), fmt.Sprintf("msg-%d", n), testTrace, reqIDs(n))...)
			case 1:
				o := messageObs(n, t0.Add(time.Duration(n)*time.Second))
				o.Message.DeadLetter = rng.IntN(3) == 0
				b = append(b, o)
			case 2:
				b = append(b, messageObs(rng.IntN(n+1), t0.Add(time.Duration(n)*time.Second)))
			default:
				b = append(b, spanObs(rng.IntN(n+1), t0.Add(time.Duration(n)*time.Second)))
			}
		}
		g.Ingest(b)
	}
	ingest(250)
	queries := []FlowQuery{
		{Filter: "e"},
		{Filter: "ev"},
		{Filter: "ev-1"},
		{Filter: "ev-1", Fields: []FieldTerm{{"status", "dead"}}},
		{Fields: []FieldTerm{{"status", "dead"}}},
		{Fields: []FieldTerm{{"type", "order"}}},
		{Fields: []FieldTerm{{"fn", "charge"}}},
		{Fields: []FieldTerm{{"queue", "billing"}, {"status", "ok"}}},
		{Fields: []FieldTerm{{"source", "orders"}}},
		{Fields: []FieldTerm{{"error", "x"}}},
		{Filter: "0000"},
		{Filter: "00000001"},
		{Filter: "billing", Invert: true},
		{Filter: "ev-2", Status: "dead", Invert: true},
		{Fields: []FieldTerm{{"status", "ok"}}, Invert: true},
		{Filter: "msg"},
		{Filter: "msg-1"},
	}
	partials := 0
	for round := 0; round < 6; round++ {
		for _, q := range queries[:1+rng.IntN(len(queries))] {
			q.Progressive = true
			q.Limit = 1 + rng.IntN(12)
			q.Offset = rng.IntN(3)
			for reads := 0; ; reads++ {
				if reads > 10_000 {
					t.Fatalf("round %d, %+v: never complete", round, q)
				}
				got := g.Flows(q)
				if got.Partial {
					partials++
				}
				if got.Partial && rng.IntN(4) != 0 {
					if rng.IntN(3) == 0 {
						ingest(1 + rng.IntN(4))
					}
					continue // the oracle is slow: one partial answer in four is checked
				}
				want := oracle(g, q)
				ids := pageIDs(got)
				page := want[min(q.Offset, len(want)):min(q.Offset+q.Limit, len(want))]
				if !got.Partial {
					if !slices.Equal(ids, page) || got.Matched != len(want) {
						t.Fatalf("round %d, %+v complete: matched %d %v\nwant %d %v", round, q, got.Matched, ids, len(want), want)
					}
					break
				}
				if !subsequenceOf(ids, want) || got.Matched > len(want) {
					t.Fatalf("round %d, %+v partial: matched %d %v\nwant %d %v", round, q, got.Matched, ids, len(want), want)
				}
				if len(ids) == q.Limit && !slices.Equal(ids, page) {
					t.Fatalf("round %d, %+v: a full partial page %v is not the page %v", round, q, ids, page)
				}
				if rng.IntN(3) == 0 {
					ingest(1 + rng.IntN(4))
				}
			}
		}
		ingest(rng.IntN(30))
	}
	if partials < 100 {
		t.Fatalf("%d reads were partial: the slices are not bounded", partials)
	}
	t.Logf("%d partial answers", partials)
	// An exact query agrees too, whatever the progressive ones left.
	for _, q := range queries {
		q.Limit = 1000
		if got, want := g.Flows(q), oracle(g, q); got.Partial || !slices.Equal(pageIDs(got), want) {
			t.Fatalf("exact %+v: %v, want %v", q, pageIDs(got), want)
		}
	}
}
