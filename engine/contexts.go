package engine

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/topology"
	"github.com/flowtop/flowtop/tracing"
)

// Context is one account and region flowtop watches, with the AWS
// configuration that reaches it. [Settings.Contexts] lists them when more
// than one is watched.
type Context struct {
	Name    string     // what the header and `:ctx` show: "prod/us-east-1"
	Profile string     // the shared-config profile; "" for the default chain
	Account string     // the account ID (from STS), else the profile name; stamped on components
	Region  string     // stamped on components
	AWS     aws.Config // loaded by the caller, its Region set to Region
}

// ContextState is a watched context's condition, from its sources' health.
type ContextState uint8

// Context states.
const (
	ContextStarting ContextState = iota // no source has answered yet
	ContextOK                           // every source answers
	ContextDegraded                     // some sources fail, the others answer
	ContextFailing                      // every source that ran fails
)

var contextStateNames = [...]string{"starting", "ok", "degraded", "failing"}

// String returns a short lowercase name.
func (s ContextState) String() string {
	if int(s) < len(contextStateNames) {
		return contextStateNames[s]
	}
	return "unknown"
}

// ContextHealth is one watched context's condition, as the header and the
// `:ctx` screen show it.
type ContextHealth struct {
	Name, Account, Region string
	State                 ContextState
	// Reason is the failing sources' error in a word ("AccessDenied",
	// "unreachable"), "" while every source answers.
	Reason string
	// Detail is the first failing source's whole message.
	Detail  string
	Sources []tracing.SourceHealth // this context's sources, named without the context
	Items   uint64                 // observations its sources emitted
}

// member is one watched context and the engine whose sources read it. That
// engine builds its collectors exactly as a single-context engine does and
// hands everything it reads to the engine it serves, stamped.
type member struct {
	ctx Context
	idx int
	e   *Engine
}

// sep joins a source's name and its context's in the hub ("cwlogs@prod/us-east-1").
const sep = "@"

// buildContexts builds one engine per context when more than one is watched.
func (e *Engine) buildContexts() {
	if len(e.set.Contexts) < 2 {
		return
	}
	e.where = newWhere(len(e.set.Contexts))
	for i, c := range e.set.Contexts {
		s := e.set
		s.AWS, s.Title, s.Contexts = c.AWS, c.Name, nil
		s.Sources.OTLPGRPC, s.Sources.OTLPHTTP = "", "" // one receiver, in the serving engine
		m := &member{ctx: c, idx: i}
		m.e = &Engine{
			set: s, log: e.log.With(tracing.LogKeyTarget, c.Name), graph: e.graph,
			failed: map[string]string{}, inject: newInjector(), up: e, self: m,
		}
		m.e.buildSources()
		e.members = append(e.members, m)
	}
}

// Contexts is every watched context's health, in the order given; empty when
// one context is watched.
func (e *Engine) Contexts() []ContextHealth {
	if len(e.members) == 0 {
		return nil
	}
	byCtx := map[string][]tracing.SourceHealth{}
	for _, h := range e.hub.Health() {
		src, ctxName, ok := strings.Cut(h.Source, sep)
		if !ok {
			continue
		}
		h.Source = src
		byCtx[ctxName] = append(byCtx[ctxName], h)
	}
	e.mu.Lock()
	failed := map[string][]string{}
	for k, v := range e.failed {
		if _, ctxName, ok := strings.Cut(k, sep); ok {
			failed[ctxName] = append(failed[ctxName], v)
		}
	}
	e.mu.Unlock()
	out := make([]ContextHealth, 0, len(e.members))
	for _, m := range e.members {
		c := ContextHealth{Name: m.ctx.Name, Account: m.ctx.Account, Region: m.ctx.Region, Sources: byCtx[m.ctx.Name]}
		var ok, bad, started int
		for _, h := range c.Sources {
			c.Items += h.Items
			switch h.State {
			case tracing.SourceStateOK, tracing.SourceStateDegraded:
				// A source with nothing to read (the log source of a context
				// whose functions could not be listed) answers without
				// showing that the context is reachable.
				if h.Items > 0 {
					ok++
				}
				started++
			case tracing.SourceStateFailed, tracing.SourceStateRetrying:
				if h.LastError == "" {
					continue
				}
				bad++
				started++
				if c.Detail == "" {
					c.Detail = h.Source + ": " + firstLine(h.LastError)
				}
			}
		}
		if len(c.Sources) == 0 { // not running: one-shot collection or search
			for _, why := range failed[m.ctx.Name] {
				bad++
				started++
				if c.Detail == "" {
					c.Detail = why
				}
			}
		}
		switch {
		case started == 0:
			c.State = ContextStarting
		case bad == 0:
			c.State = ContextOK
		case ok == 0:
			c.State = ContextFailing
		default:
			c.State = ContextDegraded
		}
		if bad > 0 {
			c.Reason = reason(c.Detail)
		}
		out = append(out, c)
	}
	return out
}

