package replay

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowtop/flowtop/sandbox"
)

// deadLetter sends n messages to the source queue and receives them until
// the sandbox's RedrivePolicy moves every one to the DLQ, as SQS does.
func deadLetter(t *testing.T, c *sqs.Client, srcURL, dlqURL string, n int) {
	t.Helper()
	fill(t, c, srcURL, n, false)
	deadline := time.Now().Add(30 * time.Second)
	for depth(t, c, dlqURL) != itoa(n)+"/0" {
		if time.Now().After(deadline) {
			t.Fatalf("dead-lettering stalled: dlq %s, source %s", depth(t, c, dlqURL), depth(t, c, srcURL))
		}
		_, _ = c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(srcURL), MaxNumberOfMessages: 10})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// A DLQ whose messages carry no DeadLetterQueueSourceArn (sent to it
// directly, as SNS, EventBridge and Lambda do) and one source queue: every
// message goes to that source, and the plan says why.
func TestNoSourceArnGoesToTheOnlySource(t *testing.T) {
	_, c, dlqURL, srcURL := setup(t, false)
	fill(t, c, dlqURL, 1000, false)
	r := New(c, Options{StateDir: t.TempDir()})
	plan, err := r.PlanRedrive(context.Background(), RedriveRequest{DLQ: "orders-dlq", Method: MethodJournaled})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.Route, "goes to orders, the only queue whose RedrivePolicy names this DLQ") {
		t.Fatalf("route: %s", plan.Route)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := r.Execute(ctx, plan, nil)
	if err != nil || res.Moved != 1000 || len(res.Unroutable) != 0 {
		t.Fatalf("%+v %v", res.Lines(), err)
	}
	if d := depth(t, c, dlqURL); d != "0/0" {
		t.Fatalf("dlq %s", d)
	}
	copies, _, total := drain(t, c, srcURL)
	if len(copies) != 1000 || total != 1000 {
		t.Fatalf("source holds %d distinct of %d", len(copies), total)
	}
}

// Two queues name the DLQ and the messages name neither: no route. The run
// ends within seconds, non-zero, with every message listed and visible —
// with the production visibility timeout of 60 s.
func TestNoSourceArnAndNoRouteGivesBackAtOnce(t *testing.T) {
	_, c, dlqURL, _ := setup(t, false)
	if _, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("orders-b"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:orders-dlq","maxReceiveCount":"3"}`,
	}}); err != nil {
		t.Fatal(err)
	}
	fill(t, c, dlqURL, 200, false)
	r := New(c, Options{StateDir: t.TempDir()})
	plan, err := r.PlanRedrive(context.Background(), RedriveRequest{DLQ: "orders-dlq", Method: MethodJournaled})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.Route, "can't be routed (2 queues name this DLQ: orders, orders-b)") {
		t.Fatalf("route: %s", plan.Route)
	}
	start := time.Now()
	res, err := r.Execute(context.Background(), plan, nil)
	took := time.Since(start)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("want ErrIncomplete, got %v", err)
	}
	if took > 15*time.Second {
		t.Errorf("took %s to give up", took)
	}
	if len(res.Unroutable) != 200 || res.Moved != 0 || res.Released != 200 || res.ReleaseFailed != 0 {
		t.Fatalf("result: %d unroutable, %d moved, %d released, %d failed", len(res.Unroutable), res.Moved, res.Released, res.ReleaseFailed)
	}
	if !strings.Contains(res.Unroutable[0].Reason, "2 queues name this DLQ: say --to") {
		t.Errorf("reason: %s", res.Unroutable[0].Reason)
	}
	if d := depth(t, c, dlqURL); d != "200/0" {
		t.Fatalf("after the run the DLQ is %s (visible/in flight), want 200/0", d)
	}
	if !strings.Contains(strings.Join(res.Lines(), "\n"), "200 could not be routed and are back in the DLQ, visible") {
		t.Errorf("summary:\n%s", strings.Join(res.Lines(), "\n"))
	}
	t.Logf("gave up in %s: %s", took.Round(time.Millisecond), res.Lines()[1])
	// With --to they all go.
	plan, err = r.PlanRedrive(context.Background(), RedriveRequest{DLQ: "orders-dlq", To: "orders-b", Method: MethodJournaled})
	if err != nil {
		t.Fatal(err)
	}
	if res, err = r.Execute(context.Background(), plan, nil); err != nil || res.Moved != 200 {
		t.Fatalf("with --to: %+v %v", res.Lines(), err)
	}
}

