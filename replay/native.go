package replay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// maxPollErrors bounds how many progress reads of a running move task may
// fail in a row before flowtop stops watching it (the task itself runs on).
const maxPollErrors = 25

// native runs a message move task. started is false when the task never
// started (err says why): the caller may then move the messages itself.
func (r *Replayer) native(ctx context.Context, p RedrivePlan, progress func(Progress)) (res Result, started bool, err error) {
	res = Result{Method: MethodNative, Total: p.Count}
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(p.DLQARN)}
	switch {
	case p.TargetURL != "":
		arn, err := r.queueARN(ctx, p.TargetURL)
		if err != nil {
			return res, false, err
		}
		in.DestinationArn = aws.String(arn)
	case p.DefaultARN != "":
		// The DLQ has one source: name it, so that a message without
		// DeadLetterQueueSourceArn goes there too instead of failing the task.
		in.DestinationArn = aws.String(p.DefaultARN)
	}
	if r.opts.RatePerSec > 0 {
		in.MaxNumberOfMessagesPerSecond = aws.Int32(int32(r.opts.RatePerSec))
	}
	task, err := r.sqs.StartMessageMoveTask(ctx, in)
	if err != nil {
		// The answer may be lost after the task started: a running task
		// on this DLQ is followed, not doubled by a journaled run.
		l, lerr := r.sqs.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(p.DLQARN), MaxResults: aws.Int32(1)})
		if lerr != nil || len(l.Results) == 0 || aws.ToString(l.Results[0].Status) != "RUNNING" || aws.ToString(l.Results[0].TaskHandle) == "" {
			return res, false, err
		}
		task = &sqs.StartMessageMoveTaskOutput{TaskHandle: l.Results[0].TaskHandle}
	}
	progress(Progress{Total: p.Count, Note: "message move task started"})
	pollErrs := 0
	var last error
	for {
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, cerr := r.sqs.CancelMessageMoveTask(cctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: task.TaskHandle})
			cancel()
			res.Note = "cancelled: the move task was asked to stop; messages not yet moved stay in the DLQ"
			if cerr != nil {
				res.Note = "interrupted, but the move task could not be cancelled (" + clip(cerr.Error(), 120) + "): it may still be moving messages"
			}
			return res, true, ctx.Err()
		case <-time.After(r.opts.PollEvery):
		}
		l, err := r.sqs.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(p.DLQARN), MaxResults: aws.Int32(1)})
		if err == nil && len(l.Results) == 0 {
			err = errors.New("the endpoint lists no move task for this DLQ")
		}
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			last = err
			if pollErrs++; pollErrs >= maxPollErrors {
				res.Note = "the move task's progress could not be read; it may still be running (see `aws sqs list-message-move-tasks`)"
				return res, true, fmt.Errorf("%w: %s: %d progress reads failed in a row: %w", ErrIncomplete, p.DLQ, pollErrs, last)
			}
			continue
		}
		pollErrs = 0
		t := l.Results[0]
		res.Moved, res.Total = taskCounts(t, p.Count)
		status := aws.ToString(t.Status)
		progress(Progress{Moved: res.Moved, Total: res.Total, Note: "move task " + status})
		switch status {
		case "COMPLETED":
			return res, true, nil
		case "FAILED":
			reason := aws.ToString(t.FailureReason)
			if reason == "" {
				reason = "the endpoint gave no FailureReason"
			}
			res.Note = "the move task failed after moving " + fmt.Sprint(res.Moved) + ": " + reason + "; the rest are still in the DLQ"
			return res, true, fmt.Errorf("%w: %s: move task failed: %s", ErrIncomplete, p.DLQ, reason)
		case "CANCELLED":
			res.Note = "the move task was cancelled (by someone else?); messages not yet moved stay in the DLQ"
			return res, true, fmt.Errorf("%w: %s: the move task was cancelled", ErrIncomplete, p.DLQ)
		}
	}
}

// taskCounts reads a task's counts: moved from the task, and a total that is
// never less than moved (ToMove is approximate, and absent on some endpoints).
func taskCounts(t sqstypes.ListMessageMoveTasksResultEntry, planned int) (moved, total int) {
	moved = int(t.ApproximateNumberOfMessagesMoved)
	total = planned
	if t.ApproximateNumberOfMessagesToMove != nil {
		total = int(*t.ApproximateNumberOfMessagesToMove)
	}
	return moved, max(total, moved)
}

// whyNoTask says in words why a move task didn't start: the service's error
// code and message, or the HTTP status and what was wrong with the body.
func whyNoTask(err error) string {
	if err == nil {
		return "unknown reason"
	}
	status := 0
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() != "" {
		s := "StartMessageMoveTask answered " + api.ErrorCode()
		if status > 0 {
			s += fmt.Sprintf(" (HTTP %d)", status)
		}
		if m := api.ErrorMessage(); m != "" {
			s += ": " + clip(m, 160)
		}
		return s
	}
	var de *smithy.DeserializationError
	if errors.As(err, &de) || status > 0 {
		s := "StartMessageMoveTask"
		if status > 0 {
			s += fmt.Sprintf(" answered HTTP %d", status)
		}
		return s + " with a body that is not SQS's JSON (" + clip(innermost(err).Error(), 120) + ")"
	}
	return "StartMessageMoveTask failed: " + clip(err.Error(), 200)
}

func innermost(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}
