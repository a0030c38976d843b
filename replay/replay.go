// Package replay is the only code in flowtop that changes anything in AWS: it
// redrives dead-letter queues. Every action is a pure, printable plan first
// (what --dry-run prints), then Execute(ctx, plan).
//
// A journaled redrive never loses a message: each received message is written
// to a local journal and synced before it is sent; each send attempt is
// journaled before it starts, and the target's confirmation before the DLQ
// copy is deleted. Sends are never retried silently by the SDK: an attempt
// whose answer was lost is journaled as uncertain and the message goes again
// later, so every copy that may have arrived twice is counted. After a crash
// or Ctrl-C, Resume reads the journal: what was confirmed is deleted without
// being sent again, what was not is sent again marked flowtop-resend.
//
// Nothing is left invisible: a message flowtop can't route is given back to
// the DLQ at once and listed with the reason, and every wait and loop is
// bounded (rounds without progress, total time), so a run always ends with a
// summary. One lock per DLQ in the state directory refuses a second redrive.
package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ErrReadOnly is returned by every action when flowtop runs read-only.
var ErrReadOnly = errors.New("replay: refused: flowtop runs with --read-only")

// ErrIncomplete is wrapped by the error a redrive returns when it ended with
// messages still in the DLQ (unroutable, not found, stalled or out of time);
// the [Result] lists them. Nothing was lost: they are in the DLQ, visible.
var ErrIncomplete = errors.New("replay: redrive incomplete")

