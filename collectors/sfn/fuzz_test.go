package sfn

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/graph"
)

// FuzzParseHistory feeds the history parser GetExecutionHistory event arrays
// (seeded with the realistic sample and its variations) and the execution's
// input: it must never panic, stay within its bounds, and make observations
// the graph ingests without trouble.
func FuzzParseHistory(f *testing.F) {
	f.Add([]byte(sampleHistory), `{"id":"e1","source":"s","detail-type":"t"}`, "FAILED", 1)
	f.Add([]byte(`[{"id":1,"type":"ExecutionStarted","executionStartedEventDetails":{"input":"{\"specversion\":\"1.0\",\"id\":\"c\",\"source\":\"/s\"}"}},{"id":2,"type":"FailStateEntered","stateEnteredEventDetails":{"name":"F"}},{"id":3,"type":"ExecutionFailed","executionFailedEventDetails":{"error":"E","cause":"C"}}]`), "", "FAILED", 0)
	f.Add([]byte(`[{"id":1,"type":"ExecutionRedriven","executionRedrivenEventDetails":{"redriveCount":7}},{"id":2,"type":"TaskStateExited","stateExitedEventDetails":{"name":"nope"}},{"id":3,"type":"MapIterationFailed"}]`), "{", "RUNNING", 9)
	f.Add([]byte(`[{"id":1,"type":"TaskSucceeded","taskSucceededEventDetails":{"output":"{\"SdkResponseMetadata\":{\"RequestId\":1}}"}},{"id":2,"type":"TaskFailed","taskFailedEventDetails":{"cause":"{\"requestId\":[\"x\"]}"}}]`), "[]", "", -1)
	f.Fuzz(func(t *testing.T, history []byte, input, status string, redrives int) {
		evs, err := decodeHistory(history)
		if err != nil {
			return
		}
		b, dropped := Parse(Execution{ARN: sampleARN, Status: status, Input: input, RedriveCount: redrives, Start: time.Unix(1764770000, 0)}, evs)
		if dropped < 0 {
			t.Fatalf("dropped %d", dropped)
		}
		spans := 0
		for _, o := range b {
			if o.Source != SourceName {
				t.Fatalf("source %q", o.Source)
			}
			if o.Span != nil {
				spans++
				if len(o.Span.StatusMessage) > maxText+len("…") {
					t.Fatalf("status message of %d bytes", len(o.Span.StatusMessage))
				}
				if !o.Span.TraceID.IsValid() || !o.Span.SpanID.IsValid() {
					t.Fatalf("span without ids: %+v", o.Span)
				}
			}
			for _, r := range o.Relations {
				if r.From.IsZero() || r.To.IsZero() {
					t.Fatalf("relation with an empty end: %+v", r)
				}
			}
		}
		if attempts := len(evs) + 1; spans > maxSpans+attempts {
			t.Fatalf("%d spans for %d events", spans, len(evs))
		}
		g := graph.New(graph.Config{MaxEvents: 64})
		g.Ingest(b)
		_ = g.Flows(graph.FlowQuery{Limit: 10})
		if l, err := g.Lineage(sampleARN); err == nil {
			_ = l.Hops
		}
		_, _ = json.Marshal(b)
	})
}

// BenchmarkIngestExecutionHistory is the ingest cost of an execution
// history: parsing the sample (two attempts, 35 events) and the graph's
// ingest of what it makes, per observation.
func BenchmarkIngestExecutionHistory(b *testing.B) {
	g := graph.New(graph.Config{MaxEvents: 50_000})
	b.ReportAllocs()
	obs := 0
	var took time.Duration
	for i := range b.N {
		// Each execution runs for an event of its own, and its tasks have
		// request IDs of their own, as in a real account.
		n := itoa(i)
		h := strings.NewReplacer("7f8c2a3e-", "7f8c2a3e"+n+"-", "0c3a7d52-", "0c3a7d52"+n+"-", "1d4b8e63-", "1d4b8e63"+n+"-",
			"2e5c9f74-", "2e5c9f74"+n+"-", "3f6d0a85-", "3f6d0a85"+n+"-").Replace(sampleHistory)
		evs, err := decodeHistory([]byte(h))
		if err != nil {
			b.Fatal(err)
		}
		x := Execution{ARN: sampleARN + "-" + n, Status: "SUCCEEDED", RedriveCount: 1}
		start := time.Now()
		batch, _ := Parse(x, evs)
		g.Ingest(batch)
		took += time.Since(start)
		obs += len(batch)
	}
	if obs > 0 {
		b.ReportMetric(float64(took.Nanoseconds())/float64(obs), "ns/obs")
		b.ReportMetric(float64(obs)/float64(b.N), "obs/history")
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
