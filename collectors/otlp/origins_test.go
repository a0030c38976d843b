package otlp

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/flowtop/flowtop/tracing"
)

// sendAs exports one span as service through exp, a real OTel SDK exporter.
func sendAs(t *testing.T, exp sdktrace.SpanExporter, service string) {
	t.Helper()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(sdkresource.NewWithAttributes("", attribute.String("service.name", service))))
	_, sp := tp.Tracer("test").Start(context.Background(), "work")
	sp.End()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = tp.Shutdown(context.Background())
}

// TestSendersAndServices: three exporters (two over gRPC, one over HTTP,
// each its own connection) sending as two services read as 3 senders and
// 2 services.
func TestSendersAndServices(t *testing.T) {
	t.Parallel()
	out := make(chan tracing.Batch, 16)
	r := start(t, out, Config{})
	addrs := r.Addrs(context.Background())
	ctx := context.Background()
	for _, service := range []string{"orders-api", "charge-card"} {
		g, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addrs[0]), otlptracegrpc.WithInsecure())
		if err != nil {
			t.Fatal(err)
		}
		sendAs(t, g, service)
		collect(t, out, 1)
	}
	h, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(addrs[1]), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	sendAs(t, h, "charge-card")
	collect(t, out, 1)
	if hl := r.Health(); hl.Senders != 3 || hl.Services != 2 {
		t.Errorf("senders %d, services %d; want 3 and 2", hl.Senders, hl.Services)
	}
}

// TestOriginsWindowAndCap: a sender or service counts for originWindow
// after its last export, and each set stops at tracing.MaxOrigins.
func TestOriginsWindowAndCap(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	o := newOrigins(func() time.Time { return now })
	span := func(service string) tracing.Batch {
		return tracing.Batch{{Kind: tracing.ObsSpan, Span: &tracing.Span{Service: service}}, {Kind: tracing.ObsSpan, Span: &tracing.Span{Service: service}}}
	}
	o.saw("127.0.0.1:1000", span("a"))
	o.saw("127.0.0.1:1001", span("b"))
	o.saw("127.0.0.1:1000", span("a"))
	if s, v := o.counts(); s != 2 || v != 2 {
		t.Fatalf("%d senders, %d services", s, v)
	}
	now = now.Add(originWindow / 2)
	o.saw("127.0.0.1:1001", span("b"))
	now = now.Add(originWindow/2 + time.Second)
	if s, v := o.counts(); s != 1 || v != 1 {
		t.Fatalf("after the window: %d senders, %d services", s, v)
	}
	for i := 0; i < 3*tracing.MaxOrigins; i++ {
		o.saw(fmt.Sprintf("127.0.0.1:%d", 2000+i), span(fmt.Sprint("svc-", i)))
	}
	if s, v := o.counts(); s != tracing.MaxOrigins || v != tracing.MaxOrigins {
		t.Fatalf("a flood of senders: %d senders, %d services; want the cap %d", s, v, tracing.MaxOrigins)
	}
	now = now.Add(2 * originWindow)
	o.saw("127.0.0.1:9", span("late"))
	if s, v := o.counts(); s != 1 || v != 1 {
		t.Fatalf("the full sets did not make room once the flood was over: %d, %d", s, v)
	}
}
