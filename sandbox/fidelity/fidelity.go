// Package fidelity scores what flowtop's graph shows against the truth the
// sandbox world recorded while it generated it ([sandbox.Truth]). The sandbox
// and the collectors were written together, so agreeing with each other
// proves little; the world's record of what it did is the outside measure.
//
// Only tests and `make fidelity` use this package; production code never
// imports it.
package fidelity

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// Graph is what the scorer reads; *graph.Graph satisfies it.
type Graph interface {
	Lineage(id string) (graph.Lineage, error)
	Flows(q graph.FlowQuery) graph.FlowPage
	Functions() []graph.FunctionStats
	Map() graph.MapView
}

// Report is the score of one graph against one truth.
type Report struct {
	Events  int // true events scored
	Pending int // of which the world had not seen every outcome yet

	IDsLinked, IDsExpected int // the true events' IDs found on the graph event that stands for each
	FalseMerges            int // true events that share a graph event with another true event
	Lookups, LookupsTotal  int // lookups by an event's own IDs that return an event holding all its own IDs
	PathShown, PathTrue    int // true path components shown among the graph event's hops
	Fragments              int // flows rows that stand for no true event
	// LiveFragments are rows listed beside another row of the same true
	// event, or standing for none, for 2 s or more while the world ran: the
	// same order shown as two rows for more than a refresh. Set by
	// [Report.CountLive]; -1 when not measured.
	LiveFragments int
	// RowsAgree of Rows: flows rows whose status, hop count and latency equal
	// those of the lineage their ID opens (one rule must derive both).
	RowsAgree, Rows int

	// Searches of SearchesTotal: history searches by one own ID, each in a
	// fresh graph, whose lineage holds the whole true event (every ID, every
	// path component). Set by the caller from [ScoreSearch]; not printed
	// when SearchesTotal is 0.
	Searches, SearchesTotal int

	Functions          []FunctionScore
	InvExact, ErrExact int // functions whose invocation / error counts equal the truth

	Problems []string // what went wrong, one line each, for the test log (bounded)

	primaries map[string]bool   // row IDs that stand for a true event
	owners    map[string]string // an ID as users see it → "label (kind)" of the true event carrying it
	labels    map[string]string // an ID as users see it → the label of the true event carrying it
}

// Sighting is when a flows row ID was first and last seen on the list.
type Sighting struct{ First, Last time.Time }

// Watch records the flows rows' IDs into seen, for [Report.CountLive].
func Watch(g Graph, now time.Time, seen map[string]Sighting) {
	for _, row := range g.Flows(graph.FlowQuery{Limit: 1 << 20}).Rows {
		s, ok := seen[row.ID]
		if !ok {
			s.First = now
		}
		s.Last = now
		seen[row.ID] = s
	}
}

// CountLive sets LiveFragments from the rows seen while the world ran: rows
// listed at the same time as another row of the same true event for at
// least after (the same order shown as two rows), and rows of no true event
// listed that long. A row whose ID changed as its event learned a better
// one (an EventBridge id, then the CloudEvents id a DLQ body revealed) is
// one row renamed, never two at once: it is not counted.
func (r *Report) CountLive(seen map[string]Sighting, after time.Duration) {
	r.LiveFragments = 0
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := seen[id]
		if r.primaries[id] {
			continue
		}
		label := r.labels[id]
		if label == "" {
			if s.Last.Sub(s.First) >= after {
				r.LiveFragments++
				r.problem("row %s (no true event) was listed for %s", id, s.Last.Sub(s.First).Round(100*time.Millisecond))
			}
			continue
		}
		for _, other := range ids {
			o := seen[other]
			if other == id || r.labels[other] != label {
				continue
			}
			from, to := s.First, s.Last
			if o.First.After(from) {
				from = o.First
			}
			if o.Last.Before(to) {
				to = o.Last
			}
			if to.Sub(from) >= after {
				r.LiveFragments++
				r.problem("row %s (%s) was listed beside row %s of the same event for %s", id, r.owners[id], other, to.Sub(from).Round(100*time.Millisecond))
				break
			}
		}
	}
}

// FunctionScore compares one function's counts.
type FunctionScore struct {
	Name                      string
	TrueInvocations, GraphInv int
	TrueErrors, GraphErrors   int
}

