package recording

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/s2"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/tracing"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// sample is observation i, cycling through every payload with every field set.
func sample(i int) tracing.Observation {
	at := t0.Add(time.Duration(i) * time.Millisecond)
	req := fmt.Sprintf("%08x-1111-4000-8000-000000000000", i/4)
	msg := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
	var tid tracing.TraceID
	tid[0], tid[1], tid[15] = byte(i>>8), byte(i), 1
	sid := tracing.SpanID{7, byte(i)}
	o := tracing.Observation{
		Source: "cwlogs", Time: at, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"},
		Keys:      []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}, {Kind: tracing.KeyMessageID, Value: msg}},
		Relations: []tracing.Relation{{From: tracing.Key{Kind: tracing.KeyRequestID, Value: req}, To: tracing.Key{Kind: tracing.KeyMessageID, Value: msg}, Kind: tracing.RelConsumed, Evidence: "sqs record messageId"}},
	}
	switch i % 7 {
	case 0:
		o.Kind, o.Source = tracing.ObsSpan, "otlp"
		o.Span = &tracing.Span{
			TraceID: tid, SpanID: sid, ParentID: tracing.SpanID{1}, Name: "process", Service: "charge-card", Kind: tracing.SpanKindConsumer,
			Start: at, End: at.Add(3 * time.Millisecond), Status: tracing.StatusError, StatusMessage: "boom \x1b[31m", InProgress: i%2 == 0,
			Links:        []tracing.Link{{TraceID: tid, SpanID: sid, Attrs: map[string]string{"k": "v"}}},
			Messaging:    tracing.Messaging{System: "aws_sqs", Operation: "process", Destination: "billing", MessageID: msg, BatchCount: 3},
			InvocationID: req, ColdStart: true, Attrs: map[string]string{"http.method": "POST", "aws.operation": "SendMessage"},
		}
		if i%3 == 0 {
			o.Span.Events = []tracing.SpanEvent{
				{Time: at.Add(time.Millisecond), Name: "exception", Attrs: map[string]string{"exception.type": "ValueError", "exception.message": "bad \x1b[2J", "exception.stacktrace": "Traceback\n  line 1"}},
				{Name: "retry"},
			}
			o.Component.Account, o.Component.Region = "111122223333", "eu-west-1"
		}
	case 1, 2:
		o.Kind = tracing.ObsLog
		o.Log = &tracing.LogRecord{
			Time: at, Group: "/aws/lambda/charge-card", Stream: "2026/12/03/[$LATEST]abc", EventID: fmt.Sprint(i), Kind: tracing.LogApp,
			Level: "INFO", RequestID: req, TraceID: tid, Message: `{"level":"INFO","msg":"charging","messageId":"` + msg + `"}`, EventType: "OrderPlaced", Reason: "",
		}
		if i%7 == 2 && i%2 == 0 {
			// A live-tailed line: the collector's made-up ID (stream/ms/message).
			o.Log.EventID = fmt.Sprintf("%s/%d/%s", o.Log.Stream, at.UnixMilli(), o.Log.Message)
		}
	case 3:
		o.Kind = tracing.ObsInvocation
		o.Log = &tracing.LogRecord{Time: at, Kind: tracing.LogReport, RequestID: req, Message: "REPORT RequestId: " + req}
		o.Invocation = &tracing.Invocation{
			Function: "charge-card", RequestID: req, Duration: 120500 * time.Microsecond, BilledDuration: 121 * time.Millisecond,
			InitDuration: time.Second, RestoreDuration: 2, BilledRestoreDuration: 3, MemorySizeMB: 512, MaxMemoryUsedMB: 90, Status: tracing.InvocationError,
			ErrorType: "Runtime.ExitError", TraceID: tid, SegmentID: sid,
		}
	case 4:
		o.Kind, o.Source = tracing.ObsMessage, "dlq"
		o.Message = &tracing.Message{
			Broker: tracing.BrokerSQS, Queue: "billing-dlq", ID: msg, Body: `{"id":"` + msg + `"}`,
			Attributes: map[string]string{"ApproximateReceiveCount": "3"}, UserAttrs: map[string]string{"x": "y"}, ReceiveCount: 3,
			SentAt: at.Add(-time.Second), FirstRecvAt: at, DeadLetter: true, SourceQueue: "billing", GroupID: "g", DedupID: "d",
			Layers: []tracing.Envelope{{Kind: tracing.EnvelopeEventBridge, Keys: []tracing.Key{{Kind: tracing.KeyEventID, Value: "ev-" + msg}}, Type: "OrderPlaced", Source: "shop", Time: at, TraceHeader: "Root=1-abc", Fingerprint: "fp-" + msg}},
			Reason: "truncated",
		}
	case 5:
		o.Kind, o.Source = tracing.ObsFunction, "lambda"
		o.Function = &tracing.FunctionConfig{
			Name: "charge-card", ARN: "arn:aws:lambda:eu-west-1:1:function:charge-card", MemoryMB: 512, Architecture: "arm64",
			Timeout: 30 * time.Second, LogGroup: "/aws/lambda/charge-card", LogFormat: "JSON", Tracing: "Active", Runtime: "nodejs22.x",
		}
		o.Time = time.Time{}
	case 6:
		if i%2 == 0 {
			o.Kind, o.Source = tracing.ObsQueue, "dlq"
			o.Queue = &tracing.QueueInfo{
				Name: "billing-dlq", URL: "http://q/billing-dlq", ARN: "arn:q", Depth: 4, InFlight: 1, OldestAge: time.Minute,
				DeadLetterQueue: "x", MaxReceiveCount: 3, IsDLQ: true, Sources: []string{"billing"}, FIFO: true,
			}
		} else {
			o.Kind, o.Source = tracing.ObsRoute, "topology"
			o.Routes = &tracing.RouteSet{
				Scopes: []string{tracing.RouteScopeSQS}, Components: []tracing.Component{{Kind: tracing.ComponentQueue, Name: "billing"}},
				Routes: []tracing.Route{{
					From: tracing.Component{Kind: tracing.ComponentQueue, Name: "billing"}, To: tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-dlq"},
					Via: "redrive policy", Evidence: "billing redrives to billing-dlq", Attrs: map[string]string{"maxReceiveCount": "3"}, Scope: tracing.RouteScopeSQS,
				}},
			}
		}
	}
	return o
}

