package otlp

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/flowtop/flowtop/tracing"
)

func start(t *testing.T, out chan tracing.Batch, cfg Config) *Receiver {
	t.Helper()
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:0"
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = r.Run(ctx, out) }()
	r.Addrs(ctx)
	return r
}

// emit sends a producer span, a Lambda consumer span with a link, through a
// real OTel SDK tracer provider and exporter.
func emit(t *testing.T, exp sdktrace.SpanExporter) {
	t.Helper()
	res := sdkresource.NewWithAttributes("", attribute.String("service.name", "charge-card"), attribute.String("faas.name", "charge-card"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	tr := tp.Tracer("test")
	ctx, prod := tr.Start(context.Background(), "billing-queue send", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.system", "aws_sqs"), attribute.String("messaging.operation.type", "send"), attribute.String("messaging.message.id", "m-1"), attribute.String("messaging.destination.name", "billing-queue")))
	prod.End()
	_, cons := tr.Start(context.Background(), "billing-queue process", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(trace.Link{SpanContext: trace.SpanContextFromContext(ctx), Attributes: []attribute.KeyValue{attribute.String("messaging.message.id", "m-1")}}),
		trace.WithAttributes(attribute.String("messaging.system", "aws_sqs"), attribute.String("faas.invocation_id", "req-1"), attribute.Bool("faas.coldstart", true)))
	cons.End()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = tp.Shutdown(context.Background())
}

func collect(t *testing.T, out chan tracing.Batch, n int) tracing.Batch {
	t.Helper()
	var got tracing.Batch
	for len(got) < n {
		select {
		case b := <-out:
			got = append(got, b...)
		case <-time.After(10 * time.Second):
			t.Fatalf("received %d of %d spans", len(got), n)
		}
	}
	return got
}

func check(t *testing.T, got tracing.Batch) {
	t.Helper()
	var prod, cons *tracing.Observation
	for i := range got {
		switch got[i].Span.Name {
		case "billing-queue send":
			prod = &got[i]
		case "billing-queue process":
			cons = &got[i]
		}
	}
	if prod == nil || cons == nil {
		t.Fatalf("spans: %+v", got)
	}
	if prod.Span.Kind != tracing.SpanKindProducer || prod.Span.Messaging.MessageID != "m-1" || prod.Component.Name != "charge-card" {
		t.Errorf("producer: %+v", prod.Span)
	}
	published := false
	for _, r := range prod.Relations {
		published = published || (r.Kind == tracing.RelPublished && r.To == tracing.Key{Kind: tracing.KeyMessageID, Value: "m-1"})
	}
	if !published {
		t.Errorf("producer relations: %+v", prod.Relations)
	}
	if cons.Span.InvocationID != "req-1" || !cons.Span.ColdStart || len(cons.Span.Links) != 1 || cons.Span.Links[0].SpanID != prod.Span.SpanID {
		t.Errorf("consumer: %+v", cons.Span)
	}
	consumed := false
	for _, r := range cons.Relations {
		consumed = consumed || (r.Kind == tracing.RelConsumed && r.To.Value == "m-1")
	}
	if !consumed {
		t.Errorf("consumer relations: %+v", cons.Relations)
	}
}

func TestRealExporters(t *testing.T) {
	t.Parallel()
	out := make(chan tracing.Batch, 16)
	r := start(t, out, Config{})
	addrs := r.Addrs(context.Background())
	ctx := context.Background()
	g, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addrs[0]), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	emit(t, g)
	check(t, collect(t, out, 2))
	gz, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addrs[0]), otlptracegrpc.WithInsecure(), otlptracegrpc.WithCompressor("gzip"))
	if err != nil {
		t.Fatal(err)
	}
	emit(t, gz)
	check(t, collect(t, out, 2))
	h, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(addrs[1]), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	emit(t, h)
	check(t, collect(t, out, 2))
	if hl := r.Health(); hl.Items != 6 || hl.Accepted != 6 || !strings.Contains(hl.Mode, "listening") {
		t.Errorf("health %+v", hl)
	}
}

