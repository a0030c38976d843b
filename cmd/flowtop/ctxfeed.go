package main

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/flowtop/flowtop/engine"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui"
	ctxscreen "github.com/flowtop/flowtop/tui/screens/ctx"
)

// feed is what the console reads: the graph plus the engine's source health.
type feed struct {
	*graph.Graph
	e *engine.Engine
}

func (f feed) Health() []tracing.SourceHealth { return f.e.Health() }

// consoleFeed is the console's feed: the plain one for one context, the one
// that lists contexts and narrows the views for several.
func consoleFeed(e *engine.Engine) tui.Feed {
	cs := e.Contexts()
	if len(cs) == 0 {
		return feed{Graph: e.Graph(), e: e}
	}
	m := &multiFeed{feed: feed{Graph: e.Graph(), e: e}, narrowed: -1}
	accounts := map[string]bool{}
	for _, c := range cs {
		m.names = append(m.names, c.Name)
		m.places = append(m.places, [2]string{c.Account, c.Region})
		accounts[c.Account] = true
	}
	for _, c := range cs {
		w := c.Region
		if len(accounts) > 1 {
			w = c.Account + "/" + c.Region
		}
		m.where = append(m.where, w)
	}
	return m
}

// maxNarrowScan bounds the rows a narrowed flows list looks through for the
// narrowed context's: the newest (or first in the chosen order) that many.
const maxNarrowScan = 20_000

// multiFeed is the feed when several accounts or regions are watched: it
// lists them with their health ([ctxscreen.Feed]), says where each event was
// seen (the flows list's REGION column), and narrows what the views read to
// one context. Functions and queues carry their place, so a narrowed list
// keeps the context's own.
type multiFeed struct {
	feed
	names  []string    // the contexts, in the engine's order
	places [][2]string // each one's account and region
	where  []string    // what Where says for each: region, or account/region

	mu       sync.Mutex
	narrowed int // index into names; -1 for all
	bumps    atomic.Uint64
}

var (
	_ tui.Feed       = (*multiFeed)(nil)
	_ ctxscreen.Feed = (*multiFeed)(nil)
)

// Contexts implements ctxscreen.Feed.
func (f *multiFeed) Contexts() []ctxscreen.Context {
	cs := f.e.Contexts()
	out := make([]ctxscreen.Context, len(cs))
	for i, c := range cs {
		x := ctxscreen.Context{Name: c.Name, Account: c.Account, Region: c.Region, Reason: c.Reason, Detail: c.Detail, Sources: len(c.Sources), Items: c.Items}
		switch c.State {
		case engine.ContextOK:
			x.State = ctxscreen.StateOK
		case engine.ContextDegraded:
			x.State = ctxscreen.StateDegraded
		case engine.ContextFailing:
			x.State = ctxscreen.StateFailing
		}
		for _, h := range c.Sources {
			if (h.State == tracing.SourceStateFailed || h.State == tracing.SourceStateRetrying) && h.LastError != "" {
				x.Failing++
			}
		}
		out[i] = x
	}
	return out
}

// Narrow implements ctxscreen.Feed.
func (f *multiFeed) Narrow(name string) bool {
	i := -1
	if name != "" {
		for j, n := range f.names {
			if n == name {
				i = j
			}
		}
		if i < 0 {
			return false
		}
	}
	f.mu.Lock()
	f.narrowed = i
	f.mu.Unlock()
	f.bumps.Add(1)
	return true
}

// Narrowed implements ctxscreen.Feed.
func (f *multiFeed) Narrowed() string {
	if i := f.index(); i >= 0 {
		return f.names[i]
	}
	return ""
}

func (f *multiFeed) index() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.narrowed
}

// Version moves when the graph does and when the narrowing changes, so the
// console reads again.
func (f *multiFeed) Version() uint64 { return f.Graph.Version() + f.bumps.Load() }

// Where says where the event with this ID was seen: its context's region
// (account/region when accounts differ), "" when not known.
func (f *multiFeed) Where(id string) string {
	if i, ok := f.e.WhereOf(id); ok && i < len(f.where) {
		return f.where[i]
	}
	return ""
}

// WhereFunction says where a function of this name was seen: the regions
// (account/region when accounts differ) of every context that saw it.
func (f *multiFeed) WhereFunction(name string) string {
	var out []string
	for i, w := range f.where {
		if f.e.Seen(i, tracing.Component{Kind: tracing.ComponentFunction, Name: name}) {
			out = append(out, w)
		}
	}
	return strings.Join(out, ", ")
}

