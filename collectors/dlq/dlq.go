// Package dlq finds SQS dead-letter queues, polls their depth, and peeks at
// their messages without removing them, so each dead-lettered message joins
// its event in the graph.
//
// A peek is a ReceiveMessage followed at once by ChangeMessageVisibility to 0,
// which gives the messages back. The SDK omits VisibilityTimeout: 0 from a
// request, so a naive receive would hide messages for the queue's default;
// this package always asks for a short explicit timeout and then releases.
// A peek still raises each message's receive count, as any receive does, so
// the background does as few as it can: it reads depth (GetQueueAttributes),
// peeks only when a DLQ gained messages, and stops receiving once it has
// found that many messages it had not seen; a message already seen is never
// received again just to refresh the list. With [Config.ReadOnly] the
// background never receives at all (depth only); [Source.Peek], which a user
// asks for, still does.
package dlq

import (
	"context"
	"encoding/json"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/tracing"
)

// API is the part of the SQS client this package uses.
type API interface {
	ListQueues(ctx context.Context, in *sqs.ListQueuesInput, opts ...func(*sqs.Options)) (*sqs.ListQueuesOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, opts ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// DefaultPeekEvery is [Config.PeekEvery]'s default.
const DefaultPeekEvery = 5 * time.Second

// maxShortPeeks is how many peeks in a row look again for messages a peek
// was asked for and did not find (the rest of a growth), each waiting twice
// as long as the one before: PeekEvery, then 2, 4 … 32 times it (at the
// default, over five minutes in all). Each raises the receive count of
// the messages it receives again, so it does not go on for ever.
const maxShortPeeks = 6

// Config sets the collector.
type Config struct {
	Queues   []string      // queue names to watch besides the discovered DLQs
	Poll     time.Duration // depth poll interval (default 5s)
	PeekMax  int           // messages peeked per DLQ per change (default 50)
	Discover time.Duration // how often to list queues again (default 1m)
	Options  tracing.UnwrapOptions
	// ReadOnly keeps the background from receiving at all: it reads depth
	// only, so no receive count ever rises on its account (cmd sets it
	// from --read-only).
	ReadOnly bool
	// PeekEvery is the least time between two background peeks of one DLQ
	// (default 5s, the poll): a DLQ that keeps growing is peeked at most
	// that often, and a DLQ that holds steady is never peeked again. A
	// minute hid new dead letters from the console (and lineage) for as long.
	PeekEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// FailureQueues, when set, names the queues that are on-failure
	// destinations (of event source mappings, of async invocations): they
	// are dead-letter queues no RedrivePolicy names, watched and peeked as
	// DLQs. It is asked at every poll (the topology source fills it).
	FailureQueues func() []string
}

// Stats counts what the source did to the queues it peeked.
type Stats struct {
	Receives int // ReceiveMessage calls
	Peeked   int // distinct messages received by background peeks
	Released int // messages given back (visibility 0)
	// ReleaseRetried counts messages a ChangeMessageVisibilityBatch refused
	// (or that failed with it) and were retried one by one; ReleaseFailed
	// those that failed one by one too: visible again only after the peek's
	// short visibility timeout.
	ReleaseRetried, ReleaseFailed int
}

// Source watches DLQs.
type Source struct {
	api     API
	cfg     Config
	tracker *collectors.Tracker

	mu        sync.Mutex
	queues    []tracing.QueueInfo
	lastTotal map[string]int             // DLQ → visible + in flight when last looked at
	short     map[string]int             // DLQ → peeks in a row that found fewer than asked
	lastPeek  map[string]time.Time       // DLQ → when the background last peeked
	seen      map[string]map[string]bool // DLQ → message IDs already peeked
	oldest    map[string]time.Time       // DLQ → SentAt of its oldest peeked message
	stats     Stats
}

// New returns a DLQ source.
func New(api API, cfg Config) *Source {
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.PeekMax <= 0 {
		cfg.PeekMax = 50
	}
	if cfg.Discover <= 0 {
		cfg.Discover = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PeekEvery <= 0 {
		cfg.PeekEvery = DefaultPeekEvery
	}
	t := collectors.NewTracker("dlq", cfg.Now)
	if cfg.ReadOnly {
		t.SetMode("polling depth (read-only: no peeks)")
	} else {
		t.SetMode("polling")
	}
	return &Source{api: api, cfg: cfg, tracker: t, lastTotal: map[string]int{}, short: map[string]int{}, lastPeek: map[string]time.Time{}, seen: map[string]map[string]bool{}, oldest: map[string]time.Time{}}
}

// Stats returns what the source has done to the queues so far.
func (s *Source) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Name is "dlq".
func (s *Source) Name() string { return "dlq" }

// Health reports the source's state.
func (s *Source) Health() tracing.SourceHealth { return s.tracker.Health() }

func queueName(url string) string {
	if i := strings.LastIndexAny(url, "/:"); i >= 0 {
		return url[i+1:]
	}
	return url
}

// List finds every queue and its redrive configuration; DLQs are the queues
// some RedrivePolicy names, with their sources.
func (s *Source) List(ctx context.Context) ([]tracing.QueueInfo, error) {
	var urls []string
	p := sqs.NewListQueuesPaginator(s.api, &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsutil.Explain("dlq", "", "sqs:ListQueues", err)
		}
		urls = append(urls, page.QueueUrls...)
	}
	byARN := map[string]*tracing.QueueInfo{}
	var infos []*tracing.QueueInfo
	for _, url := range urls {
		qi, err := s.queueInfo(ctx, url)
		if err != nil {
			if awsutil.Classify(err) == awsutil.KindNotFound {
				continue // deleted since the listing
			}
			return nil, err
		}
		infos = append(infos, qi)
		byARN[qi.ARN] = qi
	}
	for _, qi := range infos {
		if d, ok := byARN[qi.DeadLetterQueue]; ok {
			d.IsDLQ = true
			d.Sources = append(d.Sources, qi.Name)
			qi.DeadLetterQueue = d.Name
		}
	}
	if s.cfg.FailureQueues != nil {
		fq := s.cfg.FailureQueues()
		for _, qi := range infos {
			qi.IsDLQ = qi.IsDLQ || contains(fq, qi.Name)
		}
	}
	out := make([]tracing.QueueInfo, 0, len(infos))
	for _, qi := range infos {
		sort.Strings(qi.Sources)
		out = append(out, *qi)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].IsDLQ != out[j].IsDLQ {
			return out[i].IsDLQ
		}
		return out[i].Name < out[j].Name
	})
	s.mu.Lock()
	s.queues = out
	s.mu.Unlock()
	return out, nil
}