func TestHTTPJSONLimitsAndBadInput(t *testing.T) {
	t.Parallel()
	out := make(chan tracing.Batch, 16)
	r := start(t, out, Config{MaxRequestBytes: 4096, GRPCAddr: "off"})
	url := "http://" + r.Addrs(context.Background())[0] + "/v1/traces"
	post := func(ct string, body []byte) (*http.Response, string) {
		resp, err := http.Post(url, ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp, b.String()
	}
	good := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeSpans":[{"spans":[
	  {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"ok","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000"},
	  {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"","name":"bad id","startTimeUnixNano":"1"}]}]}]}`
	resp, body := post("application/json", []byte(good))
	if resp.StatusCode != 200 || !strings.Contains(body, `"rejectedSpans":"1"`) {
		t.Errorf("partial success: %d %s", resp.StatusCode, body)
	}
	if b := collect(t, out, 1); b[0].Span.Name != "ok" || b[0].Component.Name != "api" {
		t.Errorf("span %+v", b[0])
	}
	if resp, _ := post("application/x-protobuf", []byte("\xff\xfenot protobuf")); resp.StatusCode != 400 {
		t.Errorf("garbage: %d", resp.StatusCode)
	}
	if resp, _ := post("application/json", bytes.Repeat([]byte(" "), 8192)); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: %d", resp.StatusCode)
	}
	if hl := r.Health(); hl.Unparsed != 1 || hl.Rejected != 2 || hl.Accepted != 1 {
		t.Errorf("want 1 span unparsed, 2 requests rejected, 1 span accepted: %+v", hl)
	}
}

// TestSheds: with nobody reading, exports are shed with a retryable status,
// counted, and memory stays bounded by the channel.
func TestSheds(t *testing.T) {
	t.Parallel()
	out := make(chan tracing.Batch, 1)
	r := start(t, out, Config{GRPCAddr: "off"})
	url := "http://" + r.Addrs(context.Background())[0] + "/v1/traces"
	body, _ := proto.Marshal(sampleRequest(t))
	codes := map[int]int{}
	for i := 0; i < 20; i++ {
		resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		codes[resp.StatusCode]++
		if resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		resp.Body.Close()
	}
	if codes[200] != 1 || codes[503] != 19 {
		t.Errorf("status codes %v: want one accepted, the rest shed", codes)
	}
	if h := r.Health(); h.Shed != 19 || h.Dropped != 0 {
		t.Errorf("shed %d, dropped %d; want 19 requests shed, nothing dropped", h.Shed, h.Dropped)
	}
}

// sampleRequest is the OTLP example trace from the corpus (testdata/corpus/otlp).
func sampleRequest(t testing.TB) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "corpus", "otlp", "otelproto-examples-trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := unmarshalJSON(b, &req); err != nil || len(req.GetResourceSpans()) == 0 {
		t.Fatalf("example trace: %v", err)
	}
	return &req
}

func TestCorpusFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "testdata", "corpus", "otlp")
	b, err := ReadFile(filepath.Join(dir, "otelproto-examples-trace.json"))
	if err != nil || len(b) == 0 {
		t.Fatalf("example trace: %v %d", err, len(b))
	}
	jl, err := ReadFile(filepath.Join(dir, "oteltui-test_data.jsonl"))
	if err != nil {
		t.Fatalf("oteltui jsonl: %v", err)
	}
	spans, logs := 0, 0
	for _, o := range jl {
		switch o.Kind {
		case tracing.ObsSpan:
			spans++
		case tracing.ObsLog:
			logs++
		}
	}
	if spans == 0 || logs == 0 {
		t.Errorf("JSONL file: %d spans, %d logs; want both", spans, logs)
	}
}

func FuzzConvert(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "corpus", "otlp", "otelproto-examples-trace.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"resourceSpans":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		batch, _ := Decode(bytes.NewReader(b))
		for _, o := range batch {
			if o.Span == nil || !o.Span.TraceID.IsValid() || !o.Span.SpanID.IsValid() {
				t.Fatalf("invalid span %+v", o)
			}
		}
		var req coltracepb.ExportTraceServiceRequest
		if proto.Unmarshal(b, &req) == nil {
			ConvertTraces(req.GetResourceSpans())
		}
	})
}

// TestFaaSNameOnSpan: a span that names its function in a span attribute
// (the resource names only the service) belongs to that function.
func TestFaaSNameOnSpan(t *testing.T) {
	t.Parallel()
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "order-pipeline"}}}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
			TraceId: bytes.Repeat([]byte{1}, 16), SpanId: bytes.Repeat([]byte{2}, 8), Name: "billing-queue process",
			StartTimeUnixNano: 1, EndTimeUnixNano: 2,
			Attributes: []*commonpb.KeyValue{{Key: "faas.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "charge-card"}}}},
		}}}},
	}}}
	b, rejected, why := ConvertTraces(req.GetResourceSpans())
	if rejected != 0 || len(b) != 1 {
		t.Fatalf("%d observations, %d rejected: %s", len(b), rejected, why)
	}
	if c := b[0].Component; c != (tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"}) || b[0].Span.Service != "order-pipeline" {
		t.Errorf("component %v, service %q; want the function charge-card of service order-pipeline", c, b[0].Span.Service)
	}
}
