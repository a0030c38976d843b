package tracing

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// TestParseReportLines: REPORT and platform.report samples, from the corpus
// (lambda-logs/, pricing/PRICING-NOTES.md's quoted lines) and the Lambda docs'
// documented shapes, with the fields each must give.
func TestParseReportLines(t *testing.T) {
	t.Parallel()
	type want struct {
		req                               string
		dur, billed, init, restore, brest time.Duration
		mem, maxMem                       int
		status                            InvocationStatus
		errType                           string
		trace                             string
	}
	tests := []struct {
		name, line string
		want       want
	}{
		{
			"ddsf tabs + xray line", "REPORT RequestId: f08bb4c8-d6b2-4f05-ac17-af7e2ba005fb\tDuration: 619.31 ms\tBilled Duration: 700 ms\tMemory Size: 128 MB\tMax Memory Used: 118 MB\t\nXRAY TraceId: 1-5e61292c-cc1229a4dfbeae1043928548\tSegmentId: 07a85e713f6302b2\tSampled: true\t\n",
			want{req: "f08bb4c8-d6b2-4f05-ac17-af7e2ba005fb", dur: ms(619.31), billed: ms(700), mem: 128, maxMem: 118, status: InvocationSuccess, trace: "5e61292ccc1229a4dfbeae1043928548"},
		},
		{
			"ddsf timeout cold", "REPORT RequestId: 7c9567b5-107b-4a6c-8798-0157ac21db52\tDuration: 3003.16 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 48 MB\tInit Duration: 127.02 ms\t\n",
			want{req: "7c9567b5-107b-4a6c-8798-0157ac21db52", dur: ms(3003.16), billed: ms(3000), init: ms(127.02), mem: 128, maxMem: 48, status: InvocationSuccess},
		},
		{
			"ddsf 100ms era", "REPORT RequestId: db275f87-a934-471a-8980-b63bf4dc1beb\tDuration: 1.76 ms\tBilled Duration: 100 ms\tMemory Size: 128 MB\tMax Memory Used: 48 MB\tInit Duration: 120.96 ms\t\n",
			want{req: "db275f87-a934-471a-8980-b63bf4dc1beb", dur: ms(1.76), billed: ms(100), init: ms(120.96), mem: 128, maxMem: 48, status: InvocationSuccess},
		},
		{
			"localstack warm", "REPORT RequestId: 3ab1a5a6-b1ba-4c57-8d29-16cc4e0ab1b0\tDuration: 2.90 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\t\n",
			want{req: "3ab1a5a6-b1ba-4c57-8d29-16cc4e0ab1b0", dur: ms(2.90), billed: ms(3), mem: 128, maxMem: 36, status: InvocationSuccess},
		},
		{
			"localstack cold", "REPORT RequestId: 3ab1a5a6-b1ba-4c57-8d29-16cc4e0ab1b1\tDuration: 3.01 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\tInit Duration: 110.10 ms\t\n",
			want{req: "3ab1a5a6-b1ba-4c57-8d29-16cc4e0ab1b1", dur: ms(3.01), billed: ms(4), init: ms(110.10), mem: 128, maxMem: 36, status: InvocationSuccess},
		},
		{
			"spaces not tabs", "REPORT RequestId: 11111111-2222-3333-4444-555555555555 Duration: 26.73 ms Billed Duration: 27 ms Memory Size: 256 MB Max Memory Used: 70 MB",
			want{req: "11111111-2222-3333-4444-555555555555", dur: ms(26.73), billed: ms(27), mem: 256, maxMem: 70, status: InvocationSuccess},
		},
		{
			"otel-lambda init billed (2025)", "REPORT RequestId: 22222222-2222-3333-4444-555555555555\tDuration: 395.99 ms\tBilled Duration: 662 ms\tMemory Size: 128 MB\tMax Memory Used: 88 MB\tInit Duration: 265.72 ms",
			want{req: "22222222-2222-3333-4444-555555555555", dur: ms(395.99), billed: ms(662), init: ms(265.72), mem: 128, maxMem: 88, status: InvocationSuccess},
		},
		{
			"timeout status", "REPORT RequestId: 33333333-2222-3333-4444-555555555555\tDuration: 300000.00 ms\tBilled Duration: 300524 ms\tMemory Size: 1024 MB\tMax Memory Used: 200 MB\tInit Duration: 523.99 ms\tStatus: timeout",
			want{req: "33333333-2222-3333-4444-555555555555", dur: ms(300000), billed: ms(300524), init: ms(523.99), mem: 1024, maxMem: 200, status: InvocationTimeout},
		},
		{
			"error status and type", "REPORT RequestId: 44444444-2222-3333-4444-555555555555\tDuration: 12.00 ms\tBilled Duration: 12 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\tStatus: error\tError Type: Runtime.ExitError",
			want{req: "44444444-2222-3333-4444-555555555555", dur: ms(12), billed: ms(12), mem: 512, maxMem: 90, status: InvocationError, errType: "Runtime.ExitError"},
		},
		{
			"snapstart restore", "REPORT RequestId: 55555555-2222-3333-4444-555555555555\tDuration: 306.34 ms\tBilled Duration: 610 ms\tMemory Size: 1024 MB\tMax Memory Used: 150 MB\tRestore Duration: 511.25 ms\tBilled Restore Duration: 303 ms",
			want{req: "55555555-2222-3333-4444-555555555555", dur: ms(306.34), billed: ms(610), restore: ms(511.25), brest: ms(303), mem: 1024, maxMem: 150, status: InvocationSuccess},
		},
		{
			"awsdocs 2019", "REPORT RequestId: 66666666-2222-3333-4444-555555555555\tDuration: 128.83 ms\tBilled Duration: 200 ms\tMemory Size: 128 MB\tMax Memory Used: 74 MB\tInit Duration: 166.62 ms",
			want{req: "66666666-2222-3333-4444-555555555555", dur: ms(128.83), billed: ms(200), init: ms(166.62), mem: 128, maxMem: 74, status: InvocationSuccess},
		},
		{
			"xray inline", "REPORT RequestId: 77777777-2222-3333-4444-555555555555 Duration: 5.00 ms Billed Duration: 5 ms Memory Size: 128 MB Max Memory Used: 40 MB XRAY TraceId: 1-5759e988-bd862e3fe1be46a994272793 SegmentId: 53995c3f42cd8ad8 Sampled: true",
			want{req: "77777777-2222-3333-4444-555555555555", dur: ms(5), billed: ms(5), mem: 128, maxMem: 40, status: InvocationSuccess, trace: "5759e988bd862e3fe1be46a994272793"},
		},
		{
			"json platform.report (awsdocs telemetry)", `{"time":"2022-10-12T00:01:15.000Z","type":"platform.report","record":{"requestId":"6f7f0961f83442118a7af6fe80b88d56","metrics":{"durationMs":101.51,"billedDurationMs":300,"memorySizeMB":512,"maxMemoryUsedMB":33,"initDurationMs":116.67}}}`,
			want{req: "6f7f0961f83442118a7af6fe80b88d56", dur: ms(101.51), billed: ms(300), init: ms(116.67), mem: 512, maxMem: 33, status: InvocationSuccess},
		},
		{
			"json report 2026 init billed", `{"time":"2026-01-01T00:00:00.000Z","type":"platform.report","record":{"requestId":"88888888-2222-3333-4444-555555555555","metrics":{"durationMs":1233.96,"billedDurationMs":1698,"memorySizeMB":"256","maxMemoryUsedMB":99,"initDurationMs":463.512},"status":"success","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1","spanId":"53995c3f42cd8ad8"}}}`,
			want{req: "88888888-2222-3333-4444-555555555555", dur: ms(1233.96), billed: ms(1698), init: 463512 * time.Microsecond, mem: 256, maxMem: 99, status: InvocationSuccess, trace: "5759e988bd862e3fe1be46a994272793"},
		},
		{
			"json report timeout", `{"time":"2026-01-01T00:00:00.000Z","type":"platform.report","record":{"requestId":"99999999-2222-3333-4444-555555555555","metrics":{"durationMs":3000.5,"billedDurationMs":3001,"memorySizeMB":128,"maxMemoryUsedMB":60},"status":"timeout","errorType":"Sandbox.Timedout"}}`,
			want{req: "99999999-2222-3333-4444-555555555555", dur: ms(3000.5), billed: ms(3001), mem: 128, maxMem: 60, status: InvocationTimeout, errType: "Sandbox.Timedout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := ParseLambdaLog(LogInput{Group: "/aws/lambda/orders", Message: tt.line}, LogOptions{})
			if o.Kind != ObsInvocation || o.Invocation == nil || o.Log == nil {
				t.Fatalf("kind %v, invocation %v, reason %q", o.Kind, o.Invocation, o.Log.Reason)
			}
			inv, w := o.Invocation, tt.want
			got := want{inv.RequestID, inv.Duration, inv.BilledDuration, inv.InitDuration, inv.RestoreDuration, inv.BilledRestoreDuration, inv.MemorySizeMB, inv.MaxMemoryUsedMB, inv.Status, inv.ErrorType, ""}
			if inv.TraceID.IsValid() {
				got.trace = inv.TraceID.String()
			}
			if got != w {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
			if inv.Function != "orders" || o.Component.Name != "orders" {
				t.Errorf("function %q", inv.Function)
			}
			if o.Log.Reason != "" {
				t.Errorf("reason %q", o.Log.Reason)
			}
			if w.trace != "" && len(o.Relations) != 1 {
				t.Errorf("relations %+v: want trace contains request", o.Relations)
			}
		})
	}
}

func TestParseOtherLines(t *testing.T) {
	t.Parallel()
	req := "7c9567b5-107b-4a6c-8798-0157ac21db52"
	tests := []struct {
		name, line string
		kind       LogKind
		req, level string
		keys       string
	}{
		{"start", "START RequestId: " + req + " Version: $LATEST", LogStart, req, "", "request:" + req},
		{"end", "END RequestId: " + req, LogEnd, req, "", "request:" + req},
		{"init start", "INIT_START Runtime Version: python:3.10.v11\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:abc", LogInitStart, "", "", ""},
		{"init report error", "INIT_REPORT Init Duration: 10002.46 ms\tPhase: init\tStatus: timeout", LogInitReport, "", "ERROR", ""},
		{"restore", "RESTORE_START Runtime Version: java:11.v15\tRuntime Version ARN: arn", LogRestore, "", "", ""},
		{"xray line", "XRAY TraceId: 1-5e61292c-cc1229a4dfbeae1043928548\tSegmentId: 07a85e713f6302b2\tSampled: true", LogXRay, "", "", "trace:5e61292ccc1229a4dfbeae1043928548"},
		{"node app", "2026-01-01T00:00:00.000Z\t" + req + "\tERROR\tcard declined", LogApp, req, "ERROR", "request:" + req},
		{"python app", "[INFO]\t2026-01-01T00:00:00.000Z\t" + req + "\tcharging card", LogApp, req, "INFO", "request:" + req},
		{"timeout", "2026-01-01T00:00:03.000Z " + req + " Task timed out after 3.00 seconds", LogTimeout, req, "ERROR", "request:" + req},
		{"plain", "hello from a Go handler", LogApp, "", "", ""},
		{
			"powertools", `{"level":"INFO","location":"handler:12","message":{"messageId":"m-1","order_id":"o-9"},"timestamp":"2026-01-01 00:00:00,000+0000","service":"payment","cold_start":true,"function_name":"charge","function_memory_size":"128","function_arn":"arn","function_request_id":"` + req + `","correlation_id":"c-1","xray_trace_id":"1-5e61292c-cc1229a4dfbeae1043928548"}`,
			LogApp, req, "INFO", "correlation:correlation_id=c-1 message:m-1 correlation:order_id=o-9 request:" + req + " trace:5e61292ccc1229a4dfbeae1043928548",
		},
		{"json message string", `{"level":"error","message":"{\"messageId\":\"m-2\"}","requestId":"` + req + `"}`, LogApp, req, "ERROR", "message:m-2 request:" + req},
		{"producer", `{"level":"INFO","message":"order placed","requestId":"` + req + `","published_event_id":"ev-9","eventId":"ev-8"}`, LogApp, req, "INFO", "event:ev-8 request:" + req},
		{"unknown platform", `{"time":"2026-01-01T00:00:00Z","type":"platform.somethingNew","record":{"x":1}}`, LogPlatform, "", "", ""},
		{"runtimeDone", `{"time":"2026-01-01T00:00:00Z","type":"platform.runtimeDone","record":{"requestId":"` + req + `","status":"error"}}`, LogEnd, req, "ERROR", "request:" + req},
		{"broken json", `{"level":`, LogUnparsed, "", "", ""},
		{"report without id", "REPORT Duration: 1 ms", LogUnparsed, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := ParseLambdaLog(LogInput{Group: "/aws/lambda/charge", Message: tt.line, Time: time.Unix(1, 0)}, LogOptions{CorrelationFields: []string{"order_id"}})
			if o.Log.Kind != tt.kind || o.Log.RequestID != tt.req || o.Log.Level != tt.level {
				t.Errorf("kind %v req %q level %q (reason %q); want %v %q %q", o.Log.Kind, o.Log.RequestID, o.Log.Level, o.Log.Reason, tt.kind, tt.req, tt.level)
			}
			if got := keyValues(o.Keys); got != tt.keys {
				t.Errorf("keys %q, want %q", got, tt.keys)
			}
			if tt.kind == LogUnparsed && o.Log.Reason == "" {
				t.Error("unparsed without a reason")
			}
			if o.Log.Message != tt.line {
				t.Error("the raw line must be kept")
			}
			if tt.name == "producer" && (len(o.Relations) != 1 || o.Relations[0].Kind != RelPublished || o.Relations[0].To.Value != "ev-9") {
				t.Errorf("producer relations: %+v", o.Relations)
			}
		})
	}
}

