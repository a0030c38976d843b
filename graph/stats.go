package graph

import (
	"sort"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/flowtop/flowtop/tracing"
)

// newSketch is a DDSketch with 1% relative accuracy and bounded memory: the
// percentiles flowtop shows come from it, never from sorting samples.
func newSketch() *ddsketch.DDSketch {
	s, err := ddsketch.LogCollapsingLowestDenseDDSketch(0.01, 1024)
	if err != nil {
		panic(err) // constant arguments: cannot fail
	}
	return s
}

func quantile(s *ddsketch.DDSketch, q float64) time.Duration {
	if s == nil || s.IsEmpty() {
		return 0
	}
	v, err := s.GetValueAtQuantile(q)
	if err != nil {
		return 0
	}
	return time.Duration(v * float64(time.Millisecond))
}

// rateRing counts events per bucket over the last rateBuckets buckets.
type rateRing struct {
	width  time.Duration
	born   time.Time // the first count's time
	start  time.Time // start of the newest bucket
	counts [rateBuckets]float64
	head   int
}

func (r *rateRing) advance(now time.Time) {
	if r.start.IsZero() {
		r.start, r.born = now.Truncate(r.width), now
		return
	}
	for steps := 0; now.Sub(r.start) >= r.width && steps <= rateBuckets; steps++ {
		r.start = r.start.Add(r.width)
		r.head = (r.head + 1) % rateBuckets
		r.counts[r.head] = 0
	}
	if now.Sub(r.start) >= r.width {
		r.start = now.Truncate(r.width)
	}
}

func (r *rateRing) add(at time.Time, n int) {
	if at.Before(r.start) {
		// Late data counts in the bucket it belongs to, if still held.
		back := int(r.start.Sub(at)/r.width) + 1
		if back < rateBuckets {
			r.counts[(r.head-back+rateBuckets)%rateBuckets] += float64(n)
		}
		return
	}
	r.advance(at)
	r.counts[r.head] += float64(n)
}

// series returns per-second rates, oldest first.
func (r *rateRing) series(now time.Time) []float64 {
	cp := *r
	if !cp.start.IsZero() {
		cp.advance(now)
	}
	out := make([]float64, rateBuckets)
	for i := 0; i < rateBuckets; i++ {
		out[i] = cp.counts[(cp.head+1+i)%rateBuckets] / cp.width.Seconds()
	}
	return out
}

// recent is the rate over the last full bucket and the current one so far,
// or since the first count when the ring is younger (at least a second):
// unlike perSecond it moves as counts arrive, not once a bucket, so the
// header's obs/s follows the stream within seconds. Counts must be by
// arrival (the graph's own rate), not by event time: a source that lags
// would leave the current bucket short and the figure low.
func (r *rateRing) recent(now time.Time) float64 {
	if r.start.IsZero() {
		return 0
	}
	cp := *r
	cp.advance(now)
	window := cp.width + max(now.Sub(cp.start), 0)
	if age := now.Sub(cp.born); age < window {
		window = age
	}
	window = max(window, time.Second)
	n := cp.counts[cp.head] + cp.counts[(cp.head-1+rateBuckets)%rateBuckets]
	return n / window.Seconds()
}

// perSecond is the rate over the last two full buckets.
func (r *rateRing) perSecond(now time.Time) float64 {
	s := r.series(now)
	return (s[len(s)-2] + s[len(s)-3]) / 2
}

type fnStats struct {
	key                 fnSite
	cfg                 tracing.FunctionConfig
	invocations, errors uint64
	timeouts, cold      uint64
	reports             uint64 // invocations with a REPORT (memory and cost figures)
	maxMem              int
	memSum              float64
	lastMem             int
	gbs, usd            float64
	first, last         time.Time
	dur                 *ddsketch.DDSketch
	rate                rateRing
}

// fnSite is a function in its place. Account and region are empty while one
// account and region is watched; with several, the same name in two regions
// is two functions, each with its own figures and configuration.
type fnSite struct {
	account, region, name string
}

func (g *Graph) fn(k fnSite) *fnStats {
	st, ok := g.fns[k]
	if !ok {
		st = &fnStats{key: k, dur: newSketch(), rate: rateRing{width: g.cfg.RateBucket}}
		if len(g.fns) < maxComponents {
			g.fns[k] = st
		}
	}
	return st
}

