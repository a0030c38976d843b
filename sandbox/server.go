// Package sandbox is the embedded AWS-compatible world for `flowtop demo` and for
// tests: one loopback HTTP server that speaks the wire protocols aws-sdk-go-v2
// sends for the calls flowtop makes (CloudWatch Logs, X-Ray, SQS, SNS,
// EventBridge, Lambda), and a simulated order pipeline running on it.
//
// Production code never imports this package; cmd wires it only for `demo` and
// `sandbox`.
package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// Region and Account are what the sandbox pretends to be.
const (
	Region  = "us-east-1"
	Account = "000000000000"
)

// maxBody bounds a request body; AWS's own limits are lower for every call we serve.
const maxBody = 16 << 20

// service is one emulated AWS service.
type service interface {
	// name is the SigV4 signing name: "logs", "xray", "sqs", "sns", "events", "lambda".
	name() string
	// operation names the API call r makes ("" if it isn't one of this service's).
	operation(r *http.Request, body []byte) string
	// serve answers one call. It must not retain body after returning.
	serve(w http.ResponseWriter, r *http.Request, op string, body []byte)
	// writeError answers with an error in the service's own wire shape.
	writeError(w http.ResponseWriter, status int, code, message string)
}

// Server is the sandbox endpoint. Create it with [NewServer]; it is safe for
// concurrent use.
//
// One endpoint answers every region, as AWS's regional endpoints would if
// they shared a host: a request's region is the one in its SigV4 credential
// scope, and each region has its own state (queues, functions, log groups,
// traces) and its own access denials. The Server NewServer returns is
// [Region]'s; [Server.InRegion] is another region's view of the same
// endpoint.
type Server struct {
	services map[string]service // by signing name
	region   string             // the region this server's state belongs to
	home     *Server            // the endpoint's first region; nil for the home server itself
	opts     Options            // to build further regions alike
	Faults   *Faults
	deny     denials // calls answered access-denied (services.go)
	now      func() time.Time
	compat   string

	mu      sync.Mutex
	regions map[string]*Server // the other regions' servers, built on first use (home only)
	srv     *http.Server
	ln      net.Listener
	url     string
	wg      sync.WaitGroup
	stop    context.CancelFunc
	ctx     context.Context
}

// Options configures a [Server].
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Seed makes fault injection and generated IDs deterministic; 0 picks one.
	Seed uint64
	// LogRetention is how many events a log group keeps, newest first
	// (default 100,000): a demo left running stays small and fast.
	LogRetention int
	// Compat is CompatAWS ("") or CompatField (behave like other
	// AWS-compatible endpoints where they differ from AWS).
	Compat string
}

// NewServer builds the endpoint with every service registered. Call [Server.Start].
func NewServer(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Seed == 0 {
		opts.Seed = rand.Uint64()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		services: map[string]service{},
		region:   Region,
		opts:     opts,
		Faults:   NewFaults(opts.Seed),
		now:      opts.Now,
		compat:   opts.Compat,
		ctx:      ctx,
		stop:     cancel,
	}
	for _, svc := range s.newServices(opts) {
		s.services[svc.name()] = svc
	}
	return s
}

// maxRegions bounds the regions one endpoint keeps state for: a client
// signing for ever new regions cannot grow it without limit.
const maxRegions = 16

// InRegion is the server for region on the same endpoint: its own services
// and state, sharing the listener, the clock and the injected faults.
// [Server.Deny] on it denies calls signed for that region only. It returns
// nil once maxRegions regions exist and region is not one of them.
func (s *Server) InRegion(region string) *Server {
	h := s.homeServer()
	if region == "" || region == h.region {
		return h
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.regions[region]; ok {
		return r
	}
	if len(h.regions)+1 >= maxRegions {
		return nil
	}
	r := &Server{
		services: map[string]service{}, region: region, home: h, opts: h.opts,
		Faults: h.Faults, now: h.now, compat: h.compat, ctx: h.ctx, stop: h.stop,
	}
	for _, svc := range r.newServices(h.opts) {
		r.services[svc.name()] = svc
	}
	if h.regions == nil {
		h.regions = map[string]*Server{}
	}
	h.regions[region] = r
	return r
}

// Region is the region whose state this server holds.
func (s *Server) Region() string { return s.region }

func (s *Server) homeServer() *Server {
	if s.home != nil {
		return s.home
	}
	return s
}

// Start listens on addr ("127.0.0.1:0" for a random port) and serves in the
// background. It refuses any address that is not loopback.
func (s *Server) Start(addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("sandbox: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("sandbox: address %q: only loopback addresses are allowed", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sandbox: listen: %w", err)
	}
	s.mu.Lock()
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("sandbox: serve", tracing.LogKeyError, err)
		}
	}()
	return s.url, nil
}

