package sfn

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go/logging"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// TestExecutionTakesItsStatesTime runs, through the real SDK, an execution
// whose two tasks invoke a function that works taskMS each, with a Wait
// between them: the history's timestamps never go back, DescribeExecution's
// startDate→stopDate spans the work, and the graph's execution hop lasts at
// least the work while its states start at increasing offsets, each task
// lasting at least the function's run.
func TestExecutionTakesItsStatesTime(t *testing.T) {
	const taskMS = 120
	srv := sandbox.NewServer(sandbox.Options{Seed: 4})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.RegisterFunction(sandbox.LambdaFunction{Name: "slow", Runtime: "python3.13", Handler: func(ctx context.Context, _ []byte) ([]byte, error) {
		tm := time.NewTimer(taskMS * time.Millisecond) // the function's own work
		defer tm.Stop()
		select {
		case <-ctx.Done():
		case <-tm.C:
		}
		return []byte(`{"ok":true}`), nil
	}})
	cfg := aws.Config{Region: sandbox.Region, BaseEndpoint: aws.String(url), Logger: logging.Nop{}, Credentials: credentials.NewStaticCredentialsProvider("t", "t", "")}
	c := awssfn.NewFromConfig(cfg)
	ctx := context.Background()
	task := func(next string) string {
		end := `"End":true`
		if next != "" {
			end = `"Next":"` + next + `"`
		}
		return `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"slow","Payload.$":"$"},"ResultPath":null,` + end + `}`
	}
	m, err := c.CreateStateMachine(ctx, &awssfn.CreateStateMachineInput{
		Name: aws.String("slow"), RoleArn: aws.String("r"),
		// A Wait of 5 s lasts 50 ms in the sandbox (sfnWaitScale).
		Definition: aws.String(`{"StartAt":"First","States":{"First":` + task("Pause") + `,"Pause":{"Type":"Wait","Seconds":5,"Next":"Second"},"Second":` + task("") + `}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: m.StateMachineArn, Name: aws.String("x1"), Input: aws.String(`{"id":"ev-slow","source":"s","detail-type":"T"}`)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ExecutionArn)
	var d *awssfn.DescribeExecutionOutput
	for end := time.Now().Add(30 * time.Second); ; {
		d, err = c.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: &arn})
		if err == nil && d.Status != "RUNNING" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%s still running: %v", arn, err)
		}
		<-time.After(20 * time.Millisecond)
	}
	work := 2*taskMS*time.Millisecond + 50*time.Millisecond
	if d.Status != "SUCCEEDED" || d.StopDate == nil || d.StopDate.Sub(*d.StartDate) < work {
		t.Fatalf("DescribeExecution: %s %v→%v, want SUCCEEDED lasting ≥ %s", d.Status, d.StartDate, d.StopDate, work)
	}
	h, err := c.GetExecutionHistory(ctx, &awssfn.GetExecutionHistoryInput{ExecutionArn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	var prev time.Time
	entered := map[string]time.Time{}
	for _, e := range h.Events {
		if e.Timestamp.Before(prev) {
			t.Errorf("history event %d (%s) at %v, before the one before it (%v)", e.Id, e.Type, e.Timestamp, prev)
		}
		prev = *e.Timestamp
		if e.StateEnteredEventDetails != nil {
			entered[aws.ToString(e.StateEnteredEventDetails.Name)] = *e.Timestamp
		}
		if x := e.StateExitedEventDetails; x != nil && aws.ToString(x.Name) != "Pause" {
			if took := e.Timestamp.Sub(entered[aws.ToString(x.Name)]); took < taskMS*time.Millisecond {
				t.Errorf("state %s: entered→exited %s, want ≥ the task's %d ms", aws.ToString(x.Name), took, taskMS)
			}
		}
	}

	src := New(c, Config{})
	b, err := src.PollOnce(ctx, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	g := graph.New(graph.Config{MaxEvents: 64})
	g.Ingest(b)
	l, err := g.Lineage("ev-slow")
	if err != nil {
		t.Fatal(err)
	}
	wf := -1
	for i, hp := range l.Hops {
		if hp.Component.Kind == tracing.ComponentWorkflow {
			wf = i
		}
	}
	if wf < 0 || l.Hops[wf].Duration < work {
		t.Fatalf("execution hop %+v, want one lasting ≥ %s", l.Hops, work)
	}
	var names []string
	var last time.Duration = -1
	for _, s := range l.Spans {
		name := s.Span.Name
		if !strings.HasPrefix(name, "Task ") && !strings.HasPrefix(name, "Wait ") {
			continue
		}
		names = append(names, name)
		if s.Offset <= last {
			t.Errorf("state %s at offset %s, not after the state before it (%s)", name, s.Offset, last)
		}
		last = s.Offset
		if took := s.Span.End.Sub(s.Span.Start); strings.HasPrefix(name, "Task ") && took < taskMS*time.Millisecond {
			t.Errorf("state %s lasts %s, want ≥ %d ms", name, took, taskMS)
		}
	}
	if got := strings.Join(names, ", "); got != "Task First, Wait Pause, Task Second" {
		t.Errorf("state spans %q", got)
	}
	if last < taskMS*time.Millisecond+50*time.Millisecond {
		t.Errorf("the last state starts at offset %s, want ≥ the first task and the wait", last)
	}
}
