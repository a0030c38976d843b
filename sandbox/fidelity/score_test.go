package fidelity

import (
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// fakeGraph answers the scorer's reads from a list of lineages, so each case
// below can show the scorer one exact kind of mistake.
type fakeGraph struct {
	events []graph.Lineage
	fns    []graph.FunctionStats
	edges  []graph.MapEdge
	badRow string // this row counts one hop more than its lineage, as two rules would
}

func (f fakeGraph) Lineage(id string) (graph.Lineage, error) {
	var hits []graph.Lineage
	for _, l := range f.events {
		for _, k := range l.Keys {
			if UserID(k) == id {
				hits = append(hits, l)
				break
			}
		}
	}
	switch len(hits) {
	case 0:
		return graph.Lineage{}, graph.ErrNotFound
	case 1:
		l := hits[0]
		l.HopCount = len(l.Hops) // one rule: the count of the hops drawn
		return l, nil
	}
	return graph.Lineage{}, graph.ErrAmbiguous
}

func (f fakeGraph) Flows(graph.FlowQuery) graph.FlowPage {
	var p graph.FlowPage
	for _, l := range f.events {
		row := graph.FlowRow{ID: l.ID, Hops: len(l.Hops), Status: l.Status, Latency: l.Last.Sub(l.First)}
		if l.ID == f.badRow {
			row.Hops++
		}
		p.Rows = append(p.Rows, row)
	}
	return p
}

func (f fakeGraph) Functions() []graph.FunctionStats { return f.fns }

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func (f fakeGraph) Map() graph.MapView { return graph.MapView{Edges: f.edges} }

func TestScore(t *testing.T) {
	t.Parallel()
	fn := func(n string) tracing.Component { return tracing.Component{Kind: tracing.ComponentFunction, Name: n} }
	q := tracing.Component{Kind: tracing.ComponentQueue, Name: "q"}
	ev := func(id string) tracing.Key { return tracing.Key{Kind: tracing.KeyEventID, Value: id} }
	msg := func(id string) tracing.Key { return tracing.Key{Kind: tracing.KeyMessageID, Value: id} }
	req := tracing.Key{Kind: tracing.KeyRequestID, Value: "r-shared"}
	truth := sandbox.Truth{
		Events: []sandbox.TrueEvent{
			{Label: "a", Own: []tracing.Key{ev("ea"), msg("ma")}, Shared: []tracing.Key{req}, Path: []tracing.Component{fn("p"), q, fn("c")}, Done: true},
			{Label: "b", Own: []tracing.Key{ev("eb"), msg("mb")}, Shared: []tracing.Key{req}, Path: []tracing.Component{fn("p"), q, fn("c")}, Done: true},
		},
		Functions: map[string]sandbox.TrueFunction{"p": {Invocations: 1}, "c": {Invocations: 3, Errors: 1}},
		Edges:     []sandbox.TrueEdge{{From: fn("p"), To: q}, {From: q, To: fn("c")}},
	}
	hops := func(cs ...tracing.Component) []graph.Hop {
		var hs []graph.Hop
		for _, c := range cs {
			hs = append(hs, graph.Hop{Component: c})
		}
		return hs
	}
	whole := []graph.Lineage{
		{ID: "ea", Keys: []tracing.Key{ev("ea"), msg("ma"), req}, Hops: hops(fn("p"), q, fn("c"))},
		{ID: "eb", Keys: []tracing.Key{ev("eb"), msg("mb"), req}, Hops: hops(fn("p"), q, fn("c"))},
	}
	exact := []graph.FunctionStats{{Name: "p", Invocations: 1}, {Name: "c", Invocations: 3, Errors: 1}}
	tests := []struct {
		name string
		g    fakeGraph
		want string
		maps string
	}{
		{
			"whole",
			fakeGraph{events: whole, fns: exact, edges: []graph.MapEdge{{From: fn("p"), To: q}, {From: q, To: fn("c")}}},
			"fidelity: events 2 ids 6/6 (100.0%) false-merges 0 lookups 4/4 (100.0%) path 6/6 (100.0%) fragments 0 invocations exact 2/2 errors exact 2/2 rows agree 2/2",
			"map: edges 2/2 (100.0%) extra 0",
		},
		{
			"merged",
			fakeGraph{
				events: []graph.Lineage{{ID: "ea", Keys: []tracing.Key{ev("ea"), msg("ma"), ev("eb"), msg("mb"), req}, Hops: hops(fn("p"), q)}}, fns: exact,
				edges: []graph.MapEdge{{From: fn("p"), To: fn("c")}},
			},
			"fidelity: events 2 ids 6/6 (100.0%) false-merges 1 lookups 4/4 (100.0%) path 4/6 (66.7%) fragments 0 invocations exact 2/2 errors exact 2/2 rows agree 1/1",
			"map: edges 0/2 (0.0%) extra 1",
		},
		{
			"split",
			fakeGraph{
				events: append([]graph.Lineage{{ID: "ma", Keys: []tracing.Key{msg("ma")}, Hops: hops(q, fn("c"))}},
					graph.Lineage{ID: "ea", Keys: []tracing.Key{ev("ea"), req}, Hops: hops(fn("p"))}, whole[1]),
				fns: []graph.FunctionStats{{Name: "p", Invocations: 1}, {Name: "c", Invocations: 6, Errors: 1}}, badRow: "eb",
			},
			"fidelity: events 2 ids 5/6 (83.3%) false-merges 0 lookups 2/4 (50.0%) path 4/6 (66.7%) fragments 1 invocations exact 1/2 errors exact 2/2 rows agree 2/3",
			"map: edges 0/2 (0.0%) extra 0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Score(truth, tt.g)
			if got := r.String(); got != tt.want {
				t.Errorf("score\n got %s\nwant %s\nproblems:\n%s", got, tt.want, strings.Join(r.Problems, "\n"))
			}
			if got := ScoreMap(truth, tt.g).String(); got != tt.maps {
				t.Errorf("map\n got %s\nwant %s", got, tt.maps)
			}
		})
	}
}

