package sfn

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// wireEvent is a history event in GetExecutionHistory's awsJson1_0 shape,
// as much as the samples and the fuzzer need.
type wireEvent struct {
	ID      int64   `json:"id"`
	Prev    int64   `json:"previousEventId"`
	Time    float64 `json:"timestamp"`
	Type    string  `json:"type"`
	Started *struct {
		Input string `json:"input"`
	} `json:"executionStartedEventDetails,omitempty"`
	Entered *struct {
		Name  string `json:"name"`
		Input string `json:"input"`
	} `json:"stateEnteredEventDetails,omitempty"`
	Exited *struct {
		Name   string `json:"name"`
		Output string `json:"output"`
	} `json:"stateExitedEventDetails,omitempty"`
	Scheduled *struct {
		Resource     string `json:"resource"`
		ResourceType string `json:"resourceType"`
		Parameters   string `json:"parameters"`
	} `json:"taskScheduledEventDetails,omitempty"`
	Succeeded *struct {
		Output string `json:"output"`
	} `json:"taskSucceededEventDetails,omitempty"`
	Failed *struct {
		Error string `json:"error"`
		Cause string `json:"cause"`
	} `json:"taskFailedEventDetails,omitempty"`
	Iteration *struct {
		Name  string `json:"name"`
		Index int    `json:"index"`
	} `json:"mapIterationStartedEventDetails,omitempty"`
	IterationSucceeded *struct {
		Name  string `json:"name"`
		Index int    `json:"index"`
	} `json:"mapIterationSucceededEventDetails,omitempty"`
	IterationFailed *struct {
		Name  string `json:"name"`
		Index int    `json:"index"`
	} `json:"mapIterationFailedEventDetails,omitempty"`
	ExecFailed *struct {
		Error string `json:"error"`
		Cause string `json:"cause"`
	} `json:"executionFailedEventDetails,omitempty"`
	Redriven *struct {
		RedriveCount int `json:"redriveCount"`
	} `json:"executionRedrivenEventDetails,omitempty"`
}

// decodeHistory reads a GetExecutionHistory "events" array.
func decodeHistory(b []byte) ([]Event, error) {
	var ws []wireEvent
	if err := json.Unmarshal(b, &ws); err != nil {
		return nil, err
	}
	out := make([]Event, len(ws))
	for i, w := range ws {
		e := Event{ID: w.ID, Prev: w.Prev, Type: w.Type, Time: time.UnixMilli(int64(w.Time * 1000)).UTC()}
		switch {
		case w.Started != nil:
			e.Input = w.Started.Input
		case w.Entered != nil:
			e.Name, e.Input = w.Entered.Name, w.Entered.Input
		case w.Exited != nil:
			e.Name, e.Output = w.Exited.Name, w.Exited.Output
		case w.Scheduled != nil:
			e.Resource, e.ResourceType, e.Parameters = w.Scheduled.Resource, w.Scheduled.ResourceType, w.Scheduled.Parameters
		case w.Succeeded != nil:
			e.Output = w.Succeeded.Output
		case w.Failed != nil:
			e.Error, e.Cause = w.Failed.Error, w.Failed.Cause
		case w.Iteration != nil:
			e.Name, e.Index = w.Iteration.Name, w.Iteration.Index
		case w.IterationSucceeded != nil:
			e.Name, e.Index = w.IterationSucceeded.Name, w.IterationSucceeded.Index
		case w.IterationFailed != nil:
			e.Name, e.Index = w.IterationFailed.Name, w.IterationFailed.Index
		case w.ExecFailed != nil:
			e.Error, e.Cause = w.ExecFailed.Error, w.ExecFailed.Cause
		case w.Redriven != nil:
			e.RedriveCount = w.Redriven.RedriveCount
		}
		out[i] = e
	}
	return out, nil
}

const sampleARN = "arn:aws:states:us-east-1:123456789012:execution:fulfilment:6f1e5a1b-95c3-4c1f-9a3e-0d2f8c7b1a20"

