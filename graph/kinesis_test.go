package graph

import (
	"fmt"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

const kinesisARN = "arn:aws:kinesis:us-east-1:000000000000:stream/clickstream"

func kinesisSeq(i int) string { return fmt.Sprintf("4959%052d", i) }

// kinesisObs is the i-th observation of a Kinesis batch pipeline, as the
// log parser makes them: batches of ten records, each put by one producer
// invocation (a line per record) and consumed by one consumer invocation (a
// line per record, then its REPORT).
func kinesisObs(i int, at time.Time) tracing.Observation {
	batch, j := i/21, i%21
	rec := batch*10 + j%10
	shard := "shardId-000000000000"
	var line, fn string
	switch {
	case j < 10:
		fn = "web-frontend"
		line = fmt.Sprintf("2026-12-03T10:00:00.000Z\t%08x-0000-4000-8000-00000000000a\tINFO\t{\"msg\":\"click published\",\"stream_name\":\"clickstream\",\"shard_id\":%q,\"published_sequence_number\":%q}", batch, shard, kinesisSeq(rec))
	case j < 20:
		fn = "clickstream-analytics"
		line = fmt.Sprintf(`{"level":"INFO","message":"click received","function_request_id":"%08x-0000-4000-8000-00000000000b","eventID":"%s:%s","eventSourceARN":%q}`, batch, shard, kinesisSeq(rec), kinesisARN)
	default:
		fn = "clickstream-analytics"
		line = fmt.Sprintf("REPORT RequestId: %08x-0000-4000-8000-00000000000b\tDuration: 12.00 ms\tBilled Duration: 12 ms\tMemory Size: 256 MB\tMax Memory Used: 80 MB\t", batch)
	}
	o := tracing.ParseLambdaLog(tracing.LogInput{Group: "/aws/lambda/" + fn, Message: line, Time: at.Add(time.Duration(j) * time.Millisecond)}, tracing.LogOptions{})
	o.Source = "cwlogs"
	return o
}

// TestKinesisBatchAttach: one consumer invocation of a batch of ten records
// is a hop of each record's event, merging none of them; an on-failure
// record dead-letters the records of its range, whether it is read before
// or after them, and no other.
func TestKinesisBatchAttach(t *testing.T) {
	g := New(Config{Now: func() time.Time { return t0.Add(time.Minute) }})
	var b tracing.Batch
	for i := range 21 {
		b = append(b, kinesisObs(i, t0))
	}
	failure := func(start, end int) tracing.Observation {
		body := fmt.Sprintf(`{"requestContext":{"requestId":"r","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:clickstream-analytics","condition":"RetryAttemptsExhausted","approximateInvokeCount":3},"version":"1.0","timestamp":"2026-12-03T10:00:01.000Z","KinesisBatchInfo":{"shardId":"shardId-000000000000","startSequenceNumber":%q,"endSequenceNumber":%q,"batchSize":%d,"streamArn":%q}}`,
			kinesisSeq(start), kinesisSeq(end), end-start+1, kinesisARN)
		return tracing.Observation{Kind: tracing.ObsMessage, Source: "dlq", Time: t0.Add(time.Second), Message: &tracing.Message{
			Broker: tracing.BrokerSQS, Queue: "clickstream-failures", ID: fmt.Sprintf("m-%d", start), Body: body, DeadLetter: true,
		}}
	}
	// A failure record for records 2–4 arrives before they are seen; one for 12 after.
	g.Ingest(tracing.Batch{failure(2, 4)})
	g.Ingest(b)
	b = nil
	for i := 21; i < 42; i++ {
		b = append(b, kinesisObs(i, t0))
	}
	g.Ingest(b)
	g.Ingest(tracing.Batch{failure(12, 12)})
	if n := g.Totals().Events; n != 20 {
		t.Fatalf("%d events for 20 records", n)
	}
	for rec := range 20 {
		id := tracing.KinesisRecordKey("clickstream", "shardId-000000000000", kinesisSeq(rec)).Value
		l, err := g.Lineage(id)
		if err != nil {
			t.Fatalf("record %d: %v", rec, err)
		}
		var kinds []string
		dead := false
		for _, h := range l.Hops {
			kinds = append(kinds, h.Kind.String()+" "+h.Component.String())
			dead = dead || h.Kind == HopDeadLetter && h.Component.Name == "clickstream-failures"
		}
		want := []string{"publish function/web-frontend", "broker stream/clickstream", "invoke function/clickstream-analytics"}
		failed := rec >= 2 && rec <= 4 || rec == 12
		if failed {
			want = append(want, "dead-letter queue/clickstream-failures")
		}
		if fmt.Sprint(kinds) != fmt.Sprint(want) || dead != failed {
			t.Errorf("record %d: hops %v, want %v", rec, kinds, want)
		}
		if failed && len(l.Hops) == 4 && l.Hops[3].Parent != 2 {
			t.Errorf("record %d: the dead-letter hop hangs under hop %d, want the consumer (2)", rec, l.Hops[3].Parent)
		}
	}
	if fs := g.Functions(); len(fs) != 1 || fs[0].Invocations != 2 {
		t.Errorf("functions %+v: want clickstream-analytics with 2 invocations", fs)
	}
}

// BenchmarkIngestKinesisBatch: the observations of a Kinesis batch pipeline
// (a producer line and a consumer line per record, a REPORT per batch of
// ten), each record a new event attached to two shared invocations.
func BenchmarkIngestKinesisBatch(b *testing.B) { ingest(b, kinesisObs) }

// TestKinesisBatchHalfTraced: a batch consumer's tracer may deliver the
// span of one record before its REPORT while the span of another is still
// on its way; the invocation then seems to name one record by span and
// another by log only, which must not make the two records one event.
func TestKinesisBatchHalfTraced(t *testing.T) {
	g := New(Config{Now: func() time.Time { return t0.Add(time.Minute) }})
	req := "0000000a-0000-4000-8000-00000000000b"
	parse := func(line string) tracing.Observation {
		return tracing.ParseLambdaLog(tracing.LogInput{Group: "/aws/lambda/clickstream-analytics", Message: line, Time: t0}, tracing.LogOptions{})
	}
	var b tracing.Batch
	for rec := range 2 {
		b = append(b, parse(fmt.Sprintf(`{"level":"INFO","message":"click received","function_request_id":%q,"eventID":"shardId-000000000000:%s","eventSourceARN":%q}`, req, kinesisSeq(rec), kinesisARN)))
	}
	// Before the REPORT: the consumer span of record 0 only.
	var tid tracing.TraceID
	var sid tracing.SpanID
	tid[15], sid[7] = 7, 9
	self := tracing.SpanKey(tid, sid)
	k := tracing.KinesisRecordKey("clickstream", "shardId-000000000000", kinesisSeq(0))
	b = append(b, tracing.Observation{
		Kind: tracing.ObsSpan, Source: "otlp", Time: t0, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "clickstream-analytics"},
		Keys:      []tracing.Key{{Kind: tracing.KeyTraceID, Value: tid.String()}, self, k, {Kind: tracing.KeyRequestID, Value: req}},
		Relations: []tracing.Relation{{From: self, To: k, Kind: tracing.RelConsumed, Evidence: "messaging.message.id on a consumer span"}},
		Span: &tracing.Span{
			TraceID: tid, SpanID: sid, Kind: tracing.SpanKindConsumer, Start: t0, End: t0.Add(time.Millisecond), InvocationID: req,
			Messaging: tracing.Messaging{System: "aws_kinesis", Operation: "process", Destination: "clickstream", MessageID: kinesisSeq(0)},
		},
	})
	b = append(b, parse("REPORT RequestId: "+req+"\tDuration: 12.00 ms\tBilled Duration: 12 ms\tMemory Size: 256 MB\tMax Memory Used: 80 MB\t"))
	g.Ingest(b)
	if n := g.Totals().Events; n != 2 {
		t.Fatalf("%d events for 2 records", n)
	}
}

