package sfn

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/tracing"
)

// API is the part of the Step Functions client this package uses.
type API interface {
	ListStateMachines(ctx context.Context, in *awssfn.ListStateMachinesInput, opts ...func(*awssfn.Options)) (*awssfn.ListStateMachinesOutput, error)
	ListExecutions(ctx context.Context, in *awssfn.ListExecutionsInput, opts ...func(*awssfn.Options)) (*awssfn.ListExecutionsOutput, error)
	DescribeExecution(ctx context.Context, in *awssfn.DescribeExecutionInput, opts ...func(*awssfn.Options)) (*awssfn.DescribeExecutionOutput, error)
	GetExecutionHistory(ctx context.Context, in *awssfn.GetExecutionHistoryInput, opts ...func(*awssfn.Options)) (*awssfn.GetExecutionHistoryOutput, error)
}

// Config sets the source and its searcher. Zero values pick the defaults noted.
type Config struct {
	// StateMachines are the ARNs of the state machines to watch; empty
	// means every state machine ListStateMachines finds (up to MaxMachines).
	StateMachines []string
	Poll          time.Duration // how often to list executions (default 10s)
	Lookback      time.Duration // how far back the first poll reads (default 15m)
	Refresh       time.Duration // how often to list the state machines again (default 5m)
	MaxMachines   int           // state machines watched (default 50)
	// MaxHistories bounds the histories read per poll (default 100); the
	// rest wait for the next poll. MaxPages bounds one history's pages of
	// 1,000 events (default 25, Step Functions' own 25,000-event limit).
	MaxHistories, MaxPages int
	// MaxScan bounds the executions one search looks at (default 200).
	MaxScan int
}

func (c *Config) defaults() {
	if c.Poll <= 0 {
		c.Poll = 10 * time.Second
	}
	if c.Lookback <= 0 {
		c.Lookback = 15 * time.Minute
	}
	if c.Refresh <= 0 {
		c.Refresh = 5 * time.Minute
	}
	if c.MaxMachines <= 0 {
		c.MaxMachines = 50
	}
	if c.MaxHistories <= 0 {
		c.MaxHistories = 100
	}
	if c.MaxPages <= 0 {
		c.MaxPages = 25
	}
	if c.MaxScan <= 0 {
		c.MaxScan = 200
	}
}

// Source polls the watched state machines' executions and reads the
// history of each one that is new or changed (finished, redriven) since the
// last poll. It is also the history [Searcher]'s reader.
type Source struct {
	api     API
	cfg     Config
	tracker *collectors.Tracker
	now     func() time.Time

	mu         sync.Mutex
	machines   []string
	discovered time.Time
	lastPoll   time.Time         // when the last poll that read everything began
	seen       map[string]string // execution ARN → its status and redrive count when last read
	seenOrder  []string
	cache      map[string]cached // settled executions' histories, for searches
	cacheOrder []string
	traces     map[tracing.TraceID]string // the collector's trace of an execution → its ARN
}

type cached struct {
	x      Execution
	events []Event
}

// maxSeen bounds what the source remembers of executions it read.
const maxSeen = 20_000

// maxCache bounds the histories kept for searches.
const maxCache = 256

// New returns a Step Functions source.
func New(api API, cfg Config) *Source {
	cfg.defaults()
	t := collectors.NewTracker(SourceName, nil)
	t.SetMode("polling")
	return &Source{api: api, cfg: cfg, tracker: t, now: time.Now, seen: map[string]string{}, cache: map[string]cached{}, traces: map[tracing.TraceID]string{}}
}

// Name is "sfn".
func (s *Source) Name() string { return SourceName }

// Health reports the source's state.
func (s *Source) Health() tracing.SourceHealth { return s.tracker.Health() }

// Run polls until ctx ends.
func (s *Source) Run(ctx context.Context, out chan<- tracing.Batch) error {
	since := s.now().Add(-s.cfg.Lookback)
	collectors.Poll(ctx, s.tracker, s.cfg.Poll, func(ctx context.Context) error {
		b, err := s.PollOnce(ctx, since)
		if len(b) > 0 {
			select {
			case out <- b:
			case <-ctx.Done():
				return nil
			}
		}
		return err
	})
	return nil
}

