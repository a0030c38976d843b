package otlp

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"runtime"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

func spanBatch(base, n int) []byte {
	var spans []*tracepb.Span
	for i := 0; i < n; i++ {
		tid, sid := make([]byte, 16), make([]byte, 8)
		binary.BigEndian.PutUint64(tid[8:], uint64(base+i+1))
		binary.BigEndian.PutUint64(sid, uint64(base+i+1))
		spans = append(spans, &tracepb.Span{
			TraceId: tid, SpanId: sid, Name: "billing-queue process", Kind: tracepb.Span_SPAN_KIND_CONSUMER,
			StartTimeUnixNano: 1_700_000_000_000_000_000, EndTimeUnixNano: 1_700_000_000_100_000_000,
			Attributes: []*commonpb.KeyValue{
				{Key: "messaging.system", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "aws_sqs"}}},
				{Key: "messaging.message.id", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: hex.EncodeToString(tid)}}},
			},
		})
	}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "charge-card"}}}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
	}}}
	b, _ := proto.Marshal(req)
	return b
}

// BenchmarkOTLPIngest posts OTLP/HTTP protobuf exports of 500 spans to the
// receiver, which feeds a real graph; it reports spans/s end to end and the
// heap retained per span.
func BenchmarkOTLPIngest(b *testing.B) {
	out := make(chan tracing.Batch, 64)
	r, err := New(Config{GRPCAddr: "off", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx, out) }()
	url := "http://" + r.Addrs(ctx)[0] + "/v1/traces"
	g := graph.New(graph.Config{MaxEvents: 1 << 22})
	done := make(chan int)
	go func() {
		n := 0
		for batch := range out {
			g.Ingest(batch)
			n += len(batch)
		}
		done <- n
	}()
	const per = 500
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	sent := 0
	for i := 0; i < b.N; i++ {
		body := spanBatch(i*per, per)
		resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			sent += per
		}
	}
	cancel()
	for len(out) > 0 {
		runtime.Gosched()
	}
	b.StopTimer()
	close(out)
	n := <-done
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "spans/s")
	if n > 0 {
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "bytes/span")
	}
	runtime.KeepAlive(g)
}
