package graph

import (
	"slices"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// oneInvocation is charge-card's invocation req consuming message msg, as
// its logs, its X-Ray segments (the AWS::Lambda service segment with the
// request ID, the function segment under it) and its OTLP consumer span show
// it. failure is where a failure shows: "" (none), "app" (an ERROR app line
// only, as the text format shows a thrown error), "xray" (a fault on the
// function segment only), "otlp" (span status ERROR only), "report" (the
// REPORT's status), "timeout" (Task timed out + REPORT Status: timeout).
func oneInvocation(n int, jsonFormat bool, failure string, cold bool) (logs, xray, otlp tracing.Batch) {
	req, msg := uuidN('c', n), uuidN('a', n)
	trace := traceN(n)
	start := t0.Add(time.Duration(n) * time.Second)
	dur := 180 * time.Millisecond
	iv := invocationLogs{
		fn: "charge-card", json: jsonFormat, req: req, trace: trace, segment: spanN(2 * n), start: start, dur: dur, cold: cold,
		app: []appLine{{"INFO", map[string]any{"messageId": msg, "order_id": "o-1", "msg": "charging card"}}},
	}
	switch failure {
	case "app":
		iv.app = append(iv.app, appLine{"ERROR", map[string]any{"messageId": msg, "msg": "CardDeclined: insufficient funds"}})
	case "report":
		iv.status, iv.errType, iv.inReport = "error", "CardDeclined", true
	case "timeout":
		iv.status, iv.inReport = "timeout", true
	}
	logs = iv.batch()
	svc := segment{trace: trace, id: spanN(2*n + 1), name: "charge-card", origin: "AWS::Lambda", start: start, end: start.Add(dur + 5*time.Millisecond), requestID: req}
	fn := segment{
		trace: trace, id: spanN(2 * n), parent: spanN(2*n + 1), name: "charge-card", origin: "AWS::Lambda::Function", start: start, end: start.Add(dur),
		fault: failure == "xray", cause: "CardDeclined", functionARNSet: true, cold: cold,
	}
	// An SDK call inside the invocation: its aws.request_id is SQS's, not the function's.
	sdk := segment{
		trace: trace, id: spanN(2*n + 1000), parent: spanN(2 * n), name: "SQS", fn: "charge-card", start: start.Add(10 * time.Millisecond), end: start.Add(30 * time.Millisecond),
		operation: "DeleteMessage", requestID: uuidN('e', n), queueURL: "https://sqs.us-east-1.amazonaws.com/000000000000/billing-queue",
	}
	xray = tracing.Batch{xrayObs(svc), xrayObs(fn), xrayObs(sdk)}
	otlp = tracing.Batch{otlpObs(otelSpan{
		trace: trace, id: spanN(2*n + 5000), kind: tracing.SpanKindConsumer, fn: "charge-card", req: req, system: "aws_sqs", op: "process",
		dest: "billing-queue", msgID: msg, start: start, end: start.Add(dur), failed: failure == "otlp", errorMsg: "CardDeclined", cold: cold, name: "billing-queue process",
	})}
	return logs, xray, otlp
}

// TestCountOnce: an invocation seen by logs, X-Ray and OTLP is one
// invocation, failed if any source says so, in whatever order the sources
// arrive; Functions and the map's function node agree.
func TestCountOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		json     bool
		failure  string
		cold     bool
		sources  string // which sources to feed, in order: l(ogs), x(ray; X: function segment first), o(tlp)
		errors   uint64
		timeouts uint64
		hop      HopStatus
	}{
		{"text ok, all sources", false, "", false, "lxo", 0, 0, HopOK},
		{"text ok, traces first", false, "", true, "oxl", 0, 0, HopOK},
		{"text error shown only by an ERROR app line", false, "app", false, "lxo", 1, 0, HopError},
		{"text error shown only by an X-Ray fault", false, "xray", false, "lxo", 1, 0, HopError},
		{"text error, X-Ray fault before the logs", false, "xray", false, "xlo", 1, 0, HopError},
		{"text error, function segment before its service segment", false, "xray", false, "Xlo", 1, 0, HopError},
		{"json error shown only by OTLP status", true, "otlp", false, "lxo", 1, 0, HopError},
		{"json error in platform.report", true, "report", true, "olx", 1, 0, HopError},
		{"text timeout", false, "timeout", false, "lxo", 1, 1, HopTimeout},
		{"traces only", false, "xray", false, "xo", 1, 0, HopError},
		{"logs only", false, "report", false, "l", 1, 0, HopError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGraph(1000)
			const n = 4
			for i := 1; i <= n; i++ {
				failure := ""
				if i == 2 {
					failure = tt.failure // one of the four fails
				}
				l, x, o := oneInvocation(i, tt.json, failure, tt.cold && i == 1)
				for _, src := range tt.sources {
					switch src {
					case 'l':
						g.Ingest(l)
					case 'x':
						g.Ingest(x)
					case 'X': // the function segment first, then the service segment
						g.Ingest(tracing.Batch{x[1]})
						g.Ingest(tracing.Batch{x[0], x[2]})
					case 'o':
						g.Ingest(o)
					}
				}
			}
			fns := g.Functions()
			i := slices.IndexFunc(fns, func(f FunctionStats) bool { return f.Name == "charge-card" })
			if i < 0 {
				t.Fatalf("no charge-card in %+v", fns)
			}
			f := fns[i]
			wantCold := uint64(0)
			if tt.cold {
				wantCold = 1
			}
			if f.Invocations != n || f.Errors != tt.errors || f.Timeouts != tt.timeouts || f.ColdStarts != wantCold {
				t.Errorf("invocations %d errors %d timeouts %d cold %d; want %d %d %d %d", f.Invocations, f.Errors, f.Timeouts, f.ColdStarts, n, tt.errors, tt.timeouts, wantCold)
			}
			for _, node := range g.Map().Nodes {
				if node.Component == (tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"}) {
					if want := pct(f.Errors, f.Invocations); node.ErrorPct != want {
						t.Errorf("map error %% %.1f, functions say %.1f", node.ErrorPct, want)
					}
					if want := (f.Rate[len(f.Rate)-2] + f.Rate[len(f.Rate)-3]) / 2; node.Rate != want {
						t.Errorf("map rate %.2f, functions say %.2f", node.Rate, want)
					}
				}
				if node.Component.Kind == tracing.ComponentFunction && node.Component.Name == "SQS" {
					t.Errorf("an SDK call became a function: %+v", node)
				}
			}
			// The failed invocation's hop says so.
			l, err := g.Lineage(uuidN('c', 2))
			if err != nil {
				t.Fatal(err)
			}
			var got []HopStatus
			for _, h := range l.Hops {
				if h.Kind == HopInvoke {
					got = append(got, h.Status)
				}
			}
			if len(got) != 1 || got[0] != tt.hop {
				t.Errorf("invocation hops %v, want [%v] (%s)", got, tt.hop, hopSummary(l))
			}
		})
	}
}

