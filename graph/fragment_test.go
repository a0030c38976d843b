package graph

import (
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// order is one order of the demo: the producer's log names the event it
// published; the consumer's OTLP span (pushed at once) names only the SQS
// message; the consumer's log lines, read a little later, tie the message to
// the event.
func orderObs(n int, at time.Time) (producer, span, consumerLogs tracing.Batch) {
	ev, msg, trace := uuidN('d', 2000+n), uuidN('a', 2000+n), traceN(2000+n)
	req := uuidN('c', 2000+n)
	producer = invocationLogs{
		fn: "orders-api", req: uuidN('b', 2000+n), trace: trace, segment: spanN(n), start: at, dur: 60 * time.Millisecond,
		app: []appLine{{"INFO", map[string]any{"order_id": "o-1", "published_event_id": ev}}},
	}.batch()
	start := at.Add(100 * time.Millisecond)
	span = tracing.Batch{otlpObs(otelSpan{
		trace: trace, id: spanN(n + 100000), kind: tracing.SpanKindConsumer, fn: "charge-card", req: req, system: "aws_sqs", op: "process",
		dest: "billing-queue", msgID: msg, start: start, end: start.Add(200 * time.Millisecond), name: "billing-queue process",
	})}
	consumerLogs = invocationLogs{
		fn: "charge-card", req: req, trace: trace, segment: spanN(n + 200000), start: start, dur: 200 * time.Millisecond,
		app: []appLine{{"INFO", map[string]any{"messageId": msg, "eventId": ev, "order_id": "o-1"}}},
	}.batch()
	return producer, span, consumerLogs
}

// TestFragmentsWait: orders arrive every 250 ms; each consumer span arrives
// 300 ms after its order, its logs 1.5 s after that. At every refresh (each
// 500 ms) the list shows exactly one row per order published so far: the
// span that arrived before the log tying it never shows as a second row.
func TestFragmentsWait(t *testing.T) {
	t.Parallel()
	now := t0
	g := New(Config{MaxEvents: 10_000, Now: func() time.Time { return now }})
	type pending struct {
		at time.Time
		b  tracing.Batch
	}
	var queue []pending
	const orders = 40
	for n := 0; n < orders; n++ {
		at := t0.Add(time.Duration(n) * 250 * time.Millisecond)
		p, s, l := orderObs(n, at)
		queue = append(queue, pending{at, p}, pending{at.Add(300 * time.Millisecond), s}, pending{at.Add(1800 * time.Millisecond), l})
	}
	published := 0
	for tick := t0; tick.Before(t0.Add(15 * time.Second)); tick = tick.Add(50 * time.Millisecond) {
		now = tick
		for i := 0; i < len(queue); {
			if queue[i].at.After(tick) {
				i++
				continue
			}
			g.Ingest(queue[i].b)
			if queue[i].b[0].Kind != tracing.ObsSpan && queue[i].b[0].Component.Name == "orders-api" {
				published++
			}
			queue = append(queue[:i], queue[i+1:]...)
		}
		if tick.Sub(t0)%(500*time.Millisecond) != 0 {
			continue
		}
		page := g.Flows(FlowQuery{Limit: 1000})
		if page.Matched != published || len(page.Rows) != published {
			t.Fatalf("at +%v: %d rows (%d matched), want one per order published (%d)", tick.Sub(t0), len(page.Rows), page.Matched, published)
		}
	}
	if published != orders {
		t.Fatalf("published %d", published)
	}
	for _, r := range g.Flows(FlowQuery{Limit: 1000}).Rows {
		if r.Hops != 3 || r.Status != StatusSucceeded {
			t.Errorf("row %s: %d hops, %v", r.ID, r.Hops, r.Status)
		}
	}
}

// TestFragmentShowsAfterWait: a consumer span that nothing ties waits the
// bound (2 s by the injected clock), then becomes a row of its own; held
// fragments are bounded, and those shown early are counted.
func TestFragmentShowsAfterWait(t *testing.T) {
	t.Parallel()
	now := t0
	g := New(Config{MaxEvents: 100_000, Now: func() time.Time { return now }})
	_, span, _ := orderObs(1, t0)
	g.Ingest(span)
	if r := g.Flows(FlowQuery{Limit: 10}); r.Matched != 0 || len(r.Rows) != 0 {
		t.Errorf("a fresh fragment is a row: %+v", r)
	}
	if tot := g.Totals(); tot.Waiting != 1 {
		t.Errorf("waiting %d, want 1", tot.Waiting)
	}
	// It can still be looked up while it waits.
	if _, err := g.Lineage(uuidN('a', 2001)); err != nil {
		t.Errorf("Lineage of a waiting fragment: %v", err)
	}
	now = t0.Add(1900 * time.Millisecond)
	if r := g.Flows(FlowQuery{Limit: 10}); r.Matched != 0 {
		t.Errorf("shown before the wait is over: %d rows", r.Matched)
	}
	now = t0.Add(2 * time.Second)
	if r := g.Flows(FlowQuery{Limit: 10, Sort: SortStatus}); r.Matched != 1 || len(r.Rows) != 1 || r.Rows[0].ID != uuidN('a', 2001) {
		t.Errorf("after the wait: %+v", r)
	}
	g.Ingest(nil)
	g.Ingest(tracing.Batch{otlpObs(otelSpan{trace: traceN(9), id: spanN(9), kind: tracing.SpanKindConsumer, fn: "f", system: "aws_sqs", op: "process", msgID: uuidN('a', 9), start: now, end: now})})
	if tot := g.Totals(); tot.Waiting != 1 || len(g.frag) != 1 {
		t.Errorf("expired fragments kept: waiting %d, held %d", tot.Waiting, len(g.frag))
	}
	// Bounded: past maxFragments, new fragments show at once and are counted.
	var b tracing.Batch
	for i := 0; i < maxFragments+10; i++ {
		b = append(b, otlpObs(otelSpan{trace: traceN(10 + i), id: spanN(10 + i), kind: tracing.SpanKindConsumer, fn: "f", system: "aws_sqs", op: "process", msgID: uuidN('e', i), start: now, end: now}))
	}
	g.Ingest(b)
	if tot := g.Totals(); tot.Waiting != maxFragments || tot.WaitSkipped != 11 || len(g.frag) > maxFragments {
		t.Errorf("waiting %d (held %d), shown early %d; want %d and 11", tot.Waiting, len(g.frag), tot.WaitSkipped, maxFragments)
	}
}