// maxProblems bounds Report.Problems.
const maxProblems = 150

func (r *Report) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// String is the one line of figures `make fidelity` prints.
func (r Report) String() string {
	live := ""
	if r.LiveFragments >= 0 {
		live = fmt.Sprintf(" live-fragments(≥2s) %d", r.LiveFragments)
	}
	search := ""
	if r.SearchesTotal > 0 {
		search = fmt.Sprintf(" search %d/%d", r.Searches, r.SearchesTotal)
	}
	pending := ""
	if r.Pending > 0 {
		pending = fmt.Sprintf(" (%d pending)", r.Pending)
	}
	return fmt.Sprintf("fidelity: events %d%s ids %d/%d (%s) false-merges %d lookups %d/%d (%s) path %d/%d (%s) fragments %d invocations exact %d/%d errors exact %d/%d",
		r.Events, pending, r.IDsLinked, r.IDsExpected, pctS(r.IDsLinked, r.IDsExpected), r.FalseMerges,
		r.Lookups, r.LookupsTotal, pctS(r.Lookups, r.LookupsTotal), r.PathShown, r.PathTrue, pctS(r.PathShown, r.PathTrue),
		r.Fragments, r.InvExact, len(r.Functions), r.ErrExact, len(r.Functions)) +
		fmt.Sprintf(" rows agree %d/%d", r.RowsAgree, r.Rows) + live + search
}

