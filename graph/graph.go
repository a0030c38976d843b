// Package graph is flowtop's event-lineage graph: it merges the observations
// of many sources into events that can be followed hop by hop, and keeps
// per-component statistics and cost.
//
// # Identity
//
// An event is known by many keys. Keys come in two strengths
// ([tracing.KeyKind.Strong]):
//
//   - Strong keys (EventBridge id, CloudEvents source+id, SQS and SNS
//     MessageId, S3 object+sequencer) name one event. Strong keys are merged
//     with union–find: the layers of one message body (an SQS message
//     carrying an SNS notification carrying an EventBridge event) and every
//     [tracing.RelCarries], RelDeadLettered, RelRedriveOf and RelReplayOf
//     relation join their events into one, as do several strong keys on one
//     log line or span (a consumer logging the message and the event in it).
//   - Weak keys (Lambda request ID, trace ID, correlation keys) are shared by
//     many events in real systems: one invocation consumes a batch of ten
//     messages, one trace spans a fan-out, an order_id is reused by every event
//     about the order. A weak key never merges events. It attaches: an
//     invocation that consumed three messages is a hop of each of their three
//     events; a trace's spans appear in the waterfall of every event that
//     carries the trace. Looking an event up by a weak key succeeds when the key
//     is attached to exactly one event and returns [ErrAmbiguous] otherwise
//     ([Graph.Find] lists them).
//
// An invocation joins an event when an observation ties its request ID to one
// of the event's strong keys: a [tracing.RelConsumed] or RelPublished
// relation, or a log line or span that carries both the request ID and the
// message ID.
//
// # Concurrency and memory
//
// One writer (the collectors' hub) calls [Graph.Ingest]; any number of
// readers call the query methods, which return fresh values they own. A
// sync.RWMutex guards the graph: readers hold the read lock only while they
// copy out what they asked for (a page of rows, one lineage), so ingest waits
// at most that long. Memory is bounded by Config.MaxEvents: the least recently
// active event is evicted first, with its index entries, and evictions are
// counted in [Totals].
package graph

