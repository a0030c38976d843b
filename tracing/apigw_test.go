package tracing

import (
	"errors"
	"testing"
	"time"
)

// Access log lines as stages write them: the console's JSON format (every
// value quoted), a format with unquoted numbers and the epoch time, an HTTP
// API's routeKey, a rejected request ("-" for what it lacks).
var accessLogSamples = []string{
	`{ "requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "ip": "192.0.2.10", "caller":"-", "user":"-","requestTime":"03/Dec/2026:13:58:02 +0000", "httpMethod":"GET","resourcePath":"/pets/{petId}", "status":"200","protocol":"HTTP/1.1", "responseLength":"48" }`,
	`{"requestId":"0f1e2d3c-aaaa-4bbb-8ccc-123456789abc","extendedRequestId":"Ab1CdEfGhIjKlM=","apiId":"k3x9q2m7wd","stage":"prod","httpMethod":"POST","resourcePath":"/orders","path":"/prod/orders","status":"201","requestTimeEpoch":1796306282123,"responseLatency":52,"integrationLatency":"47","xrayTraceId":"1-6930e0aa-0123456789abcdef01234567"}`,
	`{"requestId":"Hb2FejK2IAMEVxw=","routeKey":"POST /orders","status":502,"responseLatency":"31","integrationRequestId":"5a1c2b3d-1111-4222-8333-944455556666","integrationLatency":"29"}`,
	`{"requestId":"1a2b3c4d-0000-4000-8000-00000000aaaa","httpMethod":"POST","resourcePath":"/orders","status":"400","integrationLatency":"-","responseLatency":"3"}`,
}

func TestParseAPIAccessLog(t *testing.T) {
	at := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	tid, _ := ParseTraceID("1-6930e0aa-0123456789abcdef01234567")
	cases := []struct {
		name string
		line string
		want APIRequest
	}{
		{"console json", accessLogSamples[0], APIRequest{RequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", Method: "GET", Route: "/pets/{petId}", Status: 200, Start: time.Date(2026, 12, 3, 13, 58, 2, 0, time.UTC)}},
		{"epoch and latencies", accessLogSamples[1], APIRequest{
			RequestID: "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc", APIID: "k3x9q2m7wd", Stage: "prod", Method: "POST", Route: "/orders", Path: "/prod/orders",
			Status: 201, Start: time.UnixMilli(1796306282123).UTC(), Latency: 52 * time.Millisecond, IntegrationLatency: 47 * time.Millisecond, TraceID: tid,
		}},
		{"http api route key", accessLogSamples[2], APIRequest{
			RequestID: "Hb2FejK2IAMEVxw=", Method: "POST", Route: "/orders", Status: 502, Start: at, Latency: 31 * time.Millisecond,
			IntegrationLatency: 29 * time.Millisecond, Invocation: "5a1c2b3d-1111-4222-8333-944455556666",
		}},
		{"rejected", accessLogSamples[3], APIRequest{RequestID: "1a2b3c4d-0000-4000-8000-00000000aaaa", Method: "POST", Route: "/orders", Status: 400, Start: at, Latency: 3 * time.Millisecond}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseAPIAccessLog(c.line, at)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
			// Round trip through the observation the collectors send.
			o := got.Observation("cwlogs")
			back, ok := APIRequestOf(o.Span)
			if !ok || back.RequestID != got.RequestID || back.Method != got.Method || back.Route != got.Route || back.Status != got.Status ||
				back.Latency != got.Latency.Truncate(0) || back.Invocation != got.Invocation {
				t.Errorf("round trip: %+v, want %+v", back, got)
			}
			if o.Component.Kind != ComponentAPI || o.Keys[0] != (Key{Kind: KeyAPIRequest, Value: got.RequestID}) {
				t.Errorf("observation %v %v", o.Component, o.Keys)
			}
			if got.Invocation != "" && (len(o.Relations) != 1 || o.Relations[0].Kind != RelConsumed) {
				t.Errorf("relations %v: want the integration's request consuming the API request", o.Relations)
			}
		})
	}
	for _, line := range []string{
		``, `not json`, `{"level":"INFO","message":"hello"}`, `{"requestId":"x"}`, `[1,2]`, `{"requestId":`,
		`START RequestId: 8f1e2d3c-aaaa-4bbb-8ccc-123456789abc Version: $LATEST`,
	} {
		if _, err := ParseAPIAccessLog(line, at); !errors.Is(err, ErrNotAccessLog) {
			t.Errorf("%q: %v, want ErrNotAccessLog", line, err)
		}
	}
}

// TestLambdaLogsAPIRequest: a function that logs its proxy event names the
// API request (requestContext.requestId) besides its own request ID.
func TestLambdaLogsAPIRequest(t *testing.T) {
	line := "2026-12-03T14:00:00.123Z\t9d1e2f3a-0000-4000-8000-0000000000aa\tINFO\t" +
		`{"msg":"request received","httpMethod":"POST","requestContext":{"requestId":"0f1e2d3c-aaaa-4bbb-8ccc-123456789abc","apiId":"k3x9q2m7wd","stage":"prod"}}`
	o := ParseLambdaLog(LogInput{Group: "/aws/lambda/orders-api", Message: line}, LogOptions{})
	want := map[Key]bool{
		{Kind: KeyRequestID, Value: "9d1e2f3a-0000-4000-8000-0000000000aa"}:  true,
		{Kind: KeyAPIRequest, Value: "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc"}: true,
	}
	for _, k := range o.Keys {
		delete(want, k)
	}
	if len(want) > 0 || o.Log.RequestID != "9d1e2f3a-0000-4000-8000-0000000000aa" {
		t.Errorf("keys %v, request %q: missing %v", o.Keys, o.Log.RequestID, want)
	}
	// A requestContext without an apiId is no API Gateway event.
	o = ParseLambdaLog(LogInput{Group: "/aws/lambda/x", Message: `{"level":"INFO","requestContext":{"requestId":"abc"}}`}, LogOptions{})
	for _, k := range o.Keys {
		if k.Kind == KeyAPIRequest {
			t.Errorf("keys %v: an API request without an API", o.Keys)
		}
	}
}

func FuzzParseAPIAccessLog(f *testing.F) {
	for _, s := range accessLogSamples {
		f.Add(s)
	}
	f.Add(`{"requestId":"r","status":"99999999999999999999","responseLatency":"1e308","requestTimeEpoch":"-5"}`)
	f.Add(`{"requestId":"r","routeKey":" ","httpMethod":"get","requestTime":"99/Zzz/0000:99:99:99 +9999"}`)
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) > 1<<16 {
			return
		}
		r, err := ParseAPIAccessLog(line, time.Unix(0, 0))
		if err != nil {
			return
		}
		if r.RequestID == "" || r.Latency < 0 || r.IntegrationLatency < 0 {
			t.Fatalf("accepted %+v", r)
		}
		o := r.Observation("cwlogs")
		back, ok := APIRequestOf(o.Span)
		if !ok || back.RequestID != r.RequestID || back.Status != r.Status || back.Method != r.Method {
			t.Fatalf("round trip %+v → %+v", r, back)
		}
	})
}
