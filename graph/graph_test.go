package graph

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func newTestGraph(max int) *Graph {
	return New(Config{MaxEvents: max, Now: func() time.Time { return t0.Add(time.Minute) }})
}

// scenario builds, from raw AWS-format inputs, the observations of one order:
// an EventBridge PutEvents span from orders-api, the event delivered to
// billing-queue (an SQS ReceiveMessage body with the EventBridge envelope),
// three charge-card invocations (START, app log naming the message, REPORT;
// the first two fail), and the DLQ copy of the message.
func scenario(eventID, messageID, trace string, reqs [3]string) tracing.Batch {
	traceID, _ := tracing.ParseTraceID(trace)
	spanID, _ := tracing.ParseSpanID("53995c3f42cd8ad8")
	var b tracing.Batch
	// 1. The producer's span (as the OTLP collector emits it).
	b = append(b, tracing.Observation{
		Kind: tracing.ObsSpan, Source: "otlp", Time: t0,
		Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "orders-api"},
		Keys:      []tracing.Key{{Kind: tracing.KeyTraceID, Value: traceID.String()}, tracing.SpanKey(traceID, spanID)},
		Relations: []tracing.Relation{{From: tracing.SpanKey(traceID, spanID), To: tracing.Key{Kind: tracing.KeyEventID, Value: eventID}, Kind: tracing.RelPublished, Evidence: "messaging.message.id on the PutEvents span"}},
		Span:      &tracing.Span{TraceID: traceID, SpanID: spanID, Name: "EventBridge.PutEvents", Service: "orders-api", Kind: tracing.SpanKindProducer, Start: t0, End: t0.Add(20 * time.Millisecond), Messaging: tracing.Messaging{System: "aws.eventbridge", Operation: "publish", Destination: "orders", MessageID: eventID}},
	})
	// 2. The SQS message carrying the event, as ReceiveMessage returns it.
	ebBody := `{"version":"0","id":"` + eventID + `","detail-type":"OrderPlaced","source":"orders.api","account":"000000000000","time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],"detail":{"order_id":"o-1"}}`
	sqsBody := `{"MessageId":"` + messageID + `","Body":` + jsonString(ebBody) + `,"Attributes":{"AWSTraceHeader":"Root=` + traceID.XRay() + `;Parent=53995c3f42cd8ad8;Sampled=1","ApproximateReceiveCount":"1"}}`
	u := tracing.Unwrap([]byte(sqsBody))
	b = append(b, tracing.Observation{
		Kind: tracing.ObsMessage, Source: "sqs", Time: t0.Add(30 * time.Millisecond),
		Component: tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-queue"},
		Keys:      u.Keys, Relations: u.Relations,
		Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: "billing-queue", ID: messageID, Body: ebBody, Layers: u.Layers[1:], Attributes: map[string]string{"AWSTraceHeader": u.Layers[0].TraceHeader}},
	})
	// 3. Three attempts by charge-card, from its log group (text format).
	logs := func(i int, at time.Time, ok bool) {
		req := reqs[i]
		lines := []string{
			"START RequestId: " + req + " Version: $LATEST",
			at.Format(time.RFC3339Nano) + "\t" + req + "\tINFO\t" + `{"messageId":"` + messageID + `","msg":"charging"}`,
		}
		status := ""
		if !ok {
			lines = append(lines, at.Format(time.RFC3339Nano)+"\t"+req+"\tERROR\tCardDeclined: insufficient funds")
			status = "\tStatus: error\tError Type: CardDeclined"
		}
		lines = append(lines, "END RequestId: "+req, "REPORT RequestId: "+req+"\tDuration: 120.50 ms\tBilled Duration: 121 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB"+status+"\nXRAY TraceId: "+traceID.XRay()+"\tSegmentId: 07a85e713f6302b2\tSampled: true")
		for j, l := range lines {
			o := tracing.ParseLambdaLog(tracing.LogInput{Group: "/aws/lambda/charge-card", Stream: "s", Time: at.Add(time.Duration(j) * time.Millisecond), Message: l}, tracing.LogOptions{})
			o.Source = "cwlogs"
			b = append(b, o)
		}
	}
	logs(0, t0.Add(100*time.Millisecond), false)
	logs(1, t0.Add(31*time.Second), false)
	logs(2, t0.Add(62*time.Second), false)
	// 4. The DLQ copy (what the DLQ collector peeks).
	b = append(b, tracing.Observation{
		Kind: tracing.ObsMessage, Source: "dlq", Time: t0.Add(93 * time.Second),
		Component: tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-dlq"},
		Keys:      u.Keys,
		Message:   &tracing.Message{Broker: tracing.BrokerSQS, Queue: "billing-dlq", ID: messageID, Body: ebBody, DeadLetter: true, ReceiveCount: 3, SourceQueue: "billing-queue", Layers: u.Layers[1:]},
	})
	return b
}

