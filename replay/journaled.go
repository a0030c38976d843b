package replay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Bounds of a journaled run.
const (
	idleRounds       = 3  // receive rounds with nothing new before checking whether the DLQ is done
	maxReceiveErrors = 20 // failed receives in a row before the run stops (resumable)
	giveBackTimeout  = 10 * time.Second
)

// noRetry makes one call a single attempt: a send inside the journaled loop
// is never repeated behind the journal's back, so every attempt is recorded.
func noRetry(o *sqs.Options) {
	if o.Retryer != nil {
		o.Retryer = retry.AddWithMaxAttempts(o.Retryer, 1)
	}
}

// run is one journaled redrive (or resume) over a journal; several workers
// share it.
type run struct {
	r        *Replayer
	p        RedrivePlan
	j        *journal
	selected map[string]bool
	vis      int32
	progress func(Progress)
	start    time.Time
	// finished is cancelled when one worker finds the DLQ drained, so the
	// others stop at their next round. It never cancels a receive: a
	// receive cut short may still have taken messages, hidden from all.
	finished context.Context
	finish   context.CancelFunc

	mu           sync.Mutex
	routes       map[string]route            // source ARN → where it goes
	unroutable   map[string]string           // message ID → reason
	held         map[string]sqstypes.Message // received, not moved, given back when the run ends
	seen         map[string]bool
	inflight     map[string]bool
	lastProgress time.Time
	released     int
	releaseFail  int
}

type route struct{ url, reason string }

func (r *Replayer) journaled(ctx context.Context, p RedrivePlan, path string, progress func(Progress)) (Result, error) {
	if r.opts.StateDir == "" {
		return Result{}, errors.New("replay: no state directory for the journal")
	}
	if err := os.MkdirAll(r.opts.StateDir, 0o700); err != nil {
		return Result{}, fmt.Errorf("replay: state directory: %w", err)
	}
	fresh := path == ""
	if fresh {
		path = filepath.Join(r.opts.StateDir, fmt.Sprintf("redrive-%s-%d.journal", safeName(p.DLQ), r.opts.Now().UnixNano()))
	}
	j, err := openJournal(path)
	if err != nil {
		return Result{Method: MethodJournaled, Journal: path}, err
	}
	defer j.close()
	if fresh {
		p.Method = MethodJournaled
		if err := j.append(record{Op: "plan", Plan: &p}); err != nil {
			return Result{}, err
		}
	} else {
		p = j.plan
		if p.DLQURL == "" || p.DLQ == "" {
			return Result{Method: MethodJournaled, Journal: path}, damaged(path, 1, errors.New("the plan names no DLQ"))
		}
		lk, err := acquireLock(r.opts.StateDir, p.DLQ, r.opts.Now())
		if err != nil {
			return Result{Method: MethodJournaled, Journal: path}, err
		}
		defer lk.unlock()
		if j.truncated > 0 {
			progress(Progress{Note: fmt.Sprintf("journal %s: cut off a torn last line (%d bytes, never synced, so nothing depended on it)", path, j.truncated)})
		}
	}
	rn := &run{
		r: r, p: p, j: j, selected: map[string]bool{}, progress: progress, start: time.Now(),
		routes: map[string]route{}, unroutable: map[string]string{}, held: map[string]sqstypes.Message{},
		seen: map[string]bool{}, inflight: map[string]bool{}, lastProgress: time.Now(),
	}
	for _, id := range p.MessageIDs {
		rn.selected[id] = true
	}
	rn.finished, rn.finish = context.WithCancel(ctx)
	defer rn.finish()
	rn.vis = max(int32(r.opts.Visibility/time.Second), 1)
	n := r.opts.Concurrency
	if n <= 0 {
		n = 4
	}
	if len(rn.selected) > 0 || p.FIFO {
		n = 1 // one receiver keeps a selection simple and FIFO groups in order
	}
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			defer func() {
				if v := recover(); v != nil {
					errs <- fmt.Errorf("replay: worker panic: %v", v)
				}
			}()
			errs <- rn.worker(ctx)
		}()
	}
	var firstErr error
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	// Give back what the run still holds: unroutable and unselected messages.
	rn.mu.Lock()
	var held []sqstypes.Message
	for _, m := range rn.held {
		held = append(held, m)
	}
	rn.held = map[string]sqstypes.Message{}
	rn.mu.Unlock()
	rn.giveBack(ctx, held)

	res := Result{Method: MethodJournaled, Journal: path, Total: p.Count}
	res.Moved, res.Duplicates, res.Uncertain = j.counts()
	rn.mu.Lock()
	res.Released, res.ReleaseFailed = rn.released, rn.releaseFail
	for id, why := range rn.unroutable {
		res.Unroutable = append(res.Unroutable, Unroutable{MessageID: id, Reason: why})
	}
	rn.mu.Unlock()
	sort.Slice(res.Unroutable, func(a, b int) bool { return res.Unroutable[a].MessageID < res.Unroutable[b].MessageID })
	if len(rn.selected) > 0 {
		res.NotFound = j.missing(rn.selected)
		sort.Strings(res.NotFound)
		// A selected message we hold as unroutable is reported as such, not as missing.
		kept := res.NotFound[:0]
		for _, id := range res.NotFound {
			if _, ok := rn.unroutable[id]; !ok {
				kept = append(kept, id)
			}
		}
		res.NotFound = kept
	}
	res.Total = max(res.Total, res.Moved)
	progress(Progress{Moved: res.Moved, Total: res.Total, Duplicates: res.Duplicates})
	switch {
	case firstErr != nil:
		return res, firstErr
	case ctx.Err() != nil:
		return res, ctx.Err()
	}
	// Finished: nothing is left for a resume to do (unroutable messages need a --to).
	if err := os.Rename(path, path+".done"); err == nil {
		res.Journal = path + ".done"
	}
	if n := len(res.Unroutable) + len(res.NotFound); n > 0 {
		return res, fmt.Errorf("%w: %s: %d moved, %d could not be routed, %d selected not found; every message not moved is in the DLQ, visible",
			ErrIncomplete, p.DLQ, res.Moved, len(res.Unroutable), len(res.NotFound))
	}
	return res, nil
}

