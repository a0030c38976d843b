package otlp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/flowtop/flowtop/tracing"
)

// fuzzMaxInput caps one fuzz input: big enough for many spans and records,
// small enough that an iteration stays fast.
const fuzzMaxInput = 64 << 10

// fuzzSeeds are OTLP JSON documents from the sample corpus (see
// testdata/corpus/SOURCES.md): the protocol's own examples and the first lines
// of a real JSON Lines export, each under the input cap.
func fuzzSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	dir := filepath.Join("..", "..", "testdata", "corpus", "otlp")
	var seeds [][]byte
	for _, name := range []string{"otelproto-examples-logs.json", "otelproto-examples-trace.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			tb.Fatalf("seed corpus: %v", err)
		}
		seeds = append(seeds, b)
	}
	f, err := os.Open(filepath.Join(dir, "oteltui-test_data.jsonl"))
	if err != nil {
		tb.Fatalf("seed corpus: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 4<<20)
	for n := 0; sc.Scan() && n < 12; {
		if len(sc.Bytes()) <= fuzzMaxInput/4 {
			seeds = append(seeds, bytes.Clone(sc.Bytes()))
			n++
		}
	}
	return seeds
}

func logRecordCount(rls []*logspb.ResourceLogs) int {
	n := 0
	for _, rl := range rls {
		for _, sl := range rl.GetScopeLogs() {
			n += len(sl.GetLogRecords())
		}
	}
	return n
}

func spanCount(rss []*tracepb.ResourceSpans) int {
	n := 0
	for _, rs := range rss {
		for _, ss := range rs.GetScopeSpans() {
			n += len(ss.GetSpans())
		}
	}
	return n
}

// checkObservations holds for anything the receiver emits: a span has valid
// IDs, a log has its record, and both say where they came from.
func checkObservations(t *testing.T, b tracing.Batch) {
	t.Helper()
	for _, o := range b {
		if o.Source != "otlp" {
			t.Fatalf("source %q", o.Source)
		}
		switch o.Kind {
		case tracing.ObsSpan:
			if o.Span == nil || !o.Span.TraceID.IsValid() || !o.Span.SpanID.IsValid() {
				t.Fatalf("span without valid IDs: %+v", o)
			}
		case tracing.ObsLog:
			if o.Log == nil {
				t.Fatalf("log observation without a record: %+v", o)
			}
			for _, k := range o.Keys {
				if k.Value == "" {
					t.Fatalf("empty key %v in %+v", k.Kind, o)
				}
			}
		default:
			t.Fatalf("unexpected kind %v", o.Kind)
		}
	}
}

// FuzzDecodeJSON feeds Decode (what `flowtop` reads from OTLP JSON and JSON
// Lines files: traces and logs) arbitrary bytes. It must not panic, every
// observation must be well formed, and a document that is one logs export
// must give exactly one observation per log record.
func FuzzDecodeJSON(f *testing.F) {
	seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add(bytes.Join(seeds[:2], []byte("\n")))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz","body":{"kvlistValue":{}}}]}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMaxInput {
			return
		}
		batch, err := Decode(bytes.NewReader(b))
		checkObservations(t, batch)
		if err != nil || !bytes.Contains(b, []byte(`"resourceLogs"`)) {
			return
		}
		var req collogspb.ExportLogsServiceRequest
		if unmarshalJSON(b, &req) != nil {
			return // JSON Lines: each line was counted on its own
		}
		if want := logRecordCount(req.GetResourceLogs()); len(batch) != want {
			t.Fatalf("%d log records became %d observations", want, len(batch))
		}
	})
}

// FuzzConvertLogs decodes arbitrary protobuf as an OTLP logs export (what
// OTLP/gRPC and OTLP/HTTP protobuf deliver) and converts it: one observation
// per log record, a trace ID key exactly when the record has a valid trace ID.
func FuzzConvertLogs(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		var req collogspb.ExportLogsServiceRequest
		if unmarshalJSON(s, &req) == nil && len(req.GetResourceLogs()) > 0 {
			b, err := proto.Marshal(&req)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMaxInput {
			return
		}
		var req collogspb.ExportLogsServiceRequest
		if proto.Unmarshal(b, &req) != nil {
			return
		}
		batch := ConvertLogs(req.GetResourceLogs())
		if want := logRecordCount(req.GetResourceLogs()); len(batch) != want {
			t.Fatalf("%d log records became %d observations", want, len(batch))
		}
		checkObservations(t, batch)
		for _, o := range batch {
			hasTrace := false
			for _, k := range o.Keys {
				hasTrace = hasTrace || k.Kind == tracing.KeyTraceID
			}
			if hasTrace != o.Log.TraceID.IsValid() {
				t.Fatalf("trace key %v but trace ID %v", hasTrace, o.Log.TraceID)
			}
		}
	})
}

