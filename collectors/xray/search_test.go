package xray

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// TestSearch: through the real SDK against the sandbox, an annotated ID finds
// its trace with a filter expression, a trace ID goes straight to
// BatchGetTraces (either form), and only segments that carry a key come back.
func TestSearch(t *testing.T) {
	t.Parallel()
	srv := sandbox.NewServer(sandbox.Options{Seed: 5})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := awsxray.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx := context.Background()
	now := float64(time.Now().Unix())
	trace := func(i int) string { return fmt.Sprintf("1-%08x-%024x", int64(now), i) }
	seg := func(id, tr, name string, annots map[string]any, req string) string {
		m := map[string]any{"id": id, "trace_id": tr, "name": name, "origin": "AWS::Lambda::Function", "start_time": now - 5, "end_time": now - 4, "annotations": annots}
		if req != "" {
			m["aws"] = map[string]any{"request_id": req}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	docs := []string{
		seg("00000000000000a1", trace(1), "orders-api", map[string]any{"event_id": "ev-1"}, "req-1"),
		seg("00000000000000a2", trace(1), "charge-card", nil, "req-2"),
		seg("00000000000000b1", trace(2), "orders-api", map[string]any{"event_id": "ev-10"}, "req-3"),
		seg("00000000000000c1", trace(3), "send-email", map[string]any{"messageId": "m-1"}, "req-4"),
	}
	if _, err := c.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs}); err != nil {
		t.Fatal(err)
	}
	s := NewSearcher(c, SearchConfig{})
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Minute)
	spans := func(b tracing.Batch) map[string]bool {
		out := map[string]bool{}
		for _, o := range b {
			out[o.Span.SpanID.String()] = true
		}
		return out
	}
	// By an annotated event ID: the annotated segment only, carrying the event.
	b, err := s.Search(ctx, []tracing.Key{{Kind: tracing.KeyEventID, Value: "ev-1"}}, from, to)
	if err != nil || len(b) != 1 || b[0].Span.SpanID.String() != "00000000000000a1" {
		t.Fatalf("by event id: %v %v", err, spans(b))
	}
	carries := false
	for _, k := range b[0].Keys {
		carries = carries || k == (tracing.Key{Kind: tracing.KeyEventID, Value: "ev-1"})
	}
	if !carries {
		t.Errorf("the annotated segment does not carry its event: %v", b[0].Keys)
	}
	// By a user's ID of unknown kind: a message ID annotation.
	b, err = s.Search(ctx, []tracing.Key{{Value: "m-1"}}, from, to)
	if err != nil || len(b) != 1 || b[0].Span.SpanID.String() != "00000000000000c1" {
		t.Fatalf("by unknown id: %v %v", err, spans(b))
	}
	// By trace ID, W3C form: the whole trace.
	tid, _ := tracing.ParseTraceID(trace(1))
	b, err = s.Search(ctx, []tracing.Key{{Kind: tracing.KeyTraceID, Value: tid.String()}}, from, to)
	if got := spans(b); err != nil || len(got) != 2 || !got["00000000000000a2"] {
		t.Fatalf("by trace id: %v %v", err, got)
	}
	// Nothing for an ID no segment carries.
	if b, err := s.Search(ctx, []tracing.Key{{Kind: tracing.KeyEventID, Value: "ev-"}}, from, to); err != nil || len(b) != 0 {
		t.Errorf("unknown id: %v %v", err, spans(b))
	}
}
