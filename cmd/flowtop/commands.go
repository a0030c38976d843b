package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowtop/flowtop/engine"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/replay"
)

func (a *app) lineageCommand() *cobra.Command {
	var output, fromFile string
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "lineage <event-id>",
		Short: "print one event's path: producer → broker → consumer, with evidence",
		Long: `Print one event's path. The ID may be any of the event's IDs (EventBridge id,
CloudEvents id, SQS or SNS MessageId, X-Ray/W3C trace ID, Lambda request ID) or a
unique prefix of one. --output svg draws it (with Graphviz's dot when installed);
--from-file answers from a recording made with --record instead of AWS.`,
		Args: exactArgs(1, "an event ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "text", "json", "dot", "mermaid", "svg":
			default:
				return usageErrorf("lineage: unknown --output %q: use text, json, dot, mermaid or svg", output)
			}
			if err := checkRender(a.render); err != nil {
				return err
			}
			if fromFile != "" {
				return a.lineageFromFile(cmd.Context(), fromFile, args[0], output)
			}
			e, err := a.newEngine(cmd.Context(), engineOptions{})
			if err != nil {
				return err
			}
			defer e.Close()
			if _, err := e.Search(cmd.Context(), args[0], since, nil); err != nil {
				return err
			}
			l, err := e.Graph().Lineage(args[0])
			if err != nil {
				return lookupError("lineage", args[0], err, e)
			}
			if err := a.writeLineageAs(l, output); err != nil {
				return err
			}
			return failedSources(e, "finished")
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text, json, dot, mermaid or svg")
	cmd.Flags().StringVar(&fromFile, "from-file", "", "answer from a recording made with --record instead of AWS")
	cmd.Flags().StringVar(&a.render, "render", "auto", "svg renderer: auto (Graphviz dot when installed), graphviz or builtin")
	cmd.Flags().DurationVar(&since, "since", time.Hour, "how far back to search")
	return cmd
}

