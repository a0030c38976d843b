package tracing

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize neutralises terminal control sequences in text that came from AWS or
// OTLP, so that a log line, message body or ID can't move the cursor, change the
// title, write the clipboard (OSC 52), set colours, clear the screen or ring the
// bell. Every human-readable output (console, text, dot, mermaid, CSV) passes
// outside text through it.
//
// C0 and C1 control characters become visible escapes: ESC is shown as "\x1b",
// so no escape sequence survives; a tab becomes one space and newlines are
// kept only if keepNewlines. Invisible format characters — zero-width spaces
// and joiners (U+200B–U+200D, U+2060, U+FEFF), bidi marks, embeddings,
// overrides and isolates (U+200E, U+200F, U+061C, U+202A–U+202E,
// U+2066–U+2069), tag characters and the rest of Unicode's Cf category — and
// the line and paragraph separators U+2028 and U+2029 become visible as
// "<U+200B>", so that two different IDs never look the same and text cannot
// be reordered on screen. Invalid UTF-8 becomes U+FFFD.
func Sanitize(s string, keepNewlines bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
		case r == '\n' && keepNewlines:
			b.WriteByte('\n')
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			b.WriteString(`\x`)
			b.WriteByte(hexLower[byte(r)>>4])
			b.WriteByte(hexLower[byte(r)&0xf])
		case Invisible(r):
			b.WriteString("<U+")
			writeHex(&b, r, 4)
			b.WriteByte('>')
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

const hexDigits = "0123456789ABCDEF"

// writeHex writes r in upper-case hex, at least digits long.
func writeHex(b *strings.Builder, r rune, digits int) {
	var buf [8]byte
	n := 0
	for v := uint32(r); v > 0 || n < digits; v >>= 4 {
		buf[len(buf)-1-n] = hexDigits[v&0xf]
		n++
	}
	b.Write(buf[len(buf)-n:])
}

// Invisible reports whether r is a character that changes how text around it
// looks or reads without showing itself: Unicode's format characters (Cf:
// zero-width spaces and joiners, bidi controls, tags, the byte-order mark)
// and the line and paragraph separators.
func Invisible(r rune) bool {
	if r < 0xad {
		return false
	}
	return r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r)
}

// EscapeJSON rewrites JSON text so that DEL, C1 controls, invisible format
// characters (see [Invisible]) and U+2028/U+2029 appear as \u escapes rather
// than raw: a terminal or viewer showing the JSON can't be steered by them,
// and two IDs that differ only by a zero-width character look different. The
// meaning of the JSON is unchanged (these characters can only occur inside
// strings, where \u escapes are equivalent). Invalid UTF-8 is left as is;
// encoding/json never writes it.
func EscapeJSON(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < 0x7f {
		i++
	}
	if i == len(b) {
		return b
	}
	var out []byte
	last := 0
	for i < len(b) {
		if b[i] < 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if (r >= 0x7f && r <= 0x9f) || Invisible(r) {
			if out == nil {
				out = make([]byte, 0, len(b)+16)
			}
			out = append(out, b[last:i]...)
			out = appendUEscape(out, r)
			last = i + size
		}
		i += size
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

func appendUEscape(out []byte, r rune) []byte {
	if r > 0xffff {
		r1, r2 := utf16Pair(r)
		return appendUEscape(appendUEscape(out, r1), r2)
	}
	return append(out, '\\', 'u', hexLower[r>>12&0xf], hexLower[r>>8&0xf], hexLower[r>>4&0xf], hexLower[r&0xf])
}

const hexLower = "0123456789abcdef"

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// NewJSONWriter returns a writer that passes JSON text to w through
// [EscapeJSON]. Give it to json.NewEncoder for output that people or
// terminals read. A character split between two writes is held back until
// the next one.
func NewJSONWriter(w io.Writer) io.Writer { return &jsonWriter{w: w} }

type jsonWriter struct {
	w    io.Writer
	tail []byte // an incomplete UTF-8 sequence held from the last write
}

func (j *jsonWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(j.tail) > 0 {
		p = append(j.tail, p...)
		j.tail = nil
	}
	// Hold back a trailing incomplete character.
	cut := len(p)
	for k := len(p) - 1; k >= 0 && k >= len(p)-utf8.UTFMax; k-- {
		if utf8.RuneStart(p[k]) {
			if !utf8.FullRune(p[k:]) {
				cut = k
			}
			break
		}
	}
	if cut < len(p) {
		j.tail = append([]byte(nil), p[cut:]...)
		p = p[:cut]
	}
	if _, err := j.w.Write(EscapeJSON(p)); err != nil {
		return 0, err
	}
	return n, nil
}