// sampleHistory is a fulfilment execution as GetExecutionHistory returns it:
// started by EventBridge, a lambda:invoke task, a Map whose second item's
// Python function failed, the execution failed; then a redrive that reran
// that item. Node's error payload has no requestId; Python's has.
const sampleHistory = `[
{"id":1,"previousEventId":0,"timestamp":1764770000.100,"type":"ExecutionStarted","executionStartedEventDetails":{"input":"{\"version\":\"0\",\"id\":\"7f8c2a3e-1b2d-4c5e-8f9a-0b1c2d3e4f50\",\"detail-type\":\"OrderPlaced\",\"source\":\"orders.api\",\"account\":\"123456789012\",\"time\":\"2026-12-03T14:00:00Z\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":{\"order_id\":\"o-1\"}}"}},
{"id":2,"previousEventId":1,"timestamp":1764770000.120,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"Reserve","input":"{}"}},
{"id":3,"previousEventId":2,"timestamp":1764770000.121,"type":"TaskScheduled","taskScheduledEventDetails":{"resource":"invoke","resourceType":"lambda","parameters":"{\"FunctionName\":\"arn:aws:lambda:us-east-1:123456789012:function:fulfil-reserve\",\"Payload\":{}}"}},
{"id":4,"previousEventId":3,"timestamp":1764770000.122,"type":"TaskStarted"},
{"id":5,"previousEventId":4,"timestamp":1764770000.180,"type":"TaskSucceeded","taskSucceededEventDetails":{"output":"{\"ExecutedVersion\":\"$LATEST\",\"Payload\":{\"items\":[\"a\",\"b\"]},\"SdkHttpMetadata\":{\"HttpStatusCode\":200},\"SdkResponseMetadata\":{\"RequestId\":\"0c3a7d52-1e2f-4a3b-9c4d-5e6f7a8b9c0d\"},\"StatusCode\":200}"}},
{"id":6,"previousEventId":5,"timestamp":1764770000.181,"type":"TaskStateExited","stateExitedEventDetails":{"name":"Reserve","output":"{}"}},
{"id":7,"previousEventId":6,"timestamp":1764770000.182,"type":"ChoiceStateEntered","stateEnteredEventDetails":{"name":"Express?","input":"{}"}},
{"id":8,"previousEventId":7,"timestamp":1764770000.183,"type":"ChoiceStateExited","stateExitedEventDetails":{"name":"Express?","output":"{}"}},
{"id":9,"previousEventId":8,"timestamp":1764770000.184,"type":"MapStateEntered","stateEnteredEventDetails":{"name":"Ship","input":"{}"}},
{"id":10,"previousEventId":9,"timestamp":1764770000.185,"type":"MapStateStarted"},
{"id":11,"previousEventId":10,"timestamp":1764770000.186,"type":"MapIterationStarted","mapIterationStartedEventDetails":{"name":"Ship","index":0}},
{"id":12,"previousEventId":11,"timestamp":1764770000.187,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"ShipItem","input":"{}"}},
{"id":13,"previousEventId":12,"timestamp":1764770000.188,"type":"TaskScheduled","taskScheduledEventDetails":{"resource":"invoke","resourceType":"lambda","parameters":"{\"FunctionName\":\"fulfil-ship\",\"Payload\":{}}"}},
{"id":14,"previousEventId":13,"timestamp":1764770000.260,"type":"TaskSucceeded","taskSucceededEventDetails":{"output":"{\"SdkResponseMetadata\":{\"RequestId\":\"1d4b8e63-2f3a-4b4c-8d5e-6f7a8b9c0d1e\"}}"}},
{"id":15,"previousEventId":14,"timestamp":1764770000.261,"type":"TaskStateExited","stateExitedEventDetails":{"name":"ShipItem","output":"{}"}},
{"id":16,"previousEventId":15,"timestamp":1764770000.262,"type":"MapIterationSucceeded","mapIterationSucceededEventDetails":{"name":"Ship","index":0}},
{"id":17,"previousEventId":16,"timestamp":1764770000.263,"type":"MapIterationStarted","mapIterationStartedEventDetails":{"name":"Ship","index":1}},
{"id":18,"previousEventId":17,"timestamp":1764770000.264,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"ShipItem","input":"{}"}},
{"id":19,"previousEventId":18,"timestamp":1764770000.265,"type":"TaskScheduled","taskScheduledEventDetails":{"resource":"invoke","resourceType":"lambda","parameters":"{\"FunctionName\":\"fulfil-ship\",\"Payload\":{}}"}},
{"id":20,"previousEventId":19,"timestamp":1764770000.330,"type":"TaskFailed","taskFailedEventDetails":{"error":"CourierUnavailable","cause":"{\"errorMessage\":\"no courier for the parcel\",\"errorType\":\"CourierUnavailable\",\"requestId\":\"2e5c9f74-3a4b-4c5d-9e6f-7a8b9c0d1e2f\",\"stackTrace\":[]}"}},
{"id":21,"previousEventId":20,"timestamp":1764770000.331,"type":"MapIterationFailed","mapIterationFailedEventDetails":{"name":"Ship","index":1}},
{"id":22,"previousEventId":21,"timestamp":1764770000.332,"type":"MapStateFailed"},
{"id":23,"previousEventId":22,"timestamp":1764770000.333,"type":"ExecutionFailed","executionFailedEventDetails":{"error":"CourierUnavailable","cause":"{\"errorMessage\":\"no courier for the parcel\",\"errorType\":\"CourierUnavailable\",\"requestId\":\"2e5c9f74-3a4b-4c5d-9e6f-7a8b9c0d1e2f\",\"stackTrace\":[]}"}},
{"id":24,"previousEventId":23,"timestamp":1764770100.000,"type":"ExecutionRedriven","executionRedrivenEventDetails":{"redriveCount":1}},
{"id":25,"previousEventId":24,"timestamp":1764770100.001,"type":"MapStateEntered","stateEnteredEventDetails":{"name":"Ship","input":"{}"}},
{"id":26,"previousEventId":25,"timestamp":1764770100.002,"type":"MapStateStarted"},
{"id":27,"previousEventId":26,"timestamp":1764770100.003,"type":"MapIterationStarted","mapIterationStartedEventDetails":{"name":"Ship","index":1}},
{"id":28,"previousEventId":27,"timestamp":1764770100.004,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"ShipItem","input":"{}"}},
{"id":29,"previousEventId":28,"timestamp":1764770100.005,"type":"TaskScheduled","taskScheduledEventDetails":{"resource":"invoke","resourceType":"lambda","parameters":"{\"FunctionName\":\"fulfil-ship\",\"Payload\":{}}"}},
{"id":30,"previousEventId":29,"timestamp":1764770100.080,"type":"TaskSucceeded","taskSucceededEventDetails":{"output":"{\"SdkResponseMetadata\":{\"RequestId\":\"3f6d0a85-4b5c-4d6e-8f7a-8b9c0d1e2f3a\"}}"}},
{"id":31,"previousEventId":30,"timestamp":1764770100.081,"type":"TaskStateExited","stateExitedEventDetails":{"name":"ShipItem","output":"{}"}},
{"id":32,"previousEventId":31,"timestamp":1764770100.082,"type":"MapIterationSucceeded","mapIterationSucceededEventDetails":{"name":"Ship","index":1}},
{"id":33,"previousEventId":32,"timestamp":1764770100.083,"type":"MapStateSucceeded"},
{"id":34,"previousEventId":33,"timestamp":1764770100.084,"type":"MapStateExited","stateExitedEventDetails":{"name":"Ship","output":"{}"}},
{"id":35,"previousEventId":34,"timestamp":1764770100.085,"type":"ExecutionSucceeded"}
]`

