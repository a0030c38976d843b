//go:build unix

package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
)

// keyProbe is the console as the terminal layer runs it, with the time each
// view first showed a change noted: the moment a key's answer was ready.
type keyProbe struct {
	*Model
	mu      sync.Mutex
	last    string    // the last view's content
	changed time.Time // when a view first differed from the one before
}

func (p *keyProbe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := p.Model.Update(msg)
	return p, cmd
}

func (p *keyProbe) View() tea.View {
	v := p.Model.View()
	p.mu.Lock()
	if v.Content != p.last {
		p.last, p.changed = v.Content, time.Now()
	}
	p.mu.Unlock()
	return v
}

// frameClock is the terminal: it notes when each write began.
type frameClock struct {
	mu     sync.Mutex
	writes []time.Time
}

func (c *frameClock) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, time.Now())
	c.mu.Unlock()
	return len(b), nil
}

// firstAfter is the first write that began after t.
func (c *frameClock) firstAfter(t time.Time) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.writes {
		if w.After(t) {
			return w, true
		}
	}
	return time.Time{}, false
}

// BenchmarkKeyToFrame measures what a user feels: from a key's bytes written
// to the console's input (a pipe read through the same escInput the console
// reads a terminal through, so a lone ESC waits its 10 ms) to the write of
// the frame that shows its answer, through the real terminal layer (Bubble
// Tea's program, renderer and frame ticker at the console's frame rate) at
// 120x40 with 1M events held. The clock is frozen so only keys change the
// screen; a key's answer is the first view that differs from the one before
// it, and its frame the first write after that view. Each round walks the
// screens a user walks (`:fn`, back, down, a filter typed and cleared, an
// event and back, help); the metrics are the median, 95th percentile and
// worst over every key, and the worst esc. Target: every key ≤ 30 ms.
func BenchmarkKeyToFrame(b *testing.B) {
	g := bigGraph(1_000_000)
	for _, fps := range []int{60, frameRate} {
		b.Run(fmt.Sprintf("fps%d", fps), func(b *testing.B) {
			for range b.N {
				keyToFrame(b, g, fps, 5)
			}
		})
	}
}

// runProbe runs the console over g as the terminal layer runs it, at fps,
// 120x40, with a frozen clock: its keys are written to the returned pipe,
// its frames noted by the returned clock. stop ends it (bounded) and is
// also registered as a cleanup. rest, if not zero, is the pacer's resting
// tick.
func runProbe(tb testing.TB, g *graph.Graph, fps int, rest time.Duration) (p *keyProbe, keys *os.File, out *frameClock, stop func()) {
	tb.Helper()
	frozen := time.Now()
	p = &keyProbe{Model: New(Options{Feed: graphFeed{g}, NoColor: true, Title: "probe", Now: func() time.Time { return frozen }})}
	pr, pw, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	out = &frameClock{}
	ctx, cancel := context.WithCancel(context.Background())
	prog := newProgram(ctx, p, p.Model, fps, tea.WithInput(&escInput{File: pr, wait: escWait}),
		tea.WithOutput(out), tea.WithWindowSize(120, 40), tea.WithoutSignalHandler(),
		tea.WithEnvironment([]string{"TERM=xterm-256color"}))
	if rest > 0 {
		p.pace.rest = rest
	}
	done := make(chan error, 1)
	go func() { _, err := prog.Run(); done <- err }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			prog.Quit()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
					tb.Errorf("the console ended with %v", err)
				}
			case <-time.After(5 * time.Second):
				prog.Kill()
			}
			p.pace.stop()
			cancel()
			pw.Close()
			pr.Close()
		})
	}
	tb.Cleanup(stop)
	return p, pw, out, stop
}

func keyToFrame(b *testing.B, g *graph.Graph, fps, rounds int) {
	p, pw, out, stop := runProbe(b, g, fps, 0)
	defer stop()
	// quiet waits until the screen has not changed for a while (the first
	// reads and frames settle), bounded.
	quiet := func() {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			p.mu.Lock()
			since := time.Since(p.changed)
			p.mu.Unlock()
			if since > 80*time.Millisecond {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	quiet()
	type step struct{ name, bytes string }
	filter := []step{{"/", "/"}}
	for _, r := range "0001e24" {
		filter = append(filter, step{"type", string(r)})
	}
	for range len("0001e24") {
		filter = append(filter, step{"backspace", "\x7f"})
	}
	walk := append([]step{{":", ":"}, {"type", "f"}, {"type", "n"}, {"enter", "\r"}, {"esc", "\x1b"}, {"j", "j"}, {"k", "k"}},
		append(filter, step{"esc", "\x1b"}, step{"enter", "\r"}, step{"esc", "\x1b"}, step{"?", "?"}, step{"esc", "\x1b"})...)
	var all, escs []float64
	worst := ""
	for range rounds {
		for _, s := range walk {
			p.mu.Lock()
			before := p.changed
			p.mu.Unlock()
			sent := time.Now()
			if _, err := pw.WriteString(s.bytes); err != nil {
				b.Fatal(err)
			}
			var frame time.Time
			for deadline := sent.Add(5 * time.Second); ; time.Sleep(200 * time.Microsecond) {
				p.mu.Lock()
				changed := p.changed
				p.mu.Unlock()
				if changed != before {
					if w, ok := out.firstAfter(changed); ok {
						frame = w
						break
					}
				}
				if time.Now().After(deadline) {
					b.Fatalf("key %q: no frame showed its answer within 5 s", s.name)
				}
			}
			ms := float64(frame.Sub(sent).Microseconds()) / 1000
			if ms > 30 { // over the target: say where the time went
				p.mu.Lock()
				changed := p.changed
				p.mu.Unlock()
				b.Logf("key %q took %.1f ms: %.1f to its view, %.1f from view to frame", s.name, ms,
					float64(changed.Sub(sent).Microseconds())/1000, float64(frame.Sub(changed).Microseconds())/1000)
			}
			if len(all) == 0 || ms > slices.Max(all) {
				worst = s.name
			}
			all = append(all, ms)
			if s.name == "esc" {
				escs = append(escs, ms)
			}
			quiet()
		}
	}
	// A console left alone: its process CPU over two seconds, in percent
	// of a core (the frame ticker runs at fps; the model ticks ten times a
	// second over a graph that does not change).
	cpu0, wall0 := cpuTime(), time.Now()
	time.Sleep(2 * time.Second)
	b.ReportMetric(100*float64(cpuTime()-cpu0)/float64(time.Since(wall0)), "idle-cpu-%")
	b.Logf("fps %d: worst key %q %.1f ms", fps, worst, all[slices.Index(all, slices.Max(all))])
	slices.Sort(all)
	slices.Sort(escs)
	b.ReportMetric(all[len(all)/2], "key-p50-ms")
	b.ReportMetric(all[len(all)*95/100], "key-p95-ms")
	b.ReportMetric(all[len(all)-1], "key-max-ms")
	b.ReportMetric(escs[len(escs)/2], "esc-p50-ms")
	b.ReportMetric(escs[len(escs)-1], "esc-max-ms")
}