// fnConfig is f's configuration: its own, or, when its place's configuration
// was never read (a linked account's log group read through a monitoring
// account), that of the function of its name read without a place.
func (g *Graph) fnConfig(f *fnStats) tracing.FunctionConfig {
	if f.cfg.Name == "" && (f.key.account != "" || f.key.region != "") {
		if u := g.fns[fnSite{name: f.key.name}]; u != nil {
			return u.cfg
		}
	}
	return f.cfg
}

func arch(cfg tracing.FunctionConfig) string {
	if cfg.Architecture != "" {
		return cfg.Architecture
	}
	return "x86_64"
}

// unplaced says, in bits of invocation.counted, which of its place was not
// known when it was counted.
func unplaced(inv *invocation) uint8 {
	var b uint8
	if inv.account == "" {
		b |= acctNoAccount
	}
	if inv.region == "" {
		b |= acctNoRegion
	}
	return b
}

// recount moves what was counted of an invocation before its place was
// learnt (a span read without a place, then its log read in its region) out
// of the figures it was counted in, and clears its counted bits so that
// account counts it once, in its place. The REPORT's figures (duration,
// memory, cost) stay where the REPORT was read: they are added once, when
// it arrives, and the place is known by then whenever logs are read per
// region.
func (g *Graph) recount(inv *invocation) {
	c := inv.counted
	if c&acctInvocation == 0 {
		return
	}
	was := fnSite{account: inv.account, region: inv.region, name: inv.function}
	if c&acctNoAccount != 0 {
		was.account = ""
	}
	if c&acctNoRegion != 0 {
		was.region = ""
	}
	if was.account == inv.account && was.region == inv.region {
		return
	}
	if f := g.fns[was]; f != nil {
		f.invocations--
		f.rate.add(inv.start, -1)
		if c&acctError != 0 {
			f.errors--
		}
		if c&acctTimeout != 0 {
			f.timeouts--
		}
		if c&acctCold != 0 {
			f.cold--
		}
	}
	if was.account != "" || was.region != "" {
		// The map's node of its former place counted it too.
		if cs := g.comps[tracing.Component{Kind: tracing.ComponentFunction, Name: was.name, Account: was.account, Region: was.region}]; cs != nil && cs.count > 0 {
			cs.count--
			if c&acctError != 0 && cs.errors > 0 {
				cs.errors--
			}
		}
	}
	inv.counted = 0
}

// count counts one invocation, once, whichever sources saw it.
func (f *fnStats) count(at time.Time) {
	f.invocations++
	f.seen(at)
	f.rate.add(at, 1)
}

func (f *fnStats) seen(at time.Time) {
	if at.IsZero() {
		return
	}
	if f.first.IsZero() || at.Before(f.first) {
		f.first = at
	}
	if at.After(f.last) {
		f.last = at
	}
}

// report adds what an invocation's REPORT says: duration, memory and cost.
func (f *fnStats) report(inv *tracing.Invocation, gbs, usd float64, at time.Time) {
	f.reports++
	if inv.MaxMemoryUsedMB > f.maxMem {
		f.maxMem = inv.MaxMemoryUsedMB
	}
	f.memSum += float64(inv.MaxMemoryUsedMB)
	if inv.MemorySizeMB > 0 {
		f.lastMem = inv.MemorySizeMB
	}
	f.gbs += gbs
	f.usd += usd
	f.seen(at)
	_ = f.dur.Add(float64(inv.Duration) / float64(time.Millisecond))
}

// Functions returns per-function figures over everything ingested since the
// graph started (for the CLI, that is the --since window it collected),
// sorted by name, then account and region. Functions known only from
// configuration are included with zero counts. With several accounts or
// regions watched, a function is one row per place it was seen in
// (Account and Region say which), each with its own figures.
func (g *Graph) Functions() []FunctionStats {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.functions(func(fnSite) bool { return true })
}