func (a *app) costCommand() *cobra.Command {
	var output, sortBy, fromFile string
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "cost",
		Short: "per-function invocations, errors, latency percentiles and cost",
		Long: `Print per-function figures from REPORT log lines over a window: invocations,
errors, timeouts, cold starts, p50/p95/p99 duration, memory, GB-seconds, cost for
the window and projected per month. Prices: see the README's price table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch output {
			case "table", "json", "csv":
			default:
				return usageErrorf("cost: unknown --output %q: use table, json or csv", output)
			}
			if _, ok := costSorts[sortBy]; !ok {
				return sortFunctions(nil, sortBy)
			}
			if fromFile != "" {
				return a.costFromFile(cmd.Context(), fromFile, sortBy, output)
			}
			e, err := a.newEngine(cmd.Context(), engineOptions{})
			if err != nil {
				return err
			}
			defer e.Close()
			if err := e.Collect(cmd.Context(), since); err != nil {
				return err
			}
			fns := e.Graph().Functions()
			if err := sortFunctions(fns, sortBy); err != nil {
				return err
			}
			if err := writeCost(a.stdout, fns, output); err != nil {
				return err
			}
			return failedSources(e, "finished")
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table, json or csv")
	cmd.Flags().StringVar(&sortBy, "sort", "cost", "cost, name, invocations, errors, p95, p99 or cold")
	cmd.Flags().DurationVar(&since, "since", 24*time.Hour, "the window: how far back from now")
	cmd.Flags().StringVar(&fromFile, "from-file", "", "the whole of a recording made with --record, instead of AWS")
	return cmd
}

func (a *app) tailCommand() *cobra.Command {
	var since, timeout time.Duration
	var untilFinal, jsonOut bool
	cmd := &cobra.Command{
		Use:   "tail <event-id>",
		Short: "follow one event live: the console on a terminal, NDJSON when piped",
		Long: `Follow one event by any of its IDs (or a unique prefix) as it moves. On a terminal
this opens the console's event screen; when stdout is not a terminal (or with
--json) it prints one JSON object per hop as hops appear, for jq.`,
		Args: exactArgs(1, "an event ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := a.newEngine(ctx, engineOptions{})
			if err != nil {
				return err
			}
			defer e.Close()
			if since > 0 {
				if _, err := e.Search(ctx, args[0], since, nil); err != nil {
					return err
				}
			}
			e.Start(ctx)
			if a.isTTY && !jsonOut {
				return a.runTUI(ctx, e, args[0])
			}
			if timeout == 0 {
				timeout = 24 * time.Hour
			}
			err = followNDJSON(ctx, e.Graph(), a.stdout, args[0], 250*time.Millisecond, timeout, untilFinal)
			if exitCode(err) == exitNotFound {
				if ferr := failedSources(e, fmt.Sprintf("tail: no event with ID %q was seen", clean(args[0]))); ferr != nil {
					return ferr
				}
			}
			return err
		},
	}
	cmd.Flags().DurationVar(&since, "since", 0, "also search history this far back (server-side queries)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "stop after this long (default: until Ctrl-C)")
	cmd.Flags().BoolVar(&untilFinal, "until-final", false, "exit once the event succeeds, fails for good or is dead-lettered")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print NDJSON even on a terminal")
	return cmd
}

func (a *app) dlqCommand() *cobra.Command {
	dlq := &cobra.Command{
		Use:   "dlq",
		Short: "list, peek into and redrive dead-letter queues",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf("dlq: say ls, peek <queue> or redrive <queue> (see flowtop dlq --help)")
		},
	}
	var lsOutput, peekOutput string
	ls := &cobra.Command{
		Use:   "ls",
		Short: "list the dead-letter queues with depth, oldest message age and sources",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := a.newEngine(cmd.Context(), engineOptions{})
			if err != nil {
				return err
			}
			defer e.Close()
			return dlqList(cmd.Context(), e, a.stdout, lsOutput)
		},
	}
	ls.Flags().StringVarP(&lsOutput, "output", "o", "table", "table or json")
	var max int
	peek := &cobra.Command{
		Use:   "peek <queue>",
		Short: "show messages in a DLQ without removing them (raises their receive count)",
		Args:  exactArgs(1, "a queue name or URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.newEngine(cmd.Context(), engineOptions{})
			if err != nil {
				return err
			}
			defer e.Close()
			return dlqPeek(cmd.Context(), e, a.stdout, args[0], max, peekOutput)
		},
	}
	peek.Flags().IntVarP(&max, "max", "n", 10, "messages to show at most")
	peek.Flags().StringVarP(&peekOutput, "output", "o", "text", "text or json")
	var to, method string
	var dryRun, yes bool
	redrive := &cobra.Command{
		Use:   "redrive <queue>",
		Short: "move a DLQ's messages back to their source (or --to a target), losing none",
		Long: `Redrive a dead-letter queue: print the plan (where each message goes, the method,
warnings), ask for confirmation (--yes to skip), then move the messages. The native
SQS message move task is used where it applies; otherwise each message is
journaled locally, sent, confirmed and only then deleted, so a crash or Ctrl-C can
be resumed with nothing lost. --dry-run prints the plan and changes nothing.`,
		Args: exactArgs(1, "a queue name or URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.newEngine(cmd.Context(), engineOptions{})
			if err != nil {
				return err
			}
			defer e.Close()
			return a.dlqRedrive(cmd.Context(), e, redriveArgs{queue: args[0], to: to, method: method, dryRun: dryRun, yes: yes})
		},
	}
	redrive.Flags().StringVar(&to, "to", "", "target queue (default: each message's source queue)")
	redrive.Flags().StringVar(&method, "method", "auto", "auto, native or journaled")
	redrive.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	redrive.Flags().BoolVarP(&yes, "yes", "y", false, "don't ask for confirmation")
	resume := &cobra.Command{
		Use:   "resume [journal]",
		Short: "finish an interrupted journaled redrive (lists unfinished journals without an argument)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.newEngine(cmd.Context(), engineOptions{})
			if err != nil {
				return err
			}
			defer e.Close()
			rp := e.Replayer()
			if len(args) == 0 {
				js, err := rp.Journals()
				if err != nil {
					return err
				}
				if len(js) == 0 {
					fmt.Fprintln(a.stdout, "no unfinished redrive")
				}
				for _, j := range js {
					fmt.Fprintln(a.stdout, clean(j))
				}
				return nil
			}
			ictx, cancel := interruptible(cmd.Context())
			defer cancel()
			res, err := rp.Resume(ictx, args[0], nil)
			for _, line := range res.Lines() {
				fmt.Fprintln(a.stdout, clean(line))
			}
			return err
		},
	}
	dlq.AddCommand(ls, peek, redrive, resume)
	return dlq
}

func (a *app) replayCommand() *cobra.Command {
	var to, bodyFile, archive, from, name string
	var rules []string
	var edit, dryRun, yes bool
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "replay <event-id> --to kind:name | replay --archive NAME --from T [--to T]",
		Short: "send one event again, as it was or edited, to a bus, topic, queue or function",
		Long: `Send one event again: its DLQ copy (or --body-file), optionally edited in $EDITOR
