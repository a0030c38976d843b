package graph

import (
	"math"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// Tier is one step of a tiered per-GB-second price: PerGBSecond applies to
// monthly usage up to UpToGBSeconds (0 means no upper bound).
type Tier struct {
	UpToGBSeconds float64
	PerGBSecond   float64
}

// PriceTable is every Lambda price flowtop uses, with where it came from.
// It is a value: override fields to change prices (the CLI's config does).
type PriceTable struct {
	Source string // where the figures were read
	Date   string // when they were read
	// Duration tiers per architecture ("x86_64", "arm64"), counted per account,
	// region and architecture on aggregate monthly GB-seconds.
	X86    []Tier
	ARM    []Tier
	PerReq float64 // USD per request
	// FreeTier subtracts 1M requests and 400,000 GB-s a month from projections.
	// Off by default: most accounts that need flowtop are past it.
	FreeTier bool
}

// DefaultPrices is the us-east-1 on-demand list price, from the corpus's
// pricing/PRICING-NOTES.md ([B1] the Lambda pricing page's tier percentages
// and breakpoints, [B3]/[B4] the amounts), as read for flowtop in 2026-11.
func DefaultPrices() PriceTable {
	return PriceTable{
		Source: "AWS Lambda pricing, us-east-1 on-demand (testdata/corpus/pricing/PRICING-NOTES.md [B1][B3][B4])",
		Date:   "2026-11",
		X86: []Tier{
			{UpToGBSeconds: 6e9, PerGBSecond: 0.0000166667},
			{UpToGBSeconds: 15e9, PerGBSecond: 0.000015},
			{PerGBSecond: 0.0000133334},
		},
		ARM: []Tier{
			{UpToGBSeconds: 7.5e9, PerGBSecond: 0.0000133334},
			{UpToGBSeconds: 18.75e9, PerGBSecond: 0.0000120001},
			{PerGBSecond: 0.0000106667},
		},
		PerReq: 0.20 / 1e6,
	}
}

// WithOverrides returns p with the non-zero first-tier prices replaced. A
// replaced architecture gets a single flat tier: an override is a negotiated
// or regional price, not a tier schedule.
func (p PriceTable) WithOverrides(x86PerGBs, armPerGBs, perMillionRequests float64) PriceTable {
	if x86PerGBs > 0 {
		p.X86 = []Tier{{PerGBSecond: x86PerGBs}}
		p.Source += "; x86_64 overridden by config"
	}
	if armPerGBs > 0 {
		p.ARM = []Tier{{PerGBSecond: armPerGBs}}
		p.Source += "; arm64 overridden by config"
	}
	if perMillionRequests > 0 {
		p.PerReq = perMillionRequests / 1e6
		p.Source += "; requests overridden by config"
	}
	return p
}

func (p PriceTable) tiers(arch string) []Tier {
	if arch == "arm64" {
		return p.ARM
	}
	return p.X86
}

// initBilledFrom is when Lambda started billing the INIT phase of on-demand
// ZIP functions on managed runtimes (AWS Compute blog, see PRICING-NOTES.md).
var initBilledFrom = time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)

// BilledDuration is what an invocation is billed for. The REPORT line's Billed
// Duration is the truth when present: after August 2025 it already includes
// INIT on cold starts, so Init Duration is never added to it. SnapStart's
// Billed Restore Duration is added only when Billed Duration does not already
// include it. Without a Billed Duration, the duration (plus INIT, from August
// 2025) is rounded up to the millisecond.
func BilledDuration(inv *tracing.Invocation, at time.Time) time.Duration {
	ceilMS := func(d time.Duration) time.Duration {
		return time.Duration(math.Ceil(float64(d)/float64(time.Millisecond))) * time.Millisecond
	}
	billed := inv.BilledDuration
	if billed <= 0 {
		billed = inv.Duration
		if inv.InitDuration > 0 && !at.Before(initBilledFrom) {
			billed += inv.InitDuration
		}
		billed = ceilMS(billed)
	}
	if inv.BilledRestoreDuration > 0 && billed < ceilMS(inv.Duration)+inv.BilledRestoreDuration {
		billed += inv.BilledRestoreDuration
	}
	return billed
}

// InvocationCost is one invocation's GB-seconds and cost at the first-tier
// price (tiers apply to monthly aggregates; see [PriceTable.Monthly]).
func (p PriceTable) InvocationCost(inv *tracing.Invocation, memoryMB int, arch string, at time.Time) (gbSeconds, usd float64) {
	if memoryMB <= 0 {
		memoryMB = inv.MemorySizeMB
	}
	gbSeconds = BilledDuration(inv, at).Seconds() * float64(memoryMB) / 1024
	t := p.tiers(arch)
	price := 0.0
	if len(t) > 0 {
		price = t[0].PerGBSecond
	}
	return gbSeconds, gbSeconds*price + p.PerReq
}

// Monthly prices a month's usage through the tiers (and the free tier when on).
func (p PriceTable) Monthly(gbSeconds, requests float64, arch string) float64 {
	if p.FreeTier {
		gbSeconds = math.Max(0, gbSeconds-400_000)
		requests = math.Max(0, requests-1e6)
	}
	usd := requests * p.PerReq
	prev := 0.0
	for _, t := range p.tiers(arch) {
		if gbSeconds <= prev {
			break
		}
		upper := gbSeconds
		if t.UpToGBSeconds > 0 && t.UpToGBSeconds < upper {
			upper = t.UpToGBSeconds
		}
		usd += (upper - prev) * t.PerGBSecond
		prev = upper
	}
	return usd
}
