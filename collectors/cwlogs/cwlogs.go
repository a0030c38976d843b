// Package cwlogs follows Lambda functions' CloudWatch log groups: live through
// StartLiveTail where the endpoint offers it, and otherwise (or by choice)
// through FilterLogEvents polling within one shared budget, with overlapping
// windows for late ingestion and dedupe by event ID. It also collects a time
// window of history, and searches for one event's IDs across many groups with
// a Logs Insights query (search.go).
package cwlogs

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cwlschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/collectors/linked"
	"github.com/flowtop/flowtop/tracing"
)

// API is the part of the CloudWatch Logs client this package uses.
type API interface {
	FilterLogEvents(ctx context.Context, in *cwl.FilterLogEventsInput, opts ...func(*cwl.Options)) (*cwl.FilterLogEventsOutput, error)
	DescribeLogGroups(ctx context.Context, in *cwl.DescribeLogGroupsInput, opts ...func(*cwl.Options)) (*cwl.DescribeLogGroupsOutput, error)
	StartLiveTail(ctx context.Context, in *cwl.StartLiveTailInput, opts ...func(*cwl.Options)) (*cwl.StartLiveTailOutput, error)
	StartQuery(ctx context.Context, in *cwl.StartQueryInput, opts ...func(*cwl.Options)) (*cwl.StartQueryOutput, error)
	GetQueryResults(ctx context.Context, in *cwl.GetQueryResultsInput, opts ...func(*cwl.Options)) (*cwl.GetQueryResultsOutput, error)
}

// Group is one log group to follow, with the function that writes to it.
// A group of a linked source account (cross-account observability) has its
// ARN and account; one of the watched account has neither.
type Group struct {
	Name     string
	Function string
	ARN      string // without ":*"; set only for a linked account's group
	Account  string // the linked account that owns it
}

// Config sets the collector.
type Config struct {
	Groups         []Group        // groups to follow; GroupsFunc adds discovered ones
	Prefixes       []string       // log group name prefixes to discover with DescribeLogGroups
	GroupsFunc     func() []Group // called each round for groups found elsewhere (Lambda configs)
	LiveTail       string         // "auto" (default), "on" or "off"
	CustomEndpoint bool           // disable the SDK's streaming- host prefix for Live Tail
	Poll           time.Duration  // polling interval (default 2s)
	Overlap        time.Duration  // re-read this far back each poll for late ingestion (default 10s)
	Lookback       time.Duration  // first poll starts this far back (default 1m)
	TPS            int            // FilterLogEvents budget for all groups (default 5, AWS's quota)
	// TailRetry and TailRetryMax bound the backoff between Live Tail attempts
	// after it failed (defaults 5s and 5m).
	TailRetry    time.Duration
	TailRetryMax time.Duration
	Options      tracing.LogOptions
	Now          func() time.Time
	// Linked says whether the account is a cross-account observability
	// monitoring account; when it is, linked source accounts' groups are
	// read too (crossaccount.go). Nil reads the watched account only.
	Linked *linked.Detector
	// LinkedLive and LinkedSearch bound the linked groups followed live
	// (default 50) and searched by one Search (default 1000);
	// LinkedRefresh is how often they are listed again (default 1m).
	LinkedLive    int
	LinkedSearch  int
	LinkedRefresh time.Duration
}

// Source follows log groups.
type Source struct {
	api     API
	cfg     Config
	tracker *collectors.Tracker
	budget  *awsutil.Budget

	liveOK atomic.Bool // a Live Tail session is (or was last) open
	xa     xaState     // linked source accounts (crossaccount.go)

	mu     sync.Mutex
	seen   map[string]time.Time // event ID → timestamp, pruned past the overlap
	cursor map[string]int64     // group → newest timestamp read (ms)
}

