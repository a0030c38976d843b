package xray

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// TestSegmentExceptions: a segment document as the X-Ray SDKs write it (a
// Lambda function segment whose cause names a subsegment's exception by ID,
// and a subsegment with the exception, its stack and a truncated count)
// gives the subsegment's span an "exception" event.
func TestSegmentExceptions(t *testing.T) {
	t.Parallel()
	doc := `{"id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","name":"charge-card",
	"origin":"AWS::Lambda::Function","start_time":1478293361.271,"end_time":1478293361.449,"fault":true,
	"cause":"8c1f0a2d3b4e5f60",
	"subsegments":[{"id":"53995c3f42cd8ad8","name":"charge","start_time":1478293361.3,"end_time":1478293361.4,"fault":true,
	  "cause":{"working_directory":"/var/task","exceptions":[
	    {"id":"8c1f0a2d3b4e5f60","type":"CardDeclined","message":"no funds \u001b[31m","remote":true,"truncated":12,"cause":"0000000000000001",
	     "stack":[{"path":"app/pay.py","line":42,"label":"charge"},{"path":"app/handler.py","line":7,"label":"handler"}]},
	    {"type":"ValueError","message":"second"}]}}]}`
	obs, err := ParseSegment([]byte(doc))
	if err != nil || len(obs) != 2 {
		t.Fatalf("%v, %d spans", err, len(obs))
	}
	if n := len(obs[0].Span.Events); n != 0 {
		t.Errorf("the function segment (a cause ID, no exceptions) has %d events", n)
	}
	// Its cause names the subsegment's exception: the span's status says it.
	if got := obs[0].Span.StatusMessage; got != "CardDeclined no funds \x1b[31m" {
		t.Errorf("function segment status message %q", got)
	}
	evs := obs[1].Span.Events
	if len(evs) != 2 {
		t.Fatalf("subsegment events %+v", evs)
	}
	ex := evs[0]
	want := map[string]string{
		"exception.type": "CardDeclined", "exception.message": "no funds \x1b[31m", "exception.id": "8c1f0a2d3b4e5f60",
		"exception.cause": "0000000000000001", "exception.remote": "true", "exception.truncated": "12",
		"exception.stacktrace": "  at charge (app/pay.py:42)\n  at handler (app/handler.py:7)\n  ... 12 more",
	}
	for k, v := range want {
		if ex.Attrs[k] != v {
			t.Errorf("%s = %q, want %q", k, ex.Attrs[k], v)
		}
	}
	if ex.Name != "exception" || !ex.Time.Equal(obs[1].Span.End) {
		t.Errorf("event %q at %v (span ends %v)", ex.Name, ex.Time, obs[1].Span.End)
	}
	if evs[1].Attrs["exception.type"] != "ValueError" || evs[1].Attrs["exception.stacktrace"] != "" {
		t.Errorf("second %+v", evs[1])
	}
}

