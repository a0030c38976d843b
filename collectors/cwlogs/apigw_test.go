package cwlogs

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/flowtop/flowtop/tracing"
)

// TestAccessLogGroupLiveTail: an API stage's access log group found by a
// prefix does not open Live Tail alone before discovery named the functions'
// groups (Live Tail reads nothing logged before it opens), a group created
// later is followed once it appears, and an access log line becomes an API
// request while a Lambda line in the same session stays a Lambda line.
func TestAccessLogGroupLiveTail(t *testing.T) {
	t.Parallel()
	_, c := client(t)
	ctx := context.Background()
	mk := func(g string) {
		t.Helper()
		if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(g, msg string) {
		t.Helper()
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{
			LogGroupName: aws.String(g), LogStreamName: aws.String("s"),
			LogEvents: []cwltypes.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(msg)}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	const access = "API-Gateway-Access-Logs_k3x9q2m7wd/prod"
	mk(access)
	mk("/aws/lambda/orders-api")
	var discovered atomic.Bool // the Lambda collector answers late
	s := New(c, Config{
		Prefixes: []string{"API-Gateway-Access-Logs_"}, Poll: 50 * time.Millisecond, TPS: 50, CustomEndpoint: true,
		GroupsFunc: func() []Group {
			if !discovered.Load() {
				return nil
			}
			return []Group{{Name: "/aws/lambda/orders-api", Function: "orders-api"}}
		},
	})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan tracing.Batch, 64)
	go func() { _ = s.Run(runCtx, out) }()
	time.Sleep(300 * time.Millisecond) // some polls with discovery pending: Live Tail must wait
	if m := s.Health().Mode; m == "live tail" {
		t.Fatalf("live tail opened before discovery answered")
	}
	discovered.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for s.Health().Mode != "live tail" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	put(access, `{"requestId":"0f1e2d3c-aaaa-4bbb-8ccc-123456789abc","httpMethod":"POST","resourcePath":"/orders","status":"201","responseLatency":52}`)
	put("/aws/lambda/orders-api", "START RequestId: 9d1e2f3a-0000-4000-8000-0000000000aa Version: $LATEST")
	var api, lambda, lateAPI bool
	late := "API-Gateway-Access-Logs_k3x9q2m7wd/beta"
	timeout := time.After(20 * time.Second)
	for !api || !lambda || !lateAPI {
		select {
		case b := <-out:
			for _, o := range b {
				if r, ok := tracing.APIRequestOf(o.Span); ok {
					api = api || r.RequestID == "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc" && r.Route == "/orders" && o.Component.Name == "k3x9q2m7wd/prod"
					lateAPI = lateAPI || r.RequestID == "late-request" && o.Component.Name == "k3x9q2m7wd/beta"
				}
				lambda = lambda || o.Log != nil && o.Log.Kind == tracing.LogStart && o.Component.Name == "orders-api"
			}
			if api && lambda && late != "" {
				// A second stage's access log, created after the session opened.
				mk(late)
				lateGroup := late
				late = ""
				go func() {
					for i := 0; i < 100 && runCtx.Err() == nil; i++ {
						_, _ = c.PutLogEvents(ctx, &cwl.PutLogEventsInput{
							LogGroupName: aws.String(lateGroup), LogStreamName: aws.String("s"),
							LogEvents: []cwltypes.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(`{"requestId":"late-request","httpMethod":"GET","status":"200"}`)}},
						})
						time.Sleep(200 * time.Millisecond)
					}
				}()
			}
		case <-timeout:
			t.Fatalf("api %v lambda %v late api %v; health %+v", api, lambda, lateAPI, s.Health())
		}
	}
}