(--edit), validated, to --to events:BUS (keeping the original source and
detail-type), sns:TOPIC_ARN, sqs:QUEUE or lambda:FUNCTION, tagged as a replay
of the original. The plan is shown and confirmed first (--yes skips).

With --archive, replay an EventBridge archive instead: the events whose time is
in [--from, --to) go again to their bus's rules (all, or each --rule), marked
with replay-name; ctrl-c cancels the replay in EventBridge.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if archive != "" {
				if len(args) > 0 || edit || bodyFile != "" {
					return usageErrorf("replay: --archive replays a window of an archive: it takes no event ID, --edit or --body-file")
				}
				return nil
			}
			return exactArgs(1, "an event ID, or --archive NAME")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if archive != "" {
				return a.replayArchive(cmd.Context(), archiveArgs{archive: archive, from: from, to: to, name: name, rules: rules, dryRun: dryRun, yes: yes})
			}
			target, err := replay.ParseTarget(to)
			if err != nil {
				return usageErrorf("%v", err)
			}
			if a.cfg.ReadOnly && !dryRun {
				// Refuse before the user spends time editing a body that can't be sent.
				return usageErrorf("replay: refused: flowtop runs with --read-only (--dry-run shows the plan)")
			}
			ctx := cmd.Context()
			e, err := a.newEngine(ctx, engineOptions{})
			if err != nil {
				return err
			}
			defer e.Close()
			body, original := "", args[0]
			if bodyFile != "" {
				b, err := os.ReadFile(bodyFile)
				if err != nil {
					return usageErrorf("replay: %v", err)
				}
				body = string(b)
			} else {
				if _, err := e.Search(ctx, args[0], since, nil); err != nil {
					return err
				}
				body, original, err = e.StoredCopy(args[0])
				if errors.Is(err, engine.ErrNoStoredCopy) {
					return notFoundErrorf("replay: no stored copy of %s (it never reached a DLQ): pass --body-file", clean(args[0]))
				}
				if err != nil {
					return lookupError("replay", args[0], err, e)
				}
			}
			if edit {
				if body, err = a.editBody(body); err != nil {
					return err
				}
			}
			rp := e.Replayer()
			plan, err := rp.PlanReplay(ctx, replay.ReplayRequest{OriginalID: original, Body: body, Target: target})
			if err != nil {
				return usageErrorf("%v", err)
			}
			for _, line := range plan.Lines() {
				fmt.Fprintln(a.stdout, clean(line))
			}
			if dryRun {
				fmt.Fprintln(a.stdout, "dry run: nothing was sent")
				return nil
			}
			if !yes {
				ok, err := a.confirm("send it?")
				if err != nil || !ok {
					return err
				}
			}
			id, err := e.ExecuteReplay(ctx, plan) // the graph learns the copy is a replay at once
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "sent; new ID %s (follow it with flowtop tail %s)\n", clean(id), clean(id))
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "target: events:BUS, sns:TOPIC_ARN, sqs:QUEUE or lambda:FUNCTION; with --archive, the window's end (default now)")
	cmd.Flags().StringVar(&archive, "archive", "", "replay this EventBridge archive over --from/--to")
	cmd.Flags().StringVar(&from, "from", "", "with --archive: the window's start, RFC3339 or a time ago (-15m, -2h, -1d)")
	cmd.Flags().StringArrayVar(&rules, "rule", nil, "with --archive: replay to this rule only (repeatable; default every rule)")
	cmd.Flags().StringVar(&name, "replay-name", "", "with --archive: the replay's name (default flowtop-ARCHIVE-TIME)")
	cmd.Flags().StringVar(&bodyFile, "body-file", "", "send this body instead of the stored DLQ copy")
	cmd.Flags().BoolVar(&edit, "edit", false, "edit the body in $EDITOR first")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and send nothing")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "don't ask for confirmation")
	cmd.Flags().DurationVar(&since, "since", time.Hour, "how far back to look for the event")
	return cmd
}

