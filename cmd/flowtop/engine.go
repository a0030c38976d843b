package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/otlp"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// engineOptions says how a command wants the engine.
type engineOptions struct {
	endpoint string // the sandbox's URL: use it with dummy credentials
}

// engine is the one data path every command shares: sources → hub → graph.
// The console is one reader of the graph; the CLI printers are others.
type engine struct {
	cfg    Config
	aws    aws.Config
	title  string
	graph  *graph.Graph
	hub    *collectors.Hub
	opts   engineOptions
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	failed []string // sources that failed during a one-shot collection
	src    *sources
	otlp   *otlp.Receiver
}

func (a *app) newEngine(ctx context.Context, opts engineOptions) (*engine, error) {
	var awsCfg aws.Config
	title := ""
	if opts.endpoint != "" {
		awsCfg = sandboxAWS(opts.endpoint)
		title = "sandbox " + opts.endpoint
	} else {
		var err error
		awsCfg, err = loadAWS(ctx, a.cfg)
		if err != nil {
			return nil, err
		}
		title = describeTarget(awsCfg)
	}
	g := graph.New(graphConfig(a.cfg))
	e := &engine{cfg: a.cfg, aws: awsCfg, title: title, graph: g, opts: opts}
	e.hub = collectors.NewHub(g, 4096)
	return e, nil
}

// start runs the hub and the live sources in the background until ctx ends or close.
func (e *engine) start(ctx context.Context) {
	ctx, e.cancel = context.WithCancel(ctx)
	for _, s := range e.liveSources() {
		e.hub.Add(s)
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.hub.Run(ctx)
	}()
}

func (e *engine) close() {
	if e.cancel != nil {
		e.cancel()
	}
	e.wg.Wait()
}

func (e *engine) noteFailure(source string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failed = append(e.failed, fmt.Sprintf("%s: %v", source, err))
}

// failedSourcesError is the exit-4 error naming every source that failed, or nil.
func (e *engine) failedSourcesError() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.failed) == 0 {
		return nil
	}
	return partialErrorf("finished, but some sources failed:\n  %s", strings.Join(e.failed, "\n  "))
}

// health is what the console's header shows.
func (e *engine) health() []tracing.SourceHealth { return e.hub.Health() }

// ingest hands a one-shot batch to the graph (the hub isn't running then).
func (e *engine) ingest(b tracing.Batch) { e.graph.Ingest(b) }

func since(d time.Duration) (time.Time, time.Time) {
	now := time.Now()
	return now.Add(-d), now
}
