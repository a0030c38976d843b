package dlq

import (
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowtop/flowtop/tracing"
)

// observeKinesisFailure reads an event source mapping's on-failure record
// for a Kinesis batch: it names the shard and the sequence range of the
// records that failed, not the records, so the body is kept whole for the
// graph to give each held record of the range a dead-letter hop; it is no
// envelope to unwrap. ok is false for any other body.
func observeKinesisFailure(queue string, m sqstypes.Message) (tracing.Observation, bool) {
	body := aws.ToString(m.Body)
	info, ok := tracing.ParseKinesisFailure([]byte(body))
	if !ok {
		return tracing.Observation{}, false
	}
	id := aws.ToString(m.MessageId)
	msg := &tracing.Message{
		Broker: tracing.BrokerSQS, Queue: queue, ID: id, Body: body, Attributes: m.Attributes,
		DeadLetter: true, Layers: []tracing.Envelope{{Kind: tracing.EnvelopePayload, Type: "KinesisBatchInfo", Source: info.StreamARN, Time: info.Time}},
	}
	msg.ReceiveCount, _ = strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	if ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err == nil {
		msg.SentAt = time.UnixMilli(ms)
	}
	at := msg.SentAt
	if at.IsZero() {
		at = info.Time
	}
	if at.IsZero() {
		at = time.Now()
	}
	return tracing.Observation{
		Kind: tracing.ObsMessage, Source: "dlq", Time: at,
		Component: tracing.Component{Kind: tracing.ComponentQueue, Name: queue},
		Keys:      []tracing.Key{{Kind: tracing.KeyMessageID, Value: id}}, Message: msg,
	}, true
}
