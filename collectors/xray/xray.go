// Package xray reads X-Ray traces: trace summaries over sliding windows, then
// the traces themselves in batches of five, each segment document (and its
// subsegments) becoming a span.
package xray

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/collectors/linked"
	"github.com/flowtop/flowtop/tracing"
)

// API is the part of the X-Ray client this package uses.
type API interface {
	GetTraceSummaries(ctx context.Context, in *awsxray.GetTraceSummariesInput, opts ...func(*awsxray.Options)) (*awsxray.GetTraceSummariesOutput, error)
	BatchGetTraces(ctx context.Context, in *awsxray.BatchGetTracesInput, opts ...func(*awsxray.Options)) (*awsxray.BatchGetTracesOutput, error)
}

// Config sets the collector.
type Config struct {
	Poll     time.Duration // window step (default 5s)
	Overlap  time.Duration // how far each window reaches back for late segments (default 30s)
	Lookback time.Duration // the first window (default 1m)
	Filter   string        // an X-Ray filter expression, when tailing one event
	Now      func() time.Time
	// Linked says whether the account is a cross-account observability
	// monitoring account, whose traces hold linked accounts' segments: each
	// span is then stamped with its account (crossaccount.go).
	Linked *linked.Detector
	// LinkedMaxTraces bounds the traces one poll reads in a monitoring
	// account, where every linked account's traces arrive (default 1000).
	LinkedMaxTraces int
}

// Source polls X-Ray.
type Source struct {
	api     API
	cfg     Config
	tracker *collectors.Tracker

	mu   sync.Mutex
	seen map[string]time.Time // segment id + end time → when seen

	cut xaCut // traces a monitoring account's bound left unread (crossaccount.go)
}

// New returns an X-Ray source.
func New(api API, cfg Config) *Source {
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.Overlap <= 0 {
		cfg.Overlap = 30 * time.Second
	}
	if cfg.Lookback <= 0 {
		cfg.Lookback = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := collectors.NewTracker("xray", cfg.Now)
	t.SetMode("polling")
	return &Source{api: api, cfg: cfg, tracker: t, seen: map[string]time.Time{}}
}

// Name is "xray".
func (s *Source) Name() string { return "xray" }

// Health reports the source's state; in a monitoring account its mode says
// how many traces the bound left unread (crossaccount.go).
func (s *Source) Health() tracing.SourceHealth {
	h := s.tracker.Health()
	h.Mode += s.linkedMode()
	return h
}

// Run polls sliding windows until ctx ends.
func (s *Source) Run(ctx context.Context, out chan<- tracing.Batch) error {
	from := s.cfg.Now().Add(-s.cfg.Lookback)
	collectors.Poll(ctx, s.tracker, s.cfg.Poll, func(ctx context.Context) error {
		to := s.cfg.Now()
		defer s.prune(to)
		b, err := s.Collect(ctx, from.Add(-s.cfg.Overlap), to)
		if err != nil {
			return err
		}
		from = to
		if len(b) > 0 {
			select {
			case out <- b:
			case <-ctx.Done():
			}
		}
		return nil
	})
	return nil
}

func (s *Source) prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.seen {
		if now.Sub(t) > 10*time.Minute {
			delete(s.seen, k)
		}
	}
}

// Collect reads the traces that started in [from, to], returning only segments
// not seen before (a completed segment replaces its in-progress copy).
func (s *Source) Collect(ctx context.Context, from, to time.Time) (tracing.Batch, error) {
	var ids []string
	in := &awsxray.GetTraceSummariesInput{StartTime: aws.Time(from), EndTime: aws.Time(to)}
	if s.cfg.Filter != "" {
		in.FilterExpression = aws.String(s.cfg.Filter)
	}
	xacct := monitoring(ctx, s.cfg.Linked)
	bound := s.linkedBound(xacct) // 0: none
	p := awsxray.NewGetTraceSummariesPaginator(s.api, in)
	for pages := 0; p.HasMorePages(); pages++ {
		if bound > 0 && pages == maxSummaryPages {
			s.linkedCut(0, true)
			break
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsutil.Explain("xray", "", "xray:GetTraceSummaries", err)
		}
		for _, t := range page.TraceSummaries {
			if bound > 0 && len(ids) == bound {
				s.linkedCut(1, false)
				continue
			}
			ids = append(ids, aws.ToString(t.Id))
		}
	}
	var b tracing.Batch
	var newest time.Time
	for len(ids) > 0 {
		n := min(len(ids), 5)
		out, err := s.api.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: ids[:n]})
		if err != nil {
			return b, awsutil.Explain("xray", "", "xray:BatchGetTraces", err)
		}
		for _, t := range out.Traces {
			var all []tracing.Observation
			var cuts []int // beside each of all: what the span limits cut of it
			for _, seg := range t.Segments {
				doc := aws.ToString(seg.Document)
				obs, cut, err := parseSegment([]byte(doc))
				if err != nil {
					s.tracker.Unparsed(1)
					continue
				}
				if xacct {
					stampAccount(obs, []byte(doc))
				}
				all = append(all, obs...)
				cuts = append(cuts, cut...)
			}
			resolveCauses(all)                  // exceptions.go: a cause another segment recorded
			all = append(all, apiJoins(all)...) // apigw.go
			for i, o := range all {
				key := seenKey(o)
				s.mu.Lock()
				_, dup := s.seen[key]
				s.seen[key] = s.cfg.Now()
				s.mu.Unlock()
				if dup {
					continue
				}
				if i < len(cuts) {
					// Counted once, when the span is first emitted, as the
					// OTLP collector counts what AddEvent cut.
					s.tracker.Truncated(cuts[i])
				}
				if o.Span != nil && o.Span.Start.After(newest) {
					newest = o.Span.Start
				}
				b = append(b, o)
			}
		}
		ids = ids[n:]
	}
	s.tracker.OK(len(b), newest)
	return b, nil
}

