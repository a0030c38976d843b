package replay

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// fuzzMaxInput caps one fuzzed journal or body: a few hundred records, or a
// body past the brokers' limit of 256 KiB would only be slower, not different.
const fuzzMaxInput = 64 << 10

// replaySeedBodies are events from the sample corpus (EventBridge, SNS, SQS
// and CloudEvents, see testdata/corpus/SOURCES.md).
func replaySeedBodies(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, sub := range []string{"sns-eventbridge", "cloudevents", "sqs"} {
		files, err := filepath.Glob(filepath.Join("..", "testdata", "corpus", sub, "*.json"))
		if err != nil || len(files) == 0 {
			tb.Fatalf("seed corpus %s: %v", sub, err)
		}
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && len(b) <= 16<<10 {
				out = append(out, string(b))
			}
		}
	}
	return out
}

// FuzzParseTarget: a target that parses prints back as the same text, names a
// known kind and a non-empty name.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"events:orders", "sqs:billing-queue", "sns:arn:aws:sns:us-east-1:000000000000:order-events", "lambda:charge-card", "sqs:", ":x", "kafka:t", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		tg, err := ParseTarget(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "replay: ") {
				t.Fatalf("error without its source: %v", err)
			}
			return
		}
		if tg.String() != s || tg.Name == "" {
			t.Fatalf("%q parsed as %+v, prints %q", s, tg, tg.String())
		}
		switch tg.Kind {
		case "sqs", "sns", "events", "lambda":
		default:
			t.Fatalf("kind %q", tg.Kind)
		}
		if again, err := ParseTarget(tg.String()); err != nil || again != tg {
			t.Fatalf("round trip: %+v %v", again, err)
		}
	})
}

// noSend are broker clients that fail the test if anything is sent: planning
// must not send.
type noSend struct{ t *testing.T }

func (n noSend) PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	n.t.Fatal("PlanReplay sent to EventBridge")
	return nil, errors.New("unreachable")
}

func (n noSend) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	n.t.Fatal("PlanReplay published to SNS")
	return nil, errors.New("unreachable")
}

func (n noSend) Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	n.t.Fatal("PlanReplay invoked Lambda")
	return nil, errors.New("unreachable")
}

// FuzzPlanReplay plans replays of arbitrary bodies (what a user edits, or a
// DLQ message held) to each kind of target. It must not panic or send; a plan
// it accepts fits the brokers' limit, and what it will send to EventBridge or
// Lambda is JSON, with the envelope's source and detail-type for EventBridge.
func FuzzPlanReplay(f *testing.F) {
	for i, b := range replaySeedBodies(f) {
		f.Add(b, uint8(i))
	}
	f.Add(`{"source":"s","detail-type":"t","id":"1","detail":"not an object"}`, uint8(0))
	f.Add(`{"source":"","detail-type":"","id":"","detail":{}}`, uint8(0))
	kinds := []string{"events", "sqs", "sns", "lambda"}
	f.Fuzz(func(t *testing.T, body string, kind uint8) {
		if len(body) > fuzzMaxInput*5 {
			return
		}
		ns := noSend{t}
		r := New(nil, Options{StateDir: t.TempDir()}).WithBrokers(Brokers{EventBridge: ns, SNS: ns, Lambda: ns})
		tg := Target{Kind: kinds[int(kind)%len(kinds)], Name: "orders"}
		p, err := r.PlanReplay(context.Background(), ReplayRequest{OriginalID: "m-1", Body: body, Target: tg})
		lines := p.Lines()
		if len(lines) == 0 || !strings.Contains(lines[0], tg.String()) {
			t.Fatalf("plan text %q does not name the target", lines)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "replay: ") {
				t.Fatalf("error without its source: %v", err)
			}
			return
		}
		if len(p.Body) > maxBody || strings.TrimSpace(p.Body) == "" {
			t.Fatalf("accepted a body of %d bytes", len(p.Body))
		}
		switch tg.Kind {
		case "events":
			if p.Source == "" || p.DetailType == "" || !json.Valid([]byte(p.Body)) {
				t.Fatalf("EventBridge plan without source, detail-type or JSON detail: %+v", p)
			}
		case "lambda":
			if !json.Valid([]byte(p.Body)) {
				t.Fatal("a Lambda payload that is not JSON was accepted")
			}
		case "sqs", "sns":
			if p.Body != body {
				t.Fatal("a message body was changed")
			}
		}
	})
}

