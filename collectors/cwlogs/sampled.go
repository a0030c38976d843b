package cwlogs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// Live Tail sends at most 500 events a second; above that, AWS sends a
// sample and says so (sessionMetadata.sampled). The events left out are
// still in their groups: after a sampled update, the source reads the
// window since the update before with FilterLogEvents, within the shared
// budget, and keeps what the session did not deliver (events are known by
// the same ID on both paths).

// backfillPages bounds the pages one group's backfill reads.
const backfillPages = 20

// tailID is how Live Tail's events are known: Live Tail gives no event ID.
func tailID(stream string, ts int64, msg string) string {
	return fmt.Sprintf("%s/%d/%s", stream, ts, msg)
}

// backfill reads the groups' events since from, widened by the overlap for
// late ingestion, that no session delivered. What comes in meanwhile is
// known by its ID when the next update brings it.
func (s *Source) backfill(ctx context.Context, groups []Group, from time.Time) tracing.Batch {
	start := from.Add(-s.cfg.Overlap).UnixMilli()
	var out tracing.Batch
	for _, g := range groups {
		b, _, err := s.readPagesAs(ctx, g, start, 0, "", backfillPages, true)
		out = append(out, b...)
		if err != nil {
			slog.Debug("live tail backfill", tracing.LogKeySource, "cwlogs", tracing.LogKeyGroups, g.Name, tracing.LogKeyError, err.Error())
		}
	}
	return out
}