func jsonString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

const testTrace = "5759e988bd862e3fe1be46a994272793"

var testReqs = [3]string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"}

func hopSummary(l Lineage) string {
	var parts []string
	for _, h := range l.Hops {
		s := fmt.Sprintf("%s:%s", h.Kind, h.Component.Name)
		if h.Attempt > 0 && h.Kind == HopInvoke {
			s += fmt.Sprintf("#%d", h.Attempt)
		}
		if h.Status != HopOK {
			s += "(" + h.Status.String() + ")"
		}
		parts = append(parts, fmt.Sprintf("%d<%d %s", len(parts), h.Parent, s))
	}
	return strings.Join(parts, " | ")
}

// TestCorpusEventLineage is the done-when: one event from raw inputs,
// its hops in order with evidence, found by each of its IDs.
func TestCorpusEventLineage(t *testing.T) {
	t.Parallel()
	g := newTestGraph(1000)
	g.Ingest(scenario("ev-1", "msg-1", testTrace, testReqs))
	l, err := g.Lineage("ev-1")
	if err != nil {
		t.Fatal(err)
	}
	want := "0<-1 publish:orders-api | 1<0 broker:orders | 2<1 broker:billing-queue | 3<2 invoke:charge-card#1(error) | 4<2 invoke:charge-card#2(error) | 5<2 invoke:charge-card#3(error) | 6<2 dead-letter:billing-dlq(error)"
	if got := hopSummary(l); got != want {
		t.Errorf("hops:\n got %s\nwant %s", got, want)
	}
	if l.Status != StatusDeadLettered || l.Type != "OrderPlaced" || l.ID != "ev-1" {
		t.Errorf("status %v type %q id %q", l.Status, l.Type, l.ID)
	}
	for i, h := range l.Hops {
		if h.Parent >= 0 && h.Evidence == "" {
			t.Errorf("hop %d has no evidence", i)
		}
		if h.Parent >= i {
			t.Errorf("hop %d's parent %d does not precede it", i, h.Parent)
		}
	}
	inv := l.Hops[3]
	if inv.ErrorType != "CardDeclined" || inv.Duration != 120500*time.Microsecond || len(inv.Logs) != 5 || inv.CostUSD <= 0 {
		t.Errorf("invocation hop: %+v", inv)
	}
	if len(l.DLQ) != 1 || l.DLQ[0].Error != "CardDeclined" || l.DLQ[0].ReceiveCount != 3 {
		t.Errorf("dlq: %+v", l.DLQ)
	}
	if len(l.Spans) != 1 || l.Spans[0].Span.Name != "EventBridge.PutEvents" {
		t.Errorf("spans: %+v", l.Spans)
	}
	for _, id := range []string{"ev-1", "msg-1", testTrace, "1-5759e988-bd862e3fe1be46a994272793", testReqs[0], testReqs[2], "msg-"} {
		got, err := g.Lineage(id)
		if id == "msg-" {
			// a prefix of a strong key
			if err != nil || got.ID != "ev-1" {
				t.Errorf("Lineage(prefix %q) = %v, %v", id, got.ID, err)
			}
			continue
		}
		if err != nil || got.ID != "ev-1" {
			t.Errorf("Lineage(%q) = %q, %v", id, got.ID, err)
		}
	}
	if _, err := g.Lineage("no-such-id"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	fns := g.Functions()
	if len(fns) != 1 || fns[0].Name != "charge-card" || fns[0].Invocations != 3 || fns[0].Errors != 3 || fns[0].P95 < 119*time.Millisecond || fns[0].P95 > 122*time.Millisecond {
		t.Errorf("functions: %+v", fns)
	}
	if msgs := g.DLQMessages("billing-dlq"); len(msgs) != 1 || msgs[0].EventID != "ev-1" {
		t.Errorf("dlq messages: %+v", msgs)
	}
}

// TestShuffledOrder: any arrival order gives the same lineage.
func TestShuffledOrder(t *testing.T) {
	t.Parallel()
	base := newTestGraph(1000)
	base.Ingest(scenario("ev-1", "msg-1", testTrace, testReqs))
	want, _ := base.Lineage("ev-1")
	for seed := uint64(1); seed <= 20; seed++ {
		b := scenario("ev-1", "msg-1", testTrace, testReqs)
		r := rand.New(rand.NewPCG(seed, seed))
		r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
		g := newTestGraph(1000)
		for _, o := range b { // one observation per batch, worst case
			g.Ingest(tracing.Batch{o})
		}
		got, err := g.Lineage("msg-1")
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if hopSummary(got) != hopSummary(want) || got.Status != want.Status || got.ID != want.ID {
			t.Errorf("seed %d:\n got %s (%v)\nwant %s (%v)", seed, hopSummary(got), got.Status, hopSummary(want), want.Status)
		}
		if g.Totals().Events != 1 {
			t.Errorf("seed %d: %d events, want 1", seed, g.Totals().Events)
		}
	}
}

// TestBatchInvocationDoesNotMerge: one invocation consuming three messages of
// three events is a hop of each; the events stay apart.
func TestBatchInvocationDoesNotMerge(t *testing.T) {
	t.Parallel()
	g := newTestGraph(1000)
	req := "44444444-4444-4444-8444-444444444444"
	var b tracing.Batch
	for i := 1; i <= 3; i++ {
		eb := fmt.Sprintf(`{"version":"0","id":"ev-%d","detail-type":"T","source":"s","account":"1","time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],"detail":{}}`, i)
		u := tracing.Unwrap([]byte(eb))
		b = append(b, tracing.Observation{
			Kind: tracing.ObsMessage, Time: t0, Keys: u.Keys,
			Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: "q", ID: fmt.Sprintf("m-%d", i), Layers: u.Layers},
		})
		b = append(b, tracing.Observation{
			Kind: tracing.ObsSpan, Time: t0.Add(time.Second),
			Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "worker"},
			Relations: []tracing.Relation{{From: tracing.Key{Kind: tracing.KeyRequestID, Value: req}, To: tracing.Key{Kind: tracing.KeyMessageID, Value: fmt.Sprintf("m-%d", i)}, Kind: tracing.RelConsumed, Evidence: "span link"}},
		})
	}
	g.Ingest(b)
	if n := g.Totals().Events; n != 3 {
		t.Fatalf("%d events, want 3", n)
	}
	for i := 1; i <= 3; i++ {
		l, err := g.Lineage(fmt.Sprintf("ev-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(hopSummary(l), "invoke:worker") {
			t.Errorf("ev-%d: %s", i, hopSummary(l))
		}
	}
	if _, err := g.Lineage(req); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("Lineage(batch request) = %v, want ErrAmbiguous", err)
	}
	if m := g.Find(req, 10); len(m) != 3 {
		t.Errorf("Find(request) = %d matches, want 3", len(m))
	}
}

