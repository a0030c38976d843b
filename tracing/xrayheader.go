package tracing

import (
	"errors"
	"fmt"
	"strings"
)

// Sampled is the X-Ray sampling decision.
type Sampled uint8

// Sampling decisions. SampledRequested is "Sampled=?": the caller asks the
// receiver to decide.
const (
	SampledUnknown Sampled = iota
	SampledNo
	SampledYes
	SampledRequested
)

// KV is one unknown key of a trace header, kept in order for round trips.
type KV struct{ Key, Value string }

// XRayHeader is a parsed X-Amzn-Trace-Id (or SQS AWSTraceHeader) value:
// Root=1-…;Parent=…;Sampled=0|1|?;Lineage=…, keys in any order.
type XRayHeader struct {
	Root    TraceID
	Parent  SpanID // zero when absent
	Sampled Sampled
	Lineage string // kept raw
	Extra   []KV   // unknown keys, in order
}

// ErrBadHeader reports a trace header that can't be used.
var ErrBadHeader = errors.New("bad trace header")

// maxHeader bounds what ParseXRayHeader reads; real headers are under 256 bytes.
const maxHeader = 4096

// ParseXRayHeader parses an X-Ray trace header. Keys are case-insensitive,
// spaces around parts are ignored, a trailing ";" is fine and unknown keys are
// kept. It fails, saying why, when Root is missing or malformed, Parent or
// Sampled is malformed, or a key repeats.
func ParseXRayHeader(s string) (XRayHeader, error) {
	var h XRayHeader
	if len(s) > maxHeader {
		return h, fmt.Errorf("tracing: x-ray header: %w: longer than %d bytes", ErrBadHeader, maxHeader)
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return XRayHeader{}, fmt.Errorf("tracing: x-ray header %q: %w: part %q has no '='", clip(s), ErrBadHeader, clip(part))
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		lk := strings.ToLower(k)
		if seen[lk] {
			return XRayHeader{}, fmt.Errorf("tracing: x-ray header %q: %w: %s appears twice", clip(s), ErrBadHeader, clip(k))
		}
		seen[lk] = true
		switch lk {
		case "root":
			if !strings.HasPrefix(v, "1-") {
				return XRayHeader{}, fmt.Errorf("tracing: x-ray header %q: %w: Root must be 1-<8 hex>-<24 hex>", clip(s), ErrBadHeader)
			}
			t, err := ParseTraceID(v)
			if err != nil {
				return XRayHeader{}, fmt.Errorf("tracing: x-ray header: %w: Root: %w", ErrBadHeader, err)
			}
			h.Root = t
		case "parent":
			id, err := ParseSpanID(v)
			if err != nil {
				return XRayHeader{}, fmt.Errorf("tracing: x-ray header: %w: Parent: %w", ErrBadHeader, err)
			}
			h.Parent = id
		case "sampled":
			switch v {
			case "0":
				h.Sampled = SampledNo
			case "1":
				h.Sampled = SampledYes
			case "?":
				h.Sampled = SampledRequested
			default:
				return XRayHeader{}, fmt.Errorf("tracing: x-ray header %q: %w: Sampled must be 0, 1 or ?", clip(s), ErrBadHeader)
			}
		case "lineage":
			h.Lineage = v
		default:
			h.Extra = append(h.Extra, KV{Key: k, Value: v})
		}
	}
	if !h.Root.IsValid() {
		return XRayHeader{}, fmt.Errorf("tracing: x-ray header %q: %w: no Root", clip(s), ErrBadHeader)
	}
	return h, nil
}

// String returns the canonical header: Root, Parent, Sampled, Lineage, then the
// unknown keys in their original order.
func (h XRayHeader) String() string {
	var b strings.Builder
	b.WriteString("Root=")
	b.WriteString(h.Root.XRay())
	if h.Parent.IsValid() {
		b.WriteString(";Parent=")
		b.WriteString(h.Parent.String())
	}
	switch h.Sampled {
	case SampledNo:
		b.WriteString(";Sampled=0")
	case SampledYes:
		b.WriteString(";Sampled=1")
	case SampledRequested:
		b.WriteString(";Sampled=?")
	}
	if h.Lineage != "" {
		b.WriteString(";Lineage=")
		b.WriteString(h.Lineage)
	}
	for _, kv := range h.Extra {
		b.WriteString(";")
		b.WriteString(kv.Key)
		b.WriteString("=")
		b.WriteString(kv.Value)
	}
	return b.String()
}