func (rn *run) markProgress() {
	rn.mu.Lock()
	rn.lastProgress = time.Now()
	rn.mu.Unlock()
}

func (rn *run) stalledFor() time.Duration {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return time.Since(rn.lastProgress)
}

// parked is how many messages the run holds on purpose (unroutable, or not
// selected): when the DLQ holds no more than these, the run is done.
func (rn *run) parked() int {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	n := len(rn.unroutable)
	if len(rn.selected) > 0 {
		for id := range rn.seen {
			if !rn.selected[id] {
				n++
			}
		}
	}
	return n
}

func (rn *run) worker(ctx context.Context) error {
	r, p, j := rn.r, rn.p, rn.j
	idle, fails := 0, 0
	// Short polls while messages flow; after an empty one, a few short
	// pauses (another worker may be finishing the last batch), then 1 s
	// long polls while messages stay in flight.
	var wait int32
	empties := 0
	for {
		if ctx.Err() != nil || rn.finished.Err() != nil {
			return nil
		}
		if len(rn.selected) > 0 && j.allDone(rn.selected) {
			rn.finish()
			return nil
		}
		if time.Since(rn.start) > r.opts.MaxRun {
			return fmt.Errorf("%w: %s: stopped after %s (the run's time limit); resume the journal to go on", ErrIncomplete, p.DLQ, r.opts.MaxRun)
		}
		if d := rn.stalledFor(); d > r.opts.Stall {
			return fmt.Errorf("%w: %s: nothing moved for %s: the messages left are in flight (held by another consumer, or by an interrupted run until their visibility timeout ends); resume the journal later",
				ErrIncomplete, p.DLQ, d.Round(time.Second))
		}
		out, err := r.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(p.DLQURL), MaxNumberOfMessages: 10, VisibilityTimeout: rn.vis, WaitTimeSeconds: wait,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		}, noRetry) // every failed receive is seen here, counted and bounded
		if err != nil {
			if ctx.Err() != nil || rn.finished.Err() != nil {
				return nil
			}
			if fails++; fails >= maxReceiveErrors {
				return fmt.Errorf("%w: %s: ReceiveMessage failed %d times in a row: %w", ErrIncomplete, p.DLQ, fails, err)
			}
			sleep(ctx, min(time.Duration(fails)*100*time.Millisecond, 2*time.Second))
			continue
		}
		fails = 0
		if len(out.Messages) == 0 {
			// Nothing visible: done if nothing is in flight either (beyond
			// what the run holds on purpose); else wait for it, bounded by Stall.
			if rn.drained(ctx) {
				rn.finish()
				return nil
			}
			if empties++; empties < 5 {
				select {
				case <-rn.finished.Done():
				case <-time.After(100 * time.Millisecond):
				}
			} else {
				wait = 1
			}
			continue
		}
		wait, empties = 0, 0
		moved, err := rn.round(ctx, out.Messages)
		if err != nil {
			return err
		}
		if moved {
			idle = 0
			rn.markProgress()
		} else if idle++; idle >= idleRounds {
			idle = 0
			if rn.drained(ctx) {
				rn.finish()
				return nil
			}
		}
	}
}

