package otlp

import "testing"

// BenchmarkConvert decodes and converts one telemetrygen-shaped export of
// 1000 spans, as a request handler does, and reports the cost per span.
func BenchmarkConvert(b *testing.B) {
	body := telemetrygenBatch(1, 1000)
	d := newDecoder(Limits{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.reset(nil)
		if err := d.traces(body); err != nil || len(d.out) != 1000 {
			b.Fatal(err, len(d.out))
		}
	}
	perSpan(b, 1000)
}

func perSpan(b *testing.B, n int) {
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
}
