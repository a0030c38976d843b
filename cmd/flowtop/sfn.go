package main

import (
	"context"
	"errors"
	"fmt"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/spf13/cobra"

	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/engine"
	"github.com/flowtop/flowtop/replay"
	"github.com/flowtop/flowtop/tui"
)

// sfnCommand is `flowtop sfn`: Step Functions actions. Redrive lives here
// rather than under `dlq`: a failed execution is not a queue, and what it
// restarts is a workflow from its failed state.
func (a *app) sfnCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sfn",
		Short: "act on AWS Step Functions executions (redrive a failed one)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usageErrorf("sfn: say redrive <execution-arn> (see flowtop sfn --help)")
		},
	}
	var dryRun, yes bool
	redrive := &cobra.Command{
		Use:   "redrive <execution-arn>",
		Short: "restart a failed, timed-out or aborted execution from the state that failed",
		Long: `Redrive a Step Functions execution (RedriveExecution): print the plan (the
execution, how it failed, the attempt the redrive starts), ask for confirmation
(--yes to skip), then redrive it. The execution continues from the state that
failed, with that state's input; states that succeeded are not run again. The
call carries a client token fixed by the execution and attempt, so running the
same redrive twice starts one attempt. --dry-run prints the plan and changes
nothing; --read-only refuses. Every redrive is written to the audit log.`,
		Args: exactArgs(1, "an execution ARN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.cfg.ReadOnly && !dryRun {
				return usageErrorf("sfn redrive: refused: flowtop runs with --read-only (--dry-run shows the plan)")
			}
			e, err := a.newEngine(cmd.Context(), engineOptions{})
			if err != nil {
				return err
			}
			defer e.Close()
			return a.sfnRedrive(cmd.Context(), e, args[0], dryRun, yes)
		},
	}
	redrive.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	redrive.Flags().BoolVarP(&yes, "yes", "y", false, "don't ask for confirmation")
	cmd.AddCommand(redrive)
	return cmd
}

func (a *app) sfnRedrive(ctx context.Context, e *engine.Engine, arn string, dryRun, yes bool) error {
	plan, err := e.PlanExecutionRedrive(ctx, arn)
	if err != nil && !errors.Is(err, replay.ErrNotRedrivable) {
		var dne *sfntypes.ExecutionDoesNotExist
		if errors.As(err, &dne) || awsutil.Classify(err) == awsutil.KindNotFound {
			return notFoundErrorf("sfn redrive: no execution %q", clean(arn))
		}
		return err
	}
	for _, line := range plan.Lines() {
		fmt.Fprintln(a.stdout, clean(line))
	}
	if err != nil {
		return usageErrorf("sfn redrive: %s", clean(plan.Reason))
	}
	if dryRun {
		fmt.Fprintln(a.stdout, "dry run: nothing was changed")
		return nil
	}
	if !yes {
		ok, err := a.confirm(fmt.Sprintf("redrive execution %s (attempt %d)?", plan.Name, plan.Attempt()))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(a.stderr, "cancelled: nothing was changed")
			return nil
		}
	}
	res, err := e.ExecuteExecutionRedrive(ctx, plan)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, clean(fmt.Sprintf("redriven: attempt %d of %s started at %s", res.Attempt, res.ExecutionARN, res.RedriveDate.UTC().Format("15:04:05"))))
	return nil
}

// sfnPlan is the console's plan for redriving an execution: the same plan
// `flowtop sfn redrive` prints. An execution Step Functions would not
// redrive is refused at planning, with the reason.
func sfnPlan(ctx context.Context, e *engine.Engine, arn string) (tui.Plan, error) {
	p, err := e.PlanExecutionRedrive(ctx, arn)
	if err != nil {
		return tui.Plan{}, err
	}
	lines := p.Lines()
	return tui.Plan{Summary: lines[0], Lines: lines, Count: 1, CountLabel: "executions", Impl: p}, nil
}

// sfnExecute redrives the planned execution and reports the new attempt.
func sfnExecute(ctx context.Context, e *engine.Engine, p replay.ExecutionRedrivePlan, progress func(tui.Progress)) error {
	res, err := e.ExecuteExecutionRedrive(ctx, p)
	if err == nil {
		progress(tui.Progress{Done: 1, Total: 1, Note: fmt.Sprintf("attempt %d of %s started", res.Attempt, p.Name)})
	}
	return err
}
