package graph

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowtop/flowtop/tracing"
)

var logT0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// invocationObs returns the START, one app line and the REPORT of one
// invocation of fn, as the cwlogs collector sends them.
func logInvocation(fn string, i int, dur, init time.Duration, failed bool) tracing.Batch {
	req := fmt.Sprintf("req-%s-%04d", fn, i)
	at := logT0.Add(time.Duration(i) * time.Second)
	comp := tracing.Component{Kind: tracing.ComponentFunction, Name: fn}
	line := func(kind tracing.LogKind, level, msg string, d time.Duration) tracing.Observation {
		return tracing.Observation{
			Kind: tracing.ObsLog, Time: at.Add(d), Component: comp, Keys: []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}},
			Log: &tracing.LogRecord{Kind: kind, Level: level, RequestID: req, Message: msg, EventID: fmt.Sprintf("%s-%d", req, kind)},
		}
	}
	level, msg := "INFO", "charged"
	status := tracing.InvocationSuccess
	if failed {
		level, msg, status = "ERROR", fmt.Sprintf("CardDeclined: card %d", i%2), tracing.InvocationError
	}
	report := line(tracing.LogReport, "", "REPORT RequestId: "+req, dur)
	report.Kind = tracing.ObsInvocation
	report.Invocation = &tracing.Invocation{
		Function: fn, RequestID: req, Duration: dur, BilledDuration: dur, InitDuration: init,
		MemorySizeMB: 512, MaxMemoryUsedMB: 100 + i%50, Status: status,
	}
	return tracing.Batch{line(tracing.LogStart, "", "START RequestId: "+req, 0), line(tracing.LogApp, level, msg, time.Millisecond), report}
}

func TestLogsNewestByFunctionAndSince(t *testing.T) {
	g := New(Config{Now: func() time.Time { return logT0 }})
	if p := g.Logs(LogQuery{}); len(p.Lines) != 0 || p.Last != 0 {
		t.Fatalf("empty graph: %+v", p)
	}
	for i := 0; i < 10; i++ {
		g.Ingest(logInvocation("charge-card", i, 100*time.Millisecond, 0, false))
		g.Ingest(logInvocation("send-email", i, 50*time.Millisecond, 0, false))
	}
	// The same CloudWatch events read again are not lines again.
	g.Ingest(logInvocation("charge-card", 9, 100*time.Millisecond, 0, false))
	all := g.Logs(LogQuery{})
	if len(all.Lines) != 60 || all.Last != 60 {
		t.Fatalf("got %d lines, last %d", len(all.Lines), all.Last)
	}
	if l := all.Lines[59]; l.Seq != 60 || l.Function != "send-email" || l.Kind != tracing.LogReport || l.RequestID != "req-send-email-0009" {
		t.Errorf("newest line: %+v", l)
	}
	p := g.Logs(LogQuery{Functions: []string{"charge-card"}, Limit: 4})
	var got []string
	for _, l := range p.Lines {
		got = append(got, l.RequestID+" "+l.Kind.String())
	}
	want := []string{"req-charge-card-0008 report", "req-charge-card-0009 start", "req-charge-card-0009 app", "req-charge-card-0009 report"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("newest 4 of charge-card (-want +got):\n%s", d)
	}
	// Only what is new since the last read; the limit cuts and counts.
	g.Ingest(logInvocation("charge-card", 10, 100*time.Millisecond, 0, false))
	p = g.Logs(LogQuery{After: all.Last, Limit: 2})
	if len(p.Lines) != 2 || p.Lines[0].Seq != 62 || p.Missed != 1 || p.Last != 63 {
		t.Errorf("since: %+v", p)
	}
	if p := g.Logs(LogQuery{After: 63}); len(p.Lines) != 0 || p.Last != 63 {
		t.Errorf("nothing new: %+v", p)
	}
}

func TestLogsRingLapsAndCountsWhatWasLost(t *testing.T) {
	defer func(n int) { logRingCap = n }(logRingCap)
	logRingCap = 10
	g := New(Config{Now: func() time.Time { return logT0 }})
	for i := 0; i < 3; i++ {
		g.Ingest(logInvocation("fn", i, time.Millisecond, 0, false))
	}
	first := g.Logs(LogQuery{})
	if len(first.Lines) != 9 || first.Lines[0].Seq != 1 {
		t.Fatalf("first: %+v", first)
	}
	for i := 3; i < 10; i++ {
		g.Ingest(logInvocation("fn", i, time.Millisecond, 0, false))
	}
	p := g.Logs(LogQuery{After: first.Last})
	// 30 lines, 10 held: 21..30; 10..20 are lost.
	if len(p.Lines) != 10 || p.Lines[0].Seq != 21 || p.Missed != 11 || p.Last != 30 {
		t.Errorf("lapped: %d lines from %d, missed %d, last %d", len(p.Lines), p.Lines[0].Seq, p.Missed, p.Last)
	}
}

