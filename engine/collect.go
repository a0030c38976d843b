package engine

import (
	"context"
	"sync"
	"time"

	"github.com/flowtop/flowtop/collectors/awsutil"
	lambdasrc "github.com/flowtop/flowtop/collectors/lambda"
	"github.com/flowtop/flowtop/collectors/topology"
	"github.com/flowtop/flowtop/tracing"
)

// Collect reads the last window of history into the graph: function
// configurations, queues and what their DLQs hold, X-Ray traces and every
// log line. A source that fails is recorded (see [Engine.Failures]) and the
// others still count; Collect returns only ctx's error.
func (e *Engine) Collect(ctx context.Context, window time.Duration) error {
	if len(e.members) > 0 {
		return e.collectContexts(ctx, window)
	}
	to := e.set.Now()
	from := to.Add(-window)
	start := time.Now()
	e.discover(ctx, to)
	// The sources are read at once (an unreachable endpoint costs one round
	// of retries, not one per source) and ingested in a fixed order.
	var queues, traces, logs, routes tracing.Batch
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		// The routing configuration places every broker on a path, even
		// one no body or span names; a partial reading still counts.
		set, err := e.topology.Discover(ctx)
		e.noteFailure("topology", err)
		routes = topology.Batch(set, to)
	}()
	go func() {
		defer wg.Done()
		queues = e.collectQueues(ctx, to)
	}()
	go func() {
		defer wg.Done()
		var err error
		logs, err = e.logs.Collect(ctx, from, to, "")
		e.noteFailure("cwlogs", err)
	}()
	if e.set.Sources.XRay {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			traces, err = e.xray.Collect(ctx, from, to)
			if err != nil && awsutil.Classify(err) != awsutil.KindUnsupported {
				e.noteFailure("xray", err)
			}
		}()
	}
	wg.Wait()
	all := append(append(append(routes, queues...), traces...), logs...)
	e.ingest(ctx, all)
	e.log.Info("history collected", tracing.LogKeyWindow, window, tracing.LogKeyRecords, len(all), tracing.LogKeyDuration, time.Since(start).Round(time.Millisecond))
	return ctx.Err()
}

// discover lists the functions once (their log groups are where the logs
// are), unless the live Lambda source already has.
func (e *Engine) discover(ctx context.Context, at time.Time) {
	if len(e.lambda.Functions()) > 0 {
		return
	}
	fns, err := e.lambda.Discover(ctx)
	e.noteFailure("lambda", err)
	e.ingest(ctx, lambdasrc.Batch(fns, at))
}

// collectQueues lists the queues and peeks into the non-empty DLQs.
func (e *Engine) collectQueues(ctx context.Context, at time.Time) tracing.Batch {
	qs, err := e.dlq.List(ctx)
	if err != nil {
		e.noteFailure("dlq", err)
		return nil
	}
	var b tracing.Batch
	for _, q := range qs {
		q := q
		b = append(b, tracing.Observation{Kind: tracing.ObsQueue, Source: "dlq", Time: at, Component: tracing.Component{Kind: tracing.ComponentQueue, Name: q.Name}, Queue: &q})
		if q.IsDLQ && q.Depth > 0 {
			obs, err := e.dlq.Peek(ctx, q.URL, 100)
			e.noteFailure("dlq", err)
			b = append(b, obs...)
		}
	}
	return b
}
