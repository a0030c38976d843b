package dlq

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowtop/flowtop/tracing"
)

// fuzzMaxBody caps one fuzzed message body (SQS allows 256 KiB; the envelope
// parser's cost grows with size, not with anything past this).
const fuzzMaxBody = 32 << 10

// dlqSeedBodies are message bodies from the sample corpus (see
// testdata/corpus/SOURCES.md): whole Lambda events, and the body of every SQS
// record in them, which is what a DLQ message holds.
func dlqSeedBodies(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, sub := range []string{"sqs", "sns-eventbridge", "cloudevents"} {
		root := filepath.Join("..", "..", "testdata", "corpus", sub)
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil || len(b) > fuzzMaxBody {
				return err
			}
			out = append(out, string(b))
			var ev struct {
				Records []struct {
					Body string `json:"body"`
				} `json:"Records"`
			}
			if json.Unmarshal(b, &ev) == nil {
				for _, r := range ev.Records {
					if r.Body != "" {
						out = append(out, r.Body)
					}
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("seed corpus: %v", err)
		}
	}
	if len(out) < 10 {
		tb.Fatalf("seed corpus: only %d bodies", len(out))
	}
	return out
}

// FuzzObserve feeds Observe DLQ messages with arbitrary bodies, IDs and
// attributes, as a queue anyone can send to may hold. It must not panic; the
// observation must be the message (its ID first among the keys, its body
// kept whole), and no key or relation may be empty, since an empty key would
// join unrelated events.
func FuzzObserve(f *testing.F) {
	for i, body := range dlqSeedBodies(f) {
		f.Add(body, "4f3c5a7e-1b2d-4c6e-9f80-0a1b2c3d4e5f", "3", "1700000000000", "arn:aws:sqs:us-east-1:000000000000:billing-queue", "flowtop-replay-of", "m-1", i%2 == 0)
	}
	f.Add(`{"version":"0","id":"","detail-type":"","source":"","detail":{}}`, "m", "x", "-1", "arn", "", "", false)
	opts := tracing.UnwrapOptions{CorrelationFields: []string{"order_id", "detail.order_id", "detail.orderId"}}
	f.Fuzz(func(t *testing.T, body, id, receiveCount, sent, sourceARN, attrName, attrValue string, binary bool) {
		if len(body) > fuzzMaxBody || id == "" {
			// SQS always gives a message an ID.
			return
		}
		m := sqstypes.Message{
			Body:      aws.String(body),
			MessageId: aws.String(id),
			Attributes: map[string]string{
				"ApproximateReceiveCount":  receiveCount,
				"SentTimestamp":            sent,
				"DeadLetterQueueSourceArn": sourceARN,
			},
		}
		if attrName != "" {
			v := sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(attrValue)}
			if binary {
				v = sqstypes.MessageAttributeValue{DataType: aws.String("Binary"), BinaryValue: []byte(attrValue)}
			}
			m.MessageAttributes = map[string]sqstypes.MessageAttributeValue{attrName: v}
		}
		o := Observe("billing-dlq", m, opts)
		if o.Kind != tracing.ObsMessage || o.Source != "dlq" || o.Message == nil {
			t.Fatalf("not a DLQ message observation: %+v", o)
		}
		msg := o.Message
		if msg.ID != id || msg.Body != body || !msg.DeadLetter || msg.Queue != "billing-dlq" {
			t.Fatalf("message changed: %+v", msg)
		}
		if len(o.Keys) == 0 || o.Keys[0] != (tracing.Key{Kind: tracing.KeyMessageID, Value: id}) {
			t.Fatalf("first key %v, want the message ID", o.Keys)
		}
		for _, k := range o.Keys {
			if k.Value == "" {
				t.Fatalf("empty %v key from body %q", k.Kind, body)
			}
		}
		for _, r := range o.Relations {
			if r.From.Value == "" || r.To.Value == "" {
				t.Fatalf("relation with an empty end %+v from body %q", r, body)
			}
		}
		if len(msg.Layers) > tracing.MaxUnwrapDepth {
			t.Fatalf("%d layers opened, at most %d", len(msg.Layers), tracing.MaxUnwrapDepth)
		}
		if o.Time.IsZero() {
			t.Fatal("no time")
		}
		if attrName != "" {
			if _, ok := msg.UserAttrs[attrName]; !ok {
				t.Fatalf("message attribute %q lost", attrName)
			}
		}
	})
}