// TestLambdaLogCorpus parses every log message found in the corpus's Lambda log
// files: REPORT lines must yield invocations, nothing may panic or vanish.
func TestLambdaLogCorpus(t *testing.T) {
	t.Parallel()
	reports := 0
	for _, f := range corpusFiles(t, "lambda-logs", ".json", ".txt") {
		for _, line := range corpusLogLines(t, f) {
			o := ParseLambdaLog(LogInput{Group: "/aws/lambda/x", Message: line}, LogOptions{})
			if o.Log == nil || o.Log.Message != line {
				t.Fatalf("%s: line lost", f)
			}
			if strings.HasPrefix(strings.TrimSpace(line), "REPORT RequestId: ") && !strings.Contains(line, "<") {
				if o.Invocation == nil || o.Invocation.Duration <= 0 {
					t.Errorf("%s: REPORT without an invocation: %q (%s)", f, line, o.Log.Reason)
				}
				reports++
			}
		}
	}
	if reports < 3 {
		t.Errorf("found only %d REPORT lines in the corpus", reports)
	}
}

// corpusLogLines pulls log messages out of a corpus file: "message" string
// fields of JSON documents (CloudWatch snapshots and subscription payloads),
// else the file itself as one JSON log line.
func corpusLogLines(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if s, ok := val.(string); ok && (k == "message" || k == "Message") {
					lines = append(lines, s)
				}
				walk(val)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var doc any
	if json.Unmarshal(b, &doc) == nil {
		walk(doc)
		if strings.Contains(string(b), `"type"`) && strings.Contains(string(b), `"record"`) {
			lines = append(lines, string(b))
		}
	} else {
		lines = append(lines, regexp.MustCompile(`\r?\n`).Split(string(b), -1)...)
	}
	return lines
}