// drained reports whether the DLQ holds nothing the run could still move.
func (rn *run) drained(ctx context.Context) bool {
	a, err := rn.r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(rn.p.DLQURL),
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"},
	})
	if err != nil {
		return false
	}
	visible, err1 := strconv.Atoi(a.Attributes["ApproximateNumberOfMessages"])
	inflight, err2 := strconv.Atoi(a.Attributes["ApproximateNumberOfMessagesNotVisible"])
	delayed, _ := strconv.Atoi(a.Attributes["ApproximateNumberOfMessagesDelayed"]) // absent on some endpoints
	if err1 != nil || err2 != nil {
		return false
	}
	return visible+inflight+delayed <= rn.parked()
}

// round handles one receive: deletes what was confirmed before, holds what
// can't or shouldn't move, sends the rest. It reports whether anything new
// happened (a message seen for the first time, or moved).
func (rn *run) round(ctx context.Context, msgs []sqstypes.Message) (bool, error) {
	j := rn.j
	progressed := false
	var toDelete []sqstypes.Message
	byTarget := map[string][]sqstypes.Message{}
	var targets []string
	var mine []string
	for _, m := range msgs {
		id := aws.ToString(m.MessageId)
		rn.mu.Lock()
		if !rn.seen[id] {
			rn.seen[id] = true
			progressed = true
		}
		_, bad := rn.unroutable[id]
		busy := rn.inflight[id]
		rn.mu.Unlock()
		switch {
		case busy:
			// Another worker still sends it (its visibility ran out first):
			// give this receive back so the message isn't hidden for a
			// whole timeout; once confirmed, the next receive deletes it.
			rn.giveBack(ctx, []sqstypes.Message{m})
			continue
		case j.isSent(id):
			toDelete = append(toDelete, m) // confirmed before: delete, don't resend
			continue
		case len(rn.selected) > 0 && !rn.selected[id], bad:
			rn.hold(m, "")
			continue
		}
		target, why := rn.route(ctx, m)
		if target == "" {
			rn.hold(m, why)
			continue
		}
		if _, ok := byTarget[target]; !ok {
			targets = append(targets, target)
		}
		byTarget[target] = append(byTarget[target], m)
		rn.mu.Lock()
		rn.inflight[id] = true
		rn.mu.Unlock()
		mine = append(mine, id)
	}
	defer func() {
		rn.mu.Lock()
		for _, id := range mine {
			delete(rn.inflight, id)
		}
		rn.mu.Unlock()
	}()
	for i, t := range targets {
		if ctx.Err() != nil {
			// Interrupted before sending: give these back now rather than
			// leave them invisible for the visibility timeout.
			for _, rest := range targets[i:] {
				rn.giveBack(ctx, byTarget[rest])
			}
			break
		}
		send := rn.send
		if strings.HasPrefix(t, lambdaPrefix) {
			send = rn.invoke
		}
		confirmed, err := send(ctx, t, byTarget[t])
		toDelete = append(toDelete, confirmed...)
		if err != nil {
			rn.r.deleteBatch(context.WithoutCancel(ctx), rn.p.DLQURL, j, toDelete)
			return progressed, err
		}
	}
	if len(toDelete) > 0 {
		progressed = true
		rn.r.deleteBatch(context.WithoutCancel(ctx), rn.p.DLQURL, j, toDelete)
	}
	done, dups, _ := j.counts()
	rn.progress(Progress{Moved: done, Total: rn.p.Count, Duplicates: dups})
	return progressed, nil
}

