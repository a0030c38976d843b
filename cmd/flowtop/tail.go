package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/flowtop/flowtop/graph"
)

// lineageSource is what the tail printer reads: the graph, in practice.
type lineageSource interface {
	Lineage(id string) (graph.Lineage, error)
}

// ndjsonRecord is one line of `flowtop tail` output when stdout is not a terminal.
type ndjsonRecord struct {
	Record string   `json:"record"` // "hop", "status" or "missing"
	Event  string   `json:"event"`
	Status string   `json:"status"`
	Hop    *hopJSON `json:"hop,omitempty"`
}

// tailPrinter prints each new or changed hop of one event as it appears.
type tailPrinter struct {
	w      io.Writer
	seen   map[string]string // hop identity → last printed form
	status string
}

func newTailPrinter(w io.Writer) *tailPrinter {
	return &tailPrinter{w: w, seen: map[string]string{}}
}

func hopIdentity(h graph.Hop) string {
	id := h.Kind.String() + "|" + h.Component.String() + "|" + h.Time.UTC().Format(time.RFC3339Nano)
	for _, k := range h.Keys {
		id += "|" + k.String()
	}
	return id
}

// update prints what changed since the last call and reports whether the event
// is in a final state.
func (p *tailPrinter) update(l graph.Lineage) (final bool, err error) {
	enc := newJSONEncoder(p.w)
	for i, h := range l.Hops {
		hj := toHopJSON(i, h)
		form, _ := json.Marshal(hj)
		key := hopIdentity(h)
		if p.seen[key] == string(form) {
			continue
		}
		p.seen[key] = string(form)
		if err := enc.Encode(ndjsonRecord{Record: "hop", Event: l.ID, Status: l.Status.String(), Hop: &hj}); err != nil {
			return false, err
		}
	}
	if st := l.Status.String(); st != p.status {
		p.status = st
		if err := enc.Encode(ndjsonRecord{Record: "status", Event: l.ID, Status: st}); err != nil {
			return false, err
		}
	}
	return l.Status.Final(), nil
}

// followNDJSON polls src for the event every interval and prints new hops until
// ctx ends, the timeout passes, or (with untilFinal) the event is final. It
// returns a not-found error if the event never appeared.
func followNDJSON(ctx context.Context, src lineageSource, w io.Writer, id string, interval, timeout time.Duration, untilFinal bool) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	p := newTailPrinter(w)
	found := false
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		l, err := src.Lineage(id)
		switch {
		case err == nil:
			found = true
			final, werr := p.update(l)
			if werr != nil {
				return werr
			}
			if final && untilFinal {
				return nil
			}
		case errors.Is(err, graph.ErrAmbiguous):
			return usageErrorf("tail: %q matches more than one event: give more of the ID", clean(id))
		}
		select {
		case <-ctx.Done():
			if !found {
				return notFoundErrorf("tail: no event with ID %q was seen (checked for %s)", clean(id), timeout)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}