func sampleEvents(t testing.TB) []Event {
	t.Helper()
	evs, err := decodeHistory([]byte(sampleHistory))
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestParseAttemptsStatesAndTasks(t *testing.T) {
	evs := sampleEvents(t)
	b, dropped := Parse(Execution{ARN: sampleARN, Status: "SUCCEEDED", RedriveCount: 1, TraceHeader: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}, evs)
	if dropped != 0 {
		t.Fatalf("dropped %d", dropped)
	}
	event := tracing.Key{Kind: tracing.KeyEventID, Value: "7f8c2a3e-1b2d-4c5e-8f9a-0b1c2d3e4f50"}
	var attempts []tracing.Observation
	states := map[string]tracing.Observation{}
	tasks := map[string]tracing.Relation{}
	for _, o := range b {
		attempt := o.Span != nil && o.Span.Attrs[attrAttempt] != ""
		if o.Source != SourceName || attempt && o.Component.Kind != tracing.ComponentWorkflow || o.Span != nil && !attempt && o.Component.Kind != tracing.ComponentUnknown {
			t.Fatalf("observation %+v", o)
		}
		switch {
		case o.Span != nil && o.Span.Attrs[attrAttempt] != "":
			attempts = append(attempts, o)
		case o.Span != nil:
			states[o.Span.Name+"/"+o.Span.Attrs["aws.stepfunctions.state"]+"/"+o.Span.Start.Format("05.000")] = o
		default:
			tasks[o.Keys[0].Value] = o.Relations[0]
		}
	}
	if len(attempts) != 2 {
		t.Fatalf("%d attempt hops, want 2", len(attempts))
	}
	first, second := attempts[0], attempts[1]
	if first.Span.Status != tracing.StatusError || !strings.Contains(first.Span.StatusMessage, "state ShipItem: CourierUnavailable") || first.Span.Attrs["aws.stepfunctions.failed_state"] != "ShipItem" {
		t.Errorf("first attempt %v %q %v", first.Span.Status, first.Span.StatusMessage, first.Span.Attrs)
	}
	if !hasRel(first, tracing.RelConsumed, event) || !hasRel(first, tracing.RelCarries, tracing.ExecutionAttemptKey(sampleARN, 0)) || !has(first.Keys, tracing.Key{Kind: tracing.KeyExecution, Value: sampleARN}) {
		t.Errorf("first attempt keys %v relations %v", first.Keys, first.Relations)
	}
	if !has(first.Keys, tracing.Key{Kind: tracing.KeyTraceID, Value: "5759e988bd862e3fe1be46a994272793"}) {
		t.Errorf("first attempt lacks the X-Ray trace it was started in: %v", first.Keys)
	}
	if second.Span.Status != tracing.StatusOK || second.Span.Duration() != 85*time.Millisecond || !hasRel(second, tracing.RelRedriveOf, event) || has(second.Keys, tracing.Key{Kind: tracing.KeyExecution, Value: sampleARN}) {
		t.Errorf("redriven attempt %v %s keys %v relations %v", second.Span.Status, second.Span.Duration(), second.Keys, second.Relations)
	}
	if second.Span.Attrs[graph.ExecutionAttr] != sampleARN {
		t.Errorf("attempt attrs %v", second.Span.Attrs)
	}
	for _, want := range []struct {
		req     string
		attempt int
		ev      string
	}{
		{"0c3a7d52-1e2f-4a3b-9c4d-5e6f7a8b9c0d", 0, "SdkResponseMetadata"},
		{"1d4b8e63-2f3a-4b4c-8d5e-6f7a8b9c0d1e", 0, "SdkResponseMetadata"},
		{"2e5c9f74-3a4b-4c5d-9e6f-7a8b9c0d1e2f", 0, "requestId in the function's error"},
		{"3f6d0a85-4b5c-4d6e-8f7a-8b9c0d1e2f3a", 1, "SdkResponseMetadata"},
	} {
		r, ok := tasks[want.req]
		if !ok || r.To != tracing.ExecutionAttemptKey(sampleARN, want.attempt) || r.Kind != tracing.RelConsumed || !strings.Contains(r.Evidence, want.ev) {
			t.Errorf("task %s: %+v (present %v)", want.req, r, ok)
		}
	}
	if len(tasks) != 4 {
		t.Errorf("%d task joins, want 4", len(tasks))
	}
	// States: the failed item's task, its iteration and the Map failed; the
	// rest succeeded; the redrive's Map is a child of the second attempt.
	failed := 0
	for _, o := range states {
		if o.Span.Status == tracing.StatusError {
			failed++
		}
		if o.Span.End.Before(o.Span.Start) || o.Span.InProgress {
			t.Errorf("state %s: %s–%s", o.Span.Name, o.Span.Start, o.Span.End)
		}
	}
	if failed != 3 || len(states) != 10 {
		t.Errorf("%d states, %d failed; want 10 (7 in the first attempt, 3 in the redrive), 3", len(states), failed)
		for k, o := range states {
			t.Logf("  %s %v", k, o.Span.Status)
		}
	}
}

func hasRel(o tracing.Observation, kind tracing.RelKind, to tracing.Key) bool {
	for _, r := range o.Relations {
		if r.Kind == kind && r.To == to {
			return true
		}
	}
	return false
}

func has(keys []tracing.Key, k tracing.Key) bool {
	for _, h := range keys {
		if h == k {
			return true
		}
	}
	return false
}

func TestParseOddInputs(t *testing.T) {
	// No events at all: the execution itself, from DescribeExecution.
	b, _ := Parse(Execution{ARN: sampleARN, Status: "RUNNING", Input: `{"id":"x"}`, Start: time.Unix(1, 0)}, nil)
	if len(b) != 1 || !b[0].Span.InProgress || !has(b[0].Keys, tracing.ExecutionAttemptKey(sampleARN, 0)) {
		t.Fatalf("running, no history: %+v", b)
	}
	// A CloudEvent input names the CloudEvent.
	b, _ = Parse(Execution{ARN: sampleARN, Status: "SUCCEEDED", Input: `{"specversion":"1.0","id":"ce-1","source":"/orders","type":"t"}`}, nil)
	if !has(b[0].Keys, tracing.CloudEventKey("/orders", "ce-1")) {
		t.Fatalf("cloudevent input: %v", b[0].Keys)
	}
	// Not an execution ARN: nothing.
	if b, _ := Parse(Execution{}, sampleEvents(t)); len(b) != 0 {
		t.Fatalf("no ARN: %d observations", len(b))
	}
	if MachineName(sampleARN) != "fulfilment" || MachineName("arn:aws:states:x") != "" {
		t.Fatal("MachineName")
	}
}
