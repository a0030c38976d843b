package tracing

import (
	"strings"
	"testing"
	"time"
)

const (
	sampleSeq   = "49590338271490256608559692538361571095921575989136588898"
	sampleStart = "49601189658422359378836298521827638475320189012309704722"
	sampleEnd   = "49601189658422359378836298522902373528957594348623495186"
	// sampleFailure is an event source mapping's on-failure record for a
	// Kinesis batch, in the shape Lambda's documentation gives.
	sampleFailure = `{"requestContext":{"requestId":"c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5","functionArn":"arn:aws:lambda:us-east-2:123456789012:function:myfunction","condition":"RetryAttemptsExhausted","approximateInvokeCount":1},` +
		`"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"version":"1.0","timestamp":"2019-11-14T00:13:49.717Z",` +
		`"KinesisBatchInfo":{"shardId":"shardId-000000000001","startSequenceNumber":"` + sampleStart + `","endSequenceNumber":"` + sampleEnd + `",` +
		`"approximateArrivalOfFirstRecord":"2019-11-14T00:38:04.835Z","approximateArrivalOfLastRecord":"2019-11-14T00:38:05.580Z","batchSize":500,"streamArn":"arn:aws:kinesis:us-east-2:123456789012:stream/mystream"}}`
)

func TestParseKinesisEventID(t *testing.T) {
	for _, tc := range []struct {
		in, shard, seq string
		ok             bool
	}{
		{"shardId-000000000000:" + sampleSeq, "shardId-000000000000", sampleSeq, true},
		{"shardId-000000000000:", "", "", false},
		{"shardId-:" + sampleSeq, "", "", false},
		{"shard-000000000000:" + sampleSeq, "", "", false},
		{"shardId-000000000000:49x", "", "", false},
		{"shardId-000000000000:" + strings.Repeat("1", 129), "", "", false},
		{sampleSeq, "", "", false},
	} {
		shard, seq, ok := ParseKinesisEventID(tc.in)
		if shard != tc.shard || seq != tc.seq || ok != tc.ok {
			t.Errorf("ParseKinesisEventID(%q) = %q, %q, %v", tc.in, shard, seq, ok)
		}
	}
}

func TestKinesisStreamAndKey(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:kinesis:us-east-1:000000000000:stream/clickstream":                       "clickstream",
		"arn:aws:kinesis:us-east-1:000000000000:stream/clickstream/consumer/c:1616044553": "clickstream",
		"arn:aws-cn:kinesis:cn-north-1:000000000000:stream/a.b_c-d":                       "a.b_c-d",
		"arn:aws:sqs:us-east-1:000000000000:clickstream":                                  "",
		"arn:aws:kinesis:us-east-1:000000000000:stream/":                                  "",
		"arn:aws:kinesis:us-east-1:000000000000:stream/bad name":                          "",
		"clickstream": "",
	} {
		if got := KinesisStream(arn); got != want {
			t.Errorf("KinesisStream(%q) = %q, want %q", arn, got, want)
		}
	}
	k := KinesisRecordKey("clickstream", "shardId-000000000001", sampleSeq)
	stream, shard, seq, ok := SplitKinesisKey(k.Value)
	if !ok || stream != "clickstream" || shard != "shardId-000000000001" || seq != sampleSeq {
		t.Errorf("SplitKinesisKey(%q) = %q %q %q %v", k.Value, stream, shard, seq, ok)
	}
	if _, _, _, ok := SplitKinesisKey("clickstream/" + sampleSeq); ok {
		t.Error("a key without a shard splits")
	}
	if CompareSequence("9", "10") != -1 || CompareSequence("010", "10") != 0 || CompareSequence(sampleEnd, sampleStart) != 1 {
		t.Error("CompareSequence is not numeric")
	}
}

// TestKinesisLogFields checks the records app lines name: a consumer's
// Lambda record (eventID with eventSourceARN, or the nested kinesis object),
// a producer's published sequence number, and lines that name no stream.
func TestKinesisLogFields(t *testing.T) {
	req := "7f2b4c1e-2d3a-4b5c-9d8e-0a1b2c3d4e5f"
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/clickstream"
	key := KinesisRecordKey("clickstream", "shardId-000000000000", sampleSeq)
	for _, tc := range []struct {
		name     string
		line     string
		consumed bool
		pub      bool
	}{
		{"consumer eventID", `{"level":"INFO","message":"click received","function_request_id":"` + req + `","eventID":"shardId-000000000000:` + sampleSeq + `","eventSourceARN":"` + arn + `"}`, true, false},
		{"consumer nested record", `{"level":"INFO","message":"r","function_request_id":"` + req + `","eventSourceARN":"` + arn + `","shardId":"shardId-000000000000","kinesis":{"sequenceNumber":"` + sampleSeq + `","partitionKey":"p"}}`, true, false},
		{"producer text line", "2026-12-03T10:00:00.000Z\t" + req + "\tINFO\t" + `{"msg":"click published","stream_name":"clickstream","shard_id":"shardId-000000000000","published_sequence_number":"` + sampleSeq + `"}`, false, true},
		{"no stream", `{"level":"INFO","function_request_id":"` + req + `","eventID":"shardId-000000000000:` + sampleSeq + `"}`, false, false},
		{"eventID of another shape", `{"level":"INFO","function_request_id":"` + req + `","eventID":"not-kinesis","eventSourceARN":"` + arn + `"}`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ParseLambdaLog(LogInput{Group: "/aws/lambda/f", Message: tc.line, Time: time.Unix(1, 0)}, LogOptions{})
			has := false
			for _, k := range o.Keys {
				has = has || k == key
				if k.Kind == KeyEventID {
					t.Errorf("a Kinesis eventID read as an EventBridge id: %v", k)
				}
			}
			pub := false
			for _, r := range o.Relations {
				pub = pub || r.Kind == RelPublished && r.To == key && r.From == (Key{Kind: KeyRequestID, Value: req})
			}
			if has != tc.consumed || pub != tc.pub {
				t.Errorf("consumed %v published %v, want %v %v (keys %v, relations %v)", has, pub, tc.consumed, tc.pub, o.Keys, o.Relations)
			}
		})
	}
}