// TestFieldsKnown fails when a tracing type gains or loses a field: the
// codec must then learn it (and the format version may need to move).
func TestFieldsKnown(t *testing.T) {
	for _, c := range []struct {
		v any
		n int
	}{
		{tracing.Observation{}, 13},
		{tracing.Key{}, 2},
		{tracing.Relation{}, 4},
		{tracing.Component{}, 4},
		{tracing.Span{}, 17},
		{tracing.SpanEvent{}, 3},
		{tracing.Link{}, 3},
		{tracing.Messaging{}, 5},
		{tracing.LogRecord{}, 11},
		{tracing.Invocation{}, 13},
		{tracing.Message{}, 15},
		{tracing.Envelope{}, 7},
		{tracing.FunctionConfig{}, 9},
		{tracing.QueueInfo{}, 11},
		{tracing.RouteSet{}, 3},
		{tracing.Route{}, 6},
	} {
		if got := reflect.TypeOf(c.v).NumField(); got != c.n {
			t.Errorf("%T has %d fields, the recording codec knows %d: teach engine/recording/codec.go the change", c.v, got, c.n)
		}
	}
}

// tee is the sink the engine gives the hub: the graph (here a counter) and the recorder.
type tee struct {
	w    *Writer
	mu   sync.Mutex
	n    int
	want int
	done chan struct{}
}

