package graph

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

func hasKey(l Lineage, kind tracing.KeyKind, v string) bool {
	return slices.ContainsFunc(l.Keys, func(k tracing.Key) bool {
		return k.Kind == kind && (k.Value == v || strings.HasSuffix(k.Value, "\n"+v))
	})
}

func hops(l Lineage, kind HopKind, fn string) int {
	n := 0
	for _, h := range l.Hops {
		if h.Kind == kind && (fn == "" || h.Component.Name == fn) {
			n++
		}
	}
	return n
}

// snsNote is an SNS notification as an enveloped subscription delivers it.
func snsNote(id, message string) string {
	b, _ := json.Marshal(map[string]any{
		"Type": "Notification", "MessageId": id, "TopicArn": "arn:aws:sns:us-east-1:000000000000:orders-topic",
		"Message": message, "Timestamp": "2026-11-23T10:00:00.000Z", "SignatureVersion": "1",
	})
	return string(b)
}

// TestCloudEventIdentity: a structured CloudEvent published to SNS, fanned
// out to a raw-delivery queue and an enveloped queue whose consumer fails
// three times; the DLQ copy got a NEW MessageId (its body re-sent). The
// consumers log the CloudEvents id as event_id. All of it is one event,
// found whole by each of its IDs, in whatever order the sources arrive.
func TestCloudEventIdentity(t *testing.T) {
	t.Parallel()
	ceID, note := "6e7a1c52-7d4b-4f5e-9d7e-3c1f2a9b8e01", uuidN('f', 1)
	mRaw, mEnv, mDLQ := uuidN('a', 1), uuidN('a', 2), uuidN('a', 3)
	data := map[string]any{"order_id": "o-42", "total": 12.5}
	ce := ceBody(ceID, data)
	producer := invocationLogs{
		fn: "orders-api", req: uuidN('b', 1), trace: traceN(1), segment: spanN(1), start: t0, dur: 90 * time.Millisecond,
		app: []appLine{{"INFO", map[string]any{"order_id": "o-42", "published_event_id": ceID}}},
	}.batch()
	raw := invocationLogs{
		fn: "audit", req: uuidN('c', 1), trace: traceN(1), segment: spanN(2), start: t0.Add(time.Second), dur: 150 * time.Millisecond,
		app: []appLine{{"INFO", map[string]any{"messageId": mRaw, "event_id": ceID, "order_id": "o-42"}}},
	}.batch()
	var env tracing.Batch
	for i := 0; i < 3; i++ {
		env = append(env, invocationLogs{
			fn: "notify", req: uuidN('c', 10+i), trace: traceN(1), segment: spanN(10 + i), start: t0.Add(time.Duration(1+30*i) * time.Second), dur: 300 * time.Millisecond,
			app: []appLine{{"INFO", map[string]any{"messageId": mEnv, "event_id": ceID, "order_id": "o-42"}}, {"ERROR", map[string]any{"messageId": mEnv, "msg": "SMTP 451"}}},
		}.batch()...)
	}
	dlq := tracing.Batch{dlqObs("notify-dlq", mDLQ, snsNote(note, ce), "notify-queue", 1, t0.Add(95*time.Second), nil)}
	for _, order := range [][]tracing.Batch{{producer, raw, env, dlq}, {dlq, env, raw, producer}, {env, dlq, producer, raw}} {
		g := newTestGraph(100)
		for _, b := range order {
			g.Ingest(b)
		}
		for _, id := range []string{ceID, mRaw, mEnv, mDLQ, note} {
			l, err := g.Lineage(id)
			if err != nil {
				t.Fatalf("Lineage(%s): %v", id, err)
			}
			if l.ID != ceID || !hasKey(l, tracing.KeyMessageID, mRaw) || !hasKey(l, tracing.KeyMessageID, mDLQ) || !hasKey(l, tracing.KeyCloudEventID, ceID) {
				t.Errorf("Lineage(%s) = %s with keys %v", id, l.ID, l.Keys)
			}
			if l.Status != StatusDeadLettered || hops(l, HopInvoke, "notify") != 3 || hops(l, HopInvoke, "audit") != 1 || hops(l, HopPublish, "orders-api") != 1 {
				t.Errorf("Lineage(%s): status %v hops %s", id, l.Status, hopSummary(l))
			}
		}
		if m := g.Find(ceID, 10); len(m) != 1 {
			t.Errorf("Find(%s) = %+v, want one event", ceID, m)
		}
	}
}

