package fidelity

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// TestAPIGatewayLineage runs the world (orders arrive through the API
// Gateway stage in front of orders-api) under flowtop's engine, reading it
// through the real SDK clients (CloudWatch Logs with the stage's access log
// group, X-Ray), and follows orders by their API request ID: the request is
// the first hop (method, route, status, latency), the orders-api invocation
// it ran published to the bus, and the bus's consumers follow, every hop
// with its evidence. A two-parcel order's request leads to two events that
// stay two, and the requests the stage failed show as errors on its node.
func TestAPIGatewayLineage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the world and the collectors for several seconds")
	}
	const orders = 20
	r := world(t, orders, 8)
	tr, _ := r.settle(t, orders, 60*time.Second, 30*time.Second)
	api := tracing.Component{Kind: tracing.ComponentAPI, Name: sandbox.APIName + "/" + sandbox.APIStage}
	checked, shared := 0, 0
	for _, e := range tr.Events {
		if len(e.Path) == 0 || e.Path[0] != api {
			continue
		}
		id, own := apiKey(e)
		if id == "" {
			t.Errorf("%s: the truth holds no API request id", e.Label)
			continue
		}
		if !own {
			// One request, two events (two parcels): the ID names both, and
			// each event stands alone.
			shared++
			if _, err := r.g.Lineage(id); !errors.Is(err, graph.ErrAmbiguous) {
				t.Errorf("%s: lineage by the shared API request %s: %v, want ErrAmbiguous", e.Label, id, err)
			}
			if n := len(r.g.Find(id, 10)); n != 2 {
				t.Errorf("%s: API request %s finds %d events, want 2", e.Label, id, n)
			}
			continue
		}
		l, err := r.g.Lineage(id)
		if err != nil {
			t.Errorf("%s: lineage by API request %s: %v", e.Label, id, err)
			continue
		}
		checkAPIPath(t, e, l, id)
		checked++
	}
	t.Logf("%d events followed by their own API request, %d by a shared one", checked, shared)
	if checked < orders/2 || shared == 0 {
		t.Errorf("checked %d events by their own API request and %d by a shared one; want at least %d and 1", checked, shared, orders/2)
	}
	// The stage's own figures: it rejected some requests (4xx, no Lambda) and
	// answered 502 when orders-api failed; the map shows the stage and its
	// integration edge.
	var node *graph.MapNode
	mv := r.g.Map()
	for i := range mv.Nodes {
		if mv.Nodes[i].Component == api {
			node = &mv.Nodes[i]
		}
	}
	if node == nil || node.ErrorPct == 0 {
		t.Errorf("map node for %s: %+v; want one with the 502s as errors", api, node)
	}
	edge := false
	for _, me := range mv.Edges {
		edge = edge || me.From == api && me.To.Name == "orders-api"
	}
	if !edge {
		t.Errorf("map lacks %s → orders-api", api)
	}
}

// checkAPIPath checks one event's lineage: API request → orders-api
// (publish) → bus → consumers, each hop under the one before and with its
// evidence.
func checkAPIPath(t *testing.T, e sandbox.TrueEvent, l graph.Lineage, id string) {
	t.Helper()
	if len(l.Hops) < 4 {
		t.Errorf("%s: %d hops", e.Label, len(l.Hops))
		return
	}
	first := l.Hops[0]
	if first.Kind != graph.HopRequest || first.Component.Name != "orders-http/prod" || first.Parent != -1 {
		t.Errorf("%s: first hop %s %s (parent %d), want the API request", e.Label, first.Kind, first.Component, first.Parent)
	}
	if first.HTTPMethod != "POST" || first.Route != sandbox.APIRoute || first.HTTPStatus != 201 || first.Duration <= 0 {
		t.Errorf("%s: API hop %s %s → %d in %s; want POST %s → 201 with a latency", e.Label, first.HTTPMethod, first.Route, first.HTTPStatus, first.Duration, sandbox.APIRoute)
	}
	if len(first.Keys) == 0 || first.Keys[0] != (tracing.Key{Kind: tracing.KeyAPIRequest, Value: id}) {
		t.Errorf("%s: API hop keys %v", e.Label, first.Keys)
	}
	var pub, bus, consumer bool
	for i, h := range l.Hops {
		if h.Evidence == "" {
			t.Errorf("%s: hop %d (%s %s) has no evidence", e.Label, i, h.Kind, h.Component)
		}
		switch {
		case h.Kind == graph.HopPublish && h.Component.Name == "orders-api":
			pub = h.Parent == 0
			for _, k := range h.Keys {
				if k.Kind == tracing.KeyRequestID && k.Value == id {
					t.Errorf("%s: the Lambda's request ID equals the API request's", e.Label)
				}
			}
		case h.Kind == graph.HopBroker && h.Component.Kind == tracing.ComponentBus:
			bus = bus || under(l, i, 0)
		case h.Kind == graph.HopInvoke && h.Status != graph.HopMissing:
			consumer = consumer || under(l, i, 0)
		}
	}
	if !pub || !consumer || !bus && !strings.Contains(e.Label, "cloudevent to sns") {
		t.Errorf("%s: publish under the request %v, bus %v, consumer %v; hops:\n%s", e.Label, pub, bus, consumer, hopLines(l))
	}
}

// under reports whether hop i descends from hop anc.
func under(l graph.Lineage, i, anc int) bool {
	for d := 0; i >= 0 && d < 64; d++ {
		if i == anc {
			return true
		}
		i = l.Hops[i].Parent
	}
	return false
}

func hopLines(l graph.Lineage) string {
	var b strings.Builder
	for i, h := range l.Hops {
		b.WriteString("  " + strings.Repeat("  ", h.Depth) + h.Kind.String() + " " + h.Component.String() + " <" + h.Evidence + ">")
		if i < len(l.Hops)-1 {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// apiKey is the event's API request ID and whether the event owns it.
func apiKey(e sandbox.TrueEvent) (string, bool) {
	for _, k := range e.Own {
		if k.Kind == tracing.KeyAPIRequest {
			return k.Value, true
		}
	}
	for _, k := range e.Shared {
		if k.Kind == tracing.KeyAPIRequest {
			return k.Value, false
		}
	}
	return "", false
}
