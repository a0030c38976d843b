package tui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/tui/internal/screentest"
)

// archiveReplayer plans an archive replay and reports the share of the
// window replayed, a step at a time.
type archiveReplayer struct {
	fakeReplayer
	step chan struct{}
}

func (r *archiveReplayer) Execute(ctx context.Context, p Plan, progress func(Progress)) error {
	r.mu.Lock()
	r.executed = append(r.executed, p.Impl.(Action))
	r.mu.Unlock()
	for _, pct := range []int{40, 100} {
		select {
		case <-r.step:
		case <-ctx.Done():
			return ctx.Err()
		}
		progress(Progress{Done: pct, Total: 100, Note: "RUNNING"})
	}
	return nil
}

// TestReplayArchiveFromTheEventScreen: A on an event asks to replay its
// bus's archive; the plan names what the count counts, y runs it, and the
// progress reads as a share of the window, not as messages moved.
func TestReplayArchiveFromTheEventScreen(t *testing.T) {
	r := &archiveReplayer{step: make(chan struct{})}
	r.plan = Plan{Summary: "replay archive orders-archive (bus orders)", Lines: []string{"to: every rule"}, Count: 1234, CountLabel: "events in the whole archive", Percent: true}
	m := newModel(t, 120, 30, Options{Replayer: r})
	m = press(t, m, ":", "t", "a", "i", "l", "space", "e", "v", "-", "1", "enter", "A")
	if m.dlg == nil || m.dlg.state != stateConfirm || m.dlg.action.Kind != ActionReplayArchive || m.dlg.action.Target != "events:orders" {
		t.Fatalf("no archive plan:\n%s", screenText(m))
	}
	if s := screenText(m); !strings.Contains(s, "events in the whole archive: 1234") || !strings.Contains(s, "replay archive orders-archive") || !strings.Contains(s, "replay archive of bus orders around ev-1 — plan") {
		t.Fatalf("plan:\n%s", s)
	}
	_, cmd := m.Update(screentest.Key("y"))
	batch, ok := cmd().(tea.BatchMsg)
	if !ok || len(batch) != 2 {
		t.Fatalf("execute: %T", cmd())
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- batch[0]() }()
	listen := batch[1]
	r.step <- struct{}{}
	_, listen = m.Update(listen())
	running := ""
	for _, l := range strings.Split(screenText(m), "\n") {
		if strings.Contains(l, "running:") {
			running = l
		}
	}
	if !strings.Contains(running, "40% of the window replayed") || strings.Contains(running, "moved") || strings.Contains(running, "/s") {
		t.Fatalf("progress %q:\n%s", running, screenText(m))
	}
	r.step <- struct{}{}
	_, _ = m.Update(listen())
	m.Update(<-done)
	if s := screenText(m); m.dlg != nil || !strings.Contains(s, "replay archive done: 100% of the window replayed") {
		t.Fatalf("done:\n%s", s)
	}
}