// editBody opens body in $EDITOR (or vi) and returns what was saved.
func (a *app) editBody(body string) (string, error) {
	f, err := os.CreateTemp("", "flowtop-replay-*.json")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	pretty := body
	var v any
	if json.Unmarshal([]byte(body), &v) == nil {
		if b, err := json.MarshalIndent(v, "", "  "); err == nil {
			pretty = string(b)
		}
	}
	if _, err := f.WriteString(pretty); err != nil {
		return "", err
	}
	f.Close()
	editor := a.getenv("EDITOR")
	if editor == "" {
		editor = "vi"
	}
	cmd := exec.Command("sh", "-c", editor+` "$1"`, "sh", f.Name())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("replay: editor %q: %w", editor, err)
	}
	b, err := os.ReadFile(f.Name())
	return string(b), err
}

func (a *app) demoCommand() *cobra.Command {
	var chaos, compat, denyRegion string
	var rate float64
	var seed uint64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "the console over an embedded AWS-compatible sandbox: no AWS account needed",
		Long: `Start, on 127.0.0.1, an AWS-compatible endpoint and a simulated order pipeline
(EventBridge → SQS/SNS → Lambda, with retries, timeouts and a DLQ), point flowtop's
ordinary collectors at it, and open the console. A second, smaller copy of the
pipeline runs in eu-west-1, so the console watches two regions (see :ctx);
--deny-region cuts one off to show the other staying live.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := a.privateOTLP(cmd); err != nil {
				return err
			}
			sb, err := startSandbox(ctx, "127.0.0.1:0", chaos, compat, rate, seed, otlpTarget(a.cfg))
			if err != nil {
				return err
			}
			defer sb.Close()
			if denyRegion != "" {
				if err := sb.Deny(denyRegion); err != nil {
					return err
				}
			}
			if len(a.cfg.Sources.LogGroups) == 0 {
				// The world's API stage writes its access log outside /aws/lambda/.
				a.cfg.Sources.LogGroupPrefixes = append(a.cfg.Sources.LogGroupPrefixes, demoAccessLogPrefix)
			}
			e, err := a.newEngine(ctx, engineOptions{endpoint: sb.URL(), regions: sb.Regions()})
			if err != nil {
				return err
			}
			defer e.Close()
			e.Start(ctx)
			if !a.isTTY {
				return usageErrorf("demo: the console needs a terminal; use `flowtop sandbox` to run the sandbox alone")
			}
			return a.runTUI(ctx, e, "")
		},
	}
	cmd.Flags().StringVar(&chaos, "chaos", "", "inject faults, e.g. sqs:throttle=0.1,logs.FilterLogEvents:5xx=0.05,*:latency=20ms")
	cmd.Flags().StringVar(&compat, "compat", "aws", "aws, or field: behave like other AWS-compatible endpoints (HTML 500 on StartMessageMoveTask, DLQ moves without DeadLetterQueueSourceArn)")
	cmd.Flags().Float64Var(&rate, "rate", 0, "orders per second (default: the sandbox's)")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "make the simulated world deterministic")
	cmd.Flags().StringVar(&denyRegion, "deny-region", "", "answer every call signed for this region (us-east-1 or eu-west-1) access-denied, as a missing IAM permission would")
	return cmd
}

func (a *app) sandboxCommand() *cobra.Command {
	var addr, chaos, compat string
	var rate float64
	var seed uint64
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "run only the embedded AWS-compatible endpoint and the simulated world",
		Long: `Run the sandbox endpoint and the simulated order pipeline, and print the environment
lines that point flowtop, the AWS CLI or your own code at it. Stop with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			sb, err := startSandbox(ctx, addr, chaos, compat, rate, seed, otlpTarget(a.cfg))
			if err != nil {
				return err
			}
			defer sb.Close()
			fmt.Fprintln(a.stdout, "# flowtop sandbox is running; paste these lines into a shell, then try:")
			fmt.Fprintln(a.stdout, "#   flowtop dlq ls      aws sqs list-queues      aws logs describe-log-groups")
			fmt.Fprintln(a.stdout, "#   a smaller world runs in "+secondRegion+" too:  flowtop --region us-east-1,"+secondRegion)
			for _, kv := range sb.Env() {
				fmt.Fprintln(a.stdout, "export "+kv)
			}
			if f, ok := a.stdout.(*os.File); ok {
				_ = f.Sync()
			}
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:4566", "listen address (loopback only)")
	cmd.Flags().StringVar(&chaos, "chaos", "", "inject faults, e.g. sqs:throttle=0.1,sqs.SendMessageBatch:lost=0.1,*:latency=20ms")
	cmd.Flags().StringVar(&compat, "compat", "aws", "aws, or field: behave like other AWS-compatible endpoints (HTML 500 on StartMessageMoveTask, DLQ moves without DeadLetterQueueSourceArn)")
	cmd.Flags().Float64Var(&rate, "rate", 0, "orders per second (default: the sandbox's)")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "make the simulated world deterministic")
	return cmd
}

