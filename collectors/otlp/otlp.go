// Package otlp receives OpenTelemetry traces and logs over OTLP/gRPC (4317)
// and OTLP/HTTP (4318, protobuf and JSON), bound to loopback unless told
// otherwise, and reads OTLP JSON files. Spans become observations with their
// messaging and FaaS keys.
//
// # Bounded at the door
//
// Memory is bounded in bytes before anything is read: every request reserves
// its size (HTTP: Content-Length, or the request limit when it is unknown or
// compressed; gRPC: the message limit, from the moment its stream opens) from
// one in-flight budget shared by both protocols, then the memory its
// observations take as they are converted, and gives it all back once the
// batch is in the hub's queue, which is bounded in bytes itself. A request the
// budget cannot hold is shed with a retryable answer (HTTP 503 with
// Retry-After, gRPC Unavailable) that OTel exporters retry. Protobuf is decoded
// straight from the wire (wire.go), reading only the attributes flowtop uses,
// with the OTel SDK's span limits applied while reading. Connections have
// read, write and idle timeouts and a cap. Every request accepted, shed or
// rejected is counted in the source's health.
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
	"sync/atomic"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"golang.org/x/net/netutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // the OTel Collector's exporters compress with gzip by default
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// ErrNotLoopback means a listen address reaches beyond this machine and
// Config.AllowNonLoopback was not set: the receiver refuses to start.
var ErrNotLoopback = errors.New("otlp: listen address is not loopback")

// Config sets the receiver. A zero field takes its default.
type Config struct {
	GRPCAddr         string // default 127.0.0.1:4317; "off" disables
	HTTPAddr         string // default 127.0.0.1:4318; "off" disables
	MaxRequestBytes  int    // one request's body or message, default 4 MiB
	AllowNonLoopback bool   // bind beyond loopback only when asked

	// Budget is flowtop's memory budget; its InFlight share bounds the bytes
	// of all requests being read, decoded and converted at once.
	Budget graph.Budget
	// Limits bound what one span may hold (128 attributes, 128 links, 1 KiB
	// values by default); what they cut is counted as truncated.
	Limits Limits

	MaxConns          int           // open connections per listener (default 128); more wait in the kernel's backlog
	ReadHeaderTimeout time.Duration // HTTP headers, gRPC handshake (default 10s)
	ReadTimeout       time.Duration // one whole request, body included, on either protocol (default 30s)
	WriteTimeout      time.Duration // writing the answer (default 30s)
	IdleTimeout       time.Duration // a kept-alive connection with no request (default 2m)

	// Places makes components carry the account and region of their AWS
	// resource (cloud.account.id, cloud.region), as every other source's do
	// when flowtop watches several accounts or regions.
	Places bool
}

// jsonExpansion is how many bytes of memory one byte of OTLP/JSON may take
// while it is decoded (a generic JSON tree, then protojson's messages).
const jsonExpansion = 24

func (c Config) withDefaults() Config {
	if c.GRPCAddr == "" {
		c.GRPCAddr = "127.0.0.1:4317"
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:4318"
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = 4 << 20
	}
	c.Limits = c.Limits.withDefaults()
	if c.MaxConns <= 0 {
		c.MaxConns = 128
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ReadHeaderTimeout, 10*time.Second)
	def(&c.ReadTimeout, 30*time.Second)
	def(&c.WriteTimeout, 30*time.Second)
	def(&c.IdleTimeout, 2*time.Minute)
	return c
}

// Receiver is the OTLP source.
type Receiver struct {
	cfg     Config
	tracker *collectors.Tracker
	gate    *gate
	decs    sync.Pool // *decoder
	origins *origins  // the senders and services seen lately

	mu    sync.Mutex
	out   chan<- tracing.Batch
	addrs []string
	ready chan struct{}
}

