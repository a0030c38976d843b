package tracing

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"title\x1b]0;pwned\x07", `title\x1b]0;pwned\x07`},
		{"tab\there", "tab here"},
		{"line\nbreak", `line\x0abreak`},
		{"c1 \u009b31m", `c1 \x9b31m`},
		{"bidi \u202eevil", `bidi \u202eevil`},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"héllo wörld ✓", "héllo wörld ✓"},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in, false); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Sanitize("a\nb\x1b", true); got != "a\nb\\x1b" {
		t.Errorf("keepNewlines: %q", got)
	}
}

func FuzzSanitize(f *testing.F) {
	f.Add("\x1b[2J\x1b[H\x07\u009b\u202e\xff")
	f.Fuzz(func(t *testing.T, s string) {
		out := Sanitize(s, false)
		if !utf8.ValidString(out) {
			t.Fatal("invalid UTF-8 out")
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\u202e' {
				t.Fatalf("control %U survived in %q", r, out)
			}
		}
		if strings.ContainsRune(out, '\n') {
			t.Fatal("newline survived")
		}
	})
}
