package graph

import (
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// TestPublishedCloudEventID: a producer logs the id of the CloudEvent it
// published as published_event_id with its ce_type beside it (the sandbox's
// orders-api, publishing straight to SNS), and the consumer logs the
// CloudEvent's id and source. The producer's log names the CloudEvent (no
// EventBridge event of that id is claimed), and the producer's publish hop
// joins the consumer's invocation as one event, whichever comes first.
func TestPublishedCloudEventID(t *testing.T) {
	t.Parallel()
	ceID := "5b0c3c1e-8a2f-4d7e-9b61-0c4e2f7a9d13"
	producer := invocationLogs{
		fn: "orders-api", req: uuidN('b', 7), trace: traceN(7), segment: spanN(70), start: t0, dur: 60 * time.Millisecond,
		app: []appLine{{"INFO", map[string]any{"order_id": "o-7", "published_event_id": ceID, "ce_type": "com.example.order.placed"}}},
	}.batch()
	consumer := invocationLogs{
		fn: "audit", req: uuidN('c', 7), trace: traceN(8), segment: spanN(71), start: t0.Add(time.Second), dur: 80 * time.Millisecond,
		app: []appLine{{"INFO", map[string]any{"ce_id": ceID, "ce_source": "/orders/api", "ce_type": "com.example.order.placed", "order_id": "o-7"}}},
	}.batch()
	for _, order := range [][]tracing.Batch{{producer, consumer}, {consumer, producer}} {
		g := newTestGraph(100)
		for _, b := range order {
			g.Ingest(b)
		}
		l, err := g.Lineage(ceID)
		if err != nil {
			t.Fatalf("Lineage(%s): %v", ceID, err)
		}
		if hops(l, HopPublish, "orders-api") != 1 || hops(l, HopInvoke, "audit") != 1 {
			t.Errorf("hops %s", hopSummary(l))
		}
		if !hasKey(l, tracing.KeyCloudEventID, ceID) || hasKey(l, tracing.KeyEventID, ceID) {
			t.Errorf("keys %v: want the CloudEvent, and no EventBridge event of its id", l.Keys)
		}
		if n := len(g.Flows(FlowQuery{Limit: 10}).Rows); n != 1 {
			t.Errorf("%d flows, want the one event", n)
		}
	}
}