// TestCorrelationReuseDoesNotMerge: an order_id shared by two events links
// both without merging them.
func TestCorrelationReuseDoesNotMerge(t *testing.T) {
	t.Parallel()
	g := newTestGraph(1000)
	for i, typ := range []string{"OrderPlaced", "OrderShipped"} {
		eb := fmt.Sprintf(`{"version":"0","id":"ev-%d","detail-type":"%s","source":"s","account":"1","time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],"detail":{"order_id":"o-7"}}`, i, typ)
		u := tracing.UnwrapWith([]byte(eb), tracing.UnwrapOptions{CorrelationFields: []string{"detail.order_id"}})
		g.Ingest(tracing.Batch{{Kind: tracing.ObsMessage, Time: t0, Keys: u.Keys, Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: "q", ID: fmt.Sprintf("m-%d", i), Layers: u.Layers}}})
	}
	if n := g.Totals().Events; n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
	if _, err := g.Lineage("o-7"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("Lineage(order id) = %v, want ErrAmbiguous", err)
	}
	if m := g.Find("o-7", 10); len(m) != 2 {
		t.Errorf("Find = %+v", m)
	}
}

func TestStatusRules(t *testing.T) {
	t.Parallel()
	msg := func(id string) tracing.Observation {
		return tracing.Observation{
			Kind: tracing.ObsMessage, Time: t0, Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: id}},
			Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: "q", ID: id},
		}
	}
	consumed := func(id, req string, at time.Time, status tracing.InvocationStatus) tracing.Batch {
		return tracing.Batch{
			{
				Kind: tracing.ObsLog, Time: at, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "fn"},
				Keys: []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}, {Kind: tracing.KeyMessageID, Value: id}},
				Log:  &tracing.LogRecord{Kind: tracing.LogApp, RequestID: req, Message: "processing"},
			},
			{
				Kind: tracing.ObsInvocation, Time: at, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "fn"},
				Keys:       []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}},
				Log:        &tracing.LogRecord{Kind: tracing.LogReport, RequestID: req},
				Invocation: &tracing.Invocation{Function: "fn", RequestID: req, Duration: time.Millisecond, Status: status, MemorySizeMB: 128},
			},
		}
	}
	tests := []struct {
		name  string
		build func(g *Graph)
		want  Status
	}{
		{"in flight", func(g *Graph) { g.Ingest(tracing.Batch{msg("a")}) }, StatusInFlight},
		{"succeeded", func(g *Graph) {
			g.Ingest(tracing.Batch{msg("a")})
			g.Ingest(consumed("a", "r1", t0.Add(time.Second), tracing.InvocationSuccess))
		}, StatusSucceeded},
		{"retrying", func(g *Graph) {
			g.Ingest(tracing.Batch{msg("a")})
			g.Ingest(consumed("a", "r1", t0.Add(time.Second), tracing.InvocationError))
		}, StatusRetrying},
		{"succeeded after a retry", func(g *Graph) {
			g.Ingest(tracing.Batch{msg("a")})
			g.Ingest(consumed("a", "r1", t0.Add(time.Second), tracing.InvocationError))
			g.Ingest(consumed("a", "r2", t0.Add(2*time.Second), tracing.InvocationSuccess))
		}, StatusSucceeded},
		{"failed (direct invocation)", func(g *Graph) {
			g.Ingest(tracing.Batch{{Kind: tracing.ObsMessage, Time: t0, Keys: []tracing.Key{{Kind: tracing.KeyEventID, Value: "e"}}, Message: &tracing.Message{Broker: tracing.BrokerEventBridge, Queue: "bus", ID: "e"}}})
			b := consumed("e", "r1", t0.Add(time.Second), tracing.InvocationTimeout)
			b[0].Keys[1] = tracing.Key{Kind: tracing.KeyEventID, Value: "e"}
			g.Ingest(b)
		}, StatusFailed},
		{"dead-lettered", func(g *Graph) {
			g.Ingest(tracing.Batch{msg("a")})
			d := msg("a")
			d.Message = &tracing.Message{Broker: tracing.BrokerSQS, Queue: "dlq", ID: "a", DeadLetter: true, SourceQueue: "q"}
			g.Ingest(tracing.Batch{d})
		}, StatusDeadLettered},
		{"redriven", func(g *Graph) {
			g.Ingest(tracing.Batch{msg("a")})
			n := msg("b")
			n.Relations = []tracing.Relation{{From: tracing.Key{Kind: tracing.KeyMessageID, Value: "b"}, To: tracing.Key{Kind: tracing.KeyMessageID, Value: "a"}, Kind: tracing.RelRedriveOf}}
			g.Ingest(tracing.Batch{n})
		}, StatusRedriven},
		{"replayed", func(g *Graph) {
			g.Ingest(tracing.Batch{msg("a")})
			n := msg("c")
			n.Relations = []tracing.Relation{{From: tracing.Key{Kind: tracing.KeyMessageID, Value: "c"}, To: tracing.Key{Kind: tracing.KeyMessageID, Value: "a"}, Kind: tracing.RelReplayOf}}
			g.Ingest(tracing.Batch{n})
		}, StatusReplayed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGraph(100)
			tt.build(g)
			l, err := g.Lineage("a")
			if err != nil {
				l, err = g.Lineage("e")
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Status != tt.want {
				t.Errorf("status %v, want %v (%s)", l.Status, tt.want, hopSummary(l))
			}
			// A replayed or redriven copy is a row of its own; the original's
			// row reads as its lineage does.
			rows := g.Flows(FlowQuery{Limit: 10})
			found := false
			for _, r := range rows.Rows {
				if r.ID == l.ID {
					found = true
					if r.Status != tt.want {
						t.Errorf("row status %v, want %v", r.Status, tt.want)
					}
				}
			}
			if !found {
				t.Errorf("no row for %s in %+v", l.ID, rows.Rows)
			}
		})
	}
}

