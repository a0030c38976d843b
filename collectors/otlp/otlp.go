// Package otlp receives OpenTelemetry traces over OTLP/gRPC (4317) and
// OTLP/HTTP (4318, protobuf and JSON), bound to loopback unless told
// otherwise, and reads OTLP JSON files. Spans become observations with their
// messaging and FaaS keys. Under pressure it sheds load with retryable answers
// and counts what it shed; it never buffers without bound.
package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/tracing"
)

// Config sets the receiver.
type Config struct {
	GRPCAddr         string // default 127.0.0.1:4317; "off" disables
	HTTPAddr         string // default 127.0.0.1:4318; "off" disables
	MaxRequestBytes  int    // default 4 MiB
	AllowNonLoopback bool   // bind beyond loopback only when asked
}

// Receiver is the OTLP source.
type Receiver struct {
	cfg     Config
	tracker *collectors.Tracker

	mu    sync.Mutex
	out   chan<- tracing.Batch
	addrs []string
	ready chan struct{}
}

// New checks the configuration and returns a receiver; Run listens.
func New(cfg Config) (*Receiver, error) {
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:4317"
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:4318"
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 4 << 20
	}
	for _, a := range []string{cfg.GRPCAddr, cfg.HTTPAddr} {
		if a == "off" {
			continue
		}
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("otlp: address %q: %w", a, err)
		}
		if ip := net.ParseIP(host); !cfg.AllowNonLoopback && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("otlp: address %q is not loopback: bind beyond this machine only on purpose (AllowNonLoopback)", a)
		}
	}
	t := collectors.NewTracker("otlp", nil)
	return &Receiver{cfg: cfg, tracker: t, ready: make(chan struct{})}, nil
}

// Name is "otlp".
func (r *Receiver) Name() string { return "otlp" }

// Health reports the receiver's state, what it shed and what it could not parse.
func (r *Receiver) Health() tracing.SourceHealth { return r.tracker.Health() }

// Addrs are the bound addresses (gRPC first when on), once Run is listening.
func (r *Receiver) Addrs(ctx context.Context) []string {
	select {
	case <-r.ready:
	case <-ctx.Done():
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.addrs...)
}

// Run listens until ctx ends.
func (r *Receiver) Run(ctx context.Context, out chan<- tracing.Batch) error {
	r.mu.Lock()
	r.out = out
	r.mu.Unlock()
	var closers []func()
	var modes []string
	if r.cfg.GRPCAddr != "off" {
		ln, err := net.Listen("tcp", r.cfg.GRPCAddr)
		if err != nil {
			close(r.ready)
			return fmt.Errorf("otlp: listen grpc %s: %w (is another collector on it? set --otlp-grpc)", r.cfg.GRPCAddr, err)
		}
		srv := grpc.NewServer(grpc.MaxRecvMsgSize(r.cfg.MaxRequestBytes))
		coltracepb.RegisterTraceServiceServer(srv, traceServer{r: r})
		collogspb.RegisterLogsServiceServer(srv, logsServer{r: r})
		go func() { _ = srv.Serve(ln) }()
		closers = append(closers, srv.Stop)
		r.addrs = append(r.addrs, ln.Addr().String())
		modes = append(modes, "grpc "+ln.Addr().String())
	}
	if r.cfg.HTTPAddr != "off" {
		ln, err := net.Listen("tcp", r.cfg.HTTPAddr)
		if err != nil {
			for _, c := range closers {
				c()
			}
			close(r.ready)
			return fmt.Errorf("otlp: listen http %s: %w (is another collector on it? set --otlp-http)", r.cfg.HTTPAddr, err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/v1/traces", r.httpTraces)
		mux.HandleFunc("/v1/logs", r.httpLogs)
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = hs.Serve(ln) }()
		closers = append(closers, func() { _ = hs.Close() })
		r.addrs = append(r.addrs, ln.Addr().String())
		modes = append(modes, "http "+ln.Addr().String())
	}
	r.tracker.SetMode("listening " + strings.Join(modes, ", "))
	r.tracker.OK(0, time.Time{})
	close(r.ready)
	<-ctx.Done()
	for _, c := range closers {
		c()
	}
	r.tracker.Stopped()
	return nil
}

// offer hands a batch to the hub without waiting: a full hub sheds the batch.
func (r *Receiver) offer(b tracing.Batch) bool {
	if len(b) == 0 {
		return true
	}
	r.mu.Lock()
	out := r.out
	r.mu.Unlock()
	select {
	case out <- b:
		r.tracker.OK(len(b), time.Time{})
		return true
	default:
		r.tracker.Dropped(len(b))
		return false
	}
}

type traceServer struct {
	coltracepb.UnimplementedTraceServiceServer
	r *Receiver
}

func (s traceServer) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	b, rejected, why := ConvertTraces(req.GetResourceSpans())
	if !s.r.offer(b) {
		return nil, status.Error(codes.Unavailable, "otlp: flowtop is shedding load; retry later")
	}
	resp := &coltracepb.ExportTraceServiceResponse{}
	if rejected > 0 {
		s.r.tracker.Unparsed(rejected)
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{RejectedSpans: int64(rejected), ErrorMessage: why}
	}
	return resp, nil
}

