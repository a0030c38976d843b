package tui

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// fakeFeed is a fixed graph state, so views are deterministic.
type fakeFeed struct {
	rows    []graph.FlowRow
	version uint64
	reads   int // full reads (Totals calls), to see when the console reads
}

func newFakeFeed() *fakeFeed {
	f := &fakeFeed{}
	for i := 0; i < 60; i++ {
		st := graph.StatusSucceeded
		switch i % 7 {
		case 3:
			st = graph.StatusRetrying
		case 5:
			st = graph.StatusDeadLettered
		}
		f.rows = append(f.rows, graph.FlowRow{ID: fmt.Sprintf("ev-%04d-%s", i, strings.Repeat("a", 20)), Type: "OrderPlaced", Source: "orders-api", LastHop: "charge-card",
			Hops: 4 + i%3, Status: st, First: now.Add(-time.Duration(i) * time.Second), Last: now.Add(-time.Duration(i)*time.Second + 300*time.Millisecond), Latency: 300 * time.Millisecond, CostUSD: 0.0000031})
	}
	return f
}

func (f *fakeFeed) Flows(q graph.FlowQuery) graph.FlowPage {
	var rows []graph.FlowRow
	for _, r := range f.rows {
		if q.Filter == "" || strings.Contains(r.ID, q.Filter) != q.Invert {
			rows = append(rows, r)
		}
	}
	p := graph.FlowPage{Matched: len(rows)}
	if q.Offset < len(rows) {
		rows = rows[q.Offset:]
	} else {
		rows = nil
	}
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	p.Rows = rows
	return p
}

func (f *fakeFeed) Lineage(id string) (graph.Lineage, error) {
	if id == "nope" {
		return graph.Lineage{}, graph.ErrNotFound
	}
	if id == "o-7" {
		return graph.Lineage{}, graph.ErrAmbiguous
	}
	fn := tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"}
	q := tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-queue"}
	return graph.Lineage{ID: id, Type: "OrderPlaced", Status: graph.StatusDeadLettered, First: now, Last: now.Add(4 * time.Second), CostUSD: 0.0000123,
		Keys: []tracing.Key{{Kind: tracing.KeyEventID, Value: id}, {Kind: tracing.KeyMessageID, Value: "m-1"}},
		Hops: []graph.Hop{
			{Parent: -1, Kind: graph.HopPublish, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "orders-api"}, Time: now, Duration: 40 * time.Millisecond, Evidence: "published_event_id", Confidence: 1},
			{Parent: 0, Depth: 1, Kind: graph.HopBroker, Component: tracing.Component{Kind: tracing.ComponentBus, Name: "orders"}, Time: now.Add(10 * time.Millisecond), Latency: 10 * time.Millisecond, Evidence: "eventbridge envelope", Confidence: 1},
			{Parent: 1, Depth: 2, Kind: graph.HopBroker, Component: q, Time: now.Add(20 * time.Millisecond), Latency: 10 * time.Millisecond, Evidence: "sqs body", Confidence: 1},
			{Parent: 2, Depth: 3, Kind: graph.HopInvoke, Component: fn, Attempt: 1, Status: graph.HopError, ErrorType: "CardDeclined", Time: now.Add(100 * time.Millisecond), Latency: 80 * time.Millisecond, Duration: 120 * time.Millisecond, Evidence: "request id and message id", Confidence: 0.9,
				Logs: []graph.LogLine{{Level: "ERROR", Message: "CardDeclined: insufficient funds \x1b[31mred\x1b]0;pwned\x07"}}},
			{Parent: 2, Depth: 3, Kind: graph.HopInvoke, Component: fn, Attempt: 2, Status: graph.HopMissing, Time: now.Add(2 * time.Second), Evidence: "charge-card consumes billing-queue", Confidence: 0.5},
		},
		DLQ: []graph.DLQMessage{{Queue: "billing-dlq", MessageID: "m-1", EventID: id, Body: `{"order_id":"o-1"}`, ReceiveCount: 3, SourceQueue: "billing-queue", Error: "CardDeclined"}},
	}, nil
}