// functions returns the figures of the functions keep keeps. Called with
// the read lock held.
func (g *Graph) functions(keep func(fnSite) bool) []FunctionStats {
	now := g.cfg.Now()
	placed := map[string]bool{}
	for k := range g.fns {
		if k.account != "" || k.region != "" {
			placed[k.name] = true
		}
	}
	out := make([]FunctionStats, 0, len(g.fns))
	for k, f := range g.fns {
		if k.name == "" || !keep(k) {
			continue
		}
		if f.invocations == 0 && f.reports == 0 && (f.cfg.Name == "" || (placed[k.name] && k.account == "" && k.region == "")) {
			// Nothing left once its invocations were counted in their
			// place, or a configuration its placed rows show.
			continue
		}
		cfg := g.fnConfig(f)
		mem := cfg.MemoryMB
		if mem == 0 {
			mem = f.lastMem
		}
		fs := FunctionStats{
			Name: k.name, Account: k.account, Region: k.region, Architecture: arch(cfg), MemoryMB: mem,
			Invocations: f.invocations, Errors: f.errors, Timeouts: f.timeouts, ColdStarts: f.cold,
			P50: quantile(f.dur, 0.50), P95: quantile(f.dur, 0.95), P99: quantile(f.dur, 0.99),
			MaxMemoryUsedMB: f.maxMem, GBSeconds: f.gbs, CostUSD: f.usd,
			Rate: f.rate.series(now),
		}
		if f.invocations > 0 {
			if f.reports > 0 {
				fs.AvgMemoryUsedMB = f.memSum / float64(f.reports)
			}
			window := f.last.Sub(f.first)
			if window < time.Minute {
				window = time.Minute
			}
			month := 30 * 24 * time.Hour
			scale := float64(month) / float64(window)
			fs.CostPerMonthUSD = g.cfg.Prices.Monthly(f.gbs*scale, float64(f.invocations)*scale, fs.Architecture)
		}
		out = append(out, fs)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		return a.Region < b.Region
	})
	return out
}

// compStats are a component's or an edge's figures for the Map.
type compStats struct {
	count, errors uint64
	lat           *ddsketch.DDSketch
	rate          rateRing
}

// maxComponents bounds the functions, components and edges with statistics:
// names come from outside (an OTLP sender may invent a service per span),
// and a real account's map is far smaller. Past it, new ones are not tracked.
const maxComponents = 4096

func (g *Graph) comp(c tracing.Component) *compStats {
	st, ok := g.comps[c]
	if !ok {
		st = &compStats{lat: newSketch(), rate: rateRing{width: g.cfg.RateBucket}}
		if len(g.comps) < maxComponents {
			g.comps[c] = st
		}
	}
	return st
}

func (c *compStats) observe(at time.Time, d time.Duration, failed bool, width time.Duration) {
	c.count++
	if failed {
		c.errors++
	}
	if d > 0 {
		_ = c.lat.Add(float64(d) / float64(time.Millisecond))
	}
	c.rate.add(at, 1)
}

func (g *Graph) edge(from, to tracing.Component, at time.Time, d time.Duration, failed bool) {
	if from.Name == "" || to.Name == "" || from == to {
		return
	}
	k := [2]tracing.Component{from, to}
	st, ok := g.edges[k]
	if !ok {
		if len(g.edges) >= maxComponents {
			return
		}
		st = &compStats{lat: newSketch(), rate: rateRing{width: g.cfg.RateBucket}}
		g.edges[k] = st
	}
	st.observe(at, d, failed, g.cfg.RateBucket)
}

func pct(errs, n uint64) float64 {
	if n == 0 {
		return 0
	}
	return 100 * float64(errs) / float64(n)
}

// Map returns the components and the edges seen between them.
func (g *Graph) Map() MapView {
	g.mu.RLock()
	defer g.mu.RUnlock()
	now := g.cfg.Now()
	var v MapView
	// A function placed in a region (several are watched) is one node per
	// region, with the figures of its invocations there.
	placedFn := map[string]bool{}
	for c := range g.comps {
		if c.Kind == tracing.ComponentFunction && (c.Account != "" || c.Region != "") {
			placedFn[c.Name] = true
		}
	}
	for c, st := range g.comps {
		if c.Name == "" {
			continue
		}
		if f := g.fns[fnSite{name: c.Name}]; c.Kind == tracing.ComponentFunction && f != nil && f.invocations > 0 && !placedFn[c.Name] {
			continue // from its invocations, below
		}
		if c.Kind == tracing.ComponentFunction && placedFn[c.Name] && c.Account == "" && c.Region == "" {
			continue // the same function, counted in its place
		}
		v.Nodes = append(v.Nodes, MapNode{Component: c, Rate: st.rate.perSecond(now), ErrorPct: pct(st.errors, st.count), P95: quantile(st.lat, 0.95)})
	}
	// A function's node shows the figures of Functions: each invocation once,
	// failed if any source said so.
	for k, f := range g.fns {
		name := k.name
		if name == "" || f.invocations == 0 || placedFn[name] || k.account != "" || k.region != "" {
			continue
		}
		v.Nodes = append(v.Nodes, MapNode{
			Component: tracing.Component{Kind: tracing.ComponentFunction, Name: name},
			Rate:      f.rate.perSecond(now), ErrorPct: pct(f.errors, f.invocations), P95: quantile(f.dur, 0.95),
		})
	}
	for k, st := range g.edges {
		v.Edges = append(v.Edges, MapEdge{From: k[0], To: k[1], Rate: st.rate.perSecond(now), ErrorPct: pct(st.errors, st.count), P95: quantile(st.lat, 0.95)})
	}
	g.mapTopology(&v, now) // observed paths and configured routes (topology.go)
	g.mapLag(&v, now)      // streams' consumer lag (kinesis.go)
	sort.Slice(v.Nodes, func(i, j int) bool {
		if v.Nodes[i].Component.Kind != v.Nodes[j].Component.Kind {
			return v.Nodes[i].Component.Kind < v.Nodes[j].Component.Kind
		}
		return v.Nodes[i].Component.Name < v.Nodes[j].Component.Name
	})
	sort.Slice(v.Edges, func(i, j int) bool {
		if v.Edges[i].From != v.Edges[j].From {
			return v.Edges[i].From.String() < v.Edges[j].From.String()
		}
		return v.Edges[i].To.String() < v.Edges[j].To.String()
	})
	return v
}

