package dlq

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// clock is a simulated clock the sandbox and the source share.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// steadyDLQ is a sandbox on the simulated clock with a DLQ holding n
// messages that nobody touches, and a client that never retries (so a
// fault is seen by the code under test, not hidden by the SDK).
func steadyDLQ(t *testing.T, n int) (*sandbox.Server, *sqs.Client, string, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	srv := sandbox.NewServer(sandbox.Options{Seed: 7, Now: clk.Now})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := sqs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		func(o *sqs.Options) { o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), 1) })
	ctx := context.Background()
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("billing-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("billing-queue"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:billing-dlq","maxReceiveCount":"3"}`,
	}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: dlq.QueueUrl, MessageBody: aws.String(fmt.Sprintf(`{"n":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	return srv, c, aws.ToString(dlq.QueueUrl), clk
}

// receiveCounts reads every message's receive count (which raises each by
// one: the caller subtracts it) and gives them back.
func receiveCounts(t *testing.T, c *sqs.Client, url string, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for len(counts) < n {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 30,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"ApproximateReceiveCount"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			t.Fatalf("only %d of %d messages visible", len(counts), n)
		}
		for _, m := range out.Messages {
			counts[aws.ToString(m.MessageId)], _ = strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
		}
	}
	return counts
}

// A console session over a DLQ of 100 steady messages for a simulated 30
// minutes (a poll every 5 s) raises each receive count by at most 1, and by
// 0 in read-only mode, even when another consumer holds some messages for a
// while (the visible depth changes, the total doesn't); the background never
// leaves messages in flight.
func TestBackgroundPeeksOverThirtyMinutes(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("read-only=%v", readOnly), func(t *testing.T) {
			_, c, url, clk := steadyDLQ(t, 100)
			s := New(c, Config{Poll: 5 * time.Second, PeekMax: 100, ReadOnly: readOnly, Now: clk.Now})
			out := make(chan tracing.Batch, 1000)
			ctx := context.Background()
			messages := map[string]bool{}
			outside := map[string]int{} // receives by another consumer
			for step := 0; step < 360; step++ {
				if step == 60 || step == 180 {
					o, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 30})
					if err != nil || len(o.Messages) != 10 {
						t.Fatalf("outside consumer: %v", err)
					}
					for _, m := range o.Messages {
						outside[aws.ToString(m.MessageId)]++
					}
				}
				if err := s.poll(ctx, out, step%12 == 0); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
			drain:
				for {
					select {
					case b := <-out:
						for _, o := range b {
							if o.Kind == tracing.ObsMessage {
								messages[o.Message.ID] = true
							}
							if o.Kind == tracing.ObsQueue && o.Queue.Name == "billing-dlq" && o.Queue.Depth+o.Queue.InFlight != 100 {
								t.Fatalf("step %d: depth %d, in flight %d", step, o.Queue.Depth, o.Queue.InFlight)
							}
						}
					default:
						break drain
					}
				}
				clk.Add(5 * time.Second)
			}
			st := s.Stats()
			wantSeen := 100
			if readOnly {
				wantSeen = 0
			}
			if len(messages) != wantSeen || st.Peeked != wantSeen || st.ReleaseFailed != 0 {
				t.Fatalf("saw %d messages, stats %+v", len(messages), st)
			}
			if readOnly && st.Receives != 0 {
				t.Fatalf("read-only received %d times", st.Receives)
			}
			rise := 1
			if readOnly {
				rise = 0
			}
			for id, n := range receiveCounts(t, c, url, 100) {
				if n-1-outside[id] > rise {
					t.Errorf("message %s received %d times by the background in 30 minutes (want ≤ %d)", id, n-1-outside[id], rise)
				}
			}
			t.Logf("30 simulated minutes: %d receives, %d messages peeked, %d given back", st.Receives, st.Peeked, st.Released)
		})
	}
}

// When ChangeMessageVisibilityBatch fails, each message is given back one by
// one, counted, and none is left in flight.
func TestReleaseRetriesOneByOne(t *testing.T) {
	srv, c, url, clk := steadyDLQ(t, 25)
	srv.Faults.Set("sqs.ChangeMessageVisibilityBatch", sandbox.Fault{Error5xx: 1})
	s := New(c, Config{Now: clk.Now})
	obs, err := s.Peek(context.Background(), "billing-dlq", 25)
	if err != nil || len(obs) != 25 {
		t.Fatalf("%d %v", len(obs), err)
	}
	st := s.Stats()
	if st.ReleaseRetried != 25 || st.Released != 25 || st.ReleaseFailed != 0 {
		t.Fatalf("stats %+v", st)
	}
	a, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	if err != nil || a.Attributes["ApproximateNumberOfMessages"] != "25" || a.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("after the peek: %v %v", a.Attributes, err)
	}
	// And when one by one fails too, it is counted and shown as dropped.
	srv.Faults.Set("sqs.ChangeMessageVisibility", sandbox.Fault{Error5xx: 1})
	if _, err := s.Peek(context.Background(), "billing-dlq", 10); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.ReleaseFailed != 10 || s.Health().Dropped != 10 {
		t.Fatalf("stats %+v, health %+v", st, s.Health())
	}
}

// A DLQ that grows is peeked until the new messages are found, however many
// old ones SQS hands back first: with 60 seen messages and 3 new, a peek that
// stopped one batch past the count of new ones saw old messages only.
func TestGrowthFindsTheNewMessages(t *testing.T) {
	_, c, url, clk := steadyDLQ(t, 60)
	s := New(c, Config{Poll: 5 * time.Second, PeekMax: 100, Now: clk.Now})
	out := make(chan tracing.Batch, 100)
	ctx := context.Background()
	seen := func() map[string]bool {
		ids := map[string]bool{}
		for {
			select {
			case b := <-out:
				for _, o := range b {
					if o.Kind == tracing.ObsMessage {
						ids[o.Message.ID] = true
					}
				}
			default:
				return ids
			}
		}
	}
	if err := s.poll(ctx, out, true); err != nil {
		t.Fatal(err)
	}
	if n := len(seen()); n != 60 {
		t.Fatalf("first peek saw %d of 60", n)
	}
	var added []string
	for i := 0; i < 3; i++ {
		sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprintf(`{"late":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, aws.ToString(sent.MessageId))
	}
	clk.Add(6 * time.Second)
	if err := s.poll(ctx, out, false); err != nil {
		t.Fatal(err)
	}
	got := seen()
	for _, id := range added {
		if !got[id] {
			t.Errorf("new message %s not peeked (the peek saw %d messages)", id, len(got))
		}
	}
}
