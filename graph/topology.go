package graph

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// The configured topology: how the account routes events (EventBridge rule
// targets, SNS subscriptions, event source mappings, redrive policies, async
// destinations), as the topology collector reads it. It is evidence too:
//
//   - a lineage places every broker the configuration puts between two hops
//     it has seen (producer → bus → topic → queue → consumer → DLQ), with the
//     route as evidence and a confidence below that of a hop seen;
//   - the map shows exactly the configured edges and the observed ones, each
//     marked as such.
//
// Routes are kept per scope (see [tracing.RouteSet]): a reading replaces the
// routes of the scopes it read completely and adds to the others.

// maxRoutes bounds the routes and the configured components kept.
const maxRoutes = 10_000

// routeConfidence is the confidence of a hop placed from the configuration
// alone: below any hop seen in a body, a span or a log.
const routeConfidence = 0.7

// maxChain bounds the brokers placed between two hops seen.
const maxChain = 4

type topology struct {
	routes  map[[3]string]tracing.Route
	comps   map[tracing.Component]string // configured component → its scope
	in, out map[tracing.Component][]tracing.Route
	updated time.Time

	mapMu    sync.Mutex // guards the observed-edge cache, filled under the read lock
	mapAt    time.Time
	mapEdges map[[2]tracing.Component]float64 // observed edge → events per second
}

// scopeOfKind is the scope whose reading lists the components of a kind.
func scopeOfKind(k tracing.ComponentKind) string {
	switch k {
	case tracing.ComponentBus:
		return tracing.RouteScopeEvents
	case tracing.ComponentTopic:
		return tracing.RouteScopeSNS
	case tracing.ComponentQueue:
		return tracing.RouteScopeSQS
	}
	return ""
}

// ingestRoutes takes one reading of the routing configuration (the caller
// holds the write lock).
func (g *Graph) ingestRoutes(set *tracing.RouteSet, at time.Time) {
	if set == nil {
		return
	}
	t := &g.topo
	if t.routes == nil {
		t.routes, t.comps = map[[3]string]tracing.Route{}, map[tracing.Component]string{}
	}
	// A reading is of one account and region (its components' place, ""
	// with one context watched): it replaces what that place's reading of
	// the same scopes said, never another region's routes.
	places := map[string]bool{}
	for _, r := range set.Routes {
		places[placeOf(r.From)] = true
	}
	for _, c := range set.Components {
		places[placeOf(c)] = true
	}
	if len(places) == 0 {
		places[""] = true
	}
	complete := map[string]bool{}
	for _, sc := range set.Scopes {
		for p := range places {
			complete[sc+"@"+p] = true
		}
	}
	for k, r := range t.routes {
		if complete[r.Scope+"@"+placeOf(r.From)] {
			delete(t.routes, k)
		}
	}
	for c, sc := range t.comps {
		if complete[sc+"@"+placeOf(c)] {
			delete(t.comps, c)
		}
	}
	for _, r := range set.Routes {
		if r.From.Name == "" || r.To.Name == "" || r.From == r.To {
			continue
		}
		if _, ok := t.routes[r.Key()]; ok || len(t.routes) < maxRoutes {
			t.routes[r.Key()] = r
		}
	}
	for _, c := range set.Components {
		if sc := scopeOfKind(c.Kind); sc != "" && c.Name != "" && len(t.comps) < maxRoutes {
			t.comps[c] = sc
		}
	}
	t.in, t.out = map[tracing.Component][]tracing.Route{}, map[tracing.Component][]tracing.Route{}
	keys := make([][3]string, 0, len(t.routes))
	for k := range t.routes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && (keys[i][1] < keys[j][1] || keys[i][1] == keys[j][1] && keys[i][2] < keys[j][2])
	})
	for _, k := range keys {
		r := t.routes[k]
		t.out[r.From] = append(t.out[r.From], r)
		t.in[r.To] = append(t.in[r.To], r)
	}
	t.updated = at
	t.mapMu.Lock()
	t.mapEdges = nil // observed paths change with the routes that complete them
	t.mapMu.Unlock()
}

// placeOf is where c lives, as account/region; "" when not placed.
func placeOf(c tracing.Component) string {
	if c.Account == "" && c.Region == "" {
		return ""
	}
	return c.Account + "/" + c.Region
}

