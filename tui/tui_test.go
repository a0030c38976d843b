package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/golden"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/dlqmsgs"
	"github.com/flowtop/flowtop/tui/screens/dlqs"
	"github.com/flowtop/flowtop/tui/screens/event"
	"github.com/flowtop/flowtop/tui/screens/flows"
	"github.com/flowtop/flowtop/tui/screens/functions"
	"github.com/flowtop/flowtop/tui/screens/mapview"
)

var now = fake.Now

type fakeReplayer struct {
	mu       sync.Mutex
	executed []Action
	plan     Plan // when set, returned by Plan
}

func (r *fakeReplayer) Plan(_ context.Context, a Action) (Plan, error) {
	if r.plan.Summary != "" {
		p := r.plan
		p.Impl = a
		return p, nil
	}
	return Plan{Summary: fmt.Sprintf("%s %s (%d)", a.Kind, a.Queue, len(a.MessageIDs)), Count: len(a.MessageIDs), Impl: a}, nil
}

func (r *fakeReplayer) Execute(_ context.Context, p Plan, progress func(Progress)) error {
	r.mu.Lock()
	r.executed = append(r.executed, p.Impl.(Action))
	r.mu.Unlock()
	progress(Progress{Done: p.Count, Total: p.Count})
	return nil
}

// drive runs cmd the way the runtime would (reads, plans, actions), feeding
// results back into the model, without the tick loop.
func drive(t *testing.T, m *Model, cmd tea.Cmd) *Model {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for n := 0; len(queue) > 0; n++ {
		if n > 500 {
			t.Fatal("commands never settle")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil, tickMsg:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		default:
			_, next := m.Update(msg)
			queue = append(queue, next)
		}
	}
	return m
}

func press(t *testing.T, m *Model, keys ...string) *Model {
	t.Helper()
	for _, k := range keys {
		_, cmd := m.Update(screentest.Key(k))
		m = drive(t, m, cmd)
	}
	return m
}

func paste(t *testing.T, m *Model, s string) *Model {
	t.Helper()
	_, cmd := m.Update(tea.PasteMsg{Content: s})
	return drive(t, m, cmd)
}

func newModel(t *testing.T, w, h int, opts Options) *Model {
	t.Helper()
	if opts.Feed == nil {
		opts.Feed = fake.NewFeed()
	}
	opts.NoColor, opts.Title, opts.Now = true, "sandbox test", func() time.Time { return now }
	m := New(opts)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return drive(t, m, m.refresh())
}

func screenText(m *Model) string { return ansi.Strip(m.View().Content) }

func body(m *Model) string {
	lines := strings.Split(screenText(m), "\n")
	return strings.Join(lines[m.lay.header:m.lay.header+m.lay.body], "\n")
}

func footerLine(m *Model) string {
	lines := strings.Split(screenText(m), "\n")
	return lines[m.lay.header+m.lay.body]
}

func top(m *Model) screen.Screen { return m.top() }

func filterOf(m *Model) string {
	if f, ok := m.top().(screen.Filterer); ok {
		return f.Filter()
	}
	return ""
}

// TestGoldenScreens renders every screen through the root at 80x24, 120x40
// and 200x50: header, body and footer.
func TestGoldenScreens(t *testing.T) {
	screens := []struct {
		name string
		keys []string
	}{
		{"flows", nil},
		{"event", []string{"enter"}},
		{"functions", []string{":", "f", "n", "enter"}},
		{"dlqs", []string{":", "d", "l", "q", "enter"}},
		{"dlqmsgs", []string{":", "d", "l", "q", "enter", "enter"}},
		{"message", []string{":", "d", "l", "q", "enter", "enter", "enter"}},
		{"map", []string{":", "m", "a", "p", "enter"}},
		{"help", []string{"?"}},
		{"plan", []string{":", "d", "l", "q", "enter", "r"}},
	}
	for _, tc := range screens {
		for _, size := range golden.Sizes {
			m := press(t, newModel(t, size[0], size[1], Options{Replayer: &fakeReplayer{}}), tc.keys...)
			got := screenText(m)
			if lines := strings.Count(got, "\n") + 1; lines != size[1] {
				t.Errorf("%s %dx%d: %d lines", tc.name, size[0], size[1], lines)
			}
			golden.Fits(t, tc.name, got, size[0], size[1])
			golden.Equal(t, fmt.Sprintf("%s-%dx%d", tc.name, size[0], size[1]), got)
		}
	}
}

