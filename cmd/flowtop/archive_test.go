package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/replay"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui"
)

func TestParseWhen(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "now", want: now},
		{in: "-15m", want: now.Add(-15 * time.Minute)},
		{in: "15m", want: now.Add(-15 * time.Minute)},
		{in: "2h30m ago", want: now.Add(-150 * time.Minute)},
		{in: "-1d", want: now.Add(-24 * time.Hour)},
		{in: "2026-12-03T13:00:00Z", want: now.Add(-time.Hour)},
		{in: "2026-12-03T15:00:00+02:00", want: now.Add(-time.Hour)},
		{in: "2026-12-03T13:00:00", want: now.Add(-time.Hour)},
		{in: "", bad: true},
		{in: "yesterday", bad: true},
		{in: "+5m", bad: true},
		{in: "--5m", bad: true},
		{in: "-99999d", bad: true},
		{in: strings.Repeat("1", 100) + "s", bad: true},
	} {
		got, err := parseWhen(c.in, now)
		if (err != nil) != c.bad || (!c.bad && !got.Equal(c.want)) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v (bad %v)", c.in, got, err, c.want, c.bad)
		}
	}
}

// FuzzParseWhen: a time argument never panics, and a time it printed as
// RFC3339 reads back the same.
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"now", "-15m", "1d", "2026-12-03T13:00:00Z", "2026-12-03T15:00:00.123456789+02:00", "5m ago", "-", "d", "-1.5h", "9223372036854775807ns"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseWhen(s, now)
		if err != nil {
			return
		}
		absolute := false
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
			if _, perr := time.Parse(layout, strings.TrimSpace(s)); perr == nil {
				absolute = true
			}
		}
		if !absolute && got.After(now) {
			t.Fatalf("parseWhen(%q) = %v: a time ago after now", s, got)
		}
		back, err := parseWhen(got.Format(time.RFC3339Nano), now)
		if err != nil || !back.Equal(got) {
			t.Fatalf("parseWhen(%q) = %v, which reads back as %v, %v", s, got, back, err)
		}
	})
}