// Traceparent is a W3C trace-context traceparent header.
type Traceparent struct {
	Version byte
	TraceID TraceID
	SpanID  SpanID
	Flags   byte // bit 0: sampled
}

// ParseTraceparent parses version-traceid-spanid-flags. Version ff is invalid;
// a future version may carry more fields after the flags, which are ignored
// (as the spec requires); version 00 must have exactly four fields.
func ParseTraceparent(s string) (Traceparent, error) {
	var tp Traceparent
	if len(s) > maxHeader {
		return tp, fmt.Errorf("tracing: traceparent: %w: too long", ErrBadHeader)
	}
	s = strings.TrimSpace(s)
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return tp, fmt.Errorf("tracing: traceparent %q: %w: want 00-<32 hex>-<16 hex>-<2 hex>", clip(s), ErrBadHeader)
	}
	ver, ok := hexByte(s[0:2])
	if !ok || ver == 0xff {
		return tp, fmt.Errorf("tracing: traceparent %q: %w: bad version", clip(s), ErrBadHeader)
	}
	if ver == 0 && len(s) != 55 {
		return tp, fmt.Errorf("tracing: traceparent %q: %w: version 00 has exactly four fields", clip(s), ErrBadHeader)
	}
	if ver > 0 && len(s) > 55 && s[55] != '-' {
		return tp, fmt.Errorf("tracing: traceparent %q: %w: bad field after flags", clip(s), ErrBadHeader)
	}
	for _, part := range []string{s[3:35], s[36:52], s[53:55]} {
		if part != strings.ToLower(part) {
			return tp, fmt.Errorf("tracing: traceparent %q: %w: hex must be lowercase", clip(s), ErrBadHeader)
		}
	}
	t, err := ParseTraceID(s[3:35])
	if err != nil {
		return tp, fmt.Errorf("tracing: traceparent: %w: %w", ErrBadHeader, err)
	}
	id, err := ParseSpanID(s[36:52])
	if err != nil {
		return tp, fmt.Errorf("tracing: traceparent: %w: %w", ErrBadHeader, err)
	}
	flags, ok := hexByte(s[53:55])
	if !ok {
		return tp, fmt.Errorf("tracing: traceparent %q: %w: bad flags", clip(s), ErrBadHeader)
	}
	return Traceparent{Version: ver, TraceID: t, SpanID: id, Flags: flags}, nil
}

// String returns the header form (always version 00).
func (tp Traceparent) String() string {
	const hexdigits = "0123456789abcdef"
	return "00-" + tp.TraceID.String() + "-" + tp.SpanID.String() + "-" + string([]byte{hexdigits[tp.Flags>>4], hexdigits[tp.Flags&0xf]})
}

// Sampled reports the sampled flag.
func (tp Traceparent) Sampled() bool { return tp.Flags&1 == 1 }

// XRayToTraceparent converts an X-Ray header to W3C form. The trace ID bytes are
// the same; "Sampled=1" sets the sampled flag. A header without Parent has no
// span ID to carry, so ok is false.
func XRayToTraceparent(h XRayHeader) (tp Traceparent, ok bool) {
	tp = Traceparent{TraceID: h.Root, SpanID: h.Parent}
	if h.Sampled == SampledYes {
		tp.Flags = 1
	}
	return tp, h.Root.IsValid() && h.Parent.IsValid()
}

// TraceparentToXRay converts a W3C traceparent to an X-Ray header.
func TraceparentToXRay(tp Traceparent) XRayHeader {
	h := XRayHeader{Root: tp.TraceID, Parent: tp.SpanID, Sampled: SampledNo}
	if tp.Sampled() {
		h.Sampled = SampledYes
	}
	return h
}

func hexByte(s string) (byte, bool) {
	var v byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | d
	}
	return v, len(s) == 2
}