func TestComputeLayout(t *testing.T) {
	for _, tt := range []struct{ w, h, header, body, footer, width int }{
		{80, 24, 3, 19, 2, 80}, {120, 40, 3, 35, 2, 120}, {200, 50, 3, 45, 2, 200}, {40, 10, 1, 8, 1, 40}, {10, 3, 1, 1, 1, 10}, {30, 2, 0, 1, 1, 30}, {1, 1, 0, 1, 0, 1}, {0, 0, 0, 1, 0, 1},
	} {
		t.Run(fmt.Sprintf("%dx%d", tt.w, tt.h), func(t *testing.T) {
			l := computeLayout(tt.w, tt.h)
			if l.header != tt.header || l.body != tt.body || l.footer != tt.footer || l.width != tt.width {
				t.Errorf("%+v", l)
			}
		})
	}
}

func TestKeysFilterOpenBackCommandHelpQuit(t *testing.T) {
	m := newModel(t, 120, 30, Options{})
	m = press(t, m, "/", "0", "0", "1", "2")
	if filterOf(m) != "0012" || !strings.Contains(body(m), "ev-0012") || strings.Contains(body(m), "ev-0013") {
		t.Fatalf("filter %q:\n%s", filterOf(m), body(m))
	}
	m = press(t, m, "enter")
	if m.prompt.active() || filterOf(m) != "0012" {
		t.Fatalf("filter not kept: %q", filterOf(m))
	}
	m = press(t, m, "enter")
	if top(m).ID() != event.ID || !strings.Contains(screenText(m), "CardDeclined") {
		t.Fatalf("event screen: %v\n%s", top(m).ID(), screenText(m))
	}
	m = press(t, m, "esc")
	if top(m).ID() != flows.ID {
		t.Fatalf("esc: %v", top(m).ID())
	}
	m = press(t, m, "esc") // clears the filter
	m = press(t, m, "/", "!", "0", "0", "1", "2", "enter")
	if b := body(m); strings.Contains(b, "ev-0012") || !strings.Contains(b, "ev-0011") {
		t.Errorf("inverted filter:\n%s", b)
	}
	m = press(t, m, ":", "d", "tab")
	if v := m.prompt.in.Value(); v != "dlq" {
		t.Errorf("completion: %q", v)
	}
	m = press(t, m, "enter")
	if top(m).ID() != dlqs.ID || !strings.Contains(screenText(m), "billing-dlq") {
		t.Errorf("command dlq: %v", top(m).ID())
	}
	m = press(t, m, "-")
	if top(m).ID() != flows.ID {
		t.Errorf("- previous: %v", top(m).ID())
	}
	m = press(t, m, "-")
	if top(m).ID() != dlqs.ID {
		t.Errorf("- again: %v", top(m).ID())
	}
	m = press(t, m, ":", "b", "o", "g", "u", "s", "enter")
	if !strings.Contains(screenText(m), `unknown command "bogus"`) {
		t.Errorf("unknown command not reported:\n%s", screenText(m))
	}
	m = press(t, m, "esc", "?")
	if !m.showHelp || !strings.Contains(screenText(m), "S          reverse") {
		t.Errorf("help:\n%s", screenText(m))
	}
	m = press(t, m, "esc", "j", "j", "G", "g", "ctrl+d")
	if _, cmd := m.Update(screentest.Key("q")); cmd == nil || cmd() != tea.Quit() {
		t.Error("q does not quit")
	}
	m2 := newModel(t, 80, 24, Options{})
	if _, cmd := m2.Update(screentest.Key("ctrl+c")); cmd == nil || cmd() != tea.Quit() {
		t.Error("ctrl+c does not quit")
	}
}

func TestSortAndMotion(t *testing.T) {
	m := newModel(t, 100, 20, Options{})
	m = press(t, m, "j", "j", "j")
	if s := top(m).(*flows.Model).Info(); strings.Contains(s, "following") {
		t.Errorf("moving off the top must stop following: %s", s)
	}
	m = press(t, m, "G")
	if !strings.Contains(body(m), "ev-0059") {
		t.Errorf("G did not scroll to the last event:\n%s", body(m))
	}
	m = press(t, m, "g")
	if !strings.Contains(body(m), "ev-0000") || !strings.Contains(screenText(m), "following") {
		t.Errorf("g:\n%s", screenText(m))
	}
	m = press(t, m, "s")
	if !strings.Contains(screenText(m), "sort: start time ▼") {
		t.Errorf("sort:\n%s", screenText(m))
	}
	m = press(t, m, "S")
	if !strings.Contains(screenText(m), "sort: start time ▲") || !strings.Contains(strings.Split(body(m), "\n")[1], "ev-0059") {
		t.Errorf("reverse:\n%s", screenText(m))
	}
	m = press(t, m, ":", "f", "n", "enter", "s")
	if !strings.Contains(screenText(m), "P95 ▼") || !strings.HasPrefix(strings.Split(body(m), "\n")[1], "charge-card") {
		t.Errorf("fn sort:\n%s", screenText(m))
	}
	m = press(t, m, "S")
	if !strings.Contains(screenText(m), "P95 ▲") || !strings.HasPrefix(strings.Split(body(m), "\n")[1], "send-email") {
		t.Errorf("fn reverse:\n%s", screenText(m))
	}
}