func (s *Source) queueInfo(ctx context.Context, url string) (*tracing.QueueInfo, error) {
	a, err := s.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		return nil, awsutil.Explain("dlq", queueName(url), "sqs:GetQueueAttributes", err)
	}
	attrs := a.Attributes
	qi := &tracing.QueueInfo{Name: queueName(url), URL: url, ARN: attrs["QueueArn"], FIFO: attrs["FifoQueue"] == "true"}
	qi.Depth, _ = strconv.Atoi(attrs["ApproximateNumberOfMessages"])
	qi.InFlight, _ = strconv.Atoi(attrs["ApproximateNumberOfMessagesNotVisible"])
	if rp := attrs["RedrivePolicy"]; rp != "" {
		var p struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     any    `json:"maxReceiveCount"`
		}
		if json.Unmarshal([]byte(rp), &p) == nil {
			qi.DeadLetterQueue = p.DeadLetterTargetArn
			switch v := p.MaxReceiveCount.(type) {
			case float64:
				qi.MaxReceiveCount = int(v)
			case string:
				qi.MaxReceiveCount, _ = strconv.Atoi(v)
			}
		}
	}
	return qi, nil
}

// resolve turns a queue name or URL into a URL.
func (s *Source) resolve(ctx context.Context, queue string) (string, error) {
	if strings.HasPrefix(queue, "http://") || strings.HasPrefix(queue, "https://") {
		return queue, nil
	}
	out, err := s.api.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queueName(queue))})
	if err != nil {
		return "", awsutil.Explain("dlq", queue, "sqs:GetQueueUrl", err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// Peek returns up to max messages of a queue and gives them back at once.
// It is what a user asks for: every message it returns was received once
// more, raising its receive count.
func (s *Source) Peek(ctx context.Context, queue string, max int) ([]tracing.Observation, error) {
	url, err := s.resolve(ctx, queue)
	if err != nil {
		return nil, err
	}
	return s.peek(ctx, url, max, max, nil)
}

// peek receives until it has found want messages not in skip (nil: none
// skipped), or has received limit distinct messages, or the queue has no
// more to give; it holds what it receives so the next receive finds
// others, then gives everything back. Only the new messages are returned.
func (s *Source) peek(ctx context.Context, url string, want, limit int, skip map[string]bool) ([]tracing.Observation, error) {
	name := queueName(url)
	var obs []tracing.Observation
	var held []sqstypes.Message
	defer func() {
		// Give everything back, even when ctx is done.
		s.release(context.WithoutCancel(ctx), url, held)
	}()
	got := map[string]bool{}
	for len(obs) < want && len(got) < limit {
		out, err := s.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: int32(min(10, limit-len(got))),
			VisibilityTimeout: 15, WaitTimeSeconds: 0,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		s.mu.Lock()
		s.stats.Receives++
		s.mu.Unlock()
		if err != nil {
			return obs, awsutil.Explain("dlq", name, "sqs:ReceiveMessage", err)
		}
		if len(out.Messages) == 0 {
			break
		}
		fresh := 0
		for _, m := range out.Messages {
			held = append(held, m)
			id := aws.ToString(m.MessageId)
			if got[id] {
				continue
			}
			got[id] = true
			fresh++
			if skip[id] {
				continue
			}
			obs = append(obs, Observe(name, m, s.cfg.Options))
		}
		if fresh == 0 {
			break
		}
	}
	return obs, nil
}

// release gives messages back (visibility 0): in batches of ten, retrying
// one by one what a batch refused, counting what could not be given back.
func (s *Source) release(ctx context.Context, url string, msgs []sqstypes.Message) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var released, retried, failed int
	for len(msgs) > 0 {
		n := min(10, len(msgs))
		batch := msgs[:n]
		msgs = msgs[n:]
		var entries []sqstypes.ChangeMessageVisibilityBatchRequestEntry
		for i, m := range batch {
			entries = append(entries, sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
		}
		var one []sqstypes.Message
		out, err := s.api.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			one = batch
		} else {
			released += len(out.Successful)
			for _, f := range out.Failed {
				if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < len(batch) {
					one = append(one, batch[i])
				} else {
					failed++
				}
			}
		}
		for _, m := range one {
			retried++
			if _, err := s.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
				failed++
			} else {
				released++
			}
		}
	}
	s.mu.Lock()
	s.stats.Released += released
	s.stats.ReleaseRetried += retried
	s.stats.ReleaseFailed += failed
	s.mu.Unlock()
	if failed > 0 {
		s.tracker.Dropped(failed) // shown per source: messages a peek left hidden for 15s
	}
}