// New checks the configuration and returns a receiver; Run listens. An
// address beyond loopback without AllowNonLoopback is refused with an error
// that wraps [ErrNotLoopback].
func New(cfg Config) (*Receiver, error) {
	cfg = cfg.withDefaults()
	for _, a := range []string{cfg.GRPCAddr, cfg.HTTPAddr} {
		if a == "off" {
			continue
		}
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("otlp: address %q: %w", a, err)
		}
		if ip := net.ParseIP(host); !cfg.AllowNonLoopback && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("%w: %q would accept spans from other machines; use 127.0.0.1, or allow it on purpose", ErrNotLoopback, a)
		}
	}
	if int64(cfg.MaxRequestBytes) > cfg.Budget.InFlight() {
		return nil, fmt.Errorf("otlp: a request of %d bytes cannot fit the in-flight memory budget of %d bytes: raise the budget", cfg.MaxRequestBytes, cfg.Budget.InFlight())
	}
	r := &Receiver{cfg: cfg, tracker: collectors.NewTracker("otlp", nil), gate: &gate{limit: cfg.Budget.InFlight()}, ready: make(chan struct{}), origins: newOrigins(nil)}
	r.decs.New = func() any {
		d := newDecoder(cfg.Limits)
		d.places = cfg.Places
		return d
	}
	return r, nil
}

// Name is "otlp".
func (r *Receiver) Name() string { return "otlp" }

// Health reports the receiver's state and what it accepted, shed, rejected
// and could not parse, and how many senders and services it came from lately.
func (r *Receiver) Health() tracing.SourceHealth {
	h := r.tracker.Health()
	h.Senders, h.Services = r.origins.counts()
	return h
}

// InFlight is the number of bytes reserved by requests being handled now.
func (r *Receiver) InFlight() int64 { return r.gate.used.Load() }

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

// Run listens until ctx ends. If one of the two listeners cannot bind, the
// other runs and the source says it is degraded, naming the address; if none
// can, Run returns the error.
func (r *Receiver) Run(ctx context.Context, out chan<- tracing.Batch) error {
	r.mu.Lock()
	r.out = out
	r.mu.Unlock()
	var closers []func()
	var modes []string
	var errs []error
	if r.cfg.GRPCAddr != "off" {
		if ln, err := net.Listen("tcp", r.cfg.GRPCAddr); err != nil {
			errs = append(errs, fmt.Errorf("otlp: listen grpc %s: %w (is another collector on it? set --otlp-grpc)", r.cfg.GRPCAddr, err))
		} else {
			srv := r.grpcServer()
			go func() { _ = srv.Serve(netutil.LimitListener(ln, r.cfg.MaxConns)) }()
			closers = append(closers, srv.Stop)
			r.mu.Lock()
			r.addrs = append(r.addrs, ln.Addr().String())
			r.mu.Unlock()
			modes = append(modes, "grpc "+ln.Addr().String())
		}
	}
	if r.cfg.HTTPAddr != "off" {
		if ln, err := net.Listen("tcp", r.cfg.HTTPAddr); err != nil {
			errs = append(errs, fmt.Errorf("otlp: listen http %s: %w (is another collector on it? set --otlp-http)", r.cfg.HTTPAddr, err))
		} else {
			hs := r.httpServer()
			go func() { _ = hs.Serve(netutil.LimitListener(ln, r.cfg.MaxConns)) }()
			closers = append(closers, func() { _ = hs.Close() })
			r.mu.Lock()
			r.addrs = append(r.addrs, ln.Addr().String())
			r.mu.Unlock()
			modes = append(modes, "http "+ln.Addr().String())
		}
	}
	close(r.ready)
	if len(closers) == 0 && len(errs) > 0 {
		err := errors.Join(errs...)
		r.tracker.Fail(err, 0)
		return err
	}
	r.tracker.SetMode("listening " + strings.Join(modes, ", "))
	r.tracker.OK(0, time.Time{})
	if len(errs) > 0 {
		r.tracker.Degrade(errors.Join(errs...))
	}
	<-ctx.Done()
	for _, c := range closers {
		c()
	}
	r.tracker.Stopped()
	return nil
}

// offerWait bounds how long a request waits for the hub to take its batch
// before it is shed: long enough to ride out the hub's own bookkeeping, short
// enough that a full queue sheds at once.
const offerWait = 200 * time.Millisecond

// offer hands a batch to the hub, waiting at most offerWait: a hub that does
// not take it by then is full, and the batch is shed.
func (r *Receiver) offer(b tracing.Batch) bool {
	if len(b) == 0 {
		return true
	}
	r.mu.Lock()
	out := r.out
	r.mu.Unlock()
	select {
	case out <- b:
		return true
	default:
	}
	t := time.NewTimer(offerWait)
	defer t.Stop()
	select {
	case out <- b:
		return true
	case <-t.C:
		return false
	}
}

