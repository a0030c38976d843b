package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/engine"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tui"
)

// Both demo regions have a billing-dlq: the CLI lists it twice with its
// region, refuses the bare name naming both contexts, and acts in the
// region an ARN names.
func TestCLITwoRegionsDLQOfOneName(t *testing.T) {
	a, _, _ := twoRegionApp(t, "")
	var out bytes.Buffer
	a.stdout = &out
	ctx := context.Background()
	e, err := a.newEngine(ctx, engineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := dlqList(ctx, e, &out, "table"); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, sandbox.BillingDLQ+" ") {
			rows = append(rows, strings.Join(strings.Fields(l)[:2], " "))
		}
	}
	if !strings.Contains(out.String(), "REGION") || strings.Join(rows, ",") != "billing-dlq us-east-1,billing-dlq eu-west-1" {
		t.Fatalf("dlq ls lists billing-dlq as %q:\n%s", rows, out.String())
	}
	refused := func(what string, err error) {
		t.Helper()
		var x *exitError
		if !errors.As(err, &x) || x.code != exitUsage {
			t.Fatalf("%s: %v, want a usage error", what, err)
		}
		for _, c := range []string{"default/us-east-1", "default/eu-west-1"} {
			if !strings.Contains(err.Error(), c) {
				t.Errorf("%s: %q does not name %s", what, err, c)
			}
		}
	}
	refused("dlq redrive", a.dlqRedrive(ctx, e, redriveArgs{queue: sandbox.BillingDLQ, method: "auto", dryRun: true}))
	refused("dlq peek", dlqPeek(ctx, e, &out, sandbox.BillingDLQ, 1, "text"))
	// Named by its ARN: planned in eu-west-1.
	out.Reset()
	arn := "arn:aws:sqs:" + secondRegion + ":" + sandbox.Account + ":" + sandbox.BillingDLQ
	if err := a.dlqRedrive(ctx, e, redriveArgs{queue: arn, method: "auto", dryRun: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "in default/eu-west-1\n") {
		t.Errorf("redrive of %s planned:\n%s", arn, out.String())
	}
	// Both regions archive their bus: the bare archive name is refused,
	// its ARN replays in its region.
	from, to := time.Now().Add(-time.Hour), time.Now()
	refused("replay --archive", a.runArchiveReplay(ctx, e, archiveArgs{archive: sandbox.OrdersArchive, dryRun: true}, from, to))
	out.Reset()
	archive := "arn:aws:events:" + secondRegion + ":" + sandbox.Account + ":archive/" + sandbox.OrdersArchive
	if err := a.runArchiveReplay(ctx, e, archiveArgs{archive: archive, dryRun: true}, from, to); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "in default/eu-west-1\n") || !strings.Contains(out.String(), sandbox.OrdersArchive) {
		t.Errorf("replay of %s planned:\n%s", archive, out.String())
	}
}

// The console's DLQ actions carry the DLQ's region: the plan is made, and
// would run, in that context; without one, a name in both is refused.
func TestConsoleActsInTheDLQsRegion(t *testing.T) {
	a, _, _ := twoRegionApp(t, "")
	ctx := context.Background()
	e, err := a.newEngine(ctx, engineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	r := tuiReplayer{e}
	p, err := r.Plan(ctx, tui.Action{Kind: tui.ActionRedriveAll, Queue: sandbox.BillingDLQ, Account: sandbox.Account, Region: secondRegion})
	if err != nil {
		t.Fatal(err)
	}
	pp, ok := p.Impl.(placedPlan)
	if !ok || pp.e != e.InContext(1) {
		t.Fatalf("plan %T is not eu-west-1's", p.Impl)
	}
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "acts in default/eu-west-1") {
		t.Errorf("warnings %q do not say where it acts", p.Warnings)
	}
	if _, err := r.Plan(ctx, tui.Action{Kind: tui.ActionRedriveAll, Queue: sandbox.BillingDLQ}); !errors.Is(err, engine.ErrAmbiguous) {
		t.Errorf("a bare name in both regions planned: %v", err)
	}
}
