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
//     MessageId, S3 object+sequencer) name one event. Learning that two belong
//     together merges their events (the older survives and takes the other's
//     keys, hops and consumers): the layers of one message body (an SQS message
//     carrying an SNS notification carrying an EventBridge event) and every
//     [tracing.RelCarries] and RelDeadLettered relation join their events
//     into one, as do several strong keys on one log line or span (a consumer
//     logging the message and the event in it). A CloudEvents id a consumer
//     logs as event_id joins the CloudEvent with that id.
//   - A replayed or redriven copy ([tracing.RelReplayOf], RelRedriveOf) is an
//     event of its own, linked both ways to its original ([Lineage.Links]) and
//     never merged with it, although it shares the original's body IDs.
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
// message ID. An invocation that published a key never consumed it. An
// invocation seen by logs, X-Ray and OTLP is one invocation: [Graph.Functions]
// and the map count it once, failed if any source says it failed.
//
// # One rule
//
// An event's status, hop count, latency, type and source are derived in one
// place, from the hops its [Lineage] shows; a Flows row is that summary,
// cached until the event changes. An event known only by a delivery's message
// ID, from a span or log line that arrived before the observation that ties
// it to its event, waits (Config.FragmentWait) before it becomes a row.
//
// # Concurrency and memory
//
// One writer (the collectors' hub) calls [Graph.Ingest]; any number of
// readers call the query methods, which return fresh values they own. A
// sync.RWMutex guards the graph: readers hold the read lock only while they
// copy out what they asked for (a page of rows, one lineage), so ingest waits
// at most that long; [Graph.Version] takes no lock at all. Memory is bounded
// by Config.MaxEvents: the least recently active event is evicted first, with
// its index entries, and evictions are counted in [Totals]. Events, keys, hops
// and spans are stored compactly, without Go pointers (store.go, spans.go).
package graph

import (
	"errors"
	"hash/maphash"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
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
	// FragmentWait is how long an event known only by a delivery's message ID
	// (a consumer span or log line that arrived before what ties it to its
	// event) stays out of the Flows list, waiting to be joined (default 2s).
	FragmentWait time.Duration
	Now          func() time.Time

	// MaxBytes bounds, in bytes, what the held events and spans take (as
	// estimated from their records; see [Budget.Held]): past it the least
	// recently active events or the oldest traces are evicted. 0: no bound.
	MaxBytes int64
}

const rateBuckets = 30

// Graph is the event-lineage graph. Create it with [New].
type Graph struct {
	mu  sync.RWMutex
	cfg Config

	s       store     // events, their keys and hops (store.go)
	memo    []memoKey // strong keys resolved during the current observation
	memoBuf [8]memoKey
	invs    map[string]*invocation // request ID → invocation
	lastInv *invocation            // the one findInv found last (held in invs)
	invHead *invocation            // oldest; invocations are bounded at 2×MaxEvents
	invTail *invocation
	names   map[string]string   // canonical copies of function names, levels and error types
	sp      spanStore           // traces and their spans (spans.go)
	logs    logTail             // the newest log lines and reported invocations per function (logs.go)
	fns     map[fnSite]*fnStats // function (in its place, stats.go) → stats
	comps   map[tracing.Component]*compStats
	edges   map[[2]tracing.Component]*compStats
	topo    topology // the configured routes (topology.go)
	api     apiStore // API Gateway requests (api.go)
	consGen uint64   // changes with cons; cached summaries check it

	// By the queue, placed when several contexts are watched.
	queues map[tracing.Component]tracing.QueueInfo
	qSeen  map[tracing.Component]time.Time
	cons   map[tracing.Component]string // queue → the function seen consuming it

	seq       uint64
	version   atomic.Uint64 // read without the lock by Version
	obsCount  uint64
	evicted   uint64
	unparsed  uint64
	rate      rateRing
	cacheMu   sync.Mutex // guards sortCache and sums, which readers fill under the read lock
	sortCache map[FlowSort]sortCache
	sums      sumChunks // by event slot, in chunks; see summarize
	search    search    // the Flows filter's match sets (index.go)

	// Fragments: events that wait, bounded, before they become rows.
	frag         map[int32]fragment
	rx           replayIndex // archive replays by fingerprint (replayof.go)
	fragSwept    time.Time
	fragOverflow uint64
	fromObs      bool      // the current observation is a span or log line (not a broker message)
	now          time.Time // the current batch's ingest time (Config.Now)

	kin kinesisIndex // Kinesis sequence numbers and on-failure records (kinesis.go)

	// here is the component of the observation being ingested: where a
	// broker it implies without an ARN lives (see placed).
	here tracing.Component
}

// fragment is an event held out of the Flows list until until (unix ns),
// unless what ties it to its event arrives first.
type fragment struct {
	seq   uint64
	until int64
}

// maxFragments bounds the events held back at once; past it a new fragment
// is shown at once, and counted in Totals.FragmentsShownEarly.
const maxFragments = 4096

type sortCache struct {
	version uint64
	at      time.Time
	order   []eventRef
}

// eventRef names an event across ingests: slots are reused, so the sequence
// number tells whether the slot still holds the same event.
type eventRef struct {
	id  int32
	seq uint64
}

type invocation struct {
	next      *invocation // the next younger invocation (FIFO order of arrival)
	request   string
	function  string
	account   string // the account that ran it, when a source said (cross-account)
	region    string // the region that ran it, when a source said (several regions)
	start     time.Time
	trace     tracing.TraceID
	inv       *tracing.Invocation
	logs      []logLine
	logsCut   int
	costUSD   float64
	errorType string
	failed    bool
	timeout   bool
	cold      bool
	spanSeen  bool          // a span of this invocation was seen (X-Ray aws.request_id, OTLP faas.invocation_id)
	spanDur   time.Duration // the longest completed span of the invocation, for when no REPORT is seen
	counted   uint8         // what Functions and Map have counted of it (acct* bits)
	keys      []tracing.Key // strong keys of the events it is a hop of (bounded), to attach a trace learned later
}

// learnPlace keeps the account and region a source said the invocation ran
// in; each is learnt once, from whichever source says it first.
func (inv *invocation) learnPlace(c tracing.Component) {
	if inv.account == "" {
		inv.account = c.Account
	}
	if inv.region == "" {
		inv.region = c.Region
	}
}

// Bits of invocation.counted: each figure counts an invocation once, whichever
// sources (logs, X-Ray, OTLP) saw it and in whatever order.
const (
	acctInvocation uint8 = 1 << iota
	acctError
	acctTimeout
	acctCold
	acctNoAccount // counted before its account was known (stats.go recount)
	acctNoRegion  // counted before its region was known
)

// setTrace records the invocation's trace and attaches it to its events.
func (g *Graph) setTrace(inv *invocation, t tracing.TraceID) {
	if inv.trace.IsValid() || !t.IsValid() {
		return
	}
	inv.trace = t
	for _, k := range inv.keys {
		if ki := g.s.findStrong(k.Kind, k.Value); ki != 0 {
			g.attachWeak(g.s.key(ki).ev, tracing.KeyTraceID, t.String())
		}
	}
}

// logLine is one kept log line of an invocation. Its request ID is the
// invocation's, and the CloudWatch event ID is kept as a hash: it only
// serves to drop a line read twice, and the real ones are 56 digits long.
type logLine struct {
	at      int64
	eventID uint64
	level   string
	message string
	kind    tracing.LogKind
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
	if cfg.FragmentWait <= 0 {
		cfg.FragmentWait = 2 * time.Second
	}
	return &Graph{
		cfg:       cfg,
		s:         newStore(cfg),
		invs:      map[string]*invocation{},
		names:     map[string]string{},
		sp:        newSpanStore(cfg),
		fns:       map[fnSite]*fnStats{},
		queues:    map[tracing.Component]tracing.QueueInfo{},
		qSeen:     map[tracing.Component]time.Time{},
		comps:     map[tracing.Component]*compStats{},
		edges:     map[[2]tracing.Component]*compStats{},
		cons:      map[tracing.Component]string{},
		rate:      rateRing{width: cfg.RateBucket},
		sortCache: map[FlowSort]sortCache{},
		frag:      map[int32]fragment{},
	}
}

