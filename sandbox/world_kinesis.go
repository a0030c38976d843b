package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/flowtop/flowtop/tracing"
)

// The clickstream: web-frontend puts click events on the clickstream
// Kinesis stream with PutRecords (some clicks carry the order they belong
// to); clickstream-analytics consumes the stream in batches through an event
// source mapping (one batch in flight per shard, as Lambda's poller runs).
// A batch holding a click on a broken page fails the function every time;
// after the mapping's retries the batch's shard and sequence range go to the
// mapping's on-failure destination, the clickstream-failures queue, and the
// poller moves on past it.
const (
	ClickStream     = "clickstream"
	ClickProducer   = "web-frontend"
	ClickConsumer   = "clickstream-analytics"
	ClickFailures   = "clickstream-failures"
	clickShards     = 2
	clickBatch      = 10 // the mapping's BatchSize
	clickRetries    = 2  // the mapping's MaximumRetryAttempts
	clickEvery      = 400 * time.Millisecond
	clickShardLimit = 5 // records a shard takes a second: bursts see partial failures
)

func init() {
	worldFns = append(worldFns,
		fnSpec{name: ClickProducer, runtime: "nodejs22.x", format: "Text", mem: 256, arch: "arm64", timeout: 6, baseMS: 25, spreadMS: 15, initMS: 280},
		fnSpec{name: ClickConsumer, runtime: "python3.13", format: "JSON", mem: 256, arch: "arm64", timeout: 30, baseMS: 45, spreadMS: 30, initMS: 350},
	)
	worldParts = append(worldParts, func() worldPart { return &clickstream{} })
}

type clickstream struct {
	k      *kinesis.Client
	failQ  string
	mu     sync.Mutex
	clicks int
	// put is held while a PutRecords call's records enter the truth: a
	// poller may read a record before its producer has named it there, so
	// it waits for put (read-locked) before it looks its records up.
	put sync.RWMutex
}

func (c *clickstream) setup(ctx context.Context, w *World) error {
	o := w.sqs.Options()
	c.k = kinesis.NewFromConfig(aws.Config{Region: o.Region, Credentials: o.Credentials, BaseEndpoint: o.BaseEndpoint, Logger: o.Logger, RetryMaxAttempts: 3})
	if _, err := c.k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(ClickStream), ShardCount: aws.Int32(clickShards)}); err != nil {
		var inUse *ktypes.ResourceInUseException
		if !errors.As(err, &inUse) {
			return err
		}
	}
	q, err := w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(ClickFailures), Attributes: map[string]string{"MessageRetentionPeriod": "1209600"}})
	if err != nil {
		return err
	}
	c.failQ = aws.ToString(q.QueueUrl)
	if w.srv != nil {
		w.srv.SetKinesisShardLimit(clickShardLimit)
		streamARN := "arn:aws:kinesis:" + w.cfg.Region + ":" + Account + ":stream/" + ClickStream
		w.srv.AddStreamEventSourceMapping(streamARN, ClickConsumer, clickBatch, "TRIM_HORIZON", clickRetries, w.qARN(ClickFailures))
	}
	fn := func(n string) tracing.Component { return tracing.Component{Kind: tracing.ComponentFunction, Name: n} }
	stream := tracing.Component{Kind: tracing.ComponentStream, Name: ClickStream}
	w.truth.edge(fn(ClickProducer), stream, false, "PutRecords in web-frontend's code")
	w.truth.edge(stream, fn(ClickConsumer), true, "event source mapping")
	w.truth.edge(fn(ClickConsumer), tracing.Component{Kind: tracing.ComponentQueue, Name: ClickFailures}, true, "mapping on-failure destination")
	return nil
}