func (f *fakeFeed) Find(prefix string, limit int) []graph.Match {
	if prefix != "o-7" {
		return nil
	}
	return []graph.Match{
		{ID: "ev-new", Type: "OrderShipped", Last: now.Add(time.Minute), Key: tracing.Key{Kind: tracing.KeyCorrelation, Value: "=o-7"}},
		{ID: "ev-old", Type: "OrderPlaced", Last: now, Key: tracing.Key{Kind: tracing.KeyCorrelation, Value: "=o-7"}},
	}
}
func (f *fakeFeed) Functions() []graph.FunctionStats {
	return []graph.FunctionStats{
		{Name: "charge-card", Architecture: "arm64", MemoryMB: 512, Invocations: 120, Errors: 9, Timeouts: 2, ColdStarts: 3, P50: 180 * time.Millisecond, P95: 410 * time.Millisecond, P99: 3 * time.Second, MaxMemoryUsedMB: 301, CostUSD: 0.00042, CostPerMonthUSD: 6.38, Rate: []float64{1, 2, 3, 2, 1}},
		{Name: "send-email", Architecture: "arm64", MemoryMB: 128, Invocations: 110, P50: 140 * time.Millisecond, P95: 220 * time.Millisecond, P99: 230 * time.Millisecond, MaxMemoryUsedMB: 76, CostUSD: 0.0001, CostPerMonthUSD: 0.98},
	}
}
func (f *fakeFeed) Queues() []graph.QueueStats {
	return []graph.QueueStats{
		{Name: "billing-dlq", IsDLQ: true, Depth: 4, OldestAge: 20 * time.Second, Sources: []string{"billing-queue"}},
		{Name: "billing-queue", DeadLetterQueue: "billing-dlq", MaxReceiveCount: 3},
	}
}
func (f *fakeFeed) DLQMessages(queue string) []graph.DLQMessage {
	return []graph.DLQMessage{
		{Queue: queue, MessageID: "m-1", EventID: "ev-1", Body: `{"order_id":"o-1"}`, ReceiveCount: 3, SentAt: now.Add(-time.Minute), Error: "CardDeclined"},
		{Queue: queue, MessageID: "m-2", EventID: "ev-2", Body: `{"order_id":`, ReceiveCount: 4, SentAt: now.Add(-2 * time.Minute), Error: "SyntaxError"},
		{Queue: queue, MessageID: "m-3", EventID: "ev-3", Body: `{"order_id":"o-3"}`, ReceiveCount: 3, SentAt: now.Add(-3 * time.Minute), Error: "CardDeclined"},
	}
}
func (f *fakeFeed) Map() graph.MapView {
	q := tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-queue"}
	fn := tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"}
	return graph.MapView{Nodes: []graph.MapNode{{Component: fn, Rate: 2, ErrorPct: 7.5, P95: 410 * time.Millisecond}, {Component: q, Rate: 2}},
		Edges: []graph.MapEdge{{From: q, To: fn, Rate: 2, ErrorPct: 7.5, P95: 80 * time.Millisecond}}}
}
func (f *fakeFeed) Version() uint64 { return f.version }
func (f *fakeFeed) Totals() graph.Totals {
	f.reads++
	return graph.Totals{Events: 60, Observations: 1234, RatePerSec: 12.5}
}
func (f *fakeFeed) Health() []tracing.SourceHealth {
	return []tracing.SourceHealth{{Source: "cwlogs", State: tracing.SourceStateOK, Mode: "polling"}, {Source: "xray", State: tracing.SourceStateRetrying, RetryIn: 8 * time.Second}}
}

type fakeReplayer struct{ executed []Action }

func (r *fakeReplayer) Plan(_ context.Context, a Action) (Plan, error) {
	return Plan{Summary: fmt.Sprintf("%s %s (%d)", a.Kind, a.Queue, len(a.MessageIDs)), Count: len(a.MessageIDs), Impl: a}, nil
}
func (r *fakeReplayer) Execute(_ context.Context, p Plan, progress func(Progress)) error {
	r.executed = append(r.executed, p.Impl.(Action))
	progress(Progress{Done: p.Count, Total: p.Count})
	return nil
}