// Version changes whenever ingest changed something readers can see.
// It takes no lock, so a reader polling it never waits for a long ingest.
func (g *Graph) Version() uint64 { return g.version.Load() }

// Ingest adds a batch. Only one goroutine may call it at a time. Once it
// returns, the graph holds none of the batch's observations, their Keys and
// Relations arrays, or the Span, LogRecord and Invocation values they point
// to, so the caller may reuse those (the recording player decodes the next
// frame into the last one's memory, engine/player.go). It may keep what
// those reference: strings, maps, a span's Links and Events.
func (g *Graph) Ingest(b tracing.Batch) {
	if len(b) == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.cfg.Now()
	g.now = now
	for i := range b {
		g.ingest(&b[i], now)
		g.linkWaiting(now) // replayof.go
	}
	g.rate.add(now, len(b))
	g.obsCount += uint64(len(b))
	g.version.Add(1)
	g.evict()
	g.fitBytes()
	g.sweepFragments(now)
}

func (g *Graph) ingest(o *tracing.Observation, now time.Time) {
	g.memo = g.memoBuf[:0]
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
	g.fromObs = false
	g.here = o.Component
	switch o.Kind {
	case tracing.ObsFunction:
		if f := o.Function; f != nil {
			st := g.fn(fnSite{account: o.Component.Account, region: o.Component.Region, name: f.Name})
			st.cfg = *f
		}
		return
	case tracing.ObsQueue:
		if q := o.Queue; q != nil {
			c := placed(o.Component, tracing.Component{Kind: tracing.ComponentQueue, Name: q.Name}, q.ARN, q.URL)
			g.queues[c] = *q
			g.qSeen[c] = at
		}
		return
	case tracing.ObsRoute:
		g.ingestRoutes(o.Routes, at)
		g.consGen++ // placed brokers change every cached summary
		return
	case tracing.ObsInvocation, tracing.ObsLog:
		g.ingestLog(o, at)
	case tracing.ObsSpan:
		if !g.ingestAPI(o, at) { // api.go
			g.ingestSpan(o, at)
		}
	case tracing.ObsMessage:
		if g.ingestKinesisFailure(o, at) {
			return
		}
		g.ingestMessage(o, at)
		return
	}
	g.fromObs = true
	g.ingestKeys(o, at)
	g.fromObs = false
}

// ingestKeys handles what any observation says through its keys and relations.
func (g *Graph) ingestKeys(o *tracing.Observation, at time.Time) {
	var request, api string
	var spanKey tracing.Key
	var strongBuf [4]tracing.Key
	strong := strongBuf[:0]
	sdk := o.Span != nil && sdkCall(o.Span)
	for _, k := range o.Keys {
		switch {
		case k.Kind == tracing.KeyAPIRequest:
			api = k.Value
		case k.Kind == tracing.KeyRequestID:
			if !sdk { // an SDK call's aws.request_id is the called service's
				request = k.Value
			}
		case k.Kind == tracing.KeySpanID:
			spanKey = k
		case k.Kind.Strong():
			strong = append(strong, k)
		}
	}
	if o.Span != nil && request == "" {
		request = invocationOf(o.Span)
	}
	if api != "" && request != "" {
		g.apiInvoked(api, request, at, apiEvidence(o)) // api.go
	}
	// Replays and redrives first: they keep the copy apart from its original
	// before the keys below could merge them.
	for _, r := range o.Relations {
		if r.Kind == tracing.RelRedriveOf || r.Kind == tracing.RelReplayOf {
			g.relate(o, r, at)
		}
	}
	// Several strong keys on one log line or span are the layers of the one
	// message its consumer handled (the SQS message and the event inside it):
	// they name one event. The most specific key leads: when a layer belongs
	// to an event this one must not merge with (the original of a replayed
	// copy), that layer is dropped rather than attached to the original.
	if len(strong) > 1 {
		for i := 1; i < len(strong); i++ {
			for j := i; j > 0 && specificity(strong[j].Kind) > specificity(strong[j-1].Kind); j-- {
				strong[j], strong[j-1] = strong[j-1], strong[j]
			}
		}
		e := g.eventFor(strong[0], at)
		orig := g.originalOf(e)
		for _, k := range strong[1:] {
			if orig != 0 {
				// The copy's consumer names the original's body IDs too: they
				// stay the original's, and this invocation is the copy's.
				orig = g.union(orig, g.eventFor(k, at))
				continue
			}
			e = g.union(e, g.eventFor(k, at))
		}
		kept := strong[:0]
		for _, k := range strong {
			if g.eventFor(k, at) == e {
				kept = append(kept, k)
			}
		}
		strong = kept
	}
	if typ := observedType(o); typ != "" && len(strong) > 0 {
		if e := g.eventFor(strong[0], at); g.s.ev(e).meta == 0 {
			g.s.ev(e).meta = uint16(g.s.metas.id(meta{typ, ""}))
		}
	}
	// A log line or span naming both an invocation and a message: the invocation handled it.
	if (request != "" || !spanKey.IsZero()) && len(strong) > 0 {
		evidence := sameObservationEvidence[tracing.ObsUnknown]
		if int(o.Kind) < len(sameObservationEvidence) {
			evidence = sameObservationEvidence[o.Kind]
		}
		for _, k := range strong {
			via := g.keyFor(k, at)
			kind := tracing.RelConsumed
			if o.Span != nil && (o.Span.Kind == tracing.SpanKindProducer || o.Span.Messaging.Operation == "publish" || o.Span.Messaging.Operation == "send" || o.Span.Messaging.Operation == "create") {
				kind = tracing.RelPublished
			}
			g.attach(via, kind, request, spanKey, o.Span, o.Component, at, evidence, 0.9)
		}
	}
	for _, r := range o.Relations {
		if r.Kind != tracing.RelRedriveOf && r.Kind != tracing.RelReplayOf {
			g.relate(o, r, at)
		}
	}
	// Weak keys that sit with strong ones attach to those events.
	if len(strong) > 0 {
		for _, k := range o.Keys {
			if k.Kind == tracing.KeyTraceID || k.Kind == tracing.KeyCorrelation || k.Kind == tracing.KeyExecution {
				for _, s := range strong {
					var p probe
					if ki := g.findKey(s, &p); ki != 0 {
						g.attachWeak(g.s.key(ki).ev, k.Kind, k.Value)
					}
				}
			}
		}
	}
}

// observedType is the event type a log line or span names: a logged
// detail-type, event_type or ce_type (tracing.LogRecord.EventType), the OTel
// CloudEvents attribute cloudevents.event_type, or an X-Ray annotation
// detail_type or event_type.
func observedType(o *tracing.Observation) string {
	if o.Log != nil {
		return o.Log.EventType
	}
	if o.Span != nil && len(o.Span.Attrs) > 0 {
		for _, k := range []string{"cloudevents.event_type", "annotation.detail_type", "annotation.event_type"} {
			if v := o.Span.Attrs[k]; v != "" && len(v) <= 128 {
				return v
			}
		}
	}
	return ""
}

// sdkCall reports whether a span is an AWS SDK call made by a function (an
// X-Ray subsegment with aws.operation): its aws.request_id is the called
// service's request, not the function's invocation.
func sdkCall(sp *tracing.Span) bool { return sp.Attrs["aws.operation"] != "" }

// invocationOf is the Lambda request ID a span belongs to, or "".
func invocationOf(sp *tracing.Span) string {
	if sp == nil || sdkCall(sp) {
		return ""
	}
	return sp.InvocationID
}

