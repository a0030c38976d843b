// Package fake is a fixed graph state and recording actions, so views and key
// sequences are deterministic in tests. Only tests import it.
package fake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// Now is the fixed clock of every fake.
var Now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// Feed is a fixed graph state. Fields may be changed between reads.
type Feed struct {
	mu       sync.Mutex
	Rows     []graph.FlowRow
	Fns      []graph.FunctionStats
	Qs       []graph.QueueStats
	Msgs     []graph.DLQMessage
	Ver      uint64
	Reads    int // full reads (Totals calls), to see when the console reads
	Searched map[string]bool
	LogLines []graph.LogEntry // what Logs serves; nil: FakeLogLines(120)
}

// NewFeed returns 60 events, two functions, two queues and three DLQ messages.
func NewFeed() *Feed {
	f := &Feed{Searched: map[string]bool{}}
	for i := 0; i < 60; i++ {
		st := graph.StatusSucceeded
		switch i % 7 {
		case 3:
			st = graph.StatusRetrying
		case 5:
			st = graph.StatusDeadLettered
		}
		f.Rows = append(f.Rows, graph.FlowRow{
			ID: fmt.Sprintf("ev-%04d-%s", i, strings.Repeat("a", 20)), Type: "OrderPlaced", Source: "orders-api", LastHop: "charge-card",
			Hops: 4 + i%3, Status: st, First: Now.Add(-time.Duration(i) * time.Second), Last: Now.Add(-time.Duration(i)*time.Second + 300*time.Millisecond), Latency: 300 * time.Millisecond, CostUSD: 0.0000031,
		})
	}
	f.Fns = []graph.FunctionStats{
		{Name: "charge-card", Architecture: "arm64", MemoryMB: 512, Invocations: 120, Errors: 9, Timeouts: 2, ColdStarts: 3, P50: 180 * time.Millisecond, P95: 410 * time.Millisecond, P99: 3 * time.Second, MaxMemoryUsedMB: 301, CostUSD: 0.00042, CostPerMonthUSD: 6.38, Rate: []float64{1, 2, 3, 2, 1}},
		{Name: "send-email", Architecture: "arm64", MemoryMB: 128, Invocations: 110, P50: 140 * time.Millisecond, P95: 220 * time.Millisecond, P99: 230 * time.Millisecond, MaxMemoryUsedMB: 76, CostUSD: 0.0001, CostPerMonthUSD: 0.98},
	}
	f.Qs = []graph.QueueStats{
		{Name: "billing-dlq", IsDLQ: true, Depth: 4, OldestAge: 20 * time.Second, Sources: []string{"billing-queue"}},
		{Name: "billing-queue", DeadLetterQueue: "billing-dlq", MaxReceiveCount: 3},
	}
	f.Msgs = []graph.DLQMessage{
		{MessageID: "m-1", EventID: "ev-1", Body: `{"order_id":"o-1"}`, ReceiveCount: 3, SentAt: Now.Add(-time.Minute), Error: "CardDeclined", SourceQueue: "billing-queue"},
		{MessageID: "m-2", EventID: "ev-2", Body: `{"order_id":`, ReceiveCount: 4, SentAt: Now.Add(-2 * time.Minute), Error: "SyntaxError", SourceQueue: "billing-queue"},
		{MessageID: "m-3", EventID: "ev-3", Body: `{"order_id":"o-3"}`, ReceiveCount: 3, SentAt: Now.Add(-3 * time.Minute), Error: "CardDeclined", SourceQueue: "billing-queue"},
	}
	return f
}

// Many adds functions, queues and DLQ messages enough to scroll at 200x50.
func (f *Feed) Many() *Feed {
	for i := 0; i < 80; i++ {
		f.Fns = append(f.Fns, graph.FunctionStats{Name: fmt.Sprintf("fn-%03d-with-a-long-descriptive-name", i), Architecture: "x86_64", MemoryMB: 256, Invocations: uint64(1000 - i), CostUSD: float64(80-i) / 1e5, CostPerMonthUSD: 1})
		f.Qs = append(f.Qs, graph.QueueStats{Name: fmt.Sprintf("queue-%03d", i), Depth: i})
		f.Msgs = append(f.Msgs, graph.DLQMessage{MessageID: fmt.Sprintf("mm-%03d", i), EventID: fmt.Sprintf("ev-%03d", i), Body: "{}", ReceiveCount: 1, SentAt: Now.Add(-time.Duration(i) * time.Second), Error: []string{"CardDeclined", "Timeout", "SyntaxError"}[i%3]})
	}
	return f
}