// Queues returns every queue known from the DLQ collector, DLQs first; a
// queue of one name in two watched regions is two.
func (g *Graph) Queues() []QueueStats {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]QueueStats, 0, len(g.queues))
	for c, q := range g.queues {
		out = append(out, QueueStats{
			Name: c.Name, Account: c.Account, Region: c.Region, IsDLQ: q.IsDLQ, Depth: q.Depth, InFlight: q.InFlight, OldestAge: q.OldestAge,
			Sources: append([]string(nil), q.Sources...), DeadLetterQueue: q.DeadLetterQueue,
			MaxReceiveCount: q.MaxReceiveCount, FIFO: q.FIFO, Updated: g.qSeen[c],
		})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.IsDLQ != b.IsDLQ {
			return a.IsDLQ
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Account < b.Account
	})
	return out
}

// DLQMessages returns the messages seen in a DLQ of this name, in whatever
// account and region, newest first, each joined to its event and the
// consumer's last error where known.
func (g *Graph) DLQMessages(queue string) []DLQMessage {
	return g.dlqMessages(tracing.Component{Kind: tracing.ComponentQueue, Name: queue}, false)
}

// DLQMessagesIn returns the messages seen in the DLQ queue, in its account
// and region only, as [Graph.DLQMessages] does.
func (g *Graph) DLQMessagesIn(queue tracing.Component) []DLQMessage {
	return g.dlqMessages(queue, true)
}

func (g *Graph) dlqMessages(queue tracing.Component, placed bool) []DLQMessage {
	g.mu.RLock()
	defer g.mu.RUnlock()
	is := func(c tracing.Component) bool {
		return c.Name == queue.Name && (!placed || c.Account == queue.Account && c.Region == queue.Region)
	}
	var out []DLQMessage
	for e := g.s.head; e != 0; e = g.s.ev(e).next {
		dead := false
		for i := g.s.ev(e).hops; i != 0; i = g.s.hop(i).next {
			if h := g.s.hop(i); h.kind == HopDeadLetter && is(g.s.compIDs.get(h.comp)) {
				dead = true
			}
		}
		if !dead {
			continue
		}
		ev := g.s.view(e)
		for _, m := range ev.msgs {
			if m.kind != HopDeadLetter || !is(m.comp) {
				continue
			}
			dm := DLQMessage{Queue: queue.Name, Account: m.comp.Account, Region: m.comp.Region, MessageID: m.key.Value, EventID: primaryID(ev), Body: m.body, ReceiveCount: m.recv, SentAt: m.at, SourceQueue: m.source}
			if len(m.attrs) > 0 {
				dm.Attributes = make(map[string]string, len(m.attrs))
				for k, v := range m.attrs {
					dm.Attributes[k] = v
				}
			}
			dm.Error = g.lastError(ev, m.key)
			out = append(out, dm)
		}
	}
	return out
}

// lastError is the error of the latest failed invocation that consumed key k (or any key of ev).
func (g *Graph) lastError(ev *eventView, k tracing.Key) string {
	var best *invocation
	for _, ref := range ev.invs {
		inv := g.invs[ref.request]
		if inv == nil || !inv.failed {
			continue
		}
		if best == nil || inv.start.After(best.start) || (ref.via == k && best.start.Equal(inv.start)) {
			best = inv
		}
	}
	if best == nil {
		return ""
	}
	return best.errorType
}
