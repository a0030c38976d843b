package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/collectors/cwlogs"
	"github.com/flowtop/flowtop/collectors/dlq"
	lambdasrc "github.com/flowtop/flowtop/collectors/lambda"
	"github.com/flowtop/flowtop/collectors/otlp"
	"github.com/flowtop/flowtop/collectors/xray"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/replay"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui"
)

func graphConfig(c Config) graph.Config {
	return graph.Config{
		MaxEvents: c.MaxEvents,
		Prices:    graph.DefaultPrices().WithOverrides(c.Prices.X86GBSecond, c.Prices.ARMGBSecond, c.Prices.RequestsPerMillon),
	}
}

// sources builds the collectors over the engine's AWS configuration.
type sources struct {
	lambda *lambdasrc.Source
	logs   *cwlogs.Source
	xray   *xray.Source
	dlq    *dlq.Source
}

func (e *engine) sources() sources {
	if e.src != nil {
		return *e.src
	}
	custom := e.aws.BaseEndpoint != nil && *e.aws.BaseEndpoint != ""
	lam := lambdasrc.New(awslambda.NewFromConfig(e.aws), lambdasrc.Config{})
	var groups []cwlogs.Group
	for _, g := range e.cfg.Sources.LogGroups {
		groups = append(groups, cwlogs.Group{Name: g, Function: strings.TrimPrefix(g, "/aws/lambda/")})
	}
	logs := cwlogs.New(cwl.NewFromConfig(e.aws), cwlogs.Config{
		Groups: groups, Prefixes: e.cfg.Sources.LogGroupPrefixes, LiveTail: e.cfg.Sources.LiveTail, CustomEndpoint: custom,
		Poll: e.cfg.Sources.Poll, Lookback: e.cfg.Sources.Lookback,
		Options: tracing.LogOptions{CorrelationFields: e.cfg.Correlation},
		GroupsFunc: func() []cwlogs.Group {
			if len(e.cfg.Sources.LogGroups) > 0 {
				return nil // the user chose the groups
			}
			var gs []cwlogs.Group
			for _, f := range lam.Functions() {
				gs = append(gs, cwlogs.Group{Name: f.LogGroup, Function: f.Name})
			}
			return gs
		},
	})
	s := sources{
		lambda: lam,
		logs:   logs,
		xray:   xray.New(awsxray.NewFromConfig(e.aws), xray.Config{Lookback: e.cfg.Sources.Lookback}),
		dlq:    dlq.New(sqs.NewFromConfig(e.aws), dlq.Config{Queues: e.cfg.Sources.Queues, ReadOnly: e.cfg.ReadOnly, Options: tracing.UnwrapOptions{CorrelationFields: e.cfg.Correlation}}),
	}
	e.src = &s
	return s
}

// liveSources are the collectors the hub runs for live modes: every one
// listens for OTLP too, unless both addresses are off.
func (e *engine) liveSources() []collectors.Source {
	s := e.sources()
	out := []collectors.Source{s.lambda, s.logs, s.dlq}
	if e.cfg.Sources.XRay {
		out = append(out, s.xray)
	}
	if r := e.otlpReceiver(); r != nil {
		out = append(out, r)
	}
	return out
}

// otlpReceiver is the OTLP source, or nil when it is off or can't be built
// (a bad address is reported by Validate before this).
func (e *engine) otlpReceiver() *otlp.Receiver {
	if e.cfg.Sources.OTLPGRPC == "" && e.cfg.Sources.OTLPHTTP == "" {
		return nil
	}
	if e.otlp != nil {
		return e.otlp
	}
	off := func(a string) string {
		if a == "" {
			return "off"
		}
		return a
	}
	r, err := otlp.New(otlp.Config{GRPCAddr: off(e.cfg.Sources.OTLPGRPC), HTTPAddr: off(e.cfg.Sources.OTLPHTTP)})
	if err != nil {
		e.noteFailure("otlp", err)
		return nil
	}
	e.otlp = r
	return r
}