func (g *Graph) relate(o *tracing.Observation, r tracing.Relation, at time.Time) {
	switch r.Kind {
	case tracing.RelCarries, tracing.RelDeadLettered:
		if r.From.Kind.Strong() && r.To.Kind.Strong() {
			g.union(g.eventFor(r.From, at), g.eventFor(r.To, at))
		}
	case tracing.RelRedriveOf, tracing.RelReplayOf:
		if r.From.Kind.Strong() && r.To.Kind.Strong() && g.replayByID(r) {
			g.link(r.From, r.To, r.Kind, at)
		}
	case tracing.RelConsumed, tracing.RelPublished:
		to, from := r.To, r.From
		if !to.Kind.Strong() {
			return
		}
		via := g.keyFor(to, at)
		var request string
		var span tracing.Key
		switch from.Kind {
		case tracing.KeyRequestID:
			request = from.Value
		case tracing.KeySpanID:
			span = from
			request = invocationOf(o.Span)
		default:
			return
		}
		ev := r.Evidence
		if ev == "" {
			ev = r.Kind.String()
		}
		if typ := observedType(o); typ != "" {
			if e := g.s.key(via).ev; g.s.ev(e).meta == 0 {
				g.s.ev(e).meta = uint16(g.s.metas.id(meta{typ, ""}))
			}
		}
		g.attach(via, r.Kind, request, span, o.Span, o.Component, at, ev, 1)
	case tracing.RelContains:
		if r.From.Kind == tracing.KeyTraceID && r.To.Kind == tracing.KeyRequestID && (o.Span == nil || !sdkCall(o.Span)) {
			if t, err := tracing.ParseTraceID(r.From.Value); err == nil {
				g.setTrace(g.invocation(r.To.Value, at), t)
			}
		}
	}
}

// eventFor returns the event of a strong key, creating it.
func (g *Graph) eventFor(k tracing.Key, at time.Time) int32 {
	return g.s.key(g.keyFor(k, at)).ev
}

// keyFor returns the record of a strong key, creating its event.
func (g *Graph) keyFor(k tracing.Key, at time.Time) int32 {
	var p probe
	if ki := g.findKey(k, &p); ki != 0 {
		g.touch(g.s.key(ki).ev, at)
		return ki
	}
	g.seq++
	e := g.s.events.alloc()
	r := g.s.ev(e)
	r.sf, r.first, r.last = g.seq<<seqShift|uint64(flagHeld), nanos(at), nanos(at)
	g.s.lruPushFront(e)
	ki := g.s.addKey(e, &p, false, g.s.chainHead(p.h))
	g.remember(k, ki)
	switch k.Kind {
	case tracing.KeyCloudEventID:
		// Users know a CloudEvent by its id alone; index that too, as a weak alias.
		if src, id, ok := strings.Cut(k.Value, "\n"); ok && id != "" {
			g.attachWeak(e, tracing.KeyCorrelation, "ce:"+id)
			g.joinCloudEvent(e, src, id)
		}
	case tracing.KeyEventID:
		g.idSeen(k.Value) // a replay may wait for it (replayof.go)
		// A consumer logging event_id may name a CloudEvent's id.
		if ce := g.onlyWeak(tracing.KeyCorrelation, "ce:"+k.Value, e); ce != 0 {
			g.union(ce, e)
		}
	case tracing.KeyKinesisRecord:
		g.kinesisKey(e, ki, k, at)
	case tracing.KeyMessageID, tracing.KeySNSMessageID:
		if g.fromObs {
			// A delivery's ID first seen on a span or log line: the event it
			// carries is usually named by an observation still to come.
			g.holdFragment(e, at)
		}
	}
	return ki
}

// joinCloudEvent joins the event e, just given the CloudEvents key
// source+"\n"+id, to the events that name the same CloudEvent without its
// source: an event_id a consumer logged (read as an EventBridge id), an id
// logged without a source, or, for a key without a source, the one CloudEvent
// with that id.
func (g *Graph) joinCloudEvent(e int32, src, id string) {
	if ki := g.s.findStrong(tracing.KeyEventID, id); ki != 0 {
		e = g.union(e, g.s.key(ki).ev)
	}
	if src != "" {
		if ki := g.s.findStrong(tracing.KeyCloudEventID, "\n"+id); ki != 0 {
			g.union(e, g.s.key(ki).ev)
		}
		return
	}
	if ce := g.onlyWeak(tracing.KeyCorrelation, "ce:"+id, e); ce != 0 {
		g.union(ce, e)
	}
}

// onlyWeak returns the one event other than except that carries the weak
// key, or 0 when none or several do.
func (g *Graph) onlyWeak(kind tracing.KeyKind, v string, except int32) int32 {
	found, n := int32(0), 0
	g.s.eachWeak(kind, v, func(e int32) {
		if e != except && e != found {
			found = e
			n++
		}
	})
	if n != 1 {
		return 0
	}
	return found
}

// findKey resolves a strong key through the observation's memo, then the
// index; on a miss p holds the key's probe, for inserting it.
func (g *Graph) findKey(k tracing.Key, p *probe) int32 {
	for _, m := range g.memo {
		if m.k == k {
			return m.ki
		}
	}
	*p = g.s.probe(k.Kind, k.Value)
	ki := g.s.findStrongP(p)
	if ki != 0 {
		g.remember(k, ki)
	}
	return ki
}

// remember keeps a strong key's record for the rest of one observation, which
// names the same keys several times (its keys, then its relations). Records
// are not freed before the batch ends, so the memo stays true until reset.
func (g *Graph) remember(k tracing.Key, ki int32) {
	if len(g.memo) < cap(g.memo) {
		g.memo = append(g.memo, memoKey{k, ki})
	}
}

type memoKey struct {
	k  tracing.Key
	ki int32
}

func (g *Graph) touch(e int32, at time.Time) {
	g.s.bump(e)
	r := g.s.ev(e)
	if n := nanos(at); n != 0 {
		if n < r.first || r.first == 0 {
			r.first = n
		}
		if n > r.last {
			r.last = n
		}
	}
	g.s.lruMoveFront(e)
}

// union merges b's set into a's (the older event survives) and returns the
// survivor; b's slot is freed, so callers use the returned event from then on.
func (g *Graph) union(a, b int32) int32 {
	if a == b {
		return a
	}
	if g.linked(a, b) {
		return a // a copy and its original stay two events
	}
	s := &g.s
	if s.ev(b).seq() < s.ev(a).seq() {
		a, b = b, a
	}
	g.mergeFragments(a, b)
	ra, rb := s.ev(a), s.ev(b)
	// Keys move to a; a weak key a already has is dropped.
	for i := rb.keys; i != 0; {
		k := s.key(i)
		next := k.next
		if p := s.probe(k.kind, s.arena.str(k.str)); k.weak && s.hasWeak(a, &p) {
			s.dropKey(i)
		} else {
			k.ev = a
			s.appendKey(a, i)
		}
		i = next
	}
	ra.hops = appendList(ra.hops, rb.hops, func(i int32) *int32 { return &s.hop(i).next })
	ra.refs = appendList(ra.refs, rb.refs, func(i int32) *int32 { return &s.ref(i).next })
	if l := s.evLinks[b]; l != 0 {
		s.evLinks[a] = appendList(s.evLinks[a], l, func(i int32) *int32 { return &s.links.at(i).next })
		delete(s.evLinks, b)
	}
	ra.rev++
	if ra.meta == 0 {
		ra.meta = rb.meta
	}
	if rb.first != 0 && (ra.first == 0 || rb.first < ra.first) {
		ra.first = rb.first
	}
	if rb.last > ra.last {
		ra.last = rb.last
	}
	ra.addFlags(rb.flags())
	s.lruRemove(b)
	rb.keys, rb.hops, rb.refs = 0, 0, 0
	s.events.release(b)
	s.lruMoveFront(a)
	return a
}

// appendList joins list b after list a (singly linked through next).
func appendList(a, b int32, next func(int32) *int32) int32 {
	if a == 0 {
		return b
	}
	last := a
	for *next(last) != 0 {
		last = *next(last)
	}
	*next(last) = b
	return a
}

// pushList appends one record to a list.
func pushList(head *int32, i int32, next func(int32) *int32) {
	*head = appendList(*head, i, next)
}

const maxWeakFanout = 1000

