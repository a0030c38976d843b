package graph

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// producerObs is orders-api publishing once: its log names the event it
// published (published_event_id), its OTLP producer span the SNS MessageId
// the topic answered (or, for the bus, the event ID again).
func producerObs(req string, trace tracing.TraceID, at time.Time, logged []string, spans []otelSpan) (logs, sps tracing.Batch) {
	iv := invocationLogs{fn: "orders-api", req: req, trace: trace, segment: spanN(9), start: at, dur: 60 * time.Millisecond}
	for _, id := range logged {
		iv.app = append(iv.app, appLine{"INFO", map[string]any{"order_id": "o-1", "published_event_id": id}})
	}
	for i, s := range spans {
		s.trace, s.id, s.kind, s.fn, s.req, s.op = trace, spanN(100+i), tracing.SpanKindProducer, "orders-api", req, "publish"
		s.start, s.end = at, at.Add(60*time.Millisecond)
		sps = append(sps, otlpObs(s))
	}
	return iv.batch(), sps
}

// TestProducerSpanAndLogNameOnePublish: a CloudEvent published straight to
// SNS is named by the producer's log (its id, as published_event_id) and by
// its span (the SNS MessageId): one event from the start, whichever source
// comes first, with the topic the span names right under the producer (no
// bus in between, although a rule also routes the bus to that topic). Two
// parcels published by one invocation stay two events.
func TestProducerSpanAndLogNameOnePublish(t *testing.T) {
	t.Parallel()
	ceID, snsID, req := "6e7a1c52-7d4b-4f5e-9d7e-3c1f2a9b8e02", uuidN('f', 7), uuidN('b', 7)
	for _, spanFirst := range []bool{true, false} {
		g := New(Config{Now: func() time.Time { return t0.Add(time.Second) }})
		g.Ingest(tracing.Batch{routeObs(demoRoutes(), t0)})
		logs, spans := producerObs(req, traceN(7), t0, []string{ceID}, []otelSpan{{system: "aws_sns", dest: "order-events", msgID: snsID}})
		if spanFirst {
			logs, spans = spans, logs
		}
		g.Ingest(logs)
		g.Ingest(spans)
		a, errA := g.Lineage(snsID)
		b, errB := g.Lineage(ceID)
		if errA != nil || errB != nil || a.ID != b.ID {
			t.Fatalf("span first %v: by SNS id %q %v, by event id %q %v: want one event", spanFirst, a.ID, errA, b.ID, errB)
		}
		if n := hops(a, HopPublish, "orders-api"); n != 1 || len(a.Hops) != 2 || a.Hops[1].Component != tTopic || a.Hops[1].Parent != 0 {
			t.Errorf("span first %v: hops %+v, want orders-api → topic/order-events", spanFirst, a.Hops)
		}
		if rows := g.Flows(FlowQuery{Limit: 10}).Rows; len(rows) != 1 {
			t.Errorf("span first %v: %d rows, want 1", spanFirst, len(rows))
		}
		if !mapHas(g, tAPI, tTopic) {
			t.Errorf("span first %v: the map lacks orders-api → order-events", spanFirst)
		}
	}
	// Two parcels: two events published by one invocation, each named by
	// its log and its span.
	g := New(Config{})
	e1, e2 := uuidN('d', 71), uuidN('d', 72)
	logs, spans := producerObs(uuidN('b', 8), traceN(8), t0, []string{e1, e2},
		[]otelSpan{{system: "aws.eventbridge", dest: "orders", msgID: e1}, {system: "aws.eventbridge", dest: "orders", msgID: e2}})
	g.Ingest(spans[:1])
	g.Ingest(logs)
	g.Ingest(spans[1:])
	if a, _ := g.Lineage(e1); a.ID != e1 || len(g.Flows(FlowQuery{Limit: 10}).Rows) != 2 {
		t.Errorf("parcels: %q, %d rows; want two events", a.ID, len(g.Flows(FlowQuery{Limit: 10}).Rows))
	}
	// One SNS publish seen by a span, two events logged: which one it
	// carries is unknown, so nothing joins.
	g = New(Config{})
	logs, spans = producerObs(uuidN('b', 9), traceN(9), t0, []string{uuidN('d', 91), uuidN('d', 92)}, []otelSpan{{system: "aws_sns", dest: "order-events", msgID: uuidN('f', 9)}})
	g.Ingest(spans)
	g.Ingest(logs)
	if a, err := g.Lineage(uuidN('f', 9)); err != nil || len(a.Keys) == 0 || hasKind(a.Keys, tracing.KeyEventID) {
		t.Errorf("one span, two logged events: %+v %v; want the SNS message alone", a.Keys, err)
	}
}

