package recording

import (
	"fmt"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/flowtop/flowtop/tracing"
)

// sandboxObs is observation i of a sandbox-shaped stream, the one the
// engine's BenchmarkRecordOverheadHub feeds (engine/record_bench_test.go):
// per invocation a START, two JSON app lines, an X-Ray span and a REPORT.
func sandboxObs(i int) tracing.Observation {
	at := time.Unix(1_796_000_000, 0).Add(time.Duration(i) * 20 * time.Microsecond)
	n := i / 5
	fn := [...]string{"charge-card", "reserve-stock", "send-email", "record-analytics"}[n%4]
	req := fmt.Sprintf("%08x-cdc5-4441-a9e7-%012x", n, n*7)
	msg := fmt.Sprintf("%08x-0e73-44a9-8722-%012x", n, n*3)
	var tid tracing.TraceID
	tid[0], tid[1], tid[2], tid[15] = byte(n>>16), byte(n>>8), byte(n), 1
	comp := tracing.Component{Kind: tracing.ComponentFunction, Name: fn}
	stream := "2026/12/03/[$LATEST]a43b6ffb8bb5c43028d156fed7a1d2fd"
	o := tracing.Observation{Source: "cwlogs", Time: at, Component: comp, Keys: []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}}}
	logLine := func(kind tracing.LogKind, level, text string) *tracing.LogRecord {
		return &tracing.LogRecord{
			Time: at, Group: "/aws/lambda/" + fn, Stream: stream, EventID: fmt.Sprintf("%s/%d/%s", stream, at.UnixMilli(), text),
			Kind: kind, Level: level, RequestID: req, TraceID: tid, Message: text,
		}
	}
	switch i % 5 {
	case 0:
		o.Kind = tracing.ObsLog
		o.Log = logLine(tracing.LogStart, "", `{"record":{"requestId":"`+req+`","version":"$LATEST"},"time":"2026-12-03T13:59:14.598Z","type":"platform.start"}`)
	case 1, 2:
		o.Kind = tracing.ObsLog
		o.Keys = append(o.Keys, tracing.Key{Kind: tracing.KeyMessageID, Value: msg})
		o.Relations = []tracing.Relation{{From: tracing.Key{Kind: tracing.KeyRequestID, Value: req}, To: tracing.Key{Kind: tracing.KeyMessageID, Value: msg}, Kind: tracing.RelConsumed, Evidence: "app log messageId"}}
		o.Log = logLine(tracing.LogApp, "INFO", `{"cold_start":false,"correlation_id":"o-`+fmt.Sprint(n)+`","function_name":"`+fn+`","function_request_id":"`+req+`","level":"INFO","message":"processing order","messageId":"`+msg+`","service":"`+fn+`","timestamp":"2026-12-03T13:59:14.598Z"}`)
	case 3:
		o.Kind, o.Source = tracing.ObsSpan, "xray"
		o.Keys = []tracing.Key{{Kind: tracing.KeyTraceID, Value: tid.String()}, {Kind: tracing.KeyRequestID, Value: req}}
		o.Span = &tracing.Span{
			TraceID: tid, SpanID: tracing.SpanID{byte(n >> 8), byte(n), 3}, Name: fn, Service: fn, Kind: tracing.SpanKindServer,
			Start: at.Add(-100 * time.Millisecond), End: at, Status: tracing.StatusOK, InvocationID: req,
			Attrs: map[string]string{"aws.function_arn": "arn:aws:lambda:us-east-1:000000000000:function:" + fn, "aws.request_id": req},
		}
	case 4:
		o.Kind = tracing.ObsInvocation
		o.Log = logLine(tracing.LogReport, "", `{"record":{"requestId":"`+req+`","metrics":{"durationMs":102.4,"billedDurationMs":103,"memorySizeMB":128,"maxMemoryUsedMB":71},"status":"success"},"time":"2026-12-03T13:59:14.700Z","type":"platform.report"}`)
		o.Invocation = &tracing.Invocation{Function: fn, RequestID: req, Duration: 102400 * time.Microsecond, BilledDuration: 103 * time.Millisecond, MemorySizeMB: 128, MaxMemoryUsedMB: 71, Status: tracing.InvocationSuccess}
	}
	return o
}

func sandboxStream(n int) tracing.Batch {
	obs := make(tracing.Batch, n)
	for i := range obs {
		obs[i] = sandboxObs(i)
	}
	return obs
}

