package sandbox

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// Truth is what the world generated, recorded as it generated it: every event
// with each ID it carries and the path it really took, each function's
// invocation and error counts, and the topology the world configured. It is
// the ground truth that the fidelity scorer measures flowtop's graph against,
// so it is written by the world's own actions (what it published, received,
// failed, deleted and re-sent), never read back from a collector.
type Truth struct {
	Events    []TrueEvent
	Functions map[string]TrueFunction // by function name
	Edges     []TrueEdge              // the world's topology: configured routes and the edges only its code makes
	Orders    int                     // orders placed
	Pending   int                     // events whose every branch has not reached an outcome yet
	Dropped   int                     // events forgotten to keep the record bounded (oldest first)
}

// TrueEvent is one event as the world generated it. Its IDs are those the
// world exposed where a collector can read them: in a log line, a segment, a
// span or a message body that sits in a DLQ. An SNS MessageId inside a
// notification that was consumed and deleted, and that no one logged, is
// known to no source, so it is not expected of flowtop either.
type TrueEvent struct {
	Label string // what the world made it for: "order o-000012", "poison o-000012", "order o-000014 part 2"
	// Own are the IDs that name this event and no other one (its EventBridge
	// id, CloudEvents key, SNS and SQS MessageIds, the request IDs and traces
	// of invocations that handled it alone). Shared are IDs it carries that
	// other events carry too (a batch invocation's request ID, a producer
	// invocation that published two events, an order's correlation key).
	Own, Shared []tracing.Key
	Path        []tracing.Component // every component it passed, in the order it reached them
	Status      string              // "ok", "failed", "dead-lettered" or "in flight"
	Done        bool                // every branch reached an outcome
	// LiveOnly says that some of its IDs or path are seen only live: an
	// OTLP span (another cloud's producer) reaches flowtop's receiver as it
	// is sent, and no history search can ask for it later.
	LiveOnly bool
}

// Keys returns Own and Shared together.
func (e TrueEvent) Keys() []tracing.Key {
	return append(append([]tracing.Key{}, e.Own...), e.Shared...)
}

// TrueFunction counts one function's invocations as the world ran them.
type TrueFunction struct {
	Invocations int
	Errors      int // failed invocations (errors and timeouts)
	// Started counts the invocations by the Unix second they started in
	// (the last maxStartSeconds seconds), for rates over a window.
	Started map[int64]int
}

// Rate is the invocations per second that started in [from, to), whole
// seconds (from and to are truncated to the second).
func (f TrueFunction) Rate(from, to time.Time) float64 {
	a, b := from.Unix(), to.Unix()
	if b <= a {
		return 0
	}
	n := 0
	for s := a; s < b; s++ {
		n += f.Started[s]
	}
	return float64(n) / float64(b-a)
}

// maxStartSeconds bounds TrueFunction.Started.
const maxStartSeconds = 3600

// TrueEdge is one edge of the world's topology.
type TrueEdge struct {
	From, To tracing.Component
	// Configured is true for a route the AWS configuration holds (a rule
	// target, a subscription, an event source mapping, a redrive policy);
	// false for an edge only the world's code makes (a producer's PutEvents,
	// a consumer's own copy to a DLQ).
	Configured bool
	Via        string // "rule order-placed-billing", "subscription (raw)", "redrive policy", …
}

// maxTruthEvents bounds the record: a long demo forgets its oldest events.
const maxTruthEvents = 20_000

// truthLog is the world's recorder. Its own lock keeps it independent of the
// world's: recording never waits for anything else.
type truthLog struct {
	mu      sync.Mutex
	max     int
	events  map[int]*trueEvent
	order   []int // handles, oldest first
	next    int
	byKey   map[tracing.Key]int // strong IDs → the event that carries them
	fns     map[string]*TrueFunction
	edges   []TrueEdge
	orders  int
	dropped int
}

type trueEvent struct {
	label   string
	tags    []string // the world's own names for it (order and parcel), to find it before AWS named it
	keys    []tracing.Key
	path    []tracing.Component
	status  string
	pending int // branches without an outcome
	live    bool
}

func newTruthLog(max int) *truthLog {
	if max <= 0 {
		max = maxTruthEvents
	}
	return &truthLog{max: max, events: map[int]*trueEvent{}, byKey: map[tracing.Key]int{}, fns: map[string]*TrueFunction{}}
}

// event starts recording an event with branches outcomes still to come and returns its handle.
func (t *truthLog) event(label string, branches int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	h := t.next
	t.events[h] = &trueEvent{label: label, status: "in flight", pending: branches}
	t.order = append(t.order, h)
	for len(t.order) > t.max {
		old := t.order[0]
		t.order = t.order[1:]
		t.drop(old)
		t.dropped++
	}
	return h
}

// drop removes event h and its index entries (the caller holds the lock).
func (t *truthLog) drop(h int) {
	e := t.events[h]
	if e == nil {
		return
	}
	for _, k := range e.keys {
		if t.byKey[k] == h {
			delete(t.byKey, k)
		}
	}
	for _, tag := range e.tags {
		if t.byKey[tagKey(tag)] == h {
			delete(t.byKey, tagKey(tag))
		}
	}
	delete(t.events, h)
}

// forget removes an event that never happened (its PutEvents failed).
func (t *truthLog) forget(h int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.drop(h)
	t.order = slices.DeleteFunc(t.order, func(x int) bool { return x == h })
}