// Routes returns the configured routes the graph holds, sorted.
func (g *Graph) Routes() []tracing.Route {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []tracing.Route
	for _, rs := range g.topo.out {
		out = append(out, rs...)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Key(), out[j].Key()
		return a[0] < b[0] || a[0] == b[0] && (a[1] < b[1] || a[1] == b[1] && a[2] < b[2])
	})
	return out
}

// deadLetterVia reports whether a route only carries what failed: a DLQ or an
// on-failure destination, never an event's normal path.
func deadLetterVia(via string) bool {
	return strings.Contains(via, "dead-letter") || strings.Contains(via, "redrive") || strings.Contains(via, "on-failure")
}

// path is the shortest configured route chain from a to b (at most maxChain
// brokers between them), or nil. Failure routes may only end the chain, and
// only when toDLQ.
func (t *topology) path(a, b tracing.Component, toDLQ bool) []tracing.Route {
	type step struct {
		at   tracing.Component
		prev int
		via  tracing.Route
	}
	steps := []step{{at: a, prev: -1}}
	seen := map[tracing.Component]bool{a: true}
	for i := 0; i < len(steps); i++ {
		depth := 0
		for j := i; steps[j].prev >= 0; j = steps[j].prev {
			depth++
		}
		if depth > maxChain {
			break
		}
		for _, r := range t.out[steps[i].at] {
			if seen[r.To] || deadLetterVia(r.Via) && !(toDLQ && r.To == b) {
				continue
			}
			if r.To != b && r.To.Kind == tracing.ComponentFunction {
				continue // events pass through brokers, not through other functions
			}
			seen[r.To] = true
			steps = append(steps, step{at: r.To, prev: i, via: r})
			if r.To == b {
				var out []tracing.Route
				for j := len(steps) - 1; j > 0; j = steps[j].prev {
					out = append(out, steps[j].via)
				}
				for l, m := 0, len(out)-1; l < m; l, m = l+1, m-1 {
					out[l], out[m] = out[m], out[l]
				}
				return out
			}
		}
	}
	return nil
}

// upstream is the chain of brokers that alone feeds c, nearest last: each
// step has exactly one configured broker before it (a queue fed by one rule
// of one bus). It stops where the configuration branches or ends.
func (t *topology) upstream(c tracing.Component, dlq bool) []tracing.Route {
	var chain []tracing.Route
	seen := map[tracing.Component]bool{c: true}
	cur := c
	for len(chain) < maxChain {
		var only *tracing.Route
		n := 0
		for i, r := range t.in[cur] {
			if r.From.Kind == tracing.ComponentFunction || deadLetterVia(r.Via) != (dlq && len(chain) == 0) {
				continue
			}
			n++
			only = &t.in[cur][i]
		}
		if n != 1 || seen[only.From] {
			break
		}
		chain = append(chain, *only)
		seen[only.From] = true
		cur = only.From
	}
	for l, m := 0, len(chain)-1; l < m; l, m = l+1, m-1 {
		chain[l], chain[m] = chain[m], chain[l]
	}
	return chain
}

func isBroker(k tracing.ComponentKind) bool {
	return k == tracing.ComponentBus || k == tracing.ComponentTopic || k == tracing.ComponentQueue || k == tracing.ComponentStream
}

// placeNode is one hop of a lineage being completed, with its parent's index.
type placeNode struct {
	hop    Hop
	parent int
}

