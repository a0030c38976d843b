package graph

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

const placeAccount = "123456789012"

// regionLogs is one invocation of fn in region, from its log group as a
// context's collector stamps it: START, END and REPORT, failed or not.
func regionLogs(fn, region, req string, at time.Time, failed bool) tracing.Batch {
	status := ""
	if failed {
		status = "\tStatus: error\tError Type: CardDeclined"
	}
	var b tracing.Batch
	for j, l := range []string{
		"START RequestId: " + req + " Version: $LATEST",
		"END RequestId: " + req,
		"REPORT RequestId: " + req + "\tDuration: 120.50 ms\tBilled Duration: 121 ms\tMemory Size: 128 MB\tMax Memory Used: 80 MB" + status,
	} {
		o := tracing.ParseLambdaLog(tracing.LogInput{Group: "/aws/lambda/" + fn, Stream: "s", Time: at.Add(time.Duration(j) * time.Millisecond), Message: l}, tracing.LogOptions{})
		o.Source = "cwlogs@" + region
		if region != "" {
			o.Component.Account, o.Component.Region = placeAccount, region
		}
		b = append(b, o)
	}
	return b
}

func placedConfig(fn, region string, memMB int) tracing.Observation {
	c := tracing.Component{Kind: tracing.ComponentFunction, Name: fn}
	if region != "" {
		c.Account, c.Region = placeAccount, region
	}
	return tracing.Observation{
		Kind: tracing.ObsFunction, Source: "lambda", Time: t0, Component: c,
		Function: &tracing.FunctionConfig{Name: fn, MemoryMB: memMB, Architecture: "x86_64"},
	}
}