// SQS is the part of the SQS client replay uses.
type SQS interface {
	GetQueueUrl(context.Context, *sqs.GetQueueUrlInput, ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ListDeadLetterSourceQueues(context.Context, *sqs.ListDeadLetterSourceQueuesInput, ...func(*sqs.Options)) (*sqs.ListDeadLetterSourceQueuesOutput, error)
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(context.Context, *sqs.ChangeMessageVisibilityBatchInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	StartMessageMoveTask(context.Context, *sqs.StartMessageMoveTaskInput, ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error)
	ListMessageMoveTasks(context.Context, *sqs.ListMessageMoveTasksInput, ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error)
	CancelMessageMoveTask(context.Context, *sqs.CancelMessageMoveTaskInput, ...func(*sqs.Options)) (*sqs.CancelMessageMoveTaskOutput, error)
}

// Options configures a [Replayer].
type Options struct {
	ReadOnly bool
	StateDir string // journals, locks and the audit log live here
	// Visibility is how long a received batch is hidden (default 30 s): a
	// batch moves in milliseconds, and a receive whose answer is lost (seen
	// now and then: the client's connection closed while it reads the
	// answer) hides its messages for this long.
	Visibility  time.Duration
	RatePerSec  int // native move rate; 0 lets SQS choose
	Concurrency int // journaled receive loops at once (default 4; 1 for FIFO or a selection)
	// MaxRun bounds a journaled run (default 1h); it then stops, resumable.
	MaxRun time.Duration
	// Stall ends a journaled run that has made no progress for this long
	// (default Visibility + 15s: long enough for messages an interrupted run
	// held to become visible again).
	Stall time.Duration
	// PollEvery is how often a native move task's progress is read (default 200ms).
	PollEvery time.Duration
	Now       func() time.Time
	// crashAfterSend, for tests, simulates a crash between the target's
	// confirmation and its journal record.
	crashAfterSend func() bool
}

// Replayer carries out redrives.
type Replayer struct {
	sqs     SQS
	opts    Options
	brokers Brokers
}

// New returns a Replayer.
func New(c SQS, o Options) *Replayer {
	if o.Visibility <= 0 {
		o.Visibility = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxRun <= 0 {
		o.MaxRun = time.Hour
	}
	if o.Stall <= 0 {
		o.Stall = o.Visibility + 15*time.Second
	}
	if o.PollEvery <= 0 {
		o.PollEvery = 200 * time.Millisecond
	}
	return &Replayer{sqs: c, opts: o}
}

// Method is how messages move.
type Method string

// Methods.
const (
	MethodAuto      Method = "auto"
	MethodNative    Method = "native"    // SQS's own message move task
	MethodJournaled Method = "journaled" // receive, journal, send, confirm, delete
)

// RedriveRequest is what the user asked for.
type RedriveRequest struct {
	DLQ        string   // name or URL
	To         string   // target queue name or URL; "" = each message's source queue
	MessageIDs []string // a selection; empty = all
	Method     Method
	// ConsumerErrors maps message IDs to the consumer error that dead-lettered
	// them (from the graph), to group the plan and warn about unfixed errors.
	ConsumerErrors map[string]string
	// Bodies maps message IDs to the bodies known of them (from the graph):
	// a stream's on-failure record among them is named in the plan by the
	// shard and sequence range it points at.
	Bodies map[string]string
}

// RedrivePlan is what a redrive will do. It is a value: print it, confirm,
// then hand it to Execute.
type RedrivePlan struct {
	DLQ, DLQURL, DLQARN string
	Count               int      // messages in the DLQ now (or selected)
	Sources             []string // source queues named by RedrivePolicies
	SourceURLs          []string // their URLs, in the same order
	Target              string   // "" = each message's source queue
	TargetURL           string
	// DefaultURL is where a message without DeadLetterQueueSourceArn goes
	// when there is no Target: the DLQ's only source queue ("" = nowhere:
	// such a message is given back and listed).
	DefaultURL string
	DefaultARN string
	// LambdaFunction is the function whose DeadLetterConfig names this DLQ,
	// when exactly one does: a Lambda async DLQ message (RequestID,
	// ErrorCode, ErrorMessage) is invoked on it again.
	LambdaFunction string
	// SNSSubscriptions are the SNS subscriptions whose RedrivePolicy names
	// this DLQ: a message one of them dead-lettered goes back to its endpoint.
	SNSSubscriptions []SNSSubscription
	// Route says where messages go and the evidence for it, in words.
	Route string
	// Evidence is the configuration that dead-letters into this DLQ, read
	// while planning (RedrivePolicies, EventBridge rule targets).
	Evidence   []string
	Method     Method
	Why        string
	Warnings   []string
	Groups     map[string]int // consumer error → messages
	MessageIDs []string
	FIFO       bool
	Created    time.Time
	// Kinesis are the stream on-failure records known to be in the DLQ:
	// pointers to records in their stream, which a redrive gives back.
	Kinesis []KinesisPointer
}

// Lines is the plan as text, one line each.
func (p RedrivePlan) Lines() []string {
	what := fmt.Sprintf("%d messages", p.Count)
	if len(p.MessageIDs) > 0 {
		what = fmt.Sprintf("%d selected messages", len(p.MessageIDs))
	}
	if n := len(p.Kinesis); n > 0 {
		what += fmt.Sprintf(" (%d of them stream on-failure records: pointers to records in a stream, not messages)", n)
	}
	out := []string{
		fmt.Sprintf("redrive %s from %s", what, p.DLQ),
		"to:     " + p.Route,
	}
	out = append(out, p.kinesisLines()...) // kinesisplan.go
	out = append(out, fmt.Sprintf("method: %s (%s)", p.Method, p.Why))
	for _, e := range p.Evidence {
		out = append(out, "why:    "+e)
	}
	if len(p.Groups) > 0 {
		keys := make([]string, 0, len(p.Groups))
		for k := range p.Groups {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, fmt.Sprintf("  %d × %s", p.Groups[k], k))
		}
	}
	for _, w := range p.Warnings {
		out = append(out, "warning: "+w)
	}
	return out
}

// String is Lines joined.
func (p RedrivePlan) String() string { return strings.Join(p.Lines(), "\n") }

func queueName(s string) string {
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (r *Replayer) url(ctx context.Context, q string) (string, error) {
	if strings.HasPrefix(q, "http://") || strings.HasPrefix(q, "https://") {
		return q, nil
	}
	in := &sqs.GetQueueUrlInput{QueueName: aws.String(queueName(q))}
	if strings.HasPrefix(q, "arn:") {
		// arn:aws:sqs:region:account:name: the queue may belong to another account.
		if parts := strings.Split(q, ":"); len(parts) == 6 && parts[4] != "" {
			in.QueueOwnerAWSAccountId = aws.String(parts[4])
		}
	}
	out, err := r.sqs.GetQueueUrl(ctx, in)
	if err != nil {
		return "", fmt.Errorf("replay: queue %s: %w", q, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func (r *Replayer) queueARN(ctx context.Context, url string) (string, error) {
	a, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		return "", fmt.Errorf("replay: %s: %w", queueName(url), err)
	}
	return a.Attributes["QueueArn"], nil
}

// PlanRedrive builds the plan without changing anything: it reads queue
// attributes and the DLQ's source queues, and never receives a message.
func (r *Replayer) PlanRedrive(ctx context.Context, req RedriveRequest) (RedrivePlan, error) {
	p := RedrivePlan{DLQ: queueName(req.DLQ), Target: req.To, Method: req.Method, Groups: map[string]int{}, MessageIDs: req.MessageIDs, Created: r.opts.Now()}
	var err error
	if p.DLQURL, err = r.url(ctx, req.DLQ); err != nil {
		return p, err
	}
	a, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.DLQURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		return p, fmt.Errorf("replay: %s: %w", p.DLQ, err)
	}
	p.DLQARN = a.Attributes["QueueArn"]
	p.Count, _ = strconv.Atoi(a.Attributes["ApproximateNumberOfMessages"])
	p.FIFO = a.Attributes["FifoQueue"] == "true"
	sourcesKnown := true
	if src, err := r.sqs.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(p.DLQURL)}); err == nil {
		for _, u := range src.QueueUrls {
			p.Sources = append(p.Sources, queueName(u))
			p.SourceURLs = append(p.SourceURLs, u)
		}
	} else {
		sourcesKnown = false
		p.Warnings = append(p.Warnings, "the DLQ's source queues are unknown (ListDeadLetterSourceQueues: "+clip(err.Error(), 160)+")")
	}
	if len(p.Sources) > 0 {
		p.Evidence = append(p.Evidence, "the RedrivePolicy of "+strings.Join(p.Sources, ", ")+" names this DLQ")
	}
	ebFound, ebNote := r.eventBridgeEvidence(ctx, p.DLQARN)
	if line := evidenceLine(ebFound); line != "" {
		p.Evidence = append(p.Evidence, line+" (its messages carry TARGET_ARN: each goes back to its target)")
	}
	if ebNote != "" {
		p.Warnings = append(p.Warnings, ebNote)
	}
	fns, fnNote := r.lambdaDLQFunctions(ctx, p.DLQARN)
	switch {
	case len(fns) == 1:
		p.LambdaFunction = fns[0]
		p.Evidence = append(p.Evidence, "the DeadLetterConfig of function "+queueName(fns[0])+" names this DLQ (its failed asynchronous invocations, with RequestID and ErrorCode, are invoked on it again asynchronously)")
	case len(fns) > 1:
		p.Warnings = append(p.Warnings, fmt.Sprintf("%d functions dead-letter into this DLQ; their messages name none, so they can't be routed", len(fns)))
	}
	if fnNote != "" {
		p.Warnings = append(p.Warnings, fnNote)
	}
	subs, subNote := r.snsSubscriptionsFor(ctx, p.DLQARN)
	p.SNSSubscriptions = subs
	for i, s := range subs {
		if i == 5 {
			p.Evidence = append(p.Evidence, fmt.Sprintf("and %d more SNS subscriptions", len(subs)-5))
			break
		}
		p.Evidence = append(p.Evidence, s.describe()+" dead-letters here (its RedrivePolicy names this DLQ); messages go back to "+s.endpoint())
	}
	if subNote != "" {
		p.Warnings = append(p.Warnings, subNote)
	}
	noSource := false // no queue names the DLQ, and that is known
	if p.Target != "" {
		if p.TargetURL, err = r.url(ctx, p.Target); err != nil {
			return p, err
		}
		p.Target = queueName(p.Target)
		p.Route = p.Target + " (asked for with --to)"
		ta, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.TargetURL), AttributeNames: []sqstypes.QueueAttributeName{"FifoQueue"}})
		if err == nil && (ta.Attributes["FifoQueue"] == "true") != p.FIFO {
			p.Warnings = append(p.Warnings, "the target's FIFO setting differs from the DLQ's: group and deduplication IDs can't be carried as they are")
		}
	} else {
		p.Route = "each message's source queue, named by its DeadLetterQueueSourceArn (an SNS subscription's notification: that subscription's endpoint, not its topic; an EventBridge rule-target DLQ message: its TARGET_ARN; a Lambda on-failure destination record: its function, invoked again asynchronously with requestPayload)"
		switch {
		case len(p.SourceURLs) == 1:
			p.DefaultURL = p.SourceURLs[0]
			p.DefaultARN, _ = r.queueARN(ctx, p.DefaultURL)
			p.Route += "; a message without it goes to " + p.Sources[0] + ", the only queue whose RedrivePolicy names this DLQ (ListDeadLetterSourceQueues)"
		case len(p.SourceURLs) > 1:
			p.Route += fmt.Sprintf("; a message without it can't be routed (%d queues name this DLQ: %s): it is given back and listed; say --to to send every message to one queue", len(p.Sources), strings.Join(p.Sources, ", "))
		case sourcesKnown:
			p.Route += "; any other message can't be routed (no queue names this DLQ in its RedrivePolicy): it is given back and listed; say --to"
			noSource = true
		default:
			p.Route += "; a message without it can't be routed: it is given back and listed; say --to"
		}
		switch {
		case len(subs) == 1 && len(p.SourceURLs) == 0:
			p.Route = fmt.Sprintf("%s, the endpoint of SNS %s, which dead-letters here; not the topic, whose other subscribers had the messages already. Other messages: %s", queueName(subs[0].Endpoint), subs[0].describe(), p.Route)
		case len(subs) > 0:
			p.Route = fmt.Sprintf("each SNS notification to the endpoint of the subscription that dead-lettered it (%d subscriptions dead-letter here; an enveloped one names its subscription, a raw one names none and needs --to), not to its topic. Other messages: %s", len(subs), p.Route)
		}
	}
	streams := r.planStreams(ctx, &p, req) // kinesisplan.go
	if noSource && !streams && len(ebFound) == 0 && p.LambdaFunction == "" && len(subs) == 0 {
		p.Warnings = append(p.Warnings, "no queue names this DLQ in its RedrivePolicy: messages sent to it directly (by SNS, EventBridge or Lambda) carry no source queue; those that name no target either need --to")
	}
	if len(req.MessageIDs) > 0 {
		p.Count = len(req.MessageIDs)
	}
	for id, e := range req.ConsumerErrors {
		if len(req.MessageIDs) > 0 && !contains(req.MessageIDs, id) {
			continue
		}
		if e == "" {
			e = "error unknown"
		}
		p.Groups[e]++
	}
	if len(p.Groups) > 0 {
		p.Warnings = append(p.Warnings, "the consumer errors above may still be unfixed: redriving before the fix sends the messages back to the DLQ")
	}
	if p.FIFO {
		p.Warnings = append(p.Warnings, "FIFO: each copy keeps its group and deduplication ID, and per-group order is kept; SQS drops a copy with a deduplication ID it saw in the last 5 minutes, so a resend within 5 minutes can't arrive twice, one after that can (counted as possible)")
	}
	p.Warnings = append(p.Warnings, "consumers see these messages again: they must be idempotent (a flowtop-replay-of attribute marks each copy)")
	switch {
	case p.Method == MethodJournaled:
		p.Why = "asked for"
	case len(req.MessageIDs) > 0:
		p.Method, p.Why = MethodJournaled, "a selection of messages can't be moved by a native move task"
	case p.Method == MethodNative:
		p.Why = "asked for"
	case len(subs) > 0 && p.Target == "":
		p.Method, p.Why = MethodJournaled, "an SNS subscription dead-letters here: its messages name no source queue, so a move task can't send them back to the subscription's endpoint"
	case sourcesKnown && len(p.Sources) == 0:
		p.Method, p.Why = MethodJournaled, "no queue names this DLQ in its RedrivePolicy, so SQS can't move its messages with a move task"
	default:
		p.Method, p.Why = MethodNative, "SQS moves every message itself; if the endpoint can't start a move task, flowtop moves them itself (journaled) and says why"
	}
	return p, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Progress reports a redrive as it runs.
