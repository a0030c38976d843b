package xray

import (
	"strings"
	"testing"
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
	evs := obs[1].Span.Events
	if len(evs) != 2 {
		t.Fatalf("subsegment events %+v", evs)
	}
	ex := evs[0]
	want := map[string]string{
		"exception.type": "CardDeclined", "exception.message": "no funds \x1b[31m", "exception.id": "8c1f0a2d3b4e5f60",
		"exception.cause": "0000000000000001", "exception.remote": "true",
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