// TestDirection: a producer that logs the message_id it sent, and whose
// X-Ray SendMessage subsegment names it (with SQS's request ID, not the
// function's), is the publisher, never a consumer; a subsegment without
// the function's request ID adds no second publish hop.
func TestDirection(t *testing.T) {
	t.Parallel()
	msg, req, trace := uuidN('a', 20), uuidN('b', 20), traceN(20)
	queue := "https://sqs.us-east-1.amazonaws.com/000000000000/billing-queue"
	tests := []struct {
		name    string
		field   string // what the producer logs
		subOnly bool   // X-Ray gave only the subsegment, without any request ID
	}{
		{"producer logs message_id", "message_id", false},
		{"producer logs published_message_id", "published_message_id", false},
		{"a lone subsegment without request ID", "published_message_id", true},
	}
	for _, tt := range tests {
		producer := invocationLogs{
			fn: "orders-api", req: req, trace: trace, segment: spanN(20), start: t0, dur: 80 * time.Millisecond,
			app: []appLine{{"INFO", map[string]any{tt.field: msg, "msg": "sent to billing"}}},
		}.batch()
		xray := tracing.Batch{
			xrayObs(segment{trace: trace, id: spanN(21), name: "orders-api", origin: "AWS::Lambda", start: t0, end: t0.Add(85 * time.Millisecond), requestID: req}),
			xrayObs(segment{trace: trace, id: spanN(20), parent: spanN(21), name: "orders-api", origin: "AWS::Lambda::Function", start: t0, end: t0.Add(80 * time.Millisecond)}),
			xrayObs(segment{
				trace: trace, id: spanN(22), parent: spanN(20), name: "SQS", fn: "orders-api", start: t0.Add(10 * time.Millisecond), end: t0.Add(30 * time.Millisecond),
				operation: "SendMessage", messageID: msg, queueURL: queue, requestID: uuidN('e', 20),
			}),
		}
		if tt.subOnly {
			sub := xray[2]
			sub.Keys = sub.Keys[:2] // trace and span: no aws.request_id
			sub.Relations = []tracing.Relation{sub.Relations[0], sub.Relations[len(sub.Relations)-1]}
			sub.Span.InvocationID = ""
			delete(sub.Span.Attrs, "aws.request_id")
			xray = tracing.Batch{sub}
		}
		consumer := invocationLogs{
			fn: "charge-card", req: uuidN('c', 20), trace: trace, segment: spanN(23), start: t0.Add(time.Second), dur: 200 * time.Millisecond,
			app: []appLine{{"INFO", map[string]any{"messageId": msg}}},
		}.batch()
		for _, order := range [][]tracing.Batch{{producer, xray, consumer}, {xray, producer, consumer}, {consumer, producer, xray}} {
			g := newTestGraph(100)
			for _, b := range order {
				g.Ingest(b)
			}
			l, err := g.Lineage(msg)
			if err != nil {
				t.Fatal(err)
			}
			if hops(l, HopPublish, "") != 1 || hops(l, HopPublish, "orders-api") != 1 || hops(l, HopInvoke, "orders-api") != 0 || hops(l, HopInvoke, "charge-card") != 1 {
				t.Errorf("%s: %s", tt.name, hopSummary(l))
			}
			for _, f := range g.Functions() {
				if f.Name == "orders-api" && f.Invocations != 1 {
					t.Errorf("%s: orders-api invocations %d, want 1", tt.name, f.Invocations)
				}
			}
		}
	}
}