// TestCountLive: a row renamed as its event learned a better ID is one row;
// two rows of one event listed together for 2 s are a fragment; a row of no
// true event listed that long is one too.
func TestCountLive(t *testing.T) {
	t.Parallel()
	ev := func(id string) tracing.Key { return tracing.Key{Kind: tracing.KeyEventID, Value: id} }
	truth := sandbox.Truth{Events: []sandbox.TrueEvent{
		{Label: "a", Own: []tracing.Key{ev("ea"), ev("ea2")}, Done: true},
		{Label: "b", Own: []tracing.Key{ev("eb"), ev("eb2")}, Done: true},
	}}
	g := fakeGraph{events: []graph.Lineage{
		{ID: "ea", Keys: []tracing.Key{ev("ea"), ev("ea2")}},
		{ID: "eb", Keys: []tracing.Key{ev("eb"), ev("eb2")}},
	}}
	r := Score(truth, g)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	r.CountLive(map[string]Sighting{
		"ea2": {at(0), at(3)}, "ea": {at(3), at(9)}, // a renamed: one row at a time
		"eb2": {at(0), at(4)}, "eb": {at(1), at(9)}, // b shown twice for 3 s
		"zz": {at(2), at(5)}, // no true event
		"yy": {at(2), at(3)}, // no true event, under 2 s
	}, 2*time.Second)
	if r.LiveFragments != 2 {
		t.Errorf("live fragments %d, want 2 (eb2, zz): %s", r.LiveFragments, strings.Join(r.Problems, "; "))
	}
}

// TestScoreSearch: a search's lineage is whole only with every ID and every
// path component; the sample varies the kind of ID searched by.
func TestScoreSearch(t *testing.T) {
	t.Parallel()
	q := tracing.Component{Kind: tracing.ComponentQueue, Name: "q"}
	fn := tracing.Component{Kind: tracing.ComponentFunction, Name: "c"}
	e := sandbox.TrueEvent{
		Label: "a", Own: []tracing.Key{{Kind: tracing.KeyEventID, Value: "ea"}, {Kind: tracing.KeyMessageID, Value: "ma"}},
		Shared: []tracing.Key{{Kind: tracing.KeyRequestID, Value: "r"}}, Path: []tracing.Component{q, fn}, Done: true,
	}
	whole := graph.Lineage{Keys: append(e.Own, e.Shared...), Hops: []graph.Hop{{Component: q}, {Component: fn}}}
	if ok, why := ScoreSearch(e, whole, nil); !ok {
		t.Errorf("whole: %s", why)
	}
	part := graph.Lineage{Keys: e.Own, Hops: []graph.Hop{{Component: fn}}}
	if ok, why := ScoreSearch(e, part, nil); ok || why != "ids request:r; path queue/q" {
		t.Errorf("part: %v %q", ok, why)
	}
	if ok, _ := ScoreSearch(e, whole, graph.ErrNotFound); ok {
		t.Error("not found scored whole")
	}
	e2 := e
	e2.Label, e2.Own = "b", []tracing.Key{{Kind: tracing.KeyMessageID, Value: "mb"}}
	cases := SearchSample(sandbox.Truth{Events: []sandbox.TrueEvent{e, e2}}, 10)
	if len(cases) != 2 || cases[0].By.Kind != tracing.KeyEventID || cases[1].By.Kind != tracing.KeyMessageID || cases[1].Event.Label != "b" {
		t.Errorf("sample %+v", cases)
	}
}
