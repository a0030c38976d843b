package graph

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// assertRowsMatchLineage walks every row of the Flows list and checks that
// the event's Lineage derives the same status, hop count, latency, type,
// source, last hop and cost.
func assertRowsMatchLineage(t *testing.T, g *Graph) int {
	t.Helper()
	page := g.Flows(FlowQuery{Limit: 1 << 20})
	if page.Matched != len(page.Rows) {
		t.Errorf("matched %d, rows %d", page.Matched, len(page.Rows))
	}
	for _, sort := range []FlowSort{SortStatus, SortHops, SortLatency, SortCost} {
		if p := g.Flows(FlowQuery{Limit: 1 << 20, Sort: sort}); len(p.Rows) != len(page.Rows) {
			t.Errorf("sort %d: %d rows, want %d", sort, len(p.Rows), len(page.Rows))
		}
	}
	for _, r := range page.Rows {
		l, err := g.Lineage(r.ID)
		if err != nil {
			t.Errorf("row %s: Lineage: %v", r.ID, err)
			continue
		}
		if r.Status != l.Status || r.Hops != l.HopCount || r.Hops != len(l.Hops) || r.Latency != l.Latency || r.Type != l.Type ||
			r.Source != l.Source || r.LastHop != l.LastHop || r.CostUSD != l.CostUSD {
			t.Errorf("row %s: list says %v/%d hops/%v/%q/%q/%q/%g, lineage %v/%d hops/%v/%q/%q/%q/%g (%s)", r.ID,
				r.Status, r.Hops, r.Latency, r.Type, r.Source, r.LastHop, r.CostUSD,
				l.Status, len(l.Hops), l.Latency, l.Type, l.Source, l.LastHop, l.CostUSD, hopSummary(l))
		}
		var link EventLink
		if len(l.Links) > 0 {
			link = l.Links[len(l.Links)-1]
		}
		if r.Link != link {
			t.Errorf("row %s: link %+v, lineage %+v", r.ID, r.Link, l.Links)
		}
	}
	return len(page.Rows)
}

