package graph

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// spanObs is a span-sized observation shaped as the OTLP collector emits a
// consumer span: trace and span keys, the message it processed, and the
// relation saying so.
func spanObs(i int, at time.Time) tracing.Observation {
	var tid tracing.TraceID
	var sid tracing.SpanID
	tid[0], tid[1], tid[2], tid[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	tid[15] = 1
	sid[7] = byte(i) | 1
	msg := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
	self := tracing.SpanKey(tid, sid)
	mk := tracing.Key{Kind: tracing.KeyMessageID, Value: msg}
	return tracing.Observation{
		Kind: tracing.ObsSpan, Source: "otlp", Time: at,
		Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"},
		Keys:      []tracing.Key{{Kind: tracing.KeyTraceID, Value: tid.String()}, self, mk},
		Relations: []tracing.Relation{{From: self, To: mk, Kind: tracing.RelConsumed, Evidence: "messaging.message.id on a consumer span"}},
		Span: &tracing.Span{
			TraceID: tid, SpanID: sid, Name: "process", Service: "charge-card", Kind: tracing.SpanKindConsumer,
			Start: at, End: at.Add(time.Millisecond), Messaging: tracing.Messaging{System: "aws_sqs", Operation: "process", MessageID: msg},
		},
	}
}

func messageObs(i int, at time.Time) tracing.Observation {
	msg := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
	return tracing.Observation{
		Kind: tracing.ObsMessage, Time: at, Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: msg}},
		Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: "billing-queue", ID: msg},
	}
}

// ingest reports ns per observation for observations from mk, each a new
// event (the worst case: every one allocates an event and index entries).
// Building the observations is not timed.
func ingest(b *testing.B, mk func(int, time.Time) tracing.Observation) {
	g := New(Config{MaxEvents: 1 << 20})
	batch := make(tracing.Batch, 256)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for n < b.N {
		b.StopTimer()
		for j := range batch {
			batch[j] = mk(n+j, t0)
		}
		b.StartTimer()
		g.Ingest(batch)
		n += len(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/observation")
}

// BenchmarkIngest: message observations.
func BenchmarkIngest(b *testing.B) { ingest(b, messageObs) }

// BenchmarkIngestSpan: span-sized observations, each a new event and a new trace.
func BenchmarkIngestSpan(b *testing.B) { ingest(b, spanObs) }

// retained fills a graph with n observations from mk and reports what it
// retains per observation (the live heap and the chunks mapped beside it,
// offheap.go) and the time spent in Ingest alone.
func retained(b *testing.B, n int, mk func(int, time.Time) tracing.Observation) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		g := New(Config{MaxEvents: n})
		batch := make(tracing.Batch, 0, 512)
		var ingest time.Duration
		flush := func() {
			start := time.Now()
			g.Ingest(batch)
			ingest += time.Since(start)
			batch = batch[:0]
		}
		for j := 0; j < n; j++ {
			batch = append(batch, mk(j, t0))
			if len(batch) == cap(batch) {
				flush()
			}
		}
		flush()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		g.mu.RLock()
		mapped := g.mappedBytes() // this graph's: others' chunks may be unmapped meanwhile
		g.mu.RUnlock()
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)+mapped)/float64(n), "bytes/event")
		b.ReportMetric(float64(ingest.Nanoseconds())/float64(n), "ns/observation")
		runtime.KeepAlive(g)
	}
}

// BenchmarkRetained1M fills the graph with 1M message events and reports the
// heap retained per event.
func BenchmarkRetained1M(b *testing.B) { retained(b, 1_000_000, messageObs) }

// traceObs is span i of a trace of eight: a consumer span naming a message
// (the event) and seven child spans (its SDK calls), as X-Ray and OTLP send them.
func traceObs(i int, at time.Time) tracing.Observation {
	o := spanObs(i/8, at)
	if i%8 == 0 {
		return o
	}
	sp := *o.Span
	sp.ParentID = sp.SpanID
	sp.SpanID[6] = byte(i % 8)
	sp.Name, sp.Kind, sp.Messaging = "DynamoDB.PutItem", tracing.SpanKindClient, tracing.Messaging{}
	self := tracing.SpanKey(sp.TraceID, sp.SpanID)
	o.Keys = []tracing.Key{o.Keys[0], self}
	o.Relations = []tracing.Relation{{From: self, To: tracing.SpanKey(sp.TraceID, sp.ParentID), Kind: tracing.RelChildOf, Evidence: "otlp parent span id"}}
	o.Span = &sp
	return o
}