// placeRoutes puts into a finished lineage the brokers the configured
// topology says an event passed between two hops that were seen: the bus
// between a producer and a rule's queue, the topic between a bus and a
// subscribed queue, the queue between a bus and the function its event
// source mapping feeds, the source queue above a DLQ copy. It also names a
// bus known only as "eventbridge" (an envelope never names its bus) when one
// configured bus alone routes to what followed it. Placed hops are marked
// Configured and carry the route as evidence and [routeConfidence]. The
// caller holds the read lock.
func (g *Graph) placeRoutes(hops []Hop) []Hop {
	t := &g.topo
	if len(t.routes) == 0 || len(hops) == 0 {
		return hops
	}
	nodes := make([]placeNode, len(hops))
	for i, h := range hops {
		nodes[i] = placeNode{hop: h, parent: h.Parent}
	}
	changed := false
	// A bus seen only in an envelope: name it after the one configured bus
	// that routes to what followed it.
	for i := range nodes {
		h := &nodes[i].hop
		if h.Kind != HopBroker || !placeholderBus(h.Component) {
			continue
		}
		var only tracing.Route
		candidates := map[tracing.Component]bool{}
		for c := range nodes {
			if nodes[c].parent != i {
				continue
			}
			for bus := range t.out {
				if bus.Kind != tracing.ComponentBus || candidates[bus] {
					continue
				}
				if chain := t.path(bus, nodes[c].hop.Component, nodes[c].hop.Kind == HopDeadLetter); chain != nil {
					candidates[bus], only = true, chain[0]
				}
			}
		}
		if len(candidates) == 1 {
			h.Component = only.From
			h.Evidence += "; bus named by the configuration: " + only.Evidence
			changed = true
		}
	}
	// reuse finds a child of p that already is broker c, so a placed chain
	// joins the hop seen rather than repeating it.
	reuse := func(p int, c tracing.Component) (int, bool) {
		for j := range nodes {
			if nodes[j].parent == p && nodes[j].hop.Kind == HopBroker && nodes[j].hop.Component == c {
				return j, true
			}
		}
		return 0, false
	}
	// Between each hop and its parent, the brokers the configuration puts there.
	for i, orig := 0, len(nodes); i < orig; i++ {
		h, p := nodes[i].hop, nodes[i].parent
		if p < 0 || h.Kind == HopPublish || h.Kind == HopBroker && !isBroker(h.Component.Kind) {
			continue
		}
		if h.Kind != HopInvoke && h.Kind != HopDeadLetter && h.Kind != HopBroker {
			continue
		}
		dlq := h.Kind == HopDeadLetter
		parent := nodes[p].hop
		var chain []tracing.Route
		fromRoot := false
		switch {
		case parent.Kind == HopPublish && h.Evidence == evidenceDestination:
			// The producer's span named where it published: nothing lies between.
		case parent.Kind == HopPublish:
			chain, fromRoot = t.upstream(h.Component, dlq), true
		case parent.Kind == HopBroker && parent.Component != h.Component:
			chain = t.path(parent.Component, h.Component, dlq)
			if chain == nil && h.Kind == HopBroker {
				// The lineage guessed the parent (a queue under "the last bus
				// or topic"); another broker of this event may be the configured one.
				for j := range nodes {
					if j == i || j == p || nodes[j].hop.Kind != HopBroker || nodes[j].parent == i {
						continue
					}
					if c := t.path(nodes[j].hop.Component, h.Component, false); c != nil && (chain == nil || len(c) < len(chain)) {
						chain, p = c, j
					}
				}
				if chain != nil && p != nodes[i].parent {
					nodes[i].parent, changed = p, true
				}
			}
		}
		if len(chain) == 0 {
			continue
		}
		cur := p
		if fromRoot {
			root := chain[0].From
			if next, ok := reuse(cur, root); ok {
				cur = next
			} else {
				nodes = append(nodes, placeNode{hop: placedHop(root, nodes[cur].hop.Time,
					"published to "+root.Name+", which alone routes to "+chain[0].To.Name+": "+chain[0].Evidence), parent: cur})
				cur = len(nodes) - 1
			}
		}
		for _, r := range chain {
			if r.To == h.Component {
				break
			}
			if next, ok := reuse(cur, r.To); ok {
				cur = next
				continue
			}
			nodes = append(nodes, placeNode{hop: placedHop(r.To, nodes[cur].hop.Time, r.Evidence), parent: cur})
			cur = len(nodes) - 1
		}
		if cur != nodes[i].parent {
			nodes[i].parent, changed = cur, true
		}
	}
	// A consumer with no parent (its message was seen on no queue, and no
	// producer is known): under the broker of this event that feeds it.
	for i := range nodes {
		h := nodes[i].hop
		if nodes[i].parent >= 0 || h.Kind != HopInvoke {
			continue
		}
		best, bestLen := -1, 0
		var chain []tracing.Route
		for j := range nodes {
			if j == i || nodes[j].hop.Kind != HopBroker || !isBroker(nodes[j].hop.Component.Kind) {
				continue
			}
			if c := t.path(nodes[j].hop.Component, h.Component, false); c != nil && (best < 0 || len(c) < bestLen) {
				best, bestLen, chain = j, len(c), c
			}
		}
		if best < 0 {
			continue
		}
		cur := best
		for _, r := range chain {
			if r.To == h.Component {
				break
			}
			if next, ok := reuse(cur, r.To); ok {
				cur = next
				continue
			}
			nodes = append(nodes, placeNode{hop: placedHop(r.To, nodes[cur].hop.Time, r.Evidence), parent: cur})
			cur = len(nodes) - 1
		}
		nodes[i].parent, changed = cur, true
	}
	if !changed {
		return hops
	}
	return flatten(nodes)
}

