package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

type dialogState uint8

const (
	statePlanning dialogState = iota
	stateConfirm
	stateRunning
)

// dialog is an action from the moment it is asked for until it ends:
// planning, the whole plan waiting for y, then running with progress.
type dialog struct {
	id      uint64
	action  Action
	state   dialogState
	plan    Plan
	vp      viewport.Model
	cancel  context.CancelFunc
	ch      chan Progress
	started time.Time
	last    Progress
	has     bool // last is set
	asked   time.Time
}

// planTimeout bounds planning (it reads queue attributes and peeks).
const planTimeout = 30 * time.Second

type planMsg struct {
	id   uint64
	plan Plan
	err  error
}

type progressMsg struct {
	id uint64
	p  Progress
}

type doneMsg struct {
	id   uint64
	last Progress
	has  bool
	err  error
}

// ask plans an action: "planning…" shows at once, the plan when it comes.
func (m *Model) ask(a Action) tea.Cmd {
	if m.opts.ReadOnly {
		m.say(screen.LevelWarn, "read-only: "+a.Kind.String()+" is disabled (started with --read-only)")
		return nil
	}
	if m.opts.Replayer == nil {
		m.say(screen.LevelWarn, a.Kind.String()+" is not available in this session")
		return nil
	}
	if m.dlg != nil {
		m.say(screen.LevelWarn, "an action is already open")
		return nil
	}
	m.nextID++
	ctx, cancel := context.WithTimeout(m.ctx, planTimeout)
	d := &dialog{id: m.nextID, action: a, cancel: cancel, vp: viewport.New(), asked: m.opts.Now()}
	d.vp.KeyMap.Left.SetEnabled(false)
	d.vp.KeyMap.Right.SetEnabled(false)
	m.dlg = d
	m.sizeDialog()
	r, id := m.opts.Replayer, d.id
	return func() tea.Msg {
		defer cancel()
		p, err := r.Plan(ctx, a)
		return planMsg{id: id, plan: p, err: err}
	}
}

func (m *Model) sizeDialog() {
	if m.dlg != nil {
		m.dlg.vp.SetWidth(m.lay.width)
		m.dlg.vp.SetHeight(max(m.lay.body-3, 1))
	}
}

func (m *Model) onPlan(msg planMsg) tea.Cmd {
	d := m.dlg
	if d == nil || d.id != msg.id || d.state != statePlanning {
		return nil
	}
	if msg.err != nil {
		m.dlg = nil
		if errors.Is(msg.err, context.Canceled) {
			m.say(screen.LevelInfo, "cancelled: nothing was changed")
		} else {
			m.say(screen.LevelError, "cannot plan "+d.action.Kind.String()+": "+msg.err.Error())
		}
		return nil
	}
	d.plan, d.state = msg.plan, stateConfirm
	d.vp.SetContentLines(planLines(m.st, msg.plan))
	return nil
}

// planLines is the whole plan: summary, every line (groups, route), warnings.
func planLines(st widget.Styles, p Plan) []string {
	label := "messages"
	if p.CountLabel != "" {
		label = p.CountLabel
	}
	out := []string{st.Bold.Render(widget.Clean(p.Summary)), fmt.Sprintf("%s: %d", label, p.Count), ""}
	warned := map[string]bool{}
	for _, w := range p.Warnings {
		warned[w] = true
	}
	for i, l := range p.Lines {
		if i == 0 && l == p.Summary {
			continue // the summary is already the first line, in bold
		}
		if w, ok := strings.CutPrefix(l, "warning: "); ok && warned[w] {
			continue // said once, under warnings:
		}
		out = append(out, widget.Clean(l))
	}
	if len(p.Warnings) > 0 {
		out = append(out, "", st.Warn.Render("warnings:"))
		for _, w := range p.Warnings {
			out = append(out, st.Warn.Render("  ! "+widget.Clean(w)))
		}
	}
	return out
}

func (m *Model) dialogKey(k tea.KeyPressMsg) tea.Cmd {
	d := m.dlg
	s := k.String()
	switch d.state {
	case statePlanning:
		if s == "esc" || s == "ctrl+c" || s == "n" || s == "q" {
			d.cancel()
			m.dlg = nil
			m.say(screen.LevelInfo, "cancelled: nothing was changed")
		}
		return nil
	case stateConfirm:
		switch s {
		case "y", "Y":
			return m.execute()
		case "n", "N", "esc", "q", "ctrl+c":
			m.dlg = nil
			m.say(screen.LevelInfo, "cancelled: nothing was changed")
			return nil
		case "g", "home":
			d.vp.GotoTop()
			return nil
		case "G", "end":
			d.vp.GotoBottom()
			return nil
		}
		d.vp, _ = d.vp.Update(k)
		return nil
	case stateRunning:
		if s == "esc" || s == "ctrl+c" {
			d.cancel()
			m.say(screen.LevelWarn, "cancelling "+d.action.Kind.String()+"…")
		}
	}
	return nil
}

// execute runs the confirmed plan under the program's context. Progress goes
// from the Replayer's callback into a channel that a command listens on and
// re-arms after each message, so every report reaches the model.
func (m *Model) execute() tea.Cmd {
	d := m.dlg
	r := m.opts.Replayer
	if r == nil || m.opts.ReadOnly {
		m.dlg = nil
		return nil
	}
	ctx, cancel := context.WithCancel(m.ctx)
	d.state, d.cancel, d.started = stateRunning, cancel, m.opts.Now()
	d.ch = make(chan Progress, 16)
	ch, plan, id := d.ch, d.plan, d.id
	var mu sync.Mutex
	var last Progress
	var has, closed bool
	send := func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		last, has = p, true
		if closed {
			return
		}
		for {
			select {
			case ch <- p:
				return
			default:
				// Full: the listener is behind. Drop the oldest report; the
				// newest says more (Done only grows).
				select {
				case <-ch:
				default:
				}
			}
		}
	}
	run := func() tea.Msg {
		defer cancel()
		err := r.Execute(ctx, plan, send)
		mu.Lock()
		closed = true
		close(ch)
		l, h := last, has
		mu.Unlock()
		return doneMsg{id: id, last: l, has: h, err: err}
	}
	return tea.Batch(run, listen(id, ch))
}