// journalSeed writes a journal the way a redrive does: a plan, then each
// message received, being sent, sent and deleted, one left half way.
func journalSeed(tb testing.TB) []byte {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "seed.journal")
	j, err := openJournal(path)
	if err != nil {
		tb.Fatal(err)
	}
	plan := RedrivePlan{DLQ: "billing-dlq", Count: 3, Method: MethodJournaled, Created: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	recs := []record{{Op: "plan", Plan: &plan}}
	for i, id := range []string{"m-1", "m-2", "m-3"} {
		recs = append(recs,
			record{Op: "recv", ID: id, Body: `{"order_id":"o-` + id + `"}`, Target: "billing-queue", Attrs: map[string]sqstypes.MessageAttributeValue{"k": {DataType: strPtr("String"), StringValue: strPtr("v")}}},
			record{Op: "sending", ID: id})
		if i < 2 {
			recs = append(recs, record{Op: "sent", ID: id, NewID: "new-" + id}, record{Op: "deleted", ID: id})
		}
	}
	if err := j.append(recs...); err != nil {
		tb.Fatal(err)
	}
	_ = j.f.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func strPtr(s string) *string { return &s }

// FuzzJournal opens arbitrary journal files, as a redrive resumed after a
// crash, a full disk or a hand edit would. It must not panic, and when it
// opens a journal, a record appended then is read back by the next resume,
// whatever the file ended with (a crash can leave a torn last line), and what
// was confirmed sent stays so. It uses only what every version of the journal
// has (openJournal, append, sent): a journal may refuse a damaged file.
func FuzzJournal(f *testing.F) {
	seed := journalSeed(f)
	f.Add(seed)
	f.Add(seed[:len(seed)-7]) // torn last line
	f.Add([]byte("{\"op\":\"plan\",\"plan\":{\"DLQ\":\"d\"}}\n{\"op\":\"sending\",\"id\":\"a\"}\n{\"op\":\"sent\",\"id\":\"a\"}\nnull\n[]\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzMaxInput {
			return
		}
		path := filepath.Join(t.TempDir(), "redrive-fuzz.journal")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		j, err := openJournal(path)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "replay: ") {
				t.Fatalf("error without its source: %v", err)
			}
			return // a damaged journal may be refused, with a reason
		}
		sentBefore := map[string]string{}
		for id, v := range j.sent {
			sentBefore[id] = v
		}
		// A resumed run appends; the next resume must read what it wrote.
		var recs []record
		if len(strings.TrimSpace(string(data))) == 0 {
			recs = append(recs, record{Op: "plan", Plan: &RedrivePlan{DLQ: "billing-dlq", Method: MethodJournaled}})
		}
		recs = append(recs, record{Op: "sent", ID: "fuzz-appended", NewID: "fuzz-new"})
		if err := j.append(recs...); err != nil {
			t.Fatalf("append: %v", err)
		}
		_ = j.f.Close()
		j2, err := openJournal(path)
		if err != nil {
			after, _ := os.ReadFile(path)
			t.Fatalf("reopen after an append: %v; the file ends %q", err, after[max(0, len(after)-120):])
		}
		defer j2.f.Close()
		if got := j2.sent["fuzz-appended"]; got != "fuzz-new" {
			after, _ := os.ReadFile(path)
			t.Fatalf("the record appended after opening was lost (sent = %q); the file ends %q", got, after[max(0, len(after)-120):])
		}
		for id, v := range sentBefore {
			if id != "fuzz-appended" && j2.sent[id] != v {
				t.Fatalf("reopening changed what %q was sent as: %q then %q", id, v, j2.sent[id])
			}
		}
	})
}