// Ratio returns n/d, or 1 when d is 0.
func Ratio(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

func pctS(n, d int) string { return fmt.Sprintf("%.1f%%", 100*Ratio(n, d)) }

// UserID is what a user types to look an ID up: a CloudEvents id without its
// source, a correlation value without its field name, other IDs as they are.
func UserID(k tracing.Key) string {
	switch k.Kind {
	case tracing.KeyCloudEventID:
		if _, id, ok := strings.Cut(k.Value, "\n"); ok {
			return id
		}
	case tracing.KeyCorrelation:
		if _, v, ok := strings.Cut(k.Value, "="); ok {
			return v
		}
	}
	return k.Value
}

// Score measures g against t: every event the world recorded, finished or not
// (Pending counts the unfinished ones; a run waits for them before scoring).
func Score(t sandbox.Truth, g Graph) Report {
	r := Report{LiveFragments: -1, owners: map[string]string{}, labels: map[string]string{}}
	lineages := map[string]graph.Lineage{} // by lineage ID
	type scored struct {
		ev      sandbox.TrueEvent
		primary string // lineage ID standing for it; "" when none was found
	}
	var evs []scored
	for _, e := range t.Events {
		if !e.Done {
			r.Pending++
		}
		r.Events++
		for _, k := range e.Own {
			r.owners[UserID(k)] = e.Label + ", its " + k.Kind.String() + " id"
			r.labels[UserID(k)] = e.Label
		}
		s := scored{ev: e}
		best := -1
		var missed []string
		for _, k := range e.Own {
			r.LookupsTotal++
			l, err := g.Lineage(UserID(k))
			if err != nil {
				why := "not found"
				if errors.Is(err, graph.ErrAmbiguous) {
					why = "matches more than one event"
				}
				missed = append(missed, k.Kind.String()+" "+why)
				continue
			}
			lineages[l.ID] = l
			if holdsAll(l.Keys, e.Own) {
				r.Lookups++
			} else {
				missed = append(missed, k.Kind.String()+" gives a part")
			}
			if n := countHeld(l.Keys, e.Keys()); n > best {
				best, s.primary = n, l.ID
			}
		}
		if len(missed) > 0 {
			r.problem("%s: lookups: %s", e.Label, strings.Join(missed, ", "))
		}
		all := e.Keys()
		r.IDsExpected += len(all)
		r.PathTrue += len(e.Path)
		if s.primary == "" {
			r.problem("%s: no graph event", e.Label)
			evs = append(evs, s)
			continue
		}
		l := lineages[s.primary]
		r.IDsLinked += countHeld(l.Keys, all)
		if missing := notHeld(l.Keys, all); len(missing) > 0 {
			r.problem("%s: ids missing on %s: %s", e.Label, l.ID, strings.Join(missing, " "))
		}
		shown := map[tracing.Component]bool{}
		for _, h := range l.Hops {
			shown[h.Component] = true
		}
		var gaps []string
		for _, c := range e.Path {
			if shown[c] {
				r.PathShown++
			} else {
				gaps = append(gaps, c.String())
			}
		}
		if len(gaps) > 0 {
			r.problem("%s: path lacks %s", e.Label, strings.Join(gaps, " "))
		}
		evs = append(evs, s)
	}
	// False merges: a graph event holding strong own IDs of several true events.
	ids := make([]string, 0, len(lineages))
	for id := range lineages {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		var in []string
		for _, s := range evs {
			if holdsAny(lineages[id].Keys, strongOnly(s.ev.Own)) {
				in = append(in, s.ev.Label)
			}
		}
		if len(in) > 1 {
			r.FalseMerges += len(in) - 1
			r.problem("false merge in %s: %s", id, strings.Join(in, " + "))
			if os.Getenv("FIDELITY_DEBUG") != "" {
				for _, k := range lineages[id].Keys {
					r.problem("  key %s", k)
				}
				for _, s := range evs {
					if holdsAny(lineages[id].Keys, strongOnly(s.ev.Own)) {
						for _, k := range s.ev.Own {
							r.problem("  %s own %s", s.ev.Label, k)
						}
					}
				}
				for _, h := range lineages[id].Hops {
					r.problem("  hop %s %s %s", h.Kind, h.Component, h.Evidence)
				}
			}
		}
	}
	// Fragments: rows that stand for no true event, or a second row for one.
	primaries := map[string]bool{}
	for _, s := range evs {
		if s.primary != "" {
			primaries[s.primary] = true
		}
	}
	r.primaries = primaries
	seen := map[string]bool{}
	for _, row := range g.Flows(graph.FlowQuery{Limit: 1 << 20}).Rows {
		r.Rows++
		if l, err := g.Lineage(row.ID); err == nil {
			// One rule: the row's figures are its lineage's (first hop start → last hop end).
			if l.Status == row.Status && len(l.Hops) == row.Hops && l.HopCount == row.Hops && l.Latency == row.Latency {
				r.RowsAgree++
			} else {
				r.problem("row %s says %s, %d hops, %s; its lineage %s, %d hops, %s", row.ID, row.Status, row.Hops, row.Latency, l.Status, len(l.Hops), l.Latency)
			}
		} else {
			r.problem("row %s opens no lineage: %v", row.ID, err)
		}
		if primaries[row.ID] && !seen[row.ID] {
			seen[row.ID] = true
			continue
		}
		r.Fragments++
		r.problem("fragment row %s (%d hops, %s, last %s)", row.ID, row.Hops, row.Status, row.LastHop)
	}
	// Function counts.
	have := map[string]graph.FunctionStats{}
	for _, f := range g.Functions() {
		have[f.Name] = f
	}
	names := make([]string, 0, len(t.Functions))
	for n := range t.Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		tf, gf := t.Functions[n], have[n]
		fs := FunctionScore{Name: n, TrueInvocations: tf.Invocations, GraphInv: int(gf.Invocations), TrueErrors: tf.Errors, GraphErrors: int(gf.Errors)}
		if fs.TrueInvocations == fs.GraphInv {
			r.InvExact++
		}
		if fs.TrueErrors == fs.GraphErrors {
			r.ErrExact++
		}
		if fs.TrueInvocations != fs.GraphInv || fs.TrueErrors != fs.GraphErrors {
			r.problem("function %s: invocations %d (true %d), errors %d (true %d)", n, fs.GraphInv, fs.TrueInvocations, fs.GraphErrors, fs.TrueErrors)
		}
		r.Functions = append(r.Functions, fs)
	}
	return r
}

// ScoreSearch says whether l, the lineage a history search found for one
// of e's own IDs, holds the whole true event: every ID it carries and every
// component of its path. why says what it lacks.
func ScoreSearch(e sandbox.TrueEvent, l graph.Lineage, err error) (whole bool, why string) {
	if err != nil {
		return false, err.Error()
	}
	var lacks []string
	if missing := notHeld(l.Keys, e.Keys()); len(missing) > 0 {
		lacks = append(lacks, "ids "+strings.Join(missing, " "))
	}
	shown := map[tracing.Component]bool{}
	for _, h := range l.Hops {
		shown[h.Component] = true
	}
	var gaps []string
	for _, c := range e.Path {
		if !shown[c] {
			gaps = append(gaps, c.String())
		}
	}
	if len(gaps) > 0 {
		lacks = append(lacks, "path "+strings.Join(gaps, " "))
	}
	return len(lacks) == 0, strings.Join(lacks, "; ")
}

