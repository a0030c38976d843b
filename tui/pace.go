package tui

import (
	"context"
	"reflect"
	"sync"
	"time"
	"unsafe"

	tea "charm.land/bubbletea/v2"
)

// The terminal layer writes frames on a ticker of fixed rate: every tick it
// compares the view with the last one written and writes only a change.
// Each tick is still a wakeup of the process, and on a virtual machine a
// wakeup costs far more than the comparison (a bare Go program ticking 120
// times a second uses 1.3–1.8 % of a core on our 2-core CI machine; ten
// times a second, 0.2 %). An idle console would spend its whole budget
// waiting for changes that do not come.
//
// The pacer lets the ticker rest while the view stands still and wakes it
// when the view changes:
//
//	resting ──view changed──▶ kicked (ticks every kickDelay for kickSpan: the
//	   ▲                        first flush writes the change at once)
//	   │                              │ settle timer
//	   │                              ▼
//	   └──no change for restAfter── running (ticks at the frame rate, so a
//	                                 burst of changes is written at most
//	                                 frameRate times a second)
//
// Resting, the ticker still ticks every restEvery: a change the pacer did not
// see (none is known) is written within that.
type pacer struct {
	prog  *tea.Program
	frame time.Duration // the frame period at the program's frame rate
	rest  time.Duration // a resting ticker's period: restEvery (tests: longer)

	mu      sync.Mutex
	ticker  *time.Ticker // the terminal layer's; nil: not found, frames at the fixed rate
	found   bool         // the ticker was looked for
	state   paceState
	changed time.Time   // the last change of the view
	settle  *time.Timer // moves kicked → running → resting
	stopped bool
	kicks   int // times a resting ticker was woken (tests)
}

type paceState uint8

const (
	paceRunning paceState = iota // the terminal layer starts its ticker at the frame rate
	paceKicked
	paceResting
)

const (
	kickDelay = time.Millisecond       // from a change seen at rest to its frame
	restEvery = 500 * time.Millisecond // a resting ticker's period
	restAfter = 25 * time.Millisecond  // how long the view stands still before the ticker rests
	// kickSpan is how long a kicked ticker ticks every kickDelay before it
	// runs at the frame rate. The change is seen in View, just before the
	// terminal layer takes the view: on a loaded machine that can come after
	// the first tick, and the frame would wait a whole frame period for the
	// next (a key measured at 26.7 ms, 9.8 of them from view to frame, where
	// 1 was due). Four ticks cover it.
	kickSpan = 4 * kickDelay
)

func newPacer(prog *tea.Program, fps int) *pacer {
	p := &pacer{prog: prog, frame: time.Second / time.Duration(max(fps, 1)), rest: restEvery}
	p.settle = time.AfterFunc(time.Hour, p.onSettle)
	p.settle.Stop()
	return p
}

// frameTicker is the terminal layer's frame ticker. Bubble Tea v2 keeps it
// in an unexported field and offers no way to pause it or flush a frame at
// once, so it is read by name; if a new version renames it, the lookup
// finds nothing and frames keep the fixed rate (TestPacerFindsTheTicker
// fails then, so the change is seen). It is set when the program starts its
// renderer, before it asks the model for its first view, on the goroutine
// that asks for views: read it from View.
func frameTicker(prog *tea.Program) *time.Ticker {
	f := reflect.ValueOf(prog).Elem().FieldByName("ticker")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*time.Ticker]() {
		return nil
	}
	return *(**time.Ticker)(unsafe.Pointer(f.UnsafeAddr())) //nolint:gosec // read only, typed and checked above
}

// viewed is told each view as the program asks for it, with whether it
// differs from the one before. Call it from View only.
func (p *pacer) viewed(changed bool, now time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.found {
		p.found, p.ticker = true, frameTicker(p.prog)
		if p.ticker != nil {
			p.changed = now
			p.settle.Reset(restAfter)
		}
	}
	if p.ticker == nil || p.stopped || !changed {
		return
	}
	p.changed = now
	switch p.state {
	case paceResting:
		p.ticker.Reset(kickDelay)
		p.state = paceKicked
		p.kicks++
		p.settle.Reset(kickSpan)
	case paceRunning:
		p.settle.Reset(restAfter)
	case paceKicked:
		// The kick's tick writes it, or the first frame tick after it.
	}
}

func (p *pacer) onSettle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	switch p.state {
	case paceKicked:
		p.ticker.Reset(p.frame)
		p.state = paceRunning
		p.settle.Reset(restAfter)
	case paceRunning:
		if still := time.Since(p.changed); still < restAfter {
			p.settle.Reset(restAfter - still) // a change came as this timer fired
			return
		}
		p.ticker.Reset(p.rest)
		p.state = paceResting
	case paceResting:
	}
}

// stop ends pacing: the program has ended.
func (p *pacer) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.settle.Stop()
	if p.ticker != nil {
		p.ticker.Stop() // the program's renderer has ended: nothing reads it
	}
}

// newProgram is the console's program over root (the model itself, or a
// wrapper around it in benchmarks), its frames paced by m.
func newProgram(ctx context.Context, root tea.Model, m *Model, fps int, extra ...tea.ProgramOption) *tea.Program {
	prog := tea.NewProgram(root, append(programOptions(ctx, extra...), tea.WithFPS(fps))...)
	m.pace = newPacer(prog, fps)
	return prog
}
