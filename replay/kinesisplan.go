package replay

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/flowtop/flowtop/tracing"
)

// A Kinesis (or DynamoDB Streams) event source mapping's on-failure record
// is no message: it names the shard and the sequence range of a batch whose
// records stay in the stream. A redrive has nothing to resend; the plan says
// what each record points at and how to read those records again.

// KinesisPointer is one on-failure record of a DLQ, as the plan shows it.
type KinesisPointer struct {
	Stream, Shard string
	First, Last   string // sequence numbers, inclusive
	Records       int    // the batch's size
	Function      string // the mapping's function
}

// maxPointerLines bounds the on-failure records a plan lists one by one.
const maxPointerLines = 5

// mappingLister is the part of the Lambda client that finds the event
// source mappings whose on-failure destination is a queue; the Lambda
// client in [Brokers] is used for it when it has this method.
type mappingLister interface {
	ListEventSourceMappings(context.Context, *lambda.ListEventSourceMappingsInput, ...func(*lambda.Options)) (*lambda.ListEventSourceMappingsOutput, error)
}

// streamMappings lists the stream event source mappings whose on-failure
// destination is the DLQ, as "function F on stream S".
func (r *Replayer) streamMappings(ctx context.Context, dlqARN string) (found []string, note string) {
	l, ok := r.brokers.Lambda.(mappingLister)
	if !ok || dlqARN == "" {
		return nil, ""
	}
	var marker *string
	for calls := 0; calls < maxDiscoveryCalls; calls++ {
		out, err := l.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{Marker: marker})
		if err != nil {
			return found, "event source mappings not read (ListEventSourceMappings: " + clip(err.Error(), 120) + ")"
		}
		for _, m := range out.EventSourceMappings {
			src := aws.ToString(m.EventSourceArn)
			if m.DestinationConfig == nil || m.DestinationConfig.OnFailure == nil || aws.ToString(m.DestinationConfig.OnFailure.Destination) != dlqARN {
				continue
			}
			if !strings.Contains(src, ":kinesis:") && !strings.Contains(src, ":dynamodb:") {
				continue // an SQS or Kafka mapping's failures are other records
			}
			found = append(found, "function "+queueName(aws.ToString(m.FunctionArn))+" on stream "+streamName(src))
		}
		if marker = out.NextMarker; marker == nil {
			return found, ""
		}
	}
	return found, fmt.Sprintf("event source mappings read only in part (%d pages)", maxDiscoveryCalls)
}

// streamName is a stream's name in its ARN (…:stream/name[/consumer/…]).
func streamName(arn string) string {
	_, rest, ok := strings.Cut(arn, ":stream/")
	if !ok {
		return arn
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// kinesisPointers reads the on-failure records among bodies (the selected
// ones when ids is not empty), one per batch, in a stable order.
func kinesisPointers(bodies map[string]string, ids []string) []KinesisPointer {
	seen := map[KinesisPointer]bool{}
	var out []KinesisPointer
	for id, body := range bodies {
		if len(ids) > 0 && !contains(ids, id) {
			continue
		}
		k, ok := tracing.ParseKinesisFailure([]byte(body))
		if !ok {
			continue
		}
		p := KinesisPointer{Stream: k.Stream, Shard: k.ShardID, First: k.StartSequence, Last: k.EndSequence, Records: k.BatchSize, Function: k.Function}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Stream+a.Shard != b.Stream+b.Shard {
			return a.Stream+a.Shard < b.Stream+b.Shard
		}
		return tracing.CompareSequence(a.First, b.First) < 0
	})
	return out
}

// String says what the pointer is and how to read its records again.
func (k KinesisPointer) String() string {
	return fmt.Sprintf("a pointer, not a message: %d records still in stream %s, %s, sequence numbers %s to %s; "+
		"re-read them from the stream (GetShardIterator AT_SEQUENCE_NUMBER %s on %s, then GetRecords up to %s) while its retention keeps them",
		k.Records, k.Stream, k.Shard, k.First, k.Last, k.First, k.Shard, k.Last)
}

// planStreams adds to p what the DLQ's stream on-failure records are: the
// mappings that send them (evidence), the records' ranges when their bodies
// are known, and the route's words for them. It reports whether any is
// known to be there or configured to come.
func (r *Replayer) planStreams(ctx context.Context, p *RedrivePlan, req RedriveRequest) bool {
	maps, note := r.streamMappings(ctx, p.DLQARN)
	if note != "" {
		p.Warnings = append(p.Warnings, note)
	}
	p.Kinesis = kinesisPointers(req.Bodies, req.MessageIDs)
	if len(maps) == 0 && len(p.Kinesis) == 0 {
		return false
	}
	if len(maps) > 0 {
		p.Evidence = append(p.Evidence, "the event source mapping of "+evidenceLine(maps)+" sends its on-failure records here: each names a shard and a sequence range of records that stay in the stream")
	}
	if p.Target != "" {
		p.Warnings = append(p.Warnings, "a stream's on-failure record goes to "+p.Target+" as it is: the target gets the pointer (shard and sequence range), not the records")
		return true
	}
	p.Route = "nothing, for a stream's on-failure record: it is a pointer to records still in their stream, not a message, so it is given back and listed with its range; re-read that range from the stream. Other messages: " + p.Route
	return true
}

// kinesisLines are the plan's lines about the on-failure records it knows.
func (p RedrivePlan) kinesisLines() []string {
	var out []string
	for i, k := range p.Kinesis {
		if i == maxPointerLines {
			out = append(out, fmt.Sprintf("kinesis: and %d more on-failure records", len(p.Kinesis)-maxPointerLines))
			break
		}
		out = append(out, "kinesis: "+k.String())
	}
	return out
}