// SearchSample picks up to n events of t and, for each, one own ID to search
// by, varying the kind (EventBridge id, message id, request id, trace id,
// CloudEvents id, SNS message id, in turn): a fixed choice for a seeded world.
func SearchSample(t sandbox.Truth, n int) []SearchCase {
	kinds := []tracing.KeyKind{tracing.KeyEventID, tracing.KeyMessageID, tracing.KeyRequestID, tracing.KeyTraceID, tracing.KeyCloudEventID, tracing.KeySNSMessageID, tracing.KeyAPIRequest}
	used := map[int]bool{}
	var out []SearchCase
	for round := 0; len(out) < n && round < len(t.Events); round++ {
		added := false
		for _, kind := range kinds {
			if len(out) == n {
				break
			}
			for i, e := range t.Events {
				if used[i] || !e.Done || e.LiveOnly {
					continue // a live-only hop (OTLP) is in no history a search can read
				}
				if k, ok := ownOfKind(e, kind); ok {
					used[i], added = true, true
					out = append(out, SearchCase{Event: e, By: k})
					break
				}
			}
		}
		if !added {
			break
		}
	}
	return out
}

// SearchCase is one history search to score: an event and the own ID to search by.
type SearchCase struct {
	Event sandbox.TrueEvent
	By    tracing.Key
}

func ownOfKind(e sandbox.TrueEvent, kind tracing.KeyKind) (tracing.Key, bool) {
	for _, k := range e.Own {
		if k.Kind == kind {
			return k, true
		}
	}
	return tracing.Key{}, false
}

func strongOnly(keys []tracing.Key) []tracing.Key {
	var out []tracing.Key
	for _, k := range keys {
		if k.Kind.Strong() {
			out = append(out, k)
		}
	}
	return out
}

func countHeld(have, want []tracing.Key) int {
	n := 0
	for _, k := range want {
		if slices.Contains(have, k) {
			n++
		}
	}
	return n
}

func holdsAll(have, want []tracing.Key) bool { return countHeld(have, want) == len(want) }

func holdsAny(have, want []tracing.Key) bool { return countHeld(have, want) > 0 }

func notHeld(have, want []tracing.Key) []string {
	var out []string
	for _, k := range want {
		if !slices.Contains(have, k) {
			out = append(out, k.Kind.String()+":"+UserID(k))
		}
	}
	return out
}

// MapReport compares the map with the world's topology.
type MapReport struct {
	Shown, Edges int      // topology edges the map shows / topology edges
	Missing      []string // topology edges the map lacks
	Extra        []string // map edges that are in no topology edge
}

// String is the one line of map figures.
func (m MapReport) String() string {
	return fmt.Sprintf("map: edges %d/%d (%s) extra %d", m.Shown, m.Edges, pctS(m.Shown, m.Edges), len(m.Extra))
}

// ScoreMap compares g's map with t's topology edges.
func ScoreMap(t sandbox.Truth, g Graph) MapReport {
	var m MapReport
	mv := g.Map()
	have := map[[2]tracing.Component]bool{}
	for _, e := range mv.Edges {
		have[[2]tracing.Component{e.From, e.To}] = true
	}
	want := map[[2]tracing.Component]bool{}
	for _, e := range t.Edges {
		k := [2]tracing.Component{e.From, e.To}
		if want[k] {
			continue
		}
		want[k] = true
		m.Edges++
		if have[k] {
			m.Shown++
		} else {
			m.Missing = append(m.Missing, e.From.String()+" → "+e.To.String()+" ("+e.Via+")")
		}
	}
	for _, e := range mv.Edges {
		if !want[[2]tracing.Component{e.From, e.To}] {
			m.Extra = append(m.Extra, e.From.String()+" → "+e.To.String())
		}
	}
	return m
}