// New returns a CloudWatch Logs source.
func New(api API, cfg Config) *Source {
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Overlap <= 0 {
		cfg.Overlap = 10 * time.Second
	}
	if cfg.Lookback <= 0 {
		cfg.Lookback = time.Minute
	}
	if cfg.LiveTail == "" {
		cfg.LiveTail = "auto"
	}
	if cfg.TailRetry <= 0 {
		cfg.TailRetry = 5 * time.Second
	}
	if cfg.TailRetryMax <= 0 {
		cfg.TailRetryMax = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LinkedLive <= 0 {
		cfg.LinkedLive = defaultLinkedLive
	}
	if cfg.LinkedSearch <= 0 {
		cfg.LinkedSearch = defaultLinkedSearch
	}
	if cfg.LinkedRefresh <= 0 {
		cfg.LinkedRefresh = defaultLinkedRefresh
	}
	return &Source{
		api: api, cfg: cfg, tracker: collectors.NewTracker("cwlogs", cfg.Now), budget: awsutil.NewBudget(cfg.TPS),
		seen: map[string]time.Time{}, cursor: map[string]int64{},
	}
}

// Name is "cwlogs".
func (s *Source) Name() string { return "cwlogs" }

// Health reports the source's state and mode; in a monitoring account the
// mode also says how many linked groups are followed (crossaccount.go).
func (s *Source) Health() tracing.SourceHealth {
	h := s.tracker.Health()
	h.Mode += s.linkedMode()
	return h
}

// groups returns the groups to follow now.
func (s *Source) groups(ctx context.Context) ([]Group, error) {
	byName := map[string]Group{}
	for _, g := range s.cfg.Groups {
		byName[g.Name] = g
	}
	if s.cfg.GroupsFunc != nil {
		for _, g := range s.cfg.GroupsFunc() {
			if _, ok := byName[g.Name]; !ok {
				byName[g.Name] = g
			}
		}
	}
	for _, prefix := range s.cfg.Prefixes {
		p := cwl.NewDescribeLogGroupsPaginator(s.api, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(prefix)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, awsutil.Explain("cwlogs", prefix+"*", "logs:DescribeLogGroups", err)
			}
			for _, g := range page.LogGroups {
				name := aws.ToString(g.LogGroupName)
				if _, ok := byName[name]; !ok {
					byName[name] = Group{Name: name, Function: strings.TrimPrefix(name, "/aws/lambda/")}
				}
			}
		}
	}
	lg, skipped := s.linkedGroups(ctx, s.cfg.LinkedLive)
	for _, g := range lg {
		byName[g.id()] = g
	}
	s.noteFollowed(len(lg), skipped)
	out := make([]Group, 0, len(byName))
	for _, g := range byName {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id() < out[j].id() })
	return out, nil
}

// observe parses one log event into an observation.
func (s *Source) observe(g Group, stream, id, msg string, ts int64) tracing.Observation {
	if o, ok := accessLog(g, msg, ts); ok { // apigw.go
		return o
	}
	o := tracing.ParseLambdaLog(tracing.LogInput{Group: g.Name, Stream: stream, Function: g.Function, Time: time.UnixMilli(ts), EventID: id, Message: msg}, s.cfg.Options)
	o.Source = "cwlogs"
	o.Component.Account = s.account(g)
	if o.Log != nil && o.Log.Kind == tracing.LogUnparsed {
		s.tracker.Unparsed(1)
	}
	return o
}

// fresh reports whether an event ID is new, remembering it.
func (s *Source) fresh(id string, ts int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[id]; ok {
		return false
	}
	s.seen[id] = time.UnixMilli(ts)
	return true
}

func (s *Source) prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := now.Add(-2*s.cfg.Overlap - s.cfg.Lookback)
	for id, t := range s.seen {
		if t.Before(cut) {
			delete(s.seen, id)
		}
	}
}

