package sfn

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go/logging"

	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// TestPollReadsNewAndChangedExecutions: each poll reads the histories of
// the executions that are new or changed (finished, redriven) since the
// last one, and nothing else; a denied call names the IAM action.
func TestPollReadsNewAndChangedExecutions(t *testing.T) {
	srv := sandbox.NewServer(sandbox.Options{Seed: 3})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	var fail atomic.Bool
	fail.Store(true)
	srv.RegisterFunction(sandbox.LambdaFunction{Name: "step", Runtime: "python3.13", Handler: func(context.Context, []byte) ([]byte, error) {
		if fail.Load() {
			return nil, errors.New("Boom: it broke")
		}
		return []byte(`{}`), nil
	}})
	cfg := aws.Config{Region: sandbox.Region, BaseEndpoint: aws.String(url), Logger: logging.Nop{}, Credentials: credentials.NewStaticCredentialsProvider("t", "t", "")}
	c := awssfn.NewFromConfig(cfg)
	ctx := context.Background()
	m, err := c.CreateStateMachine(ctx, &awssfn.CreateStateMachineInput{
		Name: aws.String("m"), RoleArn: aws.String("r"),
		Definition: aws.String(`{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"step","Payload.$":"$"},"End":true}}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	start := func(name string) string {
		out, err := c.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: m.StateMachineArn, Name: aws.String(name), Input: aws.String(`{"id":"ev-` + name + `","source":"s","detail-type":"T"}`)})
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(out.ExecutionArn)
		end := time.Now().Add(20 * time.Second)
		for {
			d, err := c.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: &arn})
			if err == nil && d.Status != "RUNNING" {
				return arn
			}
			if time.Now().After(end) {
				t.Fatalf("%s still running", arn)
			}
			<-time.After(10 * time.Millisecond)
		}
	}
	src := New(c, Config{})
	since := time.Now().Add(-time.Minute)
	attempts := func(b tracing.Batch) []string {
		var out []string
		for _, o := range b {
			if o.Span != nil && o.Span.Attrs[attrAttempt] != "" {
				out = append(out, MachineName(o.Span.Attrs["aws.stepfunctions.execution_arn"])+"/"+o.Span.Name+"#"+o.Span.Attrs[attrAttempt])
			}
		}
		return out
	}
	a := start("a")
	start("b")
	b, err := src.PollOnce(ctx, since)
	if got := strings.Join(attempts(b), " "); err != nil || strings.Count(got, "#0") != 2 {
		t.Fatalf("first poll: %s %v", got, err)
	}
	if b, err := src.PollOnce(ctx, since); err != nil || len(b) != 0 {
		t.Fatalf("second poll read %d observations again (%v)", len(b), err)
	}
	fail.Store(false)
	start("c")
	if _, err := c.RedriveExecution(ctx, &awssfn.RedriveExecutionInput{ExecutionArn: &a}); err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(20 * time.Second)
	for {
		d, _ := c.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: &a})
		if d != nil && d.Status == "SUCCEEDED" {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the redrive did not finish")
		}
		<-time.After(10 * time.Millisecond)
	}
	b, err = src.PollOnce(ctx, since)
	got := strings.Join(attempts(b), " ")
	if err != nil || !strings.Contains(got, "execution c#0") || !strings.Contains(got, "execution a#1") || strings.Contains(got, "execution b") {
		t.Fatalf("third poll: %s %v; want c, and a's redrive", got, err)
	}
	srv.Deny("states.ListExecutions")
	if _, err := src.PollOnce(ctx, since); err == nil || !strings.Contains(err.Error(), "states:ListExecutions") || !strings.Contains(err.Error(), "access denied") {
		t.Fatalf("denied poll: %v", err)
	}
	if h := src.Health(); h.Source != "sfn" || h.Items == 0 {
		t.Fatalf("health %+v", h)
	}
}
