package widget

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/tracing"
)

// Clean neutralises control sequences in text from AWS or OTLP.
func Clean(s string) string { return tracing.Sanitize(s, false) }

// Fit pads or truncates s (which may hold ANSI styles) to exactly w cells.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if sw := ansi.StringWidth(s); sw > w {
		return ansi.Truncate(s, w, "…")
	} else if sw < w {
		return s + strings.Repeat(" ", w-sw)
	}
	return s
}

// Age says how long before now t was, in one short unit ("-" for zero).
func Age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// Dur formats a duration briefly ("-" for none).
func Dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// Thousands formats n with thousands separators.
func Thousands[T ~int | ~int64 | ~uint64](n T) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

var sparks = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws the last n values as a bar per value.
func Sparkline(vals []float64, n int) string {
	if n <= 0 {
		return ""
	}
	if len(vals) > n {
		vals = vals[len(vals)-n:]
	}
	hi := 0.0
	for _, v := range vals {
		hi = max(hi, v)
	}
	var b strings.Builder
	for _, v := range vals {
		i := 0
		if hi > 0 {
			i = int(v / hi * float64(len(sparks)-1))
		}
		b.WriteRune(sparks[min(max(i, 0), len(sparks)-1)])
	}
	return b.String()
}

// PrettyBody indents a JSON body, or keeps text, as sanitised lines; with
// maxLines > 0 it stops there and says how many lines are left.
func PrettyBody(body string, maxLines int) []string {
	// Indent, not decode and encode again: the body keeps its keys' order,
	// its numbers' digits (float64 rounds big IDs) and its "&", "<" and ">"
	// (the encoder writes \u0026), so what is shown, and replayed after an
	// edit, is what was sent.
	text := body
	var b bytes.Buffer
	if json.Indent(&b, []byte(strings.TrimSpace(body)), "", "  ") == nil {
		text = b.String()
	}
	lines := strings.Split(tracing.Sanitize(text, true), "\n")
	if maxLines > 0 && len(lines) > maxLines {
		lines = append(lines[:maxLines], fmt.Sprintf("… %d more lines", len(lines)-maxLines))
	}
	return lines
}

// FirstNonEmpty returns a unless it is empty, else b.
func FirstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Clip keeps at most h lines of lines, each fitted to w cells, padding with
// blank lines to exactly h.
func Clip(lines []string, w, h int) string {
	var b strings.Builder
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(Fit(lines[i], w))
		} else {
			b.WriteString(strings.Repeat(" ", max(w, 0)))
		}
	}
	return b.String()
}