// charge-card runs in us-east-1 (512 MB, 3 invocations, 1 failed) and in
// eu-west-1 (1024 MB, 2 invocations, both failed): two rows, each with its
// own figures and configuration, and together what was ingested.
func TestFunctionInTwoRegions(t *testing.T) {
	g := newTestGraph(1000)
	b := tracing.Batch{placedConfig("charge-card", "us-east-1", 512), placedConfig("charge-card", "eu-west-1", 1024)}
	for i, failed := range []bool{false, true, false} {
		b = append(b, regionLogs("charge-card", "us-east-1", fmt.Sprintf("00000000-0000-4000-8000-%012d", i), t0.Add(time.Duration(i)*time.Second), failed)...)
	}
	for i := range 2 {
		b = append(b, regionLogs("charge-card", "eu-west-1", fmt.Sprintf("11111111-0000-4000-8000-%012d", i), t0.Add(time.Duration(i)*time.Second), true)...)
	}
	g.Ingest(b)

	fns := g.Functions()
	if len(fns) != 2 {
		t.Fatalf("%d rows, want one per region: %+v", len(fns), fns)
	}
	eu, us := fns[0], fns[1]
	if eu.Region != "eu-west-1" || us.Region != "us-east-1" || eu.Account != placeAccount || us.Account != placeAccount || eu.Name != "charge-card" || us.Name != "charge-card" {
		t.Fatalf("rows not placed: %+v / %+v", eu, us)
	}
	// Billed 121 ms at each region's configured memory (not the REPORT's 128 MB).
	gbs := func(memMB int) float64 { return 0.121 * float64(memMB) / 1024 }
	for _, tc := range []struct {
		f                FunctionStats
		mem              int
		inv, errs, colds uint64
	}{
		{us, 512, 3, 1, 0},
		{eu, 1024, 2, 2, 0},
	} {
		f := tc.f
		if f.MemoryMB != tc.mem || f.Invocations != tc.inv || f.Errors != tc.errs || f.ColdStarts != tc.colds {
			t.Errorf("%s: %d MB, %d invocations, %d errors, %d cold; want %d, %d, %d, %d", f.Region, f.MemoryMB, f.Invocations, f.Errors, f.ColdStarts, tc.mem, tc.inv, tc.errs, tc.colds)
		}
		wantGBs := float64(tc.inv) * gbs(tc.mem)
		if math.Abs(f.GBSeconds-wantGBs) > 1e-9 {
			t.Errorf("%s: %.6f GB-s, want %.6f", f.Region, f.GBSeconds, wantGBs)
		}
		p := DefaultPrices()
		wantUSD := wantGBs*p.X86[0].PerGBSecond + float64(tc.inv)*p.PerReq
		if math.Abs(f.CostUSD-wantUSD) > 1e-12 {
			t.Errorf("%s: $%.10f, want $%.10f", f.Region, f.CostUSD, wantUSD)
		}
		if f.P50 < 119*time.Millisecond || f.P50 > 122*time.Millisecond {
			t.Errorf("%s: p50 %s", f.Region, f.P50)
		}
	}
	if us.Invocations+eu.Invocations != 5 || us.Errors+eu.Errors != 3 {
		t.Errorf("totals %d invocations, %d errors; want 5, 3", us.Invocations+eu.Invocations, us.Errors+eu.Errors)
	}

	// The detail of each place is its own.
	d := g.FunctionDetailIn(tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card", Account: placeAccount, Region: "eu-west-1"})
	if !d.Found || d.Stats.Region != "eu-west-1" || d.Stats.MemoryMB != 1024 || d.Reported != 2 || d.Held != 2 || len(d.Failed) != 2 {
		t.Errorf("eu-west-1 detail: found %v, %+v, reported %d, held %d, failed %d", d.Found, d.Stats, d.Reported, d.Held, len(d.Failed))
	}
	if len(d.Errors) != 1 || d.Errors[0].Count != 2 || d.Errors[0].Type != "CardDeclined" {
		t.Errorf("eu-west-1 errors: %+v", d.Errors)
	}
	d = g.FunctionDetailIn(tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card", Account: placeAccount, Region: "us-east-1"})
	if !d.Found || d.Stats.MemoryMB != 512 || d.Reported != 3 || len(d.Failed) != 1 {
		t.Errorf("us-east-1 detail: %+v, reported %d, failed %d", d.Stats, d.Reported, len(d.Failed))
	}
	if d := g.FunctionDetailIn(tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card", Account: placeAccount, Region: "ap-south-1"}); d.Found || d.Reported != 0 {
		t.Errorf("a region it never ran in: %+v", d)
	}
	// By name alone: one of them, saying which.
	if d := g.FunctionDetail("charge-card"); !d.Found || d.Stats.Region != "eu-west-1" || d.Reported != 2 {
		t.Errorf("by name: %+v, reported %d", d.Stats, d.Reported)
	}
	// The map's nodes agree with the rows.
	for _, n := range g.Map().Nodes {
		if n.Component.Name != "charge-card" {
			continue
		}
		want := map[string]float64{"us-east-1": 100.0 / 3, "eu-west-1": 100}[n.Component.Region]
		if math.Abs(n.ErrorPct-want) > 0.01 {
			t.Errorf("map node %s: %.1f%% errors, want %.1f%%", n.Component, n.ErrorPct, want)
		}
	}
}

// One region watched: nothing is placed, one row as before.
func TestFunctionUnplaced(t *testing.T) {
	g := newTestGraph(1000)
	b := tracing.Batch{placedConfig("charge-card", "", 512)}
	for i := range 2 {
		b = append(b, regionLogs("charge-card", "", fmt.Sprintf("00000000-0000-4000-8000-%012d", i), t0, i == 0)...)
	}
	g.Ingest(b)
	fns := g.Functions()
	if len(fns) != 1 || fns[0].Region != "" || fns[0].Account != "" || fns[0].Invocations != 2 || fns[0].Errors != 1 || fns[0].MemoryMB != 512 {
		t.Errorf("functions: %+v", fns)
	}
	if d := g.FunctionDetail("charge-card"); !d.Found || d.Reported != 2 || d.Stats.Invocations != 2 {
		t.Errorf("detail: %+v", d)
	}
}

// An invocation first seen by a span that names no place (the OTLP
// receiver serves every context), then by its log in eu-west-1: it is
// counted once, in eu-west-1, its failure too; and a span after the log
// changes nothing.
func TestFunctionPlaceLearntAfterCounting(t *testing.T) {
	g := newTestGraph(1000)
	g.Ingest(tracing.Batch{placedConfig("charge-card", "eu-west-1", 1024)})
	trace, _ := tracing.ParseTraceID(testTrace)
	span := func(req string, id byte, failed bool) tracing.Observation {
		sid := tracing.SpanID{7, 7, 7, 7, 7, 7, 7, id}
		sp := &tracing.Span{TraceID: trace, SpanID: sid, Name: "charge-card", Service: "charge-card", Kind: tracing.SpanKindServer, Start: t0, End: t0.Add(120 * time.Millisecond), InvocationID: req}
		if failed {
			sp.Status = tracing.StatusError
			sp.StatusMessage = "CardDeclined"
		}
		return tracing.Observation{
			Kind: tracing.ObsSpan, Source: "otlp", Time: t0,
			Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"},
			Keys:      []tracing.Key{{Kind: tracing.KeyTraceID, Value: trace.String()}, tracing.SpanKey(trace, sid)},
			Span:      sp,
		}
	}
	const early, late = "11111111-0000-4000-8000-000000000001", "11111111-0000-4000-8000-000000000002"
	g.Ingest(tracing.Batch{span(early, 1, true)})
	if fns := g.Functions(); len(fns) != 2 || fns[0].Region != "" || fns[0].Invocations != 1 || fns[0].Errors != 1 {
		t.Fatalf("after the span: %+v", fns)
	}
	g.Ingest(regionLogs("charge-card", "eu-west-1", early, t0, true))
	g.Ingest(regionLogs("charge-card", "eu-west-1", late, t0.Add(time.Second), false))
	g.Ingest(tracing.Batch{span(late, 2, false)})
	fns := g.Functions()
	if len(fns) != 1 || fns[0].Region != "eu-west-1" || fns[0].Invocations != 2 || fns[0].Errors != 1 || fns[0].MemoryMB != 1024 {
		t.Errorf("after the logs: %+v", fns)
	}
	for _, n := range g.Map().Nodes {
		if n.Component.Name == "charge-card" && (n.Component.Region != "eu-west-1" || math.Abs(n.ErrorPct-50) > 0.01) {
			t.Errorf("map node %s: %.1f%% errors", n.Component, n.ErrorPct)
		}
	}
}

// A cold start known only from its span (the REPORT read had no init
// duration) is one in the detail as in the list.
func TestColdStartFromSpanInDetail(t *testing.T) {
	g := newTestGraph(1000)
	trace, _ := tracing.ParseTraceID(testTrace)
	const req = "22222222-0000-4000-8000-000000000001"
	sid := tracing.SpanID{8, 8, 8, 8, 8, 8, 8, 1}
	g.Ingest(tracing.Batch{{
		Kind: tracing.ObsSpan, Source: "otlp", Time: t0,
		Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"},
		Keys:      []tracing.Key{{Kind: tracing.KeyTraceID, Value: trace.String()}, tracing.SpanKey(trace, sid)},
		Span:      &tracing.Span{TraceID: trace, SpanID: sid, Name: "charge-card", Service: "charge-card", Kind: tracing.SpanKindServer, Start: t0, End: t0.Add(120 * time.Millisecond), InvocationID: req, ColdStart: true},
	}})
	g.Ingest(regionLogs("charge-card", "", req, t0, false))
	fns := g.Functions()
	if len(fns) != 1 || fns[0].ColdStarts != 1 {
		t.Fatalf("list: %+v", fns)
	}
	if d := g.FunctionDetail("charge-card"); d.ColdStarts != 1 || d.InitP50 != 0 {
		t.Errorf("detail says %d cold starts (init p50 %s), the list 1", d.ColdStarts, d.InitP50)
	}
}
