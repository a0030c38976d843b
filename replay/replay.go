// Package replay is the only code in flowtop that changes anything in AWS: it
// redrives dead-letter queues. Every action is a pure, printable plan first
// (what --dry-run prints), then Execute(ctx, plan).
//
// A journaled redrive never loses a message: each received message is written
// to a local journal and synced before it is sent; the target's confirmation
// is journaled before the DLQ copy is deleted. After a crash or Ctrl-C,
// Resume reads the journal: what was confirmed is deleted without being sent
// again, what was not is sent again marked flowtop-resend. Where a crash fell
// between the target accepting a message and the journal recording it, the
// resend is a duplicate; those are counted and reported, never silently made.
package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// ErrReadOnly is returned by every action when flowtop runs read-only.
var ErrReadOnly = errors.New("replay: refused: flowtop runs with --read-only")

// SQS is the part of the SQS client replay uses.
type SQS interface {
	GetQueueUrl(context.Context, *sqs.GetQueueUrlInput, ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ListDeadLetterSourceQueues(context.Context, *sqs.ListDeadLetterSourceQueuesInput, ...func(*sqs.Options)) (*sqs.ListDeadLetterSourceQueuesOutput, error)
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(context.Context, *sqs.ChangeMessageVisibilityBatchInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	StartMessageMoveTask(context.Context, *sqs.StartMessageMoveTaskInput, ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error)
	ListMessageMoveTasks(context.Context, *sqs.ListMessageMoveTasksInput, ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error)
	CancelMessageMoveTask(context.Context, *sqs.CancelMessageMoveTaskInput, ...func(*sqs.Options)) (*sqs.CancelMessageMoveTaskOutput, error)
}

// Options configures a [Replayer].
type Options struct {
	ReadOnly    bool
	StateDir    string        // journals and the audit log live here
	Visibility  time.Duration // how long a received batch is held (default 60s)
	RatePerSec  int           // native move rate; 0 lets SQS choose
	Concurrency int           // journaled receive loops at once (default 4; 1 for FIFO or a selection)
	Now         func() time.Time
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
		o.Visibility = 60 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
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
}

// RedrivePlan is what a redrive will do. It is a value: print it, confirm,
// then hand it to Execute.
type RedrivePlan struct {
	DLQ, DLQURL, DLQARN string
	Count               int      // messages in the DLQ now (or selected)
	Sources             []string // source queues named by RedrivePolicies
	Target              string   // "" = each message's source queue
	TargetURL           string
	Method              Method
	Why                 string
	Warnings            []string
	Groups              map[string]int // consumer error → messages
	MessageIDs          []string
	FIFO                bool
	Created             time.Time
}

// Lines is the plan as text, one line each.
func (p RedrivePlan) Lines() []string {
	target := p.Target
	if target == "" {
		target = "each message's source queue (" + strings.Join(p.Sources, ", ") + ")"
	}
	what := fmt.Sprintf("%d messages", p.Count)
	if len(p.MessageIDs) > 0 {
		what = fmt.Sprintf("%d selected messages", len(p.MessageIDs))
	}
	out := []string{
		fmt.Sprintf("redrive %s from %s", what, p.DLQ),
		"to:     " + target,
		fmt.Sprintf("method: %s (%s)", p.Method, p.Why),
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
	out, err := r.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queueName(q))})
	if err != nil {
		return "", fmt.Errorf("replay: queue %s: %w", q, err)
	}
	return aws.ToString(out.QueueUrl), nil
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
	if src, err := r.sqs.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(p.DLQURL)}); err == nil {
		for _, u := range src.QueueUrls {
			p.Sources = append(p.Sources, queueName(u))
		}
	}
	if p.Target != "" {
		if p.TargetURL, err = r.url(ctx, p.Target); err != nil {
			return p, err
		}
		p.Target = queueName(p.Target)
		ta, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.TargetURL), AttributeNames: []sqstypes.QueueAttributeName{"FifoQueue"}})
		if err == nil && (ta.Attributes["FifoQueue"] == "true") != p.FIFO {
			p.Warnings = append(p.Warnings, "the target's FIFO setting differs from the DLQ's: group and deduplication IDs can't be carried as they are")
		}
	} else if len(p.Sources) == 0 {
		p.Warnings = append(p.Warnings, "no queue names this DLQ in its RedrivePolicy: messages go back to the queue named by their DeadLetterQueueSourceArn, or stay")
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
		p.Warnings = append(p.Warnings, "FIFO: a message resent within 5 minutes with the same deduplication ID is dropped by SQS; per-group order is kept")
	}
	p.Warnings = append(p.Warnings, "consumers see these messages again: they must be idempotent (a flowtop-replay-of attribute marks each copy)")
	switch {
	case p.Method == MethodJournaled:
		p.Why = "asked for"
	case len(req.MessageIDs) > 0:
		p.Method, p.Why = MethodJournaled, "a selection of messages can't be moved by a native move task"
	case p.Method == MethodNative:
		p.Why = "asked for"
	default:
		p.Method, p.Why = MethodNative, "SQS moves every message itself (falls back to journaled where the endpoint has no move tasks)"
	}
	return p, nil
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
	Note         string
}