// TestRatesMatchOrders: orders-api publishes 4 orders a second, each
// invocation seen by logs, X-Ray and OTLP: the function and its map node
// read 4/s, not 12/s.
func TestRatesMatchOrders(t *testing.T) {
	t.Parallel()
	now := t0
	g := New(Config{MaxEvents: 10_000, Now: func() time.Time { return now }})
	for s := 0; s < 60; s++ {
		for k := 0; k < 4; k++ {
			n := s*4 + k
			start := t0.Add(time.Duration(s)*time.Second + time.Duration(k)*250*time.Millisecond)
			req, ev, trace := uuidN('b', n), uuidN('d', n), traceN(n)
			iv := invocationLogs{
				fn: "orders-api", req: req, trace: trace, segment: spanN(3 * n), start: start, dur: 120 * time.Millisecond,
				app: []appLine{{"INFO", map[string]any{"order_id": "o-1", "published_event_id": ev}}},
			}
			b := iv.batch()
			b = append(b, xrayObs(segment{trace: trace, id: spanN(3*n + 1), name: "orders-api", origin: "AWS::Lambda", start: start, end: start.Add(125 * time.Millisecond), requestID: req}),
				xrayObs(segment{trace: trace, id: spanN(3 * n), parent: spanN(3*n + 1), name: "orders-api", origin: "AWS::Lambda::Function", start: start, end: start.Add(120 * time.Millisecond)}),
				otlpObs(otelSpan{trace: trace, id: spanN(3*n + 2), kind: tracing.SpanKindProducer, fn: "orders-api", req: req, system: "aws.eventbridge", op: "publish", dest: "orders", msgID: ev, start: start, end: start.Add(40 * time.Millisecond), name: "orders publish"}))
			now = start
			g.Ingest(b)
		}
	}
	now = t0.Add(60 * time.Second)
	var fn FunctionStats
	for _, f := range g.Functions() {
		if f.Name == "orders-api" {
			fn = f
		}
	}
	if fn.Invocations != 240 {
		t.Errorf("invocations %d, want 240", fn.Invocations)
	}
	for _, node := range g.Map().Nodes {
		if node.Component.Name == "orders-api" && (node.Rate < 3.9 || node.Rate > 4.1) {
			t.Errorf("map rate %.2f/s, want 4/s", node.Rate)
		}
	}
	if r := g.Flows(FlowQuery{Limit: 1000}); r.Matched != 240 {
		t.Errorf("%d rows, want one per order (240)", r.Matched)
	}
}