func TestMissingHop(t *testing.T) {
	t.Parallel()
	g := New(Config{Now: func() time.Time { return t0.Add(10 * time.Minute) }})
	g.Ingest(scenario("ev-1", "msg-1", testTrace, testReqs)) // teaches that charge-card consumes billing-queue
	u := tracing.Unwrap([]byte(`{"version":"0","id":"ev-2","detail-type":"OrderPlaced","source":"s","account":"1","time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],"detail":{}}`))
	g.Ingest(tracing.Batch{{Kind: tracing.ObsMessage, Time: t0, Keys: u.Keys, Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: "billing-queue", ID: "msg-2", Layers: u.Layers}}})
	l, err := g.Lineage("ev-2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(hopSummary(l), "invoke:charge-card(missing)") {
		t.Errorf("no missing hop: %s", hopSummary(l))
	}
}

func TestEviction(t *testing.T) {
	t.Parallel()
	g := newTestGraph(100)
	for i := 0; i < 250; i++ {
		id := fmt.Sprintf("m-%d", i)
		g.Ingest(tracing.Batch{{
			Kind: tracing.ObsMessage, Time: t0.Add(time.Duration(i) * time.Second), Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: id}, {Kind: tracing.KeyCorrelation, Value: "order=" + id}},
			Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: "q", ID: id},
		}})
	}
	tot := g.Totals()
	if tot.Events != 100 || tot.Evicted != 150 {
		t.Fatalf("events %d evicted %d, want 100 and 150", tot.Events, tot.Evicted)
	}
	if _, err := g.Lineage("m-0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("evicted event still found: %v", err)
	}
	if _, err := g.Lineage("m-249"); err != nil {
		t.Errorf("newest event: %v", err)
	}
	strong, weak := 0, 0
	for i := int32(1); i < g.s.keys.n; i++ {
		if k := g.s.keys.at(i); k.kind == tracing.KeyUnknown {
			continue
		} else if k.weak {
			weak++
		} else {
			strong++
		}
	}
	if strong != 100 || weak != 200 || g.s.keys.live != 300 || g.s.index.n != 300 { // each correlation key and its bare-value alias
		t.Errorf("index not pruned: %d strong, %d weak keys, %d live, %d indexed", strong, weak, g.s.keys.live, g.s.index.n)
	}
	if g.s.events.live != 100 || g.s.hops.live != 100 {
		t.Errorf("records not freed: %d events, %d hops", g.s.events.live, g.s.hops.live)
	}
}