// TestRedriveIsItsOwnEvent: a message dead-lettered, then redriven by
// flowtop (a new MessageId carrying the same EventBridge event, with
// flowtop-replay-of) and dead-lettered again, is two events: the original
// reads redriven and names its copy; the copy reads dead-lettered and names
// its original. The request IDs, trace and order_id they share attach
// without merging them.
func TestRedriveIsItsOwnEvent(t *testing.T) {
	t.Parallel()
	ev, m1, m2 := uuidN('d', 30), uuidN('a', 30), uuidN('a', 31)
	body := ebBody(ev, "OrderPlaced", map[string]any{"order_id": "o-9", "card": "declined"})
	attempts := func(msg string, from time.Time, base int) tracing.Batch {
		var b tracing.Batch
		for i := 0; i < 3; i++ {
			b = append(b, invocationLogs{
				fn: "charge-card", req: uuidN('c', base+i), trace: traceN(30), segment: spanN(base + i), start: from.Add(time.Duration(30*i) * time.Second), dur: 250 * time.Millisecond,
				app: []appLine{{"INFO", map[string]any{"messageId": msg, "eventId": ev, "order_id": "o-9"}}, {"ERROR", map[string]any{"messageId": msg, "msg": "CardDeclined"}}},
			}.batch()...)
		}
		return b
	}
	first := attempts(m1, t0, 300)
	dead := tracing.Batch{dlqObs("billing-dlq", m1, body, "billing-queue", 3, t0.Add(91*time.Second), nil)}
	redrive := tracing.Batch{tracing.CopyObservation(tracing.Key{Kind: tracing.KeyMessageID, Value: m2}, tracing.Key{Kind: tracing.KeyMessageID, Value: m1}, tracing.RelRedriveOf, t0.Add(120*time.Second), "flowtop redrive")}
	again := attempts(m2, t0.Add(121*time.Second), 310)
	deadAgain := tracing.Batch{dlqObs("billing-dlq", m2, body, "billing-queue", 3, t0.Add(212*time.Second), map[string]string{"flowtop-replay-of": m1})}
	for name, order := range map[string][]tracing.Batch{
		"live":                   {first, dead, redrive, again, deadAgain},
		"history, dlq peek only": {deadAgain, dead, first},
		"peeks first":            {dead, deadAgain, first, again},
	} {
		g := New(Config{MaxEvents: 100, Now: func() time.Time { return t0.Add(10 * time.Minute) }})
		for _, b := range order {
			g.Ingest(b)
		}
		orig, err := g.Lineage(m1)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cp, err := g.Lineage(m2)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if orig.ID != ev || cp.ID == orig.ID || hasKey(orig, tracing.KeyMessageID, m2) || hasKey(cp, tracing.KeyMessageID, m1) {
			t.Fatalf("%s: merged: original %s %v, copy %s %v", name, orig.ID, orig.Keys, cp.ID, cp.Keys)
		}
		if orig.Status != StatusRedriven || len(orig.Links) != 1 || orig.Links[0].Rel != "redriven-as" || orig.Links[0].ID != cp.ID {
			t.Errorf("%s: original %v links %+v", name, orig.Status, orig.Links)
		}
		if cp.Status != StatusDeadLettered || len(cp.Links) != 1 || cp.Links[0].Rel != "redrive-of" || cp.Links[0].ID != ev {
			t.Errorf("%s: copy %v links %+v (%s)", name, cp.Status, cp.Links, hopSummary(cp))
		}
		if o, c := hops(orig, HopInvoke, "charge-card"), hops(cp, HopInvoke, "charge-card"); o != 3 || (len(order) > 3 && c != 3) {
			t.Errorf("%s: attempts original %d copy %d", name, o, c)
		}
		if l, err := g.Lineage(ev); err != nil || l.ID != ev {
			t.Errorf("%s: Lineage(event id) = %s, %v", name, l.ID, err)
		}
		if _, err := g.Lineage("o-9"); !errors.Is(err, ErrAmbiguous) {
			t.Errorf("%s: Lineage(order id) = %v, want ambiguous (two events share it)", name, err)
		}
		assertRowsMatchLineage(t, g)
		for _, r := range g.Flows(FlowQuery{Limit: 10}).Rows {
			switch r.ID {
			case ev:
				if r.Link.Rel != "redriven-as" || r.Link.ID != cp.ID {
					t.Errorf("%s: original's row link %+v", name, r.Link)
				}
			case cp.ID:
				if r.Link.Rel != "redrive-of" || r.Link.ID != ev {
					t.Errorf("%s: copy's row link %+v", name, r.Link)
				}
			}
		}
	}
}