// Flows keeps, when narrowed, the events seen in the narrowed context, and
// answers the place terms (region:, account:) the graph does not know: an
// event's place is where the engine saw its ID. Either looks through the
// first maxNarrowScan rows of the list the graph answers for the rest.
func (f *multiFeed) Flows(q graph.FlowQuery) graph.FlowPage {
	i := f.index()
	var places []graph.FieldTerm
	rest := q.Fields[:0:0]
	for _, t := range q.Fields {
		switch strings.ToLower(strings.TrimSpace(t.Key)) {
		case "region", "account":
			places = append(places, t)
		default:
			rest = append(rest, t)
		}
	}
	if i < 0 && len(places) == 0 {
		return f.Graph.Flows(q)
	}
	all := q
	all.Fields = rest
	all.Offset, all.Limit = 0, maxNarrowScan
	page := f.Graph.Flows(all)
	rows := page.Rows[:0:0]
	for _, r := range page.Rows {
		j, ok := f.e.WhereOf(r.ID)
		if ok && (i < 0 || j == i) && f.placed(j, places) {
			rows = append(rows, r)
		}
	}
	out := graph.FlowPage{Matched: len(rows), Version: page.Version, Partial: page.Partial} // partial: the console reads again
	rows = rows[min(max(q.Offset, 0), len(rows)):]
	if q.Limit > 0 && len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	out.Rows = rows
	return out
}

// placed reports whether the context at index j is in every place term:
// its region or account contains the term's value, as the other field
// terms match.
func (f *multiFeed) placed(j int, terms []graph.FieldTerm) bool {
	if j >= len(f.places) {
		return len(terms) == 0
	}
	for _, t := range terms {
		v := f.places[j][1]
		if strings.EqualFold(strings.TrimSpace(t.Key), "account") {
			v = f.places[j][0]
		}
		if !strings.Contains(strings.ToLower(v), strings.ToLower(strings.TrimSpace(t.Value))) {
			return false
		}
	}
	return true
}

// Traces keeps, when narrowed, the traces whose spans were read in the
// context (a trace that crosses regions is kept in each it was seen in last).
func (f *multiFeed) Traces(q graph.TraceQuery) graph.TracePage {
	i := f.index()
	if i < 0 {
		return f.Graph.Traces(q)
	}
	limit := q.Limit
	q.Limit = maxNarrowScan
	p := f.Graph.Traces(q)
	rows := p.Rows[:0:0]
	for _, r := range p.Rows {
		if j, ok := f.e.WhereOf(r.ID.String()); ok && j == i {
			rows = append(rows, r)
		}
	}
	p.Matched = len(rows)
	if limit <= 0 {
		limit = 1000
	}
	if len(rows) > limit {
		rows = rows[:limit]
	}
	p.Rows = rows
	return p
}

// Functions keeps, when narrowed, the context's functions: by their place
// when the graph placed them, else those whose name the context saw.
func (f *multiFeed) Functions() []graph.FunctionStats {
	fns := f.Graph.Functions()
	i := f.index()
	if i < 0 {
		return fns
	}
	out := fns[:0:0]
	for _, fn := range fns {
		if f.in(i, tracing.Component{Kind: tracing.ComponentFunction, Name: fn.Name, Account: fn.Account, Region: fn.Region}) {
			out = append(out, fn)
		}
	}
	return out
}

// Queues keeps, when narrowed, the queues seen in the context.
func (f *multiFeed) Queues() []graph.QueueStats {
	qs := f.Graph.Queues()
	i := f.index()
	if i < 0 {
		return qs
	}
	out := qs[:0:0]
	for _, q := range qs {
		if f.in(i, tracing.Component{Kind: tracing.ComponentQueue, Name: q.Name, Account: q.Account, Region: q.Region}) {
			out = append(out, q)
		}
	}
	return out
}

// in reports whether component c is in the context at index i: by its
// place when it carries one (brokers do), else by whether the context saw
// a component of its kind and name.
func (f *multiFeed) in(i int, c tracing.Component) bool {
	if c.Region != "" || c.Account != "" {
		return i < len(f.places) && f.places[i] == [2]string{c.Account, c.Region}
	}
	return f.e.Seen(i, tracing.Component{Kind: c.Kind, Name: c.Name})
}

// Map keeps, when narrowed, the components seen in the context and the
// edges between them.
func (f *multiFeed) Map() graph.MapView {
	v := f.Graph.Map()
	i := f.index()
	if i < 0 {
		return v
	}
	seen := func(c tracing.Component) bool { return f.in(i, c) }
	var out graph.MapView
	for _, n := range v.Nodes {
		if seen(n.Component) {
			out.Nodes = append(out.Nodes, n)
		}
	}
	for _, e := range v.Edges {
		if seen(e.From) && seen(e.To) {
			out.Edges = append(out.Edges, e)
		}
	}
	return out
}