// ---- the in-flight budget ----

// gate is a semaphore counted in bytes.
type gate struct {
	limit int64
	used  atomic.Int64
}

func (g *gate) acquire(n int64) bool {
	for {
		u := g.used.Load()
		if u+n > g.limit {
			return false
		}
		if g.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// grant is what one request holds of the gate. Once released it grants
// nothing more, so a late grow cannot leak.
type grant struct {
	g      *gate
	mu     sync.Mutex
	n      int64
	closed bool
}

func (g *gate) grant() *grant { return &grant{g: g} }

// grow reserves n more bytes, or reports false if the budget has no room.
func (gr *grant) grow(n int64) bool {
	gr.mu.Lock()
	defer gr.mu.Unlock()
	if gr.closed || !gr.g.acquire(n) {
		return false
	}
	gr.n += n
	return true
}

// shrinkTo gives back what the grant holds beyond n.
func (gr *grant) shrinkTo(n int64) {
	gr.mu.Lock()
	defer gr.mu.Unlock()
	if gr.n > n {
		gr.g.used.Add(n - gr.n)
		gr.n = n
	}
}

// release gives everything back; the grant is spent.
func (gr *grant) release() {
	gr.mu.Lock()
	defer gr.mu.Unlock()
	gr.g.used.Add(-gr.n)
	gr.n, gr.closed = 0, true
}

// ---- one request, either protocol ----

type signal uint8

const (
	signalTraces signal = iota
	signalLogs
)

// outcome is what happened to one request.
type outcome struct {
	accepted int
	rejected int    // spans with bad IDs, refused in a partial success
	why      string // the first of them
	err      error  // errOverBudget, errHubBusy, or a decoding error
}

var errHubBusy = errors.New("otlp: flowtop's queue is full")

// convert decodes a protobuf body of the given signal within gr and hands the
// batch to the hub. It counts what happened.
func (r *Receiver) convert(sig signal, body []byte, gr *grant, peer string) outcome {
	d := r.decs.Get().(*decoder)
	defer r.decs.Put(d)
	d.reset(gr.grow)
	var err error
	if sig == signalTraces {
		err = d.traces(body)
	} else {
		err = d.logs(body)
	}
	switch {
	case errors.Is(err, errOverBudget):
		r.tracker.Shed(1)
		return outcome{err: err}
	case err != nil:
		err = fmt.Errorf("otlp: cannot decode %s: %w", sigName(sig), err)
		r.tracker.Rejected(err.Error())
		return outcome{err: err}
	}
	batch := d.out
	d.out = nil
	if !r.offer(batch) {
		r.tracker.Shed(1)
		return outcome{err: errHubBusy}
	}
	if d.rejected > 0 {
		r.tracker.Unparsed(d.rejected)
	}
	r.tracker.Truncated(d.truncated)
	r.tracker.Accepted(len(batch), time.Time{})
	r.origins.saw(peer, batch)
	return outcome{accepted: len(batch), rejected: d.rejected, why: d.why}
}

func sigName(s signal) string {
	if s == signalLogs {
		return "ExportLogsServiceRequest"
	}
	return "ExportTraceServiceRequest"
}

func response(sig signal, o outcome) proto.Message {
	if sig == signalLogs {
		return &collogspb.ExportLogsServiceResponse{}
	}
	resp := &coltracepb.ExportTraceServiceResponse{}
	if o.rejected > 0 {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{RejectedSpans: int64(o.rejected), ErrorMessage: o.why}
	}
	return resp
}

// ---- OTLP/gRPC ----

func (r *Receiver) grpcServer() *grpc.Server {
	srv := grpc.NewServer(
		grpc.MaxRecvMsgSize(r.cfg.MaxRequestBytes),
		grpc.ForceServerCodecV2(rawCodec{}),
		grpc.InTapHandle(r.tap),
		grpc.ConnectionTimeout(r.cfg.ReadHeaderTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: r.cfg.IdleTimeout}),
	)
	for _, sd := range []struct {
		name string
		sig  signal
	}{{"opentelemetry.proto.collector.trace.v1.TraceService", signalTraces}, {"opentelemetry.proto.collector.logs.v1.LogsService", signalLogs}} {
		srv.RegisterService(&grpc.ServiceDesc{
			ServiceName: sd.name,
			HandlerType: (*any)(nil),
			Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: r.grpcExport(sd.sig)}},
		}, r)
	}
	return srv
}

