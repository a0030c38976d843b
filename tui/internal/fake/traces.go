package fake

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// The fake's traces: Checkout, a request whose order goes through a queue
// to charge-card (an async hop with a 1.2 s wait, a failed call), and
// Billing, a batch consumer in its own trace whose span links back to the
// checkout's publish span (and that span links forward to it). Sixty more
// small traces make the list scroll.

// Trace IDs of the two linked traces.
var (
	Checkout = mustTrace("4bf92f3577b34da6a3ce929d0e0e4736")
	Billing  = mustTrace("0af7651916cd43dd8448eb211c80319c")
)

// Span IDs the tests look for.
var (
	CheckoutPublish = SpanID(4) // the producer span linked from Billing's consumer
	BillingProcess  = SpanID(101)
)

func mustTrace(s string) tracing.TraceID {
	t, err := tracing.ParseTraceID(s)
	if err != nil {
		panic(err)
	}
	return t
}

// SpanID makes a span ID from n.
func SpanID(n int) tracing.SpanID {
	var s tracing.SpanID
	binary.BigEndian.PutUint64(s[:], uint64(n)+0xa000)
	return s
}

func span(t tracing.TraceID, id, parent int, svc, name string, kind tracing.SpanKind, from, to time.Duration) tracing.Span {
	sp := tracing.Span{TraceID: t, SpanID: SpanID(id), Service: svc, Name: name, Kind: kind, Start: Now.Add(from), End: Now.Add(to)}
	if parent > 0 {
		sp.ParentID = SpanID(parent)
	}
	return sp
}

const ms = time.Millisecond

// CheckoutSpans are the checkout trace's spans.
func CheckoutSpans() []tracing.Span {
	t := Checkout
	root := span(t, 1, 0, "orders-api", "POST /orders", tracing.SpanKindServer, 0, 480*ms)
	root.Attrs = map[string]string{"http.method": "POST", "http.route": "/orders", "http.status_code": "202"}
	validate := span(t, 2, 1, "orders-api", "validate order", tracing.SpanKindInternal, 5*ms, 25*ms)
	put := span(t, 3, 1, "orders-api", "DynamoDB.PutItem", tracing.SpanKindClient, 30*ms, 70*ms)
	put.Attrs = map[string]string{"aws.operation": "PutItem", "aws.dynamodb.table_names": "orders", "rpc.service": "DynamoDB"}
	pub := span(t, 4, 1, "orders-api", "orders-queue publish", tracing.SpanKindProducer, 80*ms, 95*ms)
	pub.Messaging = tracing.Messaging{System: "aws_sqs", Operation: "publish", Destination: "orders-queue"}
	pub.Links = []tracing.Link{{TraceID: Billing, SpanID: BillingProcess, Attrs: map[string]string{"link.kind": "follows_from"}}}
	render := span(t, 5, 1, "orders-api", "render response", tracing.SpanKindInternal, 100*ms, 470*ms)
	consume := span(t, 6, 4, "charge-card", "orders-queue process", tracing.SpanKindConsumer, 1295*ms, 1480*ms)
	consume.Messaging = tracing.Messaging{System: "aws_sqs", Operation: "process", Destination: "orders-queue"}
	consume.InvocationID, consume.ColdStart = "c0ffee00-1111-4000-8000-000000000001", true
	charge := span(t, 7, 6, "charge-card", "POST api.stripe.com/v1/charges", tracing.SpanKindClient, 1300*ms, 1460*ms)
	charge.Status, charge.StatusMessage = tracing.StatusError, "card_declined: insufficient funds \x1b[31m"
	charge.Attrs = map[string]string{"http.method": "POST", "http.status_code": "402", "server.address": "api.stripe.com"}
	return []tracing.Span{root, validate, put, pub, render, consume, charge}
}

