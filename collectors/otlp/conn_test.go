package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/flowtop/flowtop/tracing"
)

// closedWithin reads from c until the server closes it, and says how long that took.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %s", limit)
	}
	return time.Since(start)
}

// TestTrickledBodyClosed: a client that sends its body one byte at a time,
// slower than any real exporter, is cut off by the read timeout (30 s by
// default; one second here), and holds no memory budget afterwards.
func TestTrickledBodyClosed(t *testing.T) {
	t.Parallel()
	out := make(chan tracing.Batch, 1)
	r := start(t, out, Config{GRPCAddr: "off", ReadTimeout: time.Second})
	c, err := net.Dial("tcp", r.Addrs(context.Background())[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if _, err := c.Write([]byte{0x0a}); err != nil {
					return
				}
			}
		}
	}()
	if d := closedWithin(t, c, 20*time.Second); d > 10*time.Second {
		t.Errorf("trickle closed after %s; want about the 1s read timeout", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.InFlight() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := r.InFlight(); n != 0 {
		t.Errorf("%d bytes still reserved by the closed request", n)
	}
}

// TestSilentConnectionsClosed: connections that never send a request (HTTP)
// or never finish the handshake (gRPC) are closed by the header timeout.
func TestSilentConnectionsClosed(t *testing.T) {
	t.Parallel()
	out := make(chan tracing.Batch, 1)
	r := start(t, out, Config{ReadHeaderTimeout: 500 * time.Millisecond, IdleTimeout: 500 * time.Millisecond})
	for _, a := range r.Addrs(context.Background()) {
		c, err := net.Dial("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("P")); err != nil { // a header begun, never finished
			t.Fatal(err)
		}
		if d := closedWithin(t, c, 20*time.Second); d > 10*time.Second {
			t.Errorf("%s: silent connection closed after %s", a, d)
		}
		c.Close()
	}
}

// TestConnectionCap: past MaxConns, a new connection waits in the backlog
// until one is closed; it is served then.
func TestConnectionCap(t *testing.T) {
	t.Parallel()
	out := make(chan tracing.Batch, 16)
	go func() {
		for range out {
		}
	}()
	r := start(t, out, Config{GRPCAddr: "off", MaxConns: 2})
	addr := r.Addrs(context.Background())[0]
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// Let the server accept both before the third arrives.
	time.Sleep(100 * time.Millisecond)
	post := func(timeout time.Duration) error {
		cl := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := cl.Post("http://"+addr+"/v1/traces", "application/x-protobuf", bytes.NewReader(spanBatch(0, 1)))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := post(300 * time.Millisecond); err == nil {
		t.Fatal("a third connection was served past a cap of two")
	}
	held[0].Close()
	if err := post(10 * time.Second); err != nil {
		t.Fatalf("after one closed: %v", err)
	}
}

// TestGRPCStalledCallEnds: a gRPC call whose message never arrives ends at
// the read timeout and gives its reservation back.
func TestGRPCStalledCallEnds(t *testing.T) {
	t.Parallel()
	out := make(chan tracing.Batch, 1)
	r := start(t, out, Config{HTTPAddr: "off", ReadTimeout: time.Second})
	conn, err := grpc.NewClient(r.Addrs(context.Background())[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/opentelemetry.proto.collector.trace.v1.TraceService/Export")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var resp coltracepb.ExportTraceServiceResponse
	err = cs.RecvMsg(&resp)
	if err == nil || ctx.Err() != nil || time.Since(start) > 10*time.Second {
		t.Fatalf("stalled call: %v after %s", err, time.Since(start))
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.InFlight() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := r.InFlight(); n != 0 {
		t.Errorf("%d bytes still reserved by the ended call", n)
	}
}

// TestAddressesSaid: a non-loopback address is refused at New with an error
// that names it; an address already taken is said in the health (degraded
// when the other listener runs, failed when none does).
func TestAddressesSaid(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{HTTPAddr: "0.0.0.0:4318", GRPCAddr: "off"}); !errors.Is(err, ErrNotLoopback) || !strings.Contains(err.Error(), "0.0.0.0:4318") {
		t.Errorf("0.0.0.0: %v", err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	out := make(chan tracing.Batch, 1)
	r := start(t, out, Config{GRPCAddr: taken.Addr().String()})
	if h := r.Health(); h.State != tracing.SourceStateDegraded || !strings.Contains(h.LastError, taken.Addr().String()) || len(r.Addrs(context.Background())) != 1 {
		t.Errorf("one address taken: %v %q, listening on %v", h.State, h.LastError, r.Addrs(context.Background()))
	}
	r2, err := New(Config{GRPCAddr: taken.Addr().String(), HTTPAddr: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Run(context.Background(), out); err == nil || r2.Health().State != tracing.SourceStateFailed {
		t.Errorf("every address taken: Run %v, state %v", err, r2.Health().State)
	}
}

// TestRejectionsShown: 201 malformed requests leave the source degraded with
// the reason, not "ok".
func TestRejectionsShown(t *testing.T) {
	t.Parallel()
	out := make(chan tracing.Batch, 1)
	r := start(t, out, Config{GRPCAddr: "off"})
	url := "http://" + r.Addrs(context.Background())[0] + "/v1/traces"
	for i := 0; i < 201; i++ {
		resp, err := http.Post(url, "application/x-protobuf", strings.NewReader("\x0a\xff\xff\xff"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	h := r.Health()
	if h.Rejected != 201 || h.State != tracing.SourceStateDegraded || !strings.Contains(h.LastError, "cannot decode") {
		t.Errorf("after 201 rejections: %d rejected, %v %q", h.Rejected, h.State, h.LastError)
	}
}

// TestGzipHTTP: a gzip-compressed OTLP/HTTP export is accepted, and the
// reservation for it is given back.
func TestGzipHTTP(t *testing.T) {
	t.Parallel()
	out := make(chan tracing.Batch, 4)
	r := start(t, out, Config{GRPCAddr: "off"})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(spanBatch(0, 10))
	_ = zw.Close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.Addrs(context.Background())[0]+"/v1/traces", &buf)
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(<-out) != 10 || r.InFlight() != 0 {
		t.Errorf("status %d, in flight %d", resp.StatusCode, r.InFlight())
	}
}