// Flows filters by substring, like the graph.
func (f *Feed) Flows(q graph.FlowQuery) graph.FlowPage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rows []graph.FlowRow
	for _, r := range f.Rows {
		hit := strings.Contains(r.Status.String(), strings.ToLower(q.Status))
		for _, w := range strings.Fields(strings.ToLower(q.Filter)) {
			hit = hit && strings.Contains(strings.ToLower(r.ID+" "+r.Type+" "+r.Source+" "+r.LastHop), w)
		}
		for _, f := range q.Fields { // as graph.FieldTerm says
			v := map[string]string{"status": r.Status.String(), "type": r.Type, "source": r.Source, "fn": r.Source + " " + r.LastHop, "queue": r.Source + " " + r.LastHop}[f.Key]
			hit = hit && strings.Contains(strings.ToLower(v), strings.ToLower(f.Value))
		}
		if (q.Filter == "" && q.Status == "" && len(q.Fields) == 0) || hit != q.Invert {
			rows = append(rows, r)
		}
	}
	p := graph.FlowPage{Matched: len(rows)}
	if q.Offset < len(rows) {
		rows = rows[q.Offset:]
	} else {
		rows = nil
	}
	if q.Limit > 0 && len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	p.Rows = rows
	return p
}

// Lineage knows every ID but "nope" (not found) and "o-7" (ambiguous).
func (f *Feed) Lineage(id string) (graph.Lineage, error) {
	f.mu.Lock()
	searched := f.Searched[id]
	f.mu.Unlock()
	if id == "nope" || (strings.HasPrefix(id, "old-") && !searched) {
		return graph.Lineage{}, graph.ErrNotFound
	}
	if id == "o-7" {
		return graph.Lineage{}, graph.ErrAmbiguous
	}
	fn := tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"}
	q := tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-queue"}
	dlq := tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-dlq"}
	return graph.Lineage{
		ID: id, Type: "OrderPlaced", Status: graph.StatusDeadLettered, First: Now, Last: Now.Add(4 * time.Second), CostUSD: 0.0000123, Version: 1,
		Keys: []tracing.Key{{Kind: tracing.KeyEventID, Value: id}, {Kind: tracing.KeyMessageID, Value: "m-1"}},
		Hops: []graph.Hop{
			{Parent: -1, Kind: graph.HopPublish, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "orders-api"}, Time: Now, Duration: 40 * time.Millisecond, Evidence: "published_event_id", Confidence: 1},
			{Parent: 0, Depth: 1, Kind: graph.HopBroker, Component: tracing.Component{Kind: tracing.ComponentBus, Name: "orders"}, Time: Now.Add(10 * time.Millisecond), Latency: 10 * time.Millisecond, Evidence: "eventbridge envelope", Confidence: 1},
			{Parent: 1, Depth: 2, Kind: graph.HopBroker, Component: q, Time: Now.Add(20 * time.Millisecond), Latency: 10 * time.Millisecond, Evidence: "sqs body", Confidence: 1},
			{
				Parent: 2, Depth: 3, Kind: graph.HopInvoke, Component: fn, Attempt: 1, Status: graph.HopError, ErrorType: "CardDeclined", Time: Now.Add(100 * time.Millisecond), Latency: 80 * time.Millisecond, Duration: 120 * time.Millisecond, Evidence: "request id and message id", Confidence: 0.9,
				Logs: []graph.LogLine{{Level: "ERROR", Message: "CardDeclined: insufficient funds \x1b[31mred\x1b]0;pwned\x07"}},
			},
			{Parent: 2, Depth: 3, Kind: graph.HopInvoke, Component: fn, Attempt: 2, Status: graph.HopMissing, Time: Now.Add(2 * time.Second), Evidence: "charge-card consumes billing-queue", Confidence: 0.5},
			{Parent: 2, Depth: 3, Kind: graph.HopDeadLetter, Component: dlq, Time: Now.Add(4 * time.Second), Latency: 2 * time.Second, Evidence: "redrive policy", Confidence: 1},
		},
		DLQ: []graph.DLQMessage{{Queue: "billing-dlq", MessageID: "m-1", EventID: id, Body: `{"order_id":"o-1"}`, ReceiveCount: 3, SourceQueue: "billing-queue", Error: "CardDeclined"}},
	}, nil
}