func (c *clickstream) run(ctx context.Context, w *World) {
	var wg sync.WaitGroup
	for i := range clickShards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { _ = recover() }()
			c.poll(ctx, w, fmt.Sprintf("shardId-%012d", i))
		}()
	}
	tick := time.NewTicker(clickEvery)
	defer tick.Stop()
	for n := 0; ; {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
		orders := w.Orders()
		if orders == 0 || w.cfg.MaxOrders > 0 && orders >= w.cfg.MaxOrders {
			continue // clicks come while orders do
		}
		n++
		size := 2 + n%2
		if n%4 == 0 {
			size = 12 // a page load's burst: a shard over its write limit fails some
		}
		c.produce(ctx, w, size, orders)
	}
}

// click is one click event and the world's record of it.
type click struct {
	h    int
	body map[string]any
	data []byte
	key  string
}

// produce is one web-frontend invocation putting size clicks with
// PutRecords, retrying the records a shard refused, as the SDK's callers must.
func (c *clickstream) produce(ctx context.Context, w *World, size, orders int) {
	root, _ := w.traceHeader()
	inv := w.begin(ClickProducer, root)
	session := "s-" + w.hex(8)
	todo := make([]click, size)
	for i := range todo {
		c.mu.Lock()
		c.clicks++
		id := c.clicks
		c.mu.Unlock()
		body := map[string]any{"click_id": fmt.Sprintf("c-%06d", id), "session": session, "page": "/product/" + strconv.Itoa(id%17), "at": time.Now().UTC().Format(time.RFC3339Nano)}
		if id%4 == 0 {
			body["order_id"] = fmt.Sprintf("o-%06d", orders)
			body["page"] = "/checkout"
		}
		if id%19 == 0 {
			body["page"] = "/checkout/broken" // the consumer cannot parse it: its batch fails
		}
		data, _ := json.Marshal(body)
		h := w.truth.event("click "+body["click_id"].(string), 1)
		w.truth.key(h, tracing.KeyRequestID, inv.req)
		w.truth.trace(h, root)
		w.truth.step(h, tracing.ComponentFunction, ClickProducer)
		if o, ok := body["order_id"].(string); ok {
			w.truth.key(h, tracing.KeyCorrelation, "correlation_id="+o)
		}
		todo[i] = click{h: h, body: body, data: data, key: session}
	}
	status, errType := "", ""
	for attempt := 1; len(todo) > 0; attempt++ {
		entries := make([]ktypes.PutRecordsRequestEntry, len(todo))
		for i, cl := range todo {
			entries[i] = ktypes.PutRecordsRequestEntry{Data: cl.data, PartitionKey: aws.String(cl.key + "/" + cl.body["click_id"].(string))}
		}
		c.put.Lock()
		out, err := c.k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(ClickStream), Records: entries})
		again, failed := c.recordPut(w, inv, root, todo, out, err)
		c.put.Unlock()
		if failed {
			status, errType = "error", "Kinesis.PutRecordsFailed"
			break
		}
		if len(again) == 0 {
			break
		}
		if attempt == 3 {
			for _, cl := range again {
				w.truth.forget(cl.h)
			}
			inv.log("ERROR", "ProvisionedThroughputExceededException: clicks dropped", map[string]any{"stream_name": ClickStream, "records": len(again)})
			break
		}
		inv.log("WARN", "ProvisionedThroughputExceededException: retrying failed records", map[string]any{"stream_name": ClickStream, "failed": aws.ToInt32(out.FailedRecordCount)})
		// Back off into the shard's next second.
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond))):
		}
		todo = again
	}
	inv.end(status, errType)
}