// TestAttemptsByTime: retries of one message are numbered by when they ran,
// whatever order their logs and traces arrive in.
func TestAttemptsByTime(t *testing.T) {
	t.Parallel()
	msg := uuidN('a', 7)
	var per [3]tracing.Batch
	for i := range per {
		req, trace := uuidN('c', 70+i), traceN(70+i)
		start := t0.Add(time.Duration(i) * 31 * time.Second)
		iv := invocationLogs{
			fn: "charge-card", req: req, trace: trace, segment: spanN(70 + i), start: start, dur: 200 * time.Millisecond,
			app: []appLine{{"INFO", map[string]any{"messageId": msg}}, {"ERROR", map[string]any{"messageId": msg, "msg": "CardDeclined"}}},
		}
		per[i] = append(iv.batch(), xrayObs(segment{trace: trace, id: spanN(170 + i), name: "charge-card", origin: "AWS::Lambda", start: start, end: start.Add(205 * time.Millisecond), requestID: req, fault: true, cause: "CardDeclined"}))
	}
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}} {
		g := newTestGraph(100)
		for _, i := range order {
			// Traces first (X-Ray is read as whole traces), logs after.
			g.Ingest(per[i][len(per[i])-1:])
		}
		for _, i := range order {
			g.Ingest(per[i][:len(per[i])-1])
		}
		l, err := g.Lineage(msg)
		if err != nil {
			t.Fatal(err)
		}
		var reqs []string
		for _, h := range l.Hops {
			if h.Kind == HopInvoke {
				if len(h.Keys) > 0 {
					reqs = append(reqs, h.Keys[0].Value)
				}
				if h.Attempt != len(reqs) || h.Status != HopError {
					t.Errorf("order %v: hop %s attempt %d status %v, want attempt %d error", order, h.Keys, h.Attempt, h.Status, len(reqs))
				}
			}
		}
		if want := []string{uuidN('c', 70), uuidN('c', 71), uuidN('c', 72)}; !slices.Equal(reqs, want) {
			t.Errorf("order %v: attempts %v, want %v", order, reqs, want)
		}
	}
}