func hasKind(keys []tracing.Key, kind tracing.KeyKind) bool {
	for _, k := range keys {
		if k.Kind == kind {
			return true
		}
	}
	return false
}

func mapHas(g *Graph, from, to tracing.Component) bool {
	for _, e := range g.Map().Edges {
		if e.From == from && e.To == to && e.Observed {
			return true
		}
	}
	return false
}

// TestConsumerResendsToDLQ: send-email parks an order in email-dlq itself
// (a new MessageId, no DeadLetterQueueSourceArn) while charge-card handles
// the same event from billing-queue at the same time. The copy sits under
// send-email's invocation, and the map shows send-email → email-dlq; a copy
// sent after every invocation ended is no consumer's.
func TestConsumerResendsToDLQ(t *testing.T) {
	t.Parallel()
	tEmailD := tracing.Component{Kind: tracing.ComponentQueue, Name: "email-dlq"}
	for _, late := range []bool{false, true} {
		g := New(Config{Now: func() time.Time { return t0.Add(3 * time.Second) }})
		g.Ingest(tracing.Batch{routeObs(demoRoutes(), t0)})
		ev, note, mEmail, mBill, dlq := uuidN('d', 60), uuidN('f', 60), uuidN('a', 60), uuidN('a', 61), uuidN('a', 62)
		start := t0.Add(100 * time.Millisecond)
		for i, c := range []struct{ fn, queue, msg string }{{"send-email", "email-queue", mEmail}, {"charge-card", "billing-queue", mBill}} {
			req := uuidN('c', 60+i)
			g.Ingest(tracing.Batch{otlpObs(otelSpan{
				trace: traceN(60 + i), id: spanN(60 + i), kind: tracing.SpanKindConsumer, fn: c.fn, req: req, system: "aws_sqs", op: "process",
				dest: c.queue, msgID: c.msg, start: start, end: start.Add(150 * time.Millisecond), name: c.queue + " process",
			})})
			g.Ingest(invocationLogs{
				fn: c.fn, req: req, trace: traceN(60 + i), segment: spanN(70 + i), start: start, dur: 150 * time.Millisecond,
				app: []appLine{{"INFO", map[string]any{"messageId": c.msg, "event_id": ev}}},
			}.batch())
		}
		sent := start.Add(20 * time.Millisecond)
		if late {
			sent = start.Add(time.Second)
		}
		body, _ := json.Marshal(map[string]any{
			"Type": "Notification", "MessageId": note, "TopicArn": "arn:aws:sns:us-east-1:000000000000:order-events",
			"Message": ebBody(ev, "OrderPlaced", map[string]any{"order_id": "o-60"}), "Timestamp": "2026-11-23T10:00:00.000Z",
		})
		g.Ingest(tracing.Batch{dlqObs("email-dlq", dlq, string(body), "", 0, sent, nil)})
		l, err := g.Lineage(ev)
		if err != nil {
			t.Fatal(err)
		}
		var parent Hop
		for _, h := range l.Hops {
			if h.Kind == HopDeadLetter && h.Component == tEmailD {
				parent = l.Hops[h.Parent]
			}
		}
		byConsumer := parent.Kind == HopInvoke && parent.Component == tEmail
		if byConsumer == late || mapHas(g, tEmail, tEmailD) == late {
			t.Errorf("sent late %v: the DLQ copy sits under %v %v (map edge %v)", late, parent.Kind, parent.Component, mapHas(g, tEmail, tEmailD))
		}
		if l.Status != StatusDeadLettered {
			t.Errorf("sent late %v: status %v", late, l.Status)
		}
	}
}