// BenchmarkRetainedTrace1M holds 1M spans in traces of eight, each trace
// consumed from one message: bytes per span-sized observation as they arrive.
func BenchmarkRetainedTrace1M(b *testing.B) { retained(b, 1_000_000, traceObs) }

// BenchmarkRetainedSpan1M is the same for span-sized observations (each a new
// event and a new trace).
func BenchmarkRetainedSpan1M(b *testing.B) { retained(b, 1_000_000, spanObs) }

func fill(n int) *Graph {
	g := New(Config{MaxEvents: n})
	batch := make(tracing.Batch, 0, 512)
	for j := 0; j < n; j++ {
		batch = append(batch, messageObs(j, t0.Add(time.Duration(j)*time.Microsecond)))
		if len(batch) == cap(batch) {
			g.Ingest(batch)
			batch = batch[:0]
		}
	}
	g.Ingest(batch)
	return g
}

// BenchmarkLineage1M looks one event up by its message ID among 1M.
func BenchmarkLineage1M(b *testing.B) {
	g := fill(1_000_000)
	id := fmt.Sprintf("%08x-0000-4000-8000-000000000000", 123456)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := g.Lineage(id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlowsPage1M is one screen (50 rows) of the Flows list among 1M
// events: unfiltered (the common case) and filtered (after the first answer,
// from the filter's match set; BenchmarkFilter1M times the keystrokes).
func BenchmarkFlowsPage1M(b *testing.B) {
	g := fill(1_000_000)
	b.Run("recent", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if p := g.Flows(FlowQuery{Limit: 50}); len(p.Rows) != 50 {
				b.Fatal(len(p.Rows))
			}
		}
	})
	b.Run("filtered", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			g.Flows(FlowQuery{Filter: "0001e240", Limit: 50})
		}
	})
}

// invocationObs is line i%4 of Lambda invocation i/4 as the CloudWatch Logs
// collector emits it: START, an app line naming the SQS message it handles,
// END, and REPORT (an invocation observation).
func invocationObs(i int, at time.Time) tracing.Observation {
	n := i / 4
	req := fmt.Sprintf("%08x-1111-4000-8000-000000000000", n)
	comp := tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"}
	rk := tracing.Key{Kind: tracing.KeyRequestID, Value: req}
	o := tracing.Observation{Kind: tracing.ObsLog, Source: "cwlogs", Time: at, Component: comp, Keys: []tracing.Key{rk}}
	switch i % 4 {
	case 0:
		o.Log = &tracing.LogRecord{Kind: tracing.LogStart, RequestID: req, Message: "START RequestId: " + req + " Version: $LATEST"}
	case 1:
		msg := fmt.Sprintf("%08x-0000-4000-8000-000000000000", n)
		o.Keys = append(o.Keys, tracing.Key{Kind: tracing.KeyMessageID, Value: msg})
		o.Log = &tracing.LogRecord{Kind: tracing.LogApp, Level: "INFO", RequestID: req, Message: `{"level":"INFO","msg":"charging card","messageId":"` + msg + `"}`}
	case 2:
		o.Log = &tracing.LogRecord{Kind: tracing.LogEnd, RequestID: req, Message: "END RequestId: " + req}
	case 3:
		o.Kind = tracing.ObsInvocation
		o.Log = &tracing.LogRecord{Kind: tracing.LogReport, RequestID: req, Message: "REPORT RequestId: " + req + "\tDuration: 120.50 ms\tBilled Duration: 121 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB"}
		o.Invocation = &tracing.Invocation{Function: "charge-card", RequestID: req, Duration: 120500 * time.Microsecond, BilledDuration: 121 * time.Millisecond, MemorySizeMB: 512, MaxMemoryUsedMB: 90, Status: tracing.InvocationSuccess}
	}
	return o
}

// BenchmarkRetainedLogs1M holds 1M log observations: 250k invocations of
// four lines each, every invocation consuming one message (an event).
func BenchmarkRetainedLogs1M(b *testing.B) { retained(b, 1_000_000, invocationObs) }

// BenchmarkFlowsSortStatus200k sorts 200k events by status: cold derives
// every event's summary from its lineage (the one rule), warm reuses the
// summaries of events that did not change.
func BenchmarkFlowsSortStatus200k(b *testing.B) {
	g := fill(200_000)
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			g.sortCache, g.sums = map[FlowSort]sortCache{}, nil
			g.Flows(FlowQuery{Limit: 50, Sort: SortStatus})
		}
	})
	b.Run("warm", func(b *testing.B) {
		g.Flows(FlowQuery{Limit: 50, Sort: SortStatus})
		for i := 0; i < b.N; i++ {
			g.sortCache = map[FlowSort]sortCache{}
			g.Flows(FlowQuery{Limit: 50, Sort: SortStatus})
		}
	})
}

