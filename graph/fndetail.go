package graph

import (
	"slices"
	"sort"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// FunctionDetail is one function's detail: its figures, its newest
// invocations in three orders, cold starts, a duration histogram, memory and
// errors by type.
type FunctionDetail struct {
	Stats FunctionStats // as [Graph.Functions] returns it
	Found bool          // the graph knows the function
	// Held is how many reported invocations the lists are drawn from: the
	// function's newest, at most 512.
	Held int
	// Recent, Slowest and Failed list at most 50 held invocations each:
	// newest first, slowest first, newest first.
	Recent, Slowest, Failed []InvocationRow
	// Reported counts the invocations with a REPORT seen since the graph
	// started; the histogram, cold starts and error groups cover them all.
	Reported   uint64
	ColdStarts uint64
	// InitP50 and InitP95 are the cold starts' init (or SnapStart restore)
	// durations, over the held ones and a bounded sample of the older.
	InitP50, InitP95 time.Duration
	Histogram        []DurationBucket // from the fastest non-empty bucket to the slowest
	MemUsedP50       int              // MB, over the held invocations
	MemUsedP95       int
	// CostPerInvocationUSD is the window's cost over its invocations.
	CostPerInvocationUSD float64
	Errors               []ErrorGroup // most frequent first
}

// InvocationRow is one invocation in a function's detail.
type InvocationRow struct {
	RequestID      string
	Start          time.Time
	Duration       time.Duration
	BilledDuration time.Duration
	InitDuration   time.Duration // a cold start's init or restore; 0 when warm
	MemoryUsedMB   int
	MemorySizeMB   int
	Status         tracing.InvocationStatus
	Failed         bool
	ErrorType      string
	CostUSD        float64
	Lines          int // log lines kept for it
}

// DurationBucket counts the invocations whose duration is at most Upper
// (and above the previous bucket's); Upper is 0 for the open last bucket.
type DurationBucket struct {
	Upper time.Duration
	Count uint64
}

// ErrorGroup counts a function's failed invocations of one error type.
type ErrorGroup struct {
	Type      string
	Count     uint64
	Last      time.Time
	RequestID string // the latest one's
}

const detailListLen = 50

// FunctionDetail returns one function's detail. Its cost is bounded by the
// function's ring (512 invocations), not by what the graph holds. With
// several accounts or regions watched, a function of this name in several
// is the first of them in [Graph.Functions]' order (its Stats say where);
// [Graph.FunctionDetailIn] asks for one place.
func (g *Graph) FunctionDetail(name string) FunctionDetail {
	g.mu.RLock()
	defer g.mu.RUnlock()
	k, ok := fnSite{name: name}, false
	for c := range g.fns {
		if c.name == name && (!ok || c.account < k.account || c.account == k.account && c.region < k.region) {
			k, ok = c, true
		}
	}
	for c := range g.logs.fns {
		if c.name == name && (!ok || c.account < k.account || c.account == k.account && c.region < k.region) {
			k, ok = c, true
		}
	}
	return g.functionDetail(k)
}

// FunctionDetailIn returns the detail of the function c names in c's
// account and region, as [Graph.FunctionDetail] does.
func (g *Graph) FunctionDetailIn(c tracing.Component) FunctionDetail {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.functionDetail(fnSite{account: c.Account, region: c.Region, name: c.Name})
}

// functionDetail is k's detail. Called with the read lock held.
func (g *Graph) functionDetail(k fnSite) FunctionDetail {
	var d FunctionDetail
	d.Stats.Name, d.Stats.Account, d.Stats.Region = k.name, k.account, k.region
	if fs := g.functions(func(c fnSite) bool { return c == k }); len(fs) == 1 {
		d.Stats, d.Found = fs[0], true
	}
	if d.Stats.Invocations > 0 {
		d.CostPerInvocationUSD = d.Stats.CostUSD / float64(d.Stats.Invocations)
	}
	ix := g.logs.fns[k]
	if ix == nil {
		return d
	}
	d.Found = true
	rows := make([]InvocationRow, 0, len(ix.ring))
	hist := ix.folded.hist
	inits := slices.Clone(ix.folded.inits)
	errs := map[string]*ErrorGroup{}
	for k, e := range ix.folded.errors {
		cp := *e
		errs[k] = &cp
	}
	d.Reported = ix.folded.count
	d.ColdStarts = ix.folded.cold
	for _, inv := range ix.ring {
		r := inv.inv
		if r == nil {
			continue
		}
		d.Reported++
		row := InvocationRow{
			RequestID: inv.request, Start: inv.start, Duration: r.Duration, BilledDuration: r.BilledDuration,
			InitDuration: initDuration(r), MemoryUsedMB: r.MaxMemoryUsedMB, MemorySizeMB: r.MemorySizeMB, Status: r.Status,
			Failed: inv.failed, CostUSD: inv.costUSD, Lines: len(inv.logs) + inv.logsCut,
		}
		if inv.failed {
			row.ErrorType = errorTypeOf(inv)
			addError(errs, inv)
		}
		if row.InitDuration > 0 {
			inits = append(inits, row.InitDuration)
			d.ColdStarts++
		}
		hist[histBucket(r.Duration)]++
		rows = append(rows, row)
	}
	// A cold start known from a span (faas.coldstart, X-Ray's cold_start)
	// whose REPORT was not read counts as the list counts it; the init
	// durations are the REPORTs' only.
	d.ColdStarts = max(d.ColdStarts, d.Stats.ColdStarts)
	d.Held = len(rows)
	// Newest first.
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Start.After(rows[j].Start) })
	d.Recent = slices.Clone(rows[:min(len(rows), detailListLen)])
	for _, r := range rows {
		if r.Failed && len(d.Failed) < detailListLen {
			d.Failed = append(d.Failed, r)
		}
	}
	mem := make([]int, len(rows))
	for i, r := range rows {
		mem[i] = r.MemoryUsedMB
	}
	slices.Sort(mem)
	d.MemUsedP50, d.MemUsedP95 = pick(mem, 0.50), pick(mem, 0.95)
	slow := slices.Clone(rows)
	sort.SliceStable(slow, func(i, j int) bool { return slow[i].Duration > slow[j].Duration })
	d.Slowest = slow[:min(len(slow), detailListLen)]
	slices.Sort(inits)
	d.InitP50, d.InitP95 = pick(inits, 0.50), pick(inits, 0.95)
	lo, hi := -1, -1
	for i, n := range hist {
		if n > 0 {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	for i := lo; lo >= 0 && i <= hi; i++ {
		b := DurationBucket{Count: hist[i]}
		if i < len(histBounds) {
			b.Upper = histBounds[i]
		}
		d.Histogram = append(d.Histogram, b)
	}
	for _, e := range errs {
		d.Errors = append(d.Errors, *e)
	}
	sort.Slice(d.Errors, func(i, j int) bool {
		if d.Errors[i].Count != d.Errors[j].Count {
			return d.Errors[i].Count > d.Errors[j].Count
		}
		return d.Errors[i].Type < d.Errors[j].Type
	})
	return d
}

// pick returns the q-quantile of sorted values (nearest rank), or zero.
func pick[T int | time.Duration](sorted []T, q float64) T {
	var zero T
	if len(sorted) == 0 {
		return zero
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