// PollOnce lists the executions of every watched state machine and returns
// the observations of those new or changed since the last call that
// started after since. An error names the first call that failed; the
// others still ran.
func (s *Source) PollOnce(ctx context.Context, since time.Time) (tracing.Batch, error) {
	machines, err := s.watched(ctx)
	if err != nil && len(machines) == 0 {
		return nil, err
	}
	var b tracing.Batch
	budget := s.cfg.MaxHistories
	started := s.now()
	s.mu.Lock()
	cut := since // executions started after cut must all be on the first page
	if last := s.lastPoll.Add(-time.Minute); last.After(cut) {
		cut = last
	}
	s.mu.Unlock()
	var newest time.Time
	for _, m := range machines {
		out, lerr := s.api.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: &m, MaxResults: 100})
		if lerr != nil {
			if err == nil {
				err = awsutil.Explain(SourceName, nameOfARN(m), "states:ListExecutions", lerr)
			}
			continue
		}
		if n := len(out.Executions); out.NextToken != nil && n > 0 && out.Executions[n-1].StartDate != nil && out.Executions[n-1].StartDate.After(cut) {
			// More started since the cut than one page holds: the older
			// ones are not read live (a search still finds them).
			s.tracker.Truncated(1)
		}
		for _, it := range out.Executions {
			arn := deref(it.ExecutionArn)
			if arn == "" {
				s.tracker.Unparsed(1)
				continue
			}
			if it.StartDate != nil && it.StartDate.Before(since) {
				continue
			}
			if it.Status == types.ExecutionStatusRunning {
				continue // read once it settles
			}
			state := fmt.Sprint(it.Status, "/", deref32(it.RedriveCount))
			s.mu.Lock()
			same := s.seen[arn] == state
			s.mu.Unlock()
			if same {
				continue
			}
			if budget == 0 {
				s.tracker.Truncated(1)
				continue // the next poll reads it
			}
			budget--
			x, evs, ferr := s.Fetch(ctx, arn)
			if ferr != nil {
				if err == nil {
					err = ferr
				}
				continue
			}
			obs, dropped := Parse(x, evs)
			s.tracker.Dropped(dropped)
			b = append(b, obs...)
			s.remember(arn, state)
			if x.Stop.After(newest) {
				newest = x.Stop
			}
		}
	}
	if err == nil {
		s.tracker.OK(len(b), newest)
		s.mu.Lock()
		s.lastPoll = started
		s.mu.Unlock()
	}
	return b, err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func deref32(p *int32) int {
	if p == nil {
		return 0
	}
	return int(*p)
}

func (s *Source) remember(arn, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[arn]; !ok {
		s.seenOrder = append(s.seenOrder, arn)
	}
	s.seen[arn] = state
	for len(s.seenOrder) > maxSeen {
		delete(s.seen, s.seenOrder[0])
		s.seenOrder = s.seenOrder[1:]
	}
}

// watched returns the state machines to watch, listing them again every Refresh.
func (s *Source) watched(ctx context.Context) ([]string, error) {
	if len(s.cfg.StateMachines) > 0 {
		return s.cfg.StateMachines, nil
	}
	s.mu.Lock()
	fresh := !s.discovered.IsZero() && s.now().Sub(s.discovered) < s.cfg.Refresh
	have := append([]string(nil), s.machines...)
	s.mu.Unlock()
	if fresh {
		return have, nil
	}
	var arns []string
	p := awssfn.NewListStateMachinesPaginator(s.api, &awssfn.ListStateMachinesInput{}, func(o *awssfn.ListStateMachinesPaginatorOptions) { o.StopOnDuplicateToken = true })
	for pages := 0; p.HasMorePages() && pages < 20 && len(arns) < s.cfg.MaxMachines; pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			return have, awsutil.Explain(SourceName, "", "states:ListStateMachines", err)
		}
		for _, m := range page.StateMachines {
			if a := deref(m.StateMachineArn); a != "" && len(arns) < s.cfg.MaxMachines {
				arns = append(arns, a)
			}
		}
	}
	s.mu.Lock()
	s.machines, s.discovered = arns, s.now()
	s.mu.Unlock()
	return arns, nil
}

