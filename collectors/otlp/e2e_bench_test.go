package otlp

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"runtime"
	"syscall"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/graph"
)

func strAttr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

// telemetrygenBatch is an export shaped like `telemetrygen traces`: a resource
// with service.name=telemetrygen, and traces of one server span "lets-go"
// with a child client span "okey-dokey-0", each with telemetrygen's
// attributes (net.peer.ip, peer.service), n spans in all.
func telemetrygenBatch(seq, n int) []byte {
	spans := make([]*tracepb.Span, 0, n)
	start := uint64(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC).UnixNano())
	for i := 0; len(spans) < n; i++ {
		tid := make([]byte, 16)
		binary.BigEndian.PutUint64(tid[:8], uint64(seq+1))
		binary.BigEndian.PutUint64(tid[8:], uint64(i+1))
		parent := make([]byte, 8)
		binary.BigEndian.PutUint64(parent, uint64(seq)<<24|uint64(2*i+1))
		child := make([]byte, 8)
		binary.BigEndian.PutUint64(child, uint64(seq)<<24|uint64(2*i+2))
		spans = append(spans, &tracepb.Span{
			TraceId: tid, SpanId: parent, Name: "lets-go", Kind: tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: start, EndTimeUnixNano: start + 123456,
			Attributes: []*commonpb.KeyValue{strAttr("net.peer.ip", "1.2.3.4"), strAttr("peer.service", "telemetrygen-server")},
		})
		if len(spans) < n {
			spans = append(spans, &tracepb.Span{
				TraceId: tid, SpanId: child, ParentSpanId: parent, Name: "okey-dokey-0", Kind: tracepb.Span_SPAN_KIND_CLIENT,
				StartTimeUnixNano: start, EndTimeUnixNano: start + 123456,
				Attributes: []*commonpb.KeyValue{strAttr("net.peer.ip", "1.2.3.4"), strAttr("peer.service", "telemetrygen-client")},
			})
		}
	}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{strAttr("service.name", "telemetrygen")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "telemetrygen"}, Spans: spans}},
	}}}
	b, _ := proto.Marshal(req)
	return b
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReceiverE2E (run it with a fixed count, e.g. -benchtime 400x: the
// exports are built up front) drives the real OTLP/HTTP receiver, hub and graph with
// telemetrygen-shaped exports, two senders at a time, and reports the whole
// process's CPU per span (getrusage: the senders included, so it is an upper
// bound for flowtop alone) and the heap held per span the graph holds.
func BenchmarkReceiverE2E(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			r, err := New(Config{GRPCAddr: "off", HTTPAddr: "127.0.0.1:0"})
			if err != nil {
				b.Fatal(err)
			}
			g := graph.New(graph.Config{MaxEvents: 1 << 22})
			hub := collectors.NewHub(g, 0)
			hub.Add(r)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { hub.Run(ctx); close(done) }()
			url := "http://" + r.Addrs(ctx)[0] + "/v1/traces"
			// Every export has fresh IDs, so every span is held; they are
			// built before the clock starts, so the senders only send.
			bodies := make([][]byte, b.N)
			for i := range bodies {
				bodies[i] = telemetrygenBatch(i, batch)
			}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			mapped0 := g.MappedBytes() // the graph's records live beside the Go heap
			cpu0 := cpuTime()
			b.ResetTimer()
			sent := make(chan int, 2)
			for w := 0; w < 2; w++ {
				go func() {
					n := 0
					for i := w; i < b.N; i += 2 {
						resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(bodies[i]))
						if err != nil {
							b.Error(err)
							break
						}
						resp.Body.Close()
						if resp.StatusCode == 200 {
							n += batch
						}
					}
					sent <- n
				}()
			}
			n := <-sent + <-sent
			for hub.Ingested() < uint64(n) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			cancel()
			<-done
			if n > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/span")
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "heap-B/held-span")
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)+g.MappedBytes()-mapped0)/float64(n), "held-B/held-span")
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "spans/s")
			}
			runtime.KeepAlive(g)
			runtime.KeepAlive(bodies)
		})
	}
}