type Progress struct {
	Moved, Total int
	Duplicates   int // possible duplicates so far
	Note         string
}

// Unroutable is a message a redrive could not send anywhere: it was given
// back to the DLQ (visible again at once) and stays there.
type Unroutable struct {
	MessageID string
	Reason    string
}

// Result is how a redrive ended.
type Result struct {
	Method Method
	// Moved is how many messages reached the target: for a journaled run,
	// copies confirmed and deleted from the DLQ; for a native task, the
	// task's own ApproximateNumberOfMessagesMoved.
	Moved int
	// Total is what Moved counts towards: the task's
	// ApproximateNumberOfMessagesToMove (never less than Moved), or the plan's
	// count for a journaled run. Show "Moved of Total".
	Total int
	// Duplicates counts copies that may have reached the target twice: an
	// attempt whose answer was lost, or a crash between a send and its
	// record, followed by another attempt. Reported ≥ delivered, always.
	Duplicates int
	// Uncertain counts send attempts whose outcome was unknown.
	Uncertain int
	// Unroutable lists the messages given back because they had no route.
	Unroutable []Unroutable
	// NotFound lists selected messages the DLQ did not return.
	NotFound []string
	// Released counts messages given back to the DLQ (visibility 0);
	// ReleaseFailed those it refused even one by one (visible again after
	// the visibility timeout).
	Released, ReleaseFailed int
	FellBack                bool
	// FallbackReason says why a native redrive became journaled.
	FallbackReason string
	Journal        string
	Note           string
}