// flatten orders hops depth-first from the roots, siblings by time, as build
// does, and sets Parent, Depth and Latency again.
func flatten(nodes []placeNode) []Hop {
	kids := make([][]int, len(nodes))
	var roots []int
	for i := range nodes {
		if p := nodes[i].parent; p >= 0 && p < len(nodes) && p != i {
			kids[p] = append(kids[p], i)
		} else {
			roots = append(roots, i)
		}
	}
	byTime := func(idx []int) {
		sort.SliceStable(idx, func(a, b int) bool { return nodes[idx[a]].hop.Time.Before(nodes[idx[b]].hop.Time) })
	}
	out := make([]Hop, 0, len(nodes))
	seen := make([]bool, len(nodes))
	var walk func(i, parentOut, depth int)
	walk = func(i, parentOut, depth int) {
		if seen[i] || depth > 64 {
			return
		}
		seen[i] = true
		h := nodes[i].hop
		h.Parent, h.Depth, h.Latency = parentOut, depth, 0
		if parentOut >= 0 {
			if d := h.Time.Sub(out[parentOut].Time); d > 0 {
				h.Latency = d
			}
		}
		out = append(out, h)
		me := len(out) - 1
		byTime(kids[i])
		for _, c := range kids[i] {
			walk(c, me, depth+1)
		}
	}
	byTime(roots)
	for _, r := range roots {
		walk(r, -1, 0)
	}
	for i := range nodes {
		walk(i, -1, 0) // a cycle's members still show
	}
	return out
}

func placedHop(c tracing.Component, at time.Time, evidence string) Hop {
	return Hop{Kind: HopBroker, Component: c, Time: at, Status: HopOK, Evidence: evidence, Confidence: routeConfidence, Configured: true}
}

// Observed edges are read from the lineages of recently active events, the
// same paths the event screen shows: producer → bus, bus → queue or topic,
// topic → queue, queue → consumer, queue → DLQ. At most mapEvents events
// within mapWindow are read, and the result is reused for mapRefresh.
const (
	mapEvents  = 500
	mapWindow  = 30 * time.Second
	mapRefresh = time.Second
)

// observedEdges returns the edges recent lineages took, with their rates (the
// caller holds the read lock).
func (g *Graph) observedEdges(now time.Time) map[[2]tracing.Component]float64 {
	t := &g.topo
	t.mapMu.Lock()
	defer t.mapMu.Unlock()
	if t.mapEdges != nil && now.Sub(t.mapAt) >= 0 && now.Sub(t.mapAt) < mapRefresh {
		return t.mapEdges
	}
	counts := map[[2]tracing.Component]float64{}
	since := now.Add(-mapWindow)
	earliest := now
	n := 0
	for e := g.s.head; e != 0; e = g.s.ev(e).next {
		last := fromNanos(g.s.ev(e).last)
		if last.Before(since) {
			break
		}
		if n++; n > mapEvents {
			// Only the most recent events were read: the rate is over the time they cover.
			since = last
			break
		}
		l, _ := g.build(g.s.view(e), false)
		for _, h := range l.Hops {
			if h.Parent < 0 || h.Parent >= len(l.Hops) || h.Status == HopMissing {
				continue
			}
			p := l.Hops[h.Parent]
			if h.Configured || p.Configured || p.Component.Name == "" || h.Component.Name == "" || p.Component == h.Component {
				continue
			}
			if (placeholderBus(p.Component) || placeholderBus(h.Component)) && len(t.routes) > 0 {
				continue // a bus no observation named, in an account whose buses are known
			}
			k := [2]tracing.Component{p.Component, h.Component}
			if _, ok := counts[k]; !ok && len(counts) >= maxComponents {
				continue
			}
			counts[k] += 0
			if h.Time.After(since) && !h.Time.After(now) {
				counts[k]++
				if h.Time.Before(earliest) {
					earliest = h.Time
				}
			}
		}
	}
	// The rate is over the time the counted hops span: since the window's
	// start, or since the first hop when flowtop has watched for less.
	covered := now.Sub(since)
	if span := now.Sub(earliest); span < covered {
		covered = span
	}
	if covered < time.Second {
		covered = time.Second
	}
	for k, c := range counts {
		counts[k] = c / covered.Seconds()
	}
	t.mapEdges, t.mapAt = counts, now
	return counts
}

