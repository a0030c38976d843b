package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/topology"
	"github.com/flowtop/flowtop/tracing"
)

// SearchResult says what one history search did.
type SearchResult struct {
	Rounds  int    // rounds run
	Keys    int    // keys asked in all
	Records int    // distinct records found and ingested
	Bound   string // "" when the search ran out of new keys; else "rounds", "keys" or "time"
	Found   bool   // the graph now knows the ID
}

// SearchHistory searches the last [SearchBounds.Window] of history for the
// event with this ID (any of its IDs) and puts what it finds in the graph,
// calling progress with a short note after each round ("round 2: 3 keys, 14
// records"). It satisfies the console's Searcher interface. The error is nil
// when the search ran, even when it found nothing; a [*FailedSourcesError]
// when sources failed and nothing was found.
func (e *Engine) SearchHistory(ctx context.Context, id string, progress func(note string)) error {
	res, err := e.Search(ctx, id, e.set.Search.Window, progress)
	if err != nil {
		return err
	}
	if !res.Found {
		return e.Err()
	}
	return nil
}

// Search follows the keys of the event with this ID through every searcher,
// over the last window of history: it asks every searcher for the keys known
// so far, ingests what they answer, adds the keys those records reveal
// (request, message, event and trace IDs) and the keys of every event the ID
// now matches in the graph (every candidate, not only a single one), and asks
// again until nothing new appears or a bound (rounds, keys, time) is reached.
// A searcher that fails is recorded (see [Engine.Failures]) and the others go
// on. The error is ctx's, or a bad ID.
func (e *Engine) Search(ctx context.Context, id string, window time.Duration, progress func(note string)) (SearchResult, error) {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > 1024 {
		return SearchResult{}, errorf("search: want an event ID")
	}
	if progress == nil {
		progress = func(string) {}
	}
	if window <= 0 {
		window = e.set.Search.Window
	}
	bounds := e.set.Search
	sctx, cancel := context.WithTimeout(ctx, bounds.Timeout)
	defer cancel()
	to := e.set.Now()
	from := to.Add(-window)
	started := time.Now()
	e.discover(sctx, to)
	e.readRoutes(sctx, to)

	var res SearchResult
	asked := map[string]bool{}
	seen := map[string]bool{}
	frontier := []tracing.Key{{Kind: tracing.KeyUnknown, Value: id}}
	for len(frontier) > 0 {
		if res.Rounds == bounds.Rounds {
			res.Bound = "rounds"
			break
		}
		if sctx.Err() != nil {
			res.Bound = "time"
			break
		}
		res.Rounds++
		for _, k := range frontier {
			asked[k.Value] = true
		}
		res.Keys += len(frontier)
		found := e.ask(sctx, frontier, from, to)
		var fresh tracing.Batch
		for i := range found {
			if rid := recordID(&found[i]); !seen[rid] {
				seen[rid] = true
				fresh = append(fresh, found[i])
			}
		}
		e.ingest(sctx, fresh)
		res.Records += len(fresh)

		var next []tracing.Key
		add := func(k tracing.Key) {
			if k.Value == "" || asked[k.Value] || !collectors.Followable(k.Kind) || len(k.Value) > 256 {
				return
			}
			if res.Keys+len(next) >= bounds.Keys {
				res.Bound = "keys"
				return
			}
			asked[k.Value] = true // queued: not added twice
			next = append(next, k)
		}
		for i := range fresh {
			for _, k := range collectors.Carried(&fresh[i]) {
				add(k)
			}
		}
		for _, k := range e.candidateKeys(frontier) {
			add(k)
		}
		note := fmt.Sprintf("round %d: %d keys, %d records", res.Rounds, len(frontier), len(fresh))
		progress(note)
		e.log.Info("history search", tracing.LogKeyID, id, tracing.LogKeyRound, res.Rounds, tracing.LogKeyKeys, len(frontier), tracing.LogKeyRecords, len(fresh))
		frontier = next
		if res.Bound == "keys" {
			break
		}
	}
	if res.Bound == "" && len(frontier) > 0 {
		res.Bound = "rounds"
	}
	if !e.started() {
		res.Found = len(e.graph.Find(id, 1)) > 0
	} else {
		// Results travel through the hub: give them a moment to land.
		for wait := 0; wait < 20 && !res.Found; wait++ {
			if res.Found = len(e.graph.Find(id, 1)) > 0; !res.Found && !sleep(ctx, 25*time.Millisecond) {
				break
			}
		}
	}
	e.log.Info("history search done", tracing.LogKeyID, id, tracing.LogKeyRound, res.Rounds, tracing.LogKeyKeys, res.Keys,
		tracing.LogKeyRecords, res.Records, tracing.LogKeyBound, res.Bound, tracing.LogKeyFound, res.Found, tracing.LogKeyDuration, time.Since(started).Round(time.Millisecond))
	if res.Bound != "" {
		progress("stopped at the " + res.Bound + " bound")
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// ask puts keys to every searcher at once and returns what they found; a
// searcher's error is recorded as its source's failure (a search cut by the
// time bound is not a failure).
func (e *Engine) ask(ctx context.Context, keys []tracing.Key, from, to time.Time) tracing.Batch {
	ss := e.searchers()
	out := make([]tracing.Batch, len(ss))
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := s.Search(ctx, keys, from, to)
			out[i] = b
			if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				e.noteFailure(s.Name(), err)
			}
		}()
	}
	wg.Wait()
	var all tracing.Batch
	for _, b := range out {
		all = append(all, b...)
	}
	return all
}