// Lines is the result as text, for a summary.
func (res Result) Lines() []string {
	out := []string{fmt.Sprintf("moved %d of %d messages (%s)", res.Moved, max(res.Total, res.Moved), res.Method)}
	if res.FellBack {
		out = append(out, "fell back to journaled: "+res.FallbackReason)
	}
	if res.Duplicates > 0 {
		out = append(out, fmt.Sprintf("%d may have arrived twice (an answer lost or a run interrupted; copies sent again are marked flowtop-resend)", res.Duplicates))
	}
	if len(res.Unroutable) > 0 {
		out = append(out, fmt.Sprintf("%d could not be routed and are back in the DLQ, visible:", len(res.Unroutable)))
		for i, u := range res.Unroutable {
			if i == 20 {
				out = append(out, fmt.Sprintf("  … and %d more (the journal lists them all)", len(res.Unroutable)-20))
				break
			}
			out = append(out, "  "+u.MessageID+": "+u.Reason)
		}
	}
	if len(res.NotFound) > 0 {
		out = append(out, fmt.Sprintf("%d selected messages were not found in the DLQ: %s", len(res.NotFound), strings.Join(res.NotFound[:min(10, len(res.NotFound))], ", ")))
	}
	if res.ReleaseFailed > 0 {
		out = append(out, fmt.Sprintf("%d messages could not be given back at once: they are visible again when their visibility timeout ends", res.ReleaseFailed))
	}
	if res.Note != "" {
		out = append(out, res.Note)
	}
	return out
}