func (s *tee) Ingest(b tracing.Batch) {
	s.w.Add(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n += len(b)
	if s.n >= s.want {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	}
}

// batchSource sends its batches and waits for ctx.
type batchSource struct{ batches []tracing.Batch }

func (s *batchSource) Name() string                 { return "test" }
func (s *batchSource) Health() tracing.SourceHealth { return tracing.SourceHealth{Source: "test"} }
func (s *batchSource) Run(ctx context.Context, out chan<- tracing.Batch) error {
	for _, b := range s.batches {
		select {
		case out <- b:
		case <-ctx.Done():
			return nil
		}
	}
	<-ctx.Done()
	return nil
}

// recordThroughHub records n sample observations through a real hub and returns the file and what was sent.
func recordThroughHub(t testing.TB, n int, opts Options) (string, []tracing.Observation) {
	path := filepath.Join(t.TempDir(), "rec.ftr")
	opts.Queue = 1 << 14 // these tests want every record; TestDrops counts drops
	w, err := Create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	var all []tracing.Observation
	src := &batchSource{}
	for i := 0; i < n; {
		k := min(1+i%37, n-i)
		b := make(tracing.Batch, k)
		for j := range b {
			b[j] = sample(i + j)
		}
		all = append(all, b...)
		src.batches = append(src.batches, b)
		i += k
	}
	sink := &tee{w: w, want: n, done: make(chan struct{})}
	hub := collectors.NewHub(sink, 64)
	hub.Add(src)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { hub.Run(ctx); close(stopped) }()
	<-sink.done
	cancel()
	<-stopped
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Dropped != 0 || st.Written != uint64(n) {
		t.Fatalf("stats %+v, want %d written and none dropped", st, n)
	}
	return path, all
}

func decodeAll(t testing.TB, r *Recording) []tracing.Observation {
	var out []tracing.Observation
	notes := r.Each(func(_ int, recs []Record) bool {
		for _, x := range recs {
			out = append(out, x.Obs)
		}
		return true
	})
	if len(notes) > 0 {
		t.Fatalf("notes: %v", notes)
	}
	return out
}

// TestReadsFormat1 reads a recording written by the format 1 writer (made by
// memRecording before format 2): format 2 readers must keep reading them.
func TestReadsFormat1(t *testing.T) {
	t.Parallel()
	r, err := Open("testdata/v1.ftr")
	if err != nil {
		t.Fatal(err)
	}
	if r.Headers[0].Format != 1 || r.Count != 30 || len(r.Notes) != 0 {
		t.Fatalf("headers %+v count %d notes %v", r.Headers, r.Count, r.Notes)
	}
	got := decodeAll(t, r)
	for i, o := range got {
		want := sample(i)
		// What format 1 did not hold, and the event ID format 1's sample had.
		if want.Span != nil {
			want.Span.Events = nil
		}
		want.Component.Account, want.Component.Region = "", ""
		if want.Message != nil {
			for j := range want.Message.Layers {
				want.Message.Layers[j].Fingerprint = ""
			}
		}
		if want.Log != nil && want.Kind == tracing.ObsLog {
			want.Log.EventID = fmt.Sprint(i)
		}
		if d := cmp.Diff(want, o); d != "" {
			t.Fatalf("record %d differs (-want +read):\n%s", i, d)
		}
	}
}

// v2Obs is observation i of testdata/v2.ftr: sample's every payload and
// field, then sandbox-shaped lines (live-tailed IDs, an invocation's
// repeated request ID, group and stream).
func v2Obs(i int) tracing.Observation {
	if i < 35 {
		return sample(i)
	}
	return sandboxObs(i)
}

// TestReadsFormat2 reads a recording written by the format 2 writer (through
// Writer, before format 3): later readers must keep reading them.
func TestReadsFormat2(t *testing.T) {
	t.Parallel()
	r, err := Open("testdata/v2.ftr")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Headers) != 1 || r.Headers[0].Format != 2 || r.Count != 70 || len(r.Frames) < 3 || len(r.Notes) != 0 {
		t.Fatalf("headers %+v count %d frames %d notes %v", r.Headers, r.Count, len(r.Frames), r.Notes)
	}
	for _, f := range r.Frames {
		if f.ver != 2 {
			t.Fatalf("frame at %d has record encoding %d, want 2", f.Offset, f.ver)
		}
	}
	got := decodeAll(t, r)
	for i, o := range got {
		if d := cmp.Diff(v2Obs(i), o); d != "" {
			t.Fatalf("record %d differs (-want +read):\n%s", i, d)
		}
	}
}