// URL is the endpoint's base URL, for AWS_ENDPOINT_URL.
func (s *Server) URL() string {
	s = s.homeServer()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Context is cancelled when the server closes; long-lived responses (Live Tail) watch it.
func (s *Server) Context() context.Context { return s.ctx }

// Close stops the server and ends streaming responses.
func (s *Server) Close() error {
	s = s.homeServer()
	s.stop()
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = srv.Close()
	}
	s.wg.Wait()
	return err
}

var credentialScope = regexp.MustCompile(`Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request`)

// scopeRegion is the region a request was signed for: the one in its SigV4
// credential scope, or "" when it has none.
func scopeRegion(r *http.Request) string {
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1]
	}
	return ""
}

// route finds the service a request is for: the SigV4 credential scope first,
// then the X-Amz-Target prefix, then the REST path.
func (s *Server) route(r *http.Request, body []byte) service {
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		if svc, ok := s.services[m[2]]; ok {
			if m[2] == "sqs" && isFormPost(r) {
				return sqsQueryService{s.sqs()}
			}
			return svc
		}
	}
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "Logs_"):
		return s.services["logs"]
	case strings.HasPrefix(target, "AmazonSQS."):
		return s.services["sqs"]
	case strings.HasPrefix(target, "AWSEvents."):
		return s.services["events"]
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/2015-03-31/functions"):
		return s.services["lambda"]
	case p == "/TraceSegments" || p == "/TraceSummaries" || p == "/Traces":
		return s.services["xray"]
	}
	if isFormPost(r) {
		if sqsQueryAction(body) != "" {
			return sqsQueryService{s.sqs()}
		}
		return s.services["sns"]
	}
	return nil
}

// ServeHTTP routes one call, applying injected faults first.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		http.Error(w, "sandbox: read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxBody {
		http.Error(w, "sandbox: request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if region := scopeRegion(r); region != "" && region != s.region {
		rs := s.InRegion(region)
		if rs == nil {
			writeJSONError(w, http.StatusBadRequest, "InvalidClientTokenId", "sandbox: too many regions on one endpoint (at most "+strconv.Itoa(maxRegions)+")")
			return
		}
		s = rs
	}
	svc := s.route(r, body)
	if svc == nil {
		writeJSONError(w, http.StatusBadRequest, "UnknownOperationException", "sandbox: no emulated service serves "+r.Method+" "+r.URL.Path)
		return
	}
	op := svc.operation(r, body)
	if op == "" {
		svc.writeError(w, http.StatusBadRequest, "UnknownOperationException", "sandbox: "+svc.name()+" does not implement this operation")
		return
	}
	if s.denied(w, svc, op) {
		return
	}
	switch f := s.Faults.decide(svc.name(), op); f.kind {
	case faultLatency:
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	case faultThrottle:
		svc.writeError(w, http.StatusBadRequest, throttleCode(svc.name()), "Rate exceeded (injected by the sandbox)")
		return
	case fault5xx:
		svc.writeError(w, http.StatusInternalServerError, "InternalFailure", "internal error (injected by the sandbox)")
		return
	case faultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		svc.writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "connection dropped (injected by the sandbox)")
		return
	case faultLost:
		serveLost(svc, w, r, op, body)
		return
	}
	svc.serve(w, r, op, body)
}

// throttleCode is the error code each service uses for throttling.
func throttleCode(svc string) string {
	switch svc {
	case "sqs":
		return "RequestThrottled"
	case "sns":
		return "Throttling"
	case "lambda":
		return "TooManyRequestsException"
	case "xray":
		return "ThrottledException"
	}
	return "ThrottlingException"
}

// writeJSON answers a JSON-protocol call.
func writeJSON(w http.ResponseWriter, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "InternalFailure", "sandbox: encode: "+err.Error())
		return
	}
	if contentType == "" {
		contentType = "application/x-amz-json-1.1"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("x-amzn-RequestId", newRequestID())
	_, _ = w.Write(b)
}

// writeJSONError answers in the awsJson error shape: X-Amzn-ErrorType and __type.
func writeJSONError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.Header().Set("x-amzn-RequestId", newRequestID())
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": code, "message": message})
	_, _ = w.Write(b)
}

var (
	idMu   sync.Mutex
	idRand = rand.New(rand.NewPCG(1, 2))
)

// newRequestID returns a UUID-shaped ID.
func newRequestID() string {
	idMu.Lock()
	a, b := idRand.Uint64(), idRand.Uint64()
	idMu.Unlock()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, (uint16(b>>48)&0x3fff)|0x8000, b&0xffffffffffff)
}
