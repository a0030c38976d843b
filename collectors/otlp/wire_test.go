package otlp

import (
	"bytes"
	"strings"
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/flowtop/flowtop/tracing"
)

func anyAttr(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

// TestWireDecoderFields: every field flowtop reads comes through the wire
// decoder, whatever its value type, and the limits cut and count.
func TestWireDecoderFields(t *testing.T) {
	t.Parallel()
	tid, sid, pid := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 8), bytes.Repeat([]byte{3}, 8)
	ltid, lsid := bytes.Repeat([]byte{4}, 16), bytes.Repeat([]byte{5}, 8)
	long := strings.Repeat("é", 600) // 1200 bytes: cut to 1024 on a rune boundary
	attrs := []*commonpb.KeyValue{
		anyAttr("messaging.system", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "aws_sns"}}),
		anyAttr("messaging.operation", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "publish"}}),
		anyAttr("messaging.destination.name", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "orders"}}),
		anyAttr("messaging.message.id", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 42}}),
		anyAttr("faas.coldstart", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}),
		anyAttr("aws.request_id", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "req-9"}}),
		anyAttr("http.route", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "/orders/{id}"}}),
		anyAttr("rpc.method", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 1.5}}),
		anyAttr("url.full", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: long}}),
		anyAttr("ignored", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{}}}),
	}
	for i := 0; i < 200; i++ {
		attrs = append(attrs, anyAttr("filler", nil))
	}
	attrs = append(attrs, anyAttr("faas.name", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "past-the-limit"}}))
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		// Scope spans first, resource last: wire order must not matter.
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
			TraceId: tid, SpanId: sid, ParentSpanId: pid, Name: "orders publish", Kind: tracepb.Span_SPAN_KIND_PRODUCER,
			StartTimeUnixNano: 1_700_000_000_000_000_000, EndTimeUnixNano: 1_700_000_000_500_000_000, Attributes: attrs,
			Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"},
			Links:  []*tracepb.Span_Link{{TraceId: ltid, SpanId: lsid, Attributes: []*commonpb.KeyValue{anyAttr("messaging.message.id", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "m-up"}})}}},
		}}}},
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{anyAttr("service.name", &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "shop"}})}},
	}}}
	body, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder(Limits{})
	d.reset(nil)
	if err := d.traces(body); err != nil || len(d.out) != 1 {
		t.Fatalf("%v, %d observations", err, len(d.out))
	}
	o := d.out[0]
	s := o.Span
	if o.Component != (tracing.Component{Kind: tracing.ComponentService, Name: "shop"}) || s.Service != "shop" || s.Name != "orders publish" || s.Kind != tracing.SpanKindProducer {
		t.Errorf("identity: %+v %+v", o.Component, s)
	}
	if s.Status != tracing.StatusError || s.StatusMessage != "boom" || s.Duration().Milliseconds() != 500 || s.ParentID[0] != 3 {
		t.Errorf("status/timing/parent: %+v", s)
	}
	if m := s.Messaging; m.System != "aws_sns" || m.Operation != "publish" || m.Destination != "orders" || m.MessageID != "42" {
		t.Errorf("messaging: %+v", m)
	}
	if !s.ColdStart || s.InvocationID != "req-9" || s.Attrs["http.route"] != "/orders/{id}" || s.Attrs["rpc.method"] != "1.5" {
		t.Errorf("faas/attrs: %v %q %v", s.ColdStart, s.InvocationID, s.Attrs)
	}
	if _, ok := s.Attrs["url.full"]; ok {
		t.Errorf("a 1 KiB url.full is kept for display (over 512 bytes)")
	}
	if o.Component.Kind == tracing.ComponentFunction {
		t.Errorf("faas.name past the 128-attribute limit was read")
	}
	// 211 attributes: 83 past the limit, plus url.full cut to 1 KiB.
	if d.truncated != 84 {
		t.Errorf("truncated %d, want 84", d.truncated)
	}
	if len(s.Links) != 1 || s.Links[0].SpanID[0] != 5 || s.Links[0].Attrs["messaging.message.id"] != "m-up" {
		t.Errorf("links: %+v", s.Links)
	}
	var published, consumed, child bool
	for _, r := range o.Relations {
		published = published || (r.Kind == tracing.RelPublished && r.To == tracing.Key{Kind: tracing.KeySNSMessageID, Value: "42"})
		consumed = consumed || (r.Kind == tracing.RelConsumed && r.To.Value == "m-up")
		child = child || (r.Kind == tracing.RelChildOf && r.To == tracing.SpanKey(s.TraceID, s.ParentID))
	}
	if !published || !consumed || !child || o.Keys[1] != tracing.SpanKey(s.TraceID, s.SpanID) || o.Keys[0].Value != s.TraceID.String() {
		t.Errorf("keys %+v relations %+v", o.Keys, o.Relations)
	}
}

// FuzzWireTraces checks the wire decoder against the generated protobuf
// decoder: whatever protobuf accepts, the wire decoder accepts too and finds
// every span (each either converted or rejected for its IDs), without panic.
func FuzzWireTraces(f *testing.F) {
	f.Add(spanBatch(0, 3))
	f.Add(telemetrygenBatch(1, 4))
	b, _ := bombRequest(512)
	f.Add(b)
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
		n := 0
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				n += len(ss.GetSpans())
			}
		}
		if len(d.out)+d.rejected != n {
			t.Fatalf("%d spans, wire decoder: %d converted + %d rejected", n, len(d.out), d.rejected)
		}
	})
}

// FuzzWireLogs does for logs what FuzzWireTraces does for traces.
func FuzzWireLogs(f *testing.F) {
	f.Add(spanBatch(0, 2)) // a traces body read as logs: wrong, but well-formed
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		d := newDecoder(Limits{})
		d.reset(nil)
		werr := d.logs(b)
		var req collogspb.ExportLogsServiceRequest
		if proto.Unmarshal(b, &req) != nil {
			return
		}
		if werr != nil {
			t.Fatalf("protobuf accepts, wire decoder says %v", werr)
		}
		n := 0
		for _, rl := range req.GetResourceLogs() {
			for _, sl := range rl.GetScopeLogs() {
				n += len(sl.GetLogRecords())
			}
		}
		if len(d.out) != n {
			t.Fatalf("%d records, wire decoder found %d", n, len(d.out))
		}
	})
}