type logsServer struct {
	collogspb.UnimplementedLogsServiceServer
	r *Receiver
}

func (s logsServer) Export(_ context.Context, req *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	if !s.r.offer(ConvertLogs(req.GetResourceLogs())) {
		return nil, status.Error(codes.Unavailable, "otlp: flowtop is shedding load; retry later")
	}
	return &collogspb.ExportLogsServiceResponse{}, nil
}

// readBody reads a request body within the size limit, gunzipping if asked.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, bool) {
	if req.Method != http.MethodPost {
		http.Error(w, "otlp: POST only", http.StatusMethodNotAllowed)
		return nil, false
	}
	var body io.Reader = http.MaxBytesReader(w, req.Body, int64(r.cfg.MaxRequestBytes))
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, "otlp: bad gzip body: "+err.Error(), http.StatusBadRequest)
			return nil, false
		}
		defer gz.Close()
		body = io.LimitReader(gz, int64(r.cfg.MaxRequestBytes)+1)
	}
	b, err := io.ReadAll(body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || len(b) > r.cfg.MaxRequestBytes {
		http.Error(w, fmt.Sprintf("otlp: request larger than %d bytes", r.cfg.MaxRequestBytes), http.StatusRequestEntityTooLarge)
		return nil, false
	}
	if err != nil {
		http.Error(w, "otlp: read body: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	return b, true
}

func isJSON(req *http.Request) bool {
	return strings.HasPrefix(req.Header.Get("Content-Type"), "application/json")
}

// decode reads an OTLP request body as JSON or protobuf, by its content type;
// on failure it answers 400 and counts the body as unparsed.
func (r *Receiver) decode(w http.ResponseWriter, req *http.Request, b []byte, m proto.Message) bool {
	var err error
	if isJSON(req) {
		err = unmarshalJSON(b, m)
	} else {
		err = proto.Unmarshal(b, m)
	}
	if err != nil {
		r.tracker.Unparsed(1)
		http.Error(w, fmt.Sprintf("otlp: cannot decode %s: %v", m.ProtoReflect().Descriptor().Name(), err), http.StatusBadRequest)
		return false
	}
	return true
}

func (r *Receiver) reply(w http.ResponseWriter, req *http.Request, msg proto.Message) {
	var out []byte
	if isJSON(req) {
		out, _ = protojson.Marshal(msg)
		w.Header().Set("Content-Type", "application/json")
	} else {
		out, _ = proto.Marshal(msg)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}
	_, _ = w.Write(out)
}

func (r *Receiver) shed(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "2")
	http.Error(w, "otlp: flowtop is shedding load; retry later", http.StatusServiceUnavailable)
}

func (r *Receiver) httpTraces(w http.ResponseWriter, req *http.Request) {
	b, ok := r.readBody(w, req)
	if !ok {
		return
	}
	var in coltracepb.ExportTraceServiceRequest
	if !r.decode(w, req, b, &in) {
		return
	}
	batch, rejected, why := ConvertTraces(in.GetResourceSpans())
	if !r.offer(batch) {
		r.shed(w)
		return
	}
	resp := &coltracepb.ExportTraceServiceResponse{}
	if rejected > 0 {
		r.tracker.Unparsed(rejected)
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{RejectedSpans: int64(rejected), ErrorMessage: why}
	}
	r.reply(w, req, resp)
}

func (r *Receiver) httpLogs(w http.ResponseWriter, req *http.Request) {
	b, ok := r.readBody(w, req)
	if !ok {
		return
	}
	var in collogspb.ExportLogsServiceRequest
	if !r.decode(w, req, b, &in) {
		return
	}
	if !r.offer(ConvertLogs(in.GetResourceLogs())) {
		r.shed(w)
		return
	}
	r.reply(w, req, &collogspb.ExportLogsServiceResponse{})
}

// ---- conversion ----

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		var s string
		switch x := v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			s = x.StringValue
		case *commonpb.AnyValue_IntValue:
			s = fmt.Sprint(x.IntValue)
		case *commonpb.AnyValue_BoolValue:
			s = fmt.Sprint(x.BoolValue)
		case *commonpb.AnyValue_DoubleValue:
			s = fmt.Sprint(x.DoubleValue)
		default:
			continue
		}
		m[kv.GetKey()] = s
	}
	return m
}