// TestKinesisIndexBounded: the sequence-number index holds at most
// MaxEvents numbers, whatever the records seen.
func TestKinesisIndexBounded(t *testing.T) {
	g := New(Config{MaxEvents: 50, Now: func() time.Time { return t0 }})
	for i := 0; i < 21*30; i += 21 {
		var b tracing.Batch
		for j := i; j < i+21; j++ {
			b = append(b, kinesisObs(j, t0))
		}
		g.Ingest(b)
	}
	n := 0
	for _, l := range g.kin.shards {
		n += len(l)
	}
	if n != g.kin.n || n > 50 || g.Totals().Events > 50 {
		t.Errorf("index holds %d (counted %d), graph %d events; want at most 50", n, g.kin.n, g.Totals().Events)
	}
}

// kinesisLine is one log line of the clickstream: the producer's record of
// what PutRecords answered for record rec, or the consumer's line for it.
func kinesisLine(producer bool, rec int, at time.Time) tracing.Observation {
	shard := "shardId-000000000001"
	fn, line := "clickstream-analytics", fmt.Sprintf(`{"level":"INFO","message":"click received","function_request_id":"%08x-0000-4000-8000-00000000000b","eventID":"%s:%s","eventSourceARN":%q}`, rec, shard, kinesisSeq(rec), kinesisARN)
	if producer {
		fn = "web-frontend"
		line = fmt.Sprintf("2026-12-03T10:00:00.000Z\t%08x-0000-4000-8000-00000000000a\tINFO\t{\"msg\":\"click published\",\"stream_name\":\"clickstream\",\"shard_id\":%q,\"published_sequence_number\":%q}", rec, shard, kinesisSeq(rec))
	}
	o := tracing.ParseLambdaLog(tracing.LogInput{Group: "/aws/lambda/" + fn, Message: line, Time: at}, tracing.LogOptions{})
	o.Source = "cwlogs"
	return o
}