// Run follows the groups until ctx ends: Live Tail when it is available and
// allowed, else FilterLogEvents polling. Health's Mode says which. After Live
// Tail fails (an outage, an endpoint without it, a dropped session), Run polls
// in the meantime ("auto") or waits ("on"), and tries Live Tail again with
// backoff; Health says "live tail" again once it is back.
func (s *Source) Run(ctx context.Context, out chan<- tracing.Batch) error {
	defer s.budget.Close()
	if s.cfg.LiveTail == "off" {
		s.tracker.SetMode("polling")
		return s.poll(ctx, out)
	}
	bo := awsutil.Backoff{Min: s.cfg.TailRetry, Max: s.cfg.TailRetryMax}
	for {
		err := s.liveTail(ctx, out)
		if ctx.Err() != nil {
			s.tracker.Stopped()
			return nil
		}
		if err == nil {
			err = errors.New("live tail session ended")
		}
		wait := bo.Next()
		if s.liveOK.Swap(false) {
			bo.Reset() // it worked for a while: this is a new outage
			wait = bo.Next()
		}
		slog.Info("live tail unavailable", tracing.LogKeySource, "cwlogs", tracing.LogKeyError, err.Error(), tracing.LogKeyRetryIn, wait)
		if s.cfg.LiveTail == "on" {
			s.tracker.SetMode("live tail")
			s.tracker.Fail(err, wait)
			if !awsutil.Sleep(ctx, wait) {
				s.tracker.Stopped()
				return nil
			}
			continue
		}
		s.tracker.SetMode("polling (live tail unavailable: " + short(err) + ")")
		pctx, cancel := context.WithTimeout(ctx, wait)
		_ = s.poll(pctx, out)
		cancel()
		if ctx.Err() != nil {
			s.tracker.Stopped()
			return nil
		}
	}
}

func short(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg)-i < 120 {
		msg = msg[i+2:]
	}
	if len(msg) > 120 {
		msg = msg[:120] + "…"
	}
	return msg
}

// poll reads every group with FilterLogEvents each round, from the cursor
// minus the overlap, and emits what it has not seen.
func (s *Source) poll(ctx context.Context, out chan<- tracing.Batch) error {
	collectors.Poll(ctx, s.tracker, s.cfg.Poll, func(ctx context.Context) error {
		defer s.prune(s.cfg.Now())
		groups, err := s.groups(ctx)
		if err != nil {
			return err
		}
		n, newest, err := s.pollOnce(ctx, groups, out)
		if err != nil {
			return err
		}
		s.tracker.OK(n, newest)
		return nil
	})
	return nil
}