// TestRuleTargetSpanAndLogNameOneEvent: reserve-stock, a rule target, gets
// a CloudEvent inside an EventBridge event; its span names the EventBridge
// id, its log the CloudEvents id as event_id, and nothing else ties them
// until a DLQ body does: one invocation, one event, from its REPORT on. The
// invocation stays one hop.
func TestRuleTargetSpanAndLogNameOneEvent(t *testing.T) {
	t.Parallel()
	ev, ceID, req := uuidN('d', 80), "6e7a1c52-7d4b-4f5e-9d7e-3c1f2a9b8e80", uuidN('c', 80)
	g := New(Config{})
	start := t0.Add(50 * time.Millisecond)
	g.Ingest(tracing.Batch{otlpObs(otelSpan{
		trace: traceN(80), id: spanN(80), kind: tracing.SpanKindConsumer, fn: "reserve-stock", req: req, system: "aws.eventbridge", op: "process",
		dest: "orders", msgID: ev, start: start, end: start.Add(80 * time.Millisecond), name: "reserve-stock process",
	})})
	logs := invocationLogs{
		fn: "reserve-stock", req: req, trace: traceN(80), segment: spanN(81), start: start, dur: 80 * time.Millisecond,
		app: []appLine{{"INFO", map[string]any{"event_id": ceID, "order_id": "o-80"}}},
	}.batch()
	g.Ingest(logs[:len(logs)-1]) // all but the REPORT: the log may still name more
	if a, _ := g.Lineage(ev); hasValue(a.Keys, ceID) {
		t.Fatalf("joined before the REPORT: %+v", a.Keys)
	}
	g.Ingest(logs[len(logs)-1:])
	a, errA := g.Lineage(ev)
	b, errB := g.Lineage(ceID)
	if errA != nil || errB != nil || a.ID != b.ID {
		t.Fatalf("by EventBridge id %q %v, by event_id %q %v: want one event", a.ID, errA, b.ID, errB)
	}
	if n := hops(a, HopInvoke, "reserve-stock"); n != 1 {
		t.Errorf("%d reserve-stock hops, want 1: %+v", n, a.Hops)
	}
	// A batch: two messages by span, two by log; nothing joins.
	g = New(Config{})
	req = uuidN('c', 81)
	for i := range 2 {
		g.Ingest(tracing.Batch{otlpObs(otelSpan{
			trace: traceN(81), id: spanN(82 + i), kind: tracing.SpanKindConsumer, fn: "record-analytics", req: req, system: "aws_sqs", op: "process",
			dest: "analytics-queue", msgID: uuidN('a', 82+i), start: start, end: start.Add(40 * time.Millisecond),
		})})
	}
	g.Ingest(invocationLogs{
		fn: "record-analytics", req: req, trace: traceN(81), segment: spanN(90), start: start, dur: 40 * time.Millisecond,
		app: []appLine{{"INFO", map[string]any{"event_id": uuidN('d', 82)}}, {"INFO", map[string]any{"event_id": uuidN('d', 83)}}},
	}.batch())
	for i := range 2 {
		if a, err := g.Lineage(uuidN('a', 82+i)); err != nil || hasKind(a.Keys, tracing.KeyEventID) {
			t.Errorf("batch: message %d: %+v %v; want it apart (nothing says which message carried which event)", i, a.Keys, err)
		}
	}
}

func hasValue(keys []tracing.Key, v string) bool {
	for _, k := range keys {
		if k.Value == v || displayID(k) == v {
			return true
		}
	}
	return false
}