// Fetch reads one execution: DescribeExecution, then its whole history,
// page by page (bounded by MaxPages). A settled execution's history is
// kept for later searches.
func (s *Source) Fetch(ctx context.Context, arn string) (Execution, []Event, error) {
	d, err := s.api.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: &arn})
	if err != nil {
		return Execution{}, nil, awsutil.Explain(SourceName, nameOfARN(arn), "states:DescribeExecution", err)
	}
	x := describe(d)
	key := x.ARN + "|" + x.Status + "|" + fmt.Sprint(x.RedriveCount)
	s.mu.Lock()
	c, ok := s.cache[key]
	s.traces[traceOf(x.ARN)] = x.ARN
	if len(s.traces) > 4*maxCache {
		clear(s.traces)
		s.traces[traceOf(x.ARN)] = x.ARN
	}
	s.mu.Unlock()
	if ok {
		return c.x, c.events, nil
	}
	var evs []Event
	in := &awssfn.GetExecutionHistoryInput{ExecutionArn: &arn, MaxResults: 1000, IncludeExecutionData: boolp(true)}
	p := awssfn.NewGetExecutionHistoryPaginator(s.api, in, func(o *awssfn.GetExecutionHistoryPaginatorOptions) { o.StopOnDuplicateToken = true })
	for pages := 0; p.HasMorePages(); pages++ {
		if pages == s.cfg.MaxPages {
			s.tracker.Truncated(1)
			break
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return x, evs, awsutil.Explain(SourceName, nameOfARN(arn), "states:GetExecutionHistory", err)
		}
		for i := range page.Events {
			evs = append(evs, FromSDK(&page.Events[i]))
		}
	}
	if x.Status != "RUNNING" {
		s.mu.Lock()
		if _, ok := s.cache[key]; !ok {
			s.cacheOrder = append(s.cacheOrder, key)
		}
		s.cache[key] = cached{x: x, events: evs}
		for len(s.cacheOrder) > maxCache {
			delete(s.cache, s.cacheOrder[0])
			s.cacheOrder = s.cacheOrder[1:]
		}
		s.mu.Unlock()
	}
	return x, evs, nil
}

func boolp(b bool) *bool { return &b }

func describe(d *awssfn.DescribeExecutionOutput) Execution {
	x := Execution{
		ARN: deref(d.ExecutionArn), Status: string(d.Status), Input: deref(d.Input), TraceHeader: deref(d.TraceHeader),
		RedriveCount: deref32(d.RedriveCount), Error: deref(d.Error), Cause: deref(d.Cause),
	}
	if d.StartDate != nil {
		x.Start = *d.StartDate
	}
	if d.StopDate != nil {
		x.Stop = *d.StopDate
	}
	return x
}