func first(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}

func ids(trace, span []byte) (tracing.TraceID, tracing.SpanID, error) {
	var t tracing.TraceID
	var s tracing.SpanID
	if len(trace) != 16 || len(span) != 8 {
		return t, s, fmt.Errorf("trace id of %d bytes or span id of %d bytes", len(trace), len(span))
	}
	copy(t[:], trace)
	copy(s[:], span)
	if !t.IsValid() || !s.IsValid() {
		return t, s, errors.New("all-zero trace or span id")
	}
	return t, s, nil
}

// messageKey is the key a messaging.message.id names, by messaging.system.
func messageKey(system, id string) tracing.Key {
	switch system {
	case "aws_sns", "aws.sns":
		return tracing.Key{Kind: tracing.KeySNSMessageID, Value: id}
	case "aws.eventbridge", "aws_eventbridge", "eventbridge":
		return tracing.Key{Kind: tracing.KeyEventID, Value: id}
	}
	return tracing.Key{Kind: tracing.KeyMessageID, Value: id}
}

// ConvertTraces turns OTLP resource spans into observations. Spans with bad
// IDs are rejected and counted, with the reason of the first.
func ConvertTraces(rss []*tracepb.ResourceSpans) (tracing.Batch, int, string) {
	var b tracing.Batch
	rejected, why := 0, ""
	for _, rs := range rss {
		res := attrMap(rs.GetResource().GetAttributes())
		service := first(res, "service.name")
		fn := first(res, "faas.name")
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				o, err := convertSpan(sp, service, fn)
				if err != nil {
					rejected++
					if why == "" {
						why = "span " + hex.EncodeToString(sp.GetSpanId()) + ": " + err.Error()
					}
					continue
				}
				b = append(b, o)
			}
		}
	}
	return b, rejected, why
}

