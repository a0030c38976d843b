// Package engine is flowtop's one data path, shared by the console and every
// command: AWS configuration → collectors → [collectors.Hub] → [graph.Graph]
// for live data, one-shot collection of a history window, the history search
// that follows an event's keys through every source that can search, DLQ
// listing and peeking, and the adapter to replay for redrive and replay.
//
// The engine imports collectors, graph, tracing, replay and the AWS SDK; it
// never imports tui, cmd or sandbox. Readers (the console, the CLI printers)
// read [Engine.Graph]; the engine is its only writer, through the hub.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/oam"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/cwlogs"
	"github.com/flowtop/flowtop/collectors/dlq"
	lambdasrc "github.com/flowtop/flowtop/collectors/lambda"
	"github.com/flowtop/flowtop/collectors/linked"
	"github.com/flowtop/flowtop/collectors/otlp"
	sfnsrc "github.com/flowtop/flowtop/collectors/sfn"
	"github.com/flowtop/flowtop/collectors/topology"
	"github.com/flowtop/flowtop/collectors/xray"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/replay"
	"github.com/flowtop/flowtop/tracing"
)

// Settings is the developer wiring of an [Engine]: what cmd resolved from the
// user's configuration. Zero values pick the defaults noted.
type Settings struct {
	AWS         aws.Config // loaded and checked by the caller
	Title       string     // what the console's header names: account/region or endpoint
	Graph       graph.Config
	Memory      graph.Budget // bounds OTLP bytes in flight and the hub's queue; zero is the default
	Sources     Sources
	Correlation []string // extra event keys in app logs and bodies (order_id, detail.orderId)
	ReadOnly    bool     // refuse redrive and replay
	StateDir    string   // where replay keeps journals and the audit log
	Search      SearchBounds
	// Contexts, when more than one, are the accounts and regions watched at
	// once: each gets its own collectors, which stamp every component with
	// its account and region. AWS is then the first context's (DLQ peeks,
	// redrive and replay act there). One context leaves components unstamped.
	Contexts []Context
	// Logger receives flowtop's own log (start, sources and their state
	// changes, counts, errors, search rounds); nil uses slog.Default().
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Sources selects what the engine watches. Empty lists mean "discover".
type Sources struct {
	LogGroups        []string
	LogGroupPrefixes []string
	Queues           []string // queues to watch besides the discovered DLQs
	XRay             bool
	LiveTail         string // "auto" (default), "on" or "off"
	OTLPGRPC         string // listen address; "" is off
	OTLPHTTP         string // listen address; "" is off
	Lookback         time.Duration
	Poll             time.Duration
	// CrossAccount reads a CloudWatch cross-account observability monitoring
	// account's linked source accounts: "auto" (default: when OAM says the
	// account has a sink), "on" or "off".
	CrossAccount string
}

// SearchBounds bound one history search.
type SearchBounds struct {
	Window  time.Duration // how far back SearchHistory looks (default 1h)
	Rounds  int           // rounds of asking every searcher (default 5)
	Keys    int           // keys asked in all (default 64)
	Timeout time.Duration // the whole search (default 60s)
}

// SourceFailure is one source that failed, and why.
type SourceFailure struct {
	Source string // "cwlogs", "xray", "dlq", "lambda", "otlp"
	Err    string // what failed, on what, and what to try
}

// String returns "source: why".
func (f SourceFailure) String() string { return f.Source + ": " + f.Err }

// FailedSourcesError names every source that failed. Commands exit 4 with it:
// they finished, but what they print may miss what those sources hold.
type FailedSourcesError struct {
	Failures []SourceFailure
}

// Error lists each failed source on its own line.
func (e *FailedSourcesError) Error() string {
	lines := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		lines[i] = f.String()
	}
	return "some sources failed:\n  " + strings.Join(lines, "\n  ")
}

