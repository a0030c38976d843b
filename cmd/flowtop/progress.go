package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
)

// progressMeter reports a long run (a redrive, a replay) on stderr: a bar
// redrawn in place when stderr is a terminal, and plain lines, at most one
// every plainEvery, when it is not (a log file, CI). Notes always get their
// own line. It is driven by the run's progress callback, from one goroutine.
type progressMeter struct {
	w     io.Writer
	tty   bool
	width int // columns of the terminal; 80 when unknown
	now   func() time.Time
	verb  string // "moved", "replayed"

	start, last time.Time
	drawn       bool // a bar is on the current line
	done, total int
	dups        int
}

// Redraws are throttled: a bar at most every barEvery, a plain line every plainEvery.
const (
	barEvery   = 100 * time.Millisecond
	plainEvery = 2 * time.Second
)

func newProgressMeter(w io.Writer, tty bool, verb string) *progressMeter {
	return &progressMeter{w: w, tty: tty, width: 80, now: time.Now, verb: verb}
}

// update takes one progress report. A report with only a note prints the note.
func (p *progressMeter) update(done, total, dups int, note string) {
	now := p.now()
	if p.start.IsZero() {
		p.start = now
	}
	if note != "" {
		p.clear()
		fmt.Fprintln(p.w, clean(note))
	}
	if total == 0 && done == 0 {
		return
	}
	p.done, p.total, p.dups = done, total, dups
	p.show(now, total > 0 && done >= total, p.bar, p.plain)
}

// updateShare takes one report of a run measured as a share of its whole
// (an archive replay: how far through its window of event time), with its
// state and what it has reached; a terminal state is its last report.
func (p *progressMeter) updateShare(state string, share float64, reached, note string) {
	now := p.now()
	if p.start.IsZero() {
		p.start = now
	}
	if note != "" {
		p.clear()
		fmt.Fprintln(p.w, clean(note))
	}
	share = min(max(share, 0), 1)
	pct := fmt.Sprintf("%3.0f%%", share*100)
	tail := ""
	if reached != "" {
		tail = "  " + reached
	}
	final := share >= 1 || state == "COMPLETED" || state == "CANCELLED" || state == "FAILED"
	p.show(now, final, func(time.Time) string {
		room := min(max(p.width-len(state)-len(pct)-len(tail)-4, 0), 30)
		return clean(fmt.Sprintf("%s [%s%s] %s%s", state, strings.Repeat("#", int(share*float64(room))), strings.Repeat(".", room-int(share*float64(room))), pct, tail))
	}, func(time.Time) string {
		return clean(fmt.Sprintf("%s %s%s", state, strings.TrimSpace(pct), tail))
	})
}

// show draws a report: the bar in place on a terminal, a plain line
// otherwise, each throttled; a final report always shows.
func (p *progressMeter) show(now time.Time, final bool, bar, plain func(time.Time) string) {
	every := plainEvery
	if p.tty {
		every = barEvery
	}
	if !final && !p.last.IsZero() && now.Sub(p.last) < every {
		return
	}
	p.last = now
	if p.tty {
		fmt.Fprint(p.w, "\r"+bar(now)+"\x1b[K")
		p.drawn = true
		return
	}
	fmt.Fprintln(p.w, plain(now))
}

// finish ends the bar's line, so what follows starts on a line of its own.
func (p *progressMeter) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// clear wipes a drawn bar so a note can take the line.
func (p *progressMeter) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// rate is messages per second since the start, and the time left at that rate.
func (p *progressMeter) rate(now time.Time) (perSec float64, eta time.Duration, ok bool) {
	secs := now.Sub(p.start).Seconds()
	if secs <= 0 || p.done == 0 {
		return 0, 0, false
	}
	perSec = float64(p.done) / secs
	if p.total > p.done {
		eta = time.Duration(float64(p.total-p.done) / perSec * float64(time.Second)).Round(time.Second)
	}
	return perSec, eta, true
}

// counts is "412/1000 41% 812/s ETA 1s", with possible duplicates when any.
func (p *progressMeter) counts(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d", p.done, p.total)
	if p.total > 0 {
		fmt.Fprintf(&b, " %3d%%", min(100, p.done*100/p.total))
	}
	if r, eta, ok := p.rate(now); ok {
		fmt.Fprintf(&b, "  %.0f/s", r)
		if eta > 0 {
			fmt.Fprintf(&b, "  ETA %s", eta)
		}
	}
	if p.dups > 0 {
		fmt.Fprintf(&b, "  possible duplicates %d", p.dups)
	}
	return b.String()
}

// bar is "[#######.......] counts", fitted to the terminal's width.
func (p *progressMeter) bar(now time.Time) string {
	counts := p.counts(now)
	room := p.width - len(counts) - 4
	if room < 10 || p.total <= 0 {
		return counts
	}
	room = min(room, 40)
	full := min(room, p.done*room/p.total)
	return "[" + strings.Repeat("#", full) + strings.Repeat(".", room-full) + "] " + counts
}

// plain is one log-friendly line: "moved 412 of 1000 (41%, 812/s, ETA 1s)".
func (p *progressMeter) plain(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d of %d", p.verb, p.done, p.total)
	var extra []string
	if p.total > 0 {
		extra = append(extra, fmt.Sprintf("%d%%", min(100, p.done*100/p.total)))
	}
	if r, eta, ok := p.rate(now); ok {
		extra = append(extra, fmt.Sprintf("%.0f/s", r))
		if eta > 0 {
			extra = append(extra, "ETA "+eta.String())
		}
	}
	if p.dups > 0 {
		extra = append(extra, fmt.Sprintf("possible duplicates %d", p.dups))
	}
	if len(extra) > 0 {
		b.WriteString(" (" + strings.Join(extra, ", ") + ")")
	}
	return b.String()
}

// progressMeter is a meter on the app's stderr: a bar when stderr is a
// terminal, plain lines otherwise.
func (a *app) progressMeter(verb string) *progressMeter {
	m := newProgressMeter(a.stderr, isTerminal(a.stderr), verb)
	if f, ok := a.stderr.(interface{ Fd() uintptr }); ok && m.tty {
		if w, _, err := term.GetSize(f.Fd()); err == nil && w > 0 {
			m.width = w
		}
	}
	return m
}