func convertSpan(sp *tracepb.Span, service, fn string) (tracing.Observation, error) {
	tid, sid, err := ids(sp.GetTraceId(), sp.GetSpanId())
	if err != nil {
		return tracing.Observation{}, err
	}
	attrs := attrMap(sp.GetAttributes())
	if fn == "" {
		// faas.name belongs on the resource, but one process serving several
		// functions (or a hand-instrumented handler) puts it on the span.
		fn = attrs["faas.name"]
	}
	s := &tracing.Span{TraceID: tid, SpanID: sid, Name: sp.GetName(), Service: service, Kind: tracing.SpanKind(sp.GetKind()),
		Start: time.Unix(0, int64(sp.GetStartTimeUnixNano())).UTC(), Attrs: map[string]string{}}
	if e := sp.GetEndTimeUnixNano(); e > 0 {
		s.End = time.Unix(0, int64(e)).UTC()
	} else {
		s.InProgress = true
	}
	if len(sp.GetParentSpanId()) == 8 {
		copy(s.ParentID[:], sp.GetParentSpanId())
	}
	s.Status = tracing.StatusCode(sp.GetStatus().GetCode())
	s.StatusMessage = sp.GetStatus().GetMessage()
	s.Messaging = tracing.Messaging{
		System:      attrs["messaging.system"],
		Operation:   first(attrs, "messaging.operation.type", "messaging.operation"),
		Destination: first(attrs, "messaging.destination.name", "messaging.destination"),
		MessageID:   attrs["messaging.message.id"],
	}
	s.InvocationID = first(attrs, "faas.invocation_id", "faas.execution", "aws.request_id", "aws.lambda.invoked_arn_request_id")
	s.ColdStart = attrs["faas.coldstart"] == "true"
	for _, k := range []string{"http.method", "http.request.method", "rpc.method", "aws.operation", "rpc.service", "url.full", "http.route"} {
		if v := attrs[k]; v != "" && len(v) <= 512 {
			s.Attrs[k] = v
		}
	}
	comp := tracing.Component{Kind: tracing.ComponentService, Name: service}
	if fn != "" {
		comp = tracing.Component{Kind: tracing.ComponentFunction, Name: fn}
	}
	self := tracing.SpanKey(tid, sid)
	keys := []tracing.Key{{Kind: tracing.KeyTraceID, Value: tid.String()}, self}
	var rels []tracing.Relation
	if s.ParentID.IsValid() {
		rels = append(rels, tracing.Relation{From: self, To: tracing.SpanKey(tid, s.ParentID), Kind: tracing.RelChildOf, Evidence: "otlp parent span id"})
	}
	if s.InvocationID != "" {
		keys = append(keys, tracing.Key{Kind: tracing.KeyRequestID, Value: s.InvocationID})
		rels = append(rels, tracing.Relation{From: tracing.Key{Kind: tracing.KeyTraceID, Value: tid.String()}, To: tracing.Key{Kind: tracing.KeyRequestID, Value: s.InvocationID}, Kind: tracing.RelContains, Evidence: "faas.invocation_id"})
	}
	if id := s.Messaging.MessageID; id != "" && len(id) <= 256 {
		mk := messageKey(s.Messaging.System, id)
		keys = append(keys, mk)
		op := s.Messaging.Operation
		if s.Kind == tracing.SpanKindProducer || op == "publish" || op == "send" || op == "create" {
			rels = append(rels, tracing.Relation{From: self, To: mk, Kind: tracing.RelPublished, Evidence: "messaging.message.id on a producer span"})
		} else {
			rels = append(rels, tracing.Relation{From: self, To: mk, Kind: tracing.RelConsumed, Evidence: "messaging.message.id on a consumer span"})
		}
	}
	for _, l := range sp.GetLinks() {
		lt, ls, err := ids(l.GetTraceId(), l.GetSpanId())
		if err != nil {
			continue
		}
		s.Links = append(s.Links, tracing.Link{TraceID: lt, SpanID: ls, Attrs: attrMap(l.GetAttributes())})
		rels = append(rels, tracing.Relation{From: self, To: tracing.SpanKey(lt, ls), Kind: tracing.RelLinks, Evidence: "otlp span link"})
		if mid := attrMap(l.GetAttributes())["messaging.message.id"]; mid != "" {
			rels = append(rels, tracing.Relation{From: self, To: messageKey(s.Messaging.System, mid), Kind: tracing.RelConsumed, Evidence: "messaging.message.id on a span link"})
		}
	}
	return tracing.Observation{Kind: tracing.ObsSpan, Source: "otlp", Time: s.Start, Component: comp, Keys: keys, Relations: rels, Span: s}, nil
}