// listen waits for the next progress report.
func listen(id uint64, ch <-chan Progress) tea.Cmd {
	return func() tea.Msg {
		p, ok := <-ch
		if !ok {
			return nil
		}
		return progressMsg{id: id, p: p}
	}
}

func (m *Model) onProgress(msg progressMsg) tea.Cmd {
	d := m.dlg
	if d == nil || d.id != msg.id {
		return nil
	}
	d.last, d.has = msg.p, true
	return listen(d.id, d.ch)
}

func (m *Model) onDone(msg doneMsg) tea.Cmd {
	d := m.dlg
	if d == nil || d.id != msg.id {
		return nil
	}
	if msg.has {
		d.last, d.has = msg.last, true
	}
	m.dlg = nil
	name := d.action.Kind.String()
	count := progressText(d.last, d.plan)
	switch {
	case errors.Is(msg.err, context.Canceled):
		m.say(screen.LevelWarn, fmt.Sprintf("%s cancelled: %s before it stopped", name, count))
	case msg.err != nil:
		m.say(screen.LevelError, fmt.Sprintf("%s failed after %s: %s", name, count, msg.err.Error()))
	default:
		note := ""
		if d.last.Note != "" {
			note = ". " + d.last.Note
		}
		m.say(screen.LevelOK, fmt.Sprintf("%s done: %s%s", name, count, note))
	}
	return m.refresh()
}

// progressCount says how far an action got, never "85 of 43": when more
// moved than the plan counted, the plan's total was an estimate.
func progressCount(p Progress, planned int) string {
	total := p.Total
	if total <= 0 {
		total = planned
	}
	switch {
	case total <= 0:
		return fmt.Sprintf("%d moved", p.Done)
	case p.Done > total:
		return fmt.Sprintf("%d moved (the plan's %d was an estimate)", p.Done, total)
	}
	return fmt.Sprintf("%d of %d moved", p.Done, total)
}

// progressText is progressCount, or the share done when the plan counts
// in percent (an archive replay's window).
func progressText(p Progress, plan Plan) string {
	if plan.Percent {
		return fmt.Sprintf("%d%% of the window replayed", min(max(p.Done, 0), 100))
	}
	return progressCount(p, plan.Count)
}

// rateETA is the rate so far and the time left at that rate.
func rateETA(p Progress, elapsed time.Duration) string {
	if elapsed <= 0 || p.Done <= 0 {
		return "rate —  ETA —"
	}
	rate := float64(p.Done) / elapsed.Seconds()
	eta := "—"
	if p.Total > p.Done && rate > 0 {
		eta = widget.Dur(time.Duration(float64(p.Total-p.Done) / rate * float64(time.Second)))
	} else if p.Total > 0 {
		eta = "0s"
	}
	return fmt.Sprintf("%.1f/s  ETA %s", rate, eta)
}

// dialogView is the body while an action is open.
func (m *Model) dialogView() string {
	d, st, w := m.dlg, m.st, m.lay.width
	what := widget.FirstNonEmpty(d.action.Queue, d.action.EventID)
	if bus, ok := strings.CutPrefix(d.action.Target, "events:"); ok && d.action.Kind == screen.ActionReplayArchive {
		what = "of bus " + bus + " around " + d.action.EventID
	}
	title := st.Bold.Render(d.action.Kind.String()+" "+widget.Clean(what)) + st.Dim.Render(" — plan")
	var lines []string
	switch d.state {
	case statePlanning:
		what := "the queue and its routes"
		if d.action.Kind == screen.ActionReplayArchive {
			what = "the archive and the bus's rules"
		}
		lines = []string{title, "", st.Warn.Render("planning… (reading " + what + "; esc cancels)")}
		return widget.Clip(lines, w, m.lay.body)
	case stateConfirm:
		pos := fmt.Sprintf("lines %d–%d of %d", min(d.vp.YOffset()+1, d.vp.TotalLineCount()), min(d.vp.YOffset()+d.vp.VisibleLineCount(), d.vp.TotalLineCount()), d.vp.TotalLineCount())
		lines = []string{title, st.Warn.Render("y go ahead · n/esc cancel · j/k/pgdn scroll the plan") + st.Dim.Render("  "+pos)}
	case stateRunning:
		p := d.last
		bar := ""
		if p.Total > 0 {
			bw := max(min(w-50, 40), 10)
			fill := min(p.Done*bw/p.Total, bw)
			bar = "[" + strings.Repeat("█", fill) + strings.Repeat("░", bw-fill) + "] "
		}
		status := "running: " + bar + progressText(p, d.plan)
		if !d.plan.Percent {
			status += "  " + rateETA(p, m.opts.Now().Sub(d.started))
		}
		if p.Note != "" {
			status += "  " + widget.Clean(p.Note)
		}
		lines = []string{title, st.Warn.Render(status) + st.Dim.Render("  (esc cancels)")}
	}
	lines = append(lines, "")
	return widget.Clip(lines, w, 3) + "\n" + widget.Clip(strings.Split(d.vp.View(), "\n"), w, max(m.lay.body-3, 0))
}
