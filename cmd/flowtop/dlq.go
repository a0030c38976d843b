package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/engine"
	"github.com/flowtop/flowtop/replay"
	"github.com/flowtop/flowtop/tracing"
)

func dlqList(ctx context.Context, e *engine.Engine, w io.Writer, output string) error {
	dlqs, err := e.DLQs(ctx)
	if err != nil {
		return err
	}
	switch output {
	case "json":
		type row struct {
			Queue    string   `json:"queue"`
			URL      string   `json:"url"`
			Depth    int      `json:"depth"`
			InFlight int      `json:"in_flight"`
			Sources  []string `json:"sources"`
			Context  string   `json:"context,omitempty"`
			Account  string   `json:"account,omitempty"`
			Region   string   `json:"region,omitempty"`
		}
		rows := []row{}
		for _, q := range dlqs {
			rows = append(rows, row{q.Name, q.URL, q.Depth, q.InFlight, q.Sources, q.Context, q.Account, q.Region})
		}
		enc := newJSONEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "table", "":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		placed := len(e.Contexts()) > 1 // two regions' DLQs of one name: a REGION column tells them apart
		if placed {
			fmt.Fprintln(tw, "DLQ\tREGION\tDEPTH\tIN FLIGHT\tSOURCES")
		} else {
			fmt.Fprintln(tw, "DLQ\tDEPTH\tIN FLIGHT\tSOURCES")
		}
		for _, q := range dlqs {
			if placed {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", clean(q.Name), clean(regionOf(e, q)), q.Depth, q.InFlight, clean(strings.Join(q.Sources, ", ")))
				continue
			}
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

// regionOf says where q lives: its region, or account/region when the
// watched contexts span accounts.
func regionOf(e *engine.Engine, q engine.QueueIn) string {
	accounts := map[string]bool{}
	for _, c := range e.Contexts() {
		accounts[c.Account] = true
	}
	if len(accounts) > 1 {
		return q.Account + "/" + q.Region
	}
	return q.Region
}

// ambiguous turns a bare name found in several watched contexts into the
// usage error that names them and says how to pick one.
func ambiguous(cmd string, err error) error {
	var amb *engine.AmbiguousError
	if errors.As(err, &amb) {
		return usageErrorf("%s: %s is in %d watched contexts (%s): name it by its ARN, or watch one with --region",
			cmd, clean(amb.What), len(amb.Candidates), clean(strings.Join(amb.Candidates, ", ")))
	}
	return err
}

func dlqPeek(ctx context.Context, e *engine.Engine, w io.Writer, queue string, max int, output string) error {
	obs, err := e.Peek(ctx, queue, max)
	if err != nil {
		if errors.Is(err, engine.ErrAmbiguous) {
			return ambiguous("dlq peek", err)
		}
		if awsutil.Classify(err) == awsutil.KindNotFound {
			return notFoundErrorf("dlq peek: no queue named %q: see `flowtop dlq ls`", clean(queue))
		}
		return err
	}
	switch output {
	case "json":
		enc := newJSONEncoder(w)
		for _, o := range obs {
			m := o.Message
			if err := enc.Encode(map[string]any{
				"message_id": m.ID, "receive_count": m.ReceiveCount, "source_queue": m.SourceQueue,
				"sent": rfc3339(m.SentAt), "keys": keyStrings(o.Keys), "body": m.Body, "attributes": m.Attributes,
			}); err != nil {
				return err
			}
		}
	case "text", "":
		for _, o := range obs {
			m := o.Message
			fmt.Fprintf(w, "%s  received %d times  from %s  sent %s\n  keys: %s\n", clean(m.ID), m.ReceiveCount, clean(m.SourceQueue), rfc3339(m.SentAt), keyLine(o.Keys))
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

func (a *app) dlqRedrive(ctx context.Context, e *engine.Engine, r redriveArgs) error {
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
	// With several contexts, the one that holds the queue plans and moves.
	in, err := e.ForQueue(ctx, r.queue)
	if err != nil {
		return ambiguous("dlq redrive", err)
	}
	if name := in.ContextName(); name != "" {
		fmt.Fprintln(a.stdout, "in "+clean(name))
	}
	// The last hour of history tells each message's consumer error.
	_ = e.Collect(ctx, time.Hour)
	plan, err := in.PlanRedrive(ctx, replay.RedriveRequest{DLQ: r.queue, To: r.to, Method: method})
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
	meter := a.progressMeter("moved")
	res, err := in.Replayer().Execute(ictx, plan, func(p replay.Progress) {
		meter.update(p.Moved, p.Total, p.Duplicates, p.Note)
	})
	meter.finish()
	for _, line := range res.Lines() { // moved of total, fallback, duplicates, each unroutable message and why
		fmt.Fprintln(a.stdout, clean(line))
	}
	if err != nil && res.Journal != "" && !strings.HasSuffix(res.Journal, ".done") {
		return fmt.Errorf("dlq redrive: %w; nothing is lost: resume with the journal %s", err, res.Journal)
	}
	return err
}