func TestFlowsPagingSortFilter(t *testing.T) {
	t.Parallel()
	g := newTestGraph(1000)
	for i := 0; i < 30; i++ {
		g.Ingest(scenario(fmt.Sprintf("ev-%02d", i), fmt.Sprintf("msg-%02d", i), testTrace, reqIDs(i)))
	}
	p := g.Flows(FlowQuery{Limit: 10, Offset: 5})
	if p.Matched != 30 || len(p.Rows) != 10 || p.Rows[0].ID != "ev-24" {
		t.Errorf("page: matched %d rows %d first %q", p.Matched, len(p.Rows), p.Rows[0].ID)
	}
	f := g.Flows(FlowQuery{Filter: "EV-1", Limit: 100})
	if f.Matched != 10 {
		t.Errorf("filter matched %d, want 10", f.Matched)
	}
	inv := g.Flows(FlowQuery{Filter: "ev-1", Invert: true, Limit: 100})
	if inv.Matched != 20 {
		t.Errorf("inverted filter matched %d, want 20", inv.Matched)
	}
	s := g.Flows(FlowQuery{Sort: SortStarted, Limit: 3})
	if len(s.Rows) != 3 || s.Rows[0].ID != "ev-29" {
		t.Errorf("sort started: %+v", s.Rows)
	}
	if r := p.Rows[0]; r.Type != "OrderPlaced" || r.Status != StatusDeadLettered || r.CostUSD <= 0 || r.LastHop != "billing-dlq" {
		t.Errorf("row: %+v", r)
	}
}

