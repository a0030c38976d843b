package tracing

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sanitize neutralises terminal control sequences in text that came from AWS or
// OTLP, so that a log line or message body can't move the cursor, change the
// title, set colours or ring the bell. Control characters become visible
// escapes (ESC is shown as "\x1b"; tab is kept as one space and newlines are
// kept only if keepNewlines); invalid UTF-8 becomes U+FFFD. C1 controls
// (U+0080–U+009F), which some terminals obey, are escaped too.
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
			const hexdigits = "0123456789abcdef"
			b.WriteString(`\x`)
			b.WriteByte(hexdigits[byte(r)>>4])
			b.WriteByte(hexdigits[byte(r)&0xf])
		case r == '\u2028' || r == '\u2029' || r == '\u202e' || r == '\u202d' || r == '\u202a' || r == '\u202b' || r == '\u202c' || (r >= '\u2066' && r <= '\u2069'):
			// Line separators and bidi overrides can reorder what the user sees.
			fmt.Fprintf(&b, `\u%x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