// TestBatchAndSharedIDs: five events consumed by one invocation (one request
// ID, one trace), two of them sharing an order_id and a producer invocation:
// five events, each whole, none merged.
func TestBatchAndSharedIDs(t *testing.T) {
	t.Parallel()
	g := newTestGraph(100)
	trace := traceN(40)
	var app []appLine
	for i := 0; i < 5; i++ {
		order := "o-" + string(rune('a'+i))
		if i == 1 {
			order = "o-a"
		}
		app = append(app, appLine{"INFO", map[string]any{"messageId": uuidN('a', 40+i), "eventId": uuidN('d', 40+i), "order_id": order}})
	}
	g.Ingest(invocationLogs{
		fn: "orders-api", req: uuidN('b', 40), trace: trace, segment: spanN(40), start: t0, dur: 50 * time.Millisecond,
		app: []appLine{{"INFO", map[string]any{"published_event_id": uuidN('d', 40), "order_id": "o-a"}}, {"INFO", map[string]any{"published_event_id": uuidN('d', 41), "order_id": "o-a"}}},
	}.batch())
	g.Ingest(invocationLogs{fn: "charge-card", req: uuidN('c', 40), trace: trace, segment: spanN(41), start: t0.Add(time.Second), dur: 400 * time.Millisecond, app: app}.batch())
	for i := 0; i < 5; i++ {
		l, err := g.Lineage(uuidN('a', 40+i))
		if err != nil || l.ID != uuidN('d', 40+i) || hops(l, HopInvoke, "charge-card") != 1 {
			t.Errorf("event %d: %s %v %s", i, l.ID, err, hopSummary(l))
		}
	}
	if got := g.Find(uuidN('c', 40), 10); len(got) != 5 {
		t.Errorf("the batch's request ID finds %d events, want 5", len(got))
	}
	if got := g.Find("o-a", 10); len(got) != 2 {
		t.Errorf("order o-a finds %d events, want 2", len(got))
	}
	if r := g.Flows(FlowQuery{Limit: 10}); r.Matched != 5 {
		t.Errorf("%d rows, want 5", r.Matched)
	}
}

// TestArchiveReplayIsItsOwnEvent: an EventBridge archive replay repeats the
// original's id with a replay-name; it is an event of its own, linked to the
// original, which reads replayed.
func TestArchiveReplayIsItsOwnEvent(t *testing.T) {
	t.Parallel()
	ev, m1, m2 := uuidN('d', 50), uuidN('a', 50), uuidN('a', 51)
	body := ebBody(ev, "OrderPlaced", map[string]any{"order_id": "o-5"})
	var obj map[string]any
	_ = json.Unmarshal([]byte(body), &obj)
	obj["replay-name"] = "fix-billing"
	replayed, _ := json.Marshal(obj)
	g := newTestGraph(100)
	g.Ingest(tracing.Batch{dlqObs("billing-dlq", m1, body, "billing-queue", 3, t0, nil)})
	g.Ingest(tracing.Batch{dlqObs("billing-dlq", m2, string(replayed), "billing-queue", 3, t0.Add(time.Hour), nil)})
	orig, err := g.Lineage(m1)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := g.Lineage(m2)
	if err != nil {
		t.Fatal(err)
	}
	if orig.ID != ev || cp.ID == ev || orig.Status != StatusReplayed || len(orig.Links) != 1 || orig.Links[0].Rel != "replayed-as" || orig.Links[0].ID != cp.ID ||
		len(cp.Links) != 1 || cp.Links[0].Rel != "replay-of" || cp.Status != StatusDeadLettered {
		t.Errorf("original %s %v %+v; replay %s %v %+v", orig.ID, orig.Status, orig.Links, cp.ID, cp.Status, cp.Links)
	}
	if l, err := g.Lineage(ev); err != nil || l.ID != ev {
		t.Errorf("Lineage(original id) = %s, %v", l.ID, err)
	}
}

// TestDLQCopyNewMessageID: a copy tool re-sent the failed message's body to
// the DLQ under a new MessageId. The copy joins its event through the body,
// and sits under the one source-queue hop the consumer's span showed.
func TestDLQCopyNewMessageID(t *testing.T) {
	t.Parallel()
	ceID, note, mEnv, mDLQ := uuidN('d', 70), uuidN('f', 70), uuidN('a', 70), uuidN('a', 71)
	req, trace := uuidN('c', 70), traceN(70)
	consumer := tracing.Batch{otlpObs(otelSpan{
		trace: trace, id: spanN(70), kind: tracing.SpanKindConsumer, fn: "notify", req: req, system: "aws_sqs", op: "process",
		dest: "notify-queue", msgID: mEnv, start: t0, end: t0.Add(300 * time.Millisecond), failed: true, errorMsg: "SMTP 451", name: "notify-queue process",
	})}
	consumer = append(consumer, invocationLogs{
		fn: "notify", req: req, trace: trace, segment: spanN(71), start: t0, dur: 300 * time.Millisecond,
		app: []appLine{{"INFO", map[string]any{"messageId": mEnv, "event_id": ceID}}, {"ERROR", map[string]any{"messageId": mEnv, "msg": "SMTP 451"}}},
	}.batch()...)
	dlq := tracing.Batch{dlqObs("notify-dlq", mDLQ, snsNote(note, ceBody(ceID, map[string]any{"order_id": "o-7"})), "notify-queue", 1, t0.Add(time.Second), nil)}
	g := newTestGraph(100)
	g.Ingest(consumer)
	g.Ingest(dlq)
	l, err := g.Lineage(mDLQ)
	if err != nil {
		t.Fatal(err)
	}
	queues, dead := 0, -1
	for i, h := range l.Hops {
		if h.Kind == HopBroker && h.Component.Name == "notify-queue" {
			queues++
			if h.Parent < 0 || l.Hops[h.Parent].Component.Name != "orders-topic" {
				t.Errorf("the queue is not under the topic that fed it: %s", hopSummary(l))
			}
		}
		if h.Kind == HopDeadLetter {
			dead = i
		}
	}
	if l.ID != ceID || queues != 1 || dead < 0 || l.Hops[l.Hops[dead].Parent].Component.Name != "notify-queue" || l.Status != StatusDeadLettered ||
		hops(l, HopInvoke, "notify") != 1 {
		t.Errorf("%s: %s", l.ID, hopSummary(l))
	}
}