// TestConcurrentReaders: one writer, many readers, under -race.
func TestConcurrentReaders(t *testing.T) {
	t.Parallel()
	g := New(Config{MaxEvents: 500})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				p := g.Flows(FlowQuery{Limit: 20, Sort: FlowSort(r % 3)})
				for _, row := range p.Rows {
					_, _ = g.Lineage(row.ID)
				}
				_ = g.Functions()
				_ = g.Map()
				_ = g.Totals()
				_ = g.Find("ev-", 5)
			}
		}()
	}
	for i := 0; i < 300; i++ {
		g.Ingest(scenario(fmt.Sprintf("ev-%d", i), fmt.Sprintf("msg-%d", i), testTrace, reqIDs(i)))
	}
	close(stop)
	wg.Wait()
	if g.Totals().Events != 300 {
		t.Errorf("%d events", g.Totals().Events)
	}
}

func TestMap(t *testing.T) {
	t.Parallel()
	g := newTestGraph(100)
	g.Ingest(scenario("ev-1", "msg-1", testTrace, testReqs))
	m := g.Map()
	var edges []string
	for _, e := range m.Edges {
		edges = append(edges, e.From.String()+"->"+e.To.String())
	}
	got := strings.Join(edges, " ")
	for _, want := range []string{"queue/billing-queue->function/charge-card", "queue/billing-queue->queue/billing-dlq"} {
		if !strings.Contains(got, want) {
			t.Errorf("edges %q lack %q", got, want)
		}
	}
	if len(m.Nodes) < 3 {
		t.Errorf("nodes %+v", m.Nodes)
	}
}

