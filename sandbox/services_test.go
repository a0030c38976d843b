package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/xray"
)

func TestLogsConformance(t *testing.T) {
	t.Parallel()
	_, cfg := startServer(t)
	ctx := context.Background()
	c := cwl.NewFromConfig(cfg)
	g := aws.String("/aws/lambda/charge-card")
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: g})
	var exists *cwltypes.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("duplicate group: %v", err)
	}
	for _, s := range []string{"s1", "s2"} {
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Now().Add(-time.Minute).UnixMilli()
	msgs := []string{
		"START RequestId: r1 Version: $LATEST",
		`{"level":"ERROR","message":"card declined","order":{"total":120}}`,
		"REPORT RequestId: r1\tDuration: 10.00 ms\tBilled Duration: 10 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB",
		`{"level":"INFO","message":"ok","order":{"total":5}}`,
		"REPORT RequestId: r2\tDuration: 12.00 ms\tBilled Duration: 12 ms\tMemory Size: 128 MB\tMax Memory Used: 41 MB\tInit Duration: 100.00 ms",
	}
	for i, m := range msgs {
		stream := []string{"s1", "s2"}[i%2]
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: g, LogStreamName: aws.String(stream), LogEvents: []cwltypes.InputLogEvent{{Timestamp: aws.Int64(base + int64(i)), Message: aws.String(m)}}}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(pattern string, limit int32) (int, int) {
		p := cwl.NewFilterLogEventsPaginator(c, &cwl.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(pattern), StartTime: aws.Int64(base), Limit: aws.Int32(limit)})
		n, pages := 0, 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n += len(out.Events)
			pages++
		}
		return n, pages
	}
	for pattern, want := range map[string]int{
		"REPORT": 2, `"Init Duration"`: 1, "?START ?card": 2, "REPORT -Init": 1, `{ $.level = "ERROR" }`: 1,
		`{ $.order.total > 100 }`: 1, `{ $.level = "INFO" || $.order.total >= 120 }`: 2, "": 5,
	} {
		if got, _ := count(pattern, 100); got != want {
			t.Errorf("pattern %q matched %d, want %d", pattern, got, want)
		}
	}
	if n, pages := count("", 2); n != 5 || pages < 3 {
		t.Errorf("pagination: %d events in %d pages", n, pages)
	}
	_, err = c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/nope")})
	var nf *cwltypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown group: %v", err)
	}
	groups, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/")})
	if err != nil || len(groups.LogGroups) != 1 {
		t.Errorf("describe: %v %v", groups, err)
	}
	q, err := c.StartQuery(ctx, &cwl.StartQueryInput{
		LogGroupNames: []string{*g}, QueryString: aws.String("fields @timestamp, @message | filter @message like /r2/ | sort @timestamp desc | limit 10"),
		StartTime: aws.Int64(base/1000 - 1), EndTime: aws.Int64(time.Now().Unix() + 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: q.QueryId})
	if err != nil || len(res.Results) != 1 || res.Status != cwltypes.QueryStatusComplete {
		t.Errorf("insights: %v %+v", err, res)
	}
}

func TestXRayAndLambdaConformance(t *testing.T) {
	t.Parallel()
	srv, cfg := startServer(t)
	ctx := context.Background()
	x := xray.NewFromConfig(cfg)
	now := float64(time.Now().Unix())
	seg := func(id, trace, name string, inProgress bool) string {
		m := map[string]any{"id": id, "trace_id": trace, "name": name, "start_time": now - 1, "annotations": map[string]any{"order_id": "o-1"}}
		if inProgress {
			m["in_progress"] = true
		} else {
			m["end_time"] = now
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	out, err := x.PutTraceSegments(ctx, &xray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{
		seg("70de5b6f19ff9a0a", "1-581cf771-a006649127e371903a2de979", "orders-api", false),
		seg("70de5b6f19ff9a0b", "1-581cf771-a006649127e371903a2de97a", "charge-card", true), "not json",
	}})
	if err != nil || len(out.UnprocessedTraceSegments) != 1 {
		t.Fatalf("put: %v %+v", err, out)
	}
	sums, err := x.GetTraceSummaries(ctx, &xray.GetTraceSummariesInput{StartTime: aws.Time(time.Now().Add(-time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)), FilterExpression: aws.String(`service("orders-api")`)})
	if err != nil || len(sums.TraceSummaries) != 1 {
		t.Fatalf("summaries: %v %+v", err, sums)
	}
	traces, err := x.BatchGetTraces(ctx, &xray.BatchGetTracesInput{TraceIds: []string{"1-581cf771-a006649127e371903a2de979", "1-581cf771-a006649127e371903a2de900"}})
	if err != nil || len(traces.Traces) != 1 || len(traces.UnprocessedTraceIds) != 1 || !strings.Contains(aws.ToString(traces.Traces[0].Segments[0].Document), "orders-api") {
		t.Fatalf("batch: %v %+v", err, traces)
	}
	srv.RegisterFunction(LambdaFunction{Name: "charge-card", Runtime: "nodejs22.x", MemoryMB: 512, TimeoutSec: 3, Architecture: "arm64", LogFormat: "JSON"})
	srv.RegisterFunction(LambdaFunction{Name: "send-email", Runtime: "python3.13", MemoryMB: 128, TimeoutSec: 10})
	l := lambda.NewFromConfig(cfg)
	var names []string
	p := lambda.NewListFunctionsPaginator(l, &lambda.ListFunctionsInput{MaxItems: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if strings.Join(names, ",") != "charge-card,send-email" {
		t.Errorf("functions %v", names)
	}
	fc, err := l.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("charge-card")})
	if err != nil || aws.ToInt32(fc.MemorySize) != 512 || fc.Architectures[0] != lambdatypes.ArchitectureArm64 || fc.LoggingConfig.LogFormat != lambdatypes.LogFormatJson || aws.ToString(fc.LoggingConfig.LogGroup) != "/aws/lambda/charge-card" {
		t.Errorf("config %v %+v", err, fc)
	}
	_, err = l.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("nope")})
	var nf *lambdatypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown function: %v", err)
	}
}

