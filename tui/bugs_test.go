package tui

import (
	"strings"
	"testing"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screens/event"
)

// Each test here failed against the console before the screens rewrite
// (tui/model.go at ec06031) and passes now.

// A pasted event ID reaches the prompt (Update had no tea.PasteMsg case).
func TestBugPasteInPrompt(t *testing.T) {
	m := newModel(t, 120, 30, Options{})
	m = press(t, m, ":", "t", "a", "i", "l", "space")
	m = paste(t, m, "ev-0012\n")
	if !strings.Contains(footerLine(m)+screenText(m), ":tail ev-0012") {
		t.Fatalf("pasted text dropped:\n%s", screenText(m))
	}
	m = press(t, m, "enter")
	if top(m).ID() != event.ID || !strings.Contains(screenText(m), "event ev-0012") {
		t.Fatalf("enter after the paste:\n%s", screenText(m))
	}
}

// A paste outside the prompt filters a list, or starts :tail elsewhere.
func TestBugPasteOutsidePrompt(t *testing.T) {
	m := newModel(t, 120, 30, Options{})
	m = paste(t, m, "  ev-0042  ")
	if filterOf(m) != "ev-0042" || !strings.Contains(body(m), "ev-0042") || strings.Contains(body(m), "ev-0041") {
		t.Fatalf("paste on a list: filter %q\n%s", filterOf(m), body(m))
	}
	m = press(t, m, "enter", "enter")
	if top(m).ID() != event.ID {
		t.Fatalf("enter on the pasted row: %v", top(m).ID())
	}
	m = paste(t, m, "ev-0007")
	if v := m.prompt.in.Value(); v != "tail ev-0007" {
		t.Fatalf("paste on the event screen: %q", v)
	}
}

// The functions table scrolls: at 80x24 the selected row stays on screen.
func TestBugFunctionsAndDLQsScroll(t *testing.T) {
	m := newModel(t, 80, 24, Options{Feed: fake.NewFeed().Many()})
	m = press(t, m, ":", "f", "n", "enter")
	for i := 0; i < 40; i++ {
		m = press(t, m, "j")
	}
	if !strings.Contains(body(m), "fn-038-with-a-long-descriptive-name") {
		t.Fatalf("functions: the cursor row went off screen:\n%s", body(m))
	}
	m = press(t, m, ":", "d", "l", "q", "enter", "G")
	if !strings.Contains(body(m), "queue-079") {
		t.Fatalf("dlqs: the last row is not shown after G:\n%s", body(m))
	}
}

// At 120 columns function names are whole (they got 8 cells).
func TestBugFunctionNameWidthAt120(t *testing.T) {
	m := press(t, newModel(t, 120, 30, Options{Feed: fake.NewFeed().Many()}), ":", "f", "n", "enter")
	if !strings.Contains(body(m), "fn-000-with-a-long-descriptive-name ") || !strings.Contains(body(m), "fn-017-with-a-long-descriptive-name ") {
		t.Fatalf("names cut:\n%s", body(m))
	}
}

// At 80 columns flows keep AGE and LATENCY, and :fn keeps COST.
func TestBugColumnsAt80(t *testing.T) {
	m := newModel(t, 80, 24, Options{})
	if s := body(m); !strings.Contains(s, "AGE") || !strings.Contains(s, "LATENCY") || !strings.Contains(s, "STATUS") {
		t.Errorf("flows at 80:\n%s", s)
	}
	m = press(t, m, ":", "f", "n", "enter")
	if s := body(m); !strings.Contains(s, "COST") || !strings.Contains(s, "$0.0004") {
		t.Errorf("fn at 80 lost COST:\n%s", s)
	}
}

// `/` works on :map, :dlq and the DLQ messages.
func TestBugFilterOnMapDLQAndMessages(t *testing.T) {
	m := press(t, newModel(t, 120, 30, Options{}), ":", "d", "l", "q", "enter", "/", "k", "i", "n", "d", ":", "d", "l", "q", "enter")
	if s := body(m); strings.Contains(s, "billing-queue 0") || !strings.Contains(s, "billing-dlq") {
		t.Errorf("/ on dlq:\n%s", s)
	}
	m = press(t, m, "enter", "/", "e", "r", "r", "o", "r", ":", "s", "y", "n", "t", "a", "x", "enter")
	if s := body(m); strings.Contains(s, "m-1") || !strings.Contains(s, "m-2") {
		t.Errorf("/ on dlq messages:\n%s", s)
	}
	m = press(t, m, ":", "m", "a", "p", "enter", "/", "k", "i", "n", "d", ":", "e", "d", "g", "e", "enter")
	if s := body(m); !strings.Contains(s, "→") || strings.Contains(s, "function/charge-card      ") {
		t.Errorf("/ on map:\n%s", s)
	}
}

// esc in the prompt puts the previous filter back; `/` again edits it.
func TestBugEscRestoresFilterAndSlashEdits(t *testing.T) {
	m := press(t, newModel(t, 120, 30, Options{}), "/", "0", "0", "1", "esc")
	if filterOf(m) != "" || !strings.Contains(body(m), "ev-0020") {
		t.Errorf("esc kept typed text %q as the live filter", filterOf(m))
	}
	m = press(t, m, "/", "0", "0", "enter", "/")
	if v := m.prompt.in.Value(); v != "00" {
		t.Errorf("/ again starts from %q, want the current filter", v)
	}
	m = press(t, m, "1", "esc")
	if filterOf(m) != "00" {
		t.Errorf("esc after editing: %q, want the previous 00", filterOf(m))
	}
	m = press(t, m, "/", "backspace", "backspace", "4", "2", "enter")
	if filterOf(m) != "42" {
		t.Errorf("/ again appended: %q", filterOf(m))
	}
}