// drive runs cmds the way the runtime would (data fetches, plans), feeding
// results back into the model, without the tick loop.
func drive(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	for i := 0; cmd != nil && i < 10; i++ {
		msg := cmd()
		switch x := msg.(type) {
		case tea.BatchMsg:
			var next []tea.Cmd
			for _, c := range x {
				if c == nil {
					continue
				}
				if r := c(); r != nil {
					if _, isTick := r.(tickMsg); isTick {
						continue
					}
					var nm tea.Model
					nm, c2 := m.Update(r)
					m = nm.(Model)
					next = append(next, c2)
				}
			}
			cmd = tea.Batch(next...)
			continue
		case tickMsg, nil:
			return m
		}
		nm, c := m.Update(msg)
		m = nm.(Model)
		cmd = c
	}
	return m
}

func press(t *testing.T, m Model, keys ...string) Model {
	t.Helper()
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		case "tab":
			msg = tea.KeyPressMsg{Code: tea.KeyTab}
		case "space":
			msg = tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
		case "backspace":
			msg = tea.KeyPressMsg{Code: tea.KeyBackspace}
		case "ctrl+c":
			msg = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
		case "ctrl+d":
			msg = tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl}
		default:
			r := []rune(k)[0]
			msg = tea.KeyPressMsg{Code: r, Text: k}
		}
		nm, cmd := m.Update(msg)
		m = drive(t, nm.(Model), cmd)
	}
	return m
}

func newModel(t *testing.T, w, h int, opts Options) Model {
	t.Helper()
	if opts.Feed == nil {
		opts.Feed = newFakeFeed()
	}
	opts.NoColor, opts.Title, opts.Now = true, "sandbox test", func() time.Time { return now }
	m := New(opts)
	nm, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m = nm.(Model)
	return drive(t, m, m.fetch())
}

func screenText(m Model) string { return ansi.Strip(m.View().Content) }

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// TestGoldenScreens renders every screen at 80x24 and 160x48.
func TestGoldenScreens(t *testing.T) {
	screens := map[string][]string{
		"flows":     nil,
		"event":     {"enter"},
		"functions": {":", "f", "n", "enter"},
		"dlqs":      {":", "d", "l", "q", "enter"},
		"dlqmsgs":   {":", "d", "l", "q", "enter", "enter"},
		"message":   {":", "d", "l", "q", "enter", "enter", "enter"},
		"map":       {":", "m", "a", "p", "enter"},
		"help":      {"?"},
	}
	for name, keys := range screens {
		for _, size := range [][2]int{{80, 24}, {160, 48}} {
			m := press(t, newModel(t, size[0], size[1], Options{Replayer: &fakeReplayer{}}), keys...)
			got := screenText(m)
			if lines := strings.Count(got, "\n") + 1; lines != size[1] {
				t.Errorf("%s %dx%d: %d lines", name, size[0], size[1], lines)
			}
			for i, line := range strings.Split(got, "\n") {
				if w := ansi.StringWidth(line); w > size[0] {
					t.Errorf("%s %dx%d: line %d is %d wide", name, size[0], size[1], i, w)
				}
			}
			golden(t, fmt.Sprintf("%s-%dx%d", name, size[0], size[1]), got)
		}
	}
}

func TestComputeLayout(t *testing.T) {
	for _, tt := range []struct{ w, h, header, body, footer int }{
		{80, 24, 3, 19, 2}, {160, 48, 3, 43, 2}, {40, 10, 1, 8, 1}, {10, 3, 1, 1, 1},
	} {
		l := computeLayout(tt.w, tt.h)
		if l.header != tt.header || l.body != tt.body || l.footer != tt.footer {
			t.Errorf("%dx%d: %+v", tt.w, tt.h, l)
		}
	}
}

