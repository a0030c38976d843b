package tracing

import (
	"bytes"
	"encoding/json"
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
		{"bidi \u202eevil", "bidi <U+202E>evil"},
		{"osc52 \x1b]52;c;ZWNobyBwd25lZA==\x07", `osc52 \x1b]52;c;ZWNobyBwd25lZA==\x07`},
		{"clear \x1b[2J\x1b[H", `clear \x1b[2J\x1b[H`},
		{"c1 osc \u009d0;title\u009c", `c1 osc \x9d0;title\x9c`},
		{"ord\u200ber-1", "ord<U+200B>er-1"},
		{"\ufeffid\u2060\u200c\u200d", "<U+FEFF>id<U+2060><U+200C><U+200D>"},
		{"\u200e\u200f\u061c", "<U+200E><U+200F><U+061C>"},
		{"\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069", "<U+202A><U+202B><U+202C><U+202D><U+2066><U+2067><U+2068><U+2069>"},
		{"tag \U000E0041", "tag <U+E0041>"},
		{"sep\u2028x", "sep<U+2028>x"},
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
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || Invisible(r) {
				t.Fatalf("control %U survived in %q", r, out)
			}
		}
		if strings.ContainsRune(out, '\n') {
			t.Fatal("newline survived")
		}
	})
}

func TestEscapeJSON(t *testing.T) {
	t.Parallel()
	hostile := map[string]string{"id": "ord\u200ber-1\u202e\u0085\U000E0041\u2028", "plain": "héllo"}
	raw, err := json.Marshal(hostile)
	if err != nil {
		t.Fatal(err)
	}
	got := EscapeJSON(raw)
	want := `{"id":"ord\u200ber-1\u202e\u0085\udb40\udc41\u2028","plain":"héllo"}`
	if string(got) != want {
		t.Errorf("EscapeJSON:\n got %s\nwant %s", got, want)
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil || back["id"] != hostile["id"] {
		t.Errorf("round trip: %v %q", err, back["id"])
	}
	// Written one byte at a time, characters split across writes come out whole.
	var buf bytes.Buffer
	w := NewJSONWriter(&buf)
	for i := range raw {
		if _, err := w.Write(raw[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if buf.String() != want {
		t.Errorf("byte-wise writer:\n got %s\nwant %s", buf.String(), want)
	}
}

func FuzzEscapeJSON(f *testing.F) {
	f.Add("ord\u200ber\u202e\u0085\x1b]52;c;x\x07")
	f.Fuzz(func(t *testing.T, s string) {
		raw, _ := json.Marshal(s)
		out := EscapeJSON(raw)
		var back, want string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("escaped JSON does not parse: %v", err)
		}
		_ = json.Unmarshal(raw, &want)
		if back != want {
			t.Fatalf("round trip %q != %q", back, want)
		}
		for _, r := range string(out) {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) || Invisible(r) {
				t.Fatalf("%U survived in %s", r, out)
			}
		}
	})
}