// collectHistory reads a window of history into the graph. With an ID it
// searches for that event's keys (server-side), adds the keys each answer
// reveals, and searches again until nothing new appears or a bound is reached.
func (e *engine) collectHistory(ctx context.Context, window time.Duration, id string) error {
	s := e.sources()
	from, to := since(window)
	fns, err := s.lambda.Discover(ctx)
	if err != nil {
		e.noteFailure("lambda", err)
	} else {
		e.ingest(lambdasrc.Batch(fns, to))
	}
	if qs, err := s.dlq.List(ctx); err != nil {
		e.noteFailure("dlq", err)
	} else {
		for _, q := range qs {
			q := q
			e.ingest(tracing.Batch{{Kind: tracing.ObsQueue, Source: "dlq", Time: to, Component: tracing.Component{Kind: tracing.ComponentQueue, Name: q.Name}, Queue: &q}})
			if q.IsDLQ && q.Depth > 0 {
				obs, err := s.dlq.Peek(ctx, q.URL, 100)
				if err != nil {
					e.noteFailure("dlq", err)
				}
				e.ingest(obs)
			}
		}
	}
	if e.cfg.Sources.XRay {
		if b, err := s.xray.Collect(ctx, from, to); err != nil && awsutil.Classify(err) != awsutil.KindUnsupported {
			e.noteFailure("xray", err)
		} else {
			e.ingest(b)
		}
	}
	if id == "" {
		b, err := s.logs.Collect(ctx, from, to, "")
		if err != nil {
			e.noteFailure("cwlogs", err)
		}
		e.ingest(b)
		return ctx.Err()
	}
	// Follow the keys: search, learn, search again.
	asked := map[string]bool{}
	next := []string{id}
	for round := 0; round < 4 && len(next) > 0 && len(asked) < 64; round++ {
		for _, k := range next {
			asked[k] = true
		}
		b, err := s.logs.Search(ctx, next, from, to)
		if err != nil {
			e.noteFailure("cwlogs", err)
			break
		}
		e.ingest(b)
		next = next[:0]
		if l, err := e.graph.Lineage(id); err == nil {
			for _, k := range l.Keys {
				if (k.Kind == tracing.KeyRequestID || k.Kind == tracing.KeyMessageID || k.Kind == tracing.KeyEventID) && !asked[k.Value] {
					next = append(next, k.Value)
				}
			}
		}
	}
	return ctx.Err()
}

// feed is what the console reads: the graph plus the hub's source health.
type feed struct {
	*graph.Graph
	hub *collectors.Hub
}

func (f feed) Health() []tracing.SourceHealth { return f.hub.Health() }

func (a *app) runTUI(ctx context.Context, e *engine, tailID string) error {
	return tui.Run(ctx, tui.Options{
		Feed:     feed{Graph: e.graph, hub: e.hub},
		Replayer: tuiReplayer{a.replayer(e)},
		ReadOnly: a.cfg.ReadOnly,
		Title:    e.title,
		NoColor:  a.cfg.NoColor,
		TailID:   tailID,
	})
}

func (e *engine) dlqList(ctx context.Context, w io.Writer, output string) error {
	qs, err := e.sources().dlq.List(ctx)
	if err != nil {
		return err
	}
	var dlqs []tracing.QueueInfo
	for _, q := range qs {
		if q.IsDLQ {
			dlqs = append(dlqs, q)
		}
	}
	switch output {
	case "json":
		type row struct {
			Queue    string   `json:"queue"`
			URL      string   `json:"url"`
			Depth    int      `json:"depth"`
			InFlight int      `json:"in_flight"`
			Sources  []string `json:"sources"`
		}
		rows := []row{}
		for _, q := range dlqs {
			rows = append(rows, row{q.Name, q.URL, q.Depth, q.InFlight, q.Sources})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "table", "":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DLQ\tDEPTH\tIN FLIGHT\tSOURCES")
		for _, q := range dlqs {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", clean(q.Name), q.Depth, q.InFlight, clean(strings.Join(q.Sources, ", ")))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(dlqs) == 0 {
			fmt.Fprintln(w, "(no queue is named as a dead-letter queue by any RedrivePolicy)")
		}
		return nil
	}
	return usageErrorf("dlq ls: unknown --output %q: use table or json", output)
}

func (e *engine) dlqPeek(ctx context.Context, w io.Writer, queue string, max int, output string) error {
	obs, err := e.sources().dlq.Peek(ctx, queue, max)
	if err != nil {
		if awsutil.Classify(err) == awsutil.KindNotFound {
			return notFoundErrorf("dlq peek: no queue named %q: see `flowtop dlq ls`", clean(queue))
		}
		return err
	}
	switch output {
	case "json":
		enc := json.NewEncoder(w)
		for _, o := range obs {
			m := o.Message
			if err := enc.Encode(map[string]any{"message_id": m.ID, "receive_count": m.ReceiveCount, "source_queue": m.SourceQueue,
				"sent": rfc3339(m.SentAt), "keys": keyStrings(o.Keys), "body": m.Body, "attributes": m.Attributes}); err != nil {
				return err
			}
		}
	case "text", "":
		for _, o := range obs {
			m := o.Message
			fmt.Fprintf(w, "%s  received %d times  from %s  sent %s\n  keys: %s\n", clean(m.ID), m.ReceiveCount, clean(m.SourceQueue), rfc3339(m.SentAt), strings.Join(keyStrings(o.Keys), " "))
			for _, line := range strings.Split(tracing.Sanitize(m.Body, true), "\n") {
				fmt.Fprintln(w, "  "+line)
			}
		}
		fmt.Fprintf(w, "(%d messages; peeking gives them back at once but raises their receive count)\n", len(obs))
	default:
		return usageErrorf("dlq peek: unknown --output %q: use text or json", output)
	}
	return nil
}

type redriveArgs struct {
	queue, to, method string
	dryRun, yes       bool
}

// stateDir is where journals and the audit log live: $XDG_STATE_HOME/flowtop
// or ~/.local/state/flowtop.
func stateDir(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "flowtop")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "flowtop")
	}
	return filepath.Join(os.TempDir(), "flowtop-state")
}