// Engine owns the live data path, the history search, DLQ access and the
// replay adapter over one AWS configuration and one graph.
type Engine struct {
	set    Settings
	log    *slog.Logger
	graph  *graph.Graph
	hub    *collectors.Hub
	inject *injector
	rec    recorder // the flight recorder (record.go)

	lambda     *lambdasrc.Source
	logs       *cwlogs.Source
	xray       *xray.Source
	xraySearch *xray.Searcher
	dlq        *dlq.Source
	dlqSearch  *dlq.Searcher
	topology   *topology.Source
	otlp       *otlp.Receiver
	sfn        *sfnsrc.Source
	sfnSearch  *sfnsrc.Searcher

	members []*member // the watched contexts, when more than one (contexts.go)
	where   *where    // which context each ID was seen in, when more than one
	up      *Engine   // for a context's engine: the engine it serves
	self    *member   // for a context's engine: its context

	replayOnce sync.Once
	replayer   *replay.Replayer

	mu      sync.Mutex
	failed  map[string]string // source → why, from one-shot collection and searches
	running bool
	hubDone chan struct{} // closed when the hub stops
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New builds an engine and its collectors; nothing runs until [Engine.Start]
// or a one-shot call. An OTLP listener that can't be built is a source
// failure, not an error: the other sources still work.
func New(s Settings) (*Engine, error) {
	if len(s.Contexts) > 1 && s.AWS.Region == "" {
		s.AWS = s.Contexts[0].AWS
	}
	if s.AWS.Region == "" && s.AWS.BaseEndpoint == nil {
		return nil, errors.New("engine: no AWS region: load the AWS configuration first")
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Sources.LiveTail == "" {
		s.Sources.LiveTail = "auto"
	}
	if s.Search.Window <= 0 {
		s.Search.Window = time.Hour
	}
	if s.Search.Rounds <= 0 {
		s.Search.Rounds = 5
	}
	if s.Search.Keys <= 0 {
		s.Search.Keys = 64
	}
	if s.Search.Timeout <= 0 {
		s.Search.Timeout = 60 * time.Second
	}
	if s.Graph.MaxBytes <= 0 {
		s.Graph.MaxBytes = s.Memory.Held() // held events evicted by bytes as well as count
	}
	g := graph.New(s.Graph)
	e := &Engine{set: s, log: s.Logger, graph: g, failed: map[string]string{}, inject: newInjector()}
	e.hub = collectors.NewHub(graphSink{e}, 4096) // graphSink tees to the recorder
	e.hub.SetLimits(collectors.QueueLimits{Bytes: s.Memory.Queue()})
	e.buildSources()
	e.buildContexts()
	return e, nil
}

func (e *Engine) buildSources() {
	s := e.set
	custom := s.AWS.BaseEndpoint != nil && *s.AWS.BaseEndpoint != ""
	e.lambda = lambdasrc.New(awslambda.NewFromConfig(s.AWS), lambdasrc.Config{})
	var groups []cwlogs.Group
	for _, g := range s.Sources.LogGroups {
		groups = append(groups, cwlogs.Group{Name: g, Function: strings.TrimPrefix(g, "/aws/lambda/")})
	}
	lam := e.lambda
	det := linked.New(oam.NewFromConfig(s.AWS), linked.Config{Mode: s.Sources.CrossAccount})
	e.logs = cwlogs.New(cwl.NewFromConfig(s.AWS), cwlogs.Config{
		Linked: det,
		Groups: groups, Prefixes: s.Sources.LogGroupPrefixes, LiveTail: s.Sources.LiveTail, CustomEndpoint: custom,
		Poll: s.Sources.Poll, Lookback: s.Sources.Lookback,
		Options: tracing.LogOptions{CorrelationFields: s.Correlation},
		GroupsFunc: func() []cwlogs.Group {
			if len(s.Sources.LogGroups) > 0 {
				return nil // the user chose the groups
			}
			var gs []cwlogs.Group
			for _, f := range lam.Functions() {
				gs = append(gs, cwlogs.Group{Name: f.LogGroup, Function: f.Name})
			}
			return gs
		},
	})
	xc := awsxray.NewFromConfig(s.AWS)
	e.xray = xray.New(xc, xray.Config{Lookback: s.Sources.Lookback, Linked: det})
	e.xraySearch = xray.NewSearcher(xc, xray.SearchConfig{Linked: det})
	e.dlq = dlq.New(sqs.NewFromConfig(s.AWS), dlq.Config{
		Queues: s.Sources.Queues, ReadOnly: s.ReadOnly, Options: tracing.UnwrapOptions{CorrelationFields: s.Correlation},
		// A mapping's on-failure queue is a DLQ no RedrivePolicy names: the topology names it.
		FailureQueues: func() []string { return e.topology.FailureQueues() },
	})
	e.dlqSearch = dlq.NewSearcher(e.dlq, dlq.SearchConfig{})
	e.sfn = sfnsrc.New(awssfn.NewFromConfig(s.AWS), sfnsrc.Config{Poll: s.Sources.Poll, Lookback: s.Sources.Lookback})
	e.sfnSearch = sfnsrc.NewSearcher(e.sfn)
	e.topology = topology.New(topology.Clients{
		Events: eventbridge.NewFromConfig(s.AWS), SNS: sns.NewFromConfig(s.AWS),
		Lambda: awslambda.NewFromConfig(s.AWS), SQS: sqs.NewFromConfig(s.AWS),
	}, topology.Config{Region: e.contextRegion()})
	if s.Sources.OTLPGRPC != "" || s.Sources.OTLPHTTP != "" {
		off := func(a string) string {
			if a == "" {
				return "off"
			}
			return a
		}
		r, err := otlp.New(otlp.Config{GRPCAddr: off(s.Sources.OTLPGRPC), HTTPAddr: off(s.Sources.OTLPHTTP), Budget: s.Memory, Places: len(s.Contexts) > 1})
		if err != nil {
			e.noteFailure("otlp", err)
		} else {
			e.otlp = r
		}
	}
}

// Title names what the engine watches, for the console's header.
func (e *Engine) Title() string { return e.set.Title }

// Graph is the lineage graph every reader reads.
func (e *Engine) Graph() *graph.Graph { return e.graph }

// Health is every live source's health, in a stable order, as the console's
// header shows it. It is empty before [Engine.Start].
func (e *Engine) Health() []tracing.SourceHealth {
	var out []tracing.SourceHealth
	for _, h := range e.hub.Health() {
		if h.Source != injectorName {
			out = append(out, h)
		}
	}
	if h, ok := e.recorderHealth(); ok {
		out = append(out, h)
	}
	return out
}

// liveSources are the collectors the hub runs.
func (e *Engine) liveSources() []collectors.Source {
	if len(e.members) > 0 {
		return e.contextSources()
	}
	out := []collectors.Source{e.lambda, e.logs, e.dlq, e.topology, e.sfn}
	if e.set.Sources.XRay {
		out = append(out, e.xray)
	}
	if e.otlp != nil {
		out = append(out, e.otlp)
	}
	return out
}

// searchers are the sources the history search asks.
func (e *Engine) searchers() []collectors.Searcher {
	if len(e.members) > 0 {
		return e.contextSearchers()
	}
	out := []collectors.Searcher{e.logs, e.dlqSearch, e.sfnSearch}
	if e.set.Sources.XRay {
		out = append(out, e.xraySearch)
	}
	return out
}

// Start runs the hub and the live sources in the background until ctx ends
// or [Engine.Close]. It is a no-op when already started.
func (e *Engine) Start(ctx context.Context) {
	e.mu.Lock()
	if e.running {
		e.mu.Unlock()
		return
	}
	e.running = true
	e.hubDone = make(chan struct{})
	ctx, e.cancel = context.WithCancel(ctx)
	e.mu.Unlock()
	names := []string{}
	for _, s := range e.liveSources() {
		e.hub.Add(s)
		names = append(names, s.Name())
	}
	e.hub.Add(e.inject)
	e.log.Info("engine start", tracing.LogKeyTarget, e.set.Title, tracing.LogKeySources, strings.Join(names, ","))
	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		defer close(e.hubDone)
		e.hub.Run(ctx)
	}()
	go func() {
		defer e.wg.Done()
		e.watch(ctx, 2*time.Second, 30*time.Second)
	}()
}

// Close stops what Start started and waits for it.
func (e *Engine) Close() {
	e.mu.Lock()
	cancel := e.cancel
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
	if err := e.StopRecording(); err != nil {
		e.log.Warn("recording failed", tracing.LogKeyError, err.Error())
	}
}

// ingest hands a batch to the graph: through the hub while it runs (the
// graph has one writer), directly before it starts and after it stops.
func (e *Engine) ingest(ctx context.Context, b tracing.Batch) {
	if len(b) == 0 {
		return
	}
	if e.up != nil { // a context's engine: its serving engine holds the graph
		e.up.stamp(e.self, b)
		e.up.ingest(ctx, b)
		return
	}
	e.mu.Lock()
	running, done := e.running, e.hubDone
	e.mu.Unlock()
	if !running {
		graphSink{e}.Ingest(b)
		return
	}
	select {
	case e.inject.in <- b:
	case <-done:
		graphSink{e}.Ingest(b)
	case <-ctx.Done():
	}
}

// noteFailure records that a source failed during a one-shot call.
func (e *Engine) noteFailure(source string, err error) {
	if err == nil {
		return
	}
	if e.up != nil {
		e.up.noteFailure(source+sep+e.self.ctx.Name, err)
		return
	}
	e.log.Warn("source failed", tracing.LogKeySource, source, tracing.LogKeyError, err.Error())
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.failed[source]; !ok {
		e.failed[source] = firstLine(err.Error())
	}
}

// Failures lists the sources that failed: in one-shot collection or searches,
// and live sources now failed or retrying after an error. Sorted by source.
func (e *Engine) Failures() []SourceFailure {
	e.mu.Lock()
	all := map[string]string{}
	for k, v := range e.failed {
		all[k] = v
	}
	e.mu.Unlock()
	for _, h := range e.Health() {
		if (h.State == tracing.SourceStateFailed || h.State == tracing.SourceStateRetrying) && h.LastError != "" {
			if _, ok := all[h.Source]; !ok {
				all[h.Source] = firstLine(h.LastError)
			}
		}
	}
	out := make([]SourceFailure, 0, len(all))
	for k, v := range all {
		out = append(out, SourceFailure{Source: k, Err: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// Err is a [*FailedSourcesError] naming the failed sources, or nil.
func (e *Engine) Err() error {
	if f := e.Failures(); len(f) > 0 {
		return &FailedSourcesError{Failures: f}
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// injectorName is the hub source that carries the engine's own batches
// (history search results) to the graph while the hub runs; Health hides it.
const injectorName = "engine"

// injector is a hub source fed by the engine, so that the graph keeps one
// writer while searches run beside the live sources.
type injector struct {
	in      chan tracing.Batch
	tracker *collectors.Tracker
}

func newInjector() *injector {
	return &injector{in: make(chan tracing.Batch), tracker: collectors.NewTracker(injectorName, nil)}
}

func (i *injector) Name() string                 { return injectorName }
func (i *injector) Health() tracing.SourceHealth { return i.tracker.Health() }

func (i *injector) Run(ctx context.Context, out chan<- tracing.Batch) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case b := <-i.in:
			select {
			case out <- b:
				i.tracker.OK(len(b), time.Time{})
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// watch logs each live source's state changes at once and the counts every
// countEvery, until ctx ends.
func (e *Engine) watch(ctx context.Context, every, countEvery time.Duration) {
	type state struct {
		state tracing.SourceState
		mode  string
		err   string
	}
	last := map[string]state{}
	tick := time.NewTicker(every)
	defer tick.Stop()
	lastCount := e.set.Now()
	for {
		for _, h := range e.Health() {
			now := state{h.State, h.Mode, h.LastError}
			if prev, ok := last[h.Source]; ok && prev == now {
				continue
			}
			last[h.Source] = now
			attrs := []any{tracing.LogKeySource, h.Source, tracing.LogKeyState, h.State.String(), tracing.LogKeyMode, h.Mode}
			if h.LastError != "" {
				attrs = append(attrs, tracing.LogKeyError, h.LastError, tracing.LogKeyRetryIn, h.RetryIn)
				e.log.Warn("source state", attrs...)
			} else {
				e.log.Info("source state", attrs...)
			}
		}
		if now := e.set.Now(); now.Sub(lastCount) >= countEvery {
			lastCount = now
			for _, h := range e.Health() {
				e.log.Info("source counts", tracing.LogKeySource, h.Source, tracing.LogKeyItems, h.Items, tracing.LogKeyDropped, h.Dropped)
			}
			e.log.Info("graph counts", tracing.LogKeyEvents, e.graph.Totals().Events)
		}
		select {
		case <-ctx.Done():
			e.log.Info("engine stop", tracing.LogKeyEvents, e.graph.Totals().Events)
			return
		case <-tick.C:
		}
	}
}

// errorf builds an engine error.
func errorf(format string, args ...any) error { return fmt.Errorf("engine: "+format, args...) }
