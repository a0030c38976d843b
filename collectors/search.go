package collectors

import (
	"context"
	"strings"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// Searcher finds the history records that carry some keys: the history-search
// contract beside the live [Source] contract. The engine asks every searcher
// for an event's keys, learns new keys from the answers and asks again.
//
// Search returns the records seen in [from, to] that carry at least one of
// keys. A server-side filter is an optimisation, never a guarantee: every
// record returned has been checked with [Carries]. A key of kind
// [tracing.KeyUnknown] is a user's ID of unknown kind and matches a key of any
// kind with that value. Search honours ctx and bounds its own work; when it
// fails part way it returns what it found so far together with the error, and
// an error that says which source failed and why (wrapped with %w). Searchers
// are safe for concurrent use with the live Run of the same source.
type Searcher interface {
	// Name is the source's short name, as in [Source.Name].
	Name() string
	Search(ctx context.Context, keys []tracing.Key, from, to time.Time) (tracing.Batch, error)
}

// Followable reports whether a key of this kind names something a searcher
// can look for in history (an event, a message, an invocation or a trace),
// and so whether the history search follows it. Span, log event and
// correlation keys are not followed: spans are found through their traces,
// and a correlation value is shared by many events.
func Followable(k tracing.KeyKind) bool {
	switch k {
	case tracing.KeyUnknown, tracing.KeyEventID, tracing.KeyCloudEventID, tracing.KeyMessageID,
		tracing.KeySNSMessageID, tracing.KeyRequestID, tracing.KeyTraceID, tracing.KeyKinesisRecord:
		return true
	}
	return false
}

// Terms are the texts a key appears as in raw records: its value, the id part
// of a CloudEvents key, and both forms of a trace ID (W3C and X-Ray).
func Terms(k tracing.Key) []string {
	v := strings.TrimSpace(k.Value)
	if v == "" {
		return nil
	}
	switch k.Kind {
	case tracing.KeyCloudEventID:
		if _, id, ok := strings.Cut(v, "\n"); ok && id != "" {
			return []string{id}
		}
	case tracing.KeyCorrelation:
		if _, val, ok := strings.Cut(v, "="); ok && val != "" {
			return []string{val}
		}
	case tracing.KeyKinesisRecord:
		if _, _, seq, ok := tracing.SplitKinesisKey(v); ok {
			return []string{seq} // logs name the sequence number, not flowtop's key
		}
	case tracing.KeyTraceID, tracing.KeyUnknown:
		if _, _, seq, ok := tracing.SplitKinesisKey(v); ok && k.Kind == tracing.KeyUnknown {
			return []string{seq}
		}
		if t, err := tracing.ParseTraceID(v); err == nil {
			if w, x := t.String(), t.XRay(); v != w && v != x {
				return []string{v, w, x}
			}
			return []string{t.String(), t.XRay()}
		}
	}
	return []string{v}
}

// KeyMatches reports whether have (a key a record carries) is want (a key
// asked for). A want of kind [tracing.KeyUnknown] matches any kind with the
// same value, the id part of a CloudEvents key, and a trace ID in either form.
func KeyMatches(have, want tracing.Key) bool {
	if have.Value == "" || want.Value == "" {
		return false
	}
	if want.Kind != tracing.KeyUnknown {
		if have.Kind != want.Kind {
			return false
		}
		if have.Value == want.Value {
			return true
		}
		if have.Kind == tracing.KeyTraceID {
			return sameTrace(have.Value, want.Value)
		}
		return false
	}
	if have.Value == want.Value {
		return true
	}
	switch have.Kind {
	case tracing.KeyCloudEventID:
		_, id, ok := strings.Cut(have.Value, "\n")
		return ok && id == want.Value
	case tracing.KeyTraceID:
		return sameTrace(have.Value, want.Value)
	case tracing.KeyKinesisRecord:
		_, _, seq, ok := tracing.SplitKinesisKey(have.Value)
		return ok && seq == want.Value
	}
	return false
}

func sameTrace(a, b string) bool {
	ta, err1 := tracing.ParseTraceID(a)
	tb, err2 := tracing.ParseTraceID(b)
	return err1 == nil && err2 == nil && ta == tb
}

// Carried lists the keys a record carries: its own keys, both ends of its
// relations, and the IDs inside its payload (a span's trace, invocation and
// message IDs; a log line's or invocation's request and trace IDs; a
// message's ID).
func Carried(o *tracing.Observation) []tracing.Key {
	out := append([]tracing.Key(nil), o.Keys...)
	for _, r := range o.Relations {
		out = append(out, r.From, r.To)
	}
	if sp := o.Span; sp != nil {
		if sp.TraceID.IsValid() {
			out = append(out, tracing.Key{Kind: tracing.KeyTraceID, Value: sp.TraceID.String()})
		}
		if sp.InvocationID != "" {
			out = append(out, tracing.Key{Kind: tracing.KeyRequestID, Value: sp.InvocationID})
		}
		if sp.Messaging.MessageID != "" {
			out = append(out, tracing.Key{Kind: tracing.KeyMessageID, Value: sp.Messaging.MessageID})
		}
	}
	if inv := o.Invocation; inv != nil {
		if inv.RequestID != "" {
			out = append(out, tracing.Key{Kind: tracing.KeyRequestID, Value: inv.RequestID})
		}
		if inv.TraceID.IsValid() {
			out = append(out, tracing.Key{Kind: tracing.KeyTraceID, Value: inv.TraceID.String()})
		}
	}
	if m := o.Message; m != nil && m.ID != "" {
		out = append(out, tracing.Key{Kind: tracing.KeyMessageID, Value: m.ID})
	}
	return out
}

// Carries reports whether a record really carries one of keys: one of its
// [Carried] keys matches, or (for a log line) one of the keys' [Terms] stands
// in its raw text as a whole token, not as part of a longer ID.
func Carries(o *tracing.Observation, keys []tracing.Key) bool {
	have := Carried(o)
	for _, want := range keys {
		for _, h := range have {
			if KeyMatches(h, want) {
				return true
			}
		}
	}
	if o.Log != nil {
		for _, want := range keys {
			for _, term := range Terms(want) {
				if ContainsToken(o.Log.Message, term) {
					return true
				}
			}
		}
	}
	return false
}

// KeepCarrying filters b in place to the records that carry one of keys.
func KeepCarrying(b tracing.Batch, keys []tracing.Key) tracing.Batch {
	out := b[:0]
	for i := range b {
		if Carries(&b[i], keys) {
			out = append(out, b[i])
		}
	}
	clear(b[len(out):])
	return out
}

// ContainsToken reports whether term occurs in s with no ID character (a
// letter, digit, '-' or '_') directly before or after it, so that "abc" is
// found in `"id":"abc"` but not in "abcd".
func ContainsToken(s, term string) bool {
	if term == "" {
		return false
	}
	for from := 0; from <= len(s)-len(term); {
		i := strings.Index(s[from:], term)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(term)
		if (i == 0 || !idChar(s[i-1])) && (end == len(s) || !idChar(s[end])) {
			return true
		}
		from = i + 1
	}
	return false
}

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
