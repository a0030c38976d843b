package otlp

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/flowtop/flowtop/tracing"
)

// TestSpanEventsFromSDK records an exception with the real OTel SDK
// (span.RecordError with a stack trace) and sends it over OTLP/gRPC: the
// span arrives with its exception event, type, message and stack trace.
func TestSpanEventsFromSDK(t *testing.T) {
	t.Parallel()
	out := make(chan tracing.Batch, 16)
	r := start(t, out, Config{})
	addrs := r.Addrs(context.Background())
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(addrs[0]), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	res := sdkresource.NewWithAttributes("", attribute.String("service.name", "charge-card"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	_, sp := tp.Tracer("test").Start(context.Background(), "charge")
	sp.AddEvent("card checked", trace.WithAttributes(attribute.Int("attempt", 2)))
	sp.RecordError(errors.New("card declined"), trace.WithStackTrace(true))
	sp.End()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = tp.Shutdown(context.Background())
	got := collect(t, out, 1)
	evs := got[0].Span.Events
	if len(evs) != 2 || evs[0].Name != "card checked" || evs[0].Attrs["attempt"] != "2" || evs[0].Time.IsZero() {
		t.Fatalf("events %+v", evs)
	}
	ex := evs[1]
	if ex.Name != "exception" || ex.Attrs["exception.type"] != "*errors.errorString" || ex.Attrs["exception.message"] != "card declined" ||
		!strings.Contains(ex.Attrs["exception.stacktrace"], "goroutine") {
		t.Errorf("exception event %+v", ex)
	}
}

// eventsRequest is a request of one span with an exception event and a
// plain one, for the fuzz seed.
func eventsRequest() []byte {
	str := func(k, v string) *commonpb.KeyValue {
		return anyAttr(k, &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}})
	}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
		TraceId: bytes.Repeat([]byte{1}, 16), SpanId: bytes.Repeat([]byte{2}, 8), Name: "s", StartTimeUnixNano: 1, EndTimeUnixNano: 2,
		Events: []*tracepb.Span_Event{
			{TimeUnixNano: 1, Name: "exception", Attributes: []*commonpb.KeyValue{str("exception.type", "E"), str("exception.message", "m"), str("exception.stacktrace", "a\nb")}},
			{TimeUnixNano: 2, Name: "retry", Attributes: []*commonpb.KeyValue{anyAttr("attempt", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 2}})}},
		},
	}}}}}}}
	b, _ := proto.Marshal(req)
	return b
}

// FuzzWireSpanEvents: whatever protobuf accepts of a request with span
// events, the wire decoder accepts without panic, every span converted or
// rejected, and no span holds more events than the limit.
func FuzzWireSpanEvents(f *testing.F) {
	f.Add(eventsRequest())
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		d := newDecoder(Limits{})
		d.reset(nil)
		werr := d.traces(b)
		var req coltracepb.ExportTraceServiceRequest
		if proto.Unmarshal(b, &req) != nil {
			return
		}
		if werr != nil {
			t.Fatalf("protobuf accepts, wire decoder says %v", werr)
		}
		for _, o := range d.out {
			if len(o.Span.Events) > tracing.MaxSpanEvents {
				t.Fatalf("%d events kept", len(o.Span.Events))
			}
		}
	})
}

// TestSpanEventLimits: events past the count limit, attributes past theirs
// and a huge stack trace are cut and counted as truncated.
func TestSpanEventLimits(t *testing.T) {
	t.Parallel()
	str := func(k, v string) *commonpb.KeyValue {
		return anyAttr(k, &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}})
	}
	var events []*tracepb.Span_Event
	for i := range tracing.MaxSpanEvents + 3 {
		ev := &tracepb.Span_Event{TimeUnixNano: 1_700_000_000_000_000_000 + uint64(i), Name: "exception", Attributes: []*commonpb.KeyValue{str("exception.type", "E")}}
		if i == 0 {
			ev.Attributes = append(ev.Attributes, str("exception.stacktrace", strings.Repeat("x", 3*tracing.MaxSpanEventValue)))
			for j := range tracing.MaxSpanEventAttrs {
				ev.Attributes = append(ev.Attributes, str("extra", string(rune('a'+j))))
			}
			ev.Attributes = append(ev.Attributes, anyAttr("arr", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{}}}))
		}
		events = append(events, ev)
	}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
		TraceId: bytes.Repeat([]byte{1}, 16), SpanId: bytes.Repeat([]byte{2}, 8), Name: "s",
		StartTimeUnixNano: 1_700_000_000_000_000_000, EndTimeUnixNano: 1_700_000_001_000_000_000, Events: events,
	}}}}}}}
	body, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder(Limits{})
	d.reset(nil)
	if err := d.traces(body); err != nil || len(d.out) != 1 {
		t.Fatalf("%v, %d observations", err, len(d.out))
	}
	s := d.out[0].Span
	if len(s.Events) != tracing.MaxSpanEvents {
		t.Errorf("%d events kept, want %d", len(s.Events), tracing.MaxSpanEvents)
	}
	first := s.Events[0]
	if first.Attrs["exception.type"] != "E" || len(first.Attrs["exception.stacktrace"]) > tracing.MaxSpanEventValue || len(first.Attrs) > tracing.MaxSpanEventAttrs {
		t.Errorf("first event: type %q, stack %d bytes, %d attrs", first.Attrs["exception.type"], len(first.Attrs["exception.stacktrace"]), len(first.Attrs))
	}
	// 3 events past the count, the stack trace cut, and 3 of the first
	// event's 19 attributes past the limit of 16.
	if d.truncated != 7 {
		t.Errorf("truncated %d, want 7", d.truncated)
	}
}
