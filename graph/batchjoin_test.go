package graph

import (
	"fmt"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// TestSQSBatchHalfTraced: a batch consumer (record-analytics, batches of up
// to five) logs each message it handled; the consumer span of the first
// message is in when its REPORT is read, the second's is not yet. The
// invocation then shows one span-named and one log-named message, which
// joinNamed once took for two layers of one message and merged two orders
// (seen at the end of the fidelity run, where the batch window gathers the
// world's last two orders). Two messages named by kind are a batch: they
// stay two events.
func TestSQSBatchHalfTraced(t *testing.T) {
	g := New(Config{Now: func() time.Time { return t0.Add(time.Minute) }})
	req := "0000000c-0000-4000-8000-00000000000d"
	parse := func(line string) tracing.Observation {
		return tracing.ParseLambdaLog(tracing.LogInput{Group: "/aws/lambda/record-analytics", Message: line, Time: t0}, tracing.LogOptions{})
	}
	msg := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-0000000000%02d", i) }
	ev := func(i int) string { return fmt.Sprintf("10000000-0000-4000-8000-0000000000%02d", i) }
	var b tracing.Batch
	for i := range 2 {
		b = append(b, parse(fmt.Sprintf(`{"level":"INFO","message":"order recorded","requestId":%q,"messageId":%q,"event_id":%q}`, req, msg(i), ev(i))))
	}
	var tid tracing.TraceID
	var sid tracing.SpanID
	tid[15], sid[7] = 3, 4
	self := tracing.SpanKey(tid, sid)
	k := tracing.Key{Kind: tracing.KeyMessageID, Value: msg(0)}
	b = append(b, tracing.Observation{
		Kind: tracing.ObsSpan, Source: "otlp", Time: t0, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "record-analytics"},
		Keys:      []tracing.Key{{Kind: tracing.KeyTraceID, Value: tid.String()}, self, k, {Kind: tracing.KeyRequestID, Value: req}},
		Relations: []tracing.Relation{{From: self, To: k, Kind: tracing.RelConsumed, Evidence: "messaging.message.id on a consumer span"}},
		Span: &tracing.Span{
			TraceID: tid, SpanID: sid, Kind: tracing.SpanKindConsumer, Start: t0, End: t0.Add(time.Millisecond), InvocationID: req,
			Messaging: tracing.Messaging{System: "aws_sqs", Operation: "process", Destination: "analytics-queue", MessageID: msg(0)},
		},
	})
	b = append(b, parse("REPORT RequestId: "+req+"\tDuration: 12.00 ms\tBilled Duration: 12 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB\t"))
	g.Ingest(b)
	if n := g.Totals().Events; n != 2 {
		t.Fatalf("%d events for a batch of 2 messages", n)
	}
	for i := range 2 {
		l, err := g.Lineage(ev(i))
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		for _, k := range l.Keys {
			if j := 1 - i; k.Value == ev(j) || k.Value == msg(j) {
				t.Errorf("event %d holds %s of the other message", i, k)
			}
		}
	}
}
