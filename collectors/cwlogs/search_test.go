package cwlogs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/flowtop/flowtop/tracing"
)

func TestParseLogTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 12, 3, 11, 4, 5, 123_000_000, time.UTC)
	tests := []struct {
		name, in string
		want     time.Time
		ok       bool
	}{
		{"insights text", "2026-12-03 11:04:05.123", want, true},
		{"insights text without millis", "2026-12-03 11:04:05", want.Truncate(time.Second), true},
		{"rfc3339", "2026-12-03T11:04:05.123Z", want, true},
		{"epoch milliseconds (LocalStack-like insights, live tail, filter)", "1796295845123", want, true},
		{"epoch seconds with fraction", "1796295845.123", want, true},
		{"epoch microseconds", "1796295845123000", want, true},
		{"epoch nanoseconds", "1796295845123000000", want, true},
		{"empty", "", time.Time{}, false},
		{"garbage", "soon", time.Time{}, false},
		{"negative", "-5", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseLogTime(tt.in)
			if ok != tt.ok || !got.Equal(tt.want) {
				t.Errorf("ParseLogTime(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// insightsFake answers Logs Insights as a LocalStack-like endpoint does, with
// @timestamp in epoch milliseconds: a form the sandbox does not produce.
type insightsFake struct {
	API
	rows [][]cwltypes.ResultField
}

func (f *insightsFake) StartQuery(context.Context, *cwl.StartQueryInput, ...func(*cwl.Options)) (*cwl.StartQueryOutput, error) {
	return &cwl.StartQueryOutput{QueryId: aws.String("q")}, nil
}

func (f *insightsFake) GetQueryResults(context.Context, *cwl.GetQueryResultsInput, ...func(*cwl.Options)) (*cwl.GetQueryResultsOutput, error) {
	return &cwl.GetQueryResultsOutput{Status: cwltypes.QueryStatusComplete, Results: f.rows}, nil
}

func (f *insightsFake) FilterLogEvents(context.Context, *cwl.FilterLogEventsInput, ...func(*cwl.Options)) (*cwl.FilterLogEventsOutput, error) {
	return nil, errors.New("not used")
}

func row(kv ...string) []cwltypes.ResultField {
	var r []cwltypes.ResultField
	for i := 0; i+1 < len(kv); i += 2 {
		r = append(r, cwltypes.ResultField{Field: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return r
}

func TestSearchEpochMillisTimestamp(t *testing.T) {
	t.Parallel()
	req := "5d6c8e7a-0000-4000-8000-000000000001"
	at := time.Date(2026, 12, 3, 10, 0, 0, 250_000_000, time.UTC)
	fake := &insightsFake{rows: [][]cwltypes.ResultField{
		row("@timestamp", "1796292000250", "@message", "START RequestId: "+req+" Version: $LATEST", "@logStream", "s", "@log", "000000000000:/aws/lambda/fn"),
		row("@timestamp", "not a time", "@ingestionTime", "1796292001000", "@message", "END RequestId: "+req, "@logStream", "s", "@log", "000000000000:/aws/lambda/fn"),
		// Matched by the server's regex, carried by no record key nor token: dropped.
		row("@timestamp", "1796292000300", "@message", "START RequestId: "+req+"0 Version: $LATEST", "@logStream", "s", "@log", "000000000000:/aws/lambda/fn"),
	}}
	s := New(fake, Config{Groups: []Group{{Name: "/aws/lambda/fn", Function: "fn"}}})
	b, err := s.Search(context.Background(), []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}}, at.Add(-time.Hour), at.Add(time.Hour))
	if err != nil || len(b) != 2 {
		t.Fatalf("search: %d records, %v", len(b), err)
	}
	if !b[0].Time.Equal(at) {
		t.Errorf("epoch-ms @timestamp read as %v, want %v", b[0].Time, at)
	}
	if !b[1].Time.Equal(at.Add(750 * time.Millisecond)) {
		t.Errorf("unreadable @timestamp: time %v, want the ingestion time", b[1].Time)
	}
	if h := s.Health(); h.Unparsed != 1 {
		t.Errorf("unparsed = %d, want 1", h.Unparsed)
	}
}

// TestFilterLogEventsTimestamp: FilterLogEvents answers epoch milliseconds;
// a collected record keeps the time it was written.
func TestFilterLogEventsTimestamp(t *testing.T) {
	t.Parallel()
	_, c := client(t)
	ctx := context.Background()
	g := "/aws/lambda/ts"
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-90 * time.Second).Truncate(time.Millisecond)
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{
		LogGroupName: aws.String(g), LogStreamName: aws.String("s"),
		LogEvents: []cwltypes.InputLogEvent{{Timestamp: aws.Int64(at.UnixMilli()), Message: aws.String("START RequestId: 12345678-0000-4000-8000-000000000000 Version: $LATEST")}},
	}); err != nil {
		t.Fatal(err)
	}
	s := New(c, Config{Groups: []Group{{Name: g, Function: "ts"}}, TPS: 50})
	b, err := s.Collect(ctx, at.Add(-time.Minute), time.Now(), "")
	if err != nil || len(b) != 1 {
		t.Fatalf("collect: %v; %d records", err, len(b))
	}
	if !b[0].Time.Equal(at) {
		t.Errorf("time %v, want %v", b[0].Time, at)
	}
}