// TestDerivedEventID round-trips event IDs that look made up but are not,
// and the collector's made-up ones (stream/ms/message), which format 3
// writes as one byte.
func TestDerivedEventID(t *testing.T) {
	t.Parallel()
	at := time.UnixMilli(1_796_000_000_123).Add(456 * time.Microsecond)
	for _, c := range []struct {
		id   string
		time time.Time
		made bool
	}{
		{id: "s/1/m"},
		{id: "s/m"},
		{id: "sm"},
		{id: "s"},
		{id: "m"},
		{id: ""},
		{id: "x/s/1/m"},
		{id: "s/1/mx"},
		{id: "ss"},
		{id: "s/1796000000123/m", time: at, made: true},
		{id: "s/1796000000123/m", time: at.Add(time.Millisecond)},
		{id: "s/1796000000124/m", time: at},
		{id: "s//1796000000123/m", time: at},
		{id: "s/1796000000123//m", time: at},
		{id: "s/-62135596800000/m", made: true},
		{id: "s/01796000000123/m", time: at},
		{id: "s/+1796000000123/m", time: at},
		{id: "s/-1796000000123/m", time: at},
		{id: "s/1796000000123x/m", time: at},
		{id: "s/99999999999999999999/m", time: at},
		{id: "s/0/m", time: time.UnixMilli(0), made: true},
		{id: "s/-0/m", time: time.UnixMilli(0)},
		{id: "s/-1/m", time: time.UnixMilli(-1), made: true},
		{id: "s//m", time: at},
	} {
		l := &tracing.LogRecord{Time: c.time, Stream: "s", Message: "m", EventID: c.id}
		e := newEncoder()
		e.reset(at.UnixNano())
		e.log(l)
		d := &decoder{buf: e.buf, ver: recordVersion, rt: at.UnixNano()}
		if got := d.log(); got.EventID != c.id || got.Message != "m" || d.err != nil || len(d.buf) != 0 {
			t.Errorf("%q at %v read back as %q, message %q (%v)", c.id, c.time, got.EventID, got.Message, d.err)
		}
		id := newEncoder()
		id.eventID(l)
		if made := id.buf[0] == 2; made != c.made || made && len(id.buf) != 1 {
			t.Errorf("%q at %v: written as % x, want made up %v", c.id, c.time, id.buf, c.made)
		}
	}
}

func TestRoundTripThroughHub(t *testing.T) {
	t.Parallel()
	for _, codec := range []string{"", "zstd", "none"} {
		t.Run("codec "+codec, func(t *testing.T) {
			t.Parallel()
			roundTrip(t, codec)
		})
	}
}

func roundTrip(t *testing.T, codec string) {
	path, sent := recordThroughHub(t, 5000, Options{Flowtop: "test", ChunkBytes: 16 << 10, Codec: codec})
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Notes) != 0 || len(r.Headers) != 1 || r.Headers[0].Format != FormatVersion || r.Headers[0].Flowtop != "test" {
		t.Fatalf("notes %v headers %+v", r.Notes, r.Headers)
	}
	if len(r.Frames) < 5 {
		t.Fatalf("%d frames; want several for this test to mean anything", len(r.Frames))
	}
	if r.Count != len(sent) {
		t.Fatalf("index counts %d records, sent %d", r.Count, len(sent))
	}
	got := decodeAll(t, r)
	if d := cmp.Diff(sent, got); d != "" {
		t.Fatalf("round trip differs (-sent +read):\n%s", d)
	}
}

