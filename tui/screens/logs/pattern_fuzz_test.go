package logs

import (
	"testing"
)

// FuzzParsePattern: no input panics the parser or the matcher, and a pattern
// that parses prints a canonical form that parses back to itself and
// matches the same lines.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		"ERROR", `"exact phrase"`, "ERROR -Exiting", "?WARN ?ERROR", "%o-1[0-9]%",
		`{ $.level = "ERROR" }`, `{ ($.a > 1 || $.b = "x*") && $.c IS NULL }`, `{ $.items[0].sku NOT EXISTS }`, `{ $.m = %^a% }`, "[ip, user]",
	} {
		f.Add(s, `{"level":"ERROR","a":2,"b":"xy","items":[{"sku":1}]}`)
		f.Add(s, `2026-11-23T10:00:00.000Z	req	INFO	{"level":"\u0045RROR","m":"a","n":1e3}`)
	}
	f.Fuzz(func(t *testing.T, pattern, line string) {
		if len(pattern) > 512 || len(line) > 2048 {
			return
		}
		p, err := ParsePattern(pattern)
		if err != nil {
			return
		}
		hit := p.Match(line)
		if slow := p.match(line, false); slow != hit {
			t.Fatalf("%q on %q: %v with the prefilter, %v without", pattern, line, hit, slow)
		}
		q, err := ParsePattern(p.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", pattern, p.String(), err)
		}
		if q.String() != p.String() {
			t.Fatalf("%q: canonical form %q parses back as %q", pattern, p.String(), q.String())
		}
		if q.Match(line) != hit {
			t.Fatalf("%q and its canonical form %q disagree on %q", pattern, p.String(), line)
		}
	})
}
