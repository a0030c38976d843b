package xray

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/oam"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/smithy-go/logging"

	"github.com/flowtop/flowtop/collectors/linked"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

func TestSegmentAccount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, doc, want string }{
		{"lambda function segment", `{"aws":{"account_id":"111111111111","function_arn":"arn:aws:lambda:us-east-1:222222222222:function:f"}}`, "111111111111"},
		{"function arn only", `{"aws":{"function_arn":"arn:aws:lambda:us-east-1:222222222222:function:f"}}`, "222222222222"},
		{"lambda service segment", `{"resource_arn":"arn:aws:lambda:us-west-2:123456789012:function:random-name","aws":{"request_id":"r"}}`, "123456789012"},
		{"account id of the wrong type", `{"aws":{"account_id":111111111111},"resource_arn":"arn:aws:lambda:us-east-1:333333333333:function:f"}`, "333333333333"},
		{"not an account", `{"aws":{"account_id":"me"}}`, ""},
		{"says nothing", `{"name":"svc"}`, ""},
		{"not json", `{`, ""},
	} {
		if got := SegmentAccount([]byte(tc.doc)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestLinkedTraces: in a monitoring account, a trace that crossed two linked
// accounts comes back with both accounts' segments, each span stamped with
// the account its document names; a source account sees its own segment only.
func TestLinkedTraces(t *testing.T) {
	t.Parallel()
	srv := sandbox.NewServer(sandbox.Options{Seed: 7})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.LinkSourceAccount("111111111111", "orders-prod")
	srv.LinkSourceAccount("222222222222", "shipping-prod")
	cfg := func(key string) aws.Config {
		return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Logger: logging.Nop{}, Credentials: credentials.NewStaticCredentialsProvider(key, "test", "")}
	}
	sec := time.Now().Unix() - 30
	trace := fmt.Sprintf("1-%08x-%024x", sec, 0x5e)
	put := func(account, id, name string, annots map[string]any) {
		doc, _ := json.Marshal(map[string]any{
			"id": id, "trace_id": trace, "name": name, "origin": "AWS::Lambda::Function",
			"start_time": float64(sec), "end_time": float64(sec) + 0.01, "annotations": annots,
			"aws":         map[string]any{"account_id": account, "function_arn": "arn:aws:lambda:us-east-1:" + account + ":function:" + name},
			"subsegments": []any{map[string]any{"id": id[:15] + "f", "name": "work", "start_time": float64(sec), "end_time": float64(sec) + 0.005}},
		})
		if _, err := awsxray.NewFromConfig(cfg(account)).PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{string(doc)}}); err != nil {
			t.Fatal(err)
		}
	}
	put("111111111111", "1a0000000000001a", "orders-api", nil)
	put("222222222222", "2b0000000000002b", "ship-order", map[string]any{"event_id": "ev-5e"})
	stamped := func(b tracing.Batch) []string {
		var out []string
		for _, o := range b {
			out = append(out, o.Component.Account+" "+o.Span.Name)
		}
		sort.Strings(out)
		return out
	}
	ctx := context.Background()
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Minute)
	mon := cfg("test")
	det := linked.New(oam.NewFromConfig(mon), linked.Config{})

	src := New(awsxray.NewFromConfig(mon), Config{Linked: det})
	b, err := src.Collect(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"111111111111 orders-api", "111111111111 work", "222222222222 ship-order", "222222222222 work"}
	if got := stamped(b); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("monitoring account collected %q, want %q", got, want)
	}

	// The annotation is in account B's segment; the trace ID brings A's too.
	srch := NewSearcher(awsxray.NewFromConfig(mon), SearchConfig{Linked: det})
	b, err = srch.Search(ctx, []tracing.Key{{Kind: tracing.KeyEventID, Value: "ev-5e"}, {Kind: tracing.KeyTraceID, Value: trace}}, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if got := stamped(b); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("monitoring account searched %q, want %q", got, want)
	}

	// A source account sees its own segments only, and is watched alone: no stamps.
	own := cfg("111111111111")
	src = New(awsxray.NewFromConfig(own), Config{Linked: linked.New(oam.NewFromConfig(own), linked.Config{})})
	b, err = src.Collect(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if got := stamped(b); fmt.Sprint(got) != fmt.Sprint([]string{" orders-api", " work"}) {
		t.Errorf("source account collected %q", got)
	}
}

func FuzzSegmentAccount(f *testing.F) {
	for _, p := range corpus(f) {
		if doc, err := os.ReadFile(p); err == nil {
			f.Add(doc)
		}
	}
	f.Add([]byte(`{"aws":{"account_id":"111111111111"}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(doc) > 1<<16 {
			return
		}
		if a := SegmentAccount(doc); a != "" && !linked.ValidAccount(a) {
			t.Fatalf("account %q is not a 12-digit ID", a)
		}
	})
}

// TestLinkedTraceBound: a poll in a monitoring account reads at most
// LinkedMaxTraces traces and counts the rest; a single account reads all.
func TestLinkedTraceBound(t *testing.T) {
	t.Parallel()
	srv := sandbox.NewServer(sandbox.Options{Seed: 8})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.LinkSourceAccount("222222222222", "shipping-prod")
	cfg := func(key string) aws.Config {
		return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Logger: logging.Nop{}, Credentials: credentials.NewStaticCredentialsProvider(key, "test", "")}
	}
	sec := time.Now().Unix() - 30
	var docs []string
	for i := range 8 {
		docs = append(docs, fmt.Sprintf(`{"id":"%016x","trace_id":"1-%08x-%024x","name":"ship-order","start_time":%d,"end_time":%d,"aws":{"account_id":"222222222222"}}`, i+1, sec, i+1, sec, sec+1))
	}
	if _, err := awsxray.NewFromConfig(cfg("222222222222")).PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs}); err != nil {
		t.Fatal(err)
	}
	traces := func(b tracing.Batch) int {
		ids := map[tracing.TraceID]bool{}
		for _, o := range b {
			ids[o.Span.TraceID] = true
		}
		return len(ids)
	}
	ctx := context.Background()
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Minute)
	for _, tc := range []struct {
		name, key     string
		read, notRead int
	}{
		{"monitoring account", "test", 3, 5},
		{"single account", "222222222222", 8, 0},
	} {
		c := cfg(tc.key)
		src := New(awsxray.NewFromConfig(c), Config{Linked: linked.New(oam.NewFromConfig(c), linked.Config{}), LinkedMaxTraces: 3})
		b, err := src.Collect(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := src.LinkedCut()
		if traces(b) != tc.read || int(n) != tc.notRead {
			t.Errorf("%s: read %d traces, %d counted unread; want %d and %d", tc.name, traces(b), n, tc.read, tc.notRead)
		}
		if tc.notRead > 0 && !strings.Contains(src.Health().Mode, fmt.Sprintf("%d linked traces not read", tc.notRead)) {
			t.Errorf("%s: mode %q does not say what was left", tc.name, src.Health().Mode)
		}
	}
}
