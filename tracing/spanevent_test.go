package tracing

import (
	"strings"
	"testing"
	"time"
)

func TestAddEventLimits(t *testing.T) {
	t.Parallel()
	at := time.Unix(1, 0)
	tests := []struct {
		name    string
		prior   int // events already on the span
		ev      SpanEvent
		wantCut int
		check   func(t *testing.T, s *Span)
	}{
		{
			name: "kept whole",
			ev:   SpanEvent{Time: at, Name: "exception", Attrs: map[string]string{"exception.type": "ValueError", "exception.message": "bad"}},
			check: func(t *testing.T, s *Span) {
				if e := s.Events[0]; e.Name != "exception" || e.Attrs["exception.type"] != "ValueError" || !e.Time.Equal(at) {
					t.Errorf("%+v", e)
				}
			},
		},
		{
			name: "long stack trace cut, type kept", wantCut: 1,
			ev: SpanEvent{Name: "exception", Attrs: map[string]string{"exception.type": "E", "exception.stacktrace": strings.Repeat("é", MaxSpanEventValue)}},
			check: func(t *testing.T, s *Span) {
				st := s.Events[0].Attrs["exception.stacktrace"]
				if len(st) > MaxSpanEventValue || !strings.HasPrefix(st, "éé") || strings.ToValidUTF8(st, "?") != st {
					t.Errorf("stacktrace %d bytes", len(st))
				}
				if s.Events[0].Attrs["exception.type"] != "E" {
					t.Error("type lost")
				}
			},
		},
		{name: "past the event count", prior: MaxSpanEvents, ev: SpanEvent{Name: "x"}, wantCut: 1},
		{
			name: "too many attributes", wantCut: 4,
			ev: SpanEvent{Name: "x", Attrs: func() map[string]string {
				m := map[string]string{}
				for i := range MaxSpanEventAttrs + 4 {
					m[string(rune('a'+i))] = "v"
				}
				return m
			}()},
			check: func(t *testing.T, s *Span) {
				if n := len(s.Events[0].Attrs); n != MaxSpanEventAttrs {
					t.Errorf("%d attrs", n)
				}
			},
		},
		{
			name: "span byte budget", prior: 4, wantCut: 1,
			ev: SpanEvent{Name: "x", Attrs: map[string]string{"s": strings.Repeat("a", 100)}},
			check: func(t *testing.T, s *Span) {
				if n := len(s.Events[4].Attrs["s"]); n >= 100 {
					t.Errorf("kept %d bytes past the span's budget", n)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s Span
			for range tt.prior {
				big := strings.Repeat("z", MaxSpanEventValue-10)
				s.Events = append(s.Events, SpanEvent{Name: "p", Attrs: map[string]string{"k": big}})
				if tt.prior == MaxSpanEvents {
					s.Events[len(s.Events)-1].Attrs = nil
				}
			}
			if got := s.AddEvent(tt.ev); got != tt.wantCut {
				t.Errorf("cut %d, want %d", got, tt.wantCut)
			}
			if tt.check != nil {
				tt.check(t, &s)
			}
		})
	}
}
