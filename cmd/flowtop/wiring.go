package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/flowtop/flowtop/engine"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/replay"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui"
)

// engineOptions says how a command wants the engine.
type engineOptions struct {
	endpoint string // the sandbox's URL: use it with dummy credentials
}

// newEngine loads the AWS configuration (or points at the sandbox) and
// builds the engine from the user's configuration.
func (a *app) newEngine(ctx context.Context, opts engineOptions) (*engine.Engine, error) {
	var s engine.Settings
	if opts.endpoint != "" {
		s.AWS = sandboxAWS(opts.endpoint)
		s.Title = "sandbox " + opts.endpoint
	} else {
		awsCfg, err := loadAWS(ctx, a.cfg)
		if err != nil {
			return nil, err
		}
		s.AWS, s.Title = awsCfg, describeTarget(awsCfg)
	}
	c := a.cfg
	s.Graph = graph.Config{
		MaxEvents: c.MaxEvents,
		Prices:    graph.DefaultPrices().WithOverrides(c.Prices.X86GBSecond, c.Prices.ARMGBSecond, c.Prices.RequestsPerMillon),
	}
	s.Sources = engine.Sources{
		LogGroups: c.Sources.LogGroups, LogGroupPrefixes: c.Sources.LogGroupPrefixes, Queues: c.Sources.Queues,
		XRay: c.Sources.XRay, LiveTail: c.Sources.LiveTail, OTLPGRPC: c.Sources.OTLPGRPC, OTLPHTTP: c.Sources.OTLPHTTP,
		Lookback: c.Sources.Lookback, Poll: c.Sources.Poll,
	}
	s.Correlation = c.Correlation
	s.Memory = c.Memory
	s.ReadOnly = c.ReadOnly
	s.StateDir = stateDir(a.getenv)
	s.Logger = slog.Default()
	e, err := engine.New(s)
	if err != nil {
		return nil, err
	}
	for _, f := range e.Failures() {
		if f.Source == "otlp" { // a refused or non-loopback listen address is said at start, not only in the header
			fmt.Fprintf(a.stderr, "flowtop: %s\n", clean(f.Err))
		}
	}
	if a.record != "" {
		if err := e.Record(a.record, versionLine()); err != nil {
			return nil, usageErrorf("--record: %v", err)
		}
	}
	slog.Info("engine ready", tracing.LogKeyTarget, s.Title)
	return e, nil
}

// failedSources is the exit-4 error naming every source that failed, or nil.
func failedSources(e *engine.Engine, what string) error {
	var fe *engine.FailedSourcesError
	if err := e.Err(); errors.As(err, &fe) {
		return partialErrorf("%s, but %s", what, fe.Error())
	}
	return nil
}

// feed is what the console reads: the graph plus the engine's source health.
type feed struct {
	*graph.Graph
	e *engine.Engine
}

func (f feed) Health() []tracing.SourceHealth { return f.e.Health() }

func (a *app) runTUI(ctx context.Context, e *engine.Engine, tailID string) error {
	slog.Info("console start", tracing.LogKeyTarget, e.Title(), tracing.LogKeyID, tailID)
	err := tui.Run(ctx, tui.Options{
		Feed:     feed{Graph: e.Graph(), e: e},
		Replayer: tuiReplayer{e},
		ReadOnly: a.cfg.ReadOnly,
		Title:    e.Title(),
		NoColor:  a.cfg.NoColor,
		TailID:   tailID,
		Searcher: e,
	})
	if err != nil {
		slog.Error("console stopped", tracing.LogKeyError, err.Error())
	} else {
		slog.Info("console stopped")
	}
	return err
}

// stateDir is where journals and the audit log live: $XDG_STATE_HOME/flowtop
// or $HOME/.local/state/flowtop, from the injected environment.
func stateDir(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "flowtop")
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".local", "state", "flowtop")
	}
	return filepath.Join(tempDir(getenv), "flowtop-state")
}

