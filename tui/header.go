package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/tracing"
	ctxscreen "github.com/flowtop/flowtop/tui/screens/ctx"
	"github.com/flowtop/flowtop/tui/widget"
)

// The header is two lines of figures above the breadcrumb: the title and
// totals, then the contexts and the sources' health. When a line is wider
// than the terminal it gives way in stages, one stage at a time until it
// fits, so what matters stays whole (the sources' health, obs/s, the drop,
// shed and rejected counts, the contexts) and no number is ever cut.
//
// The totals line (title, events, obs/s, evicted, unparsed, and dropped,
// shed and rejected summed over the sources):
//  1. counts that are zero go ("evicted 0", "unparsed 0");
//  2. labels shorten ("60 ev", "evict 3", "unp 2", "drop 7", "rej 2");
//  3. the unparsed, evicted and events counts go, in that order;
//  4. the title (what is watched) is cut at a word, down to nothing.
//
// "flowtop", a recording's player status, [read-only], obs/s, dropped, shed
// and rejected stay.
//
// The health line (the contexts, then the sources that belong to none):
//  1. the sources' modes go ("(listening 127.0.0.1:4318)");
//  2. where their items come from goes ("3 senders · 5 services");
//  3. the narrowed hint goes ("(narrowed: :ctx all)");
//  4. labels shorten ("retry 8s", "drop 7", "rej 2", "unp 1");
//  5. the sources that are fine with nothing counted fold into "● 3 ok";
//  6. the profile every context shares is said once ("ctx prod: us-east-1 ✓");
//  7. the sources' own counts go (the totals line sums them), and the
//     sources then fine fold too.
//
// Every context with its mark and reason, and every source that is not
// fine, stay. Past the last stage (a terminal too narrow for them), whole
// items go from the end and "…+N" says how many.
const (
	stageFull = iota
	stageZero
	stageModes
	stageOrigins
	stageHint
	stageLabels
	stageFold
	stageCtxPrefix
	stageCounts
	stageUnparsed
	stageEvicted
	stageEvents
	stageLast = stageEvents
)

// hpart is one item of a header line: its text (styled), the separator
// before it, and what it becomes from a stage on.
type hpart struct {
	sep   string
	text  string
	steps []hstep // in stage order
}

type hstep struct {
	stage int
	text  string // "" when the item goes
}

func (p hpart) at(stage int) string {
	t := p.text
	for _, s := range p.steps {
		if s.stage <= stage {
			t = s.text
		}
	}
	return t
}

// join lays parts out at a stage; an empty item takes its separator with it.
func join(parts []hpart, stage int) string {
	var b strings.Builder
	for _, p := range parts {
		t := p.at(stage)
		if t == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(p.sep)
		}
		b.WriteString(t)
	}
	return b.String()
}

// fitParts lays parts out at the first stage at which they fit in w, and
// whether they fit; past the last stage whole items go from the end, and
// "…+N" counts them.
func fitParts(parts []hpart, w int) (string, bool) {
	for stage := stageFull; stage <= stageLast; stage++ {
		if s := join(parts, stage); ansi.StringWidth(s) <= w {
			return s, true
		}
	}
	shown := make([]hpart, 0, len(parts))
	for _, p := range parts {
		if p.at(stageLast) != "" {
			shown = append(shown, hpart{sep: p.sep, text: p.at(stageLast)})
		}
	}
	for n := len(shown) - 1; n >= 0; n-- {
		more := " …+" + itoa(len(shown)-n)
		if s := join(shown[:n], stageFull) + more; ansi.StringWidth(s) <= w {
			return strings.TrimPrefix(s, " "), false
		}
	}
	return "", false
}

func itoa(n int) string { return widget.Thousands(uint64(max(n, 0))) }

func (m *Model) header() []string {
	if m.lay.header == 0 {
		return nil
	}
	lines := []string{m.totalsLine(m.lay.width)}
	if m.lay.header == 1 {
		return lines
	}
	health, _ := fitParts(m.healthParts(), m.lay.width)
	return append(lines, health, m.crumb())
}