// Result is how a redrive ended.
type Result struct {
	Method     Method
	Moved      int // copies confirmed by the target and deleted from the DLQ
	Duplicates int // messages that may have reached the target twice (a crash between send and journal)
	FellBack   bool
	Journal    string
	Note       string
}

// Execute carries out a plan. A native plan falls back to journaled on its
// own when the endpoint has no message move tasks, and says so.
func (r *Replayer) Execute(ctx context.Context, p RedrivePlan, progress func(Progress)) (Result, error) {
	if r.opts.ReadOnly {
		return Result{}, ErrReadOnly
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	r.audit("redrive start", p.String(), nil)
	if p.Method == MethodNative {
		res, err := r.native(ctx, p, progress)
		if err == nil || !unsupported(err) {
			r.audit("redrive end", fmt.Sprintf("%+v", res), err)
			return res, err
		}
		progress(Progress{Note: "the endpoint has no message move tasks: falling back to a journaled redrive"})
		p.Method = MethodJournaled
		res, err = r.journaled(ctx, p, "", progress)
		res.FellBack = true
		res.Note = "the endpoint has no message move tasks, so flowtop moved the messages itself (journaled)"
		r.audit("redrive end", fmt.Sprintf("%+v", res), err)
		return res, err
	}
	res, err := r.journaled(ctx, p, "", progress)
	r.audit("redrive end", fmt.Sprintf("%+v", res), err)
	return res, err
}

func unsupported(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "UnknownOperationException", "InvalidAction", "NotImplemented":
			return true
		}
	}
	return false
}

func (r *Replayer) native(ctx context.Context, p RedrivePlan, progress func(Progress)) (Result, error) {
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(p.DLQARN)}
	if p.TargetURL != "" {
		ta, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.TargetURL), AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
		if err != nil {
			return Result{}, err
		}
		in.DestinationArn = aws.String(ta.Attributes["QueueArn"])
	}
	if r.opts.RatePerSec > 0 {
		in.MaxNumberOfMessagesPerSecond = aws.Int32(int32(r.opts.RatePerSec))
	}
	task, err := r.sqs.StartMessageMoveTask(ctx, in)
	if err != nil {
		return Result{Method: MethodNative}, err
	}
	for {
		select {
		case <-ctx.Done():
			_, _ = r.sqs.CancelMessageMoveTask(context.WithoutCancel(ctx), &sqs.CancelMessageMoveTaskInput{TaskHandle: task.TaskHandle})
			return Result{Method: MethodNative, Note: "cancelled"}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		l, err := r.sqs.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(p.DLQARN), MaxResults: aws.Int32(1)})
		if err != nil || len(l.Results) == 0 {
			continue
		}
		t := l.Results[0]
		moved := int(t.ApproximateNumberOfMessagesMoved)
		progress(Progress{Moved: moved, Total: int(aws.ToInt64(t.ApproximateNumberOfMessagesToMove)), Note: aws.ToString(t.Status)})
		switch aws.ToString(t.Status) {
		case "COMPLETED":
			return Result{Method: MethodNative, Moved: moved}, nil
		case "FAILED":
			return Result{Method: MethodNative, Moved: moved}, fmt.Errorf("replay: move task failed: %s", aws.ToString(t.FailureReason))
		case "CANCELLED":
			return Result{Method: MethodNative, Moved: moved, Note: "cancelled"}, nil
		}
	}
}

// ---- the journal ----