// The hop kind column leaves a space after "dead-letter".
func TestBugHopKindSpace(t *testing.T) {
	m := press(t, newModel(t, 200, 40, Options{}), "enter")
	s := screenText(m)
	if strings.Contains(s, "dead-letterqueue") || !strings.Contains(s, "dead-letter queue billing-dlq") {
		t.Errorf("kind glued to the name:\n%s", s)
	}
}

// `?` lists enter once on the event screen.
func TestBugHelpEnterOnce(t *testing.T) {
	m := press(t, newModel(t, 120, 40, Options{Replayer: &fakeReplayer{}}), "enter", "?")
	if n := strings.Count(screenText(m), "  enter "); n > 1 {
		t.Errorf("enter listed %d times:\n%s", n, screenText(m))
	}
	m = press(t, newModel(t, 120, 40, Options{}), ":", "t", "a", "i", "l", "space", "o", "-", "7", "enter", "?")
	if n := strings.Count(screenText(m), "  enter "); n != 1 {
		t.Errorf("enter listed %d times on an ambiguous ID:\n%s", n, screenText(m))
	}
}

// A sort flash goes when the screen changes.
func TestBugSortFlashClearedOnSwitch(t *testing.T) {
	m := press(t, newModel(t, 120, 30, Options{}), "s")
	if !strings.Contains(footerLine(m), "sorted by start time") {
		t.Fatalf("no sort flash: %q", footerLine(m))
	}
	m = press(t, m, ":", "f", "n", "enter")
	if strings.Contains(screenText(m), "sorted by start time") {
		t.Errorf("sort flash kept:\n%s", screenText(m))
	}
}

// The DLQ messages footer keeps "? help" at 80 columns.
func TestBugDLQFooterAt80(t *testing.T) {
	m := press(t, newModel(t, 80, 24, Options{Replayer: &fakeReplayer{}}), ":", "d", "l", "q", "enter", "enter")
	if f := footerLine(m); !strings.Contains(f, "? help") || !strings.Contains(f, "q quit") || !strings.Contains(f, "enter body") {
		t.Errorf("footer cut: %q", f)
	}
}

// The DLQ message list keeps its order and the cursor's message while it
// refreshes, so enter opens the message the user saw.
func TestBugDLQMessagesStableUnderCursor(t *testing.T) {
	feed := fake.NewFeed()
	m := press(t, newModel(t, 120, 30, Options{Feed: feed}), ":", "d", "l", "q", "enter", "enter", "j") // on m-3
	before := body(m)
	// A refresh brings a new SyntaxError group bigger than CardDeclined, and
	// the old list reordered by group size.
	feed.Msgs = append([]graph.DLQMessage{
		{MessageID: "m-9", EventID: "ev-9", Error: "SyntaxError", SentAt: fake.Now},
		{MessageID: "m-8", EventID: "ev-8", Error: "SyntaxError", SentAt: fake.Now},
	}, feed.Msgs...)
	feed.Ver++
	m = drive(t, m, m.refresh())
	lines := strings.Split(body(m), "\n")
	if !strings.Contains(lines[1], "m-1") || !strings.Contains(lines[2], "m-3") {
		t.Fatalf("the order moved:\nbefore\n%s\nafter\n%s", before, body(m))
	}
	m = press(t, m, "enter")
	if !strings.Contains(screenText(m), "message m-3") {
		t.Fatalf("enter opened another message:\n%s", screenText(m))
	}
}

// In read-only mode a disabled action answers why instead of doing nothing.
func TestReadOnlySaysWhy(t *testing.T) {
	m := press(t, newModel(t, 120, 30, Options{Replayer: &fakeReplayer{}, ReadOnly: true}), "enter", "r")
	if m.dlg != nil || !strings.Contains(footerLine(m), "read-only: redrive selected is disabled") {
		t.Errorf("%q", footerLine(m))
	}
	if strings.Contains(screenText(m), "r redrive") {
		t.Errorf("read-only shows r:\n%s", screenText(m))
	}
}

// TestPlanSummarySaidOnce: the execution redrive's plan (Summary is its
// Lines[0], as cmd builds replay and redrive plans) showed its first line
// twice in the dialog, and a redrive plan each warning twice.
func TestPlanSummarySaidOnce(t *testing.T) {
	sum := "redrive execution e-1 of state machine fulfilment (FAILED since 2026-12-03T15:20:06Z)"
	warn := "the tasks that failed run again: their functions must be idempotent"
	r := &fakeReplayer{plan: Plan{Summary: sum, Lines: []string{sum, "it failed with CourierUnavailable", "warning: " + warn}, Warnings: []string{warn}, Count: 1}}
	m := newModel(t, 120, 30, Options{Replayer: r})
	m = press(t, m, ":", "d", "l", "q", "enter")
	_, cmd := m.Update(screentest.Key("r"))
	_, cmd = m.Update(cmd())
	m = drive(t, m, cmd)
	text := screenText(m)
	if n := strings.Count(text, "(FAILED since"); n != 1 || !strings.Contains(text, "it failed with CourierUnavailable") {
		t.Errorf("summary shown %d times:\n%s", n, text)
	}
	// cmd's redrive plans list their warnings among their lines too.
	if n := strings.Count(text, "must be idempotent"); n != 1 {
		t.Errorf("warning shown %d times:\n%s", n, text)
	}
}