func TestEventBridgeSNSRouting(t *testing.T) {
	t.Parallel()
	_, cfg := startServer(t)
	ctx := context.Background()
	q := sqs.NewFromConfig(cfg)
	eb := eventbridge.NewFromConfig(cfg)
	n := sns.NewFromConfig(cfg)
	for _, name := range []string{"billing", "email", "raw"} {
		if _, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	arn := func(name string) *string { return aws.String("arn:aws:sqs:us-east-1:000000000000:" + name) }
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	topic, err := n.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("order-events")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: arn("email")}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: arn("raw"), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}
	rules := map[string]string{
		"big-orders": `{"source":["orders"],"detail-type":["OrderPlaced"],"detail":{"total":[{"numeric":[">",100]}]}}`,
		"all-orders": `{"source":[{"prefix":"ord"}],"detail":{"coupon":[{"exists":false}],"region":[{"anything-but":["eu"]}]}}`,
	}
	for name, pattern := range rules {
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String("orders"), EventPattern: aws.String(pattern)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("big-orders"), EventBusName: aws.String("orders"), Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: arn("billing")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("all-orders"), EventBusName: aws.String("orders"), Targets: []ebtypes.Target{{Id: aws.String("t"), Arn: topic.TopicArn}}}); err != nil {
		t.Fatal(err)
	}
	put := func(detail string) string {
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{Source: aws.String("orders"), DetailType: aws.String("OrderPlaced"), Detail: aws.String(detail), EventBusName: aws.String("orders")}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("put events: %v %+v", err, out)
		}
		return aws.ToString(out.Entries[0].EventId)
	}
	big := put(`{"total":150,"region":"us"}`)
	put(`{"total":50,"region":"us"}`)
	put(`{"total":500,"region":"eu"}`)
	put(`{"total":20,"region":"us","coupon":"X"}`)
	recv := func(name string) []string {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(*cfg.BaseEndpoint + "/000000000000/" + name), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
		return bodies
	}
	billing := recv("billing")
	if len(billing) != 2 || !strings.Contains(billing[0], big) || !strings.Contains(billing[0], `"detail-type":"OrderPlaced"`) {
		t.Errorf("billing got %d: %v", len(billing), billing)
	}
	email := recv("email")
	if len(email) != 2 || !strings.Contains(email[0], `"Type":"Notification"`) || !strings.Contains(email[0], `\"detail-type\":\"OrderPlaced\"`) {
		t.Errorf("email (enveloped) got %v", email)
	}
	raw := recv("raw")
	if len(raw) != 2 || !strings.HasPrefix(raw[0], `{"version":"0"`) {
		t.Errorf("raw delivery got %v", raw)
	}
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bad"), EventBusName: aws.String("orders"), EventPattern: aws.String(`{"source":"not-an-array"}`)})
	var bad *ebtypes.InvalidEventPatternException
	if !errors.As(err, &bad) {
		t.Errorf("bad pattern: %v", err)
	}
}

// TestLogRetention: a group keeps its newest events only, and a paging
// reader that started before older events were dropped still gets every
// event that remains, once, in order.
func TestLogRetention(t *testing.T) {
	t.Parallel()
	srv := NewServer(Options{Seed: 7, LogRetention: 50})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := cwl.NewFromConfig(aws.Config{Region: Region, Credentials: staticCreds(), BaseEndpoint: aws.String(url)})
	ctx := context.Background()
	g, s := aws.String("/aws/lambda/r"), aws.String("s")
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: g, LogStreamName: s}); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).UnixMilli()
	put := func(from, n int) {
		var evs []cwltypes.InputLogEvent
		for i := from; i < from+n; i++ {
			evs = append(evs, cwltypes.InputLogEvent{Timestamp: aws.Int64(base + int64(i)), Message: aws.String(fmt.Sprintf("line %d", i))})
		}
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: g, LogStreamName: s, LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	put(0, 40)
	first, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: g, StartTime: aws.Int64(base), Limit: aws.Int32(10)})
	if err != nil || len(first.Events) != 10 || first.NextToken == nil {
		t.Fatalf("first page: %v %d", err, len(first.Events))
	}
	put(40, 30) // 70 written: the 20 oldest are dropped
	var got []string
	token := first.NextToken
	for token != nil {
		out, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: g, StartTime: aws.Int64(base), Limit: aws.Int32(10), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.Message))
		}
		token = out.NextToken
	}
	if len(got) != 50 || got[0] != "line 20" || got[49] != "line 69" {
		t.Fatalf("after retention the reader got %d events (%q … %q), want lines 20 to 69", len(got), got[0], got[len(got)-1])
	}
}
