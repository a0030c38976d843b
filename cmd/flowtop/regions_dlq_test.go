package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/flowtop/flowtop/sandbox"
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
}