import (
	"container/list"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// ErrNotFound means no held event has the key asked for.
var ErrNotFound = errors.New("graph: event not found")

// ErrAmbiguous means the key or prefix names more than one event.
var ErrAmbiguous = errors.New("graph: id matches more than one event")

// Config sets the graph's limits and prices.
type Config struct {
	MaxEvents            int           // events held before the least recently active is evicted (default 200,000)
	MaxLogsPerInvocation int           // log lines kept per invocation (default 50); the rest are counted
	Prices               PriceTable    // default DefaultPrices()
	RateBucket           time.Duration // width of one sparkline bucket (default 10s)
	Now                  func() time.Time
}

const rateBuckets = 30

// Graph is the event-lineage graph. Create it with [New].
type Graph struct {
	mu  sync.RWMutex
	cfg Config

	nEvents int                        // events held (roots in the LRU list)
	lru     *list.List                 // of *event, most recently active first
	strong  map[tracing.Key]*event     // strong key → any event of its union set (resolve with find)
	weak    map[tracing.Key][]*event   // weak key → attached events (deduplicated, bounded)
	invs    map[string]*invocation     // request ID → invocation
	invList *list.List                 // of *invocation, oldest first, bounded at 2×MaxEvents
	traces  map[tracing.TraceID]*trace // trace → spans
	trList  *list.List                 // of *trace, oldest first
	fns     map[string]*fnStats        // function name → stats
	queues  map[string]tracing.QueueInfo
	qSeen   map[string]time.Time
	comps   map[tracing.Component]*compStats
	edges   map[[2]tracing.Component]*compStats
	cons    map[string]string // queue → the function seen consuming it

	seq       uint64
	version   uint64
	obsCount  uint64
	evicted   uint64
	unparsed  uint64
	rate      rateRing
	cacheMu   sync.Mutex // guards sortCache, which readers fill under the read lock
	sortCache map[FlowSort]sortCache
}

type sortCache struct {
	version uint64
	at      time.Time
	order   []*event
}

// event is one union set's root data. Merged-away events keep only parent.
type event struct {
	parent *event
	seq    uint64
	elem   *list.Element

	strong []tracing.Key
	weak   []tracing.Key
	msgs   []*msgHop
	invs   []invRef
	pubs   []invRef // producers: invocations or spans that published the event
	typ    string
	source string
	first  time.Time
	last   time.Time
	flags  uint8
	held   bool // a root in the LRU list, not evicted or merged away
}

const (
	flagRedriven uint8 = 1 << iota
	flagReplayed
)

// msgHop is one broker layer of the event: its key, where it was, and which
// inner layer it carries (its causal parent).
type msgHop struct {
	key      tracing.Key
	inner    tracing.Key // the layer this one carries (EventBridge inside SNS inside SQS)
	kind     HopKind
	comp     tracing.Component
	at       time.Time
	recv     int
	source   string // DLQ: the source queue
	body     string // DLQ copies only
	attrs    map[string]string
	evidence string
}

// invRef ties an invocation (or a span standing for one) to the key it consumed or published.
type invRef struct {
	request  string
	span     tracing.Key
	via      tracing.Key
	comp     tracing.Component
	at       time.Time
	evidence string
	conf     float64
}

type invocation struct {
	elem      *list.Element
	request   string
	function  string
	start     time.Time
	trace     tracing.TraceID
	inv       *tracing.Invocation
	logs      []logLine
	logsCut   int
	costUSD   float64
	errorType string
	failed    bool
	events    []*event // events this invocation is a hop of (bounded), to attach a trace learned later
}

// setTrace records the invocation's trace and attaches it to its events.
func (g *Graph) setTrace(inv *invocation, t tracing.TraceID) {
	if inv.trace.IsValid() || !t.IsValid() {
		return
	}
	inv.trace = t
	for _, e := range inv.events {
		e = find(e)
		if e.held {
			g.attachWeak(e, tracing.Key{Kind: tracing.KeyTraceID, Value: t.String()})
		}
	}
}

type logLine struct {
	LogLine
	eventID string
}

type trace struct {
	id    tracing.TraceID
	elem  *list.Element
	spans []tracing.Span
}

// New returns an empty graph.
func New(cfg Config) *Graph {
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = 200_000
	}
	if cfg.MaxLogsPerInvocation <= 0 {
		cfg.MaxLogsPerInvocation = 50
	}
	if cfg.Prices.X86 == nil && cfg.Prices.ARM == nil {
		cfg.Prices = DefaultPrices()
	}
	if cfg.RateBucket <= 0 {
		cfg.RateBucket = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Graph{
		cfg:       cfg,
		lru:       list.New(),
		strong:    map[tracing.Key]*event{},
		weak:      map[tracing.Key][]*event{},
		invs:      map[string]*invocation{},
		invList:   list.New(),
		traces:    map[tracing.TraceID]*trace{},
		trList:    list.New(),
		fns:       map[string]*fnStats{},
		queues:    map[string]tracing.QueueInfo{},
		qSeen:     map[string]time.Time{},
		comps:     map[tracing.Component]*compStats{},
		edges:     map[[2]tracing.Component]*compStats{},
		cons:      map[string]string{},
		rate:      rateRing{width: cfg.RateBucket},
		sortCache: map[FlowSort]sortCache{},
	}
}

// find returns the root of e's union set, compressing the path.
func find(e *event) *event {
	root := e
	for root.parent != nil {
		root = root.parent
	}
	for e.parent != nil {
		next := e.parent
		e.parent = root
		e = next
	}
	return root
}

// Version changes whenever ingest changed something readers can see.
func (g *Graph) Version() uint64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.version
}

// Ingest adds a batch. Only one goroutine may call it at a time.
func (g *Graph) Ingest(b tracing.Batch) {
	if len(b) == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.cfg.Now()
	for i := range b {
		g.ingest(&b[i], now)
	}
	g.rate.add(now, len(b))
	g.obsCount += uint64(len(b))
	g.version++
	g.evict()
}

func (g *Graph) ingest(o *tracing.Observation, now time.Time) {
	if o.Log != nil && o.Log.Kind == tracing.LogUnparsed {
		g.unparsed++
	}
	if o.Message != nil && o.Message.Reason != "" {
		g.unparsed++
	}
	at := o.Time
	if at.IsZero() {
		at = now
	}
	switch o.Kind {
	case tracing.ObsFunction:
		if f := o.Function; f != nil {
			st := g.fn(f.Name)
			st.cfg = *f
		}
		return
	case tracing.ObsQueue:
		if q := o.Queue; q != nil {
			g.queues[q.Name] = *q
			g.qSeen[q.Name] = at
		}
		return
	case tracing.ObsInvocation, tracing.ObsLog:
		g.ingestLog(o, at)
	case tracing.ObsSpan:
		g.ingestSpan(o, at)
	case tracing.ObsMessage:
		g.ingestMessage(o, at)
		return
	}
	g.ingestKeys(o, at)
}