// Observe turns one DLQ message into an observation joined to its event: the
// message's own ID, the keys of every envelope in its body, and its source.
func Observe(queue string, m sqstypes.Message, opts tracing.UnwrapOptions) tracing.Observation {
	body := aws.ToString(m.Body)
	id := aws.ToString(m.MessageId)
	if o, ok := observeKinesisFailure(queue, m); ok {
		return o
	}
	u := tracing.UnwrapWith([]byte(body), opts)
	msg := &tracing.Message{
		Broker: tracing.BrokerSQS, Queue: queue, ID: id, Body: body, Attributes: m.Attributes,
		DeadLetter: true, Layers: u.Layers, Reason: u.Reason,
	}
	msg.ReceiveCount, _ = strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	if ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err == nil {
		msg.SentAt = time.UnixMilli(ms)
	}
	if src := m.Attributes["DeadLetterQueueSourceArn"]; src != "" {
		msg.SourceQueue = queueName(src)
	}
	msg.GroupID, msg.DedupID = m.Attributes["MessageGroupId"], m.Attributes["MessageDeduplicationId"]
	if len(m.MessageAttributes) > 0 {
		msg.UserAttrs = map[string]string{}
		for k, v := range m.MessageAttributes {
			if v.StringValue != nil {
				msg.UserAttrs[k] = *v.StringValue
			} else {
				msg.UserAttrs[k] = "(" + aws.ToString(v.DataType) + ", " + strconv.Itoa(len(v.BinaryValue)) + " bytes)"
			}
		}
	}
	self := tracing.Key{Kind: tracing.KeyMessageID, Value: id}
	keys := append([]tracing.Key{self}, u.Keys...)
	rels := u.Relations
	if len(u.Layers) > 0 && len(u.Layers[0].Keys) > 0 && u.Layers[0].Keys[0] != self {
		rels = append(rels, tracing.Relation{From: self, To: u.Layers[0].Keys[0], Kind: tracing.RelCarries, Evidence: u.Layers[0].Kind.String() + " in the DLQ message body"})
	}
	if orig := msg.UserAttrs["flowtop-replay-of"]; orig != "" && orig != id {
		// A copy flowtop redrove earlier: join it to the original's event.
		rels = append(rels, tracing.Relation{From: self, To: tracing.Key{Kind: tracing.KeyMessageID, Value: orig}, Kind: tracing.RelRedriveOf, Evidence: "flowtop-replay-of attribute"})
	}
	at := msg.SentAt
	if at.IsZero() {
		at = time.Now()
	}
	return tracing.Observation{
		Kind: tracing.ObsMessage, Source: "dlq", Time: at,
		Component: tracing.Component{Kind: tracing.ComponentQueue, Name: queue}, Keys: keys, Relations: rels, Message: msg,
	}
}

