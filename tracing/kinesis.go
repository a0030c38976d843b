package tracing

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Kinesis: a record is named by its stream, its shard and its sequence
// number together ([KinesisRecordKey]). Producers learn the shard and the
// sequence number from PutRecord(s)'s answer; a Lambda consumer receives
// them in each record of its event (eventID "shardId-…:sequenceNumber",
// eventSourceARN, kinesis.sequenceNumber); an event source mapping's
// on-failure destination receives a record naming the shard and the
// sequence range of the batch that failed ([KinesisBatchInfo]).

// maxSequenceLen bounds a sequence number: AWS's are 56 digits today and
// documented as at most 128.
const maxSequenceLen = 128

// ValidSequenceNumber reports whether s is a Kinesis sequence number: 1 to
// 128 decimal digits.
func ValidSequenceNumber(s string) bool {
	if s == "" || len(s) > maxSequenceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidShardID reports whether s is a shard ID: "shardId-" and 1 to 20 digits.
func ValidShardID(s string) bool {
	d, ok := strings.CutPrefix(s, "shardId-")
	return ok && len(d) <= 20 && ValidSequenceNumber(d)
}

// CompareSequence compares two sequence numbers numerically: -1, 0 or 1.
// Callers pass valid numbers ([ValidSequenceNumber]).
func CompareSequence(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return strings.Compare(a, b)
}

// KinesisStream returns the stream name a Kinesis stream ARN
// (arn:aws:kinesis:region:account:stream/name, or a stream consumer's ARN
// under it) names, or "" when arn is none.
func KinesisStream(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[2] != "kinesis" {
		return ""
	}
	name, ok := strings.CutPrefix(parts[5], "stream/")
	if !ok {
		return ""
	}
	name, _, _ = strings.Cut(name, "/")
	if !validStreamName(name) {
		return ""
	}
	return name
}

func validStreamName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ParseKinesisEventID splits the eventID Lambda gives a Kinesis record,
// "shardId-000000000000:49590338271490256608559692538361571095921575989136588898".
func ParseKinesisEventID(id string) (shard, seq string, ok bool) {
	shard, seq, ok = strings.Cut(id, ":")
	if !ok || !ValidShardID(shard) || !ValidSequenceNumber(seq) {
		return "", "", false
	}
	return shard, seq, true
}

// KinesisKey builds the key of a record from its parts, checking each; ok
// is false when one is malformed.
func KinesisKey(stream, shard, seq string) (Key, bool) {
	if !validStreamName(stream) || !ValidShardID(shard) || !ValidSequenceNumber(seq) {
		return Key{}, false
	}
	return KinesisRecordKey(stream, shard, seq), true
}

// SplitKinesisKey splits a [KeyKinesisRecord] value into its stream, shard
// and sequence number.
func SplitKinesisKey(v string) (stream, shard, seq string, ok bool) {
	i := strings.LastIndexByte(v, '/')
	if i < 0 {
		return "", "", "", false
	}
	stream = v[:i]
	shard, seq, ok = ParseKinesisEventID(v[i+1:])
	if !ok || !validStreamName(stream) {
		return "", "", "", false
	}
	return stream, shard, seq, true
}

// kinesisFields reads the Kinesis records an app JSON log line names:
//
//   - consumed: a Lambda Kinesis record as handlers log it, its eventID
//     ("shardId-…:seq") with its eventSourceARN, or stream_name (streamName)
//     with shard_id (shardId) and sequence_number (sequenceNumber, or
//     kinesis.sequenceNumber);
//   - published: published_sequence_number (publishedSequenceNumber) with
//     shard_id and stream_name, what PutRecord(s) answered the producer.
//
// A line must name the stream: a shard and a sequence number alone are not
// unique across streams.
func kinesisFields(obj map[string]any) (consumed, published Key) {
	stream := strField(obj, "stream_name", "streamName", "StreamName", "stream")
	if arn := strField(obj, "eventSourceARN", "eventSourceArn", "stream_arn", "streamARN", "StreamARN"); arn != "" {
		if s := KinesisStream(arn); s != "" {
			stream = s
		}
	}
	if !validStreamName(stream) {
		return Key{}, Key{}
	}
	shard := strField(obj, "shard_id", "shardId", "ShardId")
	if pub := strField(obj, "published_sequence_number", "publishedSequenceNumber"); pub != "" {
		published, _ = KinesisKey(stream, shard, pub)
	}
	if id := strField(obj, "eventID", "kinesis_event_id"); id != "" {
		if sh, seq, ok := ParseKinesisEventID(id); ok {
			consumed = KinesisRecordKey(stream, sh, seq)
			return consumed, published
		}
	}
	seq := strField(obj, "sequence_number", "sequenceNumber", "SequenceNumber")
	if k, ok := obj["kinesis"].(map[string]any); ok && seq == "" {
		seq = strField(k, "sequenceNumber")
	}
	if seq != "" {
		consumed, _ = KinesisKey(stream, shard, seq)
	}
	return consumed, published
}

func init() {
	publishedEvidence[KeyKinesisRecord] = "published_sequence_number and shard_id in the producer's log"
}

// KinesisBatchInfo is what an event source mapping's on-failure destination
// receives when a batch of stream records failed every retry: the shard and
// the sequence range of the batch (the records themselves stay in the
// stream), with the request and response context of the last attempt.
type KinesisBatchInfo struct {
	Stream, StreamARN string
	ShardID           string
	StartSequence     string
	EndSequence       string
	FirstArrival      time.Time // approximateArrivalOfFirstRecord
	LastArrival       time.Time // approximateArrivalOfLastRecord
	BatchSize         int
	Function          string // from requestContext.functionArn
	Condition         string // RetriesExhausted, RecordAgeExceeded, …
	Attempts          int    // requestContext.approximateInvokeCount
	FunctionError     string // responseContext.functionError
	Time              time.Time
}

// Contains reports whether seq lies in the batch's sequence range.
func (b KinesisBatchInfo) Contains(seq string) bool {
	return ValidSequenceNumber(seq) && CompareSequence(seq, b.StartSequence) >= 0 && CompareSequence(seq, b.EndSequence) <= 0
}

// ParseKinesisFailure reads an event source mapping's on-failure record for
// a Kinesis stream ({"requestContext":…, "responseContext":…, "version",
// "timestamp", "KinesisBatchInfo":{…}}). ok is false for any other body,
// or one whose batch info is malformed.
func ParseKinesisFailure(body []byte) (KinesisBatchInfo, bool) {
	var b KinesisBatchInfo
	if len(body) > 256<<10 || !strings.Contains(string(body), `"KinesisBatchInfo"`) {
		return b, false
	}
	var rec struct {
		RequestContext struct {
			FunctionArn            string          `json:"functionArn"`
			Condition              string          `json:"condition"`
			ApproximateInvokeCount json.RawMessage `json:"approximateInvokeCount"`
		} `json:"requestContext"`
		ResponseContext struct {
			FunctionError string `json:"functionError"`
		} `json:"responseContext"`
		Timestamp string `json:"timestamp"`
		Info      *struct {
			ShardID        string          `json:"shardId"`
			Start          string          `json:"startSequenceNumber"`
			End            string          `json:"endSequenceNumber"`
			FirstArrival   string          `json:"approximateArrivalOfFirstRecord"`
			LastArrival    string          `json:"approximateArrivalOfLastRecord"`
			BatchSize      json.RawMessage `json:"batchSize"`
			StreamArn      string          `json:"streamArn"`
			StreamArnUpper string          `json:"streamARN"`
		} `json:"KinesisBatchInfo"`
	}
	if json.Unmarshal(body, &rec) != nil || rec.Info == nil {
		return b, false
	}
	in := rec.Info
	arn := in.StreamArn
	if arn == "" {
		arn = in.StreamArnUpper
	}
	b.Stream, b.StreamARN = KinesisStream(arn), arn
	b.ShardID, b.StartSequence, b.EndSequence = in.ShardID, in.Start, in.End
	if b.Stream == "" || !ValidShardID(b.ShardID) || !ValidSequenceNumber(b.StartSequence) || !ValidSequenceNumber(b.EndSequence) ||
		CompareSequence(b.StartSequence, b.EndSequence) > 0 {
		return KinesisBatchInfo{}, false
	}
	b.FirstArrival, b.LastArrival, b.Time = parseTime(in.FirstArrival), parseTime(in.LastArrival), parseTime(rec.Timestamp)
	b.BatchSize = atoiRaw(in.BatchSize)
	if fn := rec.RequestContext.FunctionArn; strings.HasPrefix(fn, "arn:") {
		if parts := strings.Split(fn, ":"); len(parts) >= 7 && parts[5] == "function" {
			b.Function = parts[6]
		}
	}
	b.Condition = clipField(rec.RequestContext.Condition)
	b.FunctionError = clipField(rec.ResponseContext.FunctionError)
	b.Attempts = atoiRaw(rec.RequestContext.ApproximateInvokeCount)
	return b, true
}

func clipField(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}

func atoiRaw(raw json.RawMessage) int {
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// kinesis adds the records an app line names (see kinesisFields) to the
// line's keys and to what its invocation published.
func (p *logParser) kinesis(obj map[string]any) {
	consumed, published := kinesisFields(obj)
	if !consumed.IsZero() {
		p.key(consumed.Kind, consumed.Value)
	}
	if !published.IsZero() {
		p.published = append(p.published, published)
	}
}

// KinesisSpanKey is the record an OTel messaging span names when its
// messaging.system is Kinesis ("aws_kinesis", "aws.kinesis"): the stream
// (messaging.destination.name, a name or an ARN), the shard
// (messaging.destination.partition.id) and the sequence number
// (messaging.message.id). isKinesis says whether the system is Kinesis at
// all; ok whether the three parts make a record key. A Kinesis span whose
// parts do not is no SQS message either.
func KinesisSpanKey(system, dest, partition, seq string) (k Key, isKinesis, ok bool) {
	switch strings.ToLower(system) {
	case "aws_kinesis", "aws.kinesis", "kinesis":
	default:
		return Key{}, false, false
	}
	if s := KinesisStream(dest); s != "" {
		dest = s
	}
	k, ok = KinesisKey(dest, partition, seq)
	return k, true, ok
}
