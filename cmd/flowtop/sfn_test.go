package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/flowtop/flowtop/sandbox"
)

// TestSFNRedriveCommand: `flowtop sfn redrive` prints the plan of a failed
// execution, changes nothing on --dry-run, refuses under --read-only,
// redrives with --yes (the audit log says so), and refuses an execution
// that is not failed with Step Functions' reason.
func TestSFNRedriveCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sandbox world")
	}
	env, sb := sandboxEnv(t)
	c := awssfn.NewFromConfig(aws.Config{Region: sandbox.Region, BaseEndpoint: aws.String(sb.URL()), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	machine := aws.String("arn:aws:states:" + sandbox.Region + ":" + sandbox.Account + ":stateMachine:" + sandbox.FulfilmentMachine)
	var failed, succeeded string
	deadline := time.Now().Add(60 * time.Second)
	for (failed == "" || succeeded == "") && time.Now().Before(deadline) {
		out, err := c.ListExecutions(context.Background(), &awssfn.ListExecutionsInput{StateMachineArn: machine, MaxResults: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range out.Executions {
			switch x.Status {
			case sfntypes.ExecutionStatusFailed:
				failed = aws.ToString(x.ExecutionArn)
			case sfntypes.ExecutionStatusSucceeded:
				succeeded = aws.ToString(x.ExecutionArn)
			}
		}
		<-time.After(200 * time.Millisecond)
	}
	if failed == "" || succeeded == "" {
		t.Fatalf("no failed and succeeded fulfilment executions after 60s (%q, %q)", failed, succeeded)
	}
	plan, errOut, code := runCLI(t, env, "sfn", "redrive", failed, "--dry-run")
	if code != 0 || !strings.Contains(plan, "CourierUnavailable") || !strings.Contains(plan, "starts attempt 1") || !strings.Contains(plan, "dry run: nothing was changed") {
		t.Fatalf("dry run (%d): %s %s", code, plan, errOut)
	}
	if _, errOut, code := runCLI(t, env, "sfn", "redrive", failed, "--read-only", "--yes"); code != exitUsage || !strings.Contains(errOut, "read-only") {
		t.Errorf("read-only redrive: %d %q", code, errOut)
	}
	if d, _ := c.DescribeExecution(context.Background(), &awssfn.DescribeExecutionInput{ExecutionArn: &failed}); aws.ToInt32(d.RedriveCount) != 0 {
		t.Fatalf("the dry run or the refused run redrove the execution (%d)", aws.ToInt32(d.RedriveCount))
	}
	state := t.TempDir()
	env["XDG_STATE_HOME"] = state
	out, errOut, code := runCLI(t, env, "sfn", "redrive", failed, "--yes")
	if code != 0 || !strings.Contains(out, "redriven: attempt 1") {
		t.Fatalf("redrive (%d): %s %s", code, out, errOut)
	}
	if d, err := c.DescribeExecution(context.Background(), &awssfn.DescribeExecutionInput{ExecutionArn: &failed}); err != nil || aws.ToInt32(d.RedriveCount) != 1 {
		t.Fatalf("after the redrive: %+v %v", d, err)
	}
	if audit, err := os.ReadFile(filepath.Join(state, "flowtop", "audit.log")); err != nil || !strings.Contains(string(audit), failed) {
		t.Errorf("audit log: %s %v", audit, err)
	}
	out, errOut, code = runCLI(t, env, "sfn", "redrive", succeeded, "--yes")
	if code != exitUsage || !strings.Contains(out, "refused: Execution is SUCCEEDED") {
		t.Errorf("redrive of a succeeded execution (%d): %s %s", code, out, errOut)
	}
	if _, _, code := runCLI(t, env, "sfn", "redrive", "arn:aws:states:us-east-1:000000000000:execution:fulfilment:nope", "--yes"); code != exitNotFound {
		t.Errorf("redrive of no execution: exit %d, want %d", code, exitNotFound)
	}
}