func (g *Graph) attachWeak(e int32, kind tracing.KeyKind, v string) {
	if v == "" {
		return
	}
	p := g.s.probe(kind, v)
	if g.s.hasWeak(e, &p) {
		return
	}
	head := g.s.chainHead(p.h)
	if g.s.weakFanout(&p, head, maxWeakFanout) >= maxWeakFanout {
		return // a key shared this widely identifies nothing; stop indexing it
	}
	g.s.addKey(e, &p, true, head)
	if kind == tracing.KeyCorrelation {
		// Users type the value alone ("o-7" for order_id=o-7): index it too.
		if _, val, ok := strings.Cut(v, "="); ok && val != "" && !strings.HasPrefix(v, "=") {
			g.attachWeak(e, tracing.KeyCorrelation, "="+val)
		}
	}
}

// attach records that an invocation or span consumed or published the key
// record via (of its event). sp is the span that says so, if one does.
//
// Direction: an invocation that published a key did not consume it, so a
// publish (a producer span, a SendMessage/Publish/PutEvents subsegment, a
// published_* field) replaces a consumption the same invocation was credited
// with for the same key (a producer logging the message_id it sent), and a
// later such claim is ignored. A span without a request ID belongs to the
// invocation of its nearest ancestor that has one; one that still has none
// does not add a second hop for a key another hop already published or
// consumed in its trace.
func (g *Graph) attach(via int32, kind tracing.RelKind, request string, span tracing.Key, sp *tracing.Span, comp tracing.Component, at time.Time, evidence string, conf float64) {
	switch {
	case request != "" || span.IsZero():
	case sp != nil:
		// The observation's own span (collectors relate from it): its
		// request ID, if any, is already known; walk its parents.
		if sp.ParentID.IsValid() {
			request = g.invocationOfSpanID(sp.TraceID, sp.ParentID)
		}
	default:
		request = g.invocationOfSpan(span)
	}
	g.learnDestination(via, kind, sp, comp, at) // first: the queue hop it adds teaches the consumer map below
	e := g.s.key(via).ev
	vk := g.s.key(via).kind
	s := &g.s
	pub := kind == tracing.RelPublished
	spanTrace, _, _ := strings.Cut(span.Value, "/")
	if request != "" {
		var trace string
		if inv := g.findInv(request); inv != nil && inv.trace.IsValid() {
			trace = inv.trace.String()
		}
		if !pub && g.findRef(e, func(f *refRec) bool { return f.pub() && f.via == via && s.arena.equal(f.req(), request) }) != 0 {
			return // it published this key: a log line naming it is not a consumption
		}
		g.dropRefs(e, func(f *refRec) bool {
			if f.via != via {
				return false
			}
			if pub && !f.pub() && s.arena.equal(f.req(), request) {
				return true
			}
			return f.pub() == pub && f.req().n == 0 && (pub || trace != "" && s.refTrace(f) == trace)
		})
	} else if g.findRef(e, func(f *refRec) bool {
		if f.pub() != pub || f.via != via || f.req().n == 0 {
			return false
		}
		if pub {
			return true // one message is published once
		}
		var buf viewBuf
		inv := g.invs[string(s.arena.view(f.req(), &buf))]
		return inv != nil && inv.trace.IsValid() && inv.trace.String() == spanTrace
	}) != 0 {
		return
	}
	refAt := at
	if request != "" {
		inv := g.invocation(request, at)
		if inv.function == "" && comp.Kind == tracing.ComponentFunction {
			inv.function = g.canonical(comp.Name)
		}
		if comp.Kind == tracing.ComponentFunction {
			inv.learnPlace(comp)
		}
		if inv.function != "" {
			comp = tracing.Component{Kind: tracing.ComponentFunction, Name: inv.function, Account: inv.account, Region: inv.region}
		}
		if !inv.start.IsZero() {
			refAt = inv.start
		}
		g.attachWeak(e, tracing.KeyRequestID, request)
		if inv.trace.IsValid() {
			g.attachWeak(e, tracing.KeyTraceID, inv.trace.String())
		}
		if a := g.api.of(request); a != nil { // the API request that ran it (api.go)
			g.attachWeak(e, tracing.KeyAPIRequest, a.r.RequestID)
			g.apiEdge(a, inv)
		}
		if len(inv.keys) < 16 && !g.invHasKey(inv, via) {
			inv.keys = append(inv.keys, g.s.keyOf(via))
		}
		g.account(inv)
		if inv.inv != nil {
			// After the ref below is stored: a join may free e's slot.
			defer g.joinNamed(inv)
		}
	}
	if spanTrace != "" {
		g.attachWeak(e, tracing.KeyTraceID, spanTrace)
	}
	if pub {
		g.clearFragment(e)
	}
	for i := s.ev(e).refs; i != 0; i = s.ref(i).next {
		have := s.ref(i)
		if have.pub() != pub {
			continue
		}
		same := (request != "" && s.arena.equal(have.req(), request)) ||
			(request == "" && have.req().n == 0 && s.spanIs(have, span.Value) && have.via == via)
		if !same {
			continue
		}
		// One hop per invocation: keep the most specific key it handled (an
		// SQS message over the event it carries), and the best evidence.
		if specificity(vk) > specificity(s.key(have.via).kind) {
			have.via = via
			s.setHow(have, evidence, conf)
		} else if have.via == via && confOf(conf) > s.howOf(have).conf {
			s.setHow(have, evidence, conf)
		}
		if !have.hasSpan() && span.Value != "" {
			have.b = s.arena.put(span.Value)
		}
		s.bump(e)
		return
	}
	g.kinesisAttach(e, via, pub, comp, refAt)
	ri := s.refs.alloc()
	ref := s.ref(ri)
	ref.at, ref.via, ref.comp = mk64(nanos(refAt)), via, uint16(s.compIDs.id(comp))
	if pub {
		ref.how = pubBit
	}
	s.setHow(ref, evidence, conf)
	switch {
	case request != "":
		ref.a, ref.b = s.arena.put(request), s.arena.put(span.Value)
	case span.Value != "":
		s.setSpan(e, ref, span.Value) // slim when e holds the span's trace ID (attached above)
	}
	pushList(&s.ev(e).refs, ri, func(i int32) *int32 { return &s.ref(i).next })
	g.touch(e, at)
	// The component map learns who consumes which queue.
	if !pub && comp.Kind == tracing.ComponentFunction {
		for i := s.ev(e).hops; i != 0; i = s.hop(i).next {
			h := s.hop(i)
			if hc := s.compIDs.get(h.comp); h.key == via && hc.Kind == tracing.ComponentQueue && h.kind == HopBroker {
				if g.cons[hc] != comp.Name {
					g.cons[hc] = comp.Name
					g.consGen++ // other events' missing and inferred hops change
				}
				g.edge(hc, comp, at, 0, false)
			}
		}
	}
}

// invHasKey reports whether an invocation's keys hold key record ki's key,
// read in place: an invocation is attached to the key it handled once per
// source and relation that says so, and only the first keeps a copy.
func (g *Graph) invHasKey(inv *invocation, ki int32) bool {
	r := g.s.key(ki)
	for _, k := range inv.keys {
		if k.Kind == r.kind && g.s.arena.equal(r.str, k.Value) {
			return true
		}
	}
	return false
}