// segment is an X-Ray segment or subsegment document, as much as flowtop reads.
type segment struct {
	ID          string            `json:"id"`
	TraceID     string            `json:"trace_id"`
	ParentID    string            `json:"parent_id"`
	Name        string            `json:"name"`
	Origin      string            `json:"origin"`
	Namespace   string            `json:"namespace"`
	Type        string            `json:"type"`
	StartTime   json.Number       `json:"start_time"`
	EndTime     json.Number       `json:"end_time"`
	InProgress  bool              `json:"in_progress"`
	Error       bool              `json:"error"`
	Fault       bool              `json:"fault"`
	Throttle    bool              `json:"throttle"`
	Cause       json.RawMessage   `json:"cause"`
	AWS         map[string]any    `json:"aws"`
	HTTP        map[string]any    `json:"http"`
	Annotations map[string]any    `json:"annotations"`
	Links       []segmentLink     `json:"links"`
	Subsegments []json.RawMessage `json:"subsegments"`
}

type segmentLink struct {
	TraceID string `json:"trace_id"`
	ID      string `json:"id"`
}

// stepFunctions marks the segments of a Step Functions execution for
// their subsegments (parse's fn otherwise names a Lambda function).
const stepFunctions = "\x00states"

// maxDoc bounds a segment document (X-Ray's limit is 64 KB).
const maxDoc = 1 << 20

// ParseSegment turns one segment document (with its nested subsegments) into
// span observations with their keys and relations. Start and end times may be
// in any JSON number notation.
func ParseSegment(doc []byte) ([]tracing.Observation, error) {
	obs, _, err := parseSegment(doc)
	return obs, err
}

// parseSegment is ParseSegment, and beside each observation how much the
// span limits cut of it (its exceptions, exceptions.go), for the source's
// truncated count. A cause given as an exception ID is resolved against the
// exceptions of the same document here; the collector resolves it against
// the whole trace again.
func parseSegment(doc []byte) ([]tracing.Observation, []int, error) {
	if len(doc) > maxDoc {
		return nil, nil, fmt.Errorf("xray: segment document of %d bytes is too large", len(doc))
	}
	var p parsed
	if err := parse(doc, "", "", "", 0, &p); err != nil {
		return nil, nil, err
	}
	resolveCauses(p.obs)
	return p.obs, p.cut, nil
}

// parsed is what parse gives: the spans of a document, and beside each
// what the span limits cut of it.
type parsed struct {
	obs []tracing.Observation
	cut []int
}

