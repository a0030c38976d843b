package graph

import (
	"sort"
	"strings"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// Lineage returns one event's whole path. id may be any of its keys' values or
// a unique prefix of one.
func (g *Graph) Lineage(id string) (Lineage, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	evs := g.lookup(id)
	switch len(evs) {
	case 0:
		return Lineage{}, ErrNotFound
	case 1:
	default:
		return Lineage{}, ErrAmbiguous
	}
	l, _ := g.build(g.s.view(evs[0]), true)
	return l, nil
}

// missingAfter is how long a queued message may wait for its consumer before
// the lineage shows the consumer as a missing hop.
const missingAfter = 30 * time.Second

// build assembles the lineage of one event (the caller holds the read lock).
//
// Hops: producers (publish), then broker layers in causal order (a layer's
// parent is the layer it carries: the bus before the topic before the queue),
// then consumer invocations under the message they consumed (attempt 2, 3, …
// for retries of one message by one function), DLQ copies under their source
// queue, and a missing consumer under a queue whose consumer is known from
// other events but hasn't been seen for this one. Children follow parents;
// siblings are ordered by time.
//
// Status, hop count, latency, type, source and last hop are derived here and
// only here (see summarize): the Flows list, the event screen, the CLI and
// the map read the same figures. full=false skips what only the event screen
// shows (keys, logs, spans, DLQ bodies). stale is when the derived figures
// change with the clock alone (a retrying event becomes failed, a consumer
// becomes missing); zero when they never do.
func (g *Graph) build(e *eventView, full bool) (l Lineage, stale time.Time) {
	l = Lineage{ID: primaryID(e), Type: e.typ, Source: e.source, First: e.first, Last: e.last, Version: g.version.Load()}
	if full {
		l.Keys = append(append([]tracing.Key{}, e.strong...), e.weak...)
	}
	staleAt := func(t time.Time) {
		if stale.IsZero() || t.Before(stale) {
			stale = t
		}
	}
	type node struct {
		hop      Hop
		key      tracing.Key // for brokers: their key; for invocations: the key consumed
		parent   int
		children []int
	}
	var nodes []node
	add := func(h Hop, key tracing.Key, parent int) int {
		nodes = append(nodes, node{hop: h, key: key, parent: parent})
		return len(nodes) - 1
	}
	byKey := map[tracing.Key]int{}
	// Producers.
	root := -1
	pubs := append([]invRef(nil), e.pubs...)
	sort.Slice(pubs, func(i, j int) bool { return pubs[i].at.Before(pubs[j].at) })
	apiNode := map[*apiReq]int{} // API Gateway requests (api.go): the first hop of what their invocation published
	for _, p := range pubs {
		h := Hop{Kind: HopPublish, Component: p.comp, Time: p.at, Status: HopOK, Evidence: p.evidence, Confidence: p.conf}
		if p.request != "" {
			h.Keys = []tracing.Key{{Kind: tracing.KeyRequestID, Value: p.request}}
			if inv := g.invs[p.request]; inv != nil {
				g.fillInvocation(&h, inv, full)
			}
		}
		if full && p.request == "" && !p.span.IsZero() {
			h.Cloud = g.spanCloud(p.span) // cloud.go
		}
		parent := -1
		if a := g.api.of(p.request); a != nil {
			n, ok := apiNode[a]
			if !ok {
				n = add(g.apiHop(a), tracing.Key{Kind: tracing.KeyAPIRequest, Value: a.r.RequestID}, -1)
				apiNode[a] = n
			}
			parent = n
		}
		i := add(h, p.via, parent)
		if root < 0 {
			root = i
		}
	}
	// Broker layers: innermost (earliest) first.
	msgs := append([]*msgHop(nil), e.msgs...)
	depth := func(m *msgHop) int {
		d := 0
		for cur := m; d < 8; d++ {
			var next *msgHop
			for _, o := range msgs {
				if o.key == cur.inner && o.kind == HopBroker {
					next = o
					break
				}
			}
			if next == nil || cur.inner.IsZero() {
				break
			}
			cur = next
		}
		return d
	}
	sort.SliceStable(msgs, func(i, j int) bool {
		di, dj := depth(msgs[i]), depth(msgs[j])
		if msgs[i].kind != msgs[j].kind {
			return msgs[i].kind < msgs[j].kind // brokers before DLQ copies
		}
		if di != dj {
			return di < dj
		}
		// Routing order where nothing else says: a bus feeds topics and
		// queues, a topic feeds queues.
		if ri, rj := brokerRank(msgs[i].comp.Kind), brokerRank(msgs[j].comp.Kind); ri != rj {
			return ri < rj
		}
		return msgs[i].at.Before(msgs[j].at)
	})
	for _, m := range msgs {
		if m.kind != HopBroker {
			continue
		}
		parent := root
		if p, ok := byKey[m.inner]; ok && !m.inner.IsZero() {
			parent = p
		} else if m.inner.IsZero() && m.comp.Kind == tracing.ComponentQueue {
			// A queue hop known only from its consumer (no envelope seen): an
			// SQS message in an event with a bus or topic hop was delivered by it.
			for i, n := range nodes {
				if n.hop.Kind == HopBroker && (n.hop.Component.Kind == tracing.ComponentBus || n.hop.Component.Kind == tracing.ComponentTopic) {
					parent = i
				}
			}
		}
		h := Hop{Kind: HopBroker, Component: m.comp, Time: m.at, Status: HopOK, Keys: []tracing.Key{m.key}, Evidence: m.evidence, Confidence: 1, Attempt: 0}
		if parent == root && root >= 0 && m.evidence != evidenceDestination {
			h.Evidence, h.Confidence = "published by the producer", 0.9
		}
		byKey[m.key] = add(h, m.key, parent)
	}
	// A consumer that handled a message no collector saw on its queue: the
	// queue is known from other events where the same function consumed it.
	for _, ref := range e.invs {
		if _, ok := byKey[ref.via]; ok || ref.via.Kind != tracing.KeyMessageID || ref.comp.Name == "" {
			continue
		}
		q := g.queueOf(ref.comp)
		if q.Name == "" {
			continue
		}
		parent := root
		for i, n := range nodes {
			if n.hop.Kind == HopBroker && (n.hop.Component.Kind == tracing.ComponentBus || n.hop.Component.Kind == tracing.ComponentTopic) {
				parent = i
			}
		}
		at := ref.at
		if parent >= 0 && nodes[parent].hop.Time.Before(at) {
			at = nodes[parent].hop.Time
		}
		byKey[ref.via] = add(Hop{
			Kind: HopBroker, Component: q, Time: at, Status: HopOK,
			Keys: []tracing.Key{ref.via}, Evidence: ref.comp.Name + " consumes " + q.Name + " (seen in other events)", Confidence: 0.6,
		}, ref.via, parent)
	}
	// DLQ copies, under the queue they came from, or under the consumer
	// that re-sent them.
	resent := map[int]string{} // DLQ copy node → the request ID of the invocation that sent it
	for _, m := range msgs {
		if m.kind != HopDeadLetter {
			continue
		}
		parent := -1
		for i, n := range nodes {
			if n.hop.Kind == HopBroker && n.key == m.key && (m.source == "" || n.hop.Component == sourceQueue(m.comp, m.source)) {
				parent = i
			}
		}
		for i, n := range nodes {
			// A copy with a new MessageId: under its source queue all the same.
			if parent < 0 && m.source != "" && n.hop.Kind == HopBroker && n.hop.Component == sourceQueue(m.comp, m.source) {
				parent = i
			}
		}
		if parent < 0 {
			if p, ok := byKey[m.inner]; ok {
				parent = p
			} else {
				parent = root
			}
		}
		at := m.at
		for _, ref := range e.invs {
			// It moved to the DLQ after its last failed attempt, whatever SentAt says.
			if inv := g.invs[ref.request]; ref.via == m.key && inv != nil && !inv.start.Before(at) {
				at = inv.start.Add(time.Millisecond)
				if inv.inv != nil {
					at = inv.start.Add(inv.inv.Duration + time.Millisecond)
				}
			}
		}
		h := Hop{Kind: HopDeadLetter, Component: m.comp, Time: at, Status: HopError, Attempt: m.recv, Keys: []tracing.Key{m.key}, Evidence: "same MessageId in the DLQ", Confidence: 1}
		if m.source != "" {
			h.Evidence = "DeadLetterQueueSourceArn " + m.source
		}
		// The sender handled a delivery of the layer the copy carries (the
		// notification of a topic: not a sibling delivery of the bus).
		carried, inner := byKey[m.inner]
		req, fn := g.resender(e, m, func(via tracing.Key) bool {
			if !inner {
				return true
			}
			at, ok := byKey[via]
			for n, d := at, 0; ok && d < 8 && n >= 0; n, d = nodes[n].parent, d+1 {
				if n == carried {
					return true
				}
			}
			// Or the configuration routes the carried layer to that delivery's queue.
			return ok && g.topo.path(nodes[carried].hop.Component, nodes[at].hop.Component, false) != nil
		})
		if req != "" {
			h.Evidence, h.Confidence = "a new MessageId without DeadLetterQueueSourceArn, sent while "+fn+" handled the event: it re-sent the body here", 0.8
		}
		if m.key.Kind == tracing.KeyKinesisRecord {
			// A stream batch's on-failure record: sent after the mapping's last attempt.
			h.Evidence, h.Confidence, req = m.evidence, 0.9, g.lastHandler(e, m.key)
		}
		i := add(h, m.key, parent)
		if req != "" {
			resent[i] = req
		}
		if full {
			l.DLQ = append(l.DLQ, DLQMessage{Queue: m.comp.Name, MessageID: m.key.Value, EventID: l.ID, Body: m.body, ReceiveCount: m.recv, SentAt: m.at, SourceQueue: m.source, Error: g.lastError(e, m.key), Attributes: m.attrs})
		}
	}
	// Consumers.
	invs := append([]invRef(nil), e.invs...)
	for i := range invs {
		if inv := g.invs[invs[i].request]; inv != nil && !inv.start.IsZero() {
			invs[i].at = inv.start
		}
	}
	sort.SliceStable(invs, func(i, j int) bool { return invs[i].at.Before(invs[j].at) })
	type attemptKey struct {
		via  tracing.Key
		comp tracing.Component
	}
	attempts := map[attemptKey]int{}
	invNode := map[string]int{} // request ID → its consumer hop
	for _, ref := range invs {
		parent, ok := byKey[ref.via]
		if !ok {
			parent = root
		}
		akey := attemptKey{ref.via, ref.comp}
		attempts[akey]++
		h := Hop{Kind: HopInvoke, Component: ref.comp, Time: ref.at, Status: HopOK, Attempt: attempts[akey], Evidence: ref.evidence, Confidence: ref.conf}
		if ref.request != "" {
			h.Keys = []tracing.Key{{Kind: tracing.KeyRequestID, Value: ref.request}}
			if inv := g.invs[ref.request]; inv != nil {
				g.fillInvocation(&h, inv, full)
			}
		} else {
			h.Keys = []tracing.Key{ref.span}
			g.fillFromSpan(&h, ref.span) // spanhop.go
			if full {
				h.Cloud = g.spanCloud(ref.span) // cloud.go
			}
		}
		n := add(h, ref.via, parent)
		if ref.comp.Kind == tracing.ComponentWorkflow {
			underWorkflow(byKey, e, n) // spanhop.go: its tasks hang under it
		}
		if _, ok := invNode[ref.request]; !ok && ref.request != "" {
			invNode[ref.request] = n
		}
	}
	for i, req := range resent {
		if n, ok := invNode[req]; ok {
			nodes[i].parent = n
		}
	}
	// Missing consumers.
	now := g.cfg.Now()
	for i := range nodes {
		n := nodes[i]
		if n.hop.Kind != HopBroker || n.hop.Component.Kind != tracing.ComponentQueue {
			continue
		}
		fn, known := g.cons[n.hop.Component]
		if !known {
			continue
		}
		if now.Sub(n.hop.Time) < missingAfter {
			staleAt(n.hop.Time.Add(missingAfter))
			continue
		}
		consumed := false
		for j := range nodes {
			if nodes[j].parent == i && nodes[j].hop.Kind != HopBroker {
				consumed = true
			}
		}
		if !consumed {
			add(Hop{Kind: HopInvoke, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: fn}, Time: n.hop.Time, Status: HopMissing, Evidence: fn + " consumes " + n.hop.Component.Name + " in other events; no invocation seen for this message", Confidence: 0.5}, n.key, i)
		}
	}
	// Order: depth-first from the roots, siblings by time.
	for i := range nodes {
		if p := nodes[i].parent; p >= 0 {
			nodes[p].children = append(nodes[p].children, i)
		}
	}
	byTime := func(idx []int) {
		sort.SliceStable(idx, func(a, b int) bool { return nodes[idx[a]].hop.Time.Before(nodes[idx[b]].hop.Time) })
	}
	var roots []int
	for i := range nodes {
		if nodes[i].parent < 0 {
			roots = append(roots, i)
		}
	}
	byTime(roots)
	newIndex := make([]int, len(nodes))
	var walk func(i, parentOut, depth int)
	walk = func(i, parentOut, depth int) {
		h := nodes[i].hop
		h.Parent, h.Depth = parentOut, depth
		if parentOut >= 0 {
			if d := h.Time.Sub(l.Hops[parentOut].Time); d > 0 {
				h.Latency = d
			}
		}
		newIndex[i] = len(l.Hops)
		l.Hops = append(l.Hops, h)
		me := newIndex[i]
		kids := nodes[i].children
		byTime(kids)
		for _, c := range kids {
			walk(c, me, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, -1, 0)
	}
	l.Hops = g.placeRoutes(l.Hops) // brokers the routing configuration puts on the path (topology.go)
	for _, h := range l.Hops {
		l.CostUSD += h.CostUSD
	}
	var until time.Time
	l.Status, until = g.status(e, l.Hops)
	if !until.IsZero() {
		staleAt(until)
	}
	g.derive(&l, e)
	if full {
		l.Spans = g.spans(e)
		l.Links = g.links(e)
	}
	return l, stale
}

// derive sets the figures the Flows list shows from the hops, by one rule:
//   - HopCount is every hop drawn, a missing one included;
//   - Latency runs from the first hop's start to the last hop's end (an
//     invocation ends after its Duration), over the hops seen;
//   - LastHop is the component of the hop seen last;
//   - Type is the event's type (EventBridge detail-type, CloudEvents type,
//     or one its producer or consumer logged), Source its source or else its
//     first producer.
func (g *Graph) derive(l *Lineage, e *eventView) {
	l.HopCount = len(l.Hops)
	var first, end, last time.Time
	for _, h := range l.Hops {
		if h.Status == HopMissing || h.Time.IsZero() {
			continue
		}
		if first.IsZero() || h.Time.Before(first) {
			first = h.Time
		}
		if t := h.Time.Add(h.Duration); t.After(end) {
			end = t
		}
		if !h.Time.Before(last) {
			last, l.LastHop = h.Time, h.Component.Name
		}
	}
	if !first.IsZero() && end.After(first) {
		l.Latency = end.Sub(first)
	}
	if l.Source == "" {
		for _, h := range l.Hops {
			if h.Kind == HopPublish && h.Component.Name != "" {
				l.Source = h.Component.Name
				break
			}
		}
	}
}

// links lists the replays and redrives of, or by, an event.
func (g *Graph) links(e *eventView) []EventLink {
	var out []EventLink
	for _, lv := range e.links {
		rel := lv.rel.String()
		if !lv.copy {
			rel = map[tracing.RelKind]string{tracing.RelReplayOf: "replayed-as", tracing.RelRedriveOf: "redriven-as"}[lv.rel]
		}
		id := displayID(lv.other)
		if ki := g.s.findStrong(lv.other.Kind, lv.other.Value); ki != 0 {
			id = g.primaryIDOf(g.s.key(ki).ev)
		}
		out = append(out, EventLink{Rel: rel, ID: id, Key: lv.other, Time: lv.at})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// resender is the consumer invocation that put DLQ copy m there itself, and
// its function: a copy with a MessageId of its own (no delivery of this
// event had it) and no DeadLetterQueueSourceArn was sent by code, not moved
// by a redrive policy, and one invocation of this event was running when it
// was sent, one that handled a delivery of what the copy carries. "" when
// none or several were (a copy tool, a replay by hand).
func (g *Graph) resender(e *eventView, m *msgHop, handled func(via tracing.Key) bool) (request, function string) {
	if m.source != "" || m.at.IsZero() {
		return "", ""
	}
	for _, ref := range e.invs {
		if ref.via == m.key {
			return "", "" // the message itself was consumed: moved, not re-sent
		}
	}
	for _, ref := range e.invs {
		inv := g.invs[ref.request]
		if inv == nil || inv.start.IsZero() || ref.request == request || !handled(ref.via) {
			continue
		}
		d := time.Duration(0)
		switch {
		case inv.inv != nil:
			d = inv.inv.Duration
		case inv.spanDur > 0:
			d = inv.spanDur
		default:
			continue // its end is not known yet
		}
		// SentTimestamp has millisecond precision.
		if m.at.Before(inv.start.Add(-time.Millisecond)) || m.at.After(inv.start.Add(d+time.Millisecond)) {
			continue
		}
		if request != "" {
			return "", "" // two candidates: say nothing
		}
		request, function = ref.request, inv.function
	}
	return request, function
}

// brokerRank orders broker kinds as events flow through them.
func brokerRank(k tracing.ComponentKind) int {
	switch k {
	case tracing.ComponentBus:
		return 0
	case tracing.ComponentTopic:
		return 1
	case tracing.ComponentQueue:
		return 2
	}
	return 3
}

// queueOf is the queue a function was seen consuming: in the function's
// own account and region when it is placed (a function of one name may run
// in several regions, each consuming its own region's queue).
func (g *Graph) queueOf(fn tracing.Component) tracing.Component {
	var best tracing.Component
	for q, f := range g.cons {
		if f != fn.Name || placeOf(fn) != "" && placeOf(q) != placeOf(fn) {
			continue
		}
		if best.Name == "" || q.String() < best.String() {
			best = q
		}
	}
	return best
}

func (g *Graph) fillInvocation(h *Hop, inv *invocation, full bool) {
	if full {
		h.Logs = make([]LogLine, len(inv.logs))
		for i, l := range inv.logs {
			h.Logs[i] = LogLine{Time: fromNanos(l.at), Kind: l.kind, Level: l.level, RequestID: inv.request, Message: l.message}
		}
		sort.SliceStable(h.Logs, func(i, j int) bool { return h.Logs[i].Time.Before(h.Logs[j].Time) })
	}
	h.CostUSD = inv.costUSD
	h.ColdStart = inv.cold
	switch {
	case inv.inv != nil:
		h.Duration = inv.inv.Duration
	case inv.spanDur > 0:
		h.Duration = inv.spanDur // seen by a tracer, not (yet) by its logs
	case h.Status == HopOK:
		h.Status = HopPending
	}
	if inv.failed {
		h.Status = HopError
		if inv.timeout {
			h.Status = HopTimeout
		}
		h.ErrorType = inv.errorType
	}
	if inv.function != "" && h.Component.Name == "" {
		h.Component = tracing.Component{Kind: tracing.ComponentFunction, Name: inv.function}
	}
	if h.Component.Kind == tracing.ComponentFunction {
		// Learnt after the hop's record was made: one invocation ran in one place.
		if h.Component.Account == "" {
			h.Component.Account = inv.account
		}
		if h.Component.Region == "" {
			h.Component.Region = inv.region
		}
	}
}

// status derives an event's state from its hops:
//   - replayed / redriven when flowtop or a redrive moved it (and it is not dead-lettered again since);
//   - dead-lettered when a copy sits in a DLQ;
//   - for each message consumed, the latest attempt decides: all latest attempts
//     ok → succeeded; a failed latest attempt on a queue message → retrying while
//     the message can still be received, failed once it can't; a failed direct
//     invocation → failed;
//   - no consumer seen yet → in flight.
func (g *Graph) status(e *eventView, hops []Hop) (st Status, until time.Time) {
	dead := false
	var lastDLQ, lastInvoke time.Time
	for _, h := range hops {
		if h.Kind == HopDeadLetter {
			dead = true
			if h.Time.After(lastDLQ) {
				lastDLQ = h.Time
			}
		}
		if h.Kind == HopInvoke && h.Status != HopMissing && h.Time.After(lastInvoke) {
			lastInvoke = h.Time
		}
	}
	// An original whose copies are events of their own reads as what was
	// done to it; an event that absorbed its copy (the link was learned too
	// late to keep them apart) reads redriven until it is dead-lettered again.
	original := false
	for _, lk := range e.links {
		original = original || !lk.copy
	}
	if e.flags&flagReplayed != 0 {
		return StatusReplayed, until
	}
	if e.flags&flagRedriven != 0 && (original || !dead || lastInvoke.After(lastDLQ)) {
		return StatusRedriven, until
	}
	if dead {
		return StatusDeadLettered, until
	}
	latest := map[int]Hop{} // parent hop → latest consumer attempt
	for _, h := range hops {
		if h.Kind != HopInvoke || h.Status == HopMissing {
			continue
		}
		if cur, ok := latest[h.Parent]; !ok || h.Time.After(cur.Time) || h.Attempt > cur.Attempt {
			latest[h.Parent] = h
		}
	}
	if len(latest) == 0 {
		return StatusInFlight, until
	}
	pending, failed, retrying := false, false, false
	now := g.cfg.Now()
	for parent, h := range latest {
		switch h.Status {
		case HopPending:
			pending = true
		case HopError, HopTimeout:
			if parent >= 0 && hops[parent].Component.Kind == tracing.ComponentQueue && now.Sub(h.Time) < retryWindow {
				retrying = true
				if t := h.Time.Add(retryWindow); until.IsZero() || t.Before(until) {
					until = t
				}
			} else {
				failed = true
			}
		}
	}
	switch {
	case retrying:
		return StatusRetrying, until
	case failed:
		return StatusFailed, until
	case pending:
		return StatusInFlight, until
	}
	return StatusSucceeded, until
}

// retryWindow is how long a failed delivery from a queue counts as retrying
// before the event reads as failed.
const retryWindow = 15 * time.Minute

// spans returns the waterfall of the traces attached to e.
func (g *Graph) spans(e *eventView) []SpanRow {
	var all []tracing.Span
	for _, k := range e.weak {
		if k.Kind != tracing.KeyTraceID {
			continue
		}
		id, err := tracing.ParseTraceID(k.Value)
		if err != nil {
			continue
		}
		all = g.traceSpans(id, all)
	}
	if len(all) == 0 {
		return nil
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Start.Before(all[j].Start) })
	start := all[0].Start
	index := map[tracing.SpanID]int{}
	for i, s := range all {
		index[s.SpanID] = i
	}
	children := map[int][]int{}
	var roots []int
	via := make([]bool, len(all))
	for i, s := range all {
		if p, ok := index[s.ParentID]; ok && s.ParentID.IsValid() && p != i {
			children[p] = append(children[p], i)
			continue
		}
		linked := false
		for _, ln := range s.Links {
			if p, ok := index[ln.SpanID]; ok && p != i {
				children[p] = append(children[p], i)
				via[i], linked = true, true
				break
			}
		}
		if !linked {
			roots = append(roots, i)
		}
	}
	out := make([]SpanRow, 0, len(all))
	seen := make([]bool, len(all))
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if seen[i] || depth > 64 {
			return
		}
		seen[i] = true
		s := all[i]
		out = append(out, SpanRow{Span: s, Depth: depth, Offset: s.Start.Sub(start), ViaLink: via[i]})
		for _, c := range children[i] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	for i := range all {
		walk(i, 0) // cycles and orphans still show
	}
	return out
}

// ---- the Flows list ----

// summary is what the list sorts by, as its Lineage derives it; cached
// while the event, the consumer map and the clock leave it as it was.
type summary struct {
	seq     uint64
	consGen uint64
	staleAt int64 // unix ns; 0: never stale by the clock
	latency time.Duration
	cost    float64
	hops    int32
	rev     uint16
	status  Status
}

// row is one event's Flows row: the figures of its Lineage (build, derive).
func (g *Graph) row(e int32, now time.Time) FlowRow {
	v := g.s.viewOf(e, false)
	l, _ := g.build(v, false)
	r := FlowRow{
		ID: l.ID, Type: l.Type, Source: l.Source, LastHop: l.LastHop, Hops: l.HopCount, Status: l.Status,
		First: l.First, Last: l.Last, Latency: l.Latency, CostUSD: l.CostUSD,
	}
	if len(v.links) > 0 {
		links := g.links(v)
		r.Link = links[len(links)-1]
	}
	return r
}

// summarize returns the figures the list sorts by, from the cache when the
// event has not changed since. The caller holds cacheMu.
func (g *Graph) summarize(e int32, now time.Time) summary {
	r := g.s.ev(e)
	if ci := int(e) / sumChunk; ci < len(g.sums) && g.sums[ci] != nil {
		if c := g.sums[ci][int(e)%sumChunk]; c.seq == r.seq() && c.rev == r.rev && c.consGen == g.consGen && (c.staleAt == 0 || nanos(now) < c.staleAt) {
			return c
		}
	}
	l, stale := g.build(g.s.viewOf(e, false), false)
	return g.keepSummary(e, &l, stale)
}

// sumChunks is the summary cache: by event slot, sumChunk slots a chunk.
type sumChunks [][]summary

// sumChunk is how many slots' summaries one chunk of the cache holds
// (768 KiB): the cache grows a chunk at a time, never by the 48 MB a
// million slots take at once, which cost a filter's bounded read 30 ms.
const sumChunk = 1 << 14

// keepSummary caches an event's summary (the caller holds cacheMu). The
// cache is indexed by event slot, in chunks, and grows only when the list
// is sorted or filtered by a derived figure.
func (g *Graph) keepSummary(e int32, l *Lineage, stale time.Time) summary {
	r := g.s.ev(e)
	sum := summary{seq: r.seq(), consGen: g.consGen, staleAt: nanos(stale), latency: l.Latency, cost: l.CostUSD, hops: int32(l.HopCount), rev: r.rev, status: l.Status}
	ci := int(e) / sumChunk
	if ci >= len(g.sums) {
		g.sums = append(g.sums, make(sumChunks, ci+1-len(g.sums))...)
	}
	if g.sums[ci] == nil {
		g.sums[ci] = make([]summary, sumChunk)
	}
	g.sums[ci][int(e)%sumChunk] = sum
	return sum
}

func severity(s Status) int {
	switch s {
	case StatusDeadLettered:
		return 6
	case StatusFailed:
		return 5
	case StatusRetrying:
		return 4
	case StatusInFlight:
		return 3
	case StatusRedriven, StatusReplayed:
		return 2
	}
	return 1
}

// containsFold reports whether s contains lower (already lower case), ignoring ASCII case.
func containsFold(s []byte, lower string) bool {
	n := len(lower)
	if n == 0 {
		return true
	}
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// Flows returns one window of the events list. With an empty filter and the
// default (recent) order it walks only Offset+Limit events; other orders sort
// the held events at most once per second and reuse that order.
func (g *Graph) Flows(q FlowQuery) FlowPage {
	g.mu.RLock()
	defer g.mu.RUnlock()
	filter := strings.ToLower(strings.TrimSpace(q.Filter))
	if q.Limit <= 0 {
		q.Limit = 50
	}
	page := FlowPage{Version: g.version.Load()}
	now := g.cfg.Now()
	emit := func(e int32) {
		if page.Matched >= q.Offset && len(page.Rows) < q.Limit {
			page.Rows = append(page.Rows, g.row(e, now))
		}
		page.Matched++
	}
	if filter != "" || strings.TrimSpace(q.Status) != "" || len(q.Fields) > 0 {
		// A filter answers from its match set (index.go).
		return g.filteredPage(q, now)
	}
	if q.Sort == SortRecent {
		page.Matched = g.s.events.live - g.pendingFragments(now)
		i := 0
		for e := g.s.head; e != 0 && len(page.Rows) < q.Limit; e = g.s.ev(e).next {
			if g.waiting(e, now) {
				continue
			}
			if i >= q.Offset {
				page.Rows = append(page.Rows, g.row(e, now))
			}
			i++
		}
		return page
	}
	for _, ref := range g.sorted(q.Sort) {
		if r := g.s.ev(ref.id); r.flags()&flagHeld != 0 && r.seq() == ref.seq && !g.waiting(ref.id, now) {
			emit(ref.id)
		}
	}
	return page
}

// sorted returns the held events in the given order, cached for a second.
func (g *Graph) sorted(by FlowSort) []eventRef {
	now := g.cfg.Now()
	g.cacheMu.Lock()
	c, ok := g.sortCache[by]
	g.cacheMu.Unlock()
	if ok && (c.version == g.version.Load() || now.Sub(c.at) < time.Second) {
		return c.order
	}
	s := &g.s
	type keyed struct {
		ref eventRef
		k   float64
	}
	ks := make([]keyed, 0, g.s.events.live)
	g.cacheMu.Lock() // summaries are cached under it
	defer g.cacheMu.Unlock()
	for e := s.head; e != 0; e = s.ev(e).next {
		r := s.ev(e)
		var k float64
		switch by {
		case SortStarted:
			k = float64(r.first)
		case SortLatency:
			k = float64(g.summarize(e, now).latency)
		case SortHops:
			k = float64(g.summarize(e, now).hops)
		case SortStatus:
			k = float64(severity(g.summarize(e, now).status))*1e19 + float64(r.last)
		case SortCost:
			k = g.summarize(e, now).cost
		}
		ks = append(ks, keyed{eventRef{e, r.seq()}, k})
	}
	sort.SliceStable(ks, func(i, j int) bool {
		if ks[i].k != ks[j].k {
			return ks[i].k > ks[j].k
		}
		return ks[i].ref.seq > ks[j].ref.seq
	})
	order := make([]eventRef, len(ks))
	for i := range ks {
		order[i] = ks[i].ref
	}
	g.sortCache[by] = sortCache{version: g.version.Load(), at: now, order: order}
	return order
}
