package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/oam"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/smithy-go"
)

// as signs cfg's calls as account, as LocalStack reads a 12-digit access key.
func as(cfg aws.Config, account string) aws.Config {
	cfg.Credentials = credentials.NewStaticCredentialsProvider(account, "test", "")
	cfg.RetryMaxAttempts = 1
	return cfg
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestCrossAccountObservability: the monitoring account sees its linked
// source accounts' log groups and traces, a source account only its own, and
// the calls refuse what AWS refuses.
func TestCrossAccountObservability(t *testing.T) {
	t.Parallel()
	srv, cfg := startServer(t)
	ctx := context.Background()
	const a, b, stranger = "111111111111", "222222222222", "999999999999"
	srv.LinkSourceAccount(a, "orders-prod")
	srv.LinkSourceAccount(b, "shipping-prod", OAMLogGroups) // logs only
	for _, acct := range []string{a, b, stranger, Account} {
		c := cwl.NewFromConfig(as(cfg, acct))
		g := aws.String("/aws/lambda/fn")
		if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: g}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: g, LogStreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: g, LogStreamName: aws.String("s"), LogEvents: []cwltypes.InputLogEvent{
			{Timestamp: aws.Int64(time.Now().Add(-time.Minute).UnixMilli()), Message: aws.String("hello from " + acct)},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	mon := cwl.NewFromConfig(cfg)
	arn := func(acct string) string { return "arn:aws:logs:" + Region + ":" + acct + ":log-group:/aws/lambda/fn" }

	t.Run("OAM", func(t *testing.T) {
		c := oam.NewFromConfig(cfg)
		sinks, err := c.ListSinks(ctx, &oam.ListSinksInput{})
		if err != nil || len(sinks.Items) != 1 {
			t.Fatalf("ListSinks: %v %+v", err, sinks)
		}
		links, err := c.ListAttachedLinks(ctx, &oam.ListAttachedLinksInput{SinkIdentifier: sinks.Items[0].Arn})
		if err != nil || len(links.Items) != 2 || aws.ToString(links.Items[0].Label) != "orders-prod" || !strings.Contains(aws.ToString(links.Items[1].LinkArn), ":"+b+":link/") {
			t.Fatalf("ListAttachedLinks: %v %+v", err, links)
		}
		if s, err := oam.NewFromConfig(as(cfg, a)).ListSinks(ctx, &oam.ListSinksInput{}); err != nil || len(s.Items) != 0 {
			t.Errorf("a source account has a sink: %v %+v", err, s)
		}
		_, err = c.ListAttachedLinks(ctx, &oam.ListAttachedLinksInput{SinkIdentifier: aws.String("arn:aws:oam:us-east-1:" + Account + ":sink/nope")})
		if apiCode(err) != "ResourceNotFoundException" {
			t.Errorf("unknown sink: %v", err)
		}
	})
	t.Run("DescribeLogGroups", func(t *testing.T) {
		list := func(c *cwl.Client, in *cwl.DescribeLogGroupsInput) []string {
			t.Helper()
			out, err := c.DescribeLogGroups(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			var arns []string
			for _, g := range out.LogGroups {
				arns = append(arns, aws.ToString(g.LogGroupArn))
				if aws.ToString(g.Arn) != aws.ToString(g.LogGroupArn)+":*" {
					t.Errorf("arn %s and logGroupArn %s", aws.ToString(g.Arn), aws.ToString(g.LogGroupArn))
				}
			}
			return arns
		}
		if got := list(mon, &cwl.DescribeLogGroupsInput{}); fmt.Sprint(got) != fmt.Sprint([]string{arn(Account)}) {
			t.Errorf("without includeLinkedAccounts: %v", got)
		}
		if got := list(mon, &cwl.DescribeLogGroupsInput{IncludeLinkedAccounts: aws.Bool(true)}); fmt.Sprint(got) != fmt.Sprint([]string{arn(Account), arn(a), arn(b)}) {
			t.Errorf("with includeLinkedAccounts: %v", got)
		}
		if got := list(mon, &cwl.DescribeLogGroupsInput{IncludeLinkedAccounts: aws.Bool(true), AccountIdentifiers: []string{b, stranger}}); fmt.Sprint(got) != fmt.Sprint([]string{arn(b)}) {
			t.Errorf("accountIdentifiers [b, stranger]: %v", got)
		}
		if got := list(cwl.NewFromConfig(as(cfg, a)), &cwl.DescribeLogGroupsInput{IncludeLinkedAccounts: aws.Bool(true)}); fmt.Sprint(got) != fmt.Sprint([]string{arn(a)}) {
			t.Errorf("a source account: %v", got)
		}
		var many []string
		for i := range 21 {
			many = append(many, fmt.Sprintf("%012d", i))
		}
		if _, err := mon.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{IncludeLinkedAccounts: aws.Bool(true), AccountIdentifiers: many}); apiCode(err) != "InvalidParameterException" {
			t.Errorf("21 accountIdentifiers: %v", err)
		}
	})
	t.Run("FilterLogEvents", func(t *testing.T) {
		out, err := mon.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupIdentifier: aws.String(arn(a))})
		if err != nil || len(out.Events) != 1 || aws.ToString(out.Events[0].Message) != "hello from "+a {
			t.Fatalf("linked group by ARN: %v %+v", err, out)
		}
		if _, err := mon.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupIdentifier: aws.String(arn(stranger))}); apiCode(err) != "ResourceNotFoundException" {
			t.Errorf("an unlinked account's group: %v", err)
		}
		if _, err := cwl.NewFromConfig(as(cfg, a)).FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupIdentifier: aws.String(arn(b))}); apiCode(err) != "ResourceNotFoundException" {
			t.Errorf("a source account reading another's group: %v", err)
		}
		if _, err := mon.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/fn"), LogGroupIdentifier: aws.String(arn(a))}); apiCode(err) != "InvalidParameterException" {
			t.Errorf("name and identifier together: %v", err)
		}
	})
	t.Run("StartQuery", func(t *testing.T) {
		q := func(in *cwl.StartQueryInput) ([]string, error) {
			in.QueryString = aws.String("fields @timestamp, @message, @log | filter @message like /hello/")
			in.StartTime, in.EndTime = aws.Int64(time.Now().Add(-time.Hour).Unix()), aws.Int64(time.Now().Unix())
			started, err := mon.StartQuery(ctx, in)
			if err != nil {
				return nil, err
			}
			res, err := mon.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: started.QueryId})
			if err != nil {
				return nil, err
			}
			var logs []string
			for _, row := range res.Results {
				for _, f := range row {
					if aws.ToString(f.Field) == "@log" {
						logs = append(logs, aws.ToString(f.Value))
					}
				}
			}
			sort.Strings(logs)
			return logs, nil
		}
		got, err := q(&cwl.StartQueryInput{LogGroupIdentifiers: []string{arn(a), arn(b), "/aws/lambda/fn"}})
		want := []string{Account + ":/aws/lambda/fn", a + ":/aws/lambda/fn", b + ":/aws/lambda/fn"}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("@log of the rows: %v %v; want %v", got, err, want)
		}
		for name, in := range map[string]*cwl.StartQueryInput{
			"names and identifiers": {LogGroupNames: []string{"/aws/lambda/fn"}, LogGroupIdentifiers: []string{arn(a)}},
			"an ARN ending in *":    {LogGroupIdentifiers: []string{arn(a) + ":*"}},
			"51 groups":             {LogGroupIdentifiers: make([]string, 51)},
		} {
			if _, err := q(in); apiCode(err) != "InvalidParameterException" {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	t.Run("X-Ray", func(t *testing.T) {
		sec := time.Now().Unix() - 10
		trace := fmt.Sprintf("1-%08x-%024x", sec, 1)
		for i, acct := range []string{a, b, Account} {
			doc := fmt.Sprintf(`{"id":"%016x","trace_id":%q,"name":"fn","start_time":%d,"end_time":%d}`, i+1, trace, sec, sec+1)
			if _, err := awsxray.NewFromConfig(as(cfg, acct)).PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{doc}}); err != nil {
				t.Fatal(err)
			}
		}
		segs := func(acct string) int {
			out, err := awsxray.NewFromConfig(as(cfg, acct)).BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{trace}})
			if err != nil || len(out.Traces) > 1 {
				t.Fatalf("%s: %v", acct, err)
			}
			if len(out.Traces) == 0 {
				return 0
			}
			return len(out.Traces[0].Segments)
		}
		// b shares logs only: the monitoring account sees a's copy and its own.
		if n := segs(Account); n != 2 {
			t.Errorf("monitoring account sees %d segments, want 2", n)
		}
		if n := segs(a); n != 1 {
			t.Errorf("source account sees %d segments, want its own 1", n)
		}
		if n := segs(stranger); n != 0 {
			t.Errorf("an unrelated account sees %d segments", n)
		}
	})
}
