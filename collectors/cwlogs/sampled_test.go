package cwlogs

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/flowtop/flowtop/tracing"
)

// TestLiveTailSampledIsBackfilled: a burst above 500 events a second makes
// Live Tail send a sample (the sandbox, as AWS, says so); the source reads
// the rest with FilterLogEvents, so every event arrives, and once.
func TestLiveTailSampledIsBackfilled(t *testing.T) {
	t.Parallel()
	_, c := client(t)
	groups := scenario(t, c, 1)
	s := New(c, Config{Groups: groups, Poll: 50 * time.Millisecond, TPS: 50, CustomEndpoint: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan tracing.Batch, 16)
	go func() { _ = s.Run(ctx, out) }()
	for deadline := time.Now().Add(10 * time.Second); s.Health().Mode != "live tail"; {
		if time.Now().After(deadline) {
			t.Fatalf("mode %q", s.Health().Mode)
		}
		<-time.After(20 * time.Millisecond)
	}
	const n = 1200
	for gi, g := range groups {
		var evs []cwltypes.InputLogEvent
		for i := range n / len(groups) {
			evs = append(evs, cwltypes.InputLogEvent{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(fmt.Sprintf("START RequestId: %08d-0000-4000-8000-%012d Version: $LATEST", i, gi))})
		}
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(g.Name), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	sampled := false
	timeout := time.After(60 * time.Second)
	for len(got) < n {
		select {
		case b := <-out:
			for _, o := range b {
				if o.Log != nil && o.Log.Kind == tracing.LogStart {
					got[o.Log.RequestID]++
				}
			}
			sampled = sampled || strings.Contains(s.Health().Mode, "sampled")
		case <-timeout:
			t.Fatalf("%d of %d events delivered; health %+v", len(got), n, s.Health())
		}
	}
	// Anything delivered twice would have come by now, with the next update.
	for end := time.After(2 * time.Second); ; {
		select {
		case b := <-out:
			for _, o := range b {
				if o.Log != nil && o.Log.Kind == tracing.LogStart {
					got[o.Log.RequestID]++
				}
			}
			continue
		case <-end:
		}
		break
	}
	for id, k := range got {
		if k != 1 {
			t.Errorf("%s delivered %d times", id, k)
		}
	}
	if !sampled {
		t.Errorf("the source never said Live Tail was sampled (mode %q)", s.Health().Mode)
	}
}