type record struct {
	Op     string                                    `json:"op"` // plan, recv, sent, deleted
	ID     string                                    `json:"id,omitempty"`
	Body   string                                    `json:"body,omitempty"`
	Attrs  map[string]sqstypes.MessageAttributeValue `json:"attrs,omitempty"`
	Trace  string                                    `json:"trace,omitempty"`
	Group  string                                    `json:"group,omitempty"`
	Dedup  string                                    `json:"dedup,omitempty"`
	Target string                                    `json:"target,omitempty"`
	NewID  string                                    `json:"new_id,omitempty"`
	Plan   *RedrivePlan                              `json:"plan,omitempty"`
}

type journal struct {
	path    string
	f       *os.File
	w       *bufio.Writer
	mu      sync.Mutex
	recv    map[string]record // received, by original message ID
	sent    map[string]string // original ID → target's new ID
	done    map[string]bool   // deleted from the DLQ
	sending map[string]bool   // a send was attempted (its outcome may be unknown)
	plan    RedrivePlan
	// prior are messages an earlier run received but never saw confirmed.
	prior map[string]bool
}

func (j *journal) append(recs ...record) error {
	if err := j.appendNoSync(recs...); err != nil {
		return err
	}
	return j.f.Sync() // on disk before anything depends on it
}

// appendNoSync writes records that are safe to lose in a crash: a lost
// "deleted" only means deleting again, which SQS answers fine.
func (j *journal) appendNoSync(recs ...record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, rec := range recs {
		b, _ := json.Marshal(rec)
		j.w.Write(b)
		j.w.WriteByte('\n')
		j.apply(rec)
	}
	return j.w.Flush()
}

func (j *journal) apply(rec record) {
	switch rec.Op {
	case "plan":
		if rec.Plan != nil {
			j.plan = *rec.Plan
		}
	case "recv":
		j.recv[rec.ID] = rec
	case "sending":
		j.sending[rec.ID] = true
	case "sent":
		j.sent[rec.ID] = rec.NewID
	case "deleted":
		j.done[rec.ID] = true
	}
}

