package graph

import (
	"strings"
	"testing"

	"github.com/flowtop/flowtop/tracing"
)

func TestParseBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"512MiB", 512 << 20, ""},
		{"1GiB", 1 << 30, ""},
		{" 2 g ", 2 << 30, ""},
		{"800MB", 800e6, ""},
		{"1.5GiB", 3 << 29, ""},
		{"67108864", 64 << 20, ""},
		{"1MiB", 0, "below"},
		{"lots", 0, "want a size"},
		{"12TB", 0, "want a size"},
		{"-1GiB", 0, "want a size"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			b, err := ParseBudget(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || b.Total != tc.want {
				t.Fatalf("%d, %v; want %d", b.Total, err, tc.want)
			}
		})
	}
	if b := (Budget{}); b.Bytes() != DefaultBudgetBytes || b.InFlight()+b.Queue()+b.Held() != b.Bytes() || b.String() != "512MiB" {
		t.Errorf("default budget: %d = %d + %d + %d, %s", b.Bytes(), b.InFlight(), b.Queue(), b.Held(), b)
	}
}

func TestObservationBytesGrowsWithContent(t *testing.T) {
	t.Parallel()
	small := tracing.Observation{Source: "otlp", Span: &tracing.Span{Name: "x"}}
	big := tracing.Observation{
		Source: "otlp", Span: &tracing.Span{Name: strings.Repeat("x", 10000), Attrs: map[string]string{"k": "v"}},
		Keys: []tracing.Key{{Value: strings.Repeat("k", 100)}},
	}
	if s, b := ObservationBytes(&small), ObservationBytes(&big); s <= 0 || b < s+10000+100 {
		t.Errorf("small %d, big %d", s, b)
	}
	if BatchBytes(tracing.Batch{small, big}) != ObservationBytes(&small)+ObservationBytes(&big) {
		t.Error("batch bytes are not the sum")
	}
}
