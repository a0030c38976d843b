package fidelity

import (
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// TestPartnerCloudEvents runs the world with its partner in another cloud:
// the partner's producer span reaches the engine's OTLP receiver through the
// real OTel SDK exporter, with the CloudEvents attributes and a resource in
// GCP; its CloudEvent enters AWS on the orders bus and partner-intake logs
// it. The span joins that consumer by the CloudEvent's source and id alone
// (it names no AWS ID), the producer hop shows its cloud, and the bus the
// rule routes through sits between them.
func TestPartnerCloudEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the world and the collectors for several seconds")
	}
	const orders = 16
	r := world(t, orders, 8)
	tr, _ := r.settle(t, orders, 60*time.Second, 30*time.Second)
	seen := 0
	for _, e := range tr.Events {
		if !strings.HasPrefix(e.Label, "partner cloudevent") {
			continue
		}
		seen++
		var ce, ev tracing.Key
		for _, k := range e.Own {
			switch k.Kind {
			case tracing.KeyCloudEventID:
				ce = k
			case tracing.KeyEventID:
				ev = k
			}
		}
		l, err := r.g.Lineage(UserID(ce))
		if err != nil {
			t.Errorf("%s: lineage by its CloudEvents id: %v", e.Label, err)
			continue
		}
		if !holdsAll(l.Keys, []tracing.Key{ce, ev}) {
			t.Errorf("%s: keys %v; want the CloudEvent %q and the EventBridge id %s", e.Label, l.Keys, ce.Value, ev.Value)
		}
		pub, bus, intake := -1, -1, -1
		for i, h := range l.Hops {
			switch {
			case h.Kind == graph.HopPublish && h.Component == (tracing.Component{Kind: tracing.ComponentService, Name: sandbox.PartnerService}):
				pub = i
				if h.Cloud != "gcp/gcp_cloud_functions" || !strings.Contains(h.Evidence, "cloudevents") {
					t.Errorf("%s: producer hop cloud %q evidence %q", e.Label, h.Cloud, h.Evidence)
				}
			case h.Kind == graph.HopBroker && h.Component.Kind == tracing.ComponentBus && h.Component.Name == sandbox.BusName:
				bus = i
			case h.Kind == graph.HopInvoke && h.Component.Name == sandbox.PartnerIntake:
				intake = i
				if h.Cloud != "" {
					t.Errorf("%s: the AWS consumer says cloud %q", e.Label, h.Cloud)
				}
			}
		}
		if pub < 0 || bus < 0 || intake < 0 || !under(l, intake, bus) || !under(l, bus, pub) {
			t.Errorf("%s: producer %d, bus %d, intake %d; want producer → bus → partner-intake:\n%s", e.Label, pub, bus, intake, hopLines(l))
		}
		if l.Status != graph.StatusSucceeded {
			t.Errorf("%s: status %s", e.Label, l.Status)
		}
	}
	if seen < orders/8 {
		t.Errorf("%d partner CloudEvents in the truth for %d orders", seen, orders)
	}
}