// FromSDK reads one history event of the SDK.
func FromSDK(h *types.HistoryEvent) Event {
	e := Event{ID: h.Id, Prev: h.PreviousEventId, Type: string(h.Type)}
	if h.Timestamp != nil {
		e.Time = *h.Timestamp
	}
	switch {
	case h.ExecutionStartedEventDetails != nil:
		e.Input = deref(h.ExecutionStartedEventDetails.Input)
	case h.StateEnteredEventDetails != nil:
		e.Name, e.Input = deref(h.StateEnteredEventDetails.Name), deref(h.StateEnteredEventDetails.Input)
	case h.StateExitedEventDetails != nil:
		e.Name, e.Output = deref(h.StateExitedEventDetails.Name), deref(h.StateExitedEventDetails.Output)
	case h.TaskScheduledEventDetails != nil:
		d := h.TaskScheduledEventDetails
		e.Resource, e.ResourceType, e.Parameters = deref(d.Resource), deref(d.ResourceType), deref(d.Parameters)
	case h.TaskStartedEventDetails != nil:
		e.Resource, e.ResourceType = deref(h.TaskStartedEventDetails.Resource), deref(h.TaskStartedEventDetails.ResourceType)
	case h.TaskSucceededEventDetails != nil:
		d := h.TaskSucceededEventDetails
		e.Resource, e.ResourceType, e.Output = deref(d.Resource), deref(d.ResourceType), deref(d.Output)
	case h.TaskFailedEventDetails != nil:
		d := h.TaskFailedEventDetails
		e.Resource, e.ResourceType, e.Error, e.Cause = deref(d.Resource), deref(d.ResourceType), deref(d.Error), deref(d.Cause)
	case h.TaskTimedOutEventDetails != nil:
		d := h.TaskTimedOutEventDetails
		e.Resource, e.ResourceType, e.Error, e.Cause = deref(d.Resource), deref(d.ResourceType), deref(d.Error), deref(d.Cause)
	case h.LambdaFunctionScheduledEventDetails != nil:
		e.Resource, e.Input = deref(h.LambdaFunctionScheduledEventDetails.Resource), deref(h.LambdaFunctionScheduledEventDetails.Input)
	case h.LambdaFunctionSucceededEventDetails != nil:
		e.Output = deref(h.LambdaFunctionSucceededEventDetails.Output)
	case h.LambdaFunctionFailedEventDetails != nil:
		e.Error, e.Cause = deref(h.LambdaFunctionFailedEventDetails.Error), deref(h.LambdaFunctionFailedEventDetails.Cause)
	case h.LambdaFunctionTimedOutEventDetails != nil:
		e.Error, e.Cause = deref(h.LambdaFunctionTimedOutEventDetails.Error), deref(h.LambdaFunctionTimedOutEventDetails.Cause)
	case h.MapIterationStartedEventDetails != nil:
		e.Name, e.Index = deref(h.MapIterationStartedEventDetails.Name), int(h.MapIterationStartedEventDetails.Index)
	case h.MapIterationSucceededEventDetails != nil:
		e.Name, e.Index = deref(h.MapIterationSucceededEventDetails.Name), int(h.MapIterationSucceededEventDetails.Index)
	case h.MapIterationFailedEventDetails != nil:
		e.Name, e.Index = deref(h.MapIterationFailedEventDetails.Name), int(h.MapIterationFailedEventDetails.Index)
	case h.MapIterationAbortedEventDetails != nil:
		e.Name, e.Index = deref(h.MapIterationAbortedEventDetails.Name), int(h.MapIterationAbortedEventDetails.Index)
	case h.ExecutionSucceededEventDetails != nil:
		e.Output = deref(h.ExecutionSucceededEventDetails.Output)
	case h.ExecutionFailedEventDetails != nil:
		e.Error, e.Cause = deref(h.ExecutionFailedEventDetails.Error), deref(h.ExecutionFailedEventDetails.Cause)
	case h.ExecutionAbortedEventDetails != nil:
		e.Error, e.Cause = deref(h.ExecutionAbortedEventDetails.Error), deref(h.ExecutionAbortedEventDetails.Cause)
	case h.ExecutionTimedOutEventDetails != nil:
		e.Error, e.Cause = deref(h.ExecutionTimedOutEventDetails.Error), deref(h.ExecutionTimedOutEventDetails.Cause)
	case h.ExecutionRedrivenEventDetails != nil:
		e.RedriveCount = deref32(h.ExecutionRedrivenEventDetails.RedriveCount)
	}
	return e
}

// Searcher finds the executions that carry some keys: by execution ARN, by
// the event its input is, by a request ID its tasks name, or by the trace
// the collector put its spans in. It reads at most MaxScan executions a
// search, newest first, of the watched state machines.
type Searcher struct{ s *Source }

// NewSearcher returns the searcher over src (which keeps the histories it read).
func NewSearcher(src *Source) *Searcher { return &Searcher{s: src} }

// Name is "sfn".
func (*Searcher) Name() string { return SourceName }