// joinNamed joins the one key an invocation's tracer named to the one its
// log named, when each source named exactly one, for what it published and
// for what it consumed: one invocation, one message, seen by two sources.
// Its hops say which: a hop a span named carries the span; one only its log
// named does not.
//
//   - Published: a producer's span names the delivery it sent (the SNS or
//     SQS MessageId the service answered); its log names the event inside
//     (published_event_id, an EventBridge or CloudEvents id). The two are
//     layers of one message, as an SQS message and the event in its body are.
//   - Consumed: a rule target's span names the EventBridge id it received;
//     its log names the event_id it handled, which for a CloudEvent inside
//     the detail is the CloudEvents id.
//
// Its log is complete once its REPORT is read, so nothing joins before. An
// invocation that handled more (two parcels of one order, a batch) joins
// nothing.
func (g *Graph) joinNamed(inv *invocation) {
	if inv.inv == nil || len(inv.keys) < 2 {
		return
	}
	type named struct {
		ki int32
		n  int
	}
	var pubSpan, pubLog, conSpan, conLog named
	var evs [16]int32
	ne := 0
	for _, k := range inv.keys {
		ki := g.s.findStrong(k.Kind, k.Value)
		if ki == 0 {
			continue
		}
		e := g.s.key(ki).ev
		if slices.Contains(evs[:ne], e) {
			continue
		}
		if ne < len(evs) {
			evs[ne] = e
			ne++
		}
		for i := g.s.ev(e).refs; i != 0; i = g.s.ref(i).next {
			f := g.s.ref(i)
			if !g.s.arena.equal(f.req(), inv.request) {
				continue
			}
			var to *named
			switch {
			case f.pub() && f.hasSpan():
				to = &pubSpan
			case f.pub():
				to = &pubLog
			case f.hasSpan():
				to = &conSpan
			default:
				to = &conLog
			}
			to.ki = f.via
			to.n++
		}
	}
	// A ref holds a span and a log line of one message together once both
	// are in, so in a batch whose first message has both and whose second
	// only its log line so far, the counts read one span and one log line:
	// two messages named by kind tell a batch apart.
	if handledSeveral(inv.keys, pubSpan.n+pubLog.n > 0 && conSpan.n+conLog.n == 0) {
		return
	}
	if pubSpan.n == 1 && pubLog.n == 1 {
		d, l := g.s.keyOf(pubSpan.ki), g.s.keyOf(pubLog.ki)
		if (d.Kind == tracing.KeySNSMessageID || d.Kind == tracing.KeyMessageID) && (l.Kind == tracing.KeyEventID || l.Kind == tracing.KeyCloudEventID) {
			g.joinOne(inv, d, l, true)
		}
	}
	if conSpan.n == 1 && conLog.n == 1 {
		g.joinOne(inv, g.s.keyOf(conSpan.ki), g.s.keyOf(conLog.ki), false)
	}
}

// handledSeveral reports whether an invocation's keys name two different
// messages of one kind (SQS or SNS messages, Kinesis records), or, for a
// producer, two different events: it consumed a batch or published more
// than one. (A consumer's two event IDs may be one event: the EventBridge id
// its span names and the id of the CloudEvent in the detail its log names.)
func handledSeveral(keys []tracing.Key, producer bool) bool {
	var seen [tracing.KeyLogEventID + 8]string
	for _, k := range keys {
		switch k.Kind {
		case tracing.KeyMessageID, tracing.KeySNSMessageID, tracing.KeyKinesisRecord:
		case tracing.KeyEventID, tracing.KeyCloudEventID:
			if !producer {
				continue
			}
		default:
			continue
		}
		if int(k.Kind) >= len(seen) {
			continue
		}
		if seen[k.Kind] != "" && seen[k.Kind] != k.Value {
			return true
		}
		seen[k.Kind] = k.Value
	}
	return false
}

// joinOne joins the events of keys a (named by a span) and b (named by a
// log), and keeps one hop for the invocation: the one the span's key names
// (its topic or queue is known from it).
func (g *Graph) joinOne(inv *invocation, a, b tracing.Key, pub bool) {
	if a == b || (a.Kind == tracing.KeyKinesisRecord && b.Kind == tracing.KeyKinesisRecord) {
		return // two records are never layers of one another (a batch: see handledSeveral)
	}
	ai, bi := g.s.findStrong(a.Kind, a.Value), g.s.findStrong(b.Kind, b.Value)
	if ai == 0 || bi == 0 {
		return
	}
	ae, be := g.s.key(ai).ev, g.s.key(bi).ev
	if ae == be {
		return
	}
	e := g.union(ae, be)
	if e != g.s.key(bi).ev {
		return // a copy and its original: kept apart
	}
	g.clearFragment(e)
	if g.findRef(e, func(f *refRec) bool { return f.pub() == pub && f.via == ai && g.s.arena.equal(f.req(), inv.request) }) != 0 {
		g.dropRefs(e, func(f *refRec) bool { return f.pub() == pub && f.via == bi && g.s.arena.equal(f.req(), inv.request) })
	}
}

// findRef returns the first ref of event e that ok accepts, or 0.
func (g *Graph) findRef(e int32, ok func(*refRec) bool) int32 {
	for i := g.s.ev(e).refs; i != 0; i = g.s.ref(i).next {
		if ok(g.s.ref(i)) {
			return i
		}
	}
	return 0
}

// dropRefs removes and frees the refs of event e that drop accepts.
func (g *Graph) dropRefs(e int32, drop func(*refRec) bool) {
	s := &g.s
	prev := int32(0)
	for i := s.ev(e).refs; i != 0; {
		f := s.ref(i)
		next := f.next
		if !drop(f) {
			prev = i
			i = next
			continue
		}
		if prev == 0 {
			s.ev(e).refs = next
		} else {
			s.ref(prev).next = next
		}
		s.dropStrs(f)
		s.refs.release(i)
		s.bump(e)
		i = next
	}
}

// learnDestination adds the broker hop a messaging span names
// (messaging.destination.name). A producer span names the EventBridge bus:
// the envelope a consumer receives never does, so the hop would just be
// "eventbridge"; or the SNS topic it published to straight, which no rule
// placed there. A consumer span names its SQS queue: flowtop reads no live
// queue, so otherwise a consumed message's queue shows only when some other
// event's copy was seen there (the message waited there until the consumer
// started, the span's start).
func (g *Graph) learnDestination(via int32, kind tracing.RelKind, sp *tracing.Span, by tracing.Component, at time.Time) {
	if sp == nil || sp.Messaging.Destination == "" {
		return
	}
	sys, name := strings.ToLower(sp.Messaging.System), arnName(sp.Messaging.Destination)
	hop := layer{ki: via, kind: HopBroker, at: at}
	switch key := g.s.key(via).kind; {
	case kind == tracing.RelPublished && key == tracing.KeyEventID && strings.Contains(sys, "eventbridge"):
		hop.comp, hop.evidence = tracing.Component{Kind: tracing.ComponentBus, Name: name}, evidenceDestination
	case kind == tracing.RelPublished && key == tracing.KeySNSMessageID && strings.Contains(sys, "sns"):
		hop.comp, hop.evidence = tracing.Component{Kind: tracing.ComponentTopic, Name: name}, evidenceDestination
	case kind == tracing.RelConsumed && key == tracing.KeyMessageID && strings.Contains(sys, "sqs"):
		hop.comp, hop.evidence = tracing.Component{Kind: tracing.ComponentQueue, Name: name}, evidenceConsumerDestination
	default:
		return
	}
	hop.comp = placed(by, hop.comp, sp.Messaging.Destination)
	if !sp.Start.IsZero() {
		hop.at = sp.Start
	}
	g.addMsg(g.s.key(via).ev, &hop)
}

const (
	evidenceDestination         = "messaging.destination.name on the producer span"
	evidenceConsumerDestination = "messaging.destination.name on the consumer span"
)

