package logs

import (
	"strings"
	"testing"
)

func TestPattern(t *testing.T) {
	t.Parallel()
	lines := map[string]string{
		"err":    "2026-11-23T10:00:00.000Z\treq-1\tERROR\tCardDeclined: insufficient funds",
		"info":   "2026-11-23T10:00:00.000Z\treq-1\tINFO\tcharging order o-17",
		"warn":   "WARN retrying the card network",
		"exit":   "ERROR Exiting after a fatal error",
		"json":   `{"level":"ERROR","msg":"declined","latency":612,"user":{"id":"u-1"},"items":[{"sku":"A-1"}],"ok":false,"gone":null}`,
		"json2":  `{"level":"INFO","msg":"charged","latency":80,"user":{"id":"u-2"},"ok":true}`,
		"broken": `{"level":"ERROR"`,
		"text":   "2026-11-23T10:00:00.000Z\treq-1\tINFO\t{\"level\":\"INFO\",\"latency\":3}",
	}
	for _, tc := range []struct {
		pattern string
		want    string // the names of the lines it matches, sorted
		err     string
	}{
		{"", "broken err exit info json json2 text warn", ""},
		{"ERROR", "broken err exit json", ""},
		{"error", "exit", ""}, // case-sensitive, as in CloudWatch: only "fatal error"
		{"ERROR Exiting", "exit", ""},
		{"ERROR -Exiting", "broken err json", ""},
		{`"insufficient funds"`, "err", ""},
		{`"funds insufficient"`, "", ""},
		{`-"order o-17" charging`, "", ""},
		{"?WARN ?Exiting", "exit warn", ""},
		{"?WARN ?Exiting -fatal", "warn", ""},
		{"%o-1[0-9]%", "info", ""},
		{`%^WARN%`, "warn", ""},
		{`{ $.level = "ERROR" }`, "json", ""},
		{`{$.level="ERROR"}`, "json", ""},
		{`{ $.level = ERROR }`, "json", ""},
		{`{ $.level != "ERROR" }`, "json2 text", ""},
		{`{ $.latency > 500 }`, "json", ""},
		{`{ $.latency <= 80 }`, "json2 text", ""},
		{`{ $.latency >= 80 && $.latency < 100 }`, "json2", ""},
		{`{ $.user.id = "u-*" }`, "json json2", ""},
		{`{ $.user.id = "u-1" || $.ok IS TRUE }`, "json json2", ""},
		{`{ ($.level = "INFO" || $.latency > 600) && $.ok IS FALSE }`, "json", ""},
		{`{ $.items[0].sku = "A-1" }`, "json", ""},
		{`{ $.gone IS NULL }`, "json", ""},
		{`{ $.gone NOT EXISTS }`, "json2 text", ""},
		{`{ $.msg = %^decl% }`, "json", ""},
		{`{ $.level = "ERROR"`, "", "expected }"},
		{`{ level = "ERROR" }`, "", "expected a selector"},
		{`{ $.latency > "x" }`, "", "takes a number"},
		{`{ $.level = }`, "", "expected a value"},
		{`{ $.a IS MAYBE }`, "", "expected NULL"},
		{`{ $.a = 1 } x`, "", "after }"},
		{`"open phrase`, "", "not closed"},
		{`%unclosed`, "", "not closed"},
		{`%a(%`, "", "bad regex"},
		{`ERROR -`, "", "missing"},
		{`[ip, user]`, "", "not supported"},
		{"{ $.a = \"\x8a*\" }", "", "UTF-8"}, // found by the fuzzer: a wildcard over invalid UTF-8 panicked
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			p, err := ParsePattern(tc.pattern)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, name := range sortedKeys(lines) {
				if p.Match(lines[name]) {
					got = append(got, name)
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("matched %q, want %q", g, tc.want)
			}
			// The canonical form parses back to itself and matches alike.
			q, err := ParsePattern(p.String())
			if err != nil || q.String() != p.String() {
				t.Errorf("round trip: %q -> %q (%v)", p.String(), q.String(), err)
			}
		})
	}
}

func TestPatternNestingIsBounded(t *testing.T) {
	t.Parallel()
	if _, err := ParsePattern("{ " + strings.Repeat("(", 100) + "$.a = 1" + strings.Repeat(")", 100) + " }"); err == nil || !strings.Contains(err.Error(), "deep") {
		t.Errorf("100 parentheses: %v", err)
	}
	if _, err := ParsePattern("{ " + strings.Repeat("(", 10) + "$.a = 1" + strings.Repeat(")", 10) + " }"); err != nil {
		t.Errorf("10 parentheses: %v", err)
	}
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