// TestTornTail cuts a recording at random offsets: every whole frame's
// records still replay, in order, and the rest is dropped with a note.
func TestTornTail(t *testing.T) {
	t.Parallel()
	path, sent := recordThroughHub(t, 3000, Options{ChunkBytes: 8 << 10})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := Parse(data)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		cut := 40 + rng.IntN(len(data)-40)
		r, err := Parse(data[:cut:cut])
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		// The frames that end before the cut are kept.
		want := 0
		boundary := false
		for _, f := range whole.Frames {
			end := int(f.Offset) + headerSize + len(f.payload)
			if end <= cut {
				want += f.Count
			}
			boundary = boundary || end == cut
		}
		got := decodeAll(t, r)
		if len(got) != want {
			t.Fatalf("cut at %d: %d records replayed, want %d", cut, len(got), want)
		}
		for i := range got { // the full comparison is TestRoundTripThroughHub's
			if got[i].Keys[1] != sent[i].Keys[1] || !got[i].Time.Equal(sent[i].Time) {
				t.Fatalf("cut at %d: record %d is %v, want %v", cut, i, got[i].Keys, sent[i].Keys)
			}
		}
		if !boundary && (len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "dropped a torn tail of")) {
			t.Fatalf("cut at %d: notes %q, want one torn-tail note", cut, r.Notes)
		}
	}
}

// TestDamagedMiddle flips a byte inside one frame: that frame is skipped
// with a note and the frames after it still replay.
func TestDamagedMiddle(t *testing.T) {
	t.Parallel()
	path, _ := recordThroughHub(t, 2000, Options{ChunkBytes: 8 << 10})
	data, _ := os.ReadFile(path)
	whole, _ := Parse(data)
	f := whole.Frames[2]
	bad := append([]byte(nil), data...)
	bad[f.Offset+headerSize+5] ^= 0xff
	r, err := Parse(bad)
	if err != nil {
		t.Fatal(err)
	}
	if r.Count != whole.Count-f.Count || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "skipped") {
		t.Fatalf("count %d (whole %d, frame %d), notes %q", r.Count, whole.Count, f.Count, r.Notes)
	}
}

