package otlp

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// bombRequest is an ExportTraceServiceRequest of about size bytes: one span
// with as many empty attributes as fit (two bytes each on the wire, ~70 bytes
// each once decoded into the generated messages). It returns the body and the
// number of attributes.
func bombRequest(size int) ([]byte, int) {
	var span []byte
	span = protowire.AppendTag(span, 1, protowire.BytesType)
	span = protowire.AppendBytes(span, bytes.Repeat([]byte{7}, 16))
	span = protowire.AppendTag(span, 2, protowire.BytesType)
	span = protowire.AppendBytes(span, bytes.Repeat([]byte{9}, 8))
	span = protowire.AppendTag(span, 5, protowire.BytesType)
	span = protowire.AppendString(span, "bomb")
	n := (size - len(span) - 32) / 2
	attrs := bytes.Repeat([]byte{9<<3 | 2, 0}, n)
	span = append(span, attrs...)
	var ss, rs, req []byte
	ss = protowire.AppendTag(ss, 2, protowire.BytesType)
	ss = protowire.AppendBytes(ss, span)
	rs = protowire.AppendTag(rs, 2, protowire.BytesType)
	rs = protowire.AppendBytes(rs, ss)
	req = protowire.AppendTag(req, 1, protowire.BytesType)
	req = protowire.AppendBytes(req, rs)
	return req, n
}

// heapWatch samples the heap (live and unswept objects) until stopped and
// keeps the peak.
type heapWatch struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func heapNow() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// settledHeap is the heap after a full collection.
func settledHeap() uint64 {
	runtime.GC()
	runtime.GC()
	return heapNow()
}