// recordPut puts what one PutRecords call answered in the truth and the
// producer's log: the records it took, and those a shard refused (again).
// failed says the whole call failed.
func (c *clickstream) recordPut(w *World, inv *invocation, root string, todo []click, out *kinesis.PutRecordsOutput, err error) (again []click, failed bool) {
	if err != nil || len(out.Records) != len(todo) {
		for _, cl := range todo {
			w.truth.forget(cl.h)
		}
		inv.log("ERROR", "PutRecords failed", map[string]any{"stream_name": ClickStream, "records": len(todo)})
		return nil, true
	}
	for i, r := range out.Records {
		cl := todo[i]
		if r.ErrorCode != nil {
			again = append(again, cl)
			continue
		}
		shard, seq := aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber)
		w.truth.key(cl.h, tracing.KeyKinesisRecord, tracing.KinesisRecordKey(ClickStream, shard, seq).Value)
		w.truth.step(cl.h, tracing.ComponentStream, ClickStream)
		fields := map[string]any{"click_id": cl.body["click_id"], "stream_name": ClickStream, "shard_id": shard, "published_sequence_number": seq}
		if o, ok := cl.body["order_id"]; ok {
			fields["order_id"], fields["correlation_id"] = o, o
		}
		inv.log("INFO", "click published", fields)
		c.recordSpan(w, root, ClickProducer, inv, oteltrace.SpanKindProducer, "create", shard, seq, "")
	}
	return again, false
}

// recordSpan sends the OTel span of one record, as the messaging
// conventions name a Kinesis record: the stream as destination, the shard
// as messaging.destination.partition.id, the sequence number as
// messaging.message.id; a producer's "create" span per record of its
// PutRecords, a consumer's "process" span per record of its batch.
func (c *clickstream) recordSpan(w *World, trace, fn string, inv *invocation, kind oteltrace.SpanKind, op, shard, seq, status string) {
	sp := w.startSpan(trace, fn, inv, ClickStream+" "+op, kind, "aws_kinesis", op, ClickStream, seq,
		oteltrace.WithAttributes(attribute.String("messaging.destination.partition.id", shard)))
	if sp == nil {
		return
	}
	if status != "" {
		sp.SetStatus(codes.Error, status)
	}
	sp.End(oteltrace.WithTimestamp(time.Now()))
}

// poll reads one shard as the mapping's poller does: a batch at a time,
// every batching window, one invocation in flight; a failed batch is
// retried, then reported to the on-failure destination and skipped.
func (c *clickstream) poll(ctx context.Context, w *World, shard string) {
	var iter *string
	for ctx.Err() == nil {
		if iter == nil {
			out, err := c.k.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(ClickStream), ShardId: aws.String(shard), ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
			if err != nil {
				if !sleepCtx(ctx, 500*time.Millisecond) {
					return
				}
				continue
			}
			iter = out.ShardIterator
		}
		if !sleepCtx(ctx, batchWindow) {
			return
		}
		out, err := c.k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(clickBatch)})
		if err != nil {
			var expired *ktypes.ExpiredIteratorException
			if errors.As(err, &expired) {
				iter = nil
			}
			continue
		}
		if len(out.Records) > 0 {
			c.consume(ctx, w, shard, out.Records)
		}
		iter = out.NextShardIterator
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// kinesisEvent is the event Lambda hands a function for a batch of stream records.
func kinesisEvent(shard string, recs []ktypes.Record) []byte {
	out := make([]map[string]any, len(recs))
	for i, r := range recs {
		seq := aws.ToString(r.SequenceNumber)
		out[i] = map[string]any{
			"kinesis": map[string]any{
				"kinesisSchemaVersion": "1.0", "partitionKey": aws.ToString(r.PartitionKey), "sequenceNumber": seq,
				"data": base64.StdEncoding.EncodeToString(r.Data), "approximateArrivalTimestamp": float64(aws.ToTime(r.ApproximateArrivalTimestamp).UnixMilli()) / 1000,
			},
			"eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": shard + ":" + seq, "eventName": "aws:kinesis:record",
			"invokeIdentityArn": "arn:aws:iam::" + Account + ":role/" + ClickConsumer, "awsRegion": Region, "eventSourceARN": StreamARN(ClickStream),
		}
	}
	b, _ := json.Marshal(map[string]any{"Records": out})
	return b
}