// randomIDs makes observation i's IDs as AWS and tracers do: random (a
// hash of i), so a typed prefix narrows as it would on real data.
func randomIDs(mk func(int, time.Time) tracing.Observation) func(int, time.Time) tracing.Observation {
	return func(i int, at time.Time) tracing.Observation {
		o := mk(i, at)
		h := func(n uint64) uint64 { // splitmix64
			n += 0x9e3779b97f4a7c15
			n = (n ^ n>>30) * 0xbf58476d1ce4e5b9
			n = (n ^ n>>27) * 0x94d049bb133111eb
			return n ^ n>>31
		}
		a, b := h(uint64(i)), h(uint64(i)+1<<40)
		msg := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>52, b&0xffffffffffff)
		for k := range o.Keys {
			if o.Keys[k].Kind == tracing.KeyMessageID {
				o.Keys[k].Value = msg
			}
		}
		if o.Message != nil {
			o.Message.ID = msg
		}
		if sp := o.Span; sp != nil {
			sp.Messaging.MessageID = msg
			var tid tracing.TraceID
			var sid tracing.SpanID
			for j := 0; j < 8; j++ {
				tid[j], tid[8+j], sid[j] = byte(b>>(8*j)), byte(a>>(8*j)), byte(h(uint64(i)+2<<40)>>(8*j))
			}
			sp.TraceID, sp.SpanID = tid, sid
			self := tracing.SpanKey(tid, sid)
			o.Keys = []tracing.Key{{Kind: tracing.KeyTraceID, Value: tid.String()}, self, {Kind: tracing.KeyMessageID, Value: msg}}
			o.Relations = []tracing.Relation{{From: self, To: o.Keys[2], Kind: tracing.RelConsumed, Evidence: "messaging.message.id on a consumer span"}}
		}
		return o
	}
}

// BenchmarkFilter1M types a filter one key at a time over 1M held events
// (message events, and consumer-span events that carry a trace, a span and
// a message key, all with random IDs as real ones are) and reports the
// worst and the mean keystroke, wall and process CPU, the first keystroke's
// full scan included: the ID of a held event, then a component name. "idle"
// is the same filter asked again with nothing ingested (the console's
// refresh of a standing filter).
func BenchmarkFilter1M(b *testing.B) {
	for _, tc := range []struct {
		name string
		mk   func(int, time.Time) tracing.Observation
	}{{"messages", randomIDs(messageObs)}, {"spans", randomIDs(spanObs)}} {
		g := New(Config{MaxEvents: 1 << 20})
		batch := make(tracing.Batch, 0, 512)
		for j := 0; j < 1_000_000; j++ {
			batch = append(batch, tc.mk(j, t0.Add(time.Duration(j)*time.Microsecond)))
			if len(batch) == cap(batch) {
				g.Ingest(batch)
				batch = batch[:0]
			}
		}
		g.Ingest(batch)
		id := tc.mk(123456, t0).Keys[len(tc.mk(123456, t0).Keys)-1].Value
		for _, query := range []string{id[:13], "charge-card"} {
			b.Run(tc.name+"/typing-"+query, func(b *testing.B) {
				var worst, total, worstCPU, totalCPU time.Duration
				keys := 0
				for i := 0; i < b.N; i++ {
					g.search = search{} // each run types from nothing held
					for k := 1; k <= len(query); k++ {
						start, cpu0 := time.Now(), cpuTime()
						g.Flows(FlowQuery{Filter: query[:k], Limit: 50})
						d, c := time.Since(start), cpuTime()-cpu0
						worst, total = max(worst, d), total+d
						worstCPU, totalCPU = max(worstCPU, c), totalCPU+c
						keys++
					}
				}
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
				b.ReportMetric(ms(worst), "worst-ms/key")
				b.ReportMetric(ms(total)/float64(keys), "ms/key")
				b.ReportMetric(ms(worstCPU), "worst-cpu-ms/key")
				b.ReportMetric(ms(totalCPU)/float64(keys), "cpu-ms/key")
			})
		}
		b.Run(tc.name+"/idle", func(b *testing.B) {
			g.Flows(FlowQuery{Filter: id[:13], Limit: 50})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				g.Flows(FlowQuery{Filter: id[:13], Limit: 50})
			}
		})
	}
}
