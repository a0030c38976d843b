package collectors

import (
	"testing"

	"github.com/flowtop/flowtop/tracing"
)

func TestCarries(t *testing.T) {
	t.Parallel()
	tid, _ := tracing.ParseTraceID("1-5759e988-bd862e3fe1be46a994272793")
	logLine := tracing.Observation{
		Kind: tracing.ObsLog, Log: &tracing.LogRecord{Message: `{"order":"o-1","id":"ev-10"}`},
		Keys: []tracing.Key{{Kind: tracing.KeyRequestID, Value: "req-1"}},
	}
	span := tracing.Observation{Kind: tracing.ObsSpan, Span: &tracing.Span{TraceID: tid, InvocationID: "req-2"}}
	ce := tracing.Observation{Kind: tracing.ObsMessage, Keys: []tracing.Key{tracing.CloudEventKey("orders", "ce-1")}, Message: &tracing.Message{ID: "m-1"}}
	tests := []struct {
		name string
		o    tracing.Observation
		key  tracing.Key
		want bool
	}{
		{"own key, same kind", logLine, tracing.Key{Kind: tracing.KeyRequestID, Value: "req-1"}, true},
		{"own key, other kind", logLine, tracing.Key{Kind: tracing.KeyMessageID, Value: "req-1"}, false},
		{"unknown kind matches any", logLine, tracing.Key{Value: "req-1"}, true},
		{"token in the raw line", logLine, tracing.Key{Kind: tracing.KeyEventID, Value: "ev-10"}, true},
		{"a prefix is not the ID", logLine, tracing.Key{Kind: tracing.KeyEventID, Value: "ev-1"}, false},
		{"span invocation", span, tracing.Key{Kind: tracing.KeyRequestID, Value: "req-2"}, true},
		{"trace in X-Ray form", span, tracing.Key{Kind: tracing.KeyTraceID, Value: "1-5759e988-bd862e3fe1be46a994272793"}, true},
		{"trace in W3C form, unknown kind", span, tracing.Key{Value: tid.String()}, true},
		{"cloudevent id part", ce, tracing.Key{Value: "ce-1"}, true},
		{"message's own ID", ce, tracing.Key{Kind: tracing.KeyMessageID, Value: "m-1"}, true},
		{"nothing", ce, tracing.Key{Value: "zzz"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Carries(&tt.o, []tracing.Key{tt.key}); got != tt.want {
				t.Errorf("Carries(%v) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestTermsAndTokens(t *testing.T) {
	t.Parallel()
	terms := Terms(tracing.Key{Kind: tracing.KeyTraceID, Value: "5759e988bd862e3fe1be46a994272793"})
	if len(terms) != 2 || terms[1] != "1-5759e988-bd862e3fe1be46a994272793" {
		t.Errorf("trace terms %q", terms)
	}
	if got := Terms(tracing.CloudEventKey("src", "id-1")); len(got) != 1 || got[0] != "id-1" {
		t.Errorf("cloudevent terms %q", got)
	}
	for s, want := range map[string]bool{`"abc"`: true, "abcd": false, "xabc": false, "abc": true, "a abc-1 abc": true, "": false} {
		if got := ContainsToken(s, "abc"); got != want {
			t.Errorf("ContainsToken(%q) = %v", s, got)
		}
	}
	if !Followable(tracing.KeyRequestID) || Followable(tracing.KeySpanID) || Followable(tracing.KeyCorrelation) {
		t.Error("Followable")
	}
}