// consume invokes the consumer on one batch until it succeeds or the
// mapping's retries run out.
func (c *clickstream) consume(ctx context.Context, w *World, shard string, recs []ktypes.Record) {
	event := kinesisEvent(shard, recs)
	var parsed struct {
		Records []struct {
			EventID        string `json:"eventID"`
			EventSourceARN string `json:"eventSourceARN"`
			Kinesis        struct {
				PartitionKey, SequenceNumber, Data string
			} `json:"kinesis"`
		}
	}
	_ = json.Unmarshal(event, &parsed)
	handles := make([]int, len(recs))
	c.put.RLock() // the PutRecords that put them has named them in the truth
	for i, r := range recs {
		handles[i] = w.truth.find(tracing.KinesisRecordKey(ClickStream, shard, aws.ToString(r.SequenceNumber)))
	}
	c.put.RUnlock()
	attempts := 0
	failed := false
	for attempts <= clickRetries {
		attempts++
		trace, _ := w.traceHeader()
		inv := w.begin(ClickConsumer, trace)
		failed = false
		// The handler logs each record it received, then records the
		// clicks; a broken page throws, failing the whole batch.
		bodies := make([]map[string]any, len(parsed.Records))
		for i, r := range parsed.Records {
			h := handles[i]
			w.truth.key(h, tracing.KeyRequestID, inv.req)
			w.truth.trace(h, trace)
			w.truth.step(h, tracing.ComponentFunction, ClickConsumer)
			data, _ := base64.StdEncoding.DecodeString(r.Kinesis.Data)
			_ = json.Unmarshal(data, &bodies[i])
			fields := map[string]any{"eventID": r.EventID, "eventSourceARN": r.EventSourceARN, "partitionKey": r.Kinesis.PartitionKey, "click_id": bodies[i]["click_id"]}
			if o, ok := bodies[i]["order_id"]; ok {
				fields["order_id"], fields["correlation_id"] = o, o
			}
			inv.log("INFO", "click received", fields)
		}
		for i, body := range bodies {
			if body["page"] == "/checkout/broken" {
				inv.log("ERROR", "ValueError: cannot parse the page of click "+fmt.Sprint(body["click_id"]), map[string]any{"eventID": parsed.Records[i].EventID, "eventSourceARN": parsed.Records[i].EventSourceARN})
				failed = true
				break
			}
		}
		if !failed {
			inv.log("INFO", "batch recorded", map[string]any{"records": len(bodies), "shard_id": shard})
		}
		status, errType := "", ""
		if failed {
			status, errType = "error", "ValueError"
		}
		inv.end(status, errType)
		for _, r := range recs {
			c.recordSpan(w, trace, ClickConsumer, inv, oteltrace.SpanKindConsumer, "process", shard, aws.ToString(r.SequenceNumber), status)
		}
		if !failed {
			break
		}
		if !sleepCtx(ctx, 200*time.Millisecond*time.Duration(attempts)) {
			return
		}
	}
	if !failed {
		for _, h := range handles {
			w.truth.outcome(h, "ok")
		}
		return
	}
	first, last := recs[0], recs[len(recs)-1]
	rec := map[string]any{
		"requestContext": map[string]any{
			"requestId": w.uuid(), "functionArn": fnARN(ClickConsumer), "condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts,
		},
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
		"version":         "1.0", "timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"KinesisBatchInfo": map[string]any{
			"shardId": shard, "startSequenceNumber": aws.ToString(first.SequenceNumber), "endSequenceNumber": aws.ToString(last.SequenceNumber),
			"approximateArrivalOfFirstRecord": aws.ToTime(first.ApproximateArrivalTimestamp).UTC().Format("2006-01-02T15:04:05.000Z"),
			"approximateArrivalOfLastRecord":  aws.ToTime(last.ApproximateArrivalTimestamp).UTC().Format("2006-01-02T15:04:05.000Z"),
			"batchSize":                       len(recs), "streamArn": StreamARN(ClickStream),
		},
	}
	body, _ := json.Marshal(rec)
	if _, err := w.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(c.failQ), MessageBody: aws.String(string(body))}); err != nil {
		for _, h := range handles {
			w.truth.outcome(h, "failed")
		}
		return
	}
	for _, h := range handles {
		w.truth.step(h, tracing.ComponentQueue, ClickFailures)
		w.truth.outcome(h, "dead-lettered")
	}
}