func tempDir(getenv func(string) string) string {
	if d := getenv("TMPDIR"); d != "" {
		return d
	}
	return "/tmp"
}

// tuiReplayer adapts the engine's replay to the console's actions.
type tuiReplayer struct{ e *engine.Engine }

func (t tuiReplayer) Plan(ctx context.Context, a tui.Action) (tui.Plan, error) {
	if a.Kind == tui.ActionRedriveExecution {
		return sfnPlan(ctx, t.e, a.EventID) // sfn.go
	}
	if a.Kind == tui.ActionReplay {
		target, err := replay.ParseTarget(a.Target)
		if err != nil {
			return tui.Plan{}, err
		}
		p, err := t.e.Replayer().PlanReplay(ctx, replay.ReplayRequest{OriginalID: a.EventID, Body: a.Body, Target: target})
		if err != nil {
			return tui.Plan{}, err
		}
		return tui.Plan{Summary: p.Lines()[0], Lines: p.Lines(), Warnings: p.Warnings, Count: 1, Impl: p}, nil
	}
	p, err := t.e.PlanRedrive(ctx, replay.RedriveRequest{DLQ: a.Queue, To: a.Target, MessageIDs: a.MessageIDs, Method: replay.MethodAuto})
	if err != nil {
		return tui.Plan{}, err
	}
	return tui.Plan{Summary: strings.Join(p.Lines()[:min(2, len(p.Lines()))], ", "), Lines: p.Lines(), Warnings: p.Warnings, Count: p.Count, Impl: p}, nil
}

func (t tuiReplayer) Execute(ctx context.Context, p tui.Plan, progress func(tui.Progress)) error {
	r := t.e.Replayer()
	if xp, ok := p.Impl.(replay.ExecutionRedrivePlan); ok {
		return sfnExecute(ctx, t.e, xp, progress) // sfn.go
	}
	if rp, ok := p.Impl.(replay.ReplayPlan); ok {
		id, err := t.e.ExecuteReplay(ctx, rp)
		progress(tui.Progress{Done: 1, Total: 1, Note: "new ID " + id})
		return err
	}
	plan, ok := p.Impl.(replay.RedrivePlan)
	if !ok {
		return errors.New("replay: not a redrive plan")
	}
	res, err := r.Execute(ctx, plan, func(pr replay.Progress) {
		progress(tui.Progress{Done: pr.Moved, Total: pr.Total, Note: pr.Note})
	})
	progress(tui.Progress{Done: res.Moved, Total: res.Total, Note: strings.Join(res.Lines(), "; ")}) // the task's own total: never "85 of 43"
	return err
}

// otlpTarget is where the sandbox's world sends OTel spans: flowtop's own
// OTLP/HTTP receiver, when one is configured.
func otlpTarget(c Config) string { return c.Sources.OTLPHTTP }

func startSandbox(ctx context.Context, addr, chaos, compat string, rate float64, seed uint64, otlp string) (*sandbox.Sandbox, error) {
	faults, err := sandbox.ParseChaos(chaos)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	if compat, err = sandbox.ParseCompat(compat); err != nil {
		return nil, usageErrorf("%v", err)
	}
	sb, err := sandbox.Start(ctx, sandbox.Config{Addr: addr, Chaos: faults, Seed: seed, Compat: compat, World: sandbox.WorldConfig{Rate: rate, Seed: seed, OTLPEndpoint: otlp}})
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	return sb, nil
}

// runConsole is plain `flowtop`: the live console over the configured account.
func (a *app) runConsole(ctx context.Context) error {
	if !a.isTTY {
		return usageErrorf("the console needs a terminal; for scripts use tail, lineage, cost or dlq (see --help)")
	}
	e, err := a.newEngine(ctx, engineOptions{})
	if err != nil {
		return err
	}
	defer e.Close()
	e.Start(ctx)
	return a.runTUI(ctx, e, "")
}