// BillingSpans are the billing trace's spans.
func BillingSpans() []tracing.Span {
	t := Billing
	proc := span(t, 101, 0, "billing-worker", "billing-queue process", tracing.SpanKindConsumer, 2*time.Second, 2300*ms)
	proc.Messaging = tracing.Messaging{System: "aws_sqs", Operation: "process", Destination: "billing-queue", BatchCount: 3}
	proc.Links = []tracing.Link{{TraceID: Checkout, SpanID: CheckoutPublish}, {TraceID: mustTrace("1-5759e988-bd862e3fe1be46a994272793"), SpanID: SpanID(999)}}
	sel := span(t, 102, 101, "billing-worker", "SELECT invoices", tracing.SpanKindClient, 2010*ms, 2060*ms)
	sel.Attrs = map[string]string{"db.system": "postgresql", "db.statement": "SELECT * FROM invoices WHERE order_id = $1"}
	pub := span(t, 103, 101, "billing-worker", "SNS.Publish", tracing.SpanKindClient, 2100*ms, 2130*ms)
	return []tracing.Span{proc, sel, pub}
}

func summarize(id tracing.TraceID, spans []tracing.Span) graph.TraceRow {
	r := graph.TraceRow{ID: id, Spans: len(spans)}
	var first, last time.Time
	for _, s := range spans {
		if s.Status == tracing.StatusError {
			r.Errors++
		}
		if first.IsZero() || s.Start.Before(first) {
			first = s.Start
		}
		if s.End.After(last) {
			last = s.End
		}
		if !s.ParentID.IsValid() && r.RootName == "" {
			r.RootService, r.RootName = s.Service, s.Name
		}
	}
	r.Start, r.Duration = first, last.Sub(first)
	return r
}

func (f *Feed) traceRows() []graph.TraceRow {
	rows := []graph.TraceRow{summarize(Billing, BillingSpans()), summarize(Checkout, CheckoutSpans())}
	svcs := []string{"cart", "search", "orders-api", "inventory"}
	for i := 0; i < 60; i++ {
		var id tracing.TraceID
		binary.BigEndian.PutUint64(id[8:], uint64(i)+1)
		id[0], id[1], id[2] = 0x7a, byte(i*37), byte(i*101)
		r := graph.TraceRow{
			ID: id, RootService: svcs[i%4], RootName: fmt.Sprintf("GET /items/%d", i), Start: Now.Add(-time.Duration(i+1) * time.Second),
			Duration: time.Duration(5+(i*37)%400) * ms, Spans: 2 + i%9,
		}
		if i%6 == 0 {
			r.Errors = 1
		}
		if i%11 == 0 {
			r.InProgress = true
		}
		rows = append(rows, r)
	}
	return rows
}

// Traces lists the fake traces, sorted and filtered like the graph.
func (f *Feed) Traces(q graph.TraceQuery) graph.TracePage {
	all := f.traceRows()
	if q.Sort == graph.TraceSortSlowest {
		slices.SortStableFunc(all, func(a, b graph.TraceRow) int { return int(b.Duration - a.Duration) })
	}
	p := graph.TracePage{Window: len(all), Held: len(all)}
	for _, r := range all {
		if q.Sort == graph.TraceSortFailed && r.Errors == 0 {
			continue
		}
		hay := strings.ToLower(r.ID.String() + " " + r.RootService + " " + r.RootName)
		hit := true
		for _, w := range q.Words {
			hit = hit && strings.Contains(hay, strings.ToLower(w))
		}
		if hit == q.Invert {
			continue
		}
		p.Matched++
		if q.Limit <= 0 || len(p.Rows) < q.Limit {
			p.Rows = append(p.Rows, r)
		}
	}
	return p
}

// Trace returns Checkout and Billing; any other ID is not held.
func (f *Feed) Trace(id tracing.TraceID) (graph.Trace, error) {
	switch id {
	case Checkout:
		return graph.Trace{ID: id, Spans: CheckoutSpans(), Version: 1}, nil
	case Billing:
		return graph.Trace{ID: id, Spans: BillingSpans(), Version: 1}, nil
	}
	return graph.Trace{ID: id}, graph.ErrTraceNotFound
}
