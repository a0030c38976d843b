package sandbox

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/xray"
)

// testMachine exercises every state type the interpreter runs: a task by
// the lambda:invoke integration, a choice, a wait, a map whose item task
// names the function by ARN (the LambdaFunction* events), and a Fail.
const testMachine = `{
  "StartAt": "Reserve",
  "States": {
    "Reserve": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "reserve", "Payload.$": "$"},
      "ResultSelector": {"items.$": "$.Payload.items"}, "ResultPath": "$.r", "Next": "Big?"},
    "Big?": {"Type": "Choice", "Choices": [{"Variable": "$.detail.total", "NumericGreaterThan": 100, "Next": "Nope"}], "Default": "Wait"},
    "Nope": {"Type": "Fail", "Error": "TooBig", "Cause": "the order is too big"},
    "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Ship"},
    "Ship": {"Type": "Map", "ItemsPath": "$.r.items", "ItemSelector": {"sku.$": "$$.Map.Item.Value", "id.$": "$.id"},
      "Iterator": {"StartAt": "One", "States": {"One": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:ship", "End": true}}},
      "End": true}
  }
}`

func sfnTestServer(t *testing.T) (*Server, *sfn.Client, *int) {
	t.Helper()
	srv, cfg := startServer(t)
	fails := new(int)
	srv.RegisterFunction(LambdaFunction{Name: "reserve", Handler: func(ctx context.Context, _ []byte) ([]byte, error) {
		_, set := invokedBy(ctx)
		set("req-reserve")
		return []byte(`{"items":["a","b","c"]}`), nil
	}})
	srv.RegisterFunction(LambdaFunction{Name: "ship", Handler: func(_ context.Context, p []byte) ([]byte, error) {
		if strings.Contains(string(p), `"sku":"b"`) && *fails > 0 {
			*fails--
			return nil, errors.New("CourierUnavailable: no courier")
		}
		return []byte(`{"ok":true}`), nil
	}})
	return srv, sfn.NewFromConfig(cfg), fails
}

func waitExecution(t *testing.T, c *sfn.Client, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for {
		out, err := c.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			return out
		}
		if time.Now().After(end) {
			t.Fatalf("execution %s still running after 20s", arn)
		}
		<-time.After(20 * time.Millisecond)
	}
}

func history(t *testing.T, c *sfn.Client, arn string) []sfntypes.HistoryEvent {
	t.Helper()
	var all []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 4})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, out.Events...)
	}
	if len(all) > 4 && pages < 2 {
		t.Fatalf("%d events in %d pages of 4", len(all), pages)
	}
	return all
}

func eventTypes(evs []sfntypes.HistoryEvent) string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Type))
	}
	return strings.Join(out, " ")
}