func TestParseKinesisFailure(t *testing.T) {
	b, ok := ParseKinesisFailure([]byte(sampleFailure))
	if !ok {
		t.Fatal("the documented on-failure record is not read")
	}
	want := KinesisBatchInfo{
		Stream: "mystream", StreamARN: "arn:aws:kinesis:us-east-2:123456789012:stream/mystream", ShardID: "shardId-000000000001",
		StartSequence: sampleStart, EndSequence: sampleEnd, BatchSize: 500, Function: "myfunction", Condition: "RetryAttemptsExhausted",
		Attempts: 1, FunctionError: "Unhandled",
		FirstArrival: time.Date(2019, 11, 14, 0, 38, 4, 835e6, time.UTC), LastArrival: time.Date(2019, 11, 14, 0, 38, 5, 580e6, time.UTC),
		Time: time.Date(2019, 11, 14, 0, 13, 49, 717e6, time.UTC),
	}
	if b != want {
		t.Errorf("got  %+v\nwant %+v", b, want)
	}
	if !b.Contains(sampleStart) || !b.Contains(sampleEnd) || b.Contains(sampleSeq) || b.Contains("x") {
		t.Error("Contains does not follow the range")
	}
	for _, bad := range []string{
		`{"requestContext":{},"requestPayload":{}}`,
		strings.Replace(sampleFailure, sampleEnd, "123", 1), // end before start
		strings.Replace(sampleFailure, "shardId-000000000001", "shard-1", 1),
		strings.Replace(sampleFailure, "stream/mystream", "table/mytable/stream/2019", 1),
		`{"KinesisBatchInfo":null}`,
	} {
		if _, ok := ParseKinesisFailure([]byte(bad)); ok {
			t.Errorf("read %s", bad)
		}
	}
}

// FuzzKinesisFailure requires no panic, and that whatever is read is
// consistent: a valid shard and a range whose ends it contains.
func FuzzKinesisFailure(f *testing.F) {
	f.Add([]byte(sampleFailure))
	f.Add([]byte(strings.Replace(sampleFailure, `"batchSize":500`, `"batchSize":"x"`, 1)))
	f.Add([]byte(`{"KinesisBatchInfo":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, ok := ParseKinesisFailure(body)
		if !ok {
			return
		}
		if !ValidShardID(b.ShardID) || b.Stream == "" || !b.Contains(b.StartSequence) || !b.Contains(b.EndSequence) {
			t.Fatalf("inconsistent %+v", b)
		}
	})
}

// FuzzKinesisLogLine feeds app lines through the log parser: no panic, and
// every Kinesis key it yields splits back into its parts.
func FuzzKinesisLogLine(f *testing.F) {
	f.Add(`{"level":"INFO","function_request_id":"r","eventID":"shardId-000000000000:` + sampleSeq + `","eventSourceARN":"arn:aws:kinesis:us-east-1:000000000000:stream/clickstream"}`)
	f.Add("2026-12-03T10:00:00.000Z\tr\tINFO\t" + `{"stream_name":"s","shard_id":"shardId-1","published_sequence_number":"1"}`)
	f.Add(`{"streamName":"s","shardId":"shardId-1","kinesis":{"sequenceNumber":"12"}}`)
	f.Fuzz(func(t *testing.T, line string) {
		o := ParseLambdaLog(LogInput{Group: "/aws/lambda/f", Message: line}, LogOptions{})
		check := func(k Key) {
			if k.Kind != KeyKinesisRecord {
				return
			}
			s, sh, seq, ok := SplitKinesisKey(k.Value)
			if !ok || KinesisRecordKey(s, sh, seq) != k {
				t.Fatalf("key %q does not round-trip", k.Value)
			}
		}
		for _, k := range o.Keys {
			check(k)
		}
		for _, r := range o.Relations {
			check(r.To)
		}
	})
}