func watchHeap() *heapWatch {
	w := &heapWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(500 * time.Microsecond)
		defer t.Stop()
		for {
			if h := heapNow(); h > w.peak.Load() {
				w.peak.Store(h)
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *heapWatch) Stop() uint64 {
	close(w.stop)
	<-w.done
	return w.peak.Load()
}

// countSink counts what reaches the graph's place, holding nothing, and
// ingests only while its gate is open.
type countSink struct {
	gate chan struct{}
	n    atomic.Int64
}

func (s *countSink) Ingest(b tracing.Batch) {
	<-s.gate
	s.n.Add(int64(len(b)))
}

// startHub runs a receiver behind a real hub whose queue takes its share of
// the budget.
func startHub(t *testing.T, budget graph.Budget, sink collectors.Sink, cfg Config) (*Receiver, *collectors.Hub) {
	t.Helper()
	cfg.Budget = budget
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
	h := collectors.NewHub(sink, 0)
	h.SetLimits(collectors.QueueLimits{Bytes: budget.Queue()})
	h.Add(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	r.Addrs(ctx)
	return r, h
}

// rawBytesCodec sends pre-encoded protobuf as a gRPC message.
type rawBytesCodec struct{}

func (rawBytesCodec) Name() string { return "proto" }
func (rawBytesCodec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.([]byte); ok {
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	b, err := proto.Marshal(v.(proto.Message))
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (rawBytesCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}

// TestAttributeBombs: 16 concurrent OTLP/HTTP and 16 concurrent OTLP/gRPC
// requests of 4 MiB, each one span with about two million empty attributes
// (main took RSS from 270 MB to 4.8 GB with the HTTP half alone), keep the
// heap under the memory budget; what the budget could not hold at once was
// shed with a retryable answer, counted, and retried; the attributes past the
// limit were counted as truncated; and the heap comes back afterwards.
func TestAttributeBombs(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy")
	}
	budget := graph.Budget{Total: 96 << 20}
	// As flowtop does: the garbage collector keeps the heap under the budget,
	// which the reservations keep the live heap well within.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(budget.Bytes()))
	body, nAttrs := bombRequest(4<<20 - 64)
	sink := &countSink{gate: make(chan struct{})}
	close(sink.gate)
	base := settledHeap()
	r, _ := startHub(t, budget, sink, Config{})
	addrs := r.Addrs(context.Background())
	conn, err := grpc.NewClient(addrs[0], grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawBytesCodec{}), grpc.MaxCallSendMsgSize(8<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	watch := watchHeap()
	var wg sync.WaitGroup
	var shedSeen, okSeen atomic.Int64
	errs := make(chan error, 64)
	retry := func(f func() (ok, shed bool, err error)) {
		defer wg.Done()
		for try := 0; try < 400; try++ {
			ok, shed, err := f()
			switch {
			case err != nil:
				errs <- err
				return
			case ok:
				okSeen.Add(1)
				return
			case shed:
				shedSeen.Add(1)
				time.Sleep(300 * time.Millisecond) // an exporter backs off longer (1s and up)
			}
		}
		errs <- fmt.Errorf("still shed after 400 tries")
	}
	url := "http://" + addrs[1] + "/v1/traces"
	// 16 of each; under the race detector (ten times slower) 4 of each
	// exercise the same paths.
	each := 16
	if raceOn {
		each = 4
	}
	for i := 0; i < each; i++ {
		wg.Add(2)
		go retry(func() (bool, bool, error) {
			resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
			if err != nil {
				return false, false, err
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case 200:
				return true, false, nil
			case 503:
				if resp.Header.Get("Retry-After") == "" {
					return false, false, fmt.Errorf("503 without Retry-After")
				}
				return false, true, nil
			}
			return false, false, fmt.Errorf("http status %d", resp.StatusCode)
		})
		go retry(func() (bool, bool, error) {
			var resp coltracepb.ExportTraceServiceResponse
			err := conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export", body, &resp)
			switch status.Code(err) {
			case codes.OK:
				return true, false, nil
			case codes.Unavailable:
				return false, true, nil
			}
			return false, false, err
		})
	}
	wg.Wait()
	peak := watch.Stop()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("heap: %.1f MiB before, %.1f MiB peak (budget %d MiB); %d accepted, %d shed and retried",
		mib(base), mib(peak), budget.Bytes()>>20, okSeen.Load(), shedSeen.Load())
	if peak > uint64(budget.Bytes()) {
		t.Errorf("heap peaked at %.1f MiB, over the %d MiB budget", mib(peak), budget.Bytes()>>20)
	}
	h := r.Health()
	if okSeen.Load() != int64(2*each) || h.Accepted != uint64(2*each) || h.Shed != uint64(shedSeen.Load()) {
		t.Errorf("accepted %d (health %d), shed seen %d (health %d): every request once, every shed counted", okSeen.Load(), h.Accepted, shedSeen.Load(), h.Shed)
	}
	if want := uint64(2 * each * (nAttrs - 128)); h.Truncated != want {
		t.Errorf("truncated %d, want %d (attributes past 128, per span)", h.Truncated, want)
	}
	// A handler gives its reservation back as it returns, which may be just
	// after its client read the answer: wait for that, bounded.
	deadline := time.Now().Add(10 * time.Second)
	for r.InFlight() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if r.InFlight() != 0 {
		t.Errorf("%d bytes still reserved 10 s after every request ended", r.InFlight())
	}
	deadline = time.Now().Add(10 * time.Second)
	for sink.n.Load() < int64(2*each) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	after := settledHeap()
	t.Logf("heap after: %.1f MiB", mib(after))
	if after > base+16<<20 {
		t.Errorf("heap after the load %.1f MiB, not back near %.1f MiB", mib(after), mib(base))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// floodBody is an export of n ordinary spans, each with its own message ID.
func floodBody(base, n int) []byte { return spanBatch(base, n) }

// TestFloodBoundedAndCounted: a sustained flood against a sink that cannot
// keep up (held shut, then opened) fills the queue to its byte bound and no
// further; the rest is shed with 503s that are all counted; the heap stays
// under the budget; and once the sink drains, every accepted span arrives and
// the heap comes back.
func TestFloodBoundedAndCounted(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy")
	}
	budget := graph.Budget{Total: 64 << 20}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(budget.Bytes()))
	sink := &countSink{gate: make(chan struct{})}
	base := settledHeap()
	r, hub := startHub(t, budget, sink, Config{GRPCAddr: "off"})
	url := "http://" + r.Addrs(context.Background())[0] + "/v1/traces"
	const per, workers, rounds = 1000, 6, 30
	bodies := make([][]byte, workers)
	for i := range bodies {
		bodies[i] = floodBody(i*per, per)
	}
	watch := watchHeap()
	var wg sync.WaitGroup
	var ok, shed atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(bodies[w]))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					ok.Add(1)
				case 503:
					shed.Add(1)
				default:
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	obs, qbytes := hub.Queued()
	peak := watch.Stop()
	h := r.Health()
	t.Logf("flood: %d requests accepted, %d shed; queue %d observations, %.1f MiB (bound %d MiB); heap %.1f MiB before, %.1f MiB peak (budget %d MiB)",
		ok.Load(), shed.Load(), obs, mib(uint64(qbytes)), budget.Queue()>>20, mib(base), mib(peak), budget.Bytes()>>20)
	if shed.Load() == 0 || h.Shed != uint64(shed.Load()) {
		t.Errorf("shed %d requests, health says %d", shed.Load(), h.Shed)
	}
	if h.Accepted != uint64(ok.Load()*per) {
		t.Errorf("accepted %d spans, health says %d", ok.Load()*per, h.Accepted)
	}
	if qbytes > budget.Queue() {
		t.Errorf("queue holds %d bytes, over its %d", qbytes, budget.Queue())
	}
	if peak > uint64(budget.Bytes()) {
		t.Errorf("heap peaked at %.1f MiB, over the %d MiB budget", mib(peak), budget.Bytes()>>20)
	}
	close(sink.gate)
	deadline := time.Now().Add(20 * time.Second)
	for sink.n.Load() < ok.Load()*per && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := sink.n.Load(); got != ok.Load()*per {
		t.Errorf("sink got %d spans, %d were accepted", got, ok.Load()*per)
	}
	after := settledHeap()
	t.Logf("heap after: %.1f MiB", mib(after))
	if after > base+16<<20 {
		t.Errorf("heap after the flood %.1f MiB, not back near %.1f MiB", mib(after), mib(base))
	}
}
