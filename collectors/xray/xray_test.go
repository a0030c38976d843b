package xray

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

func corpus(t testing.TB) []string {
	dir, _ := os.Getwd()
	for i := 0; i < 5; i++ {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	var files []string
	_ = filepath.Walk(filepath.Join(dir, "testdata", "corpus", "xray"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".txt") || strings.HasSuffix(p, ".json")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatal("no X-Ray samples under testdata/corpus/xray")
	}
	return files
}

// TestParseSegmentCorpus: every document in the corpus parses or is refused
// with a reason; the valid samples give spans with the fields they carry.
func TestParseSegmentCorpus(t *testing.T) {
	t.Parallel()
	parsed := 0
	for _, f := range corpus(t) {
		b, _ := os.ReadFile(f)
		obs, err := ParseSegment(b)
		if err != nil {
			if err.Error() == "" {
				t.Errorf("%s: error without a reason", f)
			}
			continue
		}
		for _, o := range obs {
			if o.Span == nil || !o.Span.TraceID.IsValid() || !o.Span.SpanID.IsValid() || o.Span.Start.IsZero() {
				t.Errorf("%s: bad span %+v", f, o.Span)
			}
		}
		parsed++
	}
	if parsed < 3 {
		t.Errorf("only %d corpus documents parsed", parsed)
	}
}

func TestParseSegmentFields(t *testing.T) {
	t.Parallel()
	doc := `{"id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","name":"charge-card","origin":"AWS::Lambda::Function",
	"start_time":1.478293361271E9,"end_time":1478293361.449,"fault":true,"cause":{"exceptions":[{"type":"CardDeclined","message":"no funds"}]},
	"aws":{"request_id":"11111111-1111-4111-8111-111111111111"},"annotations":{"cold_start":true},
	"subsegments":[{"id":"70de5b6f19ff9a0b","name":"SQS","start_time":1478293361.3,"end_time":1478293361.4,"aws":{"operation":"SendMessage","queue_url":"https://sqs/000/email-queue","message_id":"m-1"}},
	{"id":"70de5b6f19ff9a0c","name":"in-flight","start_time":1478293361.3,"in_progress":true}]}`
	obs, err := ParseSegment([]byte(doc))
	if err != nil || len(obs) != 3 {
		t.Fatalf("%v %d", err, len(obs))
	}
	root, send, open := obs[0].Span, obs[1].Span, obs[2].Span
	if root.InvocationID == "" || root.Status != tracing.StatusError || root.StatusMessage != "CardDeclined no funds" || !root.ColdStart || root.Duration() != 178*time.Millisecond || obs[0].Component.Kind != tracing.ComponentFunction {
		t.Errorf("root: %+v", root)
	}
	if send.Kind != tracing.SpanKindProducer || send.Messaging.MessageID != "m-1" || send.Messaging.Destination != "email-queue" || send.ParentID != root.SpanID {
		t.Errorf("send: %+v", send)
	}
	found := false
	for _, r := range obs[1].Relations {
		found = found || (r.Kind == tracing.RelPublished && r.To.Value == "m-1")
	}
	if !found || !open.InProgress || !open.End.IsZero() {
		t.Errorf("relations %+v / in progress %+v", obs[1].Relations, open)
	}
	for _, bad := range []string{"{", `{"id":"x","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1}`, `{"id":"70de5b6f19ff9a0a","trace_id":"nope","start_time":1}`, `{"id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":"soon"}`} {
		if _, err := ParseSegment([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestCollectExactlyOnceUnderFaults: segments put through the SDK are read
// back once each, with 10% throttling and 5% 5xx on the reads, and an
// in-progress segment completed later is read again as completed.
func TestCollectExactlyOnceUnderFaults(t *testing.T) {
	t.Parallel()
	srv := sandbox.NewServer(sandbox.Options{Seed: 9})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := awsxray.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx := context.Background()
	now := float64(time.Now().Unix())
	var docs []string
	for i := 0; i < 40; i++ {
		m := map[string]any{"id": fmt.Sprintf("%016x", i+1), "trace_id": fmt.Sprintf("1-%08x-%024x", int64(now), i+1), "name": "fn", "start_time": now - 5, "end_time": now - 4}
		if i == 0 {
			delete(m, "end_time")
			m["in_progress"] = true
		}
		b, _ := json.Marshal(m)
		docs = append(docs, string(b))
	}
	for len(docs) > 0 {
		n := min(len(docs), 10)
		if _, err := c.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs[:n]}); err != nil {
			t.Fatal(err)
		}
		docs = docs[n:]
	}
	srv.Faults.Set("xray", sandbox.Fault{Throttle: 0.10, Error5xx: 0.05})
	s := New(c, Config{})
	seen := map[string]int{}
	for round := 0; round < 10 && len(seen) < 40; round++ {
		b, err := s.Collect(ctx, time.Now().Add(-time.Minute), time.Now().Add(time.Second))
		if err != nil {
			continue // a fault past the SDK's retries: the next round reads again
		}
		for _, o := range b {
			seen[o.Span.SpanID.String()]++
		}
	}
	if len(seen) != 40 {
		t.Fatalf("read %d of 40 segments", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("segment %s read %d times", id, n)
		}
	}
	srv.Faults.Clear()
	done, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("%016x", 1), "trace_id": fmt.Sprintf("1-%08x-%024x", int64(now), 1), "name": "fn", "start_time": now - 5, "end_time": now - 3})
	if _, err := c.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{string(done)}}); err != nil {
		t.Fatal(err)
	}
	b, err := s.Collect(ctx, time.Now().Add(-time.Minute), time.Now().Add(time.Second))
	if err != nil || len(b) != 1 || b[0].Span.InProgress {
		t.Errorf("completed segment: %v %+v", err, b)
	}
}

func FuzzParseSegment(f *testing.F) {
	for _, file := range corpus(f) {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		obs, err := ParseSegment(b)
		if err != nil {
			return
		}
		for _, o := range obs {
			if o.Span == nil || !o.Span.TraceID.IsValid() {
				t.Fatalf("invalid span from %q", b)
			}
		}
	})
}
