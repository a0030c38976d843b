package dlq

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

func setup(t *testing.T, n int) (*sandbox.Server, *sqs.Client, string) {
	t.Helper()
	srv := sandbox.NewServer(sandbox.Options{Seed: 5})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := sqs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		func(o *sqs.Options) {
			// The SDK's real retryer, with a backoff of milliseconds and no
			// retry quota: the tests inject faults, and the default's
			// backoff (up to 20 s) could outlast the 15 s a peek holds
			// messages for on a loaded machine, and its quota could run
			// out, failing a test by chance rather than by a fault of
			// the collector.
			o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = 8
				so.Backoff = retry.NewExponentialJitterBackoff(50 * time.Millisecond)
				so.RateLimiter = ratelimit.None
			})
		})
	ctx := context.Background()
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("billing-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("billing-queue"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:billing-dlq","maxReceiveCount":"1"}`, "VisibilityTimeout": "0",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("unrelated")}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`{"version":"0","id":"ev-%d","detail-type":"OrderPlaced","source":"orders.api","account":"1","time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],"detail":{"order_id":"o-%d"}}`, i, i)
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: src.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	// Receive each once (maxReceiveCount 1), then once more to move them to the DLQ.
	for moved := 0; moved < 2*n+4; moved++ {
		_, _ = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: src.QueueUrl, MaxNumberOfMessages: 10})
	}
	return srv, c, aws.ToString(dlq.QueueUrl)
}

func TestListPeekRun(t *testing.T) {
	t.Parallel()
	srv, c, dlqURL := setup(t, 25)
	srv.Faults.Set("sqs", sandbox.Fault{Throttle: 0.10, Error5xx: 0.05})
	s := New(c, Config{Poll: 50 * time.Millisecond, PeekEvery: 100 * time.Millisecond, Options: tracing.UnwrapOptions{CorrelationFields: []string{"detail.order_id"}}})
	ctx := context.Background()
	qs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 3 || !qs[0].IsDLQ || qs[0].Name != "billing-dlq" || qs[0].Depth != 25 || len(qs[0].Sources) != 1 || qs[0].Sources[0] != "billing-queue" {
		t.Fatalf("queues: %+v", qs)
	}
	obs, err := s.Peek(ctx, "billing-dlq", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 25 {
		t.Fatalf("peeked %d of 25", len(obs))
	}
	o := obs[0]
	if o.Message.SourceQueue != "billing-queue" || !o.Message.DeadLetter || len(o.Message.Layers) != 1 || !hasKey(o.Keys, tracing.KeyEventID) || o.Relations[len(o.Relations)-1].Kind != tracing.RelCarries {
		t.Errorf("observation: %+v %+v", o.Message, o.Keys)
	}
	// The peek gave everything back: still 25 visible.
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(dlqURL), AttributeNames: []sqsAttr{"ApproximateNumberOfMessages"}})
	if err != nil || a.Attributes["ApproximateNumberOfMessages"] != "25" {
		t.Fatalf("after peek: %v %v", a.Attributes, err)
	}
	// Run emits each message once per depth change, plus queue state.
	rctx, cancel := context.WithCancel(ctx)
	out := make(chan tracing.Batch, 16)
	go func() { _ = s.Run(rctx, out) }()
	ids := map[string]bool{}
	var depth int
	deadline := time.After(60 * time.Second) // generous: a loaded machine, injected faults
	for len(ids) < 25 || depth != 25 {
		select {
		case b := <-out:
			for _, o := range b {
				switch o.Kind {
				case tracing.ObsMessage:
					ids[o.Message.ID] = true
				case tracing.ObsQueue:
					if o.Queue.Name == "billing-dlq" {
						depth = o.Queue.Depth
					}
				}
			}
		case <-deadline:
			t.Fatalf("run: %d messages, depth %d; health %+v", len(ids), depth, s.Health())
		}
	}
	cancel()
	if h := s.Health(); h.Items < 25 {
		t.Errorf("health items %d", h.Items)
	}
	rc, _ := strconv.Atoi(obs[0].Message.Attributes["ApproximateReceiveCount"])
	if rc < 2 {
		t.Errorf("receive count %d: a peek raises it (documented)", rc)
	}
}

type sqsAttr = sqstypes.QueueAttributeName

func hasKey(keys []tracing.Key, kind tracing.KeyKind) bool {
	for _, k := range keys {
		if k.Kind == kind {
			return true
		}
	}
	return false
}

// A message another reader holds while a peek runs is invisible to it: the
// DLQ's total counts it, the peek cannot find it. Once it is given back it
// is found at a later peek, although the total never moved again.
func TestPeekFindsWhatAnotherReaderHeld(t *testing.T) {
	t.Parallel()
	_, c, dlqURL := setup(t, 6)
	ctx := context.Background()
	// Another reader takes two of the six for a few seconds.
	held, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), MaxNumberOfMessages: 2, VisibilityTimeout: 2})
	if err != nil || len(held.Messages) != 2 {
		t.Fatalf("hold two: %v %v", held, err)
	}
	s := New(c, Config{Poll: 50 * time.Millisecond, PeekEvery: 200 * time.Millisecond})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan tracing.Batch, 16)
	go func() { _ = s.Run(rctx, out) }()
	ids := map[string]bool{}
	heldBack := false
	deadline := time.After(30 * time.Second)
	for len(ids) < 6 {
		select {
		case b := <-out:
			for _, o := range b {
				if o.Kind == tracing.ObsMessage {
					ids[o.Message.ID] = true
				}
			}
			if !heldBack && len(ids) == 4 {
				heldBack = true // the first peek found the four it could see
			}
		case <-deadline:
			t.Fatalf("found %d of 6 messages; health %+v", len(ids), s.Health())
		}
	}
	if !heldBack {
		t.Log("the held messages came back before the first peek (a slow machine): nothing was hidden")
	}
	for _, m := range held.Messages {
		if !ids[aws.ToString(m.MessageId)] {
			t.Errorf("held message %s never found", aws.ToString(m.MessageId))
		}
	}
}

// SQS's short poll samples a subset of its servers and "might not return all
// of your messages": with the sandbox leaving each message out of a short
// poll at random, a peek finds fewer than the DLQ holds, and the rest are
// found at later peeks although the depth never moves.
func TestPeekThroughSampledShortPolls(t *testing.T) {
	t.Parallel()
	srv, c, _ := setup(t, 12)
	srv.Faults.Set("sqs.ReceiveMessage", sandbox.Fault{Miss: 0.7})
	s := New(c, Config{Poll: 50 * time.Millisecond, PeekEvery: 100 * time.Millisecond})
	rctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan tracing.Batch, 16)
	go func() { _ = s.Run(rctx, out) }()
	ids := map[string]bool{}
	deadline := time.After(30 * time.Second)
	for len(ids) < 12 {
		select {
		case b := <-out:
			for _, o := range b {
				if o.Kind == tracing.ObsMessage {
					ids[o.Message.ID] = true
				}
			}
		case <-deadline:
			t.Fatalf("found %d of 12 messages through sampled short polls; stats %+v", len(ids), s.Health())
		}
	}
}