// ConvertLogs turns OTLP log records into observations.
func ConvertLogs(rls []*logspb.ResourceLogs) tracing.Batch {
	var b tracing.Batch
	for _, rl := range rls {
		res := attrMap(rl.GetResource().GetAttributes())
		comp := tracing.Component{Kind: tracing.ComponentService, Name: first(res, "service.name")}
		if fn := first(res, "faas.name"); fn != "" {
			comp = tracing.Component{Kind: tracing.ComponentFunction, Name: fn}
		}
		for _, sl := range rl.GetScopeLogs() {
			for _, lr := range sl.GetLogRecords() {
				attrs := attrMap(lr.GetAttributes())
				at := time.Unix(0, int64(lr.GetTimeUnixNano())).UTC()
				rec := &tracing.LogRecord{Time: at, Kind: tracing.LogApp, Level: lr.GetSeverityText(), Message: lr.GetBody().GetStringValue(),
					RequestID: first(attrs, "faas.invocation_id", "aws.request_id")}
				if len(lr.GetTraceId()) == 16 {
					copy(rec.TraceID[:], lr.GetTraceId())
				}
				o := tracing.Observation{Kind: tracing.ObsLog, Source: "otlp", Time: at, Component: comp, Log: rec}
				if rec.RequestID != "" {
					o.Keys = append(o.Keys, tracing.Key{Kind: tracing.KeyRequestID, Value: rec.RequestID})
				}
				if rec.TraceID.IsValid() {
					o.Keys = append(o.Keys, tracing.Key{Kind: tracing.KeyTraceID, Value: rec.TraceID.String()})
				}
				b = append(b, o)
			}
		}
	}
	return b
}

// Decode reads OTLP JSON: one TracesData/ExportTraceServiceRequest object, or
// JSON Lines of them.
func Decode(r io.Reader) (tracing.Batch, error) {
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("otlp: read: %w", err)
	}
	var all tracing.Batch
	try := func(b []byte) error {
		// A line may hold traces, logs or (ignored) metrics.
		if bytes.Contains(b, []byte(`"resourceLogs"`)) {
			var req collogspb.ExportLogsServiceRequest
			if err := unmarshalJSON(b, &req); err != nil {
				return err
			}
			all = append(all, ConvertLogs(req.GetResourceLogs())...)
			return nil
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := unmarshalJSON(b, &req); err != nil {
			return err
		}
		batch, _, _ := ConvertTraces(req.GetResourceSpans())
		all = append(all, batch...)
		return nil
	}
	if err := try(data); err == nil {
		return all, nil
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := try(line); err != nil {
			return all, fmt.Errorf("otlp: line %d: not an OTLP JSON trace export: %w", i+1, err)
		}
	}
	return all, nil
}

// ReadFile reads an OTLP JSON or JSONL file.
func ReadFile(path string) (tracing.Batch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("otlp: %w", err)
	}
	defer f.Close()
	return Decode(f)
}

// unmarshalJSON decodes OTLP JSON. OTLP/JSON writes trace and span IDs as hex
// (unlike protobuf's canonical JSON, which uses base64), so they are turned
// into base64 first.
func unmarshalJSON(b []byte, m proto.Message) error {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value (JSON Lines?)")
	}
	fixIDs(doc, 0)
	fixed, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(fixed, m)
}

func fixIDs(v any, depth int) {
	if depth > 64 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			switch k {
			case "traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id":
				if s, ok := val.(string); ok {
					if raw, err := hex.DecodeString(s); err == nil {
						x[k] = base64.StdEncoding.EncodeToString(raw)
					}
				}
			default:
				fixIDs(val, depth+1)
			}
		}
	case []any:
		for _, e := range x {
			fixIDs(e, depth+1)
		}
	}
}
