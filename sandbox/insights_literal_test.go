package sandbox

import (
	"regexp"
	"testing"
)

// The literal fast path answers as the regular expression does, and steps
// aside for anything that is not a plain alternation of literals.
func TestLiteralAlternationAgreesWithRegexp(t *testing.T) {
	lines := []string{
		`{"messageId":"0be739de-165a-450e-b977-dd3575fe1cc3","level":"INFO"}`,
		`START RequestId: e44668b8-2799-4053-aa21-c16835784ed8 Version: $LATEST`,
		`a.b+c path/to|x [1] {k} ^$ \ back`,
		`order o-000012 part 1`,
		``,
		`ünïcode ✓ 6b119da115a11991b4de84184609e4a4`,
	}
	for _, pat := range []string{
		`0be739de\-165a`, `e44668b8\-2799|o\-000012`, `a\.b\+c`, `path\/to\|x`, `\[1\] \{k\}`, `\^\$ \\ back`,
		`✓ 6b119da1`, `nomatch|neither`, `INFO`,
	} {
		lits, ok := literalAlternation(pat)
		if !ok {
			t.Errorf("%q: not taken as literals", pat)
			continue
		}
		re := regexp.MustCompile(pat)
		fast := containsAny(lits)
		for _, l := range lines {
			if fast(l) != re.MatchString(l) {
				t.Errorf("%q on %q: literals %v say %v, regexp %v", pat, l, lits, fast(l), re.MatchString(l))
			}
		}
	}
	for _, pat := range []string{`a.b`, `\d+`, `x|`, `|x`, `(a|b)`, `a*`, `^START`, `\`, `\w`, ``} {
		if lits, ok := literalAlternation(pat); ok {
			t.Errorf("%q taken as literals %q", pat, lits)
		}
	}
}