func parse(doc []byte, traceID, parentID, fn string, depth int, out *parsed) error {
	if depth > 32 {
		return errors.New("xray: subsegments nested too deep")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var seg segment
	if err := dec.Decode(&seg); err != nil {
		return fmt.Errorf("xray: segment document: %w", err)
	}
	if seg.TraceID == "" {
		seg.TraceID = traceID
	}
	if seg.ParentID == "" {
		seg.ParentID = parentID
	}
	tid, err := tracing.ParseTraceID(seg.TraceID)
	if err != nil {
		return fmt.Errorf("xray: segment %q: %w", seg.ID, err)
	}
	sid, err := tracing.ParseSpanID(seg.ID)
	if err != nil {
		return fmt.Errorf("xray: segment: %w", err)
	}
	start, err := seconds(seg.StartTime)
	if err != nil {
		return fmt.Errorf("xray: segment %s: start_time: %w", seg.ID, err)
	}
	sp := &tracing.Span{TraceID: tid, SpanID: sid, Name: seg.Name, Service: seg.Name, Start: start, InProgress: seg.InProgress, Kind: tracing.SpanKindServer, Attrs: map[string]string{}}
	if seg.ParentID != "" {
		sp.ParentID, _ = tracing.ParseSpanID(seg.ParentID)
		sp.Kind = tracing.SpanKindInternal
	}
	if !seg.InProgress {
		if end, err := seconds(seg.EndTime); err == nil {
			sp.End = end
		}
	}
	cut := 0
	switch {
	case seg.Fault || seg.Error || seg.Throttle:
		sp.Status = tracing.StatusError
		if len(seg.Cause) > 0 {
			var c struct {
				Exceptions []struct{ Message, Type string } `json:"exceptions"`
			}
			if json.Unmarshal(seg.Cause, &c) == nil && len(c.Exceptions) > 0 {
				sp.StatusMessage = strings.TrimSpace(c.Exceptions[0].Type + " " + c.Exceptions[0].Message)
			}
			cut = causeEvents(sp, seg.Cause, sp.End) // exceptions.go
		}
	default:
		sp.Status = tracing.StatusOK
	}
	comp := tracing.Component{Kind: tracing.ComponentService, Name: seg.Name}
	if seg.Origin == "AWS::StepFunctions::StateMachine" {
		fn = stepFunctions
	}
	switch {
	case fn == stepFunctions:
		// A Step Functions execution and its states fill the waterfall; the
		// sfn collector counts executions, from their history, once.
		comp = tracing.Component{}
	case strings.HasPrefix(seg.Origin, "AWS::Lambda") || fn != "":
		if fn == "" {
			fn = seg.Name
		}
		comp = tracing.Component{Kind: tracing.ComponentFunction, Name: fn}
	}
	self := tracing.SpanKey(tid, sid)
	keys := []tracing.Key{{Kind: tracing.KeyTraceID, Value: tid.String()}, self}
	var rels []tracing.Relation
	if sp.ParentID.IsValid() {
		rels = append(rels, tracing.Relation{From: self, To: tracing.SpanKey(tid, sp.ParentID), Kind: tracing.RelChildOf, Evidence: "x-ray parent_id"})
	}
	for k, v := range seg.AWS {
		if s, ok := v.(string); ok && len(s) <= 256 {
			sp.Attrs["aws."+k] = s
		}
	}
	if req, _ := seg.AWS["request_id"].(string); req != "" {
		sp.InvocationID = req
		keys = append(keys, tracing.Key{Kind: tracing.KeyRequestID, Value: req})
		rels = append(rels, tracing.Relation{From: tracing.Key{Kind: tracing.KeyTraceID, Value: tid.String()}, To: tracing.Key{Kind: tracing.KeyRequestID, Value: req}, Kind: tracing.RelContains, Evidence: "x-ray segment aws.request_id"})
	}
	op, _ := seg.AWS["operation"].(string)
	if msgID, _ := seg.AWS["message_id"].(string); msgID != "" {
		sp.Messaging = tracing.Messaging{System: "aws_sqs", MessageID: msgID, Operation: strings.ToLower(op)}
		if q, _ := seg.AWS["queue_url"].(string); q != "" {
			sp.Messaging.Destination = q[strings.LastIndexByte(q, '/')+1:]
		}
		msgKey := tracing.Key{Kind: tracing.KeyMessageID, Value: msgID}
		switch op {
		case "SendMessage", "SendMessageBatch":
			sp.Kind = tracing.SpanKindProducer
			rels = append(rels, tracing.Relation{From: self, To: msgKey, Kind: tracing.RelPublished, Evidence: "x-ray SQS SendMessage subsegment"})
		default:
			sp.Kind = tracing.SpanKindConsumer
			rels = append(rels, tracing.Relation{From: self, To: msgKey, Kind: tracing.RelConsumed, Evidence: "x-ray SQS subsegment"})
		}
	}
	for _, l := range seg.Links {
		lt, err1 := tracing.ParseTraceID(l.TraceID)
		ls, err2 := tracing.ParseSpanID(l.ID)
		if err1 == nil && err2 == nil {
			sp.Links = append(sp.Links, tracing.Link{TraceID: lt, SpanID: ls})
			rels = append(rels, tracing.Relation{From: self, To: tracing.SpanKey(lt, ls), Kind: tracing.RelLinks, Evidence: "x-ray link"})
		}
	}
	for k, v := range seg.Annotations {
		if len(sp.Attrs) < 24 {
			sp.Attrs["annotation."+k] = fmt.Sprint(v)
		}
		if k == "cold_start" && fmt.Sprint(v) == "true" {
			sp.ColdStart = true
		}
	}
	if m, _ := seg.HTTP["request"].(map[string]any); m != nil {
		if v, ok := m["method"].(string); ok {
			sp.Attrs["http.method"] = v
		}
		if v, ok := m["url"].(string); ok && len(v) <= 512 {
			sp.Attrs["http.url"] = v
		}
	}
	o := tracing.Observation{Kind: tracing.ObsSpan, Source: "xray", Time: start, Component: comp, Keys: keys, Relations: rels, Span: sp}
	apiStage(&seg, &o) // apigw.go
	out.obs = append(out.obs, o)
	out.cut = append(out.cut, cut)
	for _, sub := range seg.Subsegments {
		if err := parse(sub, seg.TraceID, seg.ID, fn, depth+1, out); err != nil {
			return err
		}
	}
	return nil
}

// seconds reads an epoch-seconds number in any JSON notation (1.478293361271E9).
func seconds(n json.Number) (time.Time, error) {
	if n == "" {
		return time.Time{}, errors.New("missing")
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("not an epoch-seconds number: %q", string(n))
	}
	// X-Ray times carry microseconds at most; rounding there undoes float noise.
	return time.UnixMicro(int64(math.Round(f * 1e6))).UTC(), nil
}