func TestKeysFilterOpenBackCommandHelpQuit(t *testing.T) {
	m := newModel(t, 120, 30, Options{})
	m = press(t, m, "/", "0", "0", "1", "2")
	if m.filter != "0012" || len(m.flows.Rows) != 1 || m.flows.Rows[0].ID[:7] != "ev-0012" {
		t.Fatalf("filter %q rows %+v", m.filter, m.flows.Rows)
	}
	m = press(t, m, "enter")
	if m.mode != modeNone || m.filter != "0012" {
		t.Fatalf("filter not kept: mode %v filter %q", m.mode, m.filter)
	}
	m = press(t, m, "enter")
	if m.screen != scrEvent || !strings.Contains(screenText(m), "CardDeclined") {
		t.Fatalf("event screen: %v\n%s", m.screen, screenText(m))
	}
	m = press(t, m, "esc")
	if m.screen != scrFlows {
		t.Fatalf("esc: %v", m.screen)
	}
	m = press(t, m, "/", "!", "0", "0", "1", "2", "enter")
	if len(m.flows.Rows) == 0 || strings.HasPrefix(m.flows.Rows[0].ID, "ev-0012") {
		t.Errorf("inverted filter rows: %d", len(m.flows.Rows))
	}
	m = press(t, m, ":", "d", "tab")
	if m.input != "dlq" {
		t.Errorf("completion: %q", m.input)
	}
	m = press(t, m, "enter")
	if m.screen != scrDLQs || !strings.Contains(screenText(m), "billing-dlq") {
		t.Errorf("command dlq: %v", m.screen)
	}
	m = press(t, m, "-")
	if m.screen != scrFlows {
		t.Errorf("- back: %v", m.screen)
	}
	m = press(t, m, ":", "b", "o", "g", "u", "s", "enter")
	if !strings.Contains(screenText(m), `unknown command "bogus"`) {
		t.Errorf("unknown command not reported")
	}
	m = press(t, m, "?")
	if m.screen != scrHelp || !strings.Contains(screenText(m), "cycle sort") {
		t.Errorf("help: %s", screenText(m))
	}
	m = press(t, m, "esc", "j", "j", "G", "g", "ctrl+d")
	_, cmd := m.Update(tea.KeyPressMsg{Code: 'q', Text: "q"})
	if cmd == nil || cmd() != tea.Quit() {
		t.Error("q does not quit")
	}
	_, cmd = m.Update(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	if cmd == nil || cmd() != tea.Quit() {
		t.Error("ctrl+c does not quit")
	}
}

func TestSortAndMotion(t *testing.T) {
	m := newModel(t, 100, 20, Options{})
	m = press(t, m, "j", "j", "j")
	if m.flowCur != 3 || m.follow {
		t.Errorf("cursor %d follow %v", m.flowCur, m.follow)
	}
	m = press(t, m, "G")
	if m.flowOff == 0 {
		t.Errorf("G did not scroll: off %d cur %d", m.flowOff, m.flowCur)
	}
	m = press(t, m, "g")
	if m.flowOff != 0 || m.flowCur != 0 || !m.follow {
		t.Errorf("g: off %d cur %d follow %v", m.flowOff, m.flowCur, m.follow)
	}
	m = press(t, m, "s")
	if m.flowSort != graph.SortStarted {
		t.Errorf("sort %v", m.flowSort)
	}
	m = press(t, m, ":", "f", "n", "enter", "s")
	if m.fns[0].Name != "charge-card" || fnSorts[m.fnSort].name != "p95" {
		t.Errorf("fn sort: %v %s", m.fns[0].Name, fnSorts[m.fnSort].name)
	}
}

func TestActionsConfirmAndReadOnly(t *testing.T) {
	r := &fakeReplayer{}
	m := newModel(t, 120, 30, Options{Replayer: r})
	m = press(t, m, ":", "d", "l", "q", "enter", "enter", "space", "space", "R")
	if m.confirm == nil || !strings.Contains(screenText(m), "confirm: redrive selected billing-dlq (2)") {
		t.Fatalf("no confirmation shown:\n%s", screenText(m))
	}
	m = press(t, m, "n")
	if len(r.executed) != 0 || m.confirm != nil {
		t.Fatalf("n must cancel: %+v", r.executed)
	}
	m = press(t, m, "r", "y")
	if len(r.executed) != 1 || r.executed[0].Kind != ActionRedriveAll || r.executed[0].Queue != "billing-dlq" {
		t.Fatalf("executed %+v", r.executed)
	}
	ro := newModel(t, 120, 30, Options{Replayer: r, ReadOnly: true})
	ro = press(t, ro, ":", "d", "l", "q", "enter", "r")
	if ro.confirm != nil || !strings.Contains(screenText(ro), "read-only") || strings.Contains(screenText(ro), "r redrive all") {
		t.Errorf("read-only must refuse and hide:\n%s", screenText(ro))
	}
	if len(r.executed) != 1 {
		t.Errorf("read-only executed something")
	}
}

// TestHostileTextIsNeutralised: a log line with escape sequences renders escaped.
func TestHostileTextIsNeutralised(t *testing.T) {
	m := press(t, newModel(t, 200, 40, Options{}), "enter")
	raw := m.View().Content
	if strings.Contains(raw, "\x1b]0;pwned") || strings.Contains(raw, "\x07") {
		t.Fatal("a terminal control sequence from a log line reached the screen")
	}
	if !strings.Contains(screenText(m), `\x1b]0;pwned\x07`) {
		t.Errorf("escaped form not shown:\n%s", screenText(m))
	}
}

func TestUnknownEventSaysSo(t *testing.T) {
	m := press(t, newModel(t, 120, 30, Options{}), ":", "t", "a", "i", "l", "space", "n", "o", "p", "e", "enter")
	if m.screen != scrEvent || !strings.Contains(screenText(m), "no event with ID nope yet") {
		t.Errorf("%s", screenText(m))
	}
	if !errors.Is(m.linErr, graph.ErrNotFound) {
		t.Errorf("err %v", m.linErr)
	}
}

// TestAmbiguousIDListsEvents: an ID shared by several events (an order_id)
// lists them, and enter on one opens it.
func TestAmbiguousIDListsEvents(t *testing.T) {
	m := press(t, newModel(t, 120, 30, Options{}), ":", "t", "a", "i", "l", "space", "o", "-", "7", "enter")
	text := screenText(m)
	if !errors.Is(m.linErr, graph.ErrAmbiguous) || !strings.Contains(text, "2 of them") || !strings.Contains(text, "ev-new") || !strings.Contains(text, "OrderPlaced") {
		t.Fatalf("%s", text)
	}
	m = press(t, m, "j", "j", "j", "enter") // the header, a blank line, then the second event
	if m.eventID != "ev-old" || m.linErr != nil || !strings.Contains(screenText(m), "event ev-old") {
		t.Errorf("opened %q (%v):\n%s", m.eventID, m.linErr, screenText(m))
	}
}

// runCmd runs cmd the way the runtime would, batches included, and returns
// the messages other than ticks.
func runCmd(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch x := cmd().(type) {
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range x {
			out = append(out, runCmd(c)...)
		}
		return out
	case tickMsg, nil:
		return nil
	default:
		return []tea.Msg{x}
	}
}

// step delivers one tick at t and the replies it asks for.
func step(m Model, t time.Time) Model {
	nm, cmd := m.Update(tickMsg(t))
	m = nm.(Model)
	for _, msg := range runCmd(cmd) {
		nm, _ = m.Update(msg)
		m = nm.(Model)
	}
	return m
}

// TestTickReadsOnlyWhenSomethingChanged: a tick reads the graph only when its
// Version moved, input arrived or a second passed, and a tick that read
// nothing returns the frame already rendered.
func TestTickReadsOnlyWhenSomethingChanged(t *testing.T) {
	feed := newFakeFeed()
	m := newModel(t, 80, 24, Options{Feed: feed})
	t0 := now
	m = step(m, t0) // the first tick reads (a second since the zero time)
	before, frame := feed.reads, m.View()

	m = step(m, t0.Add(100*time.Millisecond))
	m = step(m, t0.Add(200*time.Millisecond))
	if feed.reads != before {
		t.Fatalf("ticks with the same Version read the graph %d times", feed.reads-before)
	}
	if got := m.View(); got.Content != frame.Content {
		t.Fatalf("an idle tick changed the frame")
	}

	feed.version++
	feed.rows[0].ID = "ev-new-arrival"
	m = step(m, t0.Add(300*time.Millisecond))
	if feed.reads != before+1 {
		t.Fatalf("a new Version: %d reads, want 1", feed.reads-before)
	}
	if !strings.Contains(screenText(m), "ev-new-arrival") {
		t.Fatalf("the new row is not shown:\n%s", screenText(m))
	}

	m = press(t, m, "j")
	n := feed.reads
	m = step(m, t0.Add(400*time.Millisecond))
	if feed.reads != n+1 {
		t.Fatalf("input did not make the next tick read")
	}
	m = step(m, t0.Add(500*time.Millisecond))
	if feed.reads != n+1 {
		t.Fatalf("an idle tick after input read again")
	}
	m = step(m, t0.Add(1500*time.Millisecond))
	if feed.reads != n+2 {
		t.Fatalf("no refresh after a second (reads %d)", feed.reads-n)
	}
}
