package event

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/screentest"
)

// kinesisLineage is a Kinesis record seen in one account and two regions:
// its 88-character ID, a hop with no latency (its parent's time unknown) and
// a retried invocation whose attempt number must stay readable.
func kinesisLineage(account2 string) graph.Lineage {
	t0 := time.Date(2026, 12, 3, 15, 18, 39, 0, time.UTC)
	id := "clickstream/shardId-000000000000:49000000017963109973970000000000000000000000000000561000"
	fn := func(name, acct string) tracing.Component {
		return tracing.Component{Kind: tracing.ComponentFunction, Name: name, Account: acct, Region: "eu-west-1"}
	}
	return graph.Lineage{ID: id, Version: 1, Status: graph.StatusFailed, First: t0, Last: t0.Add(time.Second), Hops: []graph.Hop{
		{Parent: -1, Kind: graph.HopPublish, Component: fn("web-frontend", "000000000000"), Time: t0, Duration: 35 * time.Millisecond},
		{Parent: 0, Depth: 1, Kind: graph.HopBroker, Component: tracing.Component{Kind: tracing.ComponentStream, Name: "clickstream", Account: "000000000000"}, Time: t0},
		{Parent: 1, Depth: 2, Kind: graph.HopInvoke, Status: graph.HopError, Component: fn("clickstream-analytics", account2), Time: t0.Add(400 * time.Millisecond), Latency: 400 * time.Millisecond, Attempt: 2, ErrorType: "ValueError"},
	}, DLQ: []graph.DLQMessage{{Queue: "clickstream-failures", MessageID: "m-9", ReceiveCount: 1}}}
}

// TestHopLineKeepsNamesWhole: the demo's first walk showed
// "function clickstream-analytics …" three times, the attempt number cut by
// an account suffix every hop carried although one account was watched, a
// "+-" where a latency was unknown, and the Kinesis record's long ID pushing
// status, hops and latency off the summary line at 120 columns.
func TestHopLineKeepsNamesWhole(t *testing.T) {
	for _, w := range []int{80, 120, 200} {
		got := Lines(screentest.Env(false), "x", kinesisLineage("000000000000"), nil, true, w)
		text := ansi.Strip(strings.Join(got, "\n"))
		for _, want := range []string{"function clickstream-analytics #2", "function web-frontend ", "received once"} {
			if !strings.Contains(text, want) {
				t.Errorf("%d columns: lacks %q:\n%s", w, want, text)
			}
		}
		for _, bad := range []string{"account ", "@0000", "+-", "received 1 times"} {
			if strings.Contains(text, bad) {
				t.Errorf("%d columns: shows %q:\n%s", w, bad, text)
			}
		}
		facts := got[0]
		if !strings.Contains(facts, "hops") {
			facts = got[1]
		}
		if ansi.StringWidth(facts) > w || !strings.Contains(facts, "failed  3 hops  1.0s end to end") {
			t.Errorf("%d columns: summary overflows or lost its facts:\n%s", w, text)
		}
	}
	// Several accounts on the path: each hop says whose it is.
	text := ansi.Strip(strings.Join(Lines(screentest.Env(false), "x", kinesisLineage("111122223333"), nil, true, 200), "\n"))
	for _, want := range []string{"function clickstream-analytics #2 15:18:39.400  +400ms  account 111122223333", "stream clickstream                15:18:39.000  account 000000000000"} {
		if !strings.Contains(text, want) {
			t.Errorf("cross-account: lacks %q:\n%s", want, text)
		}
	}
}

// TestExceptionSaidOnce: an exception whose message is its type shows once.
func TestExceptionSaidOnce(t *testing.T) {
	l := kinesisLineage("000000000000")
	sp := tracing.Span{
		Service: "clickstream-analytics", Name: "process", Status: tracing.StatusError,
		Events: []tracing.SpanEvent{{Name: "exception", Attrs: map[string]string{"exception.type": "ValueError", "exception.message": "ValueError"}}},
	}
	l.Spans = []graph.SpanRow{{Span: sp}}
	text := ansi.Strip(strings.Join(Lines(screentest.Env(false), "x", l, nil, true, 120), "\n"))
	if !strings.Contains(text, "⚠ ValueError") || strings.Contains(text, "ValueError: ValueError") {
		t.Errorf("%s", text)
	}
}

// TestMultiLineLogLine: the demo's REPORT lines carry "\nXRAY TraceId: …",
// shown as "\x0a" in the middle of the line; each line now gets its own.
func TestMultiLineLogLine(t *testing.T) {
	l := kinesisLineage("000000000000")
	l.Hops[0].Logs = []graph.LogLine{{Message: "REPORT RequestId: r-1 Duration: 35.02 ms\nXRAY TraceId: 1-6b118ac6-b558efdcd2adb6fb15502a2e\x1b[2J\n"}}
	text := ansi.Strip(strings.Join(Lines(screentest.Env(false), "x", l, nil, true, 200), "\n"))
	if !strings.Contains(text, "│ REPORT RequestId: r-1 Duration: 35.02 ms\n") || !strings.Contains(text, "│ XRAY TraceId: 1-6b118ac6") || strings.Contains(text, "\\x0a") || strings.Contains(text, "\x1b") {
		t.Errorf("%s", text)
	}
}