// ingestKeys handles what any observation says through its keys and relations.
func (g *Graph) ingestKeys(o *tracing.Observation, at time.Time) {
	var request string
	var spanKey tracing.Key
	var strong []tracing.Key
	for _, k := range o.Keys {
		switch {
		case k.Kind == tracing.KeyRequestID:
			request = k.Value
		case k.Kind == tracing.KeySpanID:
			spanKey = k
		case k.Kind.Strong():
			strong = append(strong, k)
		}
	}
	if o.Span != nil && o.Span.InvocationID != "" && request == "" {
		request = o.Span.InvocationID
	}
	evidence := "request id and message id on one " + o.Kind.String()
	// Several strong keys on one log line or span are the layers of the one
	// message its consumer handled (the SQS message and the event inside it):
	// they name one event.
	if len(strong) > 1 {
		e := g.eventFor(strong[0], at)
		for _, k := range strong[1:] {
			e = g.union(e, g.eventFor(k, at))
		}
	}
	// A log line or span naming both an invocation and a message: the invocation handled it.
	if (request != "" || !spanKey.IsZero()) && len(strong) > 0 {
		for _, k := range strong {
			e := g.eventFor(k, at)
			kind := tracing.RelConsumed
			if o.Span != nil && (o.Span.Kind == tracing.SpanKindProducer || o.Span.Messaging.Operation == "publish" || o.Span.Messaging.Operation == "send") {
				kind = tracing.RelPublished
			}
			g.attach(e, kind, request, spanKey, k, o.Component, at, evidence, 0.9)
		}
	}
	for _, r := range o.Relations {
		g.relate(o, r, at)
	}
	// Weak keys that sit with strong ones attach to those events.
	if len(strong) > 0 {
		for _, k := range o.Keys {
			if k.Kind == tracing.KeyTraceID || k.Kind == tracing.KeyCorrelation {
				for _, s := range strong {
					g.attachWeak(find(g.strong[s]), k)
				}
			}
		}
	}
}

func (g *Graph) relate(o *tracing.Observation, r tracing.Relation, at time.Time) {
	switch r.Kind {
	case tracing.RelCarries, tracing.RelDeadLettered, tracing.RelRedriveOf, tracing.RelReplayOf:
		if r.From.Kind.Strong() && r.To.Kind.Strong() {
			e := g.union(g.eventFor(r.From, at), g.eventFor(r.To, at))
			switch r.Kind {
			case tracing.RelRedriveOf:
				e.flags |= flagRedriven
			case tracing.RelReplayOf:
				e.flags |= flagReplayed
			}
		}
	case tracing.RelConsumed, tracing.RelPublished:
		to, from := r.To, r.From
		if !to.Kind.Strong() {
			return
		}
		e := g.eventFor(to, at)
		var request string
		var span tracing.Key
		switch from.Kind {
		case tracing.KeyRequestID:
			request = from.Value
		case tracing.KeySpanID:
			span = from
			if o.Span != nil && o.Span.InvocationID != "" {
				request = o.Span.InvocationID
			}
		default:
			return
		}
		ev := r.Evidence
		if ev == "" {
			ev = r.Kind.String()
		}
		g.attach(e, r.Kind, request, span, to, o.Component, at, ev, 1)
	case tracing.RelContains:
		if r.From.Kind == tracing.KeyTraceID && r.To.Kind == tracing.KeyRequestID {
			if t, err := tracing.ParseTraceID(r.From.Value); err == nil {
				g.setTrace(g.invocation(r.To.Value, at), t)
			}
		}
	}
}