// totalsLine is the title and the totals, fitted to w.
func (m *Model) totalsLine(w int) string {
	st, t := m.st, m.totals
	head := st.Title.Render("flowtop")
	if m.opts.Player != nil {
		head += " " + st.Warn.Render(widget.Clean(m.opts.Player.Status()))
	}
	ro := ""
	if m.opts.ReadOnly {
		ro = " " + st.Warn.Render("[read-only]")
	}
	var dropped, shed, rejected uint64
	for _, h := range m.health {
		dropped += h.Dropped
		shed += h.Shed
		rejected += h.Rejected
	}
	// count is a count with its label, which shortens at stageLabels; a
	// count that may go (goes, a stage) goes at stageZero while it is zero.
	count := func(n uint64, label, short string, first bool, goes int) hpart {
		say := func(l string) string {
			if first {
				return widget.Thousands(n) + " " + l
			}
			return l + " " + widget.Thousands(n)
		}
		p := hpart{sep: " · ", text: say(label), steps: []hstep{{stageLabels, say(short)}}}
		if n == 0 && goes != 0 {
			p.steps = []hstep{{stageZero, ""}}
		}
		if goes != 0 {
			p.steps = append(p.steps, hstep{goes, ""})
		}
		return p
	}
	stats := []hpart{
		count(uint64(max(t.Events, 0)), "events", "ev", true, stageEvents),
		{sep: " · ", text: fmt.Sprintf("%.1f obs/s", t.RatePerSec)},
		count(t.Evicted, "evicted", "evict", false, stageEvicted),
		count(t.Unparsed, "unparsed", "unp", false, stageUnparsed),
	}
	if dropped > 0 {
		stats = append(stats, count(dropped, "dropped", "drop", false, 0))
	}
	if shed > 0 {
		stats = append(stats, count(shed, "shed", "shed", false, 0))
	}
	if rejected > 0 {
		stats = append(stats, count(rejected, "rejected", "rej", false, 0))
	}
	title := widget.Clean(m.opts.Title)
	if title != "" {
		title = " " + title
	}
	fixed := ansi.StringWidth(head) + ansi.StringWidth(ro) + 3 // "   " before the totals
	// The totals give way first, beside the whole title; then the title
	// is cut to the room they leave.
	line, ok := fitParts(stats, max(w-fixed-ansi.StringWidth(title), 0))
	if !ok {
		line = join(stats, stageLast)
		if ansi.StringWidth(line) > w-fixed {
			line, _ = fitParts(stats, max(w-fixed, 0))
		}
		if title != "" {
			title = cutWords(title[1:], w-fixed-ansi.StringWidth(line)-1)
			if title != "" {
				title = " " + title
			}
		}
	}
	return head + title + ro + "   " + line
}

// cutWords cuts s to width w at a space, ending "…"; "" when not even its
// first word fits. A word is never cut, so neither is a number in it.
func cutWords(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	words := strings.Fields(s)
	for n := len(words) - 1; n > 0; n-- {
		if c := strings.Join(words[:n], " ") + " …"; ansi.StringWidth(c) <= w {
			return c
		}
	}
	return ""
}

// healthParts are the health line's items: the contexts, then each source
// that belongs to no context.
func (m *Model) healthParts() []hpart {
	st := m.st
	var parts []hpart
	if len(m.contexts) > 0 {
		parts = append(parts, m.contextParts()...)
	}
	var srcs []hpart
	var fine, okCounted []int // sources that fold at stageFold, and at stageCounts too
	for _, h := range m.health {
		if len(m.contexts) > 0 && strings.Contains(h.Source, "@") {
			continue // a context's own source: its context's mark says it, :ctx lists it
		}
		p := hpart{sep: "  ", text: sourceText(st, h, 0), steps: []hstep{
			{stageModes, sourceText(st, h, 1)},
			{stageOrigins, sourceText(st, h, 2)},
			{stageLabels, sourceText(st, h, 3)},
			{stageCounts, sourceText(st, h, 4)},
		}}
		if h.State == tracing.SourceStateOK {
			if healthCounters(h, false) == "" {
				fine = append(fine, len(srcs))
			} else {
				okCounted = append(okCounted, len(srcs))
			}
		}
		srcs = append(srcs, p)
	}
	// The fine sources fold into one "● N ok" where the first of them was;
	// one alone keeps its name, which is no longer than the fold.
	fold := hpart{sep: "  "}
	for _, f := range []struct {
		stage int
		which []int
	}{{stageFold, fine}, {stageCounts, append(slices.Clone(fine), okCounted...)}} {
		if len(f.which) < 2 {
			continue
		}
		fold.steps = append(fold.steps, hstep{f.stage, st.OK.Render("●") + " " + itoa(len(f.which)) + " ok"})
		for _, i := range f.which {
			srcs[i].steps = append(srcs[i].steps, hstep{f.stage, ""})
			slices.SortStableFunc(srcs[i].steps, func(a, b hstep) int { return a.stage - b.stage })
		}
	}
	at := len(srcs)
	for _, i := range append(slices.Clone(fine), okCounted...) {
		at = min(at, i)
	}
	if len(fold.steps) > 0 {
		srcs = slices.Insert(srcs, at, fold)
	}
	return append(parts, srcs...)
}