// canonical returns one shared copy of a short, repeated string (a function
// name, a log level, an error type), so each invocation does not keep its own
// copy or, worse, the whole line it was cut from.
func (g *Graph) canonical(v string) string {
	if v == "" || len(v) > 128 {
		return v
	}
	if c, ok := g.names[v]; ok {
		return c
	}
	c := strings.Clone(v)
	if len(g.names) < 1<<16 {
		g.names[c] = c
	}
	return c
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

// findInv is the invocation with the request ID, or nil. The last one found
// is kept: an invocation's log lines, spans and relations come one after the
// other, so most of the several lookups an observation makes are one string
// compare instead of a map lookup.
func (g *Graph) findInv(request string) *invocation {
	if inv := g.lastInv; inv != nil && inv.request == request {
		return inv
	}
	inv := g.invs[request]
	if inv != nil {
		g.lastInv = inv
	}
	return inv
}

func (g *Graph) invocation(request string, at time.Time) *invocation {
	if inv := g.findInv(request); inv != nil {
		return inv
	}
	inv := &invocation{request: strings.Clone(request), start: at}
	if g.invTail != nil {
		g.invTail.next = inv
	} else {
		g.invHead = inv
	}
	g.invTail = inv
	g.invs[inv.request] = inv
	for len(g.invs) > 2*g.cfg.MaxEvents && g.invHead != nil {
		old := g.invHead
		g.invHead = old.next
		if g.invHead == nil {
			g.invTail = nil
		}
		delete(g.invs, old.request)
		if g.lastInv == old {
			g.lastInv = nil
		}
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
	before, beforeStart := inv.state(), inv.start
	if o.Component.Kind == tracing.ComponentFunction && inv.function == "" {
		inv.function = g.canonical(o.Component.Name)
	}
	if o.Component.Kind == tracing.ComponentFunction {
		inv.learnPlace(o.Component)
	}
	if l != nil {
		g.setTrace(inv, l.TraceID)
		if l.Kind == tracing.LogStart || at.Before(inv.start) {
			inv.start = at
		}
		if l.Kind == tracing.LogTimeout {
			inv.failed, inv.timeout, inv.errorType = true, true, "Task timed out"
		}
		// An ERROR-level app line, or a runtimeDone that did not succeed, says
		// the invocation failed, whatever the REPORT line says (the text
		// format's REPORT names no status for a function error).
		if l.Level == "ERROR" && (l.Kind == tracing.LogApp || l.Kind == tracing.LogEnd) {
			inv.failed = true
			if inv.errorType == "" && l.Kind == tracing.LogApp {
				inv.errorType = firstLineOf(l.Message, 120)
			}
		}
		dup := false
		var eid uint64
		if l.EventID != "" {
			eid = maphash.String(g.s.seed, l.EventID) | 1
			for _, have := range inv.logs {
				if have.eventID == eid {
					dup = true
					break
				}
			}
		}
		line := logLine{at: nanos(at), eventID: eid, level: g.canonical(l.Level), message: l.Message, kind: l.Kind}
		switch {
		case dup:
			// the same CloudWatch event read twice (overlapping windows, searches)
		case len(inv.logs) < g.cfg.MaxLogsPerInvocation:
			if inv.logs == nil {
				inv.logs = make([]logLine, 0, 4) // START, a line or two, END, REPORT
			}
			inv.logs = append(inv.logs, line)
		default:
			inv.logs[len(inv.logs)-1] = line
			inv.logsCut++
		}
		g.logs.add(o, inv, &line, dup)
	}
	if r := o.Invocation; r != nil && inv.inv == nil {
		cp := *r
		cp.Function, cp.RequestID, cp.ErrorType = g.canonical(cp.Function), inv.request, g.canonical(cp.ErrorType)
		inv.inv = &cp
		if cp.Status != tracing.InvocationSuccess && cp.Status != tracing.InvocationUnknown {
			inv.failed = true
			if cp.ErrorType != "" {
				inv.errorType = cp.ErrorType
			} else if inv.errorType == "" {
				inv.errorType = cp.Status.String()
			}
		}
		if cp.Status == tracing.InvocationTimeout {
			inv.timeout = true
		}
		if cp.ColdStart() {
			inv.cold = true
		}
		g.setTrace(inv, cp.TraceID)
		fn := cp.Function
		if fn == "" {
			fn = inv.function
		}
		if inv.function == "" {
			inv.function = fn
		}
		st := g.fn(fnSite{account: inv.account, region: inv.region, name: fn})
		cfg := g.fnConfig(st)
		mem := cfg.MemoryMB
		if mem == 0 {
			mem = cp.MemorySizeMB
		}
		gbs, usd := g.cfg.Prices.InvocationCost(&cp, mem, arch(cfg), at)
		inv.costUSD = usd
		st.report(&cp, gbs, usd, at)
	}
	g.account(inv)
	if inv.state() != before || !inv.start.Equal(beforeStart) {
		g.invChanged(inv)
	}
	if o.Invocation != nil {
		g.joinNamed(inv) // its log is complete: what it logged handling is known
	}
}

// state packs what of an invocation its events' status and figures read,
// to tell whether an observation changed it.
func (inv *invocation) state() uint8 {
	var s uint8
	for i, b := range []bool{inv.failed, inv.timeout, inv.inv != nil, inv.spanDur > 0, inv.cold} {
		if b {
			s |= 1 << i
		}
	}
	return s
}

// account counts an invocation in its function's figures once it is known
// to have run (a REPORT, or a span of it), and its error, timeout and cold
// start once each, whichever sources say so and in whatever order.
func (g *Graph) account(inv *invocation) {
	if inv.function == "" || (inv.inv == nil && !inv.spanSeen) {
		return
	}
	g.recount(inv) // stats.go: its place may have been learnt since it was counted
	st := g.fn(fnSite{account: inv.account, region: inv.region, name: inv.function})
	// With several regions watched, the map shows a function per region:
	// its node's figures are those of its invocations there.
	var here *compStats
	if inv.region != "" || inv.account != "" {
		here = g.comp(tracing.Component{Kind: tracing.ComponentFunction, Name: inv.function, Account: inv.account, Region: inv.region})
	}
	if inv.counted&acctInvocation == 0 {
		inv.counted |= acctInvocation | unplaced(inv)
		st.count(inv.start)
		if here != nil {
			d := inv.spanDur
			if inv.inv != nil {
				d = inv.inv.Duration
			}
			here.observe(inv.start, d, false, g.cfg.RateBucket)
		}
	}
	if inv.failed && inv.counted&acctError == 0 {
		inv.counted |= acctError
		st.errors++
		if here != nil {
			here.errors++
		}
	}
	if inv.timeout && inv.counted&acctTimeout == 0 {
		inv.counted |= acctTimeout
		st.timeouts++
	}
	if inv.cold && inv.counted&acctCold == 0 {
		inv.counted |= acctCold
		st.cold++
	}
}

// invChanged marks the events an invocation is a hop of as changed, so
// cached summaries of them are rebuilt.
func (g *Graph) invChanged(inv *invocation) {
	for _, k := range inv.keys {
		if ki := g.s.findStrong(k.Kind, k.Value); ki != 0 {
			g.s.bump(g.s.key(ki).ev)
		}
	}
}

func (g *Graph) ingestSpan(o *tracing.Observation, at time.Time) {
	s := o.Span
	if s == nil || !s.TraceID.IsValid() {
		return
	}
	replaced := g.addSpan(s)
	request := invocationOf(s)
	if request == "" && s.ParentID.IsValid() && s.Attrs["aws.function_arn"] != "" {
		// X-Ray's AWS::Lambda::Function segment names no request ID; its
		// parent, the AWS::Lambda service segment, does. (Its subsegments
		// are not the invocation: a fault there may have been handled.)
		request = g.invocationOfSpan(tracing.SpanKey(s.TraceID, s.ParentID))
	}
	if request != "" {
		inv := g.invocation(request, at)
		before := inv.state()
		if inv.function == "" && o.Component.Kind == tracing.ComponentFunction {
			inv.function = g.canonical(o.Component.Name)
		}
		if o.Component.Kind == tracing.ComponentFunction {
			inv.learnPlace(o.Component)
		}
		g.setTrace(inv, s.TraceID)
		inv.spanSeen = true
		if s.ColdStart {
			inv.cold = true
		}
		if d := s.Duration(); d > inv.spanDur {
			inv.spanDur = d
		}
		failed, msg := s.Status == tracing.StatusError, s.StatusMessage
		if !failed && !inv.failed && s.Attrs["aws.function_arn"] == "" {
			// The function segment may have come first, faulted, before the
			// service segment that names the request.
			msg, failed = g.functionFault(s.TraceID, s.SpanID)
		}
		if failed {
			// X-Ray fault or error, OTLP status ERROR: the invocation failed.
			inv.failed = true
			if inv.errorType == "" {
				inv.errorType = firstLineOf(msg, 120)
				if inv.errorType == "" {
					inv.errorType = "span status error"
				}
			}
		}
		g.account(inv)
		if inv.state() != before {
			g.invChanged(inv)
		}
		if o.Component.Kind == tracing.ComponentFunction {
			return // the invocation is counted once, as an invocation
		}
	}
	if o.Component.Kind != tracing.ComponentUnknown && !replaced {
		g.comp(o.Component).observe(at, s.Duration(), s.Status == tracing.StatusError, g.cfg.RateBucket)
	}
}

// layer is one broker layer of a message observation, before it is stored.
type layer struct {
	key      tracing.Key
	ki       int32 // its key record, once stored
	inner    int32 // the key record of the layer it carries
	kind     HopKind
	comp     tracing.Component
	at       time.Time
	recv     int
	extra    *hopExtra
	evidence string
}

func (g *Graph) ingestMessage(o *tracing.Observation, at time.Time) {
	m := o.Message
	if m == nil {
		return
	}
	// A replayed or redriven copy is linked to its original first, so the
	// body IDs it shares with the original do not merge the two.
	for _, r := range o.Relations {
		if r.Kind == tracing.RelRedriveOf || r.Kind == tracing.RelReplayOf {
			if fp := replayFingerprintOf(m, r); fp != "" && g.replayOf(r, fp, at) {
				continue // linked by what the replay kept (replayof.go)
			}
			g.relate(o, r, at)
		}
	}
	// The message's own key first, then each envelope layer's, outermost first.
	var buf [4]layer
	layers := buf[:0]
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
		comp = placed(o.Component, comp)
		if m.DeadLetter {
			hk = HopDeadLetter
		}
		l := layer{key: tracing.Key{Kind: kind, Value: m.ID}, kind: hk, comp: comp, at: at, recv: m.ReceiveCount, evidence: evidenceSeen}
		if m.DeadLetter {
			l.extra = &hopExtra{source: m.SourceQueue, body: m.Body, attrs: m.UserAttrs}
		}
		layers = append(layers, l)
	}
	for _, env := range m.Layers {
		if len(env.Keys) == 0 || !env.Keys[0].Kind.Strong() {
			continue
		}
		h := layer{key: env.Keys[0], kind: HopBroker, at: at, evidence: envelopeEvidence[env.Kind]}
		if !env.Time.IsZero() {
			h.at = env.Time
		}
		switch env.Kind {
		case tracing.EnvelopeSQS:
			h.comp = placed(o.Component, tracing.Component{Kind: tracing.ComponentQueue, Name: arnName(env.Source)}, env.Source)
		case tracing.EnvelopeSNS:
			h.comp = placed(o.Component, tracing.Component{Kind: tracing.ComponentTopic, Name: arnName(env.Source)}, env.Source)
		case tracing.EnvelopeEventBridge:
			h.comp = placed(o.Component, tracing.Component{Kind: tracing.ComponentBus, Name: "eventbridge"})
		case tracing.EnvelopeCloudEvent:
			// A CloudEvent is the payload's own identity, not a hop: index its key only.
			ce := g.eventFor(h.key, at)
			if len(layers) > 0 {
				target := g.eventFor(layers[0].key, at)
				if o := g.originalOf(target); o != 0 {
					target = o
				}
				g.union(target, ce)
			}
			continue
		case tracing.EnvelopeS3:
			h.comp = placed(o.Component, tracing.Component{Kind: tracing.ComponentBucket, Name: arnName(env.Source)}, env.Source)
		}
		if len(layers) > 0 && layers[len(layers)-1].key == h.key {
			continue // the message's own ID again
		}
		layers = append(layers, h)
	}
	if len(layers) == 0 {
		return
	}
	if m.DeadLetter && m.SourceQueue != "" {
		// The copy names its source queue: the message was there first.
		// SQS keeps a DLQ in its source queue's account and region.
		src := layers[0]
		src.kind, src.comp = HopBroker, sourceQueue(layers[0].comp, m.SourceQueue)
		if !m.SentAt.IsZero() {
			src.at = m.SentAt
		}
		src.extra = &hopExtra{source: m.SourceQueue, evidence: "DeadLetterQueueSourceArn names " + m.SourceQueue}
		layers = append(layers, src)
	}
	var e int32
	var orig int32
	for i := range layers {
		layers[i].ki = g.keyFor(layers[i].key, at)
		le := g.s.key(layers[i].ki).ev
		switch {
		case e == 0:
			e = le
			orig = g.originalOf(e)
		case orig != 0 && layers[i].key != layers[0].key:
			// A copy's body names its original: those IDs are the original's.
			orig = g.union(orig, le)
		default:
			e = g.union(e, le)
		}
	}
	own := len(layers) // the layers the message itself has, before the implied source-queue copy
	if m.DeadLetter && m.SourceQueue != "" {
		own--
	}
	g.clearFragment(e)
	for i := range layers {
		if g.s.key(layers[i].ki).ev != e {
			continue // a layer of the original this message is a copy of
		}
		if i >= own && g.queueHopOf(e, layers[i].comp, layers[i].ki) {
			continue // a copy with a new MessageId: the source queue is already a hop
		}
		switch {
		case i+1 < own && g.s.key(layers[i+1].ki).ev == e:
			layers[i].inner = layers[i+1].ki
		case i >= own:
			layers[i].inner = layers[0].inner // the source-queue copy carries what the DLQ copy carries
		}
		g.addMsg(e, &layers[i])
	}
	// Type and source: the EventBridge detail-type users route on, else the
	// innermost typed layer.
	if g.s.ev(e).meta == 0 {
		for _, env := range m.Layers {
			if env.Kind == tracing.EnvelopeEventBridge && env.Type != "" {
				g.s.ev(e).meta = uint16(g.s.metas.id(meta{env.Type, env.Source}))
				break
			}
		}
	}
	for i := len(m.Layers) - 1; i >= 0 && g.s.ev(e).meta == 0; i-- {
		if env := m.Layers[i]; env.Type != "" {
			g.s.ev(e).meta = uint16(g.s.metas.id(meta{env.Type, env.Source}))
		}
	}
	for _, k := range o.Keys {
		if !k.Kind.Strong() && k.Kind != tracing.KeyRequestID && k.Kind != tracing.KeySpanID && k.Kind != tracing.KeyLogEventID {
			g.attachWeak(e, k.Kind, k.Value)
		}
	}
	for _, env := range m.Layers {
		if env.TraceHeader == "" {
			continue
		}
		if h, err := tracing.ParseXRayHeader(env.TraceHeader); err == nil {
			g.attachWeak(e, tracing.KeyTraceID, h.Root.String())
		} else if tp, err := tracing.ParseTraceparent(env.TraceHeader); err == nil {
			g.attachWeak(e, tracing.KeyTraceID, tp.TraceID.String())
		}
	}
	if th := m.Attributes["AWSTraceHeader"]; th != "" {
		if h, err := tracing.ParseXRayHeader(th); err == nil {
			g.attachWeak(e, tracing.KeyTraceID, h.Root.String())
		}
	}
	for _, r := range o.Relations {
		if r.Kind != tracing.RelRedriveOf && r.Kind != tracing.RelReplayOf {
			g.relate(o, r, at)
		}
	}
	g.indexOriginals(m, o.Relations, at) // replayof.go
	g.touch(g.s.key(layers[0].ki).ev, at)
}

// queueHopOf reports whether event e has a broker hop at queue q under a
// key other than ki.
func (g *Graph) queueHopOf(e int32, q tracing.Component, ki int32) bool {
	s := &g.s
	for i := s.ev(e).hops; i != 0; i = s.hop(i).next {
		h := s.hop(i)
		if h.kind == HopBroker && h.key != ki && s.compIDs.get(h.comp) == q {
			return true
		}
	}
	return false
}

// addMsg adds or updates a broker hop of event e.
func (g *Graph) addMsg(e int32, h *layer) {
	s := &g.s
	ki, inner := h.ki, h.inner
	comp := s.compIDs.id(h.comp)
	for i := s.ev(e).hops; i != 0; i = s.hop(i).next {
		have := s.hop(i)
		if have.key == ki && have.kind == h.kind && have.comp == comp {
			if int32(h.recv) > have.recv {
				have.recv = int32(h.recv)
			}
			if have.inner == 0 {
				have.inner = inner
			}
			if h.extra != nil && h.extra.body != "" {
				s.hopExtra[i], have.extra = h.extra, true
			}
			return
		}
		if have.key != ki || have.kind != h.kind {
			continue
		}
		// A bus learns its real name from a better observation, and keeps it.
		if hc := s.compIDs.get(have.comp); hc.Kind == h.comp.Kind && hc.Kind == tracing.ComponentBus {
			if hc.Name == "eventbridge" && h.comp.Name != "" {
				have.comp = comp
				if h.evidence == evidenceDestination {
					have.evid = s.evids.id(evidenceDestination)
				}
			}
			return
		}
		if h.comp.Name == "" {
			return
		}
	}
	hi := s.hops.alloc()
	r := s.hop(hi)
	r.at, r.key, r.inner, r.comp, r.recv, r.kind, r.evid = nanos(h.at), ki, inner, comp, int32(h.recv), h.kind, s.evids.id(h.evidence)
	if h.extra != nil {
		s.hopExtra[hi], r.extra = h.extra, true
	}
	pushList(&s.ev(e).hops, hi, func(i int32) *int32 { return &s.hop(i).next })
	if h.kind == HopBroker && h.comp.Kind != tracing.ComponentUnknown && h.comp.Name != "" {
		g.comp(h.comp).observe(h.at, 0, false, g.cfg.RateBucket)
	}
	if h.kind == HopDeadLetter {
		g.comp(h.comp).observe(h.at, 0, true, g.cfg.RateBucket)
		if h.extra != nil && h.extra.source != "" {
			g.edge(sourceQueue(h.comp, h.extra.source), h.comp, h.at, 0, true)
		}
	}
}

// sameObservationEvidence is the evidence for a consumer named with the
// message on one observation, per observation kind.
var sameObservationEvidence = func() []string {
	var out []string
	for k := tracing.ObsUnknown; k <= tracing.ObsQueue; k++ {
		out = append(out, "request id and message id on one "+k.String())
	}
	return out
}()

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

// placed returns broker c placed where it lives, when the component that
// observed it is placed (flowtop watches several accounts or regions): in
// the region and account an ARN or queue URL among refs names, else in the
// observer's own. With one context watched nothing is placed.
func placed(by, c tracing.Component, refs ...string) tracing.Component {
	if by.Account == "" && by.Region == "" {
		return c
	}
	c.Account, c.Region = by.Account, by.Region
	for _, r := range refs {
		account, region := RefPlace(r)
		if account == "" && region == "" {
			continue
		}
		if region != "" {
			c.Region = region
		}
		// A context whose account ID STS did not give goes by its profile
		// name: in its own region, keep it, so both ends stay alike.
		if account != "" && (IsAccountID(by.Account) || c.Region != by.Region) {
			c.Account = account
		}
		break
	}
	return c
}

// sourceQueue is the source queue of dead-letter queue dlq: SQS keeps both
// in one account and region.
func sourceQueue(dlq tracing.Component, name string) tracing.Component {
	return tracing.Component{Kind: tracing.ComponentQueue, Name: name, Account: dlq.Account, Region: dlq.Region}
}

// RefPlace is the account and region an ARN
// (arn:partition:service:region:account:resource) or an SQS queue URL
// (https://sqs.region.amazonaws.com/account/name) names; "" for what it
// does not name.
func RefPlace(s string) (account, region string) {
	if rest, ok := strings.CutPrefix(s, "arn:"); ok {
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) < 5 || !regionName(parts[2]) {
			return "", ""
		}
		if !IsAccountID(parts[3]) {
			return "", parts[2]
		}
		return parts[3], parts[2]
	}
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		return "", ""
	}
	host, path, _ := strings.Cut(rest, "/")
	switch {
	case strings.HasPrefix(host, "sqs.") && strings.Contains(host, ".amazonaws.com"):
		region, _, _ = strings.Cut(strings.TrimPrefix(host, "sqs."), ".amazonaws.com")
	case strings.Contains(host, ".queue.amazonaws.com"):
		region, _, _ = strings.Cut(host, ".queue.amazonaws.com")
	default:
		return "", ""
	}
	if !regionName(region) {
		return "", ""
	}
	if a, _, _ := strings.Cut(path, "/"); IsAccountID(a) {
		account = a
	}
	return account, region
}