func openJournal(path string) (*journal, error) {
	j := &journal{path: path, recv: map[string]record{}, sent: map[string]string{}, done: map[string]bool{}, sending: map[string]bool{}}
	torn := false
	if data, err := os.ReadFile(path); err == nil {
		torn = len(data) > 0 && data[len(data)-1] != '\n'
		for _, line := range strings.Split(string(data), "\n") {
			var rec record
			if json.Unmarshal([]byte(line), &rec) == nil {
				j.apply(rec) // a torn last line is skipped: it was never synced
			}
		}
	}
	j.prior = map[string]bool{}
	for id := range j.sending {
		if j.sent[id] == "" {
			j.prior[id] = true
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("replay: journal: %w", err)
	}
	j.f, j.w = f, bufio.NewWriter(f)
	if torn {
		// End the torn line, or the next record would be glued to it and lost.
		_ = j.w.WriteByte('\n')
	}
	return j, nil
}

// Journals lists unfinished journals in the state directory.
func (r *Replayer) Journals() ([]string, error) {
	return filepath.Glob(filepath.Join(r.opts.StateDir, "redrive-*.journal"))
}

// Resume finishes a journaled redrive from its journal.
func (r *Replayer) Resume(ctx context.Context, journalPath string, progress func(Progress)) (Result, error) {
	if r.opts.ReadOnly {
		return Result{}, ErrReadOnly
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	return r.journaled(ctx, RedrivePlan{}, journalPath, progress)
}

func (r *Replayer) journaled(ctx context.Context, p RedrivePlan, path string, progress func(Progress)) (Result, error) {
	if r.opts.StateDir == "" {
		return Result{}, errors.New("replay: no state directory for the journal")
	}
	if err := os.MkdirAll(r.opts.StateDir, 0o700); err != nil {
		return Result{}, fmt.Errorf("replay: state directory: %w", err)
	}
	fresh := path == ""
	if fresh {
		path = filepath.Join(r.opts.StateDir, fmt.Sprintf("redrive-%s-%d.journal", p.DLQ, r.opts.Now().UnixNano()))
	}
	j, err := openJournal(path)
	if err != nil {
		return Result{}, err
	}
	defer j.f.Close()
	if fresh {
		p.Method = MethodJournaled
		if err := j.append(record{Op: "plan", Plan: &p}); err != nil {
			return Result{}, err
		}
	} else {
		p = j.plan
	}
	res := Result{Method: MethodJournaled, Journal: path}
	selected := map[string]bool{}
	for _, id := range p.MessageIDs {
		selected[id] = true
	}
	w := &worker{r: r, p: p, j: j, selected: selected, targets: map[string]string{}, progress: progress}
	vis := int32(r.opts.Visibility / time.Second)
	if vis < 1 {
		vis = 1
	}
	w.vis = vis
	n := r.opts.Concurrency
	if n <= 0 {
		n = 4
	}
	if len(selected) > 0 || p.FIFO {
		n = 1 // one receiver keeps a selection simple and FIFO groups in order
	}
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() { errs <- w.run(ctx) }()
	}
	var firstErr error
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	res.Moved = len(j.done)
	res.Duplicates = int(w.dups.Load())
	if firstErr != nil {
		return res, firstErr
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	_ = os.Rename(path, path+".done")
	res.Journal = path + ".done"
	return res, nil
}

// worker is one receive-send-delete loop over a journal; several run at once.
type worker struct {
	r        *Replayer
	p        RedrivePlan
	j        *journal
	selected map[string]bool
	vis      int32
	progress func(Progress)
	dups     atomic.Int64

	mu      sync.Mutex
	targets map[string]string
}

func (w *worker) run(ctx context.Context) error {
	r, p, j := w.r, w.p, w.j
	emptyRounds := 0
	for ctx.Err() == nil {
		if len(w.selected) > 0 && allDone(j, w.selected) {
			return nil
		}
		out, err := r.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(p.DLQURL), MaxNumberOfMessages: 10, VisibilityTimeout: w.vis, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			time.Sleep(100 * time.Millisecond) // throttled or a 5xx the SDK gave up on: try again
			continue
		}
		if len(out.Messages) == 0 {
			a, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.DLQURL), AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
			if err == nil && a.Attributes["ApproximateNumberOfMessages"] == "0" && a.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
				return nil // nothing left, nothing in flight
			}
			if emptyRounds++; len(w.selected) > 0 && emptyRounds > 30 {
				return nil
			}
			continue
		}
		emptyRounds = 0
		var toSend, toDelete, toRelease []sqstypes.Message
		var recs []record
		j.mu.Lock()
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			switch {
			case len(w.selected) > 0 && !w.selected[id]:
				toRelease = append(toRelease, m)
			case j.sent[id] != "":
				toDelete = append(toDelete, m) // confirmed before: delete, don't resend
			default:
				if _, again := j.recv[id]; !again {
					recs = append(recs, record{Op: "recv", ID: id, Body: aws.ToString(m.Body), Attrs: m.MessageAttributes, Trace: m.Attributes["AWSTraceHeader"],
						Group: m.Attributes["MessageGroupId"], Dedup: m.Attributes["MessageDeduplicationId"], Target: m.Attributes["DeadLetterQueueSourceArn"]})
				}
				toSend = append(toSend, m)
			}
		}
		j.mu.Unlock()
		r.release(ctx, p.DLQURL, toRelease)
		sent, err := w.send(ctx, recs, toSend)
		if err != nil {
			return err
		}
		toDelete = append(toDelete, sent...)
		r.deleteBatch(ctx, p.DLQURL, j, toDelete)
		j.mu.Lock()
		done := len(j.done)
		j.mu.Unlock()
		w.progress(Progress{Moved: done, Total: p.Count})
	}
	return nil
}

func (j *journal) isPrior(id string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.prior[id]
}

func (j *journal) takePrior(id string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.prior[id] {
		delete(j.prior, id)
		return true
	}
	return false
}

func allDone(j *journal, selected map[string]bool) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	for id := range selected {
		if !j.done[id] {
			return false
		}
	}
	return true
}

func (r *Replayer) release(ctx context.Context, url string, msgs []sqstypes.Message) {
	for len(msgs) > 0 {
		n := min(10, len(msgs))
		var e []sqstypes.ChangeMessageVisibilityBatchRequestEntry
		for i, m := range msgs[:n] {
			e = append(e, sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		_, _ = r.sqs.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: e})
		msgs = msgs[n:]
	}
}