// exactArgs is cobra.ExactArgs with a message that says what is missing and a usage exit code.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s: want %s (see flowtop %s --help)", cmd.Name(), what, cmd.Name())
		}
		return nil
	}
}

// lookupError turns graph lookup errors into exit codes: not found is exit 3,
// unless sources failed, which is exit 4 naming them (the event may exist).
func lookupError(cmd, id string, err error, e *engine.Engine) error {
	switch {
	case errors.Is(err, graph.ErrNotFound):
		if ferr := failedSources(e, fmt.Sprintf("%s: no event with ID %q was found", cmd, clean(id))); ferr != nil {
			return ferr
		}
		return notFoundErrorf("%s: no event with ID %q was found: check the ID, widen --since, or check that its log groups are watched", cmd, clean(id))
	case errors.Is(err, graph.ErrAmbiguous):
		var ids []string
		for _, m := range e.Graph().Find(id, 6) {
			ids = append(ids, clean(m.ID))
		}
		if len(ids) > 5 {
			ids = append(ids[:5], "…")
		}
		return usageErrorf("%s: %q matches more than one event (%s): give one of their IDs, or more of the ID", cmd, clean(id), strings.Join(ids, ", "))
	}
	return err
}

// confirm asks a yes/no question on the terminal; without one it refuses.
func (a *app) confirm(question string) (bool, error) {
	if f, ok := a.stdin.(*os.File); !ok || !isTerminal(f) {
		return false, usageErrorf("not asking %q without a terminal: pass --yes to confirm, or --dry-run to only see the plan", question)
	}
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	var answer string
	_, _ = fmt.Fscanln(a.stdin, &answer)
	answer = strings.ToLower(strings.TrimSpace(answer))
	return answer == "y" || answer == "yes", nil
}

// interruptible returns a context that a second Ctrl-C cancels, for long actions.
func interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt)
}

// privateOTLP gives the demo a receiver of its own: the world's spans go to
// a free loopback port only this console listens on, so a demo never feeds
// another flowtop on the default ports nor shows another's spans. An
// address the user gave on the command line still wins.
func (a *app) privateOTLP(cmd *cobra.Command) error {
	f := cmd.Flags()
	if !f.Changed("otlp-grpc") {
		a.cfg.Sources.OTLPGRPC = ""
	}
	if f.Changed("otlp-http") {
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: no free loopback port for the world's spans: %w", err)
	}
	a.cfg.Sources.OTLPHTTP = ln.Addr().String()
	return ln.Close()
}