// genWorld ingests n events of assorted shapes into g, as the demo's world
// produces them: EventBridge events to billing-queue consumed by
// charge-card (text format) with retries, dead-lettering and redrives,
// CloudEvents, events still in flight, and queued messages whose consumer
// never ran. It returns, per shape, how many events it made.
func genWorld(g *Graph, n int, seed uint64) map[string]int {
	rnd := rand.New(rand.NewPCG(seed, 7))
	made := map[string]int{}
	shapes := []string{"ok", "retried", "dead-lettered", "missing consumer", "cloudevent", "redriven", "in flight"}
	for i := 0; i < n; i++ {
		shape := shapes[rnd.IntN(len(shapes))]
		made[shape]++
		start := t0.Add(time.Duration(i) * 700 * time.Millisecond)
		ev, msg, trace := uuidN('d', 1000+i), uuidN('a', 1000+i), traceN(1000+i)
		order := "o-" + uuidN('f', i)[:8]
		prodReq := uuidN('b', 1000+i)
		fields := map[string]any{"order_id": order, "published_event_id": ev}
		if rnd.IntN(2) == 0 {
			fields["detail_type"] = "OrderPlaced"
		}
		if shape == "cloudevent" {
			fields = map[string]any{"order_id": order, "published_event_id": ev, "ce_type": "com.example.order.placed"}
		}
		g.Ingest(invocationLogs{
			fn: "orders-api", req: prodReq, trace: trace, segment: spanN(3 * i), start: start, dur: time.Duration(20+rnd.IntN(60)) * time.Millisecond,
			app: []appLine{{"INFO", fields}},
		}.batch())
		g.Ingest(tracing.Batch{otlpObs(otelSpan{
			trace: trace, id: spanN(3*i + 1), kind: tracing.SpanKindProducer, fn: "orders-api", req: prodReq, system: "aws.eventbridge", op: "publish",
			dest: "orders", msgID: ev, start: start.Add(5 * time.Millisecond), end: start.Add(25 * time.Millisecond), name: "orders publish",
		})})
		if shape == "in flight" {
			continue
		}
		if shape == "missing consumer" {
			// The message seen waiting in billing-queue, its consumer never seen.
			g.Ingest(tracing.Batch{{
				Kind: tracing.ObsMessage, Source: "sqs", Time: start.Add(40 * time.Millisecond),
				Component: tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-queue"}, Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: msg}},
				Message: &tracing.Message{
					Broker: tracing.BrokerSQS, Queue: "billing-queue", ID: msg, Body: ebBody(ev, "OrderPlaced", map[string]any{"order_id": order}),
					Layers: tracing.Unwrap([]byte(ebBody(ev, "OrderPlaced", map[string]any{"order_id": order}))).Layers,
				},
			}})
			continue
		}
		attempts := 1
		switch shape {
		case "retried":
			attempts = 2
		case "dead-lettered", "redriven":
			attempts = 3
		}
		consume := func(msg string, from time.Time, base int, attempts int, lastOK bool) {
			for a := 0; a < attempts; a++ {
				req := uuidN('c', base+a)
				at := from.Add(time.Duration(a) * 31 * time.Second)
				dur := time.Duration(100+rnd.IntN(300)) * time.Millisecond
				ok := lastOK && a == attempts-1
				app := []appLine{{"INFO", map[string]any{"messageId": msg, "eventId": ev, "order_id": order}}}
				if !ok {
					app = append(app, appLine{"ERROR", map[string]any{"messageId": msg, "msg": "CardDeclined"}})
				}
				// The consumer span first (OTLP is pushed at once), the logs after.
				g.Ingest(tracing.Batch{otlpObs(otelSpan{
					trace: trace, id: spanN(base + a + 500000), kind: tracing.SpanKindConsumer, fn: "charge-card", req: req, system: "aws_sqs", op: "process",
					dest: "billing-queue", msgID: msg, start: at, end: at.Add(dur), failed: !ok, errorMsg: "CardDeclined", name: "billing-queue process",
				})})
				g.Ingest(invocationLogs{fn: "charge-card", req: req, trace: trace, segment: spanN(base + a), start: at, dur: dur, cold: a == 0 && rnd.IntN(4) == 0, app: app}.batch())
			}
		}
		ok := shape == "ok" || shape == "retried" || shape == "cloudevent"
		consume(msg, start.Add(50*time.Millisecond), 10*(1000+i), attempts, ok)
		if shape == "dead-lettered" || shape == "redriven" {
			g.Ingest(tracing.Batch{dlqObs("billing-dlq", msg, ebBody(ev, "OrderPlaced", map[string]any{"order_id": order}), "billing-queue", 3, start.Add(95*time.Second), nil)})
		}
		if shape == "redriven" {
			cp := uuidN('a', 500000+i)
			g.Ingest(tracing.Batch{tracing.CopyObservation(tracing.Key{Kind: tracing.KeyMessageID, Value: cp}, tracing.Key{Kind: tracing.KeyMessageID, Value: msg}, tracing.RelRedriveOf, start.Add(100*time.Second), "flowtop redrive")})
			again := rnd.IntN(2) == 0
			consume(cp, start.Add(101*time.Second), 10*(500000+i), 3, !again)
			if again {
				g.Ingest(tracing.Batch{dlqObs("billing-dlq", cp, ebBody(ev, "OrderPlaced", map[string]any{"order_id": order}), "billing-queue", 3, start.Add(200*time.Second), map[string]string{"flowtop-replay-of": msg})})
			}
		}
	}
	return made
}