// candidateKeys are the keys of every event (up to 16) that one of keys
// matches in the graph: what the graph learned by joining records, such as
// the event a producer's request ID published.
func (e *Engine) candidateKeys(keys []tracing.Key) []tracing.Key {
	var out []tracing.Key
	for _, k := range keys {
		for _, term := range collectors.Terms(k) {
			for _, m := range e.graph.Find(term, 16) {
				l, err := e.graph.Lineage(m.ID)
				if err != nil {
					continue
				}
				out = append(out, l.Keys...)
				for _, h := range l.Hops {
					out = append(out, h.Keys...)
				}
			}
		}
	}
	return out
}

// readRoutes reads the routing configuration once when the graph has none
// (a search on an engine that is not watching live): it places the brokers
// no record of the search names, as Collect and the live topology source do.
func (e *Engine) readRoutes(ctx context.Context, at time.Time) {
	if len(e.graph.Routes()) > 0 || e.started() {
		return
	}
	if len(e.members) > 0 {
		e.readContextRoutes(ctx, at)
		return
	}
	set, err := e.topology.Discover(ctx)
	e.noteFailure("topology", err)
	e.ingest(ctx, topology.Batch(set, at))
}

func (e *Engine) started() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running
}

// recordID identifies a record across rounds, so that one found again is
// ingested once.
func recordID(o *tracing.Observation) string {
	switch {
	case o.Span != nil:
		return "span|" + o.Span.TraceID.String() + "/" + o.Span.SpanID.String() + "|" + strconv.FormatBool(o.Span.InProgress)
	case o.Message != nil:
		return "msg|" + o.Message.Queue + "|" + o.Message.ID
	case o.Log != nil && o.Log.EventID != "":
		return "log|" + o.Log.Group + "|" + o.Log.EventID
	case o.Log != nil:
		return "log|" + o.Log.Group + "|" + o.Log.Stream + "|" + strconv.FormatInt(o.Time.UnixMilli(), 10) + "|" + o.Log.Message
	}
	id := o.Source + "|" + o.Kind.String() + "|" + o.Component.String() + "|" + strconv.FormatInt(o.Time.UnixNano(), 10)
	if len(o.Keys) > 0 {
		id += "|" + o.Keys[0].String() // two records of one millisecond (two tasks' joins) stay two
	}
	return id
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