func (a *app) replayer(e *engine) *replay.Replayer {
	return replay.New(sqs.NewFromConfig(e.aws), replay.Options{ReadOnly: a.cfg.ReadOnly, StateDir: stateDir(a.getenv)}).
		WithBrokers(replay.Brokers{EventBridge: eventbridge.NewFromConfig(e.aws), SNS: sns.NewFromConfig(e.aws), Lambda: awslambda.NewFromConfig(e.aws)})
}

// consumerErrors joins each DLQ message to the consumer error the graph knows.
func (e *engine) consumerErrors(ctx context.Context, queue string) map[string]string {
	_ = e.collectHistory(ctx, time.Hour, "")
	out := map[string]string{}
	for _, m := range e.graph.DLQMessages(queueNameOf(queue)) {
		out[m.MessageID] = m.Error
	}
	return out
}

func queueNameOf(s string) string {
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (e *engine) dlqRedrive(ctx context.Context, a *app, r redriveArgs) error {
	rp := a.replayer(e)
	method := replay.Method(r.method)
	switch method {
	case replay.MethodAuto, replay.MethodNative, replay.MethodJournaled:
	default:
		return usageErrorf("dlq redrive: unknown --method %q: use auto, native or journaled", r.method)
	}
	if a.cfg.ReadOnly && !r.dryRun {
		// Refuse before reading anything: planning peeks the DLQ and reads history.
		return usageErrorf("dlq redrive: refused: flowtop runs with --read-only (--dry-run shows the plan)")
	}
	plan, err := rp.PlanRedrive(ctx, replay.RedriveRequest{DLQ: r.queue, To: r.to, Method: method, ConsumerErrors: e.consumerErrors(ctx, r.queue)})
	if err != nil {
		if awsutil.Classify(err) == awsutil.KindNotFound {
			return notFoundErrorf("dlq redrive: no queue named %q: see `flowtop dlq ls`", clean(r.queue))
		}
		return err
	}
	for _, line := range plan.Lines() {
		fmt.Fprintln(a.stdout, clean(line))
	}
	if len(plan.Groups) > 0 {
		fmt.Fprintln(a.stdout, "note: grouping by consumer error peeked the DLQ (each message's receive count rose by one; nothing was moved)")
	}
	if r.dryRun {
		fmt.Fprintln(a.stdout, "dry run: nothing was changed")
		return nil
	}
	if !r.yes {
		ok, err := a.confirm(fmt.Sprintf("redrive %d messages from %s?", plan.Count, plan.DLQ))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(a.stderr, "cancelled: nothing was changed")
			return nil
		}
	}
	ictx, cancel := interruptible(ctx)
	defer cancel()
	res, err := rp.Execute(ictx, plan, func(p replay.Progress) {
		if p.Note != "" {
			fmt.Fprintln(a.stderr, clean(p.Note))
		}
	})
	for _, line := range res.Lines() { // moved of total, fallback, duplicates, each unroutable message and why
		fmt.Fprintln(a.stdout, clean(line))
	}
	if err != nil && res.Journal != "" && !strings.HasSuffix(res.Journal, ".done") {
		return fmt.Errorf("dlq redrive: %w; nothing is lost: resume with the journal %s", err, res.Journal)
	}
	return err
}

// tuiReplayer adapts replay to the console's actions.
type tuiReplayer struct{ r *replay.Replayer }

func (t tuiReplayer) Plan(ctx context.Context, a tui.Action) (tui.Plan, error) {
	if a.Kind == tui.ActionReplay {
		target, err := replay.ParseTarget(a.Target)
		if err != nil {
			return tui.Plan{}, err
		}
		p, err := t.r.PlanReplay(ctx, replay.ReplayRequest{OriginalID: a.EventID, Body: a.Body, Target: target})
		if err != nil {
			return tui.Plan{}, err
		}
		return tui.Plan{Summary: p.Lines()[0], Lines: p.Lines(), Warnings: p.Warnings, Count: 1, Impl: p}, nil
	}
	p, err := t.r.PlanRedrive(ctx, replay.RedriveRequest{DLQ: a.Queue, To: a.Target, MessageIDs: a.MessageIDs, Method: replay.MethodAuto})
	if err != nil {
		return tui.Plan{}, err
	}
	return tui.Plan{Summary: strings.Join(p.Lines()[:min(2, len(p.Lines()))], ", "), Lines: p.Lines(), Warnings: p.Warnings, Count: p.Count, Impl: p}, nil
}

func (t tuiReplayer) Execute(ctx context.Context, p tui.Plan, progress func(tui.Progress)) error {
	if rp, ok := p.Impl.(replay.ReplayPlan); ok {
		id, err := t.r.ExecuteReplay(ctx, rp)
		progress(tui.Progress{Done: 1, Total: 1, Note: "new ID " + id})
		return err
	}
	plan, ok := p.Impl.(replay.RedrivePlan)
	if !ok {
		return errors.New("replay: not a redrive plan")
	}
	res, err := t.r.Execute(ctx, plan, func(pr replay.Progress) {
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
	defer e.close()
	e.start(ctx)
	return a.runTUI(ctx, e, "")
}