type grantKey struct{}

// tap runs when a stream opens, before its message is read: it reserves two
// whole messages' worth of the budget (gRPC holds the frames as it reads and
// then one contiguous copy), or refuses the call as Unavailable. The
// reservation is given back when the stream ends, however it ends, and the
// stream may take ReadTimeout at most.
func (r *Receiver) tap(ctx context.Context, _ *tap.Info) (context.Context, error) {
	gr := r.gate.grant()
	if !gr.grow(min(2*int64(r.cfg.MaxRequestBytes), r.gate.limit)) {
		r.tracker.Shed(1)
		return nil, status.Error(codes.Unavailable, "otlp: flowtop is over its memory budget; retry later")
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ReadTimeout)
	context.AfterFunc(ctx, func() {
		cancel()
		gr.release()
	})
	return context.WithValue(ctx, grantKey{}, gr), nil
}

func (r *Receiver) grpcExport(sig signal) grpc.MethodHandler {
	return func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var body []byte
		if err := dec(&body); err != nil {
			r.tracker.Rejected("otlp: grpc: " + err.Error())
			return nil, err
		}
		gr, ok := ctx.Value(grantKey{}).(*grant)
		if !ok {
			gr = r.gate.grant()
			defer gr.release()
		}
		gr.shrinkTo(int64(len(body)))
		from := ""
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			from = p.Addr.String()
		}
		o := r.convert(sig, body, gr, from)
		switch {
		case errors.Is(o.err, errOverBudget), errors.Is(o.err, errHubBusy):
			return nil, status.Error(codes.Unavailable, "otlp: flowtop is shedding load; retry later")
		case o.err != nil:
			return nil, status.Error(codes.InvalidArgument, o.err.Error())
		}
		return response(sig, o), nil
	}
}

// rawCodec hands request messages to the handlers as bytes, for the wire
// decoder, and marshals responses as protobuf.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("otlp: cannot marshal %T", v)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	switch x := v.(type) {
	case *[]byte:
		*x = data.Materialize()
		return nil
	case proto.Message:
		return proto.Unmarshal(data.Materialize(), x)
	}
	return fmt.Errorf("otlp: cannot unmarshal into %T", v)
}

// ---- OTLP/HTTP ----

func (r *Receiver) httpServer() *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/traces", func(w http.ResponseWriter, req *http.Request) { r.httpExport(w, req, signalTraces) })
	mux.HandleFunc("/v1/logs", func(w http.ResponseWriter, req *http.Request) { r.httpExport(w, req, signalLogs) })
	return &http.Server{
		Handler: mux, ReadHeaderTimeout: r.cfg.ReadHeaderTimeout, ReadTimeout: r.cfg.ReadTimeout,
		WriteTimeout: r.cfg.WriteTimeout, IdleTimeout: r.cfg.IdleTimeout, MaxHeaderBytes: 64 << 10,
	}
}

func isJSON(req *http.Request) bool {
	return strings.HasPrefix(req.Header.Get("Content-Type"), "application/json")
}

func (r *Receiver) reject(w http.ResponseWriter, code int, msg string) {
	r.tracker.Rejected(msg)
	http.Error(w, msg, code)
}

// shed answers 503 with Retry-After. It first reads what is left of the body
// into a small discarded buffer (within the read timeout), because a client
// still writing a large body would otherwise see the connection reset
// instead of the answer, and not know to retry later.
func (r *Receiver) shed(w http.ResponseWriter, req *http.Request, why string) {
	_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, req.Body, int64(r.cfg.MaxRequestBytes)))
	w.Header().Set("Retry-After", "2")
	http.Error(w, "otlp: flowtop is shedding load ("+why+"); retry later", http.StatusServiceUnavailable)
}