func TestActionsConfirmAndReadOnly(t *testing.T) {
	r := &fakeReplayer{}
	m := newModel(t, 120, 30, Options{Replayer: r})
	m = press(t, m, ":", "d", "l", "q", "enter", "enter", "space", "space", "R")
	if m.dlg == nil || m.dlg.state != stateConfirm || !strings.Contains(screenText(m), "redrive selected billing-dlq (2)") || !strings.Contains(screenText(m), "y go ahead") {
		t.Fatalf("no confirmation shown:\n%s", screenText(m))
	}
	m = press(t, m, "n")
	if len(r.executed) != 0 || m.dlg != nil {
		t.Fatalf("n must cancel: %+v", r.executed)
	}
	m = press(t, m, "r", "y")
	if len(r.executed) != 1 || r.executed[0].Kind != ActionRedriveAll || r.executed[0].Queue != "billing-dlq" {
		t.Fatalf("executed %+v", r.executed)
	}
	if !strings.Contains(screenText(m), "redrive all done") {
		t.Errorf("no result:\n%s", screenText(m))
	}
	ro := newModel(t, 120, 30, Options{Replayer: r, ReadOnly: true})
	ro = press(t, ro, ":", "d", "l", "q", "enter", "r")
	if ro.dlg != nil || strings.Contains(screenText(ro), "r redrive all") {
		t.Errorf("read-only must hide r:\n%s", screenText(ro))
	}
	ro = press(t, ro, "enter", "R")
	if ro.dlg != nil {
		t.Errorf("read-only opened a dialog")
	}
	if len(r.executed) != 1 {
		t.Errorf("read-only executed something")
	}
}

// TestPlanningShowsAtOnceThenTheWholePlan: "planning…" before the plan
// arrives; then every line and warning, scrollable, before y.
func TestPlanningShowsAtOnceThenTheWholePlan(t *testing.T) {
	var lines []string
	for i := 0; i < 40; i++ {
		lines = append(lines, fmt.Sprintf("group %02d: 3 messages from billing-queue → billing-queue (DeadLetterQueueSourceArn)", i))
	}
	r := &fakeReplayer{plan: Plan{Summary: "redrive 120 messages", Lines: lines, Warnings: []string{"FIFO: deduplication IDs kept for 5 minutes"}, Count: 120}}
	m := newModel(t, 120, 30, Options{Replayer: r})
	m = press(t, m, ":", "d", "l", "q", "enter")
	_, cmd := m.Update(screentest.Key("r"))
	_, cmd = m.Update(cmd()) // the screen's Ask
	if !strings.Contains(screenText(m), "planning…") {
		t.Fatalf("planning not shown at once:\n%s", screenText(m))
	}
	m = drive(t, m, cmd)
	if !strings.Contains(screenText(m), "group 00") || strings.Contains(screenText(m), "FIFO") {
		t.Fatalf("plan top:\n%s", screenText(m))
	}
	m = press(t, m, "G")
	if !strings.Contains(screenText(m), "group 39") || !strings.Contains(screenText(m), "FIFO: deduplication") {
		t.Fatalf("plan bottom:\n%s", screenText(m))
	}
}

// stepReplayer reports progress one step at a time, when told to.
type stepReplayer struct {
	fakeReplayer
	step chan struct{}
}

func (r *stepReplayer) Execute(ctx context.Context, p Plan, progress func(Progress)) error {
	for i := 1; i <= 4; i++ {
		select {
		case <-r.step:
		case <-ctx.Done():
			return ctx.Err()
		}
		progress(Progress{Done: i * 20, Total: 80, Note: "batch"})
	}
	return nil
}