// hold keeps a message the run won't move until the run ends (so the next
// receive finds others), recording why when it is unroutable.
func (rn *run) hold(m sqstypes.Message, why string) {
	id := aws.ToString(m.MessageId)
	rn.mu.Lock()
	rn.held[id] = m
	first := false
	if why != "" {
		_, known := rn.unroutable[id]
		first = !known
		rn.unroutable[id] = why
	}
	rn.mu.Unlock()
	if first {
		_ = rn.j.appendNoSync(record{Op: "unroutable", ID: id, Reason: why})
	}
}

// route finds where a message goes: --to, else its DeadLetterQueueSourceArn,
// else the DLQ's only source. "" comes with the reason there is no route.
func (rn *run) route(ctx context.Context, m sqstypes.Message) (string, string) {
	p := rn.p
	if p.TargetURL != "" {
		return p.TargetURL, ""
	}
	src := m.Attributes["DeadLetterQueueSourceArn"]
	if src == "" {
		if sub, why, ok := rn.snsSubscriptionOf(m); ok {
			if why != "" {
				return "", why
			}
			return rn.snsRoute(ctx, sub)
		}
		if t, why, ok := rn.routeByContent(ctx, m); ok {
			return t, why
		}
		if p.DefaultURL != "" {
			return p.DefaultURL, ""
		}
		if req, code := m.MessageAttributes["RequestID"].StringValue, m.MessageAttributes["ErrorCode"].StringValue; req != nil && code != nil {
			if p.LambdaFunction != "" && rn.r.brokers.Lambda != nil {
				return lambdaPrefix + p.LambdaFunction, ""
			}
			return "", fmt.Sprintf("a Lambda async-invocation DLQ message (RequestID %s, ErrorCode %s) names no function: replay it to lambda:NAME, or say --to", clip(*req, 60), clip(*code, 40))
		}
		if n := len(p.SNSSubscriptions); n > 0 {
			return "", fmt.Sprintf("no DeadLetterQueueSourceArn and no SNS envelope, and %d SNS subscriptions and %d queues dead-letter here: say --to", n, len(p.Sources))
		}
		if n := len(p.Sources); n > 1 {
			return "", fmt.Sprintf("no DeadLetterQueueSourceArn, and %d queues name this DLQ: say --to", n)
		}
		return "", "no DeadLetterQueueSourceArn, and no queue names this DLQ in its RedrivePolicy: say --to"
	}
	return rn.queueRoute(ctx, src, "its source queue")
}

// queueRoute is the URL of the queue an ARN names (what: the queue's part,
// for the reason), looked up once per run when the answer is final.
func (rn *run) queueRoute(ctx context.Context, src, what string) (string, string) {
	rn.mu.Lock()
	rt, ok := rn.routes[src]
	rn.mu.Unlock()
	if ok {
		return rt.url, rt.reason
	}
	u, err := rn.r.url(ctx, src)
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && (api.ErrorCode() == "QueueDoesNotExist" || api.ErrorCode() == "AWS.SimpleQueueService.NonExistentQueue") {
			rt = route{reason: what + " " + queueName(src) + " no longer exists: say --to"}
		} else {
			// Not known to be final: not cached, so a later receive tries again.
			return "", what + " " + queueName(src) + " could not be looked up: " + clip(err.Error(), 120)
		}
	} else {
		rt = route{url: u}
	}
	rn.mu.Lock()
	rn.routes[src] = rt
	rn.mu.Unlock()
	return rt.url, rt.reason
}