// tagKey is the index entry of a world-internal name; KeyUnknown keeps it
// apart from every real ID.
func tagKey(tag string) tracing.Key { return tracing.Key{Kind: tracing.KeyUnknown, Value: tag} }

// tag gives event h a name of the world's own, known before AWS assigned any
// ID: a target may run before the PutEvents call that fed it has returned.
func (t *truthLog) tag(h int, tag string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.events[h]; e != nil {
		e.tags = append(e.tags, tag)
		t.byKey[tagKey(tag)] = h
	}
}

// findTag returns the event the world named tag, or 0.
func (t *truthLog) findTag(tag string) int { return t.find(tagKey(tag)) }

// find returns the event carrying a strong key, or 0.
func (t *truthLog) find(k tracing.Key) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byKey[k]
}

// key records that event h carries k (once).
func (t *truthLog) key(h int, kind tracing.KeyKind, value string) {
	if h == 0 || value == "" {
		return
	}
	k := tracing.Key{Kind: kind, Value: value}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.events[h]
	if e == nil {
		return
	}
	if !slices.Contains(e.keys, k) {
		e.keys = append(e.keys, k)
	}
	if kind.Strong() {
		t.byKey[k] = h
	}
}

// trace records an X-Ray trace ID (1-xxxxxxxx-yyyy…) in its W3C form, as flowtop keys traces.
func (t *truthLog) trace(h int, xrayID string) {
	t.key(h, tracing.KeyTraceID, w3cTrace(xrayID))
}

func w3cTrace(xrayID string) string {
	s := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(xrayID, "1-"), "-", ""))
	if len(s) != 32 {
		return ""
	}
	return s
}

// step records that event h reached component c (once; the first time fixes its place in the path).
func (t *truthLog) step(h int, kind tracing.ComponentKind, name string) {
	c := tracing.Component{Kind: kind, Name: name}
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.events[h]; e != nil && !slices.Contains(e.path, c) {
		e.path = append(e.path, c)
	}
}

// branch adds one more outcome still to come to event h: a route the
// event took that its producer did not count (a workflow a rule started).
func (t *truthLog) branch(h int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.events[h]; e != nil {
		e.pending++
	}
}

// outcome resolves one branch of event h. The event's status is the worst of
// its branches' outcomes: dead-lettered, then failed, then ok.
func (t *truthLog) outcome(h int, status string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.events[h]
	if e == nil {
		return
	}
	if e.pending > 0 {
		e.pending--
	}
	if e.status == "in flight" || statusRank[status] > statusRank[e.status] {
		e.status = status
	}
}

var statusRank = map[string]int{"in flight": 0, "ok": 1, "failed": 2, "dead-lettered": 3}

// invocation counts one run of a function, started at start.
func (t *truthLog) invocation(fn string, failed bool, start time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.fns[fn]
	if f == nil {
		f = &TrueFunction{Started: map[int64]int{}}
		t.fns[fn] = f
	}
	f.Invocations++
	if failed {
		f.Errors++
	}
	sec := start.Unix()
	f.Started[sec]++
	if len(f.Started) > maxStartSeconds {
		for s := range f.Started {
			if s <= sec-maxStartSeconds {
				delete(f.Started, s)
			}
		}
	}
}

func (t *truthLog) edge(from, to tracing.Component, configured bool, via string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.edges = append(t.edges, TrueEdge{From: from, To: to, Configured: configured, Via: via})
}

// liveOnly marks event h as seen partly only live (see TrueEvent.LiveOnly).
func (t *truthLog) liveOnly(h int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.events[h]; e != nil {
		e.live = true
	}
}

func (t *truthLog) order1() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.orders++
}

// snapshot copies the record, splitting each event's IDs into own and shared.
func (t *truthLog) snapshot() Truth {
	t.mu.Lock()
	defer t.mu.Unlock()
	uses := map[tracing.Key]int{}
	for _, h := range t.order {
		for _, k := range t.events[h].keys {
			uses[k]++
		}
	}
	out := Truth{Functions: map[string]TrueFunction{}, Orders: t.orders, Dropped: t.dropped}
	for _, h := range t.order {
		e := t.events[h]
		te := TrueEvent{Label: e.label, Path: slices.Clone(e.path), Status: e.status, Done: e.pending == 0, LiveOnly: e.live}
		for _, k := range e.keys {
			if uses[k] > 1 {
				te.Shared = append(te.Shared, k)
			} else {
				te.Own = append(te.Own, k)
			}
		}
		if !te.Done {
			out.Pending++
		}
		out.Events = append(out.Events, te)
	}
	for n, f := range t.fns {
		cp := *f
		cp.Started = maps.Clone(f.Started)
		out.Functions[n] = cp
	}
	out.Edges = slices.Clone(t.edges)
	sort.Slice(out.Edges, func(i, j int) bool {
		if out.Edges[i].From != out.Edges[j].From {
			return out.Edges[i].From.String() < out.Edges[j].From.String()
		}
		return out.Edges[i].To.String() < out.Edges[j].To.String()
	})
	return out
}

// Truth returns a snapshot of what the world has generated so far. It is safe
// to call from any goroutine while the world runs.
func (w *World) Truth() Truth { return w.truth.snapshot() }
