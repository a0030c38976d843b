package tui

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/golden"
)

// dropsFeed watches two contexts while its sources drop, shed and refuse
// items: every figure the header has competes for 80 columns.
type dropsFeed struct{ *ctxFeed }

func (f dropsFeed) Health() []tracing.SourceHealth {
	return append(f.ctxFeed.Health()[:2:2],
		tracing.SourceHealth{Source: "lambda", State: tracing.SourceStateOK, Mode: "polling"},
		tracing.SourceHealth{Source: "topology", State: tracing.SourceStateOK},
		tracing.SourceHealth{Source: "xray", State: tracing.SourceStateRetrying, RetryIn: 8 * time.Second, Dropped: 7},
		tracing.SourceHealth{Source: "otlp", State: tracing.SourceStateOK, Mode: "listening 127.0.0.1:4318", Senders: 3, Services: 12, Dropped: 1234567, Shed: 8901, Rejected: 2},
		tracing.SourceHealth{Source: "dlq", State: tracing.SourceStateOK, Mode: "polling"},
	)
}

func newDropsModel(t *testing.T, w, h int, narrowed string) *Model {
	t.Helper()
	f := dropsFeed{&ctxFeed{Feed: fake.NewFeed(), narrowed: narrowed}}
	return newModel(t, w, h, Options{Feed: f})
}

// TestHeaderGoldens: the header with two contexts and drops, shed and
// rejections present, at every size; at 80 columns it shortens and folds
// in its stated order (header.go) and keeps every figure that matters.
func TestHeaderGoldens(t *testing.T) {
	for _, size := range golden.Sizes {
		m := newDropsModel(t, size[0], size[1], "prod/eu-west-1")
		got := screenText(m)
		golden.Fits(t, "header-drops", got, size[0], size[1])
		golden.Equal(t, fmt.Sprintf("header-drops-%dx%d", size[0], size[1]), got)
	}
	m := newDropsModel(t, 80, 24, "prod/eu-west-1")
	head := strings.Join(strings.Split(screenText(m), "\n")[:2], "\n")
	for _, want := range []string{
		"12.5 obs/s", "drop 1,234,574", "shed 8,901", "rej 2", // the totals that matter, summed over the sources
		"ctx prod: us-east-1 ✓ [eu-west-1] ✗ AccessDenied", // both contexts, how they are, the narrowed one marked
		"◐ xray retry 8s", // every source that is not fine
		"● 4 ok",          // and the rest, counted
	} {
		if !strings.Contains(head, want) {
			t.Errorf("80 columns: lacks %q:\n%s", want, head)
		}
	}
}

// numberRe finds the numbers in a header; foldRe the counts the header
// makes up itself when it shortens ("● 3 ok", "…+2").
var (
	numberRe = regexp.MustCompile(`[0-9][0-9,.:]*[0-9]|[0-9]`)
	foldRe   = regexp.MustCompile(`● [0-9]+ ok|…\+[0-9]+`)
)

// TestHeaderNeverCutsANumber: at every width from 20 to 200 columns each
// header line fits, and each number on it is one the whole header has
// (never "1,23" of "1,234,567").
func TestHeaderNeverCutsANumber(t *testing.T) {
	for _, narrowed := range []string{"", "prod/eu-west-1"} {
		m := newDropsModel(t, 1000, 40, narrowed)
		full := map[string]bool{}
		for _, line := range m.header()[:2] {
			for _, n := range numberRe.FindAllString(ansi.Strip(line), -1) {
				full[n] = true
			}
		}
		for w := 20; w <= 200; w++ {
			m.lay = computeLayout(w, 40) // the header alone, as View lays it out
			for i, line := range m.header()[:2] {
				line = ansi.Strip(line)
				if ansi.StringWidth(line) > w {
					t.Errorf("width %d, line %d: %d wide: %q", w, i, ansi.StringWidth(line), line)
				}
				for _, n := range numberRe.FindAllString(foldRe.ReplaceAllString(line, ""), -1) {
					if !full[n] {
						t.Errorf("width %d, line %d: %q is cut: %q", w, i, n, line)
					}
				}
			}
		}
	}
}

// TestFitPartsOrder: the stages go in order, and past the last whole items
// go from the end with a count.
func TestFitPartsOrder(t *testing.T) {
	parts := []hpart{
		{text: "AAAA", steps: []hstep{{stageLabels, "A"}}},
		{sep: " ", text: "BBBB", steps: []hstep{{stageModes, "BB"}}},
		{sep: " ", text: "CCCC"},
		{sep: " ", text: "DDDD"},
	}
	for _, tt := range []struct {
		w    int
		want string
		ok   bool
	}{
		{19, "AAAA BBBB CCCC DDDD", true},
		{17, "AAAA BB CCCC DDDD", true},
		{14, "A BB CCCC DDDD", true},
		{13, "A BB CCCC …+1", false},
		{3, "", false},
	} {
		got, ok := fitParts(parts, tt.w)
		if got != tt.want || ok != tt.ok {
			t.Errorf("width %d: %q %v, want %q %v", tt.w, got, ok, tt.want, tt.ok)
		}
	}
}