// Find lists two events for "o-7".
func (f *Feed) Find(prefix string, limit int) []graph.Match {
	if prefix != "o-7" {
		return nil
	}
	return []graph.Match{
		{ID: "ev-new", Type: "OrderShipped", Last: Now.Add(time.Minute), Key: tracing.Key{Kind: tracing.KeyCorrelation, Value: "=o-7"}},
		{ID: "ev-old", Type: "OrderPlaced", Last: Now, Key: tracing.Key{Kind: tracing.KeyCorrelation, Value: "=o-7"}},
	}
}

// Functions returns the functions.
func (f *Feed) Functions() []graph.FunctionStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]graph.FunctionStats(nil), f.Fns...)
}

// Queues returns the queues.
func (f *Feed) Queues() []graph.QueueStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]graph.QueueStats(nil), f.Qs...)
}

// DLQMessages returns the messages, stamped with the queue.
func (f *Feed) DLQMessages(queue string) []graph.DLQMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]graph.DLQMessage(nil), f.Msgs...)
	for i := range out {
		out[i].Queue = queue
	}
	return out
}

// Map returns one edge and two nodes.
func (f *Feed) Map() graph.MapView {
	q := tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-queue"}
	fn := tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"}
	return graph.MapView{
		Nodes: []graph.MapNode{{Component: fn, Rate: 2, ErrorPct: 7.5, P95: 410 * time.Millisecond}, {Component: q, Rate: 2}},
		Edges: []graph.MapEdge{{From: q, To: fn, Rate: 2, ErrorPct: 7.5, P95: 80 * time.Millisecond}},
	}
}

// Version returns Ver.
func (f *Feed) Version() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Ver
}

// Totals counts a full read.
func (f *Feed) Totals() graph.Totals {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Reads++
	return graph.Totals{Events: 60, Observations: 1234, RatePerSec: 12.5}
}

// Health reports two sources, one retrying and dropping.
func (f *Feed) Health() []tracing.SourceHealth {
	return []tracing.SourceHealth{{Source: "cwlogs", State: tracing.SourceStateOK, Mode: "polling"}, {Source: "xray", State: tracing.SourceStateRetrying, RetryIn: 8 * time.Second, Dropped: 7}}
}

// Searcher finds IDs starting with "old-" in history, reporting two notes.
type Searcher struct {
	Feed  *Feed
	Calls []string
}

// SearchHistory marks id as found when it starts with "old-".
func (s *Searcher) SearchHistory(ctx context.Context, id string, progress func(string)) error {
	s.Calls = append(s.Calls, id)
	progress("cwlogs: 3 log groups")
	progress("xray: last 6h")
	if strings.HasPrefix(id, "old-") {
		s.Feed.mu.Lock()
		s.Feed.Searched[id] = true
		s.Feed.mu.Unlock()
	}
	return ctx.Err()
}

// Logs serves 120 log lines of charge-card and send-email, a minute apart
// from Now back: START, app lines at every level (one JSON, one stack trace,
// one with an escape sequence), END and REPORT. It honours the query like
// the graph.
func (f *Feed) Logs(q graph.LogQuery) graph.LogPage {
	f.mu.Lock()
	lines := f.LogLines
	f.mu.Unlock()
	if lines == nil {
		lines = FakeLogLines(120)
	}
	p := graph.LogPage{}
	if len(lines) > 0 {
		p.Last = lines[len(lines)-1].Seq
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if l.Seq <= q.After {
			break
		}
		if len(q.Functions) > 0 && !slices.Contains(q.Functions, l.Function) {
			continue
		}
		if len(p.Lines) == limit {
			p.Missed++
			continue
		}
		p.Lines = append(p.Lines, l)
	}
	slices.Reverse(p.Lines)
	return p
}