// TestSegmentExceptionsBounded: a cause with a hundred exceptions of deep
// stacks stays within the span-event limits.
func TestSegmentExceptionsBounded(t *testing.T) {
	t.Parallel()
	frame := `{"path":"` + strings.Repeat("p", 200) + `","line":1,"label":"f"}`
	ex := `{"type":"E","message":"m","stack":[` + strings.Repeat(frame+",", 40) + frame + `]}`
	doc := `{"id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","name":"x","start_time":1,"end_time":2,"error":true,
	"cause":{"exceptions":[` + strings.Repeat(ex+",", 99) + ex + `]}}`
	obs, err := ParseSegment([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	evs := obs[0].Span.Events
	total := 0
	for _, e := range evs {
		for k, v := range e.Attrs {
			total += len(k) + len(v)
		}
	}
	if len(evs) == 0 || len(evs) > 32 || total > 16<<10 {
		t.Errorf("%d events, %d bytes", len(evs), total)
	}
}

// TestCollectCountsExceptionCuts: a subsegment that recorded more exceptions
// than a span keeps, the first with a stack over the value limit, put
// through the SDK and read back by the collector: what the limits cut is
// the source's truncated count (as the OTLP collector counts what AddEvent
// cuts), counted once however often overlapping windows read the segment;
// X-Ray's own truncated and skipped counts stay on the exception; and the
// function segment, whose cause is the ID of that exception in another
// segment document, takes its type and message.
func TestCollectCountsExceptionCuts(t *testing.T) {
	t.Parallel()
	srv := sandbox.NewServer(sandbox.Options{Seed: 3})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := awsxray.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx := context.Background()
	now := float64(time.Now().Unix())
	traceID := fmt.Sprintf("1-%08x-%024x", int64(now), 77)

	const extra = 8 // exceptions past MaxSpanEvents
	var stack []map[string]any
	for i := range 120 { // about 7 KB of frames: over the 4 KB value limit
		stack = append(stack, map[string]any{"path": fmt.Sprintf("app/module_%03d/handler.py", i), "line": i + 1, "label": fmt.Sprintf("step_%03d", i)})
	}
	var excs []map[string]any
	for i := range tracing.MaxSpanEvents + extra {
		ex := map[string]any{"id": fmt.Sprintf("%016x", 0xe000+i), "type": "StepError", "message": fmt.Sprintf("step %d failed", i)}
		if i == 0 {
			ex["type"], ex["message"] = "CardDeclined", "no funds"
			ex["stack"], ex["truncated"], ex["skipped"] = stack, 40, 2
		}
		excs = append(excs, ex)
	}
	sub := map[string]any{
		"id": "53995c3f42cd8ad8", "trace_id": traceID, "parent_id": "70de5b6f19ff9a0a", "type": "subsegment",
		"name": "charge", "start_time": now - 5, "end_time": now - 4.5, "fault": true,
		"cause": map[string]any{"working_directory": "/var/task", "exceptions": excs},
	}
	fn := map[string]any{
		"id": "70de5b6f19ff9a0a", "trace_id": traceID, "name": "charge-card", "origin": "AWS::Lambda::Function",
		"start_time": now - 5, "end_time": now - 4, "fault": true, "cause": fmt.Sprintf("%016x", 0xe000),
	}
	var docs []string
	for _, d := range []map[string]any{fn, sub} {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	if _, err := c.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs}); err != nil {
		t.Fatal(err)
	}

	s := New(c, Config{})
	var b tracing.Batch
	for round := 0; round < 3; round++ { // overlapping windows read the trace again
		got, err := s.Collect(ctx, time.Now().Add(-time.Minute), time.Now().Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, got...)
	}
	if len(b) != 2 {
		t.Fatalf("%d spans, want the function segment and its subsegment once each", len(b))
	}
	// 8 exceptions dropped, and one stack cut to the value limit.
	if h := s.Health(); h.Truncated != extra+1 {
		t.Errorf("truncated %d, want %d", h.Truncated, extra+1)
	}
	var fnSpan, subSpan *tracing.Span
	for _, o := range b {
		switch o.Span.SpanID.String() {
		case "70de5b6f19ff9a0a":
			fnSpan = o.Span
		case "53995c3f42cd8ad8":
			subSpan = o.Span
		}
	}
	if fnSpan == nil || subSpan == nil {
		t.Fatalf("spans %+v", b)
	}
	if fnSpan.StatusMessage != "CardDeclined no funds" || len(fnSpan.Events) != 0 {
		t.Errorf("function segment: status %q, %d events", fnSpan.StatusMessage, len(fnSpan.Events))
	}
	if len(subSpan.Events) != tracing.MaxSpanEvents {
		t.Fatalf("%d events kept, want %d", len(subSpan.Events), tracing.MaxSpanEvents)
	}
	first := subSpan.Events[0].Attrs
	st := first["exception.stacktrace"]
	if len(st) > tracing.MaxSpanEventValue || !strings.HasPrefix(st, "  at step_000 (app/module_000/handler.py:1)\n") {
		t.Errorf("stack of %d bytes: %.80q", len(st), st)
	}
	if !strings.Contains(st, " more not kept\n  ... 40 more") {
		t.Errorf("stack does not say what was left out: %q", st[max(len(st)-80, 0):])
	}
	if first["exception.truncated"] != "40" || first["exception.skipped"] != "2" || first["exception.type"] != "CardDeclined" {
		t.Errorf("first exception %v", first)
	}
}

// TestStackTraceLimits: the stack text never passes the value limit, says
// what it left out, and counts one cut when it left out anything.
func TestStackTraceLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		labels   []string
		trunc    int
		want     string
		wantCut  int
		checkLen bool
		tail     string
	}{
		{name: "none", want: ""},
		{name: "only truncated", trunc: 3, want: "  ... 3 more"},
		{name: "fits", labels: []string{"f", "g"}, want: "  at f (a.py:1)\n  at g (a.py:1)"},
		{name: "one huge frame", labels: []string{strings.Repeat("é", 5000)}, wantCut: 1, checkLen: true},
		{name: "many frames", labels: slicesRepeat("h", 1000), trunc: 5, wantCut: 1, checkLen: true, tail: "more not kept\n  ... 5 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ex xrayException
			ex.Truncated = tt.trunc
			for _, l := range tt.labels {
				ex.Stack = append(ex.Stack, xrayFrame{Path: "a.py", Line: 1, Label: l})
			}
			got, cut := stackTrace(ex)
			if cut != tt.wantCut {
				t.Errorf("cut %d, want %d", cut, tt.wantCut)
			}
			if tt.checkLen {
				if len(got) > tracing.MaxSpanEventValue || !strings.HasPrefix(got, "  at ") || !utf8.ValidString(got) {
					t.Errorf("%d bytes: %.40q", len(got), got)
				}
				if !strings.HasSuffix(got, tt.tail) {
					t.Errorf("ends %q, want %q", got[max(len(got)-40, 0):], tt.tail)
				}
				return
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