// TestOneRule: over many generated events, each Flows row and its Lineage
// agree on status, hop count, latency, type, source, last hop and cost
// (the list caches rows: a second pass, after more ingest, checks the cache
// too); latency spans the invocations, not the gap between two log lines.
func TestOneRule(t *testing.T) {
	t.Parallel()
	now := t0
	g := New(Config{MaxEvents: 10_000, Now: func() time.Time { return now }})
	made := genWorld(g, 300, 1)
	now = t0.Add(30 * time.Minute)
	rows := assertRowsMatchLineage(t, g)
	if want := 300 + made["redriven"]; rows != want {
		t.Errorf("%d rows, want %d (one per event, one per redriven copy)", rows, want)
	}
	statuses := map[Status]int{}
	for _, r := range g.Flows(FlowQuery{Limit: 1 << 20}).Rows {
		statuses[r.Status]++
		l, _ := g.Lineage(r.ID)
		for _, h := range l.Hops {
			if h.Kind == HopInvoke && h.Status != HopMissing && r.Latency < h.Duration {
				t.Errorf("row %s: latency %v shorter than its invocation's %v", r.ID, r.Latency, h.Duration)
			}
		}
		if l.Type == "" && hops(l, HopPublish, "") > 0 && hasTypeLogged(l) {
			t.Errorf("row %s: no type", r.ID)
		}
	}
	for _, s := range []Status{StatusSucceeded, StatusDeadLettered, StatusRedriven, StatusInFlight} {
		if statuses[s] == 0 {
			t.Errorf("no event reads %v: %v", s, statuses)
		}
	}
	// More ingest, and the clock moving on: cached rows must follow.
	genWorld(g, 50, 2)
	now = now.Add(20 * time.Minute)
	assertRowsMatchLineage(t, g)
}

// hasTypeLogged reports whether the event's producer logged a type.
func hasTypeLogged(l Lineage) bool {
	for _, h := range l.Hops {
		for _, ln := range h.Logs {
			if h.Kind == HopPublish && (containsFold([]byte(ln.Message), "detail_type") || containsFold([]byte(ln.Message), "ce_type")) {
				return true
			}
		}
	}
	return false
}

// TestListAndScreenCases: the two disagreements seen in the demo.
func TestListAndScreenCases(t *testing.T) {
	t.Parallel()
	g := New(Config{MaxEvents: 1000, Now: func() time.Time { return t0.Add(time.Hour) }})
	genWorld(g, 120, 3)
	for _, r := range g.Flows(FlowQuery{Limit: 1 << 20}).Rows {
		l, err := g.Lineage(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, h := range l.Hops {
			if h.Status == HopMissing {
				missing++
			}
		}
		if missing > 0 && r.Hops != len(l.Hops) {
			t.Errorf("missing consumer: list %d hops, screen %d", r.Hops, len(l.Hops))
		}
		if len(l.Links) > 0 && l.Links[0].Rel == "redrive-of" && hops(l, HopDeadLetter, "") > 0 && (r.Status != StatusDeadLettered || l.Status != StatusDeadLettered) {
			t.Errorf("redriven copy dead-lettered again: list %v, screen %v", r.Status, l.Status)
		}
	}
}

// TestTypeFromSpan: a producer span naming the CloudEvents type (the OTel
// semantic convention) gives a live event its type.
func TestTypeFromSpan(t *testing.T) {
	t.Parallel()
	g := newTestGraph(10)
	o := otlpObs(otelSpan{
		trace: traceN(60), id: spanN(60), kind: tracing.SpanKindProducer, fn: "orders-api", req: uuidN('b', 60), system: "aws.eventbridge", op: "publish",
		dest: "orders", msgID: uuidN('d', 60), start: t0, end: t0.Add(20 * time.Millisecond), name: "orders publish",
	})
	o.Span.Attrs["cloudevents.event_type"] = "com.example.order.placed"
	g.Ingest(tracing.Batch{o})
	rows := g.Flows(FlowQuery{Limit: 10}).Rows
	if len(rows) != 1 || rows[0].Type != "com.example.order.placed" {
		t.Errorf("rows %+v", rows)
	}
}