func reqIDs(i int) [3]string {
	return [3]string{fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", i), fmt.Sprintf("bbbbbbbb-0000-4000-8000-%012d", i), fmt.Sprintf("cccccccc-0000-4000-8000-%012d", i)}
}

func TestPacking(t *testing.T) {
	t.Parallel()
	var a arena
	for _, c := range []struct {
		s      string
		packed bool
	}{
		{"3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", true},               // UUID
		{"3F1C2D4E-5A6B-4C7D-8E9F-0A1B2C3D4E5F", false},              // uppercase: kept as text so it reads back exactly
		{"3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5", false},               // short
		{"3f1c2d4e05a6b-4c7d-8e9f-0a1b2c3d4e5f", false},              // dash missing
		{"3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5g", false},              // not hex
		{"5759e988bd862e3fe1be46a994272793", true},                   // W3C trace ID
		{"1-5759e988-bd862e3fe1be46a994272793", true},                // X-Ray trace ID
		{"2-5759e988-bd862e3fe1be46a994272793", false},               // not version 1
		{"5759e988bd862e3fe1be46a994272793/53995c3f42cd8ad8", true},  // span key
		{"5759e988bd862e3fe1be46a994272793:53995c3f42cd8ad8", false}, // wrong separator
		{"", false}, {"x", false},
	} {
		r := a.put(c.s)
		if got := a.str(r); got != c.s {
			t.Errorf("put(%q) read back %q", c.s, got)
		}
		if !a.equal(r, c.s) {
			t.Errorf("equal(put(%q)) is false", c.s)
		}
		if c.s != "" && (a.equal(r, c.s+"0") || a.equal(r, strings.ToUpper(c.s)) && strings.ToUpper(c.s) != c.s) {
			t.Errorf("%q equals another string", c.s)
		}
		if packed := r.pattern() != 0; packed != c.packed {
			t.Errorf("%q packed=%v", c.s, packed)
		}
	}
}

// TestArenaCompaction churns far more key bytes through a small graph than it
// holds, so the arena is compacted several times, and checks that the events
// still held are found by each of their keys and nothing else is.
func TestArenaCompaction(t *testing.T) {
	t.Parallel()
	g := newTestGraph(500)
	pad := strings.Repeat("p", 200)
	const n = 80_000 // ≈ 17 MiB of key text through a 500-event graph
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("m-%d-%s", i, pad)
		g.Ingest(tracing.Batch{{
			Kind: tracing.ObsMessage, Time: t0.Add(time.Duration(i) * time.Millisecond),
			Keys:    []tracing.Key{{Kind: tracing.KeyMessageID, Value: id}, {Kind: tracing.KeyCorrelation, Value: fmt.Sprintf("order=o-%d", i)}},
			Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: "q", ID: id},
		}})
	}
	if dead := g.s.arena.total - g.s.arena.live; g.s.compactions < 2 || dead >= 8<<20 {
		t.Errorf("arena compacted %d times; %d dead bytes, %d live", g.s.compactions, dead, g.s.arena.live)
	}
	for _, i := range []int{n - 1, n - 250, n - 500} {
		id := fmt.Sprintf("m-%d-%s", i, pad)
		for _, key := range []string{id, fmt.Sprintf("order=o-%d", i), fmt.Sprintf("o-%d", i)} {
			l, err := g.Lineage(key)
			if err != nil || l.ID != id {
				t.Errorf("Lineage(%.20q) = %.20q, %v", key, l.ID, err)
			}
		}
	}
	if _, err := g.Lineage(fmt.Sprintf("m-%d-%s", n-501, pad)); !errors.Is(err, ErrNotFound) {
		t.Errorf("evicted event found: %v", err)
	}
}

// FuzzArena checks that any key reads back exactly as stored (cut at
// maxKeyLen) and compares equal only to itself.
func FuzzArena(f *testing.F) {
	for _, s := range []string{"3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "1-5759e988-bd862e3fe1be46a994272793", "5759e988bd862e3fe1be46a994272793/53995c3f42cd8ad8", "order=o-7", "s3://b/k\n1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var a arena
		r := a.put(s)
		want := s
		if len(want) > maxKeyLen {
			want = want[:maxKeyLen]
		}
		if got := a.str(r); got != want {
			t.Fatalf("put(%q) read back %q", s, got)
		}
		if !a.equal(r, s) || a.equal(r, want+"x") {
			t.Fatalf("equal(put(%q)) wrong", s)
		}
		st := newStore(Config{})
		p, q := st.probe(tracing.KeyMessageID, s), st.probe(tracing.KeyMessageID, want)
		if p.h != q.h {
			t.Fatalf("hash of %q differs from its stored form", s)
		}
	})
}

