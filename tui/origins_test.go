package tui

import (
	"strings"
	"testing"

	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
)

type otlpFeed struct{ *fake.Feed }

func (otlpFeed) Health() []tracing.SourceHealth {
	return []tracing.SourceHealth{
		{Source: "otlp", State: tracing.SourceStateOK, Mode: "listening 127.0.0.1:4318", Senders: 3, Services: 5},
		{Source: "dlq", State: tracing.SourceStateOK, Mode: "polling"},
	}
}

// TestHeaderSaysWhereSpansComeFrom: the OTLP source's senders and services
// are on the header's sources line; a source that does not count them says nothing.
func TestHeaderSaysWhereSpansComeFrom(t *testing.T) {
	m := newModel(t, 160, 40, Options{Feed: otlpFeed{fake.NewFeed()}})
	lines := strings.Split(screenText(m), "\n")
	if len(lines) < 2 || !strings.Contains(lines[1], "otlp ok (listening 127.0.0.1:4318) 3 senders · 5 services") || strings.Count(lines[1], "senders") != 1 {
		t.Fatalf("header:\n%s", strings.Join(lines[:min(3, len(lines))], "\n"))
	}
	for _, tc := range []struct {
		h    tracing.SourceHealth
		want string
	}{
		{tracing.SourceHealth{Senders: 1, Services: 1}, " 1 sender · 1 service"},
		{tracing.SourceHealth{Senders: tracing.MaxOrigins, Services: 2}, " 1024+ senders · 2 services"},
		{tracing.SourceHealth{}, ""},
	} {
		if got := origins(tc.h); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.h, got, tc.want)
		}
	}
}
