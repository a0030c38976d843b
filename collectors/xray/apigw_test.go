package xray

import (
	"testing"

	"github.com/flowtop/flowtop/tracing"
)

// The stage segment as API Gateway writes it (the developer guide's
// example, with its origin and the Lambda integration subsegment), and the
// function's segment under it.
const (
	stageDoc = `{"id":"a1b2c3d4a1b2c3d4","trace_id":"1-5b6d8e2a-0123456789abcdef01234567","name":"testxray/dev","origin":"AWS::ApiGateway::Stage",
"start_time":1533928226.229,"end_time":1533928226.614,
"metadata":{"default":{"extended_request_id":"abcde12345abcde=","request_id":"a1b2c3d4-a1b2-a1b2-a1b2-a1b2c3d4e5f6"}},
"http":{"request":{"url":"https://example.com/dev/pets?username=demo","method":"GET","client_ip":"192.0.2.0","x_forwarded_for":true},"response":{"status":502,"content_length":0}},
"aws":{"xray":{"sampling_rule_name":"Default"},"api_gateway":{"account_id":"123412341234","rest_api_id":"a1b2c3d4e5","stage":"dev","request_id":"a1b2c3d4-a1b2-a1b2-a1b2-a1b2c3d4e5f6"}},
"annotations":{"aws:api_id":"a1b2c3d4e5","aws:api_stage":"dev"},"fault":true,
"subsegments":[{"id":"b2c3d4a1b2c3d4a1","name":"Lambda","namespace":"aws","start_time":1533928226.230,"end_time":1533928226.600,
 "http":{"request":{"url":"https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn:aws:lambda:us-east-1:123412341234:function:pets/invocations","method":"POST"},"response":{"status":200}},
 "aws":{"function_name":"pets","region":"us-east-1","operation":"Invoke"}}]}`
	fnDoc = `{"id":"c3d4a1b2c3d4a1b2","trace_id":"1-5b6d8e2a-0123456789abcdef01234567","parent_id":"b2c3d4a1b2c3d4a1","name":"pets","origin":"AWS::Lambda::Function",
"start_time":1533928226.231,"end_time":1533928226.590,"aws":{"request_id":"9e8d7c6b-0000-4000-8000-000000000001"},"fault":true}`
)

func TestAPIStageSegment(t *testing.T) {
	stage, err := ParseSegment([]byte(stageDoc))
	if err != nil {
		t.Fatal(err)
	}
	fn, err := ParseSegment([]byte(fnDoc))
	if err != nil {
		t.Fatal(err)
	}
	if len(stage) != 2 {
		t.Fatalf("%d observations, want the stage and its subsegment", len(stage))
	}
	o := stage[0]
	r, ok := tracing.APIRequestOf(o.Span)
	if !ok {
		t.Fatalf("the stage segment is no API request: %+v", o.Span.Attrs)
	}
	if o.Component != (tracing.Component{Kind: tracing.ComponentAPI, Name: "testxray/dev"}) || r.Name != "testxray" || r.APIID != "a1b2c3d4e5" || r.Stage != "dev" {
		t.Errorf("component %v, request %+v", o.Component, r)
	}
	if r.RequestID != "a1b2c3d4-a1b2-a1b2-a1b2-a1b2c3d4e5f6" || r.Method != "GET" || r.Path != "/dev/pets" || r.Status != 502 || r.Latency.Milliseconds() != 385 {
		t.Errorf("request %+v", r)
	}
	if o.Span.Status != tracing.StatusError || !o.Span.SpanID.IsValid() {
		t.Errorf("span status %v id %v", o.Span.Status, o.Span.SpanID)
	}
	// The function's segment, under the integration subsegment, ran the request;
	// in either order of the trace's segments.
	for _, all := range [][]tracing.Observation{append(append([]tracing.Observation{}, stage...), fn...), append(append([]tracing.Observation{}, fn...), stage...)} {
		joins := apiJoins(all)
		if len(joins) != 1 {
			t.Fatalf("%d joins, want 1", len(joins))
		}
		rel := joins[0].Relations[0]
		if rel.From != (tracing.Key{Kind: tracing.KeyRequestID, Value: "9e8d7c6b-0000-4000-8000-000000000001"}) || rel.To.Kind != tracing.KeyAPIRequest || rel.To.Value != r.RequestID || rel.Kind != tracing.RelConsumed {
			t.Errorf("join %+v", rel)
		}
	}
	if joins := apiJoins(fn); len(joins) != 0 {
		t.Errorf("joins without the stage: %+v", joins)
	}
}