// TestQueueAndBusFromSpans: with only OTLP spans and one consumer log line
// (flowtop reads no live queue), the lineage still shows the bus the
// producer put the event on and the queue the consumer took it from, in
// causal order, whatever order the observations arrive in.
func TestQueueAndBusFromSpans(t *testing.T) {
	t.Parallel()
	tid, _ := tracing.ParseTraceID("5759e988bd862e3fe1be46a994272793")
	producerSpan, _ := tracing.ParseSpanID("53995c3f42cd8ad8")
	consumerSpan, _ := tracing.ParseSpanID("63995c3f42cd8ad9")
	ev := tracing.Key{Kind: tracing.KeyEventID, Value: "6a7e8feb-b491-4cf7-a9f1-bf3703467718"}
	msg := tracing.Key{Kind: tracing.KeyMessageID, Value: "059f36b4-87a3-44ab-83d2-661975830a7d"}
	req := "c5bc4002-e0f0-42a8-a51e-688a0990fcf4"
	pk, ck := tracing.SpanKey(tid, producerSpan), tracing.SpanKey(tid, consumerSpan)
	obs := tracing.Batch{
		{
			Kind: tracing.ObsSpan, Source: "otlp", Time: t0, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "orders-api"},
			Keys:      []tracing.Key{{Kind: tracing.KeyTraceID, Value: tid.String()}, pk, ev},
			Relations: []tracing.Relation{{From: pk, To: ev, Kind: tracing.RelPublished, Evidence: "messaging.message.id on a producer span"}},
			Span: &tracing.Span{
				TraceID: tid, SpanID: producerSpan, Name: "orders publish", Kind: tracing.SpanKindProducer, Start: t0, End: t0.Add(40 * time.Millisecond),
				Messaging: tracing.Messaging{System: "aws.eventbridge", Operation: "publish", Destination: "orders", MessageID: ev.Value},
			},
		},
		{
			Kind: tracing.ObsSpan, Source: "otlp", Time: t0.Add(time.Second), Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"},
			Keys:      []tracing.Key{{Kind: tracing.KeyTraceID, Value: tid.String()}, ck, {Kind: tracing.KeyRequestID, Value: req}, msg},
			Relations: []tracing.Relation{{From: ck, To: msg, Kind: tracing.RelConsumed, Evidence: "messaging.message.id on a consumer span"}},
			Span: &tracing.Span{
				TraceID: tid, SpanID: consumerSpan, Name: "billing-queue process", Kind: tracing.SpanKindConsumer, Start: t0.Add(time.Second), End: t0.Add(1200 * time.Millisecond),
				InvocationID: req, Messaging: tracing.Messaging{System: "aws_sqs", Operation: "process", Destination: "billing-queue", MessageID: msg.Value},
			},
		},
		{
			Kind: tracing.ObsLog, Source: "cwlogs", Time: t0.Add(time.Second), Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"},
			Keys: []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}, msg, ev},
			Log:  &tracing.LogRecord{Kind: tracing.LogApp, RequestID: req, Message: `{"msg":"charging","messageId":"059f36b4-87a3-44ab-83d2-661975830a7d","eventId":"6a7e8feb-b491-4cf7-a9f1-bf3703467718"}`},
		},
	}
	// The consumer span completed: the invocation ran, even before its REPORT.
	want := "0<-1 publish:orders-api | 1<0 broker:orders | 2<1 broker:billing-queue | 3<2 invoke:charge-card#1"
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}} {
		g := newTestGraph(100)
		for _, i := range order {
			g.Ingest(tracing.Batch{obs[i]})
		}
		l, err := g.Lineage(ev.Value)
		if err != nil {
			t.Fatal(err)
		}
		if got := hopSummary(l); got != want {
			t.Errorf("order %v:\n got %s\nwant %s", order, got, want)
		}
	}
}

// TestComponentsBounded: a sender inventing a service per span cannot grow
// the statistics without bound.
func TestComponentsBounded(t *testing.T) {
	t.Parallel()
	g := newTestGraph(100)
	for i := 0; i < maxComponents+500; i++ {
		name := fmt.Sprintf("svc-%d", i)
		g.Ingest(tracing.Batch{{
			Kind: tracing.ObsInvocation, Time: t0, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: name},
			Log:        &tracing.LogRecord{Kind: tracing.LogReport, RequestID: fmt.Sprintf("r-%d", i)},
			Invocation: &tracing.Invocation{Function: name, RequestID: fmt.Sprintf("r-%d", i), Duration: time.Millisecond, BilledDuration: time.Millisecond, MemorySizeMB: 128, Status: tracing.InvocationSuccess},
		}})
	}
	if len(g.fns) > maxComponents || len(g.comps) > maxComponents {
		t.Errorf("%d functions, %d components tracked; want at most %d", len(g.fns), len(g.comps), maxComponents)
	}
	if fs := g.Functions(); len(fs) != maxComponents {
		t.Errorf("Functions lists %d", len(fs))
	}
}
