package cwlogs

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

func client(t *testing.T) (*sandbox.Server, *cwl.Client) {
	t.Helper()
	srv := sandbox.NewServer(sandbox.Options{Seed: 3})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, cwl.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// scenario writes n log events to each of three function log groups.
func scenario(t *testing.T, c *cwl.Client, n int) []Group {
	ctx := context.Background()
	var groups []Group
	base := time.Now().Add(-20 * time.Second)
	for _, fn := range []string{"charge-card", "send-email", "reserve-stock"} {
		g := "/aws/lambda/" + fn
		groups = append(groups, Group{Name: g, Function: fn})
		if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
		var evs []cwltypes.InputLogEvent
		for i := 0; i < n; i++ {
			req := fmt.Sprintf("%08d-0000-4000-8000-%012d", i, len(groups))
			msg := fmt.Sprintf("REPORT RequestId: %s\tDuration: %d.50 ms\tBilled Duration: %d ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB", req, i+1, i+2)
			evs = append(evs, cwltypes.InputLogEvent{Timestamp: aws.Int64(base.Add(time.Duration(i) * time.Millisecond).UnixMilli()), Message: aws.String(msg)})
		}
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	return groups
}

// TestPollingExactlyOnceUnderFaults: with Live Tail unavailable and 10%
// throttling and 5% 5xx on FilterLogEvents, every event arrives exactly once,
// and Health says the source is polling.
func TestPollingExactlyOnceUnderFaults(t *testing.T) {
	t.Parallel()
	srv, c := client(t)
	groups := scenario(t, c, 150)
	srv.DisableLiveTail(true)
	srv.Faults.Set("logs.FilterLogEvents", sandbox.Fault{Throttle: 0.10, Error5xx: 0.05})
	s := New(c, Config{Groups: groups, Poll: 100 * time.Millisecond, Lookback: time.Minute, TPS: 50, CustomEndpoint: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan tracing.Batch, 64)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()
	seen := map[string]int{}
	deadline := time.After(20 * time.Second)
	for len(seen) < 450 {
		select {
		case b := <-out:
			for _, o := range b {
				if o.Kind != tracing.ObsInvocation || o.Source != "cwlogs" {
					t.Fatalf("observation %+v", o)
				}
				seen[o.Invocation.RequestID+o.Component.Name]++
			}
		case <-deadline:
			t.Fatalf("only %d of 450 events after 20s; health %+v", len(seen), s.Health())
		}
	}
	// Keep polling a while: the overlap re-reads must not duplicate.
	extra := time.After(500 * time.Millisecond)
loop:
	for {
		select {
		case b := <-out:
			for _, o := range b {
				seen[o.Invocation.RequestID+o.Component.Name]++
			}
		case <-extra:
			break loop
		}
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s ingested %d times", k, n)
		}
	}
	if h := s.Health(); !strings.HasPrefix(h.Mode, "polling") || !strings.Contains(h.Mode, "live tail unavailable") {
		t.Errorf("mode %q: want polling, saying live tail is unavailable", h.Mode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestCollectAndSearch(t *testing.T) {
	t.Parallel()
	_, c := client(t)
	groups := scenario(t, c, 20)
	s := New(c, Config{Groups: groups, TPS: 50})
	b, err := s.Collect(context.Background(), time.Now().Add(-time.Hour), time.Now(), "REPORT")
	if err != nil || len(b) != 60 {
		t.Fatalf("collect: %d, %v", len(b), err)
	}
	id := "00000007-0000-4000-8000-000000000002"
	found, err := s.Search(context.Background(), []tracing.Key{{Kind: tracing.KeyUnknown, Value: id}}, time.Now().Add(-time.Hour), time.Now())
	if err != nil || len(found) != 1 || found[0].Log.RequestID != id || found[0].Component.Name != "send-email" {
		t.Fatalf("search: %v %+v", err, found)
	}
	// Insights answered @timestamp as "2006-01-02 15:04:05.000": the record keeps
	// the time it was written, not the time of the lookup.
	var want time.Time
	for _, o := range b {
		if o.Invocation != nil && o.Invocation.RequestID == id {
			want = o.Time
		}
	}
	if want.IsZero() || !found[0].Time.Equal(want) {
		t.Errorf("searched record time %v, collected %v", found[0].Time, want)
	}
	// A prefix of an ID is not the ID: the server's regex matches it, the check does not.
	none, err := s.Search(context.Background(), []tracing.Key{{Kind: tracing.KeyRequestID, Value: id[:20]}}, time.Now().Add(-time.Hour), time.Now())
	if err != nil || len(none) != 0 {
		t.Errorf("prefix search kept %d records (%v)", len(none), err)
	}
}

func TestUnknownGroupIsSkippedAndErrorsExplain(t *testing.T) {
	t.Parallel()
	_, c := client(t)
	s := New(c, Config{Groups: []Group{{Name: "/aws/lambda/never-ran"}}, TPS: 50})
	b, err := s.Collect(context.Background(), time.Now().Add(-time.Hour), time.Now(), "")
	if err != nil || len(b) != 0 {
		t.Errorf("unknown group: %v %v", b, err)
	}
}

// TestLiveTailUnsupportedFallsBack: against an endpoint that answers
// StartLiveTail as unsupported, the request still reaches it (the streaming-
// host prefix is off for custom endpoints) and the source polls instead.
func TestLiveTailUnsupportedFallsBack(t *testing.T) {
	t.Parallel()
	srv, c := client(t)
	srv.DisableLiveTail(true) // as an endpoint without Live Tail answers
	groups := scenario(t, c, 5)
	s := New(c, Config{Groups: groups, Poll: 50 * time.Millisecond, TPS: 50, CustomEndpoint: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan tracing.Batch, 16)
	go func() { _ = s.Run(ctx, out) }()
	n := 0
	for n < 15 {
		select {
		case b := <-out:
			n += len(b)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d events; health %+v", n, s.Health())
		}
	}
	mode := s.Health().Mode
	if !strings.Contains(mode, "polling") || !strings.Contains(mode, "not supported") {
		t.Errorf("mode %q: want polling because the endpoint does not support live tail (not a DNS error)", mode)
	}
}

// TestLiveTail: where the endpoint offers Live Tail, the source follows the
// groups through the event stream (host prefix off for the custom endpoint)
// and says so; events written after the session starts arrive once each.
func TestLiveTail(t *testing.T) {
	t.Parallel()
	_, c := client(t)
	groups := scenario(t, c, 1)
	s := New(c, Config{Groups: groups, Poll: 50 * time.Millisecond, TPS: 50, CustomEndpoint: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan tracing.Batch, 16)
	go func() { _ = s.Run(ctx, out) }()
	deadline := time.Now().Add(5 * time.Second)
	for s.Health().Mode != "live tail" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if m := s.Health().Mode; m != "live tail" {
		t.Fatalf("mode %q", m)
	}
	for i := 0; i < 3; i++ {
		_, err := c.PutLogEvents(context.Background(), &cwl.PutLogEventsInput{
			LogGroupName: aws.String(groups[i].Name), LogStreamName: aws.String("s"),
			LogEvents: []cwltypes.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(fmt.Sprintf("START RequestId: 9999999%d-0000-4000-8000-000000000000 Version: $LATEST", i))}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	timeout := time.After(10 * time.Second)
	for len(got) < 3 {
		select {
		case b := <-out:
			for _, o := range b {
				if o.Log != nil && o.Log.Kind == tracing.LogStart {
					got[o.Log.RequestID]++
				}
			}
		case <-timeout:
			t.Fatalf("live tail delivered %v; health %+v", got, s.Health())
		}
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
}

// TestLiveTailComesBack: after a Live Tail outage the source polls, tries Live
// Tail again with backoff, and its health says "live tail" once it is back;
// events keep their own timestamps on both paths.
func TestLiveTailComesBack(t *testing.T) {
	t.Parallel()
	srv, c := client(t)
	groups := scenario(t, c, 1)
	srv.DisableLiveTail(true)
	s := New(c, Config{Groups: groups, Poll: 50 * time.Millisecond, TPS: 50, CustomEndpoint: true, TailRetry: 50 * time.Millisecond, TailRetryMax: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan tracing.Batch, 64)
	go func() { _ = s.Run(ctx, out) }()
	waitMode := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.HasPrefix(s.Health().Mode, want) && time.Now().Before(deadline) {
			select {
			case <-out:
			case <-time.After(20 * time.Millisecond):
			}
		}
		if h := s.Health(); !strings.HasPrefix(h.Mode, want) {
			t.Fatalf("mode %q, want %q", h.Mode, want)
		}
	}
	waitMode("polling (live tail unavailable")
	srv.DisableLiveTail(false)
	waitMode("live tail")
	if h := s.Health(); h.State != tracing.SourceStateOK {
		t.Errorf("state %v after live tail came back", h.State)
	}
	at := time.Now().Add(-3 * time.Second).Truncate(time.Millisecond)
	_, err := c.PutLogEvents(context.Background(), &cwl.PutLogEventsInput{
		LogGroupName: aws.String(groups[0].Name), LogStreamName: aws.String("s"),
		LogEvents: []cwltypes.InputLogEvent{{Timestamp: aws.Int64(at.UnixMilli()), Message: aws.String("START RequestId: 77777777-0000-4000-8000-000000000000 Version: $LATEST")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case b := <-out:
			for _, o := range b {
				if o.Log != nil && o.Log.RequestID == "77777777-0000-4000-8000-000000000000" {
					if !o.Time.Equal(at) {
						t.Errorf("live tail event time %v, want %v", o.Time, at)
					}
					return
				}
			}
		case <-timeout:
			t.Fatalf("the event never arrived through live tail; health %+v", s.Health())
		}
	}
}