// TestReplayArchiveCommand: against the sandbox world (which archives its
// orders bus), --dry-run prints the plan and starts nothing, --read-only
// refuses, an unknown archive exits 3 naming the archives, and --yes replays
// the last minutes to COMPLETED.
func TestReplayArchiveCommand(t *testing.T) {
	env, sb := sandboxEnv(t)
	eb := eventbridge.NewFromConfig(aws.Config{Region: sandbox.Region, BaseEndpoint: aws.String(sb.URL()), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := eb.DescribeArchive(context.Background(), &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(sandbox.OrdersArchive)})
		if err != nil {
			t.Fatal(err)
		}
		if d.EventCount >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the orders archive holds %d events after 30s", d.EventCount)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The plan's window ends at a whole second: let the archived events fall
	// before it.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	out, errOut, code := runCLI(t, env, "replay", "--archive", sandbox.OrdersArchive, "--from", "-5m", "--rule", "order-placed-billing", "--dry-run")
	if code != 0 || !strings.Contains(out, "replay archive orders-archive (bus orders)") || !strings.Contains(out, "rules order-placed-billing of bus orders only") || !strings.Contains(out, "dry run: nothing was replayed") {
		t.Fatalf("dry run (%d): %s %s", code, out, errOut)
	}
	if l, err := eb.ListReplays(context.Background(), &eventbridge.ListReplaysInput{}); err != nil || len(l.Replays) != 0 {
		t.Fatalf("the dry run started a replay: %+v %v", l, err)
	}
	if _, errOut, code := runCLI(t, env, "replay", "--archive", sandbox.OrdersArchive, "--from", "-5m", "--read-only", "--yes"); code != exitUsage || !strings.Contains(errOut, "read-only") {
		t.Errorf("read-only: %d %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, env, "replay", "--archive", "nope", "--from", "-5m", "--yes"); code != exitNotFound || !strings.Contains(errOut, "orders-archive") {
		t.Errorf("unknown archive: %d %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, env, "replay", "some-event-id", "--archive", sandbox.OrdersArchive, "--from", "-5m", "--yes"); code != exitUsage || !strings.Contains(errOut, "no event ID") {
		t.Errorf("an event ID with --archive: %d %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, env, "replay", "--archive", sandbox.OrdersArchive, "--yes"); code != exitUsage || !strings.Contains(errOut, "--from") {
		t.Errorf("no --from: %d %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, env, "replay", "--archive", sandbox.OrdersArchive, "--from", "-5m", "--rule", "nope", "--yes"); code != exitUsage || !strings.Contains(errOut, "order-placed-billing") {
		t.Errorf("unknown rule: %d %q", code, errOut)
	}
	out, errOut, code = runCLI(t, env, "replay", "--archive", sandbox.OrdersArchive, "--from", "-5m", "--rule", "order-placed-billing", "--replay-name", "cli-test", "--yes")
	if code != 0 || !strings.Contains(out, "replay cli-test: COMPLETED") || !strings.Contains(errOut, "COMPLETED") {
		t.Fatalf("replay (%d): %s %s", code, out, errOut)
	}
	d, err := eb.DescribeReplay(context.Background(), &eventbridge.DescribeReplayInput{ReplayName: aws.String("cli-test")})
	if err != nil || d.State != "COMPLETED" || d.EventLastReplayedTime == nil || len(d.Destination.FilterArns) != 1 {
		t.Errorf("DescribeReplay = %+v, %v", d, err)
	}
}

// TestConsoleArchiveAdapter: the console's replay archive action, through
// the adapter and the engine against the sandbox world: the bus's only
// archive is found, the plan counts in percent, the replay completes, and a
// bus without an archive is refused with the reason.
func TestConsoleArchiveAdapter(t *testing.T) {
	sb, err := sandbox.Start(context.Background(), sandbox.Config{World: sandbox.WorldConfig{Rate: 40, Seed: 3, MaxOrders: 30}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	state := t.TempDir()
	a := &app{cfg: NewDefaultConfig(), getenv: func(k string) string {
		if k == "XDG_STATE_HOME" {
			return state
		}
		return ""
	}}
	ctx := context.Background()
	e, err := a.newEngine(ctx, engineOptions{endpoint: sb.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	deadline := time.Now().Add(30 * time.Second)
	for sb.World.Orders() < 30 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	tr := tuiReplayer{e}
	now := time.Now()
	p, err := tr.Plan(ctx, tui.Action{Kind: tui.ActionReplayArchive, EventID: "ev", Target: "events:" + sandbox.BusName, From: now.Add(-5 * time.Minute), To: now.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	ap, ok := p.Impl.(replay.ArchivePlan)
	if !ok || ap.Archive != sandbox.OrdersArchive || !p.Percent || p.Count < 30 || !strings.Contains(p.Summary, "replay archive orders-archive") {
		t.Fatalf("plan %+v", p)
	}
	for _, l := range p.Lines {
		if strings.HasPrefix(l, "warning: ") {
			t.Errorf("a warning among the plan's lines, shown twice: %q", l)
		}
	}
	var last tui.Progress
	if err := tr.Execute(ctx, p, func(pr tui.Progress) { last = pr }); err != nil {
		t.Fatal(err)
	}
	if last.Done != 100 || last.Total != 100 || !strings.Contains(last.Note, "COMPLETED") {
		t.Errorf("last progress %+v", last)
	}
	if _, err := tr.Plan(ctx, tui.Action{Kind: tui.ActionReplayArchive, Target: "events:default", From: now.Add(-5 * time.Minute), To: now}); err == nil || !strings.Contains(err.Error(), "no archive of bus default") {
		t.Errorf("a bus without an archive: %v", err)
	}
}

// TestArchiveReplayLineageThroughCollectors is the done-when: an
// archive replay of a 5-minute window delivers the events again (the
// consumer charge-card logs each once more) and lineage, built by the
// ordinary collectors from those logs, shows each as a replay of its own,
// linked to its original, never merged into it.
func TestArchiveReplayLineageThroughCollectors(t *testing.T) {
	sb, err := sandbox.Start(context.Background(), sandbox.Config{World: sandbox.WorldConfig{Rate: 40, Seed: 9, MaxOrders: 20, DeclineRate: 0.01, TimeoutRate: 0.01, PoisonRate: 0.01}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	state := t.TempDir()
	a := &app{cfg: NewDefaultConfig(), getenv: func(k string) string {
		if k == "XDG_STATE_HOME" {
			return state
		}
		return ""
	}}
	ctx := context.Background()
	e, err := a.newEngine(ctx, engineOptions{endpoint: sb.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	deadline := time.Now().Add(30 * time.Second)
	for sb.World.Orders() < 20 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	// The originals: events the world put on the bus and charge-card handled.
	var originals []string
	for _, ev := range sb.World.Truth().Events {
		billed := false
		for _, c := range ev.Path {
			billed = billed || c.Name == "charge-card"
		}
		for _, k := range ev.Own {
			if k.Kind == tracing.KeyEventID && billed {
				originals = append(originals, k.Value)
			}
		}
	}
	if len(originals) < 5 {
		t.Fatalf("only %d billed events", len(originals))
	}
	now := time.Now()
	p, err := e.Replayer().PlanArchive(ctx, replay.ArchiveRequest{Archive: sandbox.OrdersArchive, From: now.Add(-5 * time.Minute), To: now.Add(time.Second), Rules: []string{"order-placed-billing"}})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.Replayer().ExecuteArchive(ctx, p, nil); err != nil || res.State != "COMPLETED" {
		t.Fatalf("replay %v: %v", res.Lines(), err)
	}
	g := e.Graph()
	linked := 0
	for time.Now().Before(deadline.Add(30 * time.Second)) {
		if err := e.Collect(ctx, 15*time.Minute); err != nil {
			t.Logf("collect: %v", err)
		}
		linked = 0
		for _, id := range originals {
			l, err := g.Lineage(id)
			if err != nil || l.ID != id {
				continue
			}
			for _, ln := range l.Links {
				if ln.Rel != "replayed-as" {
					continue
				}
				cp, err := g.Lineage(ln.ID)
				if err == nil && cp.ID != id && len(cp.Links) > 0 && cp.Links[0].Rel == "replay-of" && cp.Links[0].ID == id && hasHop(cp, "charge-card") {
					linked++
				}
			}
		}
		if linked*10 >= len(originals)*9 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if linked*10 < len(originals)*9 {
		t.Fatalf("%d of %d originals show a replay of their own with its charge-card invocation", linked, len(originals))
	}
	t.Logf("%d of %d originals link to their replay", linked, len(originals))
}

func hasHop(l graph.Lineage, component string) bool {
	for _, h := range l.Hops {
		if h.Component.Name == component {
			return true
		}
	}
	return false
}