// Search returns the observations of the executions in [from, to] that
// carry one of keys, each checked with [collectors.Carries].
func (q *Searcher) Search(ctx context.Context, keys []tracing.Key, from, to time.Time) (tracing.Batch, error) {
	s := q.s
	direct := map[string]bool{}
	var terms []string
	deep := false // keys only a history names: look into histories
	for _, k := range keys {
		v := strings.TrimSpace(k.Value)
		if arn, _, _ := strings.Cut(v, "#"); strings.HasPrefix(arn, "arn:aws:states:") && strings.Contains(arn, ":execution:") {
			direct[arn] = true
			continue
		}
		if k.Kind == tracing.KeyTraceID || k.Kind == tracing.KeyUnknown {
			if t, err := tracing.ParseTraceID(v); err == nil {
				s.mu.Lock()
				arn := s.traces[t]
				s.mu.Unlock()
				if arn != "" {
					direct[arn] = true
				}
			}
		}
		switch k.Kind {
		case tracing.KeyEventID, tracing.KeyCloudEventID, tracing.KeyUnknown, tracing.KeyCorrelation:
			terms = append(terms, collectors.Terms(k)...)
		}
		if k.Kind == tracing.KeyRequestID || k.Kind == tracing.KeyUnknown {
			deep = true
		}
	}
	var out tracing.Batch
	var firstErr error
	take := func(arn string) {
		x, evs, err := s.Fetch(ctx, arn)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		b, dropped := Parse(x, evs)
		s.tracker.Dropped(dropped)
		out = append(out, collectors.KeepCarrying(b, append(keys, tracing.Key{Kind: tracing.KeyTraceID, Value: traceOf(x.ARN).String()}))...)
	}
	for arn := range direct {
		take(arn)
	}
	if len(terms) == 0 && !deep {
		return out, firstErr
	}
	machines, err := s.watched(ctx)
	if err != nil && firstErr == nil {
		firstErr = err
	}
	scanned := 0
	for _, m := range machines {
		p := awssfn.NewListExecutionsPaginator(s.api, &awssfn.ListExecutionsInput{StateMachineArn: &m, MaxResults: 100}, func(o *awssfn.ListExecutionsPaginatorOptions) { o.StopOnDuplicateToken = true })
		for p.HasMorePages() && scanned < s.cfg.MaxScan && ctx.Err() == nil {
			page, err := p.NextPage(ctx)
			if err != nil {
				if firstErr == nil {
					firstErr = awsutil.Explain(SourceName, nameOfARN(m), "states:ListExecutions", err)
				}
				break
			}
			older := false
			for _, it := range page.Executions {
				arn := deref(it.ExecutionArn)
				if arn == "" || direct[arn] {
					continue
				}
				if it.StartDate != nil && it.StartDate.After(to) {
					continue
				}
				if it.StartDate != nil && it.StopDate != nil && it.StopDate.Before(from) {
					older = true
					continue
				}
				if scanned++; scanned > s.cfg.MaxScan {
					break
				}
				if q.matches(ctx, arn, fmt.Sprint(it.Status), deref32(it.RedriveCount), terms, deep, keys) {
					direct[arn] = true
					take(arn)
				}
			}
			if older {
				break // newest first: the rest are older still
			}
		}
	}
	if ctx.Err() != nil && firstErr == nil {
		firstErr = fmt.Errorf("sfn: search: %w", ctx.Err())
	}
	return out, firstErr
}

// matches reports whether an execution's input names one of terms, or
// (deep) its history carries one of keys.
func (q *Searcher) matches(ctx context.Context, arn, status string, redrives int, terms []string, deep bool, keys []tracing.Key) bool {
	// A settled execution read before is not read again: the listing says
	// whether it changed since.
	q.s.mu.Lock()
	c, ok := q.s.cache[arn+"|"+status+"|"+fmt.Sprint(redrives)]
	q.s.mu.Unlock()
	x, evs := c.x, c.events
	if !ok {
		var err error
		if x, evs, err = q.s.Fetch(ctx, arn); err != nil {
			return false
		}
	}
	for _, t := range terms {
		if collectors.ContainsToken(x.Input, t) {
			return true
		}
	}
	if !deep {
		return false
	}
	b, _ := Parse(x, evs)
	for i := range b {
		if collectors.Carries(&b[i], keys) {
			return true
		}
	}
	return false
}
