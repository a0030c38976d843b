package dlq

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowtop/flowtop/tracing"
)

// TestSearch: DLQ messages are matched by the keys in their bodies and by
// their own IDs; one peek answers the searches of its cache period, so a
// search does not raise receive counts again and again.
func TestSearch(t *testing.T) {
	t.Parallel()
	_, c, dlqURL := setup(t, 12)
	now := time.Now()
	s := NewSearcher(New(c, Config{}), SearchConfig{Now: func() time.Time { return now }})
	ctx := context.Background()
	b, err := s.Search(ctx, []tracing.Key{{Value: "ev-7"}}, now.Add(-time.Hour), now)
	if err != nil || len(b) != 1 || b[0].Message == nil || !b[0].Message.DeadLetter {
		t.Fatalf("by event id: %v %+v", err, b)
	}
	msgID, peekedCount := b[0].Message.ID, b[0].Message.ReceiveCount
	// "ev-1" is a prefix of "ev-10" and "ev-11": only the event itself matches.
	b, err = s.Search(ctx, []tracing.Key{{Kind: tracing.KeyEventID, Value: "ev-1"}}, now.Add(-time.Hour), now)
	if err != nil || len(b) != 1 {
		t.Fatalf("by ev-1: %d records, %v", len(b), err)
	}
	b, err = s.Search(ctx, []tracing.Key{{Kind: tracing.KeyMessageID, Value: msgID}}, now.Add(-time.Hour), now)
	if err != nil || len(b) != 1 || b[0].Message.ID != msgID {
		t.Fatalf("by message id: %v %+v", err, b)
	}
	if b, _ := s.Search(ctx, []tracing.Key{{Kind: tracing.KeyRequestID, Value: "ev-7"}}, now.Add(-time.Hour), now); len(b) != 0 {
		t.Errorf("a request ID matched an event ID: %+v", b)
	}
	// Four searches, one peek: this receive is the message's next one. Long
	// polls until it comes (bounded): on a busy machine five short polls
	// once ended before the peek had let the message go.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(dlqURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		for _, m := range out.Messages {
			if aws.ToString(m.MessageId) == msgID {
				if n, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"]); n != peekedCount+1 {
					t.Errorf("receive count %d after the searches, want %d: the searches peeked more than once", n, peekedCount+1)
				}
				return
			}
		}
	}
	t.Fatal("the message was not received back")
}