// regionName reports whether s reads as an AWS region ("us-east-1"):
// lowercase letters, digits and dashes, at most 32 of them.
func regionName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// IsAccountID reports whether s is a 12-digit AWS account ID (a context
// whose account STS did not give goes by its profile name instead).
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

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
	for g.s.events.live > g.cfg.MaxEvents && g.s.tail != 0 {
		e := g.s.tail
		g.s.lruRemove(e)
		g.s.freeEvent(e)
		g.evicted++
	}
	g.s.compactArena(g.sp.moveInvs)
}

// ---- reading ----

// Totals returns the graph's own figures.
func (g *Graph) Totals() Totals {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return Totals{
		Events: g.s.events.live, Observations: g.obsCount, Evicted: g.evicted, Unparsed: g.unparsed,
		RatePerSec: g.rate.recent(g.cfg.Now()), Version: g.version.Load(),
		Waiting: g.pendingFragments(g.cfg.Now()), WaitSkipped: g.fragOverflow,
	}
}

// lookup resolves an ID (any key value, or a unique prefix of one) to events.
func (g *Graph) lookup(id string) []int32 {
	id = strings.TrimSpace(id)
	if id == "" {
		return nil
	}
	var out []int32
	add := func(e int32) {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	for kind := tracing.KeyKind(1); kind < 32; kind++ {
		if ki := g.s.findStrong(kind, id); ki != 0 {
			add(g.s.key(ki).ev)
		}
		g.s.eachWeak(kind, id, add)
	}
	if t, err := tracing.ParseTraceID(id); err == nil && t.String() != id {
		g.s.eachWeak(tracing.KeyTraceID, t.String(), add)
	}
	for _, alias := range []string{"ce:" + id, "=" + id} {
		g.s.eachWeak(tracing.KeyCorrelation, alias, add)
	}
	if len(out) > 0 {
		return out
	}
	// A prefix (at least 4 characters) of a strong key.
	if len(id) >= 4 {
		var buf viewBuf
		for i := int32(1); i < g.s.keys.n && len(out) <= 20; i++ {
			k := g.s.keys.at(i)
			if k.str.n != 0 && !k.weak && strings.HasPrefix(string(g.s.arena.view(k.str, &buf)), id) {
				add(k.ev)
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
	sort.Slice(evs, func(i, j int) bool { return g.s.ev(evs[i]).last > g.s.ev(evs[j]).last })
	if limit > 0 && len(evs) > limit {
		evs = evs[:limit]
	}
	out := make([]Match, 0, len(evs))
	for _, id := range evs {
		e := g.s.view(id)
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

// keyRank orders strong keys for the ID users see: the EventBridge id, else
// the CloudEvents id, SNS, S3 or SQS key.
func keyRank(k tracing.KeyKind) int {
	switch k {
	case tracing.KeyEventID:
		return 5
	case tracing.KeyCloudEventID:
		return 4
	case tracing.KeySNSMessageID:
		return 3
	case tracing.KeyS3Object:
		return 2
	case tracing.KeyMessageID, tracing.KeyKinesisRecord, tracing.KeyExecutionAttempt:
		return 1
	}
	return 0
}

// primaryID is the key users see for an event.
func primaryID(e *eventView) string {
	best := tracing.Key{}
	for _, k := range e.strong {
		if keyRank(k.Kind) > keyRank(best.Kind) {
			best = k
		}
	}
	return displayID(best)
}

func displayID(k tracing.Key) string { return k.DisplayID() }

// primaryIDOf is primaryID without building the event's view.
func (g *Graph) primaryIDOf(e int32) string {
	best := int32(0)
	for i := g.s.ev(e).keys; i != 0; i = g.s.key(i).next {
		if k := g.s.key(i); !k.weak && (best == 0 || keyRank(k.kind) > keyRank(g.s.key(best).kind)) {
			best = i
		}
	}
	return displayID(g.s.keyOf(best))
}
