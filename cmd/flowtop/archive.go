package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flowtop/flowtop/engine"
	"github.com/flowtop/flowtop/replay"
	"github.com/flowtop/flowtop/tui"
)

// archiveArgs is `flowtop replay --archive NAME --from T --to T`.
type archiveArgs struct {
	archive, from, to, name string
	rules                   []string
	dryRun, yes             bool
}

// maxWhen bounds a time argument's length: RFC3339Nano is 35 characters.
const maxWhen = 64

// parseWhen reads a time argument: RFC3339 (2026-12-03T14:00:00Z, with or
// without fractions and zone offset; a time without a zone is UTC), "now",
// or a time ago: -15m, 15m, -2h30m, -1d (days of 24 hours), 90s.
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, errors.New("empty time: use RFC3339 (2026-12-03T14:00:00Z), now, or a time ago such as -15m")
	case len(s) > maxWhen:
		return time.Time{}, fmt.Errorf("time %q is too long", s[:maxWhen]+"…")
	case s == "now":
		return now, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	ago := strings.TrimSuffix(strings.TrimPrefix(s, "-"), " ago")
	var d time.Duration
	if days, ok := strings.CutSuffix(ago, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return time.Time{}, fmt.Errorf("time %q: want a number of days up to 3650, e.g. -2d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(ago); err != nil || d < 0 || strings.HasPrefix(ago, "+") {
			return time.Time{}, fmt.Errorf("time %q: use RFC3339 (2026-12-03T14:00:00Z), now, or a time ago such as -15m, -2h, -1d", s)
		}
	}
	return now.Add(-d), nil
}

// replayArchive plans an archive replay, prints the plan, asks, starts it and
// follows it to its end; ctrl-c cancels it in EventBridge and waits for
// CANCELLED. Progress goes to stderr: a bar on a terminal, plain lines not.
func (a *app) replayArchive(ctx context.Context, r archiveArgs) error {
	now := time.Now()
	if r.from == "" {
		return usageErrorf("replay: --archive needs --from (and --to, default now): e.g. --from -15m, or --from 2026-12-03T14:00:00Z")
	}
	if r.to == "" {
		r.to = "now"
	}
	from, err := parseWhen(r.from, now)
	if err != nil {
		return usageErrorf("replay: --from: %v", err)
	}
	to, err := parseWhen(r.to, now)
	if err != nil {
		return usageErrorf("replay: --to: %v", err)
	}
	if !to.After(from) {
		return usageErrorf("replay: --to (%s) must be after --from (%s)", to.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
	}
	if a.cfg.ReadOnly && !r.dryRun {
		return usageErrorf("replay: refused: flowtop runs with --read-only (--dry-run shows the plan)")
	}
	e, err := a.newEngine(ctx, engineOptions{})
	if err != nil {
		return err
	}
	defer e.Close()
	return a.runArchiveReplay(ctx, e, r, from, to)
}

func (a *app) runArchiveReplay(ctx context.Context, e *engine.Engine, r archiveArgs, from, to time.Time) error {
	// With several contexts, the one that holds the archive (its ARN's
	// region, else the only one with that name) replays it.
	in, err := e.ForArchive(ctx, r.archive)
	if err != nil {
		return ambiguous("replay", err)
	}
	if name := in.ContextName(); name != "" {
		fmt.Fprintln(a.stdout, "in "+clean(name))
	}
	if strings.HasPrefix(r.archive, "arn:") { // arn:aws:events:REGION:ACCOUNT:archive/NAME
		r.archive = r.archive[strings.LastIndex(r.archive, "/")+1:]
	}
	rp := in.Replayer()
	plan, err := rp.PlanArchive(ctx, replay.ArchiveRequest{Archive: r.archive, From: from, To: to, Rules: r.rules, Name: r.name})
	if err != nil {
		if replay.IsArchiveNotFound(err) {
			names, _ := rp.ArchivesOf(ctx, "")
			known := "none"
			if len(names) > 0 {
				known = strings.Join(names, ", ")
			}
			return notFoundErrorf("replay: no archive named %q (archives: %s)", clean(r.archive), clean(known))
		}
		if strings.Contains(err.Error(), "has no rule") {
			return usageErrorf("%s", clean(err.Error()))
		}
		return err
	}
	for _, line := range plan.Lines() {
		fmt.Fprintln(a.stdout, clean(line))
	}
	if r.dryRun {
		fmt.Fprintln(a.stdout, "dry run: nothing was replayed")
		return nil
	}
	if !r.yes {
		ok, err := a.confirm(fmt.Sprintf("replay archive %s from %s to %s?", plan.Archive, plan.From.Format(time.RFC3339), plan.To.Format(time.RFC3339)))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(a.stderr, "cancelled: nothing was replayed")
			return nil
		}
	}
	ictx, cancel := interruptible(ctx)
	defer cancel()
	meter := a.progressMeter("replayed")
	res, err := rp.ExecuteArchive(ictx, plan, func(p replay.ArchiveProgress) {
		reached := ""
		if !p.LastReplayed.IsZero() {
			reached = "replayed up to " + p.LastReplayed.UTC().Format(time.RFC3339)
		}
		meter.updateShare(p.State, p.Fraction, reached, p.Note)
	})
	meter.finish()
	for _, line := range res.Lines() {
		fmt.Fprintln(a.stdout, clean(line))
	}
	if err != nil && res.Cancelled {
		return fmt.Errorf("replay: interrupted: replay %s ended %s: %w", res.ReplayName, res.State, err)
	}
	return err
}