// send copies messages to one target. Each attempt is journaled before it
// starts; its outcome after. It returns the messages whose copy is
// confirmed (safe to delete); the others are given back to the DLQ at once,
// or held as unroutable when the target refuses them for good.
func (rn *run) send(ctx context.Context, target string, list []sqstypes.Message) ([]sqstypes.Message, error) {
	r, j := rn.r, rn.j
	var entries []sqstypes.SendMessageBatchRequestEntry
	byEntry := map[string]sqstypes.Message{}
	var before []record
	for i, m := range list {
		id := aws.ToString(m.MessageId)
		attrs := map[string]sqstypes.MessageAttributeValue{}
		for k, v := range m.MessageAttributes {
			attrs[k] = v
		}
		if len(attrs) < 10 {
			attrs["flowtop-replay-of"] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(id)}
		}
		if j.prior(id) && len(attrs) < 10 {
			// An earlier attempt's outcome is unknown: the target may hold a copy.
			attrs["flowtop-resend"] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("true")}
		}
		e := sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: m.Body, MessageAttributes: attrs}
		if th := m.Attributes["AWSTraceHeader"]; th != "" {
			e.MessageSystemAttributes = map[string]sqstypes.MessageSystemAttributeValue{"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String(th)}}
		}
		if g := m.Attributes["MessageGroupId"]; g != "" {
			e.MessageGroupId = aws.String(g)
			if d := m.Attributes["MessageDeduplicationId"]; d != "" {
				e.MessageDeduplicationId = aws.String(d) // SQS drops a resend within 5 minutes
			}
		}
		entries = append(entries, e)
		byEntry[strconv.Itoa(i)] = m
		if !j.wasReceived(id) {
			before = append(before, record{
				Op: "recv", ID: id, Body: aws.ToString(m.Body), Attrs: m.MessageAttributes, Trace: m.Attributes["AWSTraceHeader"],
				Group: m.Attributes["MessageGroupId"], Dedup: m.Attributes["MessageDeduplicationId"], Target: target,
			})
		}
		before = append(before, record{Op: "sending", ID: id})
	}
	// The copies to be, and the attempt, on disk before the attempt.
	if err := j.append(before...); err != nil {
		rn.giveBack(ctx, list)
		return nil, err
	}
	out, err := r.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(target), Entries: entries}, noRetry)
	if err != nil {
		var recs []record
		final, definite := refusal(err)
		op := "uncertain"
		if definite {
			op = "failed"
		}
		for _, m := range list {
			recs = append(recs, record{Op: op, ID: aws.ToString(m.MessageId), Reason: clip(err.Error(), 200)})
		}
		// Journaled before the message can go again.
		if jerr := j.append(recs...); jerr != nil {
			rn.giveBack(ctx, list)
			return nil, jerr
		}
		if final != "" {
			for _, m := range list {
				rn.hold(m, "the target "+queueName(target)+" refused it: "+final)
			}
			return nil, nil
		}
		rn.giveBack(ctx, list) // so it goes again soon, not after the visibility timeout
		return nil, nil
	}
	if r.opts.crashAfterSend != nil && r.opts.crashAfterSend() {
		return nil, errCrash
	}
	var recs []record
	var confirmed, again []sqstypes.Message
	for _, s := range out.Successful {
		m, ok := byEntry[aws.ToString(s.Id)]
		if !ok {
			continue
		}
		delete(byEntry, aws.ToString(s.Id))
		recs = append(recs, record{Op: "sent", ID: aws.ToString(m.MessageId), NewID: aws.ToString(s.MessageId), Target: target})
		confirmed = append(confirmed, m)
	}
	for _, f := range out.Failed {
		m, ok := byEntry[aws.ToString(f.Id)]
		if !ok {
			continue
		}
		delete(byEntry, aws.ToString(f.Id))
		why := aws.ToString(f.Code) + ": " + aws.ToString(f.Message)
		recs = append(recs, record{Op: "failed", ID: aws.ToString(m.MessageId), Reason: clip(why, 200)})
		if f.SenderFault {
			rn.hold(m, "the target "+queueName(target)+" refused it: "+clip(why, 160))
		} else {
			again = append(again, m)
		}
	}
	for _, m := range byEntry { // neither confirmed nor refused: unknown
		recs = append(recs, record{Op: "uncertain", ID: aws.ToString(m.MessageId), Reason: "not in the answer"})
		again = append(again, m)
	}
	// Written through to the OS before anything is deleted (a killed process
	// loses nothing written). Not synced: the copy is safe in the target
	// already, and if a machine crash lost these lines, the messages still
	// in the DLQ would go again — counted as possible duplicates, since
	// their attempts have no outcome on disk.
	if err := j.appendNoSync(recs...); err != nil {
		return nil, err
	}
	rn.giveBack(ctx, again)
	return confirmed, nil
}