// eventFor returns the event of a strong key, creating it.
func (g *Graph) eventFor(k tracing.Key, at time.Time) *event {
	if e, ok := g.strong[k]; ok {
		e = find(e)
		g.touch(e, at)
		return e
	}
	g.seq++
	e := &event{seq: g.seq, strong: []tracing.Key{k}, first: at, last: at}
	e.elem = g.lru.PushFront(e)
	e.held = true
	g.nEvents++
	g.strong[k] = e
	if k.Kind == tracing.KeyCloudEventID {
		// Users know a CloudEvent by its id alone; index that too, as a weak alias.
		if _, id, ok := strings.Cut(k.Value, "\n"); ok {
			g.attachWeak(e, tracing.Key{Kind: tracing.KeyCorrelation, Value: "ce:" + id})
		}
	}
	return e
}

func (g *Graph) touch(e *event, at time.Time) {
	if at.Before(e.first) {
		e.first = at
	}
	if at.After(e.last) {
		e.last = at
	}
	g.lru.MoveToFront(e.elem)
}

// union merges b's set into a's (the older event survives as the root).
func (g *Graph) union(a, b *event) *event {
	a, b = find(a), find(b)
	if a == b {
		return a
	}
	if b.seq < a.seq {
		a, b = b, a
	}
	b.parent = a
	a.strong = append(a.strong, b.strong...)
	for _, k := range b.weak {
		g.attachWeak(a, k)
		g.detachWeak(b, k)
	}
	a.msgs = append(a.msgs, b.msgs...)
	a.invs = append(a.invs, b.invs...)
	a.pubs = append(a.pubs, b.pubs...)
	if a.typ == "" {
		a.typ, a.source = b.typ, b.source
	}
	if b.first.Before(a.first) {
		a.first = b.first
	}
	if b.last.After(a.last) {
		a.last = b.last
	}
	a.flags |= b.flags
	g.lru.Remove(b.elem)
	b.held = false
	g.nEvents--
	b.strong, b.weak, b.msgs, b.invs, b.pubs = nil, nil, nil, nil, nil
	g.lru.MoveToFront(a.elem)
	return a
}

const maxWeakFanout = 1000

func (g *Graph) attachWeak(e *event, k tracing.Key) {
	list := g.weak[k]
	for _, have := range list {
		if find(have) == e {
			return
		}
	}
	if len(list) >= maxWeakFanout {
		return // a key shared this widely identifies nothing; stop indexing it
	}
	g.weak[k] = append(list, e)
	e.weak = append(e.weak, k)
	if k.Kind == tracing.KeyCorrelation {
		// Users type the value alone ("o-7" for order_id=o-7): index it too.
		if _, v, ok := strings.Cut(k.Value, "="); ok && v != "" && !strings.HasPrefix(k.Value, "=") {
			g.attachWeak(e, tracing.Key{Kind: tracing.KeyCorrelation, Value: "=" + v})
		}
	}
}

