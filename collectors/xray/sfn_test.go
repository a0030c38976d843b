package xray

import (
	"testing"

	"github.com/flowtop/flowtop/tracing"
)

// TestStepFunctionsSegment: an execution's segment and its states'
// subsegments are spans of the trace but no component of their own (the
// sfn collector counts executions once), and never a Lambda function.
func TestStepFunctionsSegment(t *testing.T) {
	doc := `{"id":"6e8c1b0f2a3d4c5e","trace_id":"1-5759e988-bd862e3fe1be46a994272793","parent_id":"53995c3f42cd8ad8","name":"fulfilment",
"origin":"AWS::StepFunctions::StateMachine","start_time":1764770000.1,"end_time":1764770000.4,
"aws":{"execution_arn":"arn:aws:states:us-east-1:123456789012:execution:fulfilment:e-1"},
"subsegments":[{"id":"7f9d2c1a3b4e5f60","name":"Reserve","start_time":1764770000.1,"end_time":1764770000.2,"fault":true}]}`
	obs, err := ParseSegment([]byte(doc))
	if err != nil || len(obs) != 2 {
		t.Fatalf("%d observations, %v", len(obs), err)
	}
	for _, o := range obs {
		if o.Component != (tracing.Component{}) {
			t.Errorf("%s: component %s, want none", o.Span.Name, o.Component)
		}
	}
	if obs[1].Span.ParentID.String() != "6e8c1b0f2a3d4c5e" || obs[1].Span.Status != tracing.StatusError {
		t.Errorf("state subsegment %+v", obs[1].Span)
	}
}
