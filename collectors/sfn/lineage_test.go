package sfn_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go/logging"

	"github.com/flowtop/flowtop/engine"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/replay"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// fulfilmentWorld runs the sandbox world (orders placed on the bus, the
// fulfilment workflow started by its rule) and flowtop's engine over it, as
// cmd builds it, until orders orders have run through.
func fulfilmentWorld(t *testing.T, orders int, state ...string) (*sandbox.Sandbox, *engine.Engine, aws.Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	hold := make(chan struct{})
	sb, err := sandbox.Start(ctx, sandbox.Config{Seed: 5, World: sandbox.WorldConfig{Rate: 20, Seed: 5, MaxOrders: orders, Hold: hold}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	cfg := aws.Config{Region: sandbox.Region, BaseEndpoint: aws.String(sb.URL()), Logger: logging.Nop{}, Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	dir := ""
	if len(state) > 0 {
		dir = state[0]
	}
	eng, err := engine.New(engine.Settings{
		AWS: cfg, Logger: slog.New(slog.DiscardHandler), StateDir: dir,
		Sources: engine.Sources{XRay: true, Poll: 300 * time.Millisecond, Lookback: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	eng.Start(ctx)
	t.Cleanup(eng.Close)
	waitFor(t, 30*time.Second, "sources ready", func() bool {
		for _, h := range eng.Health() {
			if h.Source != "cwlogs" && h.Source != "otlp" && h.LastSuccess.IsZero() {
				return false
			}
		}
		return len(eng.Health()) > 0
	})
	close(hold)
	settle := time.Now().Add(90 * time.Second)
	for tr := sb.World.Truth(); tr.Orders < orders || tr.Pending > 0; tr = sb.World.Truth() {
		if time.Now().After(settle) {
			for _, e := range tr.Events {
				if !e.Done {
					t.Logf("in flight: %s %s, path %v", e.Label, e.Status, e.Path)
				}
			}
			t.Fatalf("the world's events have not settled after 90s: %d orders, %d in flight", tr.Orders, tr.Pending)
		}
		<-time.After(100 * time.Millisecond)
	}
	return sb, eng, cfg
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !ok() {
		if time.Now().After(end) {
			t.Fatalf("no %s after %s", what, d)
		}
		<-time.After(100 * time.Millisecond)
	}
}

// workflowEvents are the world's events that ran the fulfilment workflow,
// split by the outcome Step Functions reports for their execution.
func workflowEvents(t *testing.T, cfg aws.Config, tr sandbox.Truth) (ok, failed []sandbox.TrueEvent) {
	t.Helper()
	c := awssfn.NewFromConfig(cfg)
	status := map[string]sfntypes.ExecutionStatus{}
	p := awssfn.NewListExecutionsPaginator(c, &awssfn.ListExecutionsInput{StateMachineArn: aws.String("arn:aws:states:" + sandbox.Region + ":" + sandbox.Account + ":stateMachine:" + sandbox.FulfilmentMachine)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range out.Executions {
			status[aws.ToString(x.ExecutionArn)] = x.Status
		}
	}
	for _, e := range tr.Events {
		switch status[keyOf(e, tracing.KeyExecution)] {
		case sfntypes.ExecutionStatusSucceeded:
			ok = append(ok, e)
		case sfntypes.ExecutionStatusFailed:
			failed = append(failed, e)
		}
	}
	return ok, failed
}

func keyOf(e sandbox.TrueEvent, kind tracing.KeyKind) string {
	for _, k := range e.Own {
		if k.Kind == kind {
			return k.Value
		}
	}
	return ""
}

// TestLineageCrossesStepFunctions follows events from the bus through the
// fulfilment workflow to the functions its tasks ran: every hop has its
// evidence, the tasks hang under the execution, and a failed execution
// shows the failed state, its error and its cause.
func TestLineageCrossesStepFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sandbox world")
	}
	sb, eng, cfg := fulfilmentWorld(t, 16)
	okEvs, failedEvs := workflowEvents(t, cfg, sb.World.Truth())
	if len(okEvs) == 0 || len(failedEvs) == 0 {
		t.Fatalf("the world ran %d fulfilments that succeeded and %d that failed; want both", len(okEvs), len(failedEvs))
	}
	g := eng.Graph()
	check := func(e sandbox.TrueEvent, wantFailed bool) {
		id := keyOf(e, tracing.KeyEventID)
		var l graph.Lineage
		waitFor(t, 30*time.Second, "whole lineage of "+e.Label, func() bool {
			var err error
			l, err = g.Lineage(id)
			return err == nil && hop(l, tracing.ComponentWorkflow, sandbox.FulfilmentMachine) >= 0 &&
				hop(l, tracing.ComponentFunction, sandbox.FulfilReserve) >= 0 && hop(l, tracing.ComponentFunction, sandbox.FulfilShip) >= 0 &&
				l.Hops[hop(l, tracing.ComponentWorkflow, sandbox.FulfilmentMachine)].Status != graph.HopPending &&
				hop(l, tracing.ComponentBus, sandbox.BusName) >= 0 && // the producer's lines may come last, on a busy machine
				!slices.ContainsFunc(l.Hops, func(h graph.Hop) bool { return h.Status == graph.HopPending }) // nor a task's REPORT
		})
		wf := hop(l, tracing.ComponentWorkflow, sandbox.FulfilmentMachine)
		w := l.Hops[wf]
		// The producer's side joins every event: a Live Tail update that AWS
		// (and the sandbox) sampled in a burst is read again by the cwlogs source.
		if w.Parent < 0 || l.Hops[w.Parent].Component.Kind != tracing.ComponentBus {
			t.Errorf("%s: the workflow hop's parent is %+v, want the bus", e.Label, parentOf(l, wf))
			for _, h := range l.Hops {
				t.Logf("  hop %s %s at %s keys %v: %s", h.Component, h.Status, h.Time.Format("15:04:05.000"), h.Keys, h.Evidence)
			}
			t.Logf("  health %+v", eng.Health())
		}
		if !strings.Contains(w.Evidence, "execution input is the event") {
			t.Errorf("%s: workflow evidence %q", e.Label, w.Evidence)
		}
		for _, fn := range []string{sandbox.FulfilReserve, sandbox.FulfilShip} {
			i := hop(l, tracing.ComponentFunction, fn)
			if l.Hops[i].Parent != wf {
				t.Errorf("%s: %s hangs under %+v, want the workflow", e.Label, fn, parentOf(l, i))
			}
		}
		if i := hop(l, tracing.ComponentFunction, sandbox.FulfilReserve); !strings.Contains(l.Hops[i].Evidence, "SdkResponseMetadata.RequestId") {
			t.Errorf("%s: reserve evidence %q", e.Label, l.Hops[i].Evidence)
		}
		for _, h := range l.Hops {
			if h.Evidence == "" {
				t.Errorf("%s: hop %s has no evidence", e.Label, h.Component)
			}
		}
		exec := keyOf(e, tracing.KeyExecution)
		if exec == "" || !hasKey(l.Keys, tracing.KeyExecution, exec) || !hasKey(w.Keys, tracing.KeyExecution, exec) {
			t.Errorf("%s: execution %q not on the lineage (%v) or its hop (%v)", e.Label, exec, l.Keys, w.Keys)
		}
		if byARN, err := g.Lineage(exec); err != nil || byARN.ID != l.ID {
			t.Errorf("%s: lookup by execution ARN: %v %v", e.Label, byARN.ID, err)
		}
		if wantFailed {
			if w.Status != graph.HopError || !strings.Contains(w.ErrorType, "ShipItem") || !strings.Contains(w.ErrorType, "CourierUnavailable") || l.Status != graph.StatusFailed {
				t.Errorf("%s: failed execution hop %s %q, event %s; want the failed state, error and cause", e.Label, w.Status, w.ErrorType, l.Status)
				for _, h := range l.Hops {
					t.Logf("hop %s %s %s keys %v ev %s", h.Component, h.Status, h.ErrorType, h.Keys, h.Evidence)
				}
				for _, s := range l.Spans {
					t.Logf("span %s %s %s %v", s.Span.Name, s.Span.SpanID, s.Span.StatusMessage, s.Span.Status)
				}
			}
		} else if w.Status != graph.HopOK || w.Duration <= 0 {
			t.Errorf("%s: execution hop %s, %s", e.Label, w.Status, w.Duration)
		}
		var states []string
		for _, s := range l.Spans {
			if s.Span.Service == sandbox.FulfilmentMachine {
				states = append(states, s.Span.Name)
			}
			// A task state lasts as long as the function it invoked ran (the
			// function's REPORT Duration; the history's timestamps are to the ms).
			if s.Span.Name == "Task Reserve" {
				fn := l.Hops[hop(l, tracing.ComponentFunction, sandbox.FulfilReserve)]
				took := s.Span.End.Sub(s.Span.Start)
				if took < fn.Duration-time.Millisecond || fn.Duration <= 0 {
					t.Errorf("%s: state Reserve took %s, its function %s", e.Label, took, fn.Duration)
				}
				if w.Duration < took {
					t.Errorf("%s: the execution took %s, less than its state Reserve (%s)", e.Label, w.Duration, took)
				}
			}
		}
		all := strings.Join(states, ", ")
		for _, want := range []string{"Task Reserve", "Choice Express?", "Map Ship", "Task ShipItem"} {
			if !strings.Contains(all, want) {
				t.Errorf("%s: state spans %s lack %s", e.Label, all, want)
			}
		}
	}
	check(okEvs[0], false)
	check(failedEvs[0], true)
	// Every order the workflow ran has its producer's side: the function that
	// put it on the bus, and the bus, above the workflow.
	for _, e := range append(okEvs, failedEvs...) {
		var l graph.Lineage
		joined := func() bool {
			var err error
			l, err = g.Lineage(keyOf(e, tracing.KeyEventID))
			wf, bus := hop(l, tracing.ComponentWorkflow, sandbox.FulfilmentMachine), hop(l, tracing.ComponentBus, sandbox.BusName)
			return err == nil && hop(l, tracing.ComponentFunction, "orders-api") >= 0 && bus >= 0 && wf >= 0 && l.Hops[wf].Parent == bus
		}
		for end := time.Now().Add(30 * time.Second); !joined(); <-time.After(100 * time.Millisecond) {
			if time.Now().After(end) {
				t.Errorf("%s: no producer's side above the workflow hop after 30s", e.Label)
				for _, h := range l.Hops {
					t.Logf("  hop %s %s parent %d keys %v: %s", h.Component, h.Status, h.Parent, h.Keys, h.Evidence)
				}
				break
			}
		}
	}
}

func hop(l graph.Lineage, kind tracing.ComponentKind, name string) int {
	for i, h := range l.Hops {
		if h.Component.Kind == kind && h.Component.Name == name {
			return i
		}
	}
	return -1
}

func parentOf(l graph.Lineage, i int) any {
	if p := l.Hops[i].Parent; p >= 0 {
		return l.Hops[p].Component
	}
	return "none"
}

func hasKey(keys []tracing.Key, kind tracing.KeyKind, v string) bool {
	for _, k := range keys {
		if k.Kind == kind && k.Value == v {
			return true
		}
	}
	return false
}

// TestSearchFindsWholeExecution searches history, in a fresh engine, by an
// event's ID and by the request ID of a task its workflow ran: the lineage
// found holds every ID the world gave the event and every component of its
// path, the workflow's included.
func TestSearchFindsWholeExecution(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sandbox world")
	}
	sb, eng, cfg := fulfilmentWorld(t, 12)
	eng.Close()
	okEvs, failedEvs := workflowEvents(t, cfg, sb.World.Truth())
	for _, e := range append(okEvs[:1], failedEvs...) {
		for _, by := range []tracing.KeyKind{tracing.KeyEventID, tracing.KeyRequestID, tracing.KeyExecution} {
			id := ""
			for _, k := range e.Own {
				if k.Kind == by && id == "" {
					id = k.Value
				}
			}
			fresh, err := engine.New(engine.Settings{
				AWS: cfg, Logger: slog.New(slog.DiscardHandler), Sources: engine.Sources{XRay: true},
				Search: engine.SearchBounds{Window: 15 * time.Minute, Timeout: 60 * time.Second},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := fresh.SearchHistory(context.Background(), id, nil); err != nil {
				t.Errorf("search %s by %s: %v", e.Label, by, err)
			}
			l, err := fresh.Graph().Lineage(id)
			if err != nil {
				t.Fatalf("search %s by %s %s: %v", e.Label, by, id, err)
			}
			for _, k := range e.Keys() {
				if !hasKey(l.Keys, k.Kind, k.Value) {
					t.Errorf("search %s by %s: lacks %s", e.Label, by, k)
					for _, h := range l.Hops {
						t.Logf("  hop %s %v %s", h.Component, h.Keys, h.Evidence)
					}
				}
			}
			for _, c := range e.Path {
				if hop(l, c.Kind, c.Name) < 0 {
					t.Errorf("search %s by %s: path lacks %s", e.Label, by, c)
				}
			}
			fresh.Close()
		}
	}
}

// TestRedriveLinksNewAttempt redrives a failed execution through the
// engine, as the console and the CLI do: a read-only engine refuses, a
// succeeded execution is not redrivable, and the redriven attempt is an
// event of its own, linked redrive-of to the event the execution ran for,
// with its own workflow hop and the tasks it ran again under it.
func TestRedriveLinksNewAttempt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sandbox world")
	}
	state := t.TempDir()
	sb, eng, cfg := fulfilmentWorld(t, 12, state)
	okEvs, failedEvs := workflowEvents(t, cfg, sb.World.Truth())
	if len(okEvs) == 0 || len(failedEvs) == 0 {
		t.Fatalf("%d succeeded and %d failed fulfilments; want both", len(okEvs), len(failedEvs))
	}
	ctx := context.Background()
	if _, err := eng.PlanExecutionRedrive(ctx, keyOf(okEvs[0], tracing.KeyExecution)); !errors.Is(err, replay.ErrNotRedrivable) {
		t.Fatalf("plan for a succeeded execution: %v, want ErrNotRedrivable", err)
	}
	e := failedEvs[0]
	arn, id := keyOf(e, tracing.KeyExecution), keyOf(e, tracing.KeyEventID)
	waitFor(t, 30*time.Second, "the failed execution's hop", func() bool {
		l, err := eng.Graph().Lineage(id)
		i := hop(l, tracing.ComponentWorkflow, sandbox.FulfilmentMachine)
		return err == nil && i >= 0 && l.Hops[i].Status == graph.HopError
	})
	plan, err := eng.PlanExecutionRedrive(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan.Lines(), "\n")
	if !plan.Redrivable || plan.Attempt() != 1 || !strings.Contains(text, "CourierUnavailable") || !strings.Contains(text, "attempt 1") {
		t.Fatalf("plan:\n%s", text)
	}
	ro, err := engine.New(engine.Settings{AWS: cfg, ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.ExecuteExecutionRedrive(ctx, plan); !errors.Is(err, replay.ErrReadOnly) {
		t.Fatalf("read-only redrive: %v", err)
	}
	res, err := eng.ExecuteExecutionRedrive(ctx, plan)
	if err != nil || res.Attempt != 1 {
		t.Fatalf("redrive: %+v %v", res, err)
	}
	// The same plan again is the same request (its client token): one attempt.
	if again, err := eng.ExecuteExecutionRedrive(ctx, plan); err != nil || !again.RedriveDate.Equal(res.RedriveDate) {
		t.Fatalf("the same redrive again: %+v %v, want the first one's answer", again, err)
	}
	c := awssfn.NewFromConfig(cfg)
	waitFor(t, 30*time.Second, "the redriven execution to succeed", func() bool {
		d, err := c.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		return err == nil && d.Status == sfntypes.ExecutionStatusSucceeded && aws.ToInt32(d.RedriveCount) == 1
	})
	attempt := tracing.ExecutionAttemptKey(arn, 1).Value
	var orig, redo graph.Lineage
	end := time.Now().Add(30 * time.Second)
	for {
		var err1, err2 error
		orig, err1 = eng.Graph().Lineage(id)
		redo, err2 = eng.Graph().Lineage(attempt)
		i := hop(redo, tracing.ComponentWorkflow, sandbox.FulfilmentMachine)
		if err1 == nil && err2 == nil && i >= 0 && redo.Hops[i].Status == graph.HopOK && hop(redo, tracing.ComponentFunction, sandbox.FulfilShip) >= 0 {
			break
		}
		if time.Now().After(end) {
			for _, h := range redo.Hops {
				t.Logf("  attempt hop %s %s %v %s", h.Component, h.Status, h.Keys, h.Evidence)
			}
			t.Fatalf("no whole lineage of the new attempt after 30s: %v %v; health %+v", err1, err2, eng.Health())
		}
		<-time.After(100 * time.Millisecond)
	}
	if redo.ID == orig.ID {
		t.Fatalf("the new attempt merged into its event %s", orig.ID)
	}
	if !linked(orig.Links, "redriven-as", redo.ID) || !linked(redo.Links, "redrive-of", orig.ID) {
		t.Fatalf("links: original %+v, attempt %+v", orig.Links, redo.Links)
	}
	wf := hop(redo, tracing.ComponentWorkflow, sandbox.FulfilmentMachine)
	if ship := hop(redo, tracing.ComponentFunction, sandbox.FulfilShip); redo.Hops[ship].Parent != wf {
		t.Errorf("the rerun task hangs under %+v, want the workflow", parentOf(redo, ship))
	}
	if i := hop(orig, tracing.ComponentWorkflow, sandbox.FulfilmentMachine); orig.Hops[i].Status != graph.HopError {
		t.Errorf("the first attempt's hop is now %s; it failed", orig.Hops[i].Status)
	}
	if byARN, err := eng.Graph().Lineage(arn); err != nil || byARN.ID != orig.ID {
		t.Errorf("lookup by the ARN after the redrive: %s %v, want the event", byARN.ID, err)
	}
	audit, err := os.ReadFile(filepath.Join(state, "audit.log"))
	if err != nil || !strings.Contains(string(audit), `"action":"sfn redrive"`) || !strings.Contains(string(audit), arn) {
		t.Errorf("audit log: %s %v", audit, err)
	}
}

func linked(links []graph.EventLink, rel, id string) bool {
	for _, l := range links {
		if l.Rel == rel && l.ID == id {
			return true
		}
	}
	return false
}