// TestProgressArrivesWhileRunningAndCancels: progress reaches the model as
// it happens (moved/total, rate, ETA), and esc cancels the action, not the
// program.
func TestProgressArrivesWhileRunningAndCancels(t *testing.T) {
	clock := now
	r := &stepReplayer{step: make(chan struct{})}
	r.plan = Plan{Summary: "redrive 80", Count: 80}
	m := newModel(t, 120, 30, Options{Replayer: r})
	m.opts.Now = func() time.Time { return clock }
	m = press(t, m, ":", "d", "l", "q", "enter", "r")
	_, cmd := m.Update(screentest.Key("y"))
	batch, ok := cmd().(tea.BatchMsg)
	if !ok || len(batch) != 2 {
		t.Fatalf("execute: %T", cmd())
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- batch[0]() }()
	listen := batch[1]
	r.step <- struct{}{}
	clock = clock.Add(2 * time.Second)
	_, listen = m.Update(listen())
	if s := screenText(m); !strings.Contains(s, "20 of 80 moved") || !strings.Contains(s, "10.0/s") || !strings.Contains(s, "ETA 6.0s") {
		t.Fatalf("progress not shown:\n%s", s)
	}
	r.step <- struct{}{}
	_, listen = m.Update(listen())
	if !strings.Contains(screenText(m), "40 of 80 moved") {
		t.Fatalf("second report lost:\n%s", screenText(m))
	}
	_, c := m.Update(screentest.Key("esc"))
	if c != nil {
		if msg := c(); msg == tea.Quit() {
			t.Fatal("esc quit the program")
		}
	}
	m.Update(<-done)
	if m.dlg != nil || !strings.Contains(screenText(m), "redrive all cancelled: 40 of 80 moved") || m.quitting {
		t.Fatalf("cancel:\n%s", screenText(m))
	}
	if msg := listen(); msg != nil {
		t.Fatalf("listener after close: %#v", msg)
	}
}

func TestProgressCountNeverShowsMoreThanTotal(t *testing.T) {
	for _, tt := range []struct {
		p       Progress
		planned int
		want    string
	}{
		{Progress{Done: 85, Total: 43}, 43, "85 moved (the plan's 43 was an estimate)"},
		{Progress{Done: 3, Total: 43}, 43, "3 of 43 moved"},
		{Progress{Done: 3}, 0, "3 moved"},
		{Progress{Done: 50}, 43, "50 moved (the plan's 43 was an estimate)"},
	} {
		if got := progressCount(tt.p, tt.planned); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.p, got, tt.want)
		}
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
	if top(m).ID() != event.ID || !strings.Contains(screenText(m), "no event with ID nope yet") || !strings.Contains(screenText(m), "no history search is available") {
		t.Errorf("%s", screenText(m))
	}
}

// TestTailSearchesHistory: `:tail` of an ID the feed doesn't hold asks the
// Searcher, shows its notes, then opens the event it found.
func TestTailSearchesHistory(t *testing.T) {
	feed := fake.NewFeed()
	s := &fake.Searcher{Feed: feed}
	m := newModel(t, 120, 30, Options{Feed: feed, Searcher: s})
	m = press(t, m, ":")
	m = paste(t, m, "tail old-42")
	_, cmd := m.Update(screentest.Key("enter"))
	// The lookup, then the search and its first note.
	_, cmd = m.Update(cmd())
	batch := cmd().(tea.BatchMsg)
	if !strings.Contains(screenText(m), "searching history for old-42") {
		t.Fatalf("no search shown:\n%s", screenText(m))
	}
	doneMsg := batch[0]()
	_, next := m.Update(batch[1]())
	if !strings.Contains(screenText(m), "searching history for old-42: cwlogs: 3 log groups") {
		t.Fatalf("no note:\n%s", screenText(m))
	}
	_ = next
	_, c := m.Update(doneMsg)
	m = drive(t, m, c)
	if top(m).ID() != event.ID || !strings.Contains(screenText(m), "event old-42") || len(s.Calls) != 1 {
		t.Fatalf("event not opened after the search (%v):\n%s", s.Calls, screenText(m))
	}
	// An ID the feed holds opens at once.
	m = press(t, m, ":", "t", "a", "i", "l", "space", "e", "v", "-", "1", "enter")
	if len(s.Calls) != 1 || !strings.Contains(screenText(m), "event ev-1") {
		t.Fatalf("known ID searched: %v", s.Calls)
	}
}

// TestAmbiguousIDListsEvents: an ID shared by several events (an order_id)
// lists them, and enter on one opens it.
func TestAmbiguousIDListsEvents(t *testing.T) {
	m := press(t, newModel(t, 120, 30, Options{}), ":", "t", "a", "i", "l", "space", "o", "-", "7", "enter")
	text := screenText(m)
	if !strings.Contains(text, "2 of them") || !strings.Contains(text, "ev-new") || !strings.Contains(text, "OrderPlaced") {
		t.Fatalf("%s", text)
	}
	m = press(t, m, "j", "enter")
	if !strings.Contains(screenText(m), "event ev-old") {
		t.Errorf("opened:\n%s", screenText(m))
	}
}