// httpFuzzReceiver is one receiver per fuzzing process, listening on loopback.
type httpFuzzReceiver struct {
	base   string
	out    chan tracing.Batch
	client *http.Client
}

func startFuzzReceiver(f *testing.F) *httpFuzzReceiver {
	f.Helper()
	r, err := New(Config{GRPCAddr: "off", HTTPAddr: "127.0.0.1:0", MaxRequestBytes: fuzzMaxInput / 2})
	if err != nil {
		f.Fatal(err)
	}
	out := make(chan tracing.Batch, 64)
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	go func() { _ = r.Run(ctx, out) }()
	addrs := r.Addrs(ctx)
	if len(addrs) == 0 {
		f.Fatal("otlp receiver did not listen")
	}
	return &httpFuzzReceiver{base: "http://" + addrs[0], out: out, client: &http.Client{Timeout: 10 * time.Second}}
}

// FuzzHTTPBody posts arbitrary bodies to the OTLP/HTTP receiver (traces or
// logs, protobuf or JSON, plain, gzipped or falsely claiming gzip). The
// receiver must answer every request (a handler panic drops the connection),
// with a client error, 413 or a retryable 503, never another 5xx; and when it
// accepts a request, the spans or records it emits plus those it reports as
// rejected add up to what the request held.
func FuzzHTTPBody(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(uint8(0), true, uint8(0), s)
		f.Add(uint8(1), true, uint8(1), s)
		var tr coltracepb.ExportTraceServiceRequest
		if unmarshalJSON(s, &tr) == nil && len(tr.GetResourceSpans()) > 0 {
			b, _ := proto.Marshal(&tr)
			f.Add(uint8(0), false, uint8(0), b)
		}
		var lr collogspb.ExportLogsServiceRequest
		if unmarshalJSON(s, &lr) == nil && len(lr.GetResourceLogs()) > 0 {
			b, _ := proto.Marshal(&lr)
			f.Add(uint8(1), false, uint8(1), b)
		}
	}
	f.Add(uint8(0), false, uint8(2), []byte("\x1f\x8b not gzip"))
	rcv := startFuzzReceiver(f)
	f.Fuzz(func(t *testing.T, path uint8, isJSON bool, encoding uint8, body []byte) {
		if len(body) > fuzzMaxInput {
			return
		}
		logs := path%2 == 1
		url := rcv.base + "/v1/traces"
		if logs {
			url = rcv.base + "/v1/logs"
		}
		payload := body
		gzipMode := encoding % 3 // 0 plain, 1 gzipped, 2 says gzip but is not
		if gzipMode == 1 {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(body)
			_ = zw.Close()
			payload = buf.Bytes()
		}
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		ct := "application/x-protobuf"
		if isJSON {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
		if gzipMode != 0 {
			req.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := rcv.client.Do(req)
		if err != nil {
			t.Fatalf("no answer (a panic in the handler?): %v", err)
		}
		answer, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		var got tracing.Batch
		for drained := false; !drained; {
			select {
			case b := <-rcv.out:
				got = append(got, b...)
			default:
				drained = true
			}
		}
		checkObservations(t, got)
		switch {
		case resp.StatusCode == http.StatusOK:
		case resp.StatusCode == http.StatusServiceUnavailable:
			return
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			if len(got) > 0 {
				t.Fatalf("status %d but %d observations emitted", resp.StatusCode, len(got))
			}
			return
		default:
			t.Fatalf("status %d: %s", resp.StatusCode, answer)
		}
		// Accepted: count what the request held, decoded the way a client
		// would have encoded it.
		decode := proto.Unmarshal
		if isJSON {
			decode = unmarshalJSON
		}
		if logs {
			var in collogspb.ExportLogsServiceRequest
			if decode(body, &in) == nil && len(got) != logRecordCount(in.GetResourceLogs()) {
				t.Fatalf("%d log records, %d observations", logRecordCount(in.GetResourceLogs()), len(got))
			}
			return
		}
		var in coltracepb.ExportTraceServiceRequest
		if decode(body, &in) != nil {
			return
		}
		var reply coltracepb.ExportTraceServiceResponse
		if isJSON {
			err = protojson.Unmarshal(answer, &reply)
		} else {
			err = proto.Unmarshal(answer, &reply)
		}
		if err != nil {
			t.Fatalf("unreadable reply %q: %v", answer, err)
		}
		rejected := int(reply.GetPartialSuccess().GetRejectedSpans())
		if want := spanCount(in.GetResourceSpans()); len(got)+rejected != want {
			t.Fatalf("%d spans: %d emitted + %d rejected", want, len(got), rejected)
		}
	})
}