// TestReplayOfNamesAnEventID: flowtop-replay-of (and flowtop's bus replay
// marker) may name the original's event ID rather than its message ID; the
// copy still links to the original event, not to a new empty one.
func TestReplayOfNamesAnEventID(t *testing.T) {
	t.Parallel()
	ev, m1, m2, ev2 := uuidN('d', 80), uuidN('a', 80), uuidN('a', 81), uuidN('d', 81)
	body := ebBody(ev, "OrderPlaced", map[string]any{"order_id": "o-8"})
	g := newTestGraph(100)
	g.Ingest(tracing.Batch{dlqObs("billing-dlq", m1, body, "billing-queue", 3, t0, nil)})
	// An SQS replay of the event's body, dead-lettered again, names the event ID.
	g.Ingest(tracing.Batch{dlqObs("billing-dlq", m2, body, "billing-queue", 3, t0.Add(time.Hour), map[string]string{"flowtop-replay-of": ev})})
	// A bus replay by flowtop: a new event ID, with the replay-of marker.
	var obj map[string]any
	_ = json.Unmarshal([]byte(ebBody(ev2, "OrderPlaced", map[string]any{"order_id": "o-8"})), &obj)
	obj["resources"] = []string{"arn:aws:flowtop:::replay-of/" + ev}
	replayed, _ := json.Marshal(obj)
	g.Ingest(tracing.Batch{dlqObs("billing-dlq", uuidN('a', 82), string(replayed), "billing-queue", 3, t0.Add(2*time.Hour), nil)})
	// A redrive tool that reports the original as a message ID, which is the event's.
	m3 := uuidN('a', 83)
	g.Ingest(tracing.Batch{tracing.CopyObservation(tracing.Key{Kind: tracing.KeyMessageID, Value: m3}, tracing.Key{Kind: tracing.KeyMessageID, Value: ev}, tracing.RelRedriveOf, t0.Add(3*time.Hour), "redrive tool")})
	orig, err := g.Lineage(ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(orig.Links) != 3 || orig.Keys == nil || !hasKey(orig, tracing.KeyMessageID, m1) {
		t.Fatalf("original %s links %+v", hopSummary(orig), orig.Links)
	}
	for _, id := range []string{m2, ev2, m3} {
		cp, err := g.Lineage(id)
		if err != nil || cp.ID == ev || len(cp.Links) != 1 || cp.Links[0].ID != ev {
			t.Errorf("copy %s: %s %v links %+v", id, cp.ID, err, cp.Links)
		}
	}
	if r := g.Flows(FlowQuery{Limit: 10}); r.Matched != 4 {
		t.Errorf("%d rows, want the original and three copies", r.Matched)
	}
	// Alone (no body of the copy to repair it), the misnamed original must
	// still be found, not stood in for by a new, empty event.
	g = newTestGraph(100)
	g.Ingest(tracing.Batch{dlqObs("billing-dlq", m1, body, "billing-queue", 3, t0, nil)})
	g.Ingest(tracing.Batch{tracing.CopyObservation(tracing.Key{Kind: tracing.KeyMessageID, Value: m3}, tracing.Key{Kind: tracing.KeyMessageID, Value: ev}, tracing.RelRedriveOf, t0.Add(3*time.Hour), "redrive tool")})
	if l, err := g.Lineage(ev); err != nil || len(l.Links) != 1 || l.Status != StatusRedriven {
		t.Errorf("original alone: %v links %+v status %v", err, l.Links, l.Status)
	}
}
