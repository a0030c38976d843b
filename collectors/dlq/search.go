package dlq

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/tracing"
)

// SearchConfig sets the DLQ history searcher.
type SearchConfig struct {
	PeekMax  int              // messages peeked per DLQ (default 100)
	CacheFor time.Duration    // how long one peek of a DLQ answers searches (default 30s)
	Now      func() time.Time // for tests
}

// Searcher finds dead-lettered copies of events: it peeks every non-empty DLQ
// and keeps the messages whose own ID or body keys match. SQS cannot filter on
// the server, and every peek raises the messages' receive counts, so one peek
// of a queue answers every search for CacheFor. A message sitting in a DLQ is
// kept whatever its age: it is the event's present state, not its history.
// It implements [collectors.Searcher].
type Searcher struct {
	src *Source
	cfg SearchConfig

	mu    sync.Mutex
	cache map[string]peeked // queue URL → last peek
}

type peeked struct {
	at  time.Time
	obs []tracing.Observation
}

var _ collectors.Searcher = (*Searcher)(nil)

// NewSearcher returns a searcher over the DLQs src finds.
func NewSearcher(src *Source, cfg SearchConfig) *Searcher {
	if cfg.PeekMax <= 0 {
		cfg.PeekMax = 100
	}
	if cfg.CacheFor <= 0 {
		cfg.CacheFor = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Searcher{src: src, cfg: cfg, cache: map[string]peeked{}}
}

// Name is "dlq".
func (s *Searcher) Name() string { return "dlq" }

// Search returns the DLQ messages that carry one of keys.
func (s *Searcher) Search(ctx context.Context, keys []tracing.Key, _, _ time.Time) (tracing.Batch, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	qs, err := s.src.List(ctx)
	if err != nil {
		return nil, err
	}
	var out tracing.Batch
	var errs []error
	for _, q := range qs {
		if !q.IsDLQ || q.Depth == 0 {
			continue
		}
		obs, err := s.peek(ctx, q.URL)
		if err != nil {
			errs = append(errs, err)
		}
		for i := range obs {
			if collectors.Carries(&obs[i], keys) {
				out = append(out, obs[i])
			}
		}
	}
	return out, errors.Join(errs...)
}

func (s *Searcher) peek(ctx context.Context, url string) ([]tracing.Observation, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	p, ok := s.cache[url]
	s.mu.Unlock()
	if ok && now.Sub(p.at) < s.cfg.CacheFor {
		return p.obs, nil
	}
	obs, err := s.src.Peek(ctx, url, s.cfg.PeekMax)
	if err != nil {
		return obs, err
	}
	s.mu.Lock()
	s.cache[url] = peeked{at: now, obs: obs}
	s.mu.Unlock()
	return obs, nil
}
