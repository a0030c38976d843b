// Package tracing is flowtop's shared vocabulary: trace and span IDs, trace-context
// headers, and the observations that collectors emit and the graph consumes.
//
// It does no I/O and imports no AWS SDK types, so every other package can speak it.
package tracing

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// TraceID is a 128-bit trace identifier. The W3C form is 32 lowercase hex digits;
// the X-Ray form splits the same 16 bytes as 1-<8 hex epoch seconds>-<24 hex>.
// The conversion between the two is exact: the first 4 bytes are the X-Ray epoch.
type TraceID [16]byte

// SpanID is a 64-bit span (X-Ray: segment or subsegment) identifier.
type SpanID [8]byte

// ErrInvalidID reports an identifier that is not well formed.
var ErrInvalidID = errors.New("invalid id")

// IsValid reports whether t is not all zeros.
func (t TraceID) IsValid() bool { return t != TraceID{} }

// IsValid reports whether s is not all zeros.
func (s SpanID) IsValid() bool { return s != SpanID{} }

// String returns the W3C form: 32 lowercase hex digits.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// String returns 16 lowercase hex digits.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// XRay returns the X-Ray form, 1-<8 hex>-<24 hex>.
func (t TraceID) XRay() string {
	h := hex.EncodeToString(t[:])
	return "1-" + h[:8] + "-" + h[8:]
}

// ParseTraceID accepts either the W3C form (32 hex digits) or the X-Ray form
// (1-<8 hex>-<24 hex>), case-insensitively, and rejects the all-zero ID.
func ParseTraceID(s string) (TraceID, error) {
	var t TraceID
	switch {
	case len(s) == 32:
	case len(s) == 35 && s[0] == '1' && s[1] == '-' && s[10] == '-':
		s = s[2:10] + s[11:]
	default:
		return t, fmt.Errorf("tracing: trace id %q: %w: want 32 hex digits or 1-<8 hex>-<24 hex>", clip(s), ErrInvalidID)
	}
	if _, err := hex.Decode(t[:], []byte(strings.ToLower(s))); err != nil {
		return TraceID{}, fmt.Errorf("tracing: trace id %q: %w: not hex", clip(s), ErrInvalidID)
	}
	if !t.IsValid() {
		return TraceID{}, fmt.Errorf("tracing: trace id %q: %w: all zeros", clip(s), ErrInvalidID)
	}
	return t, nil
}

// ParseSpanID accepts 16 hex digits and rejects the all-zero ID.
func ParseSpanID(s string) (SpanID, error) {
	var id SpanID
	if len(s) != 16 {
		return id, fmt.Errorf("tracing: span id %q: %w: want 16 hex digits", clip(s), ErrInvalidID)
	}
	if _, err := hex.Decode(id[:], []byte(strings.ToLower(s))); err != nil {
		return SpanID{}, fmt.Errorf("tracing: span id %q: %w: not hex", clip(s), ErrInvalidID)
	}
	if !id.IsValid() {
		return SpanID{}, fmt.Errorf("tracing: span id %q: %w: all zeros", clip(s), ErrInvalidID)
	}
	return id, nil
}

// clip shortens s for error messages so that hostile input can't flood a screen.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