// step delivers one tick at t and the replies it asks for.
func step(t *testing.T, m *Model, at time.Time) *Model {
	_, cmd := m.Update(tickMsg(at))
	return drive(t, m, cmd)
}

// TestTickReadsOnlyWhenSomethingChanged: a tick reads the graph only when its
// Version moved, input arrived or a second passed, and a tick that read
// nothing renders nothing.
func TestTickReadsOnlyWhenSomethingChanged(t *testing.T) {
	feed := fake.NewFeed()
	m := newModel(t, 80, 24, Options{Feed: feed})
	t0 := now
	m = step(t, m, t0) // the first tick reads (a second since the zero time)
	before, frame := feed.Reads, m.View()

	m = step(t, m, t0.Add(100*time.Millisecond))
	m = step(t, m, t0.Add(200*time.Millisecond))
	if feed.Reads != before {
		t.Fatalf("ticks with the same Version read the graph %d times", feed.Reads-before)
	}
	if m.dirty {
		t.Fatalf("an idle tick marked the frame dirty")
	}
	if got := m.View(); got.Content != frame.Content {
		t.Fatalf("an idle tick changed the frame")
	}

	feed.Ver++
	feed.Rows[0].ID = "ev-new-arrival"
	m = step(t, m, t0.Add(300*time.Millisecond))
	if feed.Reads != before+1 {
		t.Fatalf("a new Version: %d reads, want 1", feed.Reads-before)
	}
	if !strings.Contains(screenText(m), "ev-new-arrival") {
		t.Fatalf("the new row is not shown:\n%s", screenText(m))
	}

	m = press(t, m, "j")
	n := feed.Reads
	m = step(t, m, t0.Add(400*time.Millisecond))
	if feed.Reads != n+1 {
		t.Fatalf("input did not make the next tick read")
	}
	m = step(t, m, t0.Add(500*time.Millisecond))
	if feed.Reads != n+1 {
		t.Fatalf("an idle tick after input read again")
	}
	step(t, m, t0.Add(1500*time.Millisecond))
	if feed.Reads != n+2 {
		t.Fatalf("no refresh after a second (reads %d)", feed.Reads-n)
	}
}

// TestFramesAreNotShared: each model keeps its own frame; a change in one
// never shows in, or is hidden by, another (the old cache was shared by
// copies through a global counter).
func TestFramesAreNotShared(t *testing.T) {
	a := newModel(t, 80, 24, Options{})
	b := newModel(t, 80, 24, Options{})
	va, vb := a.View().Content, b.View().Content
	if va != vb {
		t.Fatal("same state, different frames")
	}
	a = press(t, a, ":", "f", "n", "enter")
	if b.View().Content != vb {
		t.Fatal("a change in one model changed another's frame")
	}
	if a.View().Content == va {
		t.Fatal("a changed model kept its old frame")
	}
}

// silence unused imports when a test is trimmed.
var _ = []screen.ID{dlqmsgs.ID, functions.ID, mapview.ID}

// TestCommandsReturnToScreensOnTheStack: `:fn` when functions is already on
// the stack goes back to it, as it was, instead of stacking another.
func TestCommandsReturnToScreensOnTheStack(t *testing.T) {
	m := newModel(t, 120, 30, Options{Feed: fake.NewFeed().Many()})
	m = press(t, m, ":", "f", "n", "enter", "j", "j", ":", "d", "l", "q", "enter", ":", "f", "n", "enter")
	crumb := strings.Split(screenText(m), "\n")[2]
	if !strings.HasPrefix(crumb, "flows › functions ") {
		t.Errorf("crumb %q", crumb)
	}
	if cur := strings.Split(body(m), "\n")[3]; !strings.Contains(m.View().Content, "\x1b[7m"+strings.TrimSpace(cur)[:6]) {
		t.Errorf("cursor not kept on row 2:\n%s", body(m))
	}
	m = press(t, m, "-")
	if top(m).ID() != dlqs.ID {
		t.Errorf("- : %s", top(m).ID())
	}
	m = press(t, m, ":", "f", "l", "o", "w", "s", "enter")
	if len(m.stack) != 1 {
		t.Errorf("stack %d deep after :flows", len(m.stack))
	}
}
