package graph

import (
	"math"
	"testing"
	"time"
)

// TestRecentRateFollowsTheStream feeds a ring as the graph does (counts by
// arrival, every 100 ms) and reads its recent rate as the header does:
// right from the first seconds, within seconds of a change, and back to
// zero once the stream stops. The two-bucket perSecond, read once a bucket
// changes, would show the old rate for up to ten seconds after a change.
func TestRecentRateFollowsTheStream(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 3, 0, time.UTC) // not on a bucket boundary
	r := rateRing{width: 10 * time.Second}
	if got := r.recent(t0); got != 0 {
		t.Fatalf("an empty ring reads %v/s", got)
	}
	per := func(rate int) int { return rate / 10 } // counts per 100 ms
	near := func(at time.Time, want float64, tol float64) {
		t.Helper()
		if got := r.recent(at); math.Abs(got-want) > tol*want {
			t.Errorf("at %v: %.1f/s, want %.0f/s ± %.0f%%", at.Sub(t0), got, want, 100*tol)
		}
	}
	at := t0
	feed := func(rate int, d time.Duration) {
		for end := at.Add(d); at.Before(end); at = at.Add(100 * time.Millisecond) {
			r.add(at, per(rate))
		}
	}
	feed(500, 2*time.Second)
	near(at, 500, 0.1) // two seconds in: not diluted over a bucket nobody filled
	feed(500, 25*time.Second)
	near(at, 500, 0.1)
	feed(2000, 5*time.Second)
	if got := r.recent(at); got < 1000 {
		t.Errorf("5 s after the stream went from 500/s to 2000/s: %.1f/s, want over 1000", got)
	}
	feed(2000, 15*time.Second)
	near(at, 2000, 0.1) // the old rate has left the window
	if got := r.recent(at.Add(25 * time.Second)); got != 0 {
		t.Errorf("25 s after the stream stopped: %.1f/s, want 0", got)
	}
	if got := r.recent(at.Add(time.Hour)); got != 0 {
		t.Errorf("an hour after the stream stopped: %.1f/s, want 0", got)
	}
}
