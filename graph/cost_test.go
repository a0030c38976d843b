package graph

import (
	"math"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

func msd(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// TestBilledDuration: the worked examples of pricing/PRICING-NOTES.md.
func TestBilledDuration(t *testing.T) {
	t.Parallel()
	after := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	before := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		inv  tracing.Invocation
		at   time.Time
		want time.Duration
	}{
		{"billed includes init (2025+)", tracing.Invocation{Duration: msd(395.99), BilledDuration: msd(662), InitDuration: msd(265.72)}, after, msd(662)},
		{"json init billed", tracing.Invocation{Duration: msd(1233.96), BilledDuration: msd(1698), InitDuration: msd(463.512)}, after, msd(1698)},
		{"2019 100ms rounding kept", tracing.Invocation{Duration: msd(128.83), BilledDuration: msd(200), InitDuration: msd(166.62)}, before, msd(200)},
		{"snapstart billed includes restore", tracing.Invocation{Duration: msd(306.34), BilledDuration: msd(610), RestoreDuration: msd(511.25), BilledRestoreDuration: msd(303)}, after, msd(610)},
		{"snapstart restore added when missing", tracing.Invocation{Duration: msd(306.34), BilledDuration: msd(307), RestoreDuration: msd(511.25), BilledRestoreDuration: msd(303)}, after, msd(610)},
		{"no billed: ceil to 1 ms", tracing.Invocation{Duration: msd(26.2)}, after, msd(27)},
		{"no billed, cold, 2025+: init billed", tracing.Invocation{Duration: msd(100.5), InitDuration: msd(200.2)}, after, msd(301)},
		{"no billed, cold, before: init free", tracing.Invocation{Duration: msd(100.5), InitDuration: msd(200.2)}, before, msd(101)},
	}
	for _, tt := range tests {
		if got := BilledDuration(&tt.inv, tt.at); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestInvocationCostAndMonthly(t *testing.T) {
	t.Parallel()
	p := DefaultPrices()
	inv := tracing.Invocation{Duration: msd(999.2), BilledDuration: msd(1000)}
	gbs, usd := p.InvocationCost(&inv, 1024, "x86_64", time.Now())
	if gbs != 1 || math.Abs(usd-(0.0000166667+0.0000002)) > 1e-12 {
		t.Errorf("x86 1 GB-s: %v GB-s, $%v", gbs, usd)
	}
	_, armUSD := p.InvocationCost(&inv, 1024, "arm64", time.Now())
	if armUSD >= usd {
		t.Errorf("arm64 $%v should be cheaper than x86 $%v", armUSD, usd)
	}
	// Per 1 ms at 128 MB is $0.0000000021 (PRICING-NOTES [B5]).
	ms := tracing.Invocation{BilledDuration: time.Millisecond}
	g, u := p.InvocationCost(&ms, 128, "x86_64", time.Now())
	if math.Abs((u-p.PerReq)-0.0000000021) > 5e-11 || g != 0.000125 { // the notes round to 2 significant digits
		t.Errorf("1 ms at 128 MB: $%v", u-p.PerReq)
	}
	// Tiers: 10B GB-s on x86 = 6B at tier 1 + 4B at tier 2.
	want := 6e9*0.0000166667 + 4e9*0.000015
	if got := p.Monthly(10e9, 0, "x86_64"); math.Abs(got-want) > 1e-3 {
		t.Errorf("monthly tiers: %v, want %v", got, want)
	}
	p.FreeTier = true
	if got := p.Monthly(400_000, 1e6, "arm64"); got != 0 {
		t.Errorf("free tier: %v", got)
	}
	o := DefaultPrices().WithOverrides(0.00001, 0, 0.25)
	if o.X86[0].PerGBSecond != 0.00001 || len(o.X86) != 1 || o.PerReq != 0.25/1e6 || o.ARM[0].PerGBSecond != DefaultPrices().ARM[0].PerGBSecond {
		t.Errorf("overrides: %+v", o)
	}
}