func TestRefusesOtherFiles(t *testing.T) {
	t.Parallel()
	for name, data := range map[string][]byte{"empty": nil, "text": []byte("hello, world\n"), "obs without header": putFrame(nil, frameHeader{kind: kindObs}, nil)} {
		if _, err := Parse(data); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	newer := putFrame(nil, frameHeader{kind: kindHeader}, []byte(`{"format":99,"flowtop":"v9"}`))
	if _, err := Parse(newer); err == nil || !strings.Contains(err.Error(), "format 99") {
		t.Errorf("newer format: %v", err)
	}
}

// TestLimitStops: a recording that reaches its size limit stops with a
// clear message and counts what it drops; ingest never waits.
func TestLimitStops(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rec.ftr")
	w, err := Create(path, Options{MaxBytes: 4096, ChunkBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2000; i++ {
		w.Add(tracing.Batch{sample(i)})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err) // a limit is not a failure
	}
	st := w.Stats()
	if !strings.Contains(st.Stopped, "reached its limit of 4096 bytes") || st.Dropped == 0 || st.Written+st.Dropped != 2000 || st.Bytes > 4096 {
		t.Fatalf("stats %+v", st)
	}
	if h := w.Health(); h.State != tracing.SourceStateStopped || h.Dropped != st.Dropped || h.Source != "recorder" {
		t.Fatalf("health %+v", h)
	}
	r, err := Open(path)
	if err != nil || r.Count != int(st.Written) {
		t.Fatalf("reopen: %v, %d records, wrote %d", err, r.Count, st.Written)
	}
}

// TestDrops: with no room in the queue, frames are dropped, never waited
// for, and every record is either written or counted as dropped.
func TestDrops(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rec.ftr")
	w, err := Create(path, Options{ChunkBytes: 256, Queue: 1})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for i := 0; i < n; i++ {
		w.Add(tracing.Batch{sample(i)})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.Written+st.Dropped != n || st.Dropped == 0 {
		t.Fatalf("stats %+v: want every record written or dropped, some dropped", st)
	}
	r, err := Open(path)
	if err != nil || r.Count != int(st.Written) {
		t.Fatalf("reopen: %v, %d records, wrote %d", err, r.Count, st.Written)
	}
}

func TestFullDisk(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	_, err := Create("/dev/full", Options{})
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("err %v", err)
	}
}

// memRecording builds a recording of n sample observations in memory,
// frames of per records, the way Writer does (no file, no goroutines).
func memRecording(n, per int) []byte {
	data := putFrame(nil, frameHeader{kind: kindHeader}, fmt.Appendf(nil, `{"format":%d,"flowtop":"fuzz"}`, FormatVersion))
	e := newEncoder()
	for i := 0; i < n; i += per {
		e.reset(t0.UnixNano())
		k := min(per, n-i)
		for j := range k {
			o := sample(i + j)
			start := len(e.buf)
			e.observation(t0, &o)
			body := append([]byte(nil), e.buf[start:]...)
			e.buf = binary.AppendUvarint(e.buf[:start], uint64(len(body)))
			e.buf = append(e.buf, body...)
		}
		data = putFrame(data, frameHeader{kind: kindObs, codec: codecS2, ver: recordVersion, count: uint32(k), first: t0.UnixNano(), last: t0.UnixNano()}, s2.Encode(nil, e.buf))
	}
	return data
}

func TestMemRecording(t *testing.T) {
	r, err := Parse(memRecording(30, 7))
	if err != nil || r.Count != 30 || len(r.Frames) != 5 {
		t.Fatalf("%v %+v", err, r)
	}
	if got := decodeAll(t, r); len(got) != 30 || got[29].Keys[1] != sample(29).Keys[1] {
		t.Fatalf("decoded %d", len(got))
	}
}

func FuzzParse(f *testing.F) {
	data := memRecording(60, 16)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add(data[:100])
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			return
		}
		r, _ := Parse(b)
		if r == nil {
			return
		}
		for i := range r.Frames {
			_, _ = r.Decode(i)
		}
	})
}

