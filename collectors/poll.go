package collectors

import (
	"context"
	"time"

	"github.com/flowtop/flowtop/collectors/awsutil"
)

// Poll runs round now and then every interval until ctx ends: the loop every
// polling source shares. A failed round is recorded on t and retried after a
// backoff with jitter, never sooner than interval (nor later than 30 s before
// the backoff grows); a good round resets the backoff. t is marked stopped on
// the way out. round reports success to t itself (t.OK), since only it knows
// how many items it saw.
func Poll(ctx context.Context, t *Tracker, interval time.Duration, round func(context.Context) error) {
	defer t.Stopped()
	var bo awsutil.Backoff
	for {
		wait := interval
		if err := round(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			wait = max(bo.Next(), min(interval, 30*time.Second))
			t.Fail(err, wait)
		} else {
			bo.Reset()
		}
		if !awsutil.Sleep(ctx, wait) {
			return
		}
	}
}