func TestParseMillis(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"619.31": 619310 * time.Microsecond, "3000": 3 * time.Second, "0.001": time.Microsecond,
		"463.512": 463512 * time.Microsecond, "1.4e3": 1400 * time.Millisecond, ".5": 500 * time.Microsecond,
	} {
		if got, ok := parseMillis(in); !ok || got != want {
			t.Errorf("parseMillis(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "abc", "1.2.3", "-5", "1e400"} {
		if _, ok := parseMillis(bad); ok {
			t.Errorf("parseMillis(%q) accepted", bad)
		}
	}
}

func FuzzParseLambdaLog(f *testing.F) {
	for _, file := range corpusFiles(f, "lambda-logs", ".json", ".txt") {
		b, err := os.ReadFile(file)
		if err == nil && len(b) < 64<<10 {
			f.Add(string(b))
		}
	}
	f.Add("REPORT RequestId: 7c9567b5-107b-4a6c-8798-0157ac21db52\tDuration: 3003.16 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 48 MB\tInit Duration: 127.02 ms\t\n")
	f.Add(`{"time":"2022-10-12T00:01:15.000Z","type":"platform.report","record":{"requestId":"6f","metrics":{"durationMs":101.51}}}`)
	f.Add(`{"level":"INFO","message":"charging card","function_request_id":"8f5d3a70","messageId":"m-9","event_id":"e-1","replay_name":"fix-1"}`)
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) > 64<<10 {
			return
		}
		o := ParseLambdaLog(LogInput{Group: "/aws/lambda/f", Message: line}, LogOptions{CorrelationFields: []string{"order_id"}})
		if o.Log == nil || o.Log.Message != line {
			t.Fatal("line not kept")
		}
		if o.Log.Kind == LogUnparsed && o.Log.Reason == "" {
			t.Fatal("unparsed without a reason")
		}
		if (o.Kind == ObsInvocation) != (o.Invocation != nil) {
			t.Fatalf("kind %v with invocation %v", o.Kind, o.Invocation)
		}
		if o.Invocation != nil && (o.Invocation.Duration < 0 || o.Invocation.RequestID == "") {
			t.Fatalf("bad invocation %+v", o.Invocation)
		}
	})
}

