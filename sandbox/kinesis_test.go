package sandbox

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

var seqPattern = regexp.MustCompile(`^[0-9]{56}$`)

// TestKinesisThroughSDK drives the emulated stream with the real SDK client:
// records placed in shards, read back in order from TRIM_HORIZON and after a
// sequence number, partial PutRecords failures over a shard's write limit,
// and AWS's error shapes.
func TestKinesisThroughSDK(t *testing.T) {
	srv, cfg := startServer(t)
	ctx := context.Background()
	k := kinesis.NewFromConfig(cfg)
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("clicks"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	_, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("clicks"), ShardCount: aws.Int32(2)})
	var inUse *ktypes.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("second CreateStream: %v, want ResourceInUseException", err)
	}
	sum, err := k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("clicks")})
	if err != nil || aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount) != 2 || sum.StreamDescriptionSummary.StreamStatus != ktypes.StreamStatusActive {
		t.Fatalf("DescribeStreamSummary: %+v, %v", sum, err)
	}
	ls, err := k.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil || len(ls.StreamNames) != 1 || aws.ToString(ls.StreamSummaries[0].StreamARN) != StreamARN("clicks") {
		t.Fatalf("ListStreams: %+v, %v", ls, err)
	}
	shards, err := k.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("clicks"), MaxResults: aws.Int32(1)})
	if err != nil || len(shards.Shards) != 1 || shards.NextToken == nil || aws.ToString(shards.Shards[0].ShardId) != "shardId-000000000000" {
		t.Fatalf("ListShards page 1: %+v, %v", shards, err)
	}
	more, err := k.ListShards(ctx, &kinesis.ListShardsInput{NextToken: shards.NextToken})
	if err != nil || len(more.Shards) != 1 || aws.ToString(more.Shards[0].ShardId) != "shardId-000000000001" {
		t.Fatalf("ListShards page 2: %+v, %v", more, err)
	}
	one, err := k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("clicks"), Data: []byte(`{"n":0}`), PartitionKey: aws.String("p")})
	if err != nil || !seqPattern.MatchString(aws.ToString(one.SequenceNumber)) {
		t.Fatalf("PutRecord: %+v, %v", one, err)
	}
	var entries []ktypes.PutRecordsRequestEntry
	for range 5 {
		entries = append(entries, ktypes.PutRecordsRequestEntry{Data: []byte(`{}`), PartitionKey: aws.String("p")}) // one shard
	}
	srv.SetKinesisShardLimit(4)
	out, err := k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("clicks"), Records: entries})
	if err != nil {
		t.Fatal(err)
	}
	// Five records on one shard over a limit of four a second: some fail,
	// whichever second the earlier PutRecord fell in.
	var ok []string
	for _, r := range out.Records {
		if r.ErrorCode != nil {
			if aws.ToString(r.ErrorCode) != "ProvisionedThroughputExceededException" || r.SequenceNumber != nil {
				t.Errorf("failed entry %+v", r)
			}
			continue
		}
		if aws.ToString(r.ShardId) != aws.ToString(one.ShardId) {
			t.Errorf("same partition key, shard %s and %s", aws.ToString(r.ShardId), aws.ToString(one.ShardId))
		}
		ok = append(ok, aws.ToString(r.SequenceNumber))
	}
	if aws.ToInt32(out.FailedRecordCount) == 0 || int(aws.ToInt32(out.FailedRecordCount))+len(ok) != 5 {
		t.Errorf("FailedRecordCount %d, %d ok: want partial failure", aws.ToInt32(out.FailedRecordCount), len(ok))
	}
	it, err := k.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("clicks"), ShardId: one.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(2)})
	if err != nil || len(got.Records) != 2 || aws.ToString(got.Records[0].SequenceNumber) != aws.ToString(one.SequenceNumber) || string(got.Records[0].Data) != `{"n":0}` {
		t.Fatalf("GetRecords: %+v, %v", got, err)
	}
	if got.Records[0].ApproximateArrivalTimestamp == nil || got.MillisBehindLatest == nil {
		t.Errorf("record lacks ApproximateArrivalTimestamp or answer MillisBehindLatest: %+v", got)
	}
	if aws.ToString(got.Records[0].SequenceNumber) >= aws.ToString(got.Records[1].SequenceNumber) {
		t.Errorf("sequence numbers do not grow: %s, %s", aws.ToString(got.Records[0].SequenceNumber), aws.ToString(got.Records[1].SequenceNumber))
	}
	rest, err := k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: got.NextShardIterator})
	if err != nil || len(rest.Records) != len(ok)-1 || aws.ToInt64(rest.MillisBehindLatest) != 0 {
		t.Fatalf("GetRecords rest: %d records, %v; want %d", len(rest.Records), err, len(ok)-1)
	}
	after, err := k.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("clicks"), ShardId: one.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: one.SequenceNumber})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: after.ShardIterator}); err != nil || len(got.Records) != len(ok) || aws.ToString(got.Records[0].SequenceNumber) != ok[0] {
		t.Fatalf("after %s: %+v, %v", aws.ToString(one.SequenceNumber), got, err)
	}
	_, err = k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String("not-an-iterator")})
	var bad *ktypes.InvalidArgumentException
	if !errors.As(err, &bad) {
		t.Errorf("bad iterator: %v, want InvalidArgumentException", err)
	}
	_, err = k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("nope"), Data: []byte("x"), PartitionKey: aws.String("p")})
	var nf *ktypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown stream: %v, want ResourceNotFoundException", err)
	}
}

// TestStreamEventSourceMapping checks that ListEventSourceMappings reports a
// stream mapping as Lambda does: batch size, starting position, retries and
// the on-failure destination.
func TestStreamEventSourceMapping(t *testing.T) {
	srv, cfg := startServer(t)
	srv.RegisterFunction(LambdaFunction{Name: "f"})
	srv.AddStreamEventSourceMapping(StreamARN("s"), "f", 7, "TRIM_HORIZON", 2, "arn:aws:sqs:"+Region+":"+Account+":fails")
	out, err := lambda.NewFromConfig(cfg).ListEventSourceMappings(context.Background(), &lambda.ListEventSourceMappingsInput{})
	if err != nil || len(out.EventSourceMappings) != 1 {
		t.Fatalf("%+v, %v", out, err)
	}
	m := out.EventSourceMappings[0]
	if aws.ToInt32(m.BatchSize) != 7 || m.StartingPosition != "TRIM_HORIZON" || aws.ToInt32(m.MaximumRetryAttempts) != 2 ||
		m.DestinationConfig == nil || aws.ToString(m.DestinationConfig.OnFailure.Destination) != "arn:aws:sqs:"+Region+":"+Account+":fails" {
		t.Errorf("mapping %+v", m)
	}
}

// clickstreamEdges are the world's topology edges of its clickstream part
// (world_kinesis.go): producer → stream → consumer → on-failure queue.
func clickstreamEdges(tr Truth) []TrueEdge {
	var out []TrueEdge
	for _, e := range tr.Edges {
		for _, c := range []string{ClickStream, ClickProducer, ClickConsumer, ClickFailures} {
			if e.From.Name == c || e.To.Name == c {
				out = append(out, e)
				break
			}
		}
	}
	return out
}