func (g *Graph) detachWeak(e *event, k tracing.Key) {
	list := g.weak[k]
	for i, have := range list {
		if have == e {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(g.weak, k)
	} else {
		g.weak[k] = list
	}
}

// attach records that an invocation or span consumed or published key k of e.
func (g *Graph) attach(e *event, kind tracing.RelKind, request string, span, k tracing.Key, comp tracing.Component, at time.Time, evidence string, conf float64) {
	e = find(e)
	ref := invRef{request: request, span: span, via: k, comp: comp, at: at, evidence: evidence, conf: conf}
	if request != "" {
		inv := g.invocation(request, at)
		if inv.function == "" && comp.Kind == tracing.ComponentFunction {
			inv.function = comp.Name
		}
		if inv.function != "" {
			ref.comp = tracing.Component{Kind: tracing.ComponentFunction, Name: inv.function}
		}
		if !inv.start.IsZero() {
			ref.at = inv.start
		}
		g.attachWeak(e, tracing.Key{Kind: tracing.KeyRequestID, Value: request})
		if inv.trace.IsValid() {
			g.attachWeak(e, tracing.Key{Kind: tracing.KeyTraceID, Value: inv.trace.String()})
		}
		if len(inv.events) < 16 {
			inv.events = append(inv.events, e)
		}
	}
	if !span.IsZero() {
		if tr, _, ok := strings.Cut(span.Value, "/"); ok {
			g.attachWeak(e, tracing.Key{Kind: tracing.KeyTraceID, Value: tr})
		}
	}
	refs := &e.invs
	if kind == tracing.RelPublished {
		refs = &e.pubs
	}
	for i, have := range *refs {
		same := (request != "" && have.request == request) || (request == "" && have.span == span && have.via == k)
		if !same {
			continue
		}
		// One hop per invocation: keep the most specific key it handled (an
		// SQS message over the event it carries), and the best evidence.
		if specificity(k.Kind) > specificity(have.via.Kind) {
			(*refs)[i].via = k
			(*refs)[i].evidence, (*refs)[i].conf = evidence, conf
		} else if have.via == k && conf > have.conf {
			(*refs)[i].evidence, (*refs)[i].conf = evidence, conf
		}
		return
	}
	*refs = append(*refs, ref)
	g.touch(e, at)
	// The component map learns who consumes which queue.
	if kind == tracing.RelConsumed && ref.comp.Kind == tracing.ComponentFunction {
		for _, m := range e.msgs {
			if m.key == k && m.comp.Kind == tracing.ComponentQueue && m.kind == HopBroker {
				g.cons[m.comp.Name] = ref.comp.Name
				g.edge(m.comp, ref.comp, at, 0, false)
			}
		}
	}
}

// specificity ranks strong keys by how close to the consumer they are: the
// message a function received beats the notification or event inside it.
func specificity(k tracing.KeyKind) int {
	switch k {
	case tracing.KeyMessageID:
		return 5
	case tracing.KeySNSMessageID:
		return 4
	case tracing.KeyS3Object:
		return 3
	case tracing.KeyEventID:
		return 2
	case tracing.KeyCloudEventID:
		return 1
	}
	return 0
}

func (g *Graph) invocation(request string, at time.Time) *invocation {
	if inv, ok := g.invs[request]; ok {
		return inv
	}
	inv := &invocation{request: request, start: at}
	inv.elem = g.invList.PushBack(inv)
	g.invs[request] = inv
	for g.invList.Len() > 2*g.cfg.MaxEvents {
		old := g.invList.Remove(g.invList.Front()).(*invocation)
		delete(g.invs, old.request)
	}
	return inv
}

func (g *Graph) ingestLog(o *tracing.Observation, at time.Time) {
	l := o.Log
	request := ""
	if l != nil {
		request = l.RequestID
	}
	if o.Invocation != nil && request == "" {
		request = o.Invocation.RequestID
	}
	if request == "" {
		return
	}
	inv := g.invocation(request, at)
	if o.Component.Kind == tracing.ComponentFunction && inv.function == "" {
		inv.function = o.Component.Name
	}
	if l != nil {
		g.setTrace(inv, l.TraceID)
		if l.Kind == tracing.LogStart || at.Before(inv.start) {
			inv.start = at
		}
		if l.Kind == tracing.LogTimeout {
			inv.failed, inv.errorType = true, "Task timed out"
		}
		if l.Level == "ERROR" && inv.errorType == "" && l.Kind == tracing.LogApp {
			inv.errorType = firstLineOf(l.Message, 120)
		}
		dup := false
		if l.EventID != "" {
			for _, have := range inv.logs {
				if have.eventID == l.EventID {
					dup = true
					break
				}
			}
		}
		if dup {
			// the same CloudWatch event read twice (overlapping windows, searches)
		} else if len(inv.logs) < g.cfg.MaxLogsPerInvocation {
			inv.logs = append(inv.logs, logLine{LogLine: LogLine{Time: at, Kind: l.Kind, Level: l.Level, RequestID: request, Message: l.Message}, eventID: l.EventID})
		} else {
			inv.logs[len(inv.logs)-1] = logLine{LogLine: LogLine{Time: at, Kind: l.Kind, Level: l.Level, RequestID: request, Message: l.Message}, eventID: l.EventID}
			inv.logsCut++
		}
	}
	if r := o.Invocation; r != nil && inv.inv == nil {
		cp := *r
		inv.inv = &cp
		if cp.Status != tracing.InvocationSuccess && cp.Status != tracing.InvocationUnknown {
			inv.failed = true
			if cp.ErrorType != "" {
				inv.errorType = cp.ErrorType
			} else if inv.errorType == "" {
				inv.errorType = cp.Status.String()
			}
		}
		g.setTrace(inv, cp.TraceID)
		fn := cp.Function
		if fn == "" {
			fn = inv.function
		}
		st := g.fn(fn)
		mem := st.cfg.MemoryMB
		if mem == 0 {
			mem = cp.MemorySizeMB
		}
		gbs, usd := g.cfg.Prices.InvocationCost(&cp, mem, st.arch(), at)
		inv.costUSD = usd
		st.add(&cp, gbs, usd, at, g.cfg.RateBucket)
		comp := tracing.Component{Kind: tracing.ComponentFunction, Name: fn}
		g.comp(comp).observe(at, cp.Duration, inv.failed, g.cfg.RateBucket)
	}
}

func (g *Graph) ingestSpan(o *tracing.Observation, at time.Time) {
	s := o.Span
	if s == nil || !s.TraceID.IsValid() {
		return
	}
	t, ok := g.traces[s.TraceID]
	if !ok {
		t = &trace{id: s.TraceID}
		t.elem = g.trList.PushBack(t)
		g.traces[s.TraceID] = t
		for g.trList.Len() > g.cfg.MaxEvents {
			old := g.trList.Remove(g.trList.Front()).(*trace)
			delete(g.traces, old.id)
		}
	}
	replaced := false
	for i := range t.spans {
		if t.spans[i].SpanID == s.SpanID {
			t.spans[i] = compactSpan(s) // a completed segment replaces its in-progress copy
			replaced = true
			break
		}
	}
	if !replaced && len(t.spans) < 512 {
		t.spans = append(t.spans, compactSpan(s))
	}
	if s.InvocationID != "" {
		g.setTrace(g.invocation(s.InvocationID, at), s.TraceID)
	}
	if o.Component.Kind != tracing.ComponentUnknown && !replaced {
		g.comp(o.Component).observe(at, s.Duration(), s.Status == tracing.StatusError, g.cfg.RateBucket)
	}
}

// compactSpan keeps what the waterfall shows.
func compactSpan(s *tracing.Span) tracing.Span {
	c := *s
	if len(c.Attrs) > 8 {
		keep := map[string]string{}
		for k, v := range c.Attrs {
			if len(keep) == 8 {
				break
			}
			keep[k] = v
		}
		c.Attrs = keep
	}
	return c
}

func (g *Graph) ingestMessage(o *tracing.Observation, at time.Time) {
	m := o.Message
	if m == nil {
		return
	}
	// The message's own key first, then each envelope layer's, outermost first.
	var layers []msgHop
	if m.ID != "" {
		kind := tracing.KeyMessageID
		if m.Broker == tracing.BrokerSNS {
			kind = tracing.KeySNSMessageID
		}
		hk := HopBroker
		comp := tracing.Component{Kind: tracing.ComponentQueue, Name: m.Queue}
		switch m.Broker {
		case tracing.BrokerSNS:
			comp.Kind = tracing.ComponentTopic
		case tracing.BrokerEventBridge:
			comp.Kind = tracing.ComponentBus
			kind = tracing.KeyEventID
		}
		if m.DeadLetter {
			hk = HopDeadLetter
		}
		layers = append(layers, msgHop{key: tracing.Key{Kind: kind, Value: m.ID}, kind: hk, comp: comp, at: at, recv: m.ReceiveCount, source: m.SourceQueue, evidence: evidenceSeen})
		if m.DeadLetter {
			layers[0].body, layers[0].attrs = m.Body, m.UserAttrs
		}
	}
	for _, env := range m.Layers {
		if len(env.Keys) == 0 || !env.Keys[0].Kind.Strong() {
			continue
		}
		h := msgHop{key: env.Keys[0], kind: HopBroker, at: at, evidence: envelopeEvidence[env.Kind]}
		if !env.Time.IsZero() {
			h.at = env.Time
		}
		switch env.Kind {
		case tracing.EnvelopeSQS:
			h.comp = tracing.Component{Kind: tracing.ComponentQueue, Name: arnName(env.Source)}
		case tracing.EnvelopeSNS:
			h.comp = tracing.Component{Kind: tracing.ComponentTopic, Name: arnName(env.Source)}
		case tracing.EnvelopeEventBridge:
			h.comp = tracing.Component{Kind: tracing.ComponentBus, Name: "eventbridge"}
		case tracing.EnvelopeCloudEvent:
			// A CloudEvent is the payload's own identity, not a hop: index its key only.
			ce := g.eventFor(h.key, at)
			if len(layers) > 0 {
				g.union(ce, g.eventFor(layers[len(layers)-1].key, at))
			}
			continue
		case tracing.EnvelopeS3:
			h.comp = tracing.Component{Kind: tracing.ComponentBucket, Name: arnName(env.Source)}
		}
		if len(layers) > 0 && layers[len(layers)-1].key == h.key {
			continue // the message's own ID again
		}
		layers = append(layers, h)
	}
	if len(layers) == 0 {
		return
	}
	for i := range layers {
		if i+1 < len(layers) {
			layers[i].inner = layers[i+1].key
		}
	}
	if m.DeadLetter && m.SourceQueue != "" && len(layers) > 0 {
		// The copy names its source queue: the message was there first.
		src := layers[0]
		src.kind, src.comp, src.body, src.attrs = HopBroker, tracing.Component{Kind: tracing.ComponentQueue, Name: m.SourceQueue}, "", nil
		if !m.SentAt.IsZero() {
			src.at = m.SentAt
		}
		src.evidence = "DeadLetterQueueSourceArn names " + m.SourceQueue
		layers = append(layers, src)
	}
	var e *event
	for i := range layers {
		le := g.eventFor(layers[i].key, at)
		if e == nil {
			e = le
		} else {
			e = g.union(e, le)
		}
	}
	e = find(e)
	for i := range layers {
		g.addMsg(e, layers[i])
	}
	// Type and source: the EventBridge detail-type users route on, else the
	// innermost typed layer.
	for _, env := range m.Layers {
		if env.Kind == tracing.EnvelopeEventBridge && env.Type != "" && e.typ == "" {
			e.typ, e.source = env.Type, env.Source
		}
	}
	for i := len(m.Layers) - 1; i >= 0; i-- {
		if env := m.Layers[i]; env.Type != "" && e.typ == "" {
			e.typ, e.source = env.Type, env.Source
		}
	}
	for _, k := range o.Keys {
		if !k.Kind.Strong() && k.Kind != tracing.KeyRequestID && k.Kind != tracing.KeySpanID && k.Kind != tracing.KeyLogEventID {
			g.attachWeak(e, k)
		}
	}
	for _, env := range m.Layers {
		if h, err := tracing.ParseXRayHeader(env.TraceHeader); err == nil {
			g.attachWeak(e, tracing.Key{Kind: tracing.KeyTraceID, Value: h.Root.String()})
		} else if tp, err := tracing.ParseTraceparent(env.TraceHeader); err == nil {
			g.attachWeak(e, tracing.Key{Kind: tracing.KeyTraceID, Value: tp.TraceID.String()})
		}
	}
	if th := m.Attributes["AWSTraceHeader"]; th != "" {
		if h, err := tracing.ParseXRayHeader(th); err == nil {
			g.attachWeak(e, tracing.Key{Kind: tracing.KeyTraceID, Value: h.Root.String()})
		}
	}
	for _, r := range o.Relations {
		g.relate(o, r, at)
	}
	g.touch(find(e), at)
}

// addMsg adds or updates a broker hop.
func (g *Graph) addMsg(e *event, h msgHop) {
	for _, have := range e.msgs {
		if have.key == h.key && have.kind == h.kind && have.comp == h.comp {
			if h.recv > have.recv {
				have.recv = h.recv
			}
			if have.inner.IsZero() {
				have.inner = h.inner
			}
			if h.body != "" {
				have.body, have.attrs = h.body, h.attrs
			}
			return
		}
		// A bus learns its real name from a better observation.
		if have.key == h.key && have.kind == h.kind && have.comp.Kind == h.comp.Kind && have.comp.Name == "eventbridge" && h.comp.Name != "" {
			have.comp = h.comp
			return
		}
		if have.key == h.key && h.comp.Name == "" {
			return
		}
	}
	cp := h
	e.msgs = append(e.msgs, &cp)
	if h.kind == HopBroker && h.comp.Kind != tracing.ComponentUnknown && h.comp.Name != "" {
		g.comp(h.comp).observe(h.at, 0, false, g.cfg.RateBucket)
	}
	if h.kind == HopDeadLetter {
		g.comp(h.comp).observe(h.at, 0, true, g.cfg.RateBucket)
		if h.source != "" {
			g.edge(tracing.Component{Kind: tracing.ComponentQueue, Name: h.source}, h.comp, h.at, 0, true)
		}
	}
}

// Evidence strings are shared, not built per message: they are most of a
// message hop's size otherwise.
const evidenceSeen = "message seen in the queue"

var envelopeEvidence = func() map[tracing.EnvelopeKind]string {
	m := map[tracing.EnvelopeKind]string{}
	for k := tracing.EnvelopeUnknown; k <= tracing.EnvelopePayload; k++ {
		m[k] = k.String() + " envelope in the body"
	}
	return m
}()

// arnName returns the resource name at the end of an ARN or queue URL.
func arnName(s string) string {
	if i := strings.LastIndexAny(s, ":/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func firstLineOf(s string, max int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// evict drops the least recently active events beyond MaxEvents.
func (g *Graph) evict() {
	for g.nEvents > g.cfg.MaxEvents {
		back := g.lru.Back()
		if back == nil {
			return
		}
		e := g.lru.Remove(back).(*event)
		e.held = false
		g.nEvents--
		for _, k := range e.strong {
			if r, ok := g.strong[k]; ok && find(r) == e {
				delete(g.strong, k)
			}
		}
		for _, k := range e.weak {
			g.detachWeak(e, k)
		}
		g.evicted++
	}
}

// ---- reading ----

// Totals returns the graph's own figures.
func (g *Graph) Totals() Totals {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return Totals{
		Events: g.nEvents, Observations: g.obsCount, Evicted: g.evicted, Unparsed: g.unparsed,
		RatePerSec: g.rate.perSecond(g.cfg.Now()), Version: g.version,
	}
}

// lookup resolves an ID (any key value, or a unique prefix of one) to events.
func (g *Graph) lookup(id string) []*event {
	id = strings.TrimSpace(id)
	if id == "" {
		return nil
	}
	seen := map[*event]bool{}
	var out []*event
	add := func(e *event) {
		e = find(e)
		if e.held && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	for kind := tracing.KeyKind(1); kind < 32; kind++ {
		k := tracing.Key{Kind: kind, Value: id}
		if e, ok := g.strong[k]; ok {
			add(e)
		}
		for _, e := range g.weak[k] {
			add(e)
		}
	}
	if t, err := tracing.ParseTraceID(id); err == nil {
		for _, e := range g.weak[tracing.Key{Kind: tracing.KeyTraceID, Value: t.String()}] {
			add(e)
		}
	}
	for _, alias := range []string{"ce:" + id, "=" + id} {
		for _, e := range g.weak[tracing.Key{Kind: tracing.KeyCorrelation, Value: alias}] {
			add(e)
		}
	}
	if len(out) > 0 {
		return out
	}
	// A prefix (at least 4 characters) of a strong key.
	if len(id) >= 4 {
		for k, e := range g.strong {
			if strings.HasPrefix(k.Value, id) {
				add(e)
				if len(out) > 20 {
					break
				}
			}
		}
	}
	return out
}

// Find lists the events whose keys equal or start with prefix, newest first.
func (g *Graph) Find(prefix string, limit int) []Match {
	g.mu.RLock()
	defer g.mu.RUnlock()
	evs := g.lookup(prefix)
	sort.Slice(evs, func(i, j int) bool { return evs[i].last.After(evs[j].last) })
	if limit > 0 && len(evs) > limit {
		evs = evs[:limit]
	}
	out := make([]Match, 0, len(evs))
	for _, e := range evs {
		m := Match{ID: primaryID(e), Type: e.typ, Last: e.last}
		for _, k := range append(append([]tracing.Key{}, e.strong...), e.weak...) {
			if strings.HasPrefix(k.Value, prefix) || strings.HasSuffix(k.Value, "\n"+prefix) {
				m.Key = k
				break
			}
		}
		out = append(out, m)
	}
	return out
}

// primaryID is the key users see for an event: the EventBridge id, else the
// CloudEvents id, SNS, SQS or S3 key, in that order.
func primaryID(e *event) string {
	best := tracing.Key{}
	rank := func(k tracing.KeyKind) int {
		switch k {
		case tracing.KeyEventID:
			return 5
		case tracing.KeyCloudEventID:
			return 4
		case tracing.KeySNSMessageID:
			return 3
		case tracing.KeyS3Object:
			return 2
		case tracing.KeyMessageID:
			return 1
		}
		return 0
	}
	for _, k := range e.strong {
		if rank(k.Kind) > rank(best.Kind) {
			best = k
		}
	}
	if best.Kind == tracing.KeyCloudEventID {
		if _, id, ok := strings.Cut(best.Value, "\n"); ok {
			return id
		}
	}
	return best.Value
}