// send copies messages to their targets, journals each confirmation, and
// returns the messages whose copy is confirmed (safe to delete).
func (w *worker) send(ctx context.Context, recs []record, msgs []sqstypes.Message) ([]sqstypes.Message, error) {
	r, p, j := w.r, w.p, w.j
	byTarget := map[string][]sqstypes.Message{}
	for _, m := range msgs {
		t := p.TargetURL
		if t == "" {
			src := queueName(m.Attributes["DeadLetterQueueSourceArn"])
			if src == "" {
				continue // no source and no target: leave it in the DLQ
			}
			w.mu.Lock()
			u := w.targets[src]
			w.mu.Unlock()
			if u == "" {
				var err error
				if u, err = r.url(ctx, src); err != nil {
					continue
				}
				w.mu.Lock()
				w.targets[src] = u
				w.mu.Unlock()
			}
			t = u
		}
		byTarget[t] = append(byTarget[t], m)
	}
	var confirmed []sqstypes.Message
	for target, list := range byTarget {
		var entries []sqstypes.SendMessageBatchRequestEntry
		byEntry := map[string]sqstypes.Message{}
		for i, m := range list {
			id := aws.ToString(m.MessageId)
			attrs := map[string]sqstypes.MessageAttributeValue{}
			for k, v := range m.MessageAttributes {
				attrs[k] = v
			}
			if len(attrs) < 10 {
				attrs["flowtop-replay-of"] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(id)}
			}
			if j.isPrior(id) && len(attrs) < 10 {
				// Received by a run that stopped before journaling the target's
				// answer: the target may already hold a copy.
				attrs["flowtop-resend"] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("true")}
			}
			e := sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: m.Body, MessageAttributes: attrs}
			if th := m.Attributes["AWSTraceHeader"]; th != "" {
				e.MessageSystemAttributes = map[string]sqstypes.MessageSystemAttributeValue{"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String(th)}}
			}
			if g := m.Attributes["MessageGroupId"]; g != "" {
				e.MessageGroupId = aws.String(g)
				if d := m.Attributes["MessageDeduplicationId"]; d != "" {
					e.MessageDeduplicationId = aws.String(d)
				}
			}
			entries = append(entries, e)
			byEntry[strconv.Itoa(i)] = m
		}
		// The copies to be, and the attempt, on disk before the attempt.
		sending := recs
		recs = nil
		for _, m := range list {
			sending = append(sending, record{Op: "sending", ID: aws.ToString(m.MessageId)})
		}
		if err := j.append(sending...); err != nil {
			return nil, err
		}
		out, err := r.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(target), Entries: entries})
		if err != nil {
			if ctx.Err() != nil {
				return confirmed, nil
			}
			// None confirmed: give them back now so they go again (a FIFO
			// group would otherwise wait out the visibility timeout).
			r.release(ctx, p.DLQURL, list)
			continue
		}
		if r.opts.crashAfterSend != nil && r.opts.crashAfterSend() {
			return confirmed, errCrash
		}
		var sentRecs []record
		for _, s := range out.Successful {
			m := byEntry[aws.ToString(s.Id)]
			id := aws.ToString(m.MessageId)
			sentRecs = append(sentRecs, record{Op: "sent", ID: id, NewID: aws.ToString(s.MessageId)})
			confirmed = append(confirmed, m)
			if j.takePrior(id) {
				w.dups.Add(1) // possibly: counted, reported, never silent
			}
		}
		if err := j.append(sentRecs...); err != nil {
			return nil, err
		}
	}
	return confirmed, nil
}

// errCrash is what a simulated crash returns (tests only).
var errCrash = errors.New("replay: simulated crash")

// deleteBatch deletes confirmed messages from the DLQ and journals each
// deletion; it returns how many went.
func (r *Replayer) deleteBatch(ctx context.Context, url string, j *journal, msgs []sqstypes.Message) int {
	n := 0
	for len(msgs) > 0 {
		k := min(10, len(msgs))
		var entries []sqstypes.DeleteMessageBatchRequestEntry
		byEntry := map[string]string{}
		for i, m := range msgs[:k] {
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
			byEntry[strconv.Itoa(i)] = aws.ToString(m.MessageId)
		}
		out, err := r.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err == nil {
			var recs []record
			for _, s := range out.Successful {
				recs = append(recs, record{Op: "deleted", ID: byEntry[aws.ToString(s.Id)]})
			}
			if j.appendNoSync(recs...) == nil {
				n += len(recs)
			}
		}
		msgs = msgs[k:]
	}
	return n
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
	f.Write(append(b, '\n'))
}