func streamNode(t *testing.T, g *Graph) MapNode {
	t.Helper()
	for _, n := range g.Map().Nodes {
		if n.Component.Kind == tracing.ComponentStream && n.Component.Name == "clickstream" {
			return n
		}
	}
	t.Fatal("no clickstream node on the map")
	return MapNode{}
}

// TestKinesisConsumerLag: a consumer that takes records late shows that lag
// on the stream's node, p95 and latest, whichever side's observation comes
// first; records whose put time no source gave count for nothing; the
// figures cover recent records only, in bounded memory.
func TestKinesisConsumerLag(t *testing.T) {
	now := t0.Add(10 * time.Minute)
	t.Run("late consumer", func(t *testing.T) {
		g := New(Config{Now: func() time.Time { return now }})
		// Records 0–99 put a second apart from t0; the consumer takes record
		// i at i×10 ms after its put, then record 100 three seconds late.
		for i := range 100 {
			put := now.Add(-5 * time.Minute).Add(time.Duration(i) * time.Second)
			a, b := kinesisLine(true, i, put), kinesisLine(false, i, put.Add(time.Duration(i)*10*time.Millisecond))
			if i%2 == 1 {
				a, b = b, a // the consumer's line first: timed when the producer's comes
			}
			g.Ingest(tracing.Batch{a})
			g.Ingest(tracing.Batch{b})
		}
		put := now.Add(-time.Minute)
		g.Ingest(tracing.Batch{kinesisLine(true, 100, put), kinesisLine(false, 100, put.Add(3*time.Second))})
		n := streamNode(t, g)
		if n.LagRecords != 100 { // record 0 was taken at once: no lag to measure
			t.Errorf("lag over %d records, want 100", n.LagRecords)
		}
		if n.LagLatest != 3*time.Second {
			t.Errorf("latest lag %s, want 3s", n.LagLatest)
		}
		if n.LagP95 < 940*time.Millisecond || n.LagP95 > 960*time.Millisecond {
			t.Errorf("p95 lag %s, want about 950ms", n.LagP95)
		}
	})
	t.Run("no put time", func(t *testing.T) {
		g := New(Config{Now: func() time.Time { return now }})
		for i := range 5 {
			g.Ingest(tracing.Batch{kinesisLine(false, i, now.Add(-time.Duration(i)*time.Second))})
		}
		if n := streamNode(t, g); n.LagRecords != 0 || n.LagP95 != 0 {
			t.Errorf("lag %s over %d records without a producer's side", n.LagP95, n.LagRecords)
		}
	})
	t.Run("recent and bounded", func(t *testing.T) {
		g := New(Config{Now: func() time.Time { return now }})
		for i := range 3 * lagSamples {
			put := now.Add(-20 * time.Minute).Add(time.Duration(i) * time.Second)
			if i >= 3*lagSamples-10 {
				put = now.Add(-time.Minute)
			}
			g.Ingest(tracing.Batch{kinesisLine(true, i, put), kinesisLine(false, i, put.Add(2*time.Second))})
		}
		if n := streamNode(t, g); n.LagRecords != 10 || n.LagLatest != 2*time.Second {
			t.Errorf("lag over %d recent records (latest %s), want the last 10", n.LagRecords, n.LagLatest)
		}
		for _, l := range g.kin.lags {
			if l.n > lagSamples {
				t.Errorf("%d samples kept", l.n)
			}
		}
	})
}