func TestFunctionDetail(t *testing.T) {
	defer func(n int) { fnRingCap = n }(fnRingCap)
	fnRingCap = 8
	g := New(Config{Now: func() time.Time { return logT0.Add(time.Hour) }})
	for i := 0; i < 20; i++ {
		init := time.Duration(0)
		if i%5 == 0 {
			init = time.Duration(200+i) * time.Millisecond
		}
		g.Ingest(logInvocation("charge-card", i, time.Duration(10+i)*time.Millisecond, init, i%4 == 3))
	}
	g.Ingest(logInvocation("send-email", 0, time.Millisecond, 0, false))
	d := g.FunctionDetail("charge-card")
	if !d.Found || d.Held != 8 || d.Reported != 20 || d.Stats.Invocations != 20 {
		t.Fatalf("found %v held %d reported %d stats %+v", d.Found, d.Held, d.Reported, d.Stats)
	}
	if d.Recent[0].RequestID != "req-charge-card-0019" || d.Recent[7].RequestID != "req-charge-card-0012" {
		t.Errorf("recent: %s … %s", d.Recent[0].RequestID, d.Recent[7].RequestID)
	}
	if d.Slowest[0].Duration != 29*time.Millisecond || d.Slowest[1].Duration != 28*time.Millisecond {
		t.Errorf("slowest: %v %v", d.Slowest[0].Duration, d.Slowest[1].Duration)
	}
	var failed []string
	for _, r := range d.Failed {
		failed = append(failed, r.RequestID+" "+r.ErrorType)
	}
	if d := cmp.Diff([]string{"req-charge-card-0019 CardDeclined: card 1", "req-charge-card-0015 CardDeclined: card 1"}, failed); d != "" {
		t.Errorf("failed (-want +got):\n%s", d)
	}
	// Cold starts 0, 5, 10, 15: two folded, two held.
	if d.ColdStarts != 4 || d.InitP50 != 205*time.Millisecond || d.InitP95 != 215*time.Millisecond {
		t.Errorf("cold %d p50 %v p95 %v", d.ColdStarts, d.InitP50, d.InitP95)
	}
	// Errors at 3, 7, 11, 15, 19: card 1 (3, 7, 11, 15, 19 are all odd).
	if len(d.Errors) != 1 || d.Errors[0].Count != 5 || d.Errors[0].RequestID != "req-charge-card-0019" {
		t.Errorf("errors: %+v", d.Errors)
	}
	// 10..20 ms → the ≤10ms and ≤20ms buckets, 21..29 → ≤50ms.
	want := []DurationBucket{{10 * time.Millisecond, 1}, {20 * time.Millisecond, 10}, {50 * time.Millisecond, 9}}
	if diff := cmp.Diff(want, d.Histogram); diff != "" {
		t.Errorf("histogram (-want +got):\n%s", diff)
	}
	if d.CostPerInvocationUSD <= 0 || d.MemUsedP95 < d.MemUsedP50 || d.MemUsedP50 == 0 {
		t.Errorf("cost %v mem %d/%d", d.CostPerInvocationUSD, d.MemUsedP50, d.MemUsedP95)
	}
	if d := g.FunctionDetail("nope"); d.Found || d.Held != 0 {
		t.Errorf("unknown function: %+v", d)
	}
}

// BenchmarkLogsSince is one tick's read of the stream while 100,000 lines
// are held: the lines of 10 new invocations.
func BenchmarkLogsSince(b *testing.B) {
	g := New(Config{Now: func() time.Time { return logT0 }})
	for i := 0; i < 40_000; i++ {
		g.Ingest(logInvocation(fmt.Sprintf("fn-%d", i%7), i, time.Millisecond, 0, false))
	}
	last := g.Logs(LogQuery{Limit: 1}).Last
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := 0; j < 10; j++ {
			g.Ingest(logInvocation("fn-new", 40_000+i*10+j, time.Millisecond, 0, false))
		}
		b.StartTimer()
		p := g.Logs(LogQuery{After: last})
		last = p.Last
	}
}

// TestLogsReadWhileIngesting: readers of the stream and the detail run
// beside the one writer (go test -race checks the locking).
func TestLogsReadWhileIngesting(t *testing.T) {
	g := New(Config{Now: func() time.Time { return logT0 }})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 300; i++ {
			g.Ingest(logInvocation("charge-card", i, time.Duration(i)*time.Millisecond, 0, i%7 == 0))
		}
	}()
	var last uint64
	var got int
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		p := g.Logs(LogQuery{After: last, Functions: []string{"charge-card"}})
		for _, l := range p.Lines {
			if l.Seq <= last {
				t.Fatalf("line %d after %d", l.Seq, last)
			}
			last = l.Seq
		}
		got += len(p.Lines)
		_ = g.FunctionDetail("charge-card")
	}
	p := g.Logs(LogQuery{After: last})
	if got += len(p.Lines); got != 900 || p.Missed != 0 {
		t.Errorf("read %d lines of 900, missed %d", got, p.Missed)
	}
}