func TestSFNExecutionHistoryAndRedrive(t *testing.T) {
	_, c, fails := sfnTestServer(t)
	*fails = 1
	ctx := context.Background()
	m, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("ship"), Definition: aws.String(testMachine), RoleArn: aws.String("arn:aws:iam::000000000000:role/r")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("bad"), Definition: aws.String(`{"StartAt":"X","States":{}}`), RoleArn: aws.String("r")}); err == nil {
		t.Fatal("a definition whose StartAt names no state was accepted")
	} else if inv := (*sfntypes.InvalidDefinition)(nil); !errors.As(err, &inv) {
		t.Fatalf("bad definition: %v, want InvalidDefinition", err)
	}
	st, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: m.StateMachineArn, Name: aws.String("o-1"), Input: aws.String(`{"id":"ev-1","detail":{"total":12}}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := "arn:aws:states:us-east-1:000000000000:execution:ship:o-1"
	if aws.ToString(st.ExecutionArn) != want {
		t.Fatalf("execution ARN %s, want %s", aws.ToString(st.ExecutionArn), want)
	}
	d := waitExecution(t, c, want)
	if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "CourierUnavailable" || !strings.Contains(aws.ToString(d.Cause), "no courier") {
		t.Fatalf("execution %s error %q cause %q; want FAILED CourierUnavailable", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	if d.RedriveStatus != sfntypes.ExecutionRedriveStatusRedrivable || aws.ToInt32(d.RedriveCount) != 0 {
		t.Fatalf("redrive status %s count %d", d.RedriveStatus, aws.ToInt32(d.RedriveCount))
	}
	evs := history(t, c, want)
	got := eventTypes(evs)
	for _, w := range []string{
		"ExecutionStarted TaskStateEntered TaskScheduled TaskStarted TaskSucceeded TaskStateExited ChoiceStateEntered ChoiceStateExited WaitStateEntered WaitStateExited MapStateEntered MapStateStarted MapIterationStarted TaskStateEntered LambdaFunctionScheduled LambdaFunctionStarted LambdaFunctionSucceeded TaskStateExited MapIterationSucceeded MapIterationStarted",
		"LambdaFunctionFailed MapIterationFailed MapStateFailed ExecutionFailed",
	} {
		if !strings.Contains(got, w) {
			t.Fatalf("history:\n%s\nlacks\n%s", got, w)
		}
	}
	for i, e := range evs {
		if e.Id != int64(i+1) || e.PreviousEventId != int64(i) || e.Timestamp == nil {
			t.Fatalf("event %d: id %d previous %d", i, e.Id, e.PreviousEventId)
		}
	}
	if out := evs[4].TaskSucceededEventDetails; out == nil || !strings.Contains(aws.ToString(out.Output), `"RequestId":"req-reserve"`) {
		t.Fatalf("TaskSucceeded output lacks the function's request ID: %+v", out)
	}
	last := evs[len(evs)-1].ExecutionFailedEventDetails
	if last == nil || aws.ToString(last.Error) != "CourierUnavailable" {
		t.Fatalf("ExecutionFailed details %+v", last)
	}

	// Only a failed, timed-out or aborted execution can be redriven.
	if _, err := c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(want)}); err != nil {
		t.Fatal(err)
	}
	d = waitExecution(t, c, want)
	if d.Status != sfntypes.ExecutionStatusSucceeded || aws.ToInt32(d.RedriveCount) != 1 || d.RedriveStatus != sfntypes.ExecutionRedriveStatusNotRedrivable {
		t.Fatalf("after redrive: %s count %d redrive status %s", d.Status, aws.ToInt32(d.RedriveCount), d.RedriveStatus)
	}
	evs = history(t, c, want)
	got = eventTypes(evs)
	if !strings.Contains(got, "ExecutionFailed ExecutionRedriven MapStateEntered MapStateStarted MapIterationStarted TaskStateEntered LambdaFunctionScheduled") || !strings.HasSuffix(got, "ExecutionSucceeded") {
		t.Fatalf("history after redrive:\n%s", got)
	}
	// The redrive reruns only the failed item: "a" and "c" ran once.
	if n := strings.Count(got, "MapIterationStarted"); n != 4 {
		t.Fatalf("%d map iterations started in all, want 3 then the failed one again", n)
	}
	_, err = c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(want)})
	var nr *sfntypes.ExecutionNotRedrivable
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), "SUCCEEDED") {
		t.Fatalf("redrive of a succeeded execution: %v, want ExecutionNotRedrivable", err)
	}
	_, err = c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(want + "x")})
	var dne *sfntypes.ExecutionDoesNotExist
	if !errors.As(err, &dne) {
		t.Fatalf("describe of no execution: %v", err)
	}
	list, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: m.StateMachineArn})
	if err != nil || len(list.Executions) != 1 || aws.ToInt32(list.Executions[0].RedriveCount) != 1 {
		t.Fatalf("list: %+v %v", list, err)
	}
	sms, err := c.ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	if err != nil || len(sms.StateMachines) != 1 || aws.ToString(sms.StateMachines[0].Name) != "ship" {
		t.Fatalf("list state machines: %+v %v", sms, err)
	}
}

// TestSFNStartedByRule checks that an EventBridge rule whose target is a
// state machine starts an execution with the event as its input.
func TestSFNStartedByRule(t *testing.T) {
	_, cfg := startServer(t)
	ctx := context.Background()
	c := sfn.NewFromConfig(cfg)
	eb := eventbridge.NewFromConfig(cfg)
	m, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String("p"), Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`),
		RoleArn: aws.String("r"), TracingConfiguration: &sfntypes.TracingConfiguration{Enabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	dm, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: m.StateMachineArn})
	if err != nil || dm.TracingConfiguration == nil || !dm.TracingConfiguration.Enabled || dm.Type != sfntypes.StateMachineTypeStandard || aws.ToString(dm.Name) != "p" {
		t.Fatalf("describe state machine: %+v %v", dm, err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("to-sfn"), EventPattern: aws.String(`{"source":["s"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("to-sfn"), Targets: []ebtypes.Target{{Id: aws.String("1"), Arn: m.StateMachineArn}}}); err != nil {
		t.Fatal(err)
	}
	out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("s"), DetailType: aws.String("T"), Detail: aws.String(`{}`),
		TraceHeader: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: m.StateMachineArn})
	if err != nil || len(list.Executions) != 1 {
		t.Fatalf("executions: %+v %v", list, err)
	}
	d := waitExecution(t, c, aws.ToString(list.Executions[0].ExecutionArn))
	if !strings.Contains(aws.ToString(d.Input), `"id":"`+aws.ToString(out.Entries[0].EventId)+`"`) {
		t.Fatalf("input %s lacks the event id %s", aws.ToString(d.Input), aws.ToString(out.Entries[0].EventId))
	}
	if !strings.HasPrefix(aws.ToString(d.TraceHeader), "Root=1-5759e988-bd862e3fe1be46a994272793") {
		t.Fatalf("trace header %q is not the event's", aws.ToString(d.TraceHeader))
	}
	// Tracing is on: the execution wrote its segment, a child of the
	// producer's, with a subsegment per state.
	tr, err := xray.NewFromConfig(cfg).BatchGetTraces(ctx, &xray.BatchGetTracesInput{TraceIds: []string{"1-5759e988-bd862e3fe1be46a994272793"}})
	if err != nil || len(tr.Traces) != 1 || len(tr.Traces[0].Segments) != 1 {
		t.Fatalf("traces: %+v %v", tr, err)
	}
	doc := aws.ToString(tr.Traces[0].Segments[0].Document)
	for _, want := range []string{`"origin":"AWS::StepFunctions::StateMachine"`, `"parent_id":"53995c3f42cd8ad8"`, `"name":"P"`, aws.ToString(d.ExecutionArn)} {
		if !strings.Contains(doc, want) {
			t.Errorf("segment %s lacks %s", doc, want)
		}
	}
}