// Run lists queues, then polls the DLQs' depth and peeks when it changes.
func (s *Source) Run(ctx context.Context, out chan<- tracing.Batch) error {
	var listed time.Time
	collectors.Poll(ctx, s.tracker, s.cfg.Poll, func(ctx context.Context) error {
		relist := s.cfg.Now().Sub(listed) > s.cfg.Discover
		if err := s.poll(ctx, out, relist); err != nil {
			return err
		}
		if relist {
			listed = s.cfg.Now()
		}
		return nil
	})
	return nil
}

func (s *Source) poll(ctx context.Context, out chan<- tracing.Batch, relist bool) error {
	s.mu.Lock()
	queues := append([]tracing.QueueInfo(nil), s.queues...)
	s.mu.Unlock()
	if relist || len(queues) == 0 {
		var err error
		if queues, err = s.List(ctx); err != nil {
			return err
		}
	}
	var b tracing.Batch
	now := s.cfg.Now()
	items := 0
	var failureQueues []string
	if s.cfg.FailureQueues != nil {
		failureQueues = s.cfg.FailureQueues()
	}
	for _, q := range queues {
		q.IsDLQ = q.IsDLQ || contains(failureQueues, q.Name)
		if !q.IsDLQ && !contains(s.cfg.Queues, q.Name) {
			b = append(b, queueObs(q, now))
			continue
		}
		fresh, err := s.queueInfo(ctx, q.URL)
		if err != nil {
			return err
		}
		fresh.IsDLQ, fresh.Sources, fresh.DeadLetterQueue = q.IsDLQ, q.Sources, q.DeadLetterQueue
		if want, limit := s.wantPeek(q.Name, fresh.Depth+fresh.InFlight, now); want > 0 {
			s.mu.Lock()
			seen := s.seen[q.Name]
			if seen == nil {
				seen = map[string]bool{}
				s.seen[q.Name] = seen
			}
			skip := maps.Clone(seen)
			s.mu.Unlock()
			msgs, err := s.peek(ctx, q.URL, want, limit, skip)
			if err != nil {
				return err
			}
			first := time.Time{}
			s.mu.Lock()
			for _, m := range msgs {
				seen[m.Message.ID] = true
				if first.IsZero() || m.Message.SentAt.Before(first) {
					first = m.Message.SentAt
				}
			}
			s.stats.Peeked += len(msgs)
			s.shortfall(q.Name, want, len(msgs))
			if old := s.oldest[q.Name]; !first.IsZero() && (old.IsZero() || first.Before(old)) {
				s.oldest[q.Name] = first
			}
			s.mu.Unlock()
			b = append(b, msgs...)
			items += len(msgs)
		}
		if fresh.Depth+fresh.InFlight == 0 {
			s.mu.Lock()
			delete(s.oldest, q.Name)
			delete(s.seen, q.Name)
			s.mu.Unlock()
		}
		s.mu.Lock()
		if first := s.oldest[q.Name]; !first.IsZero() && fresh.Depth > 0 {
			fresh.OldestAge = now.Sub(first)
		}
		s.mu.Unlock()
		b = append(b, queueObs(*fresh, now))
	}
	s.tracker.OK(items, time.Time{})
	if len(b) == 0 {
		return nil
	}
	select {
	case out <- b:
	case <-ctx.Done():
	}
	return nil
}