// FakeLogLines returns n lines of a few invocations, oldest first, ending at Now.
func FakeLogLines(n int) []graph.LogEntry {
	out := make([]graph.LogEntry, 0, n)
	msgs := []struct {
		kind    tracing.LogKind
		level   string
		message string
	}{
		{tracing.LogStart, "", "START RequestId: %s Version: $LATEST"},
		{tracing.LogApp, "INFO", "2026-11-23T10:00:00.000Z\t%s\tINFO\tcharging order o-17 for 42.00 EUR"},
		{tracing.LogApp, "DEBUG", "2026-11-23T10:00:00.000Z\t%s\tDEBUG\tcard token tok_4242 resolved"},
		{tracing.LogApp, "WARN", "2026-11-23T10:00:00.000Z\t%s\tWARN\tretrying the card network (attempt 2 of 3)"},
		{tracing.LogApp, "ERROR", `{"level":"ERROR","msg":"CardDeclined: insufficient funds","requestId":"%s","order":{"id":"o-17","amount":42}}`},
		{tracing.LogApp, "ERROR", "2026-11-23T10:00:00.000Z\t%s\tERROR\tUnhandled: TypeError: x is undefined\n    at charge (/var/task/index.js:17:9)\n    at process (/var/task/index.js:40:3)"},
		{tracing.LogApp, "INFO", "2026-11-23T10:00:00.000Z\t%s\tINFO\tterminal says \x1b[31mred\x1b]0;pwned\x07 and a very long line that goes on and on past the edge of any terminal narrower than two hundred columns, so wrap has something to do"},
		{tracing.LogEnd, "", "END RequestId: %s"},
		{tracing.LogReport, "", "REPORT RequestId: %s\tDuration: 180.20 ms\tBilled Duration: 181 ms\tMemory Size: 512 MB\tMax Memory Used: 301 MB"},
	}
	for i := 0; i < n; i++ {
		inv := i / len(msgs)
		fn := []string{"charge-card", "send-email"}[inv%2]
		req := fmt.Sprintf("%08d-1111-4000-8000-000000000000", inv)
		m := msgs[i%len(msgs)]
		msg := m.message
		if strings.Contains(msg, "%s") {
			msg = fmt.Sprintf(msg, req)
		}
		out = append(out, graph.LogEntry{
			Seq: uint64(i + 1), Time: Now.Add(-time.Duration(n-i) * time.Second), Function: fn, RequestID: req,
			Level: m.level, Kind: m.kind, Message: msg,
		})
	}
	return out
}

// FunctionDetail returns a detail for any function: ten invocations, two
// failed, two cold.
func (f *Feed) FunctionDetail(name string) graph.FunctionDetail {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := graph.FunctionDetail{
		Found: name != "nope", Reported: 120, ColdStarts: 3, InitP50: 310 * time.Millisecond, InitP95: 840 * time.Millisecond,
		MemUsedP50: 180, MemUsedP95: 290, CostPerInvocationUSD: 0.0000035,
	}
	if !d.Found {
		return d
	}
	d.Stats = f.Fns[0]
	d.Stats.Name = name
	for i := 0; i < 40; i++ {
		r := graph.InvocationRow{
			RequestID: fmt.Sprintf("%08d-1111-4000-8000-000000000000", i), Start: Now.Add(-time.Duration(i) * 7 * time.Second),
			Duration: time.Duration(100+(i*37)%400) * time.Millisecond, MemoryUsedMB: 150 + i%150, MemorySizeMB: 512, Status: tracing.InvocationSuccess, CostUSD: 0.0000031, Lines: 5,
		}
		r.BilledDuration = r.Duration.Round(time.Millisecond)
		if i%9 == 4 {
			r.Status, r.Failed, r.ErrorType = tracing.InvocationError, true, []string{"CardDeclined: insufficient funds", "Task timed out"}[i%2]
		}
		if i%13 == 0 {
			r.InitDuration = time.Duration(300+i*10) * time.Millisecond
		}
		d.Recent = append(d.Recent, r)
		if r.Failed {
			d.Failed = append(d.Failed, r)
		}
	}
	d.Held = len(d.Recent)
	d.Slowest = slices.Clone(d.Recent)
	slices.SortStableFunc(d.Slowest, func(a, b graph.InvocationRow) int { return int(b.Duration - a.Duration) })
	d.Histogram = []graph.DurationBucket{{Upper: 100 * time.Millisecond, Count: 2}, {Upper: 200 * time.Millisecond, Count: 51}, {Upper: 500 * time.Millisecond, Count: 60}, {Upper: time.Second, Count: 0}, {Upper: 2 * time.Second, Count: 4}, {Upper: 5 * time.Second, Count: 3}}
	d.Errors = []graph.ErrorGroup{{Type: "CardDeclined: insufficient funds", Count: 7, Last: Now.Add(-28 * time.Second)}, {Type: "Task timed out", Count: 2, Last: Now.Add(-3 * time.Minute)}}
	return d
}