// refusal classifies a failed send. definite: the service answered, so
// nothing was delivered. final: the answer means trying again won't help
// (the reason, for the list); "" for throttling and server errors.
func refusal(err error) (final string, definite bool) {
	var api smithy.APIError
	var re *smithyhttp.ResponseError
	status := 0
	if errors.As(err, &re) && re.Response != nil {
		status = re.HTTPStatusCode()
	}
	if !errors.As(err, &api) || status == 0 || status >= 500 {
		return "", false // lost answer, timeout, or a server error: it may have been done
	}
	if status == http.StatusTooManyRequests || retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
		return "", true
	}
	switch api.ErrorCode() {
	case "RequestThrottled", "ThrottlingException", "Throttling", "KmsThrottled":
		return "", true
	}
	return clip(api.ErrorCode()+": "+api.ErrorMessage(), 160), true
}

// errCrash is what a simulated crash returns (tests only).
var errCrash = errors.New("replay: simulated crash")

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// giveBack makes messages visible again at once, even when ctx is done
// (bounded by giveBackTimeout), and counts what it could not give back.
func (rn *run) giveBack(ctx context.Context, msgs []sqstypes.Message) {
	if len(msgs) == 0 {
		return
	}
	rn.mu.Lock()
	for _, m := range msgs {
		// Once given back it is no longer this worker's: another may take it.
		delete(rn.inflight, aws.ToString(m.MessageId))
	}
	rn.mu.Unlock()
	ok, failed := giveBack(ctx, rn.r.sqs, rn.p.DLQURL, msgs)
	rn.mu.Lock()
	rn.released += ok
	rn.releaseFail += failed
	rn.mu.Unlock()
}

// visibilityChanger is the part of the SQS client giveBack needs.
type visibilityChanger interface {
	ChangeMessageVisibilityBatch(context.Context, *sqs.ChangeMessageVisibilityBatchInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// giveBack sets each message's visibility to 0 in batches of ten, retrying
// one by one what a batch refused; it returns how many went back and failed.
func giveBack(ctx context.Context, c visibilityChanger, url string, msgs []sqstypes.Message) (ok, failed int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), giveBackTimeout)
	defer cancel()
	for len(msgs) > 0 {
		n := min(10, len(msgs))
		batch := msgs[:n]
		msgs = msgs[n:]
		var entries []sqstypes.ChangeMessageVisibilityBatchRequestEntry
		for i, m := range batch {
			entries = append(entries, sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
		}
		var retryOne []sqstypes.Message
		out, err := c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			retryOne = batch
		} else {
			ok += len(out.Successful)
			for _, f := range out.Failed {
				if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < len(batch) {
					retryOne = append(retryOne, batch[i])
				} else {
					failed++
				}
			}
		}
		for _, m := range retryOne {
			if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
				failed++
			} else {
				ok++
			}
		}
	}
	return ok, failed
}

// deleteBatch deletes confirmed messages from the DLQ and journals each
// deletion. A deletion that fails is tried again when the message comes back.
func (r *Replayer) deleteBatch(ctx context.Context, url string, j *journal, msgs []sqstypes.Message) {
	for len(msgs) > 0 {
		k := min(10, len(msgs))
		var entries []sqstypes.DeleteMessageBatchRequestEntry
		byEntry := map[string]string{}
		for i, m := range msgs[:k] {
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
			byEntry[strconv.Itoa(i)] = aws.ToString(m.MessageId)
		}
		msgs = msgs[k:]
		out, err := r.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			continue
		}
		var recs []record
		for _, s := range out.Successful {
			recs = append(recs, record{Op: "deleted", ID: byEntry[aws.ToString(s.Id)]})
		}
		_ = j.appendNoSync(recs...)
	}
}
