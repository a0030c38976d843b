package engine

import (
	"context"
	"fmt"

	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/replay"
	"github.com/flowtop/flowtop/tracing"
)

// ExecutionRedriver is the Step Functions redrive executor over the
// engine's AWS configuration, read-only setting and state directory.
func (e *Engine) ExecutionRedriver() *replay.ExecutionRedriver {
	return e.Replayer().StepFunctions(awssfn.NewFromConfig(e.set.AWS))
}

// PlanExecutionRedrive plans the redrive of one failed execution, in the
// watched context of the region and account its ARN names.
func (e *Engine) PlanExecutionRedrive(ctx context.Context, executionARN string) (replay.ExecutionRedrivePlan, error) {
	in, err := e.In(graph.RefPlace(executionARN))
	if err != nil {
		return replay.ExecutionRedrivePlan{}, fmt.Errorf("sfn redrive: %w", err)
	}
	return in.ExecutionRedriver().PlanExecutionRedrive(ctx, executionARN)
}

// ExecuteExecutionRedrive redrives the execution and tells the graph at once
// that the new attempt is a redrive of the event the execution ran for: the
// attempt is then an event of its own, linked redrive-of, whose hop and
// tasks the collector adds once it reads the history.
func (e *Engine) ExecuteExecutionRedrive(ctx context.Context, plan replay.ExecutionRedrivePlan) (replay.ExecutionRedriveResult, error) {
	in, err := e.In(graph.RefPlace(plan.ExecutionARN))
	if err != nil {
		return replay.ExecutionRedriveResult{}, fmt.Errorf("sfn redrive: %w", err)
	}
	if in != e {
		return in.ExecuteExecutionRedrive(ctx, plan)
	}
	res, err := e.ExecutionRedriver().ExecuteExecutionRedrive(ctx, plan)
	if err != nil {
		return res, err
	}
	attempt := tracing.ExecutionAttemptKey(plan.ExecutionARN, res.Attempt)
	e.ingest(ctx, tracing.Batch{tracing.CopyObservation(attempt, e.executionOriginal(plan.ExecutionARN), tracing.RelRedriveOf, e.set.Now(),
		"flowtop sfn redrive of "+plan.ExecutionARN)})
	return res, nil
}

// executionOriginal is the key of the event an execution's first attempt ran
// for: the strongest key of the event the graph knows by the execution ARN,
// else the first attempt itself.
func (e *Engine) executionOriginal(executionARN string) tracing.Key {
	if l, err := e.graph.Lineage(executionARN); err == nil {
		best := tracing.Key{}
		for _, k := range l.Keys {
			if k.Value == l.ID && k.Kind.Strong() {
				return k
			}
			if best.IsZero() && k.Kind.Strong() {
				best = k
			}
		}
		if !best.IsZero() {
			return best
		}
	}
	return tracing.ExecutionAttemptKey(executionARN, 0)
}
