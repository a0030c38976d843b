package replay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// StepFunctions is the part of the Step Functions client an execution
// redrive uses.
type StepFunctions interface {
	DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	RedriveExecution(context.Context, *sfn.RedriveExecutionInput, ...func(*sfn.Options)) (*sfn.RedriveExecutionOutput, error)
}

// ErrNotRedrivable is wrapped by the error of a plan for an execution that
// Step Functions would not redrive: only failed, timed-out and aborted
// Standard executions of the last 14 days can be.
var ErrNotRedrivable = errors.New("replay: the execution cannot be redriven")

// ExecutionRedriver redrives failed Step Functions executions
// (RedriveExecution), with the Replayer's read-only refusal and audit log.
type ExecutionRedriver struct {
	r *Replayer
	c StepFunctions
}

// StepFunctions returns the redriver of executions through c.
func (r *Replayer) StepFunctions(c StepFunctions) *ExecutionRedriver {
	return &ExecutionRedriver{r: r, c: c}
}

// ExecutionRedrivePlan is what a redrive of one execution will do.
type ExecutionRedrivePlan struct {
	ExecutionARN string
	StateMachine string // the state machine's name
	Name         string // the execution's name
	Status       string // FAILED, TIMED_OUT, ABORTED, …
	Error, Cause string
	Started      time.Time
	Stopped      time.Time
	RedriveCount int    // redrives so far; the new attempt is RedriveCount+1
	Redrivable   bool   // Step Functions says it can be redriven
	Reason       string // why not, when it cannot
}

// Attempt is the number of the attempt the redrive starts.
func (p ExecutionRedrivePlan) Attempt() int { return p.RedriveCount + 1 }

// Lines is the plan as text.
func (p ExecutionRedrivePlan) Lines() []string {
	out := []string{fmt.Sprintf("redrive execution %s of state machine %s (%s since %s)", p.Name, p.StateMachine, p.Status, p.Stopped.UTC().Format(time.RFC3339))}
	if p.Error != "" || p.Cause != "" {
		out = append(out, "it failed with "+strings.TrimSpace(p.Error+": "+clip(p.Cause, 300)))
	}
	if !p.Redrivable {
		return append(out, "refused: "+p.Reason)
	}
	out = append(out,
		fmt.Sprintf("RedriveExecution starts attempt %d of %s: it continues from the state that failed, with that state's input", p.Attempt(), p.ExecutionARN),
		"states that succeeded are not run again; a Map or Parallel reruns only its failed iterations and branches",
		"warning: the tasks that failed run again: their functions must be idempotent")
	return out
}

// PlanExecutionRedrive reads the execution (DescribeExecution) and says what
// a redrive would do. An execution Step Functions would not redrive gives
// its plan (with the reason) and an error wrapping [ErrNotRedrivable].
func (x *ExecutionRedriver) PlanExecutionRedrive(ctx context.Context, executionARN string) (ExecutionRedrivePlan, error) {
	executionARN = strings.TrimSpace(executionARN)
	p := ExecutionRedrivePlan{ExecutionARN: executionARN}
	if !strings.HasPrefix(executionARN, "arn:") || !strings.Contains(executionARN, ":execution:") {
		return p, fmt.Errorf("replay: %q is not an execution ARN (arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME)", executionARN)
	}
	d, err := x.c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
	if err != nil {
		return p, fmt.Errorf("replay: sfn: DescribeExecution %s: %w", executionARN, err)
	}
	parts := strings.Split(executionARN, ":")
	if len(parts) >= 8 {
		p.StateMachine, p.Name = parts[6], parts[7]
	}
	p.Status, p.Error, p.Cause = string(d.Status), aws.ToString(d.Error), aws.ToString(d.Cause)
	p.RedriveCount = int(aws.ToInt32(d.RedriveCount))
	if d.StartDate != nil {
		p.Started = *d.StartDate
	}
	if d.StopDate != nil {
		p.Stopped = *d.StopDate
	}
	switch {
	case d.RedriveStatus == sfntypes.ExecutionRedriveStatusRedrivable:
		p.Redrivable = true
	case d.RedriveStatus == "" && (d.Status == sfntypes.ExecutionStatusFailed || d.Status == sfntypes.ExecutionStatusTimedOut || d.Status == sfntypes.ExecutionStatusAborted):
		p.Redrivable = true // an endpoint that does not answer redriveStatus
	default:
		p.Reason = aws.ToString(d.RedriveStatusReason)
		if p.Reason == "" {
			p.Reason = "Execution is " + string(d.Status) + " and cannot be redriven"
		}
		return p, fmt.Errorf("%w: %s", ErrNotRedrivable, p.Reason)
	}
	return p, nil
}

// ExecutionRedriveResult is what a redrive did.
type ExecutionRedriveResult struct {
	ExecutionARN string
	Attempt      int // the attempt the redrive started
	RedriveDate  time.Time
}

// ExecuteExecutionRedrive calls RedriveExecution once, with a client token
// fixed by the execution and its attempt (a retried call, or the same plan
// run twice, starts one attempt, never two), and writes the audit log.
func (x *ExecutionRedriver) ExecuteExecutionRedrive(ctx context.Context, p ExecutionRedrivePlan) (ExecutionRedriveResult, error) {
	res := ExecutionRedriveResult{ExecutionARN: p.ExecutionARN, Attempt: p.Attempt()}
	if x.r.opts.ReadOnly {
		return res, ErrReadOnly
	}
	if !p.Redrivable {
		return res, fmt.Errorf("%w: %s", ErrNotRedrivable, p.Reason)
	}
	sum := sha256.Sum256([]byte(p.ExecutionARN + "#" + strconv.Itoa(p.Attempt())))
	token := "flowtop-" + hex.EncodeToString(sum[:12])
	out, err := x.c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(p.ExecutionARN), ClientToken: aws.String(token)},
		func(o *sfn.Options) { o.Retryer = retry.AddWithMaxAttempts(o.Retryer, 3) })
	if err == nil && out.RedriveDate != nil {
		res.RedriveDate = *out.RedriveDate
	}
	if err != nil {
		err = fmt.Errorf("replay: sfn: RedriveExecution %s: %w", p.ExecutionARN, err)
	}
	x.r.audit("sfn redrive", strings.Join(p.Lines(), "; ")+fmt.Sprintf(" → attempt %d", res.Attempt), err)
	return res, err
}
