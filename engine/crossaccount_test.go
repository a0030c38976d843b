package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/smithy-go/logging"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// Two source accounts linked to the sandbox's own account, the monitoring
// account flowtop is pointed at.
const (
	acctOrders   = "111111111111"
	acctShipping = "222222222222"
)

// accountConfig signs as account: the sandbox reads a 12-digit access key ID
// as the caller's account, as LocalStack does.
func accountConfig(url, account string) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider(account, "test", ""), Logger: logging.Nop{}}
}

// writeLogs writes lines to group (created) as account, a millisecond apart.
func writeLogs(t *testing.T, cfg aws.Config, group string, at time.Time, lines ...string) {
	t.Helper()
	ctx := context.Background()
	c := cwl.NewFromConfig(cfg)
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("2026/12/03/[$LATEST]0a")}); err != nil {
		t.Fatal(err)
	}
	var evs []cwltypes.InputLogEvent
	for i, l := range lines {
		evs = append(evs, cwltypes.InputLogEvent{Timestamp: aws.Int64(at.Add(time.Duration(i) * time.Millisecond).UnixMilli()), Message: aws.String(l)})
	}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("2026/12/03/[$LATEST]0a"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
}

// invocationLines are one invocation's START/END/REPORT around app lines.
func invocationLines(req, trace string, app ...map[string]any) []string {
	out := []string{"START RequestId: " + req + " Version: $LATEST"}
	for _, f := range app {
		f["level"], f["requestId"] = "INFO", req
		b, _ := json.Marshal(f)
		out = append(out, string(b))
	}
	return append(out, "END RequestId: "+req,
		"REPORT RequestId: "+req+"\tDuration: 12.00 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\nXRAY TraceId: "+trace+"\tSegmentId: 0000000000000001\tSampled: true\t")
}

// TestCrossAccountLineage: flowtop, pointed at a monitoring account, follows
// one event whose producer runs in one linked account and whose consumer runs
// in another: it finds the linked accounts through OAM, their log groups with
// includeLinkedAccounts, searches them with one Insights query by ARN, and
// the lineage shows each hop with the account that ran it. A function of the
// same name in the monitoring account stays a hop of its own.
func TestCrossAccountLineage(t *testing.T) {
	t.Parallel()
	srv := sandbox.NewServer(sandbox.Options{Seed: 16})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.LinkSourceAccount(acctOrders, "orders-prod")
	srv.LinkSourceAccount(acctShipping, "shipping-prod")

	const (
		ev      = "9e1c0000-aaaa-4bbb-8ccc-00000000e161"
		reqProd = "1a000000-0000-4000-8000-00000000001a"
		reqShip = "2b000000-0000-4000-8000-00000000002b"
		reqMon  = "3c000000-0000-4000-8000-00000000003c"
	)
	sec := time.Now().Unix() - 120
	trProd, trShip := fmt.Sprintf("1-%08x-%024x", sec, 0x1a), fmt.Sprintf("1-%08x-%024x", sec, 0x2b)
	at := time.Now().Add(-2 * time.Minute)
	writeLogs(t, accountConfig(url, acctOrders), "/aws/lambda/orders-api", at,
		invocationLines(reqProd, trProd, map[string]any{"message": "order placed", "published_event_id": ev})...)
	writeLogs(t, accountConfig(url, acctShipping), "/aws/lambda/ship-order", at.Add(time.Second),
		invocationLines(reqShip, trShip, map[string]any{"message": "label printed", "event_id": ev})...)
	// The monitoring account runs a ship-order of its own (a canary) that saw the event too.
	writeLogs(t, awsConfig(url), "/aws/lambda/ship-order", at.Add(2*time.Second),
		invocationLines(reqMon, "1-00000000-000000000000000000000000", map[string]any{"message": "canary", "event_id": ev})...)
	// Lambda's own segment in the shipping account names it (aws.account_id).
	doc, _ := json.Marshal(map[string]any{
		"id": "2b0000000000002b", "trace_id": trShip, "name": "ship-order", "origin": "AWS::Lambda::Function",
		"start_time": float64(sec) + 1, "end_time": float64(sec) + 1.012,
		"aws": map[string]any{"request_id": reqShip, "account_id": acctShipping, "function_arn": "arn:aws:lambda:us-east-1:" + acctShipping + ":function:ship-order"},
	})
	if _, err := awsxray.NewFromConfig(accountConfig(url, acctShipping)).PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{string(doc)}}); err != nil {
		t.Fatal(err)
	}

	e, err := New(Settings{
		AWS: awsConfig(url), Title: "sandbox",
		Sources: Sources{LogGroups: []string{"/aws/lambda/ship-order"}, XRay: true, LiveTail: "off"},
		Search:  SearchBounds{Timeout: 30 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	// The console's own call (`:tail <id>` on an ID the graph does not know).
	var notes []string
	if err := e.SearchHistory(context.Background(), ev, func(n string) { notes = append(notes, n) }); err != nil {
		t.Fatalf("search: %v; notes %q; failures %v", err, notes, e.Failures())
	}
	l := lineage(t, e, ev)
	want := map[string]tracing.Component{
		reqProd: {Kind: tracing.ComponentFunction, Name: "orders-api", Account: acctOrders},
		reqShip: {Kind: tracing.ComponentFunction, Name: "ship-order", Account: acctShipping},
		reqMon:  {Kind: tracing.ComponentFunction, Name: "ship-order", Account: sandbox.Account},
	}
	got := map[string]graph.Hop{}
	for _, h := range l.Hops {
		for _, k := range h.Keys {
			if k.Kind == tracing.KeyRequestID {
				got[k.Value] = h
			}
		}
	}
	for req, comp := range want {
		h, ok := got[req]
		if !ok {
			t.Errorf("no hop for %s (%s); hops:\n%+v", req, comp, l.Hops)
			continue
		}
		if h.Component != comp {
			t.Errorf("hop of %s is %s, want %s", req, h.Component, comp)
		}
	}
	if h := got[reqProd]; h.Kind != graph.HopPublish {
		t.Errorf("the producer in %s is a %v hop, want a publish", acctOrders, h.Kind)
	}
	if h := got[reqShip]; h.Kind != graph.HopInvoke || h.Status != graph.HopOK {
		t.Errorf("the consumer in %s: %v %v, want an invocation that succeeded", acctShipping, h.Kind, h.Status)
	}
	st := e.logs.Linked()
	if !st.Monitoring || st.Self != sandbox.Account || st.Accounts != 2 || st.Groups != 2 || st.Searched != 2 || st.NotSearched != 0 {
		t.Errorf("linked stats %+v; want the monitoring account, 2 accounts and 2 groups searched", st)
	}
	if f := e.Failures(); len(f) != 0 {
		t.Errorf("failures: %v", f)
	}
}