var apiErrorCode = regexp.MustCompile(`api error ([A-Za-z.]+):`)

// reason names an error in a word for the header: the AWS error code when
// the message carries one, else what kind of failure it reads as.
func reason(msg string) string {
	if m := apiErrorCode.FindStringSubmatch(msg); m != nil {
		code := m[1]
		if strings.HasPrefix(code, "AccessDenied") || code == "AuthorizationError" {
			return "AccessDenied"
		}
		return code
	}
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "access denied"), strings.Contains(low, "not authorized"):
		return "AccessDenied"
	case strings.Contains(low, "credentials"), strings.Contains(low, "expired"):
		return "credentials"
	case strings.Contains(low, "throttl"):
		return "throttled"
	case strings.Contains(low, "cannot reach"), strings.Contains(low, "connection refused"), strings.Contains(low, "no such host"):
		return "unreachable"
	}
	return "error"
}

// WhereOf says which watched context an event, message, request or trace ID
// was seen in (its index in [Engine.Contexts]), from the observations that
// carried it; false when one context is watched or the ID is not known.
func (e *Engine) WhereOf(id string) (int, bool) {
	if e.where == nil {
		return 0, false
	}
	return e.where.of(id)
}

// Seen reports whether a component of this kind and name was seen in the
// context at index i (always true when one context is watched): a function
// or queue of the same name in two regions is seen in both.
func (e *Engine) Seen(i int, c tracing.Component) bool {
	if e.where == nil {
		return true
	}
	return e.where.seen(i, c.Kind, c.Name)
}

// contextRegion is the region a context's engine reads, "" for a serving
// engine or when one context is watched (nothing is placed then).
func (e *Engine) contextRegion() string {
	if e.self != nil {
		return e.self.ctx.Region
	}
	return ""
}

// ContextName is the name of the watched context this engine acts in: ""
// for a serving engine or when one context is watched.
func (e *Engine) ContextName() string {
	if e.self != nil {
		return e.self.ctx.Name
	}
	return ""
}

// stamp marks b as read in m's context: every component carries the
// context's account and region, and the index learns b's keys. A source that
// knows better (a log group ARN of a linked account, read through a
// monitoring account) keeps what it said.
func (e *Engine) stamp(m *member, b tracing.Batch) {
	place := func(c *tracing.Component) {
		if c.Kind == tracing.ComponentUnknown {
			return
		}
		if c.Account == "" {
			c.Account = m.ctx.Account
		}
		if c.Region == "" {
			c.Region = m.ctx.Region
		}
	}
	// A route's ends are placed as every other component is, so a
	// configured queue or bus is the same component as the one messages
	// name; an end a source placed itself (from a target's ARN in another
	// region) keeps its place.
	for i := range b {
		place(&b[i].Component)
		if rs := b[i].Routes; rs != nil {
			for j := range rs.Routes {
				place(&rs.Routes[j].From)
				place(&rs.Routes[j].To)
			}
			for j := range rs.Components {
				place(&rs.Components[j])
			}
		}
	}
	if e.where != nil {
		e.where.learn(m.idx, b)
	}
}