// Execute carries out a plan. A native plan falls back to journaled on its
// own when the endpoint can't start a message move task, and says why.
func (r *Replayer) Execute(ctx context.Context, p RedrivePlan, progress func(Progress)) (Result, error) {
	if r.opts.ReadOnly {
		return Result{}, ErrReadOnly
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	if r.opts.StateDir == "" {
		return Result{}, errors.New("replay: no state directory for the journal and the lock")
	}
	lk, err := acquireLock(r.opts.StateDir, p.DLQ, r.opts.Now())
	if err != nil {
		return Result{}, err
	}
	defer lk.unlock()
	r.audit("redrive start", p.String(), nil)
	if p.Method == MethodNative {
		res, started, err := r.native(ctx, p, progress)
		if started || ctx.Err() != nil {
			r.audit("redrive end", fmt.Sprintf("%+v", res), err)
			return res, err
		}
		why := whyNoTask(err)
		progress(Progress{Note: "no message move task (" + why + "): falling back to a journaled redrive"})
		p.Method = MethodJournaled
		res, err = r.journaled(ctx, p, "", progress)
		res.FellBack, res.FallbackReason = true, why
		res.Note = "the endpoint could not start a message move task (" + why + "), so flowtop moved the messages itself (journaled)"
		r.audit("redrive end", fmt.Sprintf("%+v", res), err)
		return res, err
	}
	res, err := r.journaled(ctx, p, "", progress)
	r.audit("redrive end", fmt.Sprintf("%+v", res), err)
	return res, err
}

// Journals lists unfinished journals in the state directory.
func (r *Replayer) Journals() ([]string, error) {
	return filepath.Glob(filepath.Join(r.opts.StateDir, "redrive-*.journal"))
}

// Resume finishes a journaled redrive from its journal. A damaged journal is
// refused at once ([ErrJournalDamaged], naming file:line); a DLQ another
// process redrives is refused ([ErrLocked]).
func (r *Replayer) Resume(ctx context.Context, journalPath string, progress func(Progress)) (Result, error) {
	if r.opts.ReadOnly {
		return Result{}, ErrReadOnly
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	if _, err := os.Stat(journalPath); err != nil {
		return Result{}, fmt.Errorf("replay: journal: %w", err)
	}
	return r.journaled(ctx, RedrivePlan{}, journalPath, progress)
}

// audit appends one line to the audit log in the state directory.
func (r *Replayer) audit(action, detail string, err error) {
	if r.opts.StateDir == "" {
		return
	}
	_ = os.MkdirAll(r.opts.StateDir, 0o700)
	f, ferr := os.OpenFile(filepath.Join(r.opts.StateDir, "audit.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if ferr != nil {
		return
	}
	defer f.Close()
	rec := map[string]string{"time": r.opts.Now().UTC().Format(time.RFC3339Nano), "action": action, "detail": detail}
	if err != nil {
		rec["error"] = err.Error()
	}
	b, _ := json.Marshal(rec)
	_, _ = f.Write(append(b, '\n'))
}