// wantPeek says how many new messages to look for in a DLQ, and how many
// distinct messages the peek may receive while looking: all of them (up to
// PeekMax) the first time; when the total (visible + in flight) grew, as
// many as arrived, receiving (and holding) as many of the DLQ's messages as
// it takes to reach them, up to PeekMax: SQS cannot receive only the new
// ones, and stopping one batch beyond the count found only old messages
// once a DLQ held more than a few; none when it
// held or fell, none within PeekEvery of the last peek (the growth waits),
// and none ever in read-only mode. Counting messages in flight too keeps a
// peek's own receives (and a redrive's) from looking like a change.
func (s *Source) wantPeek(queue string, total int, now time.Time) (want, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, known := s.lastTotal[queue]
	switch {
	case s.cfg.ReadOnly || total == 0:
	case !known:
		want, limit = min(total, s.cfg.PeekMax), s.cfg.PeekMax
	case total > last:
		if now.Sub(s.lastPeek[queue]) < s.cfg.PeekEvery<<s.short[queue] {
			return 0, 0 // too soon: keep the old total, so the growth is seen later
		}
		want = min(total-last, s.cfg.PeekMax)
		limit = min(total, s.cfg.PeekMax)
	}
	s.lastTotal[queue] = total
	if want > 0 {
		s.lastPeek[queue] = now
	}
	return want, limit
}

// shortfall notes what a peek asked for and found (the caller holds s.mu).
// A peek can find fewer new messages than the DLQ grew by: a short poll
// samples a subset of SQS's servers, and a message another reader holds is
// invisible until it is given back. The rest of the growth is then looked
// for again, each time after twice the wait, up to maxShortPeeks times in a
// row; a message hidden longer is found when the DLQ next grows.
func (s *Source) shortfall(queue string, want, found int) {
	if found >= want || s.short[queue] >= maxShortPeeks {
		s.short[queue] = 0
		return
	}
	s.short[queue]++
	s.lastTotal[queue] -= want - found
}

func queueObs(q tracing.QueueInfo, at time.Time) tracing.Observation {
	return tracing.Observation{Kind: tracing.ObsQueue, Source: "dlq", Time: at, Component: tracing.Component{Kind: tracing.ComponentQueue, Name: q.Name}, Queue: &q}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