// planArchive plans the console's replay archive action: the archive it
// names, else the only archive of the event's bus (a.Target events:BUS), else
// the account's only archive.
func (t tuiReplayer) planArchive(ctx context.Context, a tui.Action) (tui.Plan, error) {
	rp := t.e.Replayer()
	name := a.Archive
	if name == "" {
		bus, _ := strings.CutPrefix(a.Target, "events:")
		names, err := rp.ArchivesOf(ctx, bus)
		if err != nil {
			return tui.Plan{}, err
		}
		where := "in this account and region"
		if bus != "" {
			where = "of bus " + bus
		}
		switch len(names) {
		case 0:
			return tui.Plan{}, fmt.Errorf("replay: no archive %s: create one (aws events create-archive) to replay its events", where)
		case 1:
			name = names[0]
		default:
			return tui.Plan{}, fmt.Errorf("replay: %d archives %s (%s): pick one with flowtop replay --archive NAME --from T --to T", len(names), where, strings.Join(names, ", "))
		}
	}
	p, err := rp.PlanArchive(ctx, replay.ArchiveRequest{Archive: name, From: a.From, To: a.To})
	if err != nil {
		return tui.Plan{}, err
	}
	var lines []string
	for _, l := range p.Lines()[1:] {
		if !strings.HasPrefix(l, "warning: ") { // the dialog lists Warnings on their own
			lines = append(lines, l)
		}
	}
	return tui.Plan{Summary: p.Lines()[0], Lines: lines, Warnings: p.Warnings, Count: int(min(p.EventCount, 1<<31-1)), CountLabel: "events in the whole archive", Percent: true, Impl: p}, nil
}

// executeArchive runs a planned archive replay, reporting the share of the
// window replayed; the console's esc cancels it in EventBridge.
func (t tuiReplayer) executeArchive(ctx context.Context, p replay.ArchivePlan, progress func(tui.Progress)) error {
	res, err := t.e.Replayer().ExecuteArchive(ctx, p, func(pr replay.ArchiveProgress) {
		progress(tui.Progress{Done: int(pr.Fraction * 100), Total: 100, Note: archiveProgressNote(pr)})
	})
	done := 0
	if res.State == "COMPLETED" {
		done = 100
	}
	progress(tui.Progress{Done: done, Total: 100, Note: strings.Join(res.Lines(), "; ")})
	return err
}

func archiveProgressNote(p replay.ArchiveProgress) string {
	s := p.State
	if !p.LastReplayed.IsZero() {
		s += ", replayed up to " + p.LastReplayed.UTC().Format(time.RFC3339)
	}
	if p.Note != "" {
		s += " (" + p.Note + ")"
	}
	return s
}