func (r *Receiver) httpExport(w http.ResponseWriter, req *http.Request, sig signal) {
	if req.Method != http.MethodPost {
		r.reject(w, http.StatusMethodNotAllowed, "otlp: POST only")
		return
	}
	max := int64(r.cfg.MaxRequestBytes)
	gz := req.Header.Get("Content-Encoding") == "gzip"
	asJSON := isJSON(req)
	if req.ContentLength > max {
		r.reject(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("otlp: request larger than %d bytes", max))
		return
	}
	// Reserve before reading: the body as declared, the limit when its size
	// is unknown, twice that when it will be gunzipped; JSON takes more to
	// decode.
	need := max
	switch {
	case gz:
		// The compressed body and the growing decompressed one.
		need = min(2*max, r.gate.limit)
	case req.ContentLength >= 0:
		need = req.ContentLength
	}
	factor := int64(1)
	if asJSON {
		factor = jsonExpansion
	}
	if need*factor > r.gate.limit {
		r.reject(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("otlp: a JSON request of %d bytes would take more than the memory budget to decode; send protobuf or smaller batches", need))
		return
	}
	gr := r.gate.grant()
	defer gr.release()
	if !gr.grow(need * factor) {
		r.tracker.Shed(1)
		r.shed(w, req, "over the memory budget")
		return
	}
	body, err := readBody(w, req, max, gz)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, errTooLarge) {
			r.reject(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("otlp: request larger than %d bytes", max))
		} else {
			r.reject(w, http.StatusBadRequest, "otlp: read body: "+err.Error())
		}
		return
	}
	gr.shrinkTo(int64(len(body)) * factor)
	if asJSON {
		var m proto.Message = &coltracepb.ExportTraceServiceRequest{}
		if sig == signalLogs {
			m = &collogspb.ExportLogsServiceRequest{}
		}
		if err := unmarshalJSON(body, m); err != nil {
			r.reject(w, http.StatusBadRequest, fmt.Sprintf("otlp: cannot decode %s: %v", sigName(sig), err))
			return
		}
		if body, err = proto.Marshal(m); err != nil {
			r.reject(w, http.StatusBadRequest, fmt.Sprintf("otlp: cannot decode %s: %v", sigName(sig), err))
			return
		}
	}
	o := r.convert(sig, body, gr, req.RemoteAddr)
	switch {
	case errors.Is(o.err, errOverBudget):
		r.shed(w, req, "over the memory budget")
		return
	case errors.Is(o.err, errHubBusy):
		r.shed(w, req, "queue full")
		return
	case o.err != nil:
		http.Error(w, o.err.Error(), http.StatusBadRequest)
		return
	}
	var out []byte
	if asJSON {
		out, _ = protojson.Marshal(response(sig, o))
		w.Header().Set("Content-Type", "application/json")
	} else {
		out, _ = proto.Marshal(response(sig, o))
		w.Header().Set("Content-Type", "application/x-protobuf")
	}
	_, _ = w.Write(out)
}

var errTooLarge = errors.New("too large")

// readBody reads a request body of at most max bytes (after gunzipping).
func readBody(w http.ResponseWriter, req *http.Request, max int64, gz bool) ([]byte, error) {
	var body io.Reader = http.MaxBytesReader(w, req.Body, max)
	if gz {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, fmt.Errorf("bad gzip body: %w", err)
		}
		defer zr.Close()
		body = io.LimitReader(zr, max+1)
	}
	if n := req.ContentLength; n >= 0 && !gz {
		b := make([]byte, n)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(body)
	if err == nil && int64(len(b)) > max {
		return nil, errTooLarge
	}
	return b, err
}

// ---- conversion of decoded messages ----

// ConvertTraces turns OTLP resource spans into observations, with the
// default limits. Spans with bad IDs are rejected and counted, with the
// reason of the first.
func ConvertTraces(rss []*tracepb.ResourceSpans) (tracing.Batch, int, string) {
	b, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: rss})
	if err != nil {
		return nil, 0, ""
	}
	d := newDecoder(Limits{})
	if err := d.traces(b); err != nil {
		return nil, 0, ""
	}
	return d.out, d.rejected, d.why
}

// ConvertLogs turns OTLP log records into observations, with the default limits.
func ConvertLogs(rls []*logspb.ResourceLogs) tracing.Batch {
	b, err := proto.Marshal(&collogspb.ExportLogsServiceRequest{ResourceLogs: rls})
	if err != nil {
		return nil
	}
	d := newDecoder(Limits{})
	if err := d.logs(b); err != nil {
		return nil
	}
	return d.out
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
