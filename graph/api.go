package graph

import (
	"strconv"
	"strings"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// ---- API Gateway requests: the first hop of the flows they start ----

// An API Gateway request is known by its request ID ($context.requestId),
// a weak key ([tracing.KeyAPIRequest]): it is not an event. One request runs
// one integration, and that invocation may publish several events (two
// parcels of one order); the request is the first hop of each of them, and
// never merges them. Were the key strong, every request whose Lambda put two
// entries on the bus would make one false event of two. So the graph keeps
// the requests apart (apiStore), and a request becomes a hop of the events
// that the invocation behind it published, once an observation ties the two:
// the Lambda logging the proxy event's requestContext.requestId, its X-Ray
// segment under the stage's, or an access log naming the integration's
// request ID.

// apiReq is one API request as its sources told it, merged.
type apiReq struct {
	r        tracing.APIRequest
	inv      string // the Lambda request ID of the integration, once known
	evidence string
	counted  bool // counted in its component's figures
	edged    bool // its api → function edge is on the map
	// place is the account and region of the context that saw the request,
	// when several are watched (see placed): an API of one name in two
	// regions is two components.
	place tracing.Component
}

// apiStore holds the API requests seen, bounded (oldest dropped first).
type apiStore struct {
	byID  map[string]*apiReq
	byInv map[string]*apiReq
	names map[string]string // "apiId/stage" → "name/stage", learned from X-Ray stage segments
	order []string
}

func (s *apiStore) init() {
	if s.byID == nil {
		s.byID, s.byInv, s.names = map[string]*apiReq{}, map[string]*apiReq{}, map[string]string{}
	}
}

// req returns the API request id, creating it (and dropping the oldest past max).
func (s *apiStore) req(id string, max int) *apiReq {
	s.init()
	if a := s.byID[id]; a != nil {
		return a
	}
	a := &apiReq{r: tracing.APIRequest{RequestID: strings.Clone(id)}}
	s.byID[a.r.RequestID] = a
	s.order = append(s.order, a.r.RequestID)
	for len(s.order) > max {
		old := s.byID[s.order[0]]
		delete(s.byID, s.order[0])
		if old != nil && old.inv != "" && s.byInv[old.inv] == old {
			delete(s.byInv, old.inv)
		}
		s.order = s.order[1:]
	}
	return a
}

// of returns the API request behind a Lambda request ID, or nil.
func (s *apiStore) of(request string) *apiReq {
	if request == "" || s.byInv == nil {
		return nil
	}
	return s.byInv[request]
}

// comp is the request's component, named as X-Ray names the stage when
// any stage segment of the API was seen.
func (s *apiStore) comp(a *apiReq) tracing.Component {
	c := a.r.Component()
	if a.r.Name == "" && a.r.APIID != "" {
		if n := s.names[c.Name]; n != "" {
			c.Name = n
		}
	}
	return placed(a.place, c)
}

// ingestAPI takes a span observation that is an API Gateway request (an
// X-Ray stage segment, an access log line) and reports whether it was one.
// Each source fills what the others left out (X-Ray has no route, an access
// log may have no trace); the component counts the request once.
func (g *Graph) ingestAPI(o *tracing.Observation, at time.Time) bool {
	r, ok := tracing.APIRequestOf(o.Span)
	if !ok || len(r.RequestID) > 128 {
		return false
	}
	st := &g.api
	a := st.req(r.RequestID, g.cfg.MaxEvents)
	if a.place.Account == "" && a.place.Region == "" {
		a.place = tracing.Component{Account: o.Component.Account, Region: o.Component.Region}
	}
	m := &a.r
	// Names, stages, methods and routes repeat: one shared copy each. Paths
	// and request IDs do not: a copy of their own, not of the line.
	fill := func(dst *string, v string, shared bool) {
		switch {
		case *dst != "" || v == "" || len(v) > 256:
		case shared:
			*dst = g.canonical(v)
		default:
			*dst = strings.Clone(v)
		}
	}
	fill(&m.Name, r.Name, true)
	fill(&m.APIID, r.APIID, true)
	fill(&m.Stage, r.Stage, true)
	fill(&m.Method, r.Method, true)
	fill(&m.Route, r.Route, true)
	fill(&m.Path, r.Path, false)
	fill(&m.Invocation, r.Invocation, false)
	if m.Status == 0 {
		m.Status = r.Status
	}
	if m.Start.IsZero() || (!r.Start.IsZero() && r.Start.Before(m.Start)) {
		m.Start = r.Start
	}
	if m.Latency == 0 {
		m.Latency = r.Latency
	}
	if m.IntegrationLatency == 0 {
		m.IntegrationLatency = r.IntegrationLatency
	}
	if !m.TraceID.IsValid() {
		m.TraceID = r.TraceID
	}
	if r.Name != "" && r.APIID != "" && len(st.names) < 1024 {
		byID := tracing.APIRequest{APIID: r.APIID, Stage: r.Stage}.Component()
		if _, known := st.names[byID.Name]; !known {
			st.names[byID.Name] = g.canonical(r.Component().Name)
			// Figures counted under the API's ID (access logs read before
			// any stage segment) move to its name.
			g.renameComp(byID, r.Component())
		}
	}
	if o.Span.TraceID.IsValid() && o.Span.SpanID.IsValid() {
		g.addSpan(o.Span) // a stage segment: in the waterfall of the trace
	}
	if !a.counted && m.Status != 0 {
		a.counted = true
		g.comp(st.comp(a)).observe(m.Start, m.Latency, m.Status >= 500, g.cfg.RateBucket)
	}
	if a.inv != "" {
		g.apiChanged(a)
	}
	return true
}

// apiInvoked records that the Lambda request ID request ran the API request
// id (evidence says what showed it), and attaches the API request to the
// events that invocation is a hop of.
func (g *Graph) apiInvoked(id, request string, at time.Time, evidence string) {
	if id == "" || request == "" || len(id) > 128 {
		return
	}
	st := &g.api
	a := st.req(id, g.cfg.MaxEvents)
	if a.inv != "" {
		return
	}
	a.inv, a.evidence = strings.Clone(request), evidence
	st.byInv[a.inv] = a
	if a.r.Start.IsZero() {
		a.r.Start = at
	}
	g.apiChanged(a)
}

// apiChanged attaches the API request to the events its invocation is a hop
// of, marks them changed, and puts the api → function edge on the map.
func (g *Graph) apiChanged(a *apiReq) {
	inv := g.invs[a.inv]
	if inv == nil {
		return
	}
	for _, k := range inv.keys {
		if ki := g.s.findStrong(k.Kind, k.Value); ki != 0 {
			e := g.s.key(ki).ev
			g.attachWeak(e, tracing.KeyAPIRequest, a.r.RequestID)
			g.s.ev(e).rev++
		}
	}
	g.apiEdge(a, inv)
}

// apiEdge puts the edge from the API stage to the function behind it on
// the map, once per request, when both are known.
func (g *Graph) apiEdge(a *apiReq, inv *invocation) {
	if a.edged || inv.function == "" || a.r.Status == 0 && a.r.Stage == "" && a.r.Name == "" {
		return
	}
	a.edged = true
	fn := tracing.Component{Kind: tracing.ComponentFunction, Name: inv.function, Account: inv.account, Region: inv.region}
	g.edge(g.api.comp(a), fn, a.r.Start, a.r.Latency, a.r.Status >= 500)
}

// apiEvidence says what tied an API request to an invocation in o: the
// evidence of a relation that names it, or the default for a log line.
func apiEvidence(o *tracing.Observation) string {
	for _, r := range o.Relations {
		if r.To.Kind == tracing.KeyAPIRequest && r.Evidence != "" {
			return r.Evidence
		}
	}
	if o.Log != nil {
		return "requestContext.requestId in the function's log"
	}
	return "api request id and request id on one " + o.Kind.String()
}

// apiHop is the hop of an API request, the root of the producer hops its
// invocation published.
func (g *Graph) apiHop(a *apiReq) Hop {
	r := a.r
	h := Hop{
		Kind: HopRequest, Component: g.api.comp(a), Time: r.Start, Duration: r.Latency, Status: HopOK,
		Keys: []tracing.Key{{Kind: tracing.KeyAPIRequest, Value: r.RequestID}}, Evidence: a.evidence, Confidence: 1,
		HTTPMethod: r.Method, Route: r.Route, HTTPStatus: r.Status,
	}
	if h.Route == "" {
		h.Route = r.Path
	}
	if r.Status >= 500 {
		h.Status, h.ErrorType = HopError, "HTTP "+strconv.Itoa(r.Status)
	}
	if r.TraceID.IsValid() {
		h.Keys = append(h.Keys, tracing.Key{Kind: tracing.KeyTraceID, Value: r.TraceID.String()})
	}
	return h
}

// renameComp moves the figures of component from, and of its edges, to
// component to, adding them to what to already has.
func (g *Graph) renameComp(from, to tracing.Component) {
	// In every place it was seen: an API's ID is learned once, from one
	// region's stage segment, and may have been counted in several.
	re := func(c tracing.Component) tracing.Component {
		if c.Kind != from.Kind || c.Name != from.Name {
			return c
		}
		t := to
		t.Account, t.Region = c.Account, c.Region
		return t
	}
	for k, st := range g.comps {
		nk := re(k)
		if nk == k {
			continue
		}
		delete(g.comps, k)
		if have, ok := g.comps[nk]; ok {
			mergeStats(have, st)
		} else {
			g.comps[nk] = st
		}
	}
	for k, st := range g.edges {
		nk := [2]tracing.Component{re(k[0]), re(k[1])}
		if nk == k {
			continue
		}
		delete(g.edges, k)
		if have, ok := g.edges[nk]; ok {
			mergeStats(have, st)
		} else {
			g.edges[nk] = st
		}
	}
}

// mergeStats adds src's figures to dst's: counts, latencies, and the rate
// buckets, aligned on the newer of the two.
func mergeStats(dst, src *compStats) {
	dst.count += src.count
	dst.errors += src.errors
	_ = dst.lat.MergeWith(src.lat)
	if src.rate.start.IsZero() {
		return
	}
	if dst.rate.start.IsZero() {
		dst.rate = src.rate
		return
	}
	at := dst.rate.start
	if src.rate.start.After(at) {
		at = src.rate.start
	}
	sr := src.rate
	dst.rate.advance(at)
	sr.advance(at)
	for k := range rateBuckets {
		dst.rate.counts[(dst.rate.head-k+rateBuckets)%rateBuckets] += sr.counts[(sr.head-k+rateBuckets)%rateBuckets]
	}
}

// Request is what a HopRequest shows of its API request: "POST /orders →
// 201"; "" for other hops. The route and method come from outside: display
// code sanitises the line.
func (h Hop) Request() string {
	if h.Kind != HopRequest {
		return ""
	}
	s := h.HTTPMethod
	if h.Route != "" {
		s += " " + h.Route
	}
	if h.HTTPStatus != 0 {
		s += " → " + strconv.Itoa(h.HTTPStatus)
	}
	return strings.TrimSpace(s)
}