// An endpoint that answers StartMessageMoveTask with an HTML 500 and moves
// messages to the DLQ without DeadLetterQueueSourceArn: the redrive falls
// back to journaled, says why, and moves all 1,000 to the only source.
func TestNativeHTML500FallsBack(t *testing.T) {
	_, c, dlqURL, srcURL := setupWith(t, false, sandbox.Options{Seed: 3, Compat: sandbox.CompatField})
	deadLetter(t, c, srcURL, dlqURL, 1000)
	r := New(c, Options{StateDir: t.TempDir()})
	plan, err := r.PlanRedrive(context.Background(), RedriveRequest{DLQ: "orders-dlq"})
	if err != nil || plan.Method != MethodNative {
		t.Fatalf("%+v %v", plan, err)
	}
	var notes []string
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := r.Execute(ctx, plan, func(p Progress) {
		if p.Note != "" {
			notes = append(notes, p.Note)
		}
	})
	if err != nil || !res.FellBack || res.Moved != 1000 {
		t.Fatalf("%v %v", res.Lines(), err)
	}
	if !strings.Contains(res.FallbackReason, "HTTP 500") || !strings.Contains(res.FallbackReason, "not SQS's JSON") {
		t.Errorf("fallback reason: %s", res.FallbackReason)
	}
	if len(notes) == 0 || !strings.Contains(notes[0], "falling back") {
		t.Errorf("notes: %q", notes)
	}
	t.Logf("fell back: %s", res.FallbackReason)
	if d := depth(t, c, dlqURL); d != "0/0" {
		t.Fatalf("dlq %s", d)
	}
	if copies, _, total := drain(t, c, srcURL); len(copies) != 1000 || total != 1000 {
		t.Fatalf("source holds %d distinct of %d", len(copies), total)
	}
}

// A move task that fails after it started reports its FailureReason and the
// task's own counts; nothing falls back behind the task's back. Then, with
// no source left to route to, a journaled run lists every message.
func TestNativeTaskFailureReason(t *testing.T) {
	_, c, dlqURL, srcURL := setup(t, false)
	for _, q := range []string{"orders-b", "orders-c"} {
		if _, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(q), Attributes: map[string]string{
			"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:orders-dlq","maxReceiveCount":"3"}`,
		}}); err != nil {
			t.Fatal(err)
		}
	}
	deadLetter(t, c, srcURL, dlqURL, 20)
	if _, err := c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(srcURL)}); err != nil {
		t.Fatal(err)
	}
	r := New(c, Options{StateDir: t.TempDir(), PollEvery: 20 * time.Millisecond})
	plan, err := r.PlanRedrive(context.Background(), RedriveRequest{DLQ: "orders-dlq", Method: MethodNative})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Execute(context.Background(), plan, nil)
	if res.FellBack || !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "move task failed: destination") || !strings.Contains(res.Note, "does not exist") {
		t.Fatalf("%v %v", res.Lines(), err)
	}
	t.Logf("native: %v", err)
	if d := depth(t, c, dlqURL); d != "20/0" {
		t.Fatalf("dlq %s", d)
	}
	plan.Method = MethodJournaled
	res, err = r.Execute(context.Background(), plan, nil)
	if !errors.Is(err, ErrIncomplete) || len(res.Unroutable) != 20 || !strings.Contains(res.Unroutable[0].Reason, "its source queue orders no longer exists") {
		t.Fatalf("journaled without a source: %v %v", res.Lines(), err)
	}
	if d := depth(t, c, dlqURL); d != "20/0" {
		t.Fatalf("dlq %s", d)
	}
}

func TestTaskCountsNeverExceedTheirTotal(t *testing.T) {
	for _, tc := range []struct {
		moved   int64
		toMove  *int64
		planned int
		want    [2]int
	}{
		{85, aws.Int64(43), 43, [2]int{85, 85}},
		{10, aws.Int64(43), 40, [2]int{10, 43}},
		{10, nil, 40, [2]int{10, 40}},
		{50, nil, 40, [2]int{50, 50}},
	} {
		m, tot := taskCounts(sqsTask(tc.moved, tc.toMove), tc.planned)
		if [2]int{m, tot} != tc.want {
			t.Errorf("moved %d toMove %v planned %d: got %d of %d, want %v", tc.moved, tc.toMove, tc.planned, m, tot, tc.want)
		}
	}
}

func sqsTask(moved int64, toMove *int64) sqstypes.ListMessageMoveTasksResultEntry {
	return sqstypes.ListMessageMoveTasksResultEntry{ApproximateNumberOfMessagesMoved: moved, ApproximateNumberOfMessagesToMove: toMove}
}
