package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// `flowtop cost` watching both demo regions through the real SDK: charge-card
// runs in each, and is a row per region (REGION in the table, region in CSV
// and JSON), each with its own figures; us-east-1's are no more than its
// world ran; the three formats list the same rows.
func TestCostPerRegion(t *testing.T) {
	a, sb, stderr := twoRegionApp(t, "")
	// Both worlds have run charge-card a few times before the window is read.
	waitUntil(t, "charge-card runs in us-east-1", func() bool { return sb.World.Truth().Functions["charge-card"].Invocations >= 6 })
	run := func(format string) string {
		t.Helper()
		var out bytes.Buffer
		a.stdout = &out
		cmd := a.costCommand()
		cmd.SetArgs([]string{"-o", format, "--since", "10m", "--sort", "name"})
		cmd.SetOut(&out)
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("cost -o %s: %v\n%s", format, err, stderr.String())
		}
		return out.String()
	}
	var rows []struct {
		Function    string  `json:"function"`
		Region      *string `json:"region"`
		Account     string  `json:"account"`
		Invocations uint64  `json:"invocations"`
		Errors      uint64  `json:"errors"`
		MemoryMB    int     `json:"memory_mb"`
		CostUSD     float64 `json:"cost_usd"`
	}
	var js string
	waitUntil(t, "charge-card invoked in both regions within the window", func() bool {
		js = run("json")
		rows = rows[:0]
		if err := json.Unmarshal([]byte(js), &rows); err != nil {
			t.Fatalf("cost json: %v\n%s", err, js)
		}
		n := 0
		for _, r := range rows {
			if r.Function == "charge-card" && r.Invocations > 0 {
				n++
			}
		}
		return n == 2
	})
	truth := sb.World.Truth().Functions["charge-card"]
	regions := map[string]int{}
	for i, r := range rows {
		if r.Region == nil || *r.Region == "" || r.Account != sandbox.Account {
			t.Fatalf("row %d is not placed: %+v\n%s", i, r, js)
		}
		if r.Function != "charge-card" {
			continue
		}
		regions[*r.Region] = i
		if r.MemoryMB <= 0 || r.CostUSD <= 0 {
			t.Errorf("%s: %d MB, $%f", *r.Region, r.MemoryMB, r.CostUSD)
		}
	}
	us, okUS := regions[sandbox.Region]
	eu, okEU := regions[secondRegion]
	if !okUS || !okEU || len(regions) != 2 || eu >= us { // sorted by name, then region
		t.Fatalf("charge-card rows by region: %v\n%s", regions, js)
	}
	if got := rows[us].Invocations; got == 0 || got > uint64(truth.Invocations) {
		t.Errorf("us-east-1 charge-card: %d invocations, its world ran %d by the end", got, truth.Invocations)
	}

	// CSV: region and account after the function's name, the same rows.
	recs, err := csv.NewReader(strings.NewReader(run("csv"))).ReadAll()
	if err != nil || len(recs) < 3 || strings.Join(recs[0][:3], ",") != "function,region,account" {
		t.Fatalf("cost csv (%v): %q", err, recs)
	}
	var csvRegions []string
	for _, r := range recs[1:] {
		if r[0] == "charge-card" {
			csvRegions = append(csvRegions, r[1]+"/"+r[2])
		}
	}
	if strings.Join(csvRegions, " ") != secondRegion+"/"+sandbox.Account+" "+sandbox.Region+"/"+sandbox.Account {
		t.Errorf("csv charge-card rows: %q", csvRegions)
	}

	// The table: a REGION column, one charge-card line per region.
	table := run("table")
	t.Logf("flowtop cost:\n%s", table)
	lines := strings.Split(table, "\n")
	if f := strings.Fields(lines[0]); len(f) < 2 || f[0] != "FUNCTION" || f[1] != "REGION" {
		t.Fatalf("table header: %q", lines[0])
	}
	var tableRegions []string
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "charge-card" {
			tableRegions = append(tableRegions, f[1])
		}
	}
	if strings.Join(tableRegions, " ") != secondRegion+" "+sandbox.Region {
		t.Errorf("table charge-card rows: %q\n%s", tableRegions, table)
	}
}

// The console's :fn over both regions: charge-card is a row per region;
// narrowed by :ctx to eu-west-1, only eu-west-1's rows are left.
func TestConsoleFunctionsPerRegion(t *testing.T) {
	a, _, _ := twoRegionApp(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := a.newEngine(ctx, engineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.Start(ctx)
	f, ok := consoleFeed(e).(*multiFeed)
	if !ok {
		t.Fatal("two contexts without the multi-context feed")
	}
	charge := func() map[string]uint64 {
		out := map[string]uint64{}
		for _, fn := range f.Functions() {
			if fn.Name == "charge-card" {
				out[fn.Region] += fn.Invocations
			}
		}
		return out
	}
	waitUntil(t, "charge-card invoked in both regions", func() bool {
		c := charge()
		return len(c) == 2 && c[sandbox.Region] > 0 && c[secondRegion] > 0
	})
	if !f.Narrow("default/" + secondRegion) {
		t.Fatal("Narrow refused eu-west-1")
	}
	fns := f.Functions()
	if len(fns) == 0 {
		t.Fatal("narrowed to eu-west-1, no function left")
	}
	for _, fn := range fns {
		if fn.Region != secondRegion || fn.Account != sandbox.Account {
			t.Errorf("narrowed to eu-west-1, %s of %s/%s is listed", fn.Name, fn.Account, fn.Region)
		}
	}
	d := f.FunctionDetailIn(tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card", Account: sandbox.Account, Region: secondRegion})
	if !d.Found || d.Stats.Region != secondRegion || d.Reported == 0 {
		t.Errorf("eu-west-1's charge-card detail: found %v, %+v, reported %d", d.Found, d.Stats, d.Reported)
	}
}