// rawFrame is an encoded frame before compression and its record count.
type rawFrame struct {
	raw   []byte
	count int
}

// encodeFrames encodes obs into frames of defaultChunk bytes the way
// Writer.Add does, returning the raw frames when keep is set.
func encodeFrames(e *encoder, obs tracing.Batch, keep bool) (frames []rawFrame) {
	at := time.Unix(1_796_000_000, 0)
	e.reset(at.UnixNano())
	n := 0
	for i := range obs {
		e.record(at, &obs[i])
		n++
		if len(e.buf) >= defaultChunk {
			if keep {
				frames = append(frames, rawFrame{append([]byte(nil), e.buf...), n})
			}
			e.reset(at.UnixNano())
			n = 0
		}
	}
	if keep && len(e.buf) > 0 {
		frames = append(frames, rawFrame{append([]byte(nil), e.buf...), n})
	}
	return frames
}

// BenchmarkEncode is the record encoder alone on the sandbox-shaped stream:
// ns and raw bytes per observation.
func BenchmarkEncode(b *testing.B) {
	obs := sandboxStream(50_000)
	e := newEncoder()
	e.buf = make([]byte, 0, defaultChunk+defaultChunk/4)
	raw := 0
	for _, f := range encodeFrames(e, obs, true) {
		raw += len(f.raw)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		encodeFrames(e, obs, false)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*len(obs)), "cpu-ns/obs")
	b.ReportMetric(float64(raw)/float64(len(obs)), "raw-bytes/obs")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkCompress is the frame compression alone, per observation.
func BenchmarkCompress(b *testing.B) {
	obs := sandboxStream(50_000)
	frames := encodeFrames(newEncoder(), obs, true)
	for _, c := range []struct {
		name string
		fn   func(dst, src []byte) []byte
	}{
		{"s2", func(dst, src []byte) []byte { return s2.Encode(dst[:cap(dst)], src) }},
		{"snappy", func(dst, src []byte) []byte { return s2.EncodeSnappy(dst[:cap(dst)], src) }},
		{"s2-1m", nil}, // four frames' records compressed as one block
	} {
		b.Run(c.name, func(b *testing.B) {
			frames := frames
			if c.fn == nil {
				var big []rawFrame
				for i := 0; i < len(frames); i += 4 {
					var f rawFrame
					for _, g := range frames[i:min(i+4, len(frames))] {
						f.raw, f.count = append(f.raw, g.raw...), f.count+g.count
					}
					big = append(big, f)
				}
				frames, c.fn = big, func(dst, src []byte) []byte { return s2.Encode(dst[:cap(dst)], src) }
			}
			var dst []byte
			size := 0
			cpu0 := cpuTime()
			for range b.N {
				size = 0
				for _, f := range frames {
					dst = c.fn(dst, f.raw)
					size += len(dst)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*len(obs)), "cpu-ns/obs")
			b.ReportMetric(float64(size)/float64(len(obs)), "bytes/obs")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkDecode is the record decoder alone (decompressed frames to
// columns), per observation.
func BenchmarkDecode(b *testing.B) {
	obs := sandboxStream(50_000)
	frames := encodeFrames(newEncoder(), obs, true)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		for _, f := range frames {
			c, err := decodeColumns(f.raw, 1_796_000_000e9, f.count, 0, recordVersion)
			if err != nil || len(c.Obs) != f.count {
				b.Fatalf("%v: %d of %d records", err, len(c.Obs), f.count)
			}
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*len(obs)), "cpu-ns/obs")
	b.ReportMetric(float64(testing.AllocsPerRun(1, func() {
		for _, f := range frames {
			_, _ = decodeColumns(f.raw, 0, f.count, 0, recordVersion)
		}
	}))/float64(len(obs)), "allocs/obs")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkEncodeWarm is BenchmarkEncode over 500 observations that stay in
// the cache, as a collector's fresh batch does: the encoder's own work
// without the misses of reading a cold stream.
func BenchmarkEncodeWarm(b *testing.B) {
	obs := sandboxStream(500)
	e := newEncoder()
	e.buf = make([]byte, 0, defaultChunk+defaultChunk/4)
	const rounds = 200 // a measurable while at -benchtime 1x
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		for range rounds {
			encodeFrames(e, obs, false)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*rounds*len(obs)), "cpu-ns/obs")
	b.ReportMetric(0, "ns/op")
}