// TestParseEventFields: the IDs an app line names, and their direction, from
// the field names Powertools users and the ground truth use.
func TestParseEventFields(t *testing.T) {
	t.Parallel()
	const req = "8f5d3a70-0b5e-4a8e-9d61-2f3c1b0e4a11"
	rel := func(k Key) Relation {
		return Relation{From: Key{Kind: KeyRequestID, Value: req}, To: k, Kind: RelPublished, Evidence: publishedEvidence[k.Kind]}
	}
	ceRel := func(k Key) Relation {
		return Relation{From: Key{Kind: KeyRequestID, Value: req}, To: k, Kind: RelPublished, Evidence: "published_event_id of a CloudEvent in the producer's log"}
	}
	tests := []struct {
		name   string
		fields string
		keys   []Key
		rels   []Relation
		typ    string
	}{
		{
			"consumer: message and event id", `"messageId":"m-1","event_id":"e-1"`,
			[]Key{{KeyMessageID, "m-1"}, {KeyEventID, "e-1"}},
			nil, "",
		},
		{
			"consumer: an archive replay of an event", `"messageId":"m-9","event_id":"e-1","replay_name":"fix-1"`,
			[]Key{{KeyMessageID, "m-9"}, {KeyEventID, ReplayEventID("e-1", "fix-1")}},
			[]Relation{{From: Key{KeyEventID, ReplayEventID("e-1", "fix-1")}, To: Key{KeyEventID, "e-1"}, Kind: RelReplayOf, Evidence: "replay_name in the consumer's log"}},
			"",
		},
		{
			"consumer: CloudEvents id with its source", `"ce_id":"c-1","ce_source":"/orders"`,
			[]Key{CloudEventKey("/orders", "c-1")},
			nil, "",
		},
		{
			"consumer: ce-id without a source", `"ce-id":"c-2","ce_type":"com.example.placed"`,
			[]Key{CloudEventKey("", "c-2")},
			nil, "com.example.placed",
		},
		{
			"consumer: configured CloudEvents field", `"cloudevent":{"id":"c-3"}`,
			[]Key{CloudEventKey("", "c-3")},
			nil, "",
		},
		{
			"producer: published_message_id is no consumption", `"published_message_id":"m-2"`,
			nil,
			[]Relation{rel(Key{KeyMessageID, "m-2"})},
			"",
		},
		{
			"producer: published_event_id and its type", `"published_event_id":"e-2","detail_type":"OrderPlaced"`,
			nil,
			[]Relation{rel(Key{KeyEventID, "e-2"})},
			"OrderPlaced",
		},
		{
			// The sandbox's orders-api, publishing a CloudEvent to SNS.
			"producer: published_event_id of a CloudEvent (ce_type)", `"published_event_id":"c-4","ce_type":"com.example.order.placed"`,
			nil,
			[]Relation{ceRel(CloudEventKey("", "c-4"))},
			"com.example.order.placed",
		},
		{
			"producer: published_event_id of a CloudEvent with its source", `"published_event_id":"c-5","ce_source":"/orders","ce_specversion":"1.0"`,
			nil,
			[]Relation{ceRel(CloudEventKey("/orders", "c-5"))},
			"",
		},
		{
			"producer: published_event_id of a CloudEvent named by published_ce_id too", `"published_event_id":"c-6","published_ce_id":"c-6","ce_type":"t"`,
			nil,
			[]Relation{ceRel(CloudEventKey("", "c-6"))},
			"t",
		},
		{
			// An EventBridge event whose detail is a CloudEvent: the
			// published id is the EventBridge event's.
			"producer: an EventBridge event carrying a CloudEvent", `"published_event_id":"e-7","published_ce_id":"c-7","ce_type":"t"`,
			nil,
			[]Relation{rel(Key{KeyEventID, "e-7"}), rel(CloudEventKey("", "c-7"))},
			"t",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			line := `{"level":"INFO","message":"x","function_request_id":"` + req + `",` + tt.fields + `}`
			o := ParseLambdaLog(LogInput{Group: "/aws/lambda/f", Message: line}, LogOptions{CloudEventIDFields: []string{"cloudevent.id"}})
			var keys []Key
			for _, k := range o.Keys {
				if k.Kind != KeyRequestID {
					keys = append(keys, k)
				}
			}
			if !slicesEqual(keys, tt.keys) {
				t.Errorf("keys %v, want %v", keys, tt.keys)
			}
			if !slicesEqual(o.Relations, tt.rels) {
				t.Errorf("relations %v, want %v", o.Relations, tt.rels)
			}
			if o.Log.EventType != tt.typ {
				t.Errorf("type %q, want %q", o.Log.EventType, tt.typ)
			}
		})
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