// sourceText is one source's health at a level of detail: 0 whole, 1
// without its mode, 2 without where its items come from either, 3 with
// short labels too, 4 without its counts (the totals line sums them).
func sourceText(st widget.Styles, h tracing.SourceHealth, level int) string {
	mark := st.OK.Render("●")
	state := h.State.String()
	switch h.State {
	case tracing.SourceStateRetrying:
		mark = st.Warn.Render("◐")
		state = "retrying"
		if h.RetryIn > 0 {
			state += " in " + h.RetryIn.Round(time.Second).String()
			if level >= 3 {
				state = "retry " + h.RetryIn.Round(time.Second).String()
			}
		}
	case tracing.SourceStateFailed:
		mark = st.Bad.Render("✗")
	case tracing.SourceStateStarting:
		mark = st.Dim.Render("○")
	case tracing.SourceStateDegraded:
		mark = st.Warn.Render("◐")
	}
	s := mark + " " + widget.Clean(h.Source) + " " + state
	if h.Mode != "" && h.State != tracing.SourceStateFailed && level < 1 {
		s += " (" + widget.Clean(h.Mode) + ")"
	}
	if level < 2 {
		s += origins(h)
	}
	if c := healthCounters(h, level >= 3); c != "" && level < 4 {
		s += " " + st.Warn.Render(c)
	}
	return s
}

// counters are the per-source figures the header shows when not zero,
// with their labels in full and short.
var counters = []struct {
	label, short string
	of           func(tracing.SourceHealth) uint64
}{
	{"dropped", "drop", func(h tracing.SourceHealth) uint64 { return h.Dropped }},
	{"shed", "shed", func(h tracing.SourceHealth) uint64 { return h.Shed }},
	{"rejected", "rej", func(h tracing.SourceHealth) uint64 { return h.Rejected }},
	{"unparsed", "unp", func(h tracing.SourceHealth) uint64 { return h.Unparsed }},
}

func healthCounters(h tracing.SourceHealth, short bool) string {
	var parts []string
	for _, c := range counters {
		if n := c.of(h); n > 0 {
			label := c.label
			if short {
				label = c.short
			}
			parts = append(parts, label+" "+widget.Thousands(n))
		}
	}
	return strings.Join(parts, " ")
}

// contextParts are the header's accounts and regions: "ctx 2:
// prod/us-east-1 ✓ prod/eu-west-1 ✗ AccessDenied", the one the views are
// narrowed to in bold, and how to widen them again. From stageCtxPrefix the
// profile all of them share is said once: "ctx prod: us-east-1 ✓ …".
func (m *Model) contextParts() []hpart {
	shared := sharedPrefix(m.contexts)
	head := hpart{sep: "  ", text: "ctx " + itoa(len(m.contexts)) + ":"}
	if shared != "" {
		head.steps = []hstep{{stageCtxPrefix, "ctx " + widget.Clean(strings.TrimSuffix(shared, "/")) + ":"}}
	}
	parts := []hpart{head}
	for _, c := range m.contexts {
		say := func(name string) string {
			name = widget.Clean(name)
			if c.Name == m.narrowed {
				name = m.st.Bold.Render("[" + name + "]")
			}
			return name + " " + ctxscreen.Mark(m.st, c)
		}
		p := hpart{sep: " ", text: say(c.Name)}
		if shared != "" {
			p.steps = []hstep{{stageCtxPrefix, say(strings.TrimPrefix(c.Name, shared))}}
		}
		parts = append(parts, p)
	}
	if m.narrowed != "" {
		parts = append(parts, hpart{sep: " ", text: m.st.Dim.Render("(narrowed: :ctx all)"), steps: []hstep{{stageHint, ""}}})
	}
	return parts
}

// sharedPrefix is the "profile/" every context's name starts with, when
// there are several and each has more after it; "" otherwise.
func sharedPrefix(cs []ctxscreen.Context) string {
	if len(cs) < 2 {
		return ""
	}
	i := strings.IndexByte(cs[0].Name, '/')
	if i <= 0 {
		return ""
	}
	p := cs[0].Name[:i+1]
	for _, c := range cs {
		if !strings.HasPrefix(c.Name, p) || len(c.Name) == len(p) {
			return ""
		}
	}
	return p
}