// placeholderBus reports whether c is the bus an EventBridge envelope implies
// without naming it.
func placeholderBus(c tracing.Component) bool {
	return c.Kind == tracing.ComponentBus && c.Name == "eventbridge"
}

// mapTopology completes a map with the observed edges of recent lineages and
// the configured routes, marking each node and edge configured, observed or
// both (the caller holds the read lock).
func (g *Graph) mapTopology(v *MapView, now time.Time) {
	t := &g.topo
	idx := make(map[[2]tracing.Component]int, len(v.Edges))
	for i := range v.Edges {
		v.Edges[i].Observed = true
		idx[[2]tracing.Component{v.Edges[i].From, v.Edges[i].To}] = i
	}
	for k, rate := range g.observedEdges(now) {
		if i, ok := idx[k]; ok {
			// One rule for the map's rates: the events whose lineage took the edge.
			v.Edges[i].Rate = rate
			continue
		}
		idx[k] = len(v.Edges)
		v.Edges = append(v.Edges, MapEdge{From: k[0], To: k[1], Rate: rate, Observed: true})
	}
	configured := map[tracing.Component]bool{}
	for c := range t.comps {
		configured[c] = true
	}
	for _, rs := range t.out {
		for _, r := range rs {
			configured[r.From], configured[r.To] = true, true
			k := [2]tracing.Component{r.From, r.To}
			i, ok := idx[k]
			if !ok {
				i = len(v.Edges)
				idx[k] = i
				v.Edges = append(v.Edges, MapEdge{From: r.From, To: r.To})
			}
			e := &v.Edges[i]
			e.Configured = true
			if e.Via == "" {
				e.Via = r.Via
			} else if !strings.Contains(", "+e.Via+", ", ", "+r.Via+", ") {
				e.Via += ", " + r.Via
			}
		}
	}
	// Nodes: every component seen, configured, or at the end of an edge.
	have := make(map[tracing.Component]int, len(v.Nodes))
	for i := range v.Nodes {
		v.Nodes[i].Observed = true
		v.Nodes[i].Configured = configured[v.Nodes[i].Component]
		have[v.Nodes[i].Component] = i
	}
	add := func(c tracing.Component, conf bool) {
		if c.Name == "" {
			return
		}
		if _, ok := have[c]; ok {
			return
		}
		have[c] = len(v.Nodes)
		v.Nodes = append(v.Nodes, MapNode{Component: c, Configured: conf, Observed: !conf})
	}
	for c := range configured {
		add(c, true)
	}
	for _, e := range v.Edges {
		add(e.From, configured[e.From])
		add(e.To, configured[e.To])
	}
	// "eventbridge" stands for a bus no observation named; once the
	// configuration names the buses, its events show under their real bus.
	// A configured broker no observation named (a bus an envelope implies
	// without naming it, where no producer span names it either) carries
	// the events the lineages took through it: what came in, else (a root:
	// no producer seen) its busiest way out, as each event takes each.
	for i := range v.Nodes {
		n := &v.Nodes[i]
		if n.Observed || n.Rate > 0 || !isBroker(n.Component.Kind) {
			continue
		}
		var in, out float64
		for _, e := range v.Edges {
			switch {
			case !e.Observed:
			case e.To == n.Component:
				in += e.Rate
			case e.From == n.Component:
				out = max(out, e.Rate)
			}
		}
		n.Rate = in
		if in == 0 {
			n.Rate = out
		}
	}
	// One placeholder per region when several are watched.
	if len(t.routes) > 0 {
		used := map[tracing.Component]bool{}
		for _, e := range v.Edges {
			used[e.From], used[e.To] = true, true
		}
		nodes := v.Nodes[:0]
		for _, n := range v.Nodes {
			if c := n.Component; placeholderBus(c) && !configured[c] && !used[c] {
				continue
			}
			nodes = append(nodes, n)
		}
		v.Nodes = nodes
	}
}