// contextSources are the live sources of every context, each stamping what
// it reads, plus the serving engine's own (the OTLP receiver).
func (e *Engine) contextSources() []collectors.Source {
	var out []collectors.Source
	for _, m := range e.members {
		for _, s := range m.e.liveSources() {
			out = append(out, &stampedSource{inner: s, m: m, e: e})
		}
	}
	if e.otlp != nil {
		out = append(out, &placedSource{inner: e.otlp, e: e})
	}
	return out
}

// placedSource is the serving engine's own receiver (OTLP): what it reads
// is no context's, but a span whose resource names its account and region
// (cloud.account.id, cloud.region) was seen in that context. Spans arrive
// at once while logs are polled, so without this an event first known from
// its spans was in no context (an empty REGION) for its first seconds.
type placedSource struct {
	inner collectors.Source
	e     *Engine
}

func (s *placedSource) Name() string                 { return s.inner.Name() }
func (s *placedSource) Health() tracing.SourceHealth { return s.inner.Health() }

// Run runs the inner source and forwards its batches, the index learning
// each placed observation's keys, until ctx ends.
func (s *placedSource) Run(ctx context.Context, out chan<- tracing.Batch) error {
	return relay(ctx, s.inner, out, s.e.learnPlaced)
}

// learnPlaced teaches the context index the keys of every observation whose
// component is placed in a watched context.
func (e *Engine) learnPlaced(b tracing.Batch) {
	if e.where == nil {
		return
	}
	for j := range b {
		c := b[j].Component
		if c.Region == "" {
			continue
		}
		for _, m := range e.members {
			if m.ctx.Region == c.Region && (c.Account == "" || m.ctx.Account == c.Account) {
				e.where.learn(m.idx, b[j:j+1])
				break
			}
		}
	}
}

// contextSearchers are every context's searchers, each stamping what it finds.
func (e *Engine) contextSearchers() []collectors.Searcher {
	var out []collectors.Searcher
	for _, m := range e.members {
		for _, s := range m.e.searchers() {
			out = append(out, &stampedSearcher{inner: s, m: m, e: e})
		}
	}
	return out
}