// FuzzRecords feeds arbitrary bytes to the record decoder directly (the
// frame CRC keeps random bytes from reaching it through Parse).
func FuzzRecords(f *testing.F) {
	e := newEncoder()
	e.reset(t0.UnixNano())
	for i := 0; i < 7; i++ {
		o := sample(i)
		start := len(e.buf)
		e.observation(t0, &o)
		f.Add(append([]byte{byte(len(e.buf) - start)}, e.buf[start:]...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		_, _ = decodeRecords(b, 0, 1000, 0, recordVersion)
	})
}

// TestDecodeColumns: the columns hold what Decode returns, frame by frame,
// and a damaged frame keeps the records before the damage in both.
func TestDecodeColumns(t *testing.T) {
	t.Parallel()
	r, err := Parse(memRecording(50, 16))
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.Frames {
		recs, err1 := r.Decode(i)
		cols, err2 := r.DecodeColumns(i)
		if err1 != nil || err2 != nil || len(recs) != len(cols.Obs) || len(cols.At) != len(cols.Obs) {
			t.Fatalf("frame %d: %v %v, %d records, %d columns", i, err1, err2, len(recs), len(cols.Obs))
		}
		for j := range recs {
			if recs[j].At.UnixNano() != cols.At[j] {
				t.Errorf("frame %d record %d: at %v vs %d", i, j, recs[j].At, cols.At[j])
			}
			if d := cmp.Diff(recs[j].Obs, cols.Obs[j]); d != "" {
				t.Fatalf("frame %d record %d differs:\n%s", i, j, d)
			}
		}
	}
	// Damage the first frame's last record: both keep the ones before it.
	f := r.Frames[0]
	raw, _ := r.raw(0)
	bad := append([]byte(nil), raw[:len(raw)-3]...)
	recs, err1 := decodeRecords(bad, f.first, f.Count, f.Offset, f.ver)
	r.Frames[0].codec, r.Frames[0].payload = codecNone, bad
	cols, err2 := r.DecodeColumns(0)
	if err1 == nil || err2 == nil || len(recs) != f.Count-1 || len(cols.Obs) != len(recs) || len(cols.At) != len(recs) {
		t.Errorf("damaged: %v %v, %d records, %d columns", err1, err2, len(recs), len(cols.Obs))
	}
}

// TestDecodedRecordsStandAlone: records decoded from one frame share slabs,
// yet appending to one record's keys or relations, or changing its log
// line, leaves the others as they were; a live-tailed line's ID and message
// come back whole.
func TestDecodedRecordsStandAlone(t *testing.T) {
	t.Parallel()
	e := newEncoder()
	e.reset(t0.UnixNano())
	var want []tracing.Observation
	for i := range 300 {
		o := sandboxObs(i)
		want = append(want, o)
		e.record(t0, &o)
	}
	c, err := decodeColumns(e.buf, t0.UnixNano(), len(want), 0, recordVersion)
	if err != nil || len(c.Obs) != len(want) {
		t.Fatalf("%v: %d records", err, len(c.Obs))
	}
	for i := range c.Obs {
		o := &c.Obs[i]
		o.Keys = append(o.Keys, tracing.Key{Kind: tracing.KeySpanID, Value: "clobber"})
		o.Relations = append(o.Relations, tracing.Relation{Evidence: "clobber"})
		if o.Log != nil {
			o.Log.Level = "clobber"
		}
	}
	for i := range c.Obs {
		got := c.Obs[i]
		got.Keys = got.Keys[:len(got.Keys)-1]
		got.Relations = got.Relations[:len(got.Relations)-1]
		if len(got.Relations) == 0 {
			got.Relations = nil
		}
		if got.Log != nil {
			got.Log.Level = want[i].Log.Level
		}
		if d := cmp.Diff(want[i], got); d != "" {
			t.Fatalf("record %d changed by its neighbours' edits:\n%s", i, d)
		}
	}
}

// TestDecodeColumnsRecycled decodes every frame of a format 1 and a format 2
// recording into columns, recycling each frame's memory before the next, in
// file order and then backwards (frames of other sizes take memory another
// frame left): each frame reads as Decode reads it, with nothing of the
// frame decoded before in that memory.
func TestDecodeColumnsRecycled(t *testing.T) {
	t.Parallel()
	v1, err := Open("testdata/v1.ftr")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := Parse(memRecording(200, 23))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Recording{v1, v2} {
		order := make([]int, 0, 2*len(r.Frames))
		for i := range r.Frames {
			order = append(order, i)
		}
		for i := len(r.Frames) - 1; i >= 0; i-- {
			order = append(order, i)
		}
		for _, i := range order {
			recs, err1 := r.Decode(i)
			cols, err2 := r.DecodeColumns(i)
			if err1 != nil || err2 != nil || len(recs) != len(cols.Obs) || len(cols.At) != len(cols.Obs) {
				t.Fatalf("frame %d: %v %v, %d records, %d columns", i, err1, err2, len(recs), len(cols.Obs))
			}
			for j := range recs {
				if recs[j].At.UnixNano() != cols.At[j] {
					t.Errorf("frame %d record %d: at %v vs %d", i, j, recs[j].At, cols.At[j])
				}
				if d := cmp.Diff(recs[j].Obs, cols.Obs[j]); d != "" {
					t.Fatalf("format %d frame %d record %d differs:\n%s", r.Headers[0].Format, i, j, d)
				}
			}
			cols.Recycle()
		}
	}
}