func (s *Source) pollOnce(ctx context.Context, groups []Group, out chan<- tracing.Batch) (int, time.Time, error) {
	now := s.cfg.Now()
	total := 0
	var newest time.Time
	var firstErr error
	for _, g := range groups {
		s.mu.Lock()
		start, ok := s.cursor[g.id()]
		s.mu.Unlock()
		if !ok {
			start = now.Add(-s.cfg.Lookback).UnixMilli()
		}
		start -= s.cfg.Overlap.Milliseconds()
		b, maxTS, err := s.read(ctx, g, start, 0, "")
		if err != nil {
			if awsutil.Classify(err) == awsutil.KindNotFound {
				continue // a function that has never run has no group yet
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if maxTS > 0 {
			s.mu.Lock()
			if maxTS > s.cursor[g.id()] {
				s.cursor[g.id()] = maxTS
			}
			s.mu.Unlock()
			if t := time.UnixMilli(maxTS); t.After(newest) {
				newest = t
			}
		} else if !ok {
			s.mu.Lock()
			s.cursor[g.id()] = now.Add(-s.cfg.Lookback).UnixMilli()
			s.mu.Unlock()
		}
		if len(b) > 0 {
			total += len(b)
			select {
			case out <- b:
			case <-ctx.Done():
				return total, newest, ctx.Err()
			}
		}
	}
	return total, newest, firstErr
}

// read pages through FilterLogEvents for one group, within the shared budget,
// keeping events not seen before.
func (s *Source) read(ctx context.Context, g Group, start, end int64, pattern string) (tracing.Batch, int64, error) {
	return s.readPages(ctx, g, start, end, pattern, 100)
}

// readPages is read with a bound on the pages fetched.
func (s *Source) readPages(ctx context.Context, g Group, start, end int64, pattern string, maxPages int) (tracing.Batch, int64, error) {
	return s.readPagesAs(ctx, g, start, end, pattern, maxPages, false)
}

// readPagesAs is readPages; with tailIDs, an event is known by the ID Live
// Tail gives it (its stream, timestamp and message), so what a session
// delivered is not delivered again.
func (s *Source) readPagesAs(ctx context.Context, g Group, start, end int64, pattern string, maxPages int, tailIDs bool) (tracing.Batch, int64, error) {
	in := &cwl.FilterLogEventsInput{LogGroupName: aws.String(g.Name), StartTime: aws.Int64(start)}
	if g.ARN != "" {
		// A linked account's group: only its ARN names it (and the two are exclusive).
		in.LogGroupName, in.LogGroupIdentifier = nil, aws.String(g.ARN)
	}
	if end > 0 {
		in.EndTime = aws.Int64(end)
	}
	if pattern != "" {
		in.FilterPattern = aws.String(pattern)
	}
	var b tracing.Batch
	var maxTS int64
	var bo awsutil.Backoff
	for pages := 0; pages < maxPages; pages++ {
		if err := s.budget.Wait(ctx); err != nil {
			return b, maxTS, err
		}
		page, err := s.api.FilterLogEvents(ctx, in)
		if err != nil {
			if awsutil.Classify(err) == awsutil.KindThrottled && pages < 99 {
				if !awsutil.Sleep(ctx, bo.Next()) {
					return b, maxTS, ctx.Err()
				}
				continue // the same page again, within the budget
			}
			return b, maxTS, awsutil.Explain("cwlogs", g.id(), "logs:FilterLogEvents", err)
		}
		for _, e := range page.Events {
			ts := aws.ToInt64(e.Timestamp)
			if ts > maxTS {
				maxTS = ts
			}
			id := aws.ToString(e.EventId)
			if id == "" || tailIDs {
				id = tailID(aws.ToString(e.LogStreamName), ts, aws.ToString(e.Message))
			}
			if !s.fresh(g.id()+"|"+id, ts) {
				continue
			}
			b = append(b, s.observe(g, aws.ToString(e.LogStreamName), id, aws.ToString(e.Message), ts))
		}
		if page.NextToken == nil || aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	return b, maxTS, nil
}

// Collect reads a time window of history from every group (pattern "" for
// all events, or a filter pattern such as "REPORT").
func (s *Source) Collect(ctx context.Context, from, to time.Time, pattern string) (tracing.Batch, error) {
	groups, err := s.groups(ctx)
	if err != nil {
		return nil, err
	}
	var all tracing.Batch
	var errs []error
	for _, g := range groups {
		b, _, err := s.read(ctx, g, from.UnixMilli(), to.UnixMilli(), pattern)
		if err != nil && awsutil.Classify(err) != awsutil.KindNotFound {
			errs = append(errs, err)
		}
		all = append(all, b...)
	}
	s.tracker.OK(len(all), to)
	return all, errors.Join(errs...)
}

// liveTail follows the groups with StartLiveTail (up to 10 groups a session,
// renewed before the 3 h limit). It returns an error at once when the endpoint
// or the caller's permissions don't allow it, so Run can fall back to polling.
func (s *Source) liveTail(ctx context.Context, out chan<- tracing.Batch) error {
	pending := s.discovering() // apigw.go; asked before the groups, so they include what it found
	groups, err := s.groups(ctx)
	for tries := 0; err == nil && (len(groups) == 0 || pending) && tries < 30; tries++ {
		// Discovery (the Lambda collector) may not have answered yet.
		if !awsutil.Sleep(ctx, s.cfg.Poll) {
			return ctx.Err()
		}
		pending = s.discovering()
		groups, err = s.groups(ctx)
	}
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		return errors.New("no log groups to tail")
	}
	ix := newGroupIndex(groups)
	var ids []string
	for _, g := range groups {
		ids = append(ids, g.id())
	}
	var opts []func(*cwl.Options)
	if s.cfg.CustomEndpoint {
		// The SDK prefixes StartLiveTail's host with "streaming-", which a
		// custom endpoint (LocalStack, the sandbox, a VPC endpoint) doesn't
		// serve. The flag must be set inside the operation's stack: values
		// put on the caller's context are cleared when the operation starts.
		opts = append(opts, func(o *cwl.Options) { o.APIOptions = append(o.APIOptions, disableHostPrefix) })
	}
	// Each session decodes its stream with a protocol of its own: the SDK's
	// event-stream codec (decoder and payload buffer) belongs to the client's
	// protocol, and two sessions of one client decoding at once race on it
	// (more than 10 groups take two sessions).
	opts = append(opts, func(o *cwl.Options) { o.Protocol = awsjson.New11(cwlschemas.Logs_20140328) })
	var sessions []*cwl.StartLiveTailOutput
	for len(ids) > 0 {
		n := min(len(ids), 10)
		lt, err := s.api.StartLiveTail(ctx, &cwl.StartLiveTailInput{LogGroupIdentifiers: ids[:n]}, opts...)
		if err != nil {
			for _, open := range sessions {
				_ = open.GetStream().Close()
			}
			return awsutil.Explain("cwlogs", "", "logs:StartLiveTail", err)
		}
		sessions = append(sessions, lt)
		ids = ids[n:]
	}
	s.tracker.SetMode("live tail")
	s.tracker.OK(0, time.Time{})
	if !s.liveOK.Swap(true) {
		slog.Info("live tail open", tracing.LogKeySource, "cwlogs", tracing.LogKeyGroups, len(groups))
	}
	renew := time.NewTimer(170 * time.Minute)
	defer renew.Stop()
	errc := make(chan error, len(sessions))
	for i, lt := range sessions {
		mine := groups[i*10 : min(len(groups), i*10+10)] // the groups this session follows
		go func() { errc <- s.readTail(ctx, lt, ix, mine, out) }()
	}
	wctx, stopWatch := context.WithCancel(ctx)
	open := make(map[string]Group, len(groups))
	for _, g := range groups {
		open[g.id()] = g
	}
	grown := s.watchGroups(wctx, open) // apigw.go: reopen when new groups appear
	running := len(sessions)
	select {
	case <-ctx.Done():
	case <-renew.C:
	case <-grown:
	case err = <-errc:
		running--
	}
	stopWatch()
	closeTails(sessions, errc, running) // apigw.go
	if ctx.Err() == nil {
		return s.liveTail(ctx, out) // renew, or reopen after a dropped session
	}
	return err
}

func (s *Source) readTail(ctx context.Context, lt *cwl.StartLiveTailOutput, ix groupIndex, groups []Group, out chan<- tracing.Batch) error {
	stream := lt.GetStream()
	last := s.cfg.Now() // when the session last answered: what it sent covers the time since
	for ev := range stream.Events() {
		switch e := ev.(type) {
		case *cwltypes.StartLiveTailResponseStreamMemberSessionUpdate:
			var b tracing.Batch
			for _, le := range e.Value.SessionResults {
				g := ix.fromIdentifier(aws.ToString(le.LogGroupIdentifier))
				ts := aws.ToInt64(le.Timestamp)
				id := tailID(aws.ToString(le.LogStreamName), ts, aws.ToString(le.Message))
				if s.fresh(g.id()+"|"+id, ts) {
					b = append(b, s.observe(g, aws.ToString(le.LogStreamName), id, aws.ToString(le.Message), ts))
				}
			}
			mode := "live tail"
			now := s.cfg.Now()
			if e.Value.SessionMetadata != nil && e.Value.SessionMetadata.Sampled {
				// AWS sent only a sample of the events since the last update:
				// read the rest of that window (sampled.go).
				b = append(b, s.backfill(ctx, groups, last)...)
				mode = "live tail (sampled by AWS above 500 events/s; the rest read with FilterLogEvents)"
			}
			if now.Sub(last) > 0 && now.Truncate(10*time.Second) != last.Truncate(10*time.Second) {
				s.prune(now) // the IDs seen stay bounded in Live Tail mode too
			}
			last = now
			s.tracker.SetMode(mode)
			s.tracker.OK(len(b), time.Time{})
			if len(b) > 0 {
				select {
				case out <- b:
				case <-ctx.Done():
					return nil
				}
			}
		}
	}
	return stream.Err()
}

func groupName(id string) string {
	if i := strings.Index(id, ":log-group:"); i >= 0 {
		return strings.TrimSuffix(id[i+len(":log-group:"):], ":*")
	}
	return id
}

func disableHostPrefix(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("flowtopDisableHostPrefix",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
		}), middleware.Before)
}