// collectContexts reads every context's history window at once; one
// context's failure is its own (see [Engine.Failures]).
func (e *Engine) collectContexts(ctx context.Context, window time.Duration) error {
	var wg sync.WaitGroup
	for _, m := range e.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = m.e.Collect(ctx, window)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// readContextRoutes reads every context's routing configuration once.
func (e *Engine) readContextRoutes(ctx context.Context, at time.Time) {
	for _, m := range e.members {
		set, err := m.e.topology.Discover(ctx)
		m.e.noteFailure("topology", err)
		m.e.ingest(ctx, topology.Batch(set, at))
	}
}

// stampedSource is a context's live source as the hub runs it: named with
// its context, its batches stamped.
type stampedSource struct {
	inner collectors.Source
	m     *member
	e     *Engine
}

func (s *stampedSource) Name() string { return s.inner.Name() + sep + s.m.ctx.Name }

func (s *stampedSource) Health() tracing.SourceHealth {
	h := s.inner.Health()
	h.Source = s.Name()
	return h
}

// Run runs the inner source and forwards its batches, stamped, until ctx ends.
func (s *stampedSource) Run(ctx context.Context, out chan<- tracing.Batch) error {
	return relay(ctx, s.inner, out, func(b tracing.Batch) { s.e.stamp(s.m, b) })
}

// stampedSearcher is a context's searcher: named with its context, its
// answers stamped.
type stampedSearcher struct {
	inner collectors.Searcher
	m     *member
	e     *Engine
}

func (s *stampedSearcher) Name() string { return s.inner.Name() + sep + s.m.ctx.Name }

func (s *stampedSearcher) Search(ctx context.Context, keys []tracing.Key, from, to time.Time) (tracing.Batch, error) {
	b, err := s.inner.Search(ctx, keys, from, to)
	s.e.stamp(s.m, b)
	return b, err
}

// maxWhere bounds the IDs the context index remembers; the oldest are
// forgotten first, as the graph evicts its oldest events.
const maxWhere = 1 << 17

// where remembers which context each ID and component was seen in, bounded.
type where struct {
	mu    sync.Mutex
	ids   map[string]uint8
	ring  []string // insertion order, for eviction
	next  int
	comps map[compName]uint64 // bit i: seen in context i
	n     int
}

type compName struct {
	kind tracing.ComponentKind
	name string
}

func newWhere(n int) *where {
	return &where{ids: map[string]uint8{}, ring: make([]string, 0, 1024), comps: map[compName]uint64{}, n: n}
}

func (w *where) learn(i int, b tracing.Batch) {
	if i >= 64 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	key := func(k tracing.Key) {
		if collectors.Followable(k.Kind) { // a correlation value (an order number) may recur in every region
			w.note(k.Value, i)
			if id := k.DisplayID(); id != k.Value {
				w.note(id, i) // a CloudEvent is listed by its id alone
			}
		}
	}
	for j := range b {
		o := &b[j]
		// Every ID the graph may make an event's: the keys, the relations'
		// ends, and what it reads itself out of messages, spans and
		// invocations.
		for _, k := range o.Keys {
			key(k)
		}
		for _, r := range o.Relations {
			key(r.From)
			key(r.To)
		}
		if m := o.Message; m != nil {
			w.note(m.ID, i)
			for _, l := range m.Layers {
				for _, k := range l.Keys {
					key(k)
				}
			}
		}
		if o.Span != nil {
			w.note(o.Span.TraceID.String(), i)
			w.note(o.Span.Messaging.MessageID, i)
		}
		if v := o.Invocation; v != nil {
			w.note(v.RequestID, i)
		}
		if l := o.Log; l != nil {
			w.note(l.RequestID, i)
			if l.TraceID.IsValid() {
				w.note(l.TraceID.String(), i)
			}
		}
		if o.Component.Name != "" && len(w.comps) < maxWhere {
			c := compName{o.Component.Kind, o.Component.Name}
			w.comps[c] |= 1 << uint(i)
		}
	}
}

func (w *where) note(id string, i int) {
	if id == "" {
		return
	}
	if _, ok := w.ids[id]; ok {
		w.ids[id] = uint8(i)
		return
	}
	if len(w.ring) < maxWhere {
		w.ring = append(w.ring, id)
	} else {
		delete(w.ids, w.ring[w.next])
		w.ring[w.next] = id
		w.next = (w.next + 1) % maxWhere
	}
	w.ids[id] = uint8(i)
}

func (w *where) of(id string) (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, ok := w.ids[id]
	return int(i), ok
}

func (w *where) seen(i int, kind tracing.ComponentKind, name string) bool {
	if i < 0 || i >= 64 {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.comps[compName{kind, name}]&(1<<uint(i)) != 0
}

// relay runs inner and forwards its batches to out, each passed to see
// first, until ctx ends; a panic in inner is its error (the hub recovers
// its own goroutines, not this one).
func relay(ctx context.Context, inner collectors.Source, out chan<- tracing.Batch, see func(tracing.Batch)) error {
	in := make(chan tracing.Batch)
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("%s: internal error: %v (please report this)", inner.Name(), r)
			}
		}()
		done <- inner.Run(ctx, in)
	}()
	for {
		select {
		case b := <-in:
			see(b)
			select {
			case out <- b:
			case <-ctx.Done():
				return <-done
			}
		case err := <-done:
			return err
		}
	}
}
