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
	endpoint string   // the sandbox's URL: use it with dummy credentials
	regions  []string // the sandbox's regions, when it runs more than one
}

// newEngine loads the AWS configuration (or points at the sandbox) and
// builds the engine from the user's configuration.
func (a *app) newEngine(ctx context.Context, opts engineOptions) (*engine.Engine, error) {
	var s engine.Settings
	switch watched := a.cfg.WatchedContexts(); {
	case opts.endpoint != "":
		s.AWS = sandboxAWS(opts.endpoint)
		s.Title = "sandbox " + opts.endpoint
		if len(opts.regions) > 1 {
			s.Contexts = sandboxContexts(ctx, opts.endpoint, opts.regions)
		}
	case len(watched) > 1:
		cs, err := loadContexts(ctx, a.cfg, watched, func(msg string) { fmt.Fprintf(a.stderr, "flowtop: %s\n", clean(msg)) })
		if err != nil {
			return nil, err
		}
		s.Contexts, s.AWS = cs, cs[0].AWS
		s.Title = describeContexts(cs)
	default:
		c := a.cfg
		if len(watched) == 1 { // one context from the config file
			c.Profile, c.Region = watched[0].Profile, watched[0].Region
			if watched[0].Endpoint != "" {
				c.EndpointURL = watched[0].Endpoint
			}
		}
		awsCfg, err := loadAWS(ctx, c)
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
		XRay: c.Sources.XRay, LiveTail: c.Sources.LiveTail, CrossAccount: c.Sources.CrossAccount, OTLPGRPC: c.Sources.OTLPGRPC, OTLPHTTP: c.Sources.OTLPHTTP,
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

// sandboxContexts are the sandbox's regions as contexts, each with its
// account from the sandbox's STS.
func sandboxContexts(ctx context.Context, endpoint string, regions []string) []engine.Context {
	out := make([]engine.Context, 0, len(regions))
	for _, r := range regions {
		c := sandboxAWS(endpoint)
		c.Region = r
		out = append(out, engine.Context{Name: "sandbox/" + r, Account: callerAccount(ctx, c), Region: r, AWS: c})
	}
	return out
}

// describeContexts names the watched contexts for the header's title.
func describeContexts(cs []engine.Context) string {
	accounts := map[string]bool{}
	regions := map[string]bool{}
	for _, c := range cs {
		accounts[c.Account] = true
		regions[c.Region] = true
	}
	plural := func(n int, what string) string {
		if n == 1 {
			return "1 " + what
		}
		return fmt.Sprintf("%d %ss", n, what)
	}
	return plural(len(accounts), "account") + " × " + plural(len(regions), "region")
}

func (a *app) runTUI(ctx context.Context, e *engine.Engine, tailID string) error {
	slog.Info("console start", tracing.LogKeyTarget, e.Title(), tracing.LogKeyID, tailID)
	err := tui.Run(ctx, tui.Options{
		Feed:     consoleFeed(e),
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

// placedPlan is a plan and the engine of the context that made it, which
// executes it.
type placedPlan struct {
	e    *engine.Engine
	impl any
}

// in is the engine of the context an action acts in, when several are
// watched: the DLQ's account and region the screen says, else the context
// that holds the queue (by its URL or ARN, or the only one with that name),
// else the one the event was seen in, else the archive's.
func (t tuiReplayer) in(ctx context.Context, a tui.Action) (*engine.Engine, error) {
	switch {
	case len(t.e.Contexts()) < 2:
		return t.e, nil
	case a.Kind == tui.ActionRedriveExecution: // the execution's ARN names its region
		return t.e.In(graph.RefPlace(a.EventID))
	case a.Region != "" || a.Account != "":
		return t.e.In(a.Account, a.Region)
	case a.Kind == tui.ActionRedriveAll || a.Kind == tui.ActionRedriveSelected:
		return t.e.ForQueue(ctx, a.Queue)
	}
	if i, ok := t.e.WhereOf(a.EventID); ok {
		return t.e.InContext(i), nil
	}
	if a.Kind == tui.ActionReplayArchive && a.Archive != "" {
		return t.e.ForArchive(ctx, a.Archive)
	}
	return t.e, nil
}

func (t tuiReplayer) Plan(ctx context.Context, a tui.Action) (tui.Plan, error) {
	in, err := t.in(ctx, a)
	if err != nil {
		return tui.Plan{}, err
	}
	p, err := tuiReplayer{in}.plan(ctx, a)
	if err == nil && in != t.e {
		p.Impl = placedPlan{e: in, impl: p.Impl}
		if a.Kind == tui.ActionReplayArchive || a.Kind == tui.ActionRedriveExecution {
			p.Warnings = tuiReplayer{in}.where(p.Warnings)
		}
	}
	return p, err
}

func (t tuiReplayer) plan(ctx context.Context, a tui.Action) (tui.Plan, error) {
	if a.Kind == tui.ActionReplayArchive {
		return t.planArchive(ctx, a) // archive.go
	}
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
		return tui.Plan{Summary: p.Lines()[0], Lines: p.Lines(), Warnings: t.where(p.Warnings), Count: 1, Impl: p}, nil
	}
	p, err := t.e.PlanRedrive(ctx, replay.RedriveRequest{DLQ: a.Queue, To: a.Target, MessageIDs: a.MessageIDs, Method: replay.MethodAuto})
	if err != nil {
		return tui.Plan{}, err
	}
	return tui.Plan{Summary: strings.Join(p.Lines()[:min(2, len(p.Lines()))], ", "), Lines: p.Lines(), Warnings: t.where(p.Warnings), Count: p.Count, Impl: p}, nil
}

// where adds, when several contexts are watched, which one an action acts in.
func (t tuiReplayer) where(warnings []string) []string {
	if name := t.e.ContextName(); name != "" {
		return append(warnings, "acts in "+name)
	}
	return warnings
}

func (t tuiReplayer) Execute(ctx context.Context, p tui.Plan, progress func(tui.Progress)) error {
	if pp, ok := p.Impl.(placedPlan); ok {
		p.Impl = pp.impl
		return tuiReplayer{pp.e}.Execute(ctx, p, progress)
	}
	r := t.e.Replayer()
	if ap, ok := p.Impl.(replay.ArchivePlan); ok {
		return t.executeArchive(ctx, ap, progress) // archive.go
	}
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

// secondRegion is where the sandbox runs its second, smaller world, so the
// demo watches two regions at once.
const secondRegion = "eu-west-1"

// demoSandbox is the sandbox with a second world in another region.
type demoSandbox struct {
	*sandbox.Sandbox
	cancel context.CancelFunc
	done   chan struct{}
}

// Regions are the regions whose worlds run, the sandbox's own first.
func (d *demoSandbox) Regions() []string { return []string{sandbox.Region, secondRegion} }

// Deny cuts region off: every call signed for it is answered access-denied.
func (d *demoSandbox) Deny(region string) error {
	srv := d.Server.InRegion(region)
	if srv == nil {
		return usageErrorf("--deny-region: the sandbox serves at most a few regions")
	}
	srv.Deny("*")
	return nil
}

// Close stops the second world, then the sandbox.
func (d *demoSandbox) Close() error {
	d.cancel()
	<-d.done
	return d.Sandbox.Close()
}

func startSandbox(ctx context.Context, addr, chaos, compat string, rate float64, seed uint64, otlp string) (*demoSandbox, error) {
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
	// The second region's world: the same pipeline at a quarter of the rate,
	// its own IDs, no OTel spans (the receiver is not per region).
	second := sandbox.WorldConfig{Region: secondRegion, Rate: max(rate, 4) / 4}
	if seed != 0 {
		second.Seed = seed + 1
	}
	w, err := sandbox.NewWorld(ctx, sb.URL(), sb.Server, second)
	if err != nil {
		_ = sb.Close()
		return nil, fmt.Errorf("sandbox: %s: %w", secondRegion, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	d := &demoSandbox{Sandbox: sb, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		_ = w.Run(wctx)
	}()
	return d, nil
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

// demoAccessLogPrefix begins the names of the demo world's API access-log
// groups, which lie outside /aws/lambda/.
const demoAccessLogPrefix = sandbox.AccessLogPrefix
