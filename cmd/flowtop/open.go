package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flowtop/flowtop/engine"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui"
)

// graphConfig is the graph's configuration from the user's.
func (a *app) graphConfig() graph.Config {
	c := a.cfg
	return graph.Config{
		MaxEvents: c.MaxEvents,
		Prices:    graph.DefaultPrices().WithOverrides(c.Prices.X86GBSecond, c.Prices.ARMGBSecond, c.Prices.RequestsPerMillon),
	}
}

func (a *app) openCommand() *cobra.Command {
	var speed string
	var paused bool
	cmd := &cobra.Command{
		Use:   "open <file>",
		Short: "open the console over a recording made with --record",
		Long: `Open the console over a recording made with --record FILE: the observations
are replayed into the graph by the times they reached it, with time controls —
space pauses and resumes, + and < change speed (1×, 2×, 10×, max), [ and ] jump
10 s, :goto 12:03:10 or :goto -30s jumps anywhere. Nothing reaches AWS.
A recording cut short by a crash opens with its torn tail dropped (said on stderr).`,
		Args: exactArgs(1, "a recording file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !a.isTTY {
				return usageErrorf("open: the console needs a terminal; for scripts use lineage or cost --from-file %s", clean(args[0]))
			}
			p, err := a.openRecording(args[0])
			if err != nil {
				return err
			}
			steps := map[string]int{"1": 0, "1x": 0, "2": 1, "2x": 1, "10": 2, "10x": 2, "max": 3}
			n, ok := steps[strings.ToLower(speed)]
			if !ok {
				return usageErrorf("open: unknown --speed %q: use 1, 2, 10 or max", speed)
			}
			for range n {
				p.Faster()
			}
			if paused {
				p.TogglePause()
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = p.Run(ctx)
			}()
			defer func() { cancel(); <-done }()
			return tui.Run(ctx, tui.Options{
				Feed:     playFeed{p},
				Player:   p,
				ReadOnly: true,
				Title:    recordingTitle(args[0], p),
				NoColor:  a.cfg.NoColor,
			})
		},
	}
	cmd.Flags().StringVar(&speed, "speed", "1", "start at this speed: 1, 2, 10 or max")
	cmd.Flags().BoolVar(&paused, "paused", false, "start paused")
	return cmd
}

// openRecording opens and indexes a recording and says on stderr what was
// dropped reading it.
func (a *app) openRecording(path string) (*engine.Player, error) {
	p, err := engine.OpenRecording(path, a.graphConfig())
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	for _, n := range p.Notes() {
		fmt.Fprintln(a.stderr, "flowtop: "+clean(n))
	}
	return p, nil
}

// loadRecording ingests a whole recording into a graph, for --from-file.
func (a *app) loadRecording(ctx context.Context, path string) (*graph.Graph, error) {
	p, err := a.openRecording(path)
	if err != nil {
		return nil, err
	}
	if err := p.LoadAll(ctx); err != nil {
		return nil, err
	}
	for _, n := range p.Notes()[len(p.Recording().Notes):] {
		fmt.Fprintln(a.stderr, "flowtop: "+clean(n))
	}
	return p.Graph(), nil
}

func recordingTitle(path string, p *engine.Player) string {
	first, last := p.Bounds()
	r := p.Recording()
	title := "recording " + path + " · " + first.Format("2006-01-02 15:04:05") + " – " + last.Format("15:04:05")
	if len(r.Headers) > 0 && r.Headers[0].Title != "" {
		title += " · " + r.Headers[0].Title
	}
	return tracing.Sanitize(title, false)
}

// lineageFromFile is `lineage ID --from-file FILE`.
func (a *app) lineageFromFile(ctx context.Context, path, id, output string) error {
	g, err := a.loadRecording(ctx, path)
	if err != nil {
		return err
	}
	l, err := g.Lineage(id)
	if err != nil {
		return fileLookupError("lineage", id, path, err, g)
	}
	return a.writeLineageAs(l, output)
}

// costFromFile is `cost --from-file FILE`: the functions over the whole recording.
func (a *app) costFromFile(ctx context.Context, path, sortBy, output string) error {
	g, err := a.loadRecording(ctx, path)
	if err != nil {
		return err
	}
	fns := g.Functions()
	if err := sortFunctions(fns, sortBy); err != nil {
		return err
	}
	return writeCost(a.stdout, fns, output)
}

// fileLookupError is lookupError for a recording: not found is exit 3.
func fileLookupError(cmd, id, path string, err error, g *graph.Graph) error {
	switch {
	case errors.Is(err, graph.ErrNotFound):
		return notFoundErrorf("%s: no event with ID %q in %s", cmd, clean(id), clean(path))
	case errors.Is(err, graph.ErrAmbiguous):
		var ids []string
		for _, m := range g.Find(id, 6) {
			ids = append(ids, clean(m.ID))
		}
		if len(ids) > 5 {
			ids = append(ids[:5], "…")
		}
		return usageErrorf("%s: %q matches more than one event (%s): give one of their IDs, or more of the ID", cmd, clean(id), strings.Join(ids, ", "))
	}
	return err
}

// playFeed is the console's Feed over a player: the graph it fills now
// (a jump back replaces it) and the player as the one source.
type playFeed struct{ p *engine.Player }

func (f playFeed) Version() uint64 { return f.p.Generation()<<40 + f.p.Graph().Version() }
func (f playFeed) Flows(q graph.FlowQuery) graph.FlowPage {
	return f.p.Graph().Flows(q)
}
func (f playFeed) Lineage(id string) (graph.Lineage, error) { return f.p.Graph().Lineage(id) }
func (f playFeed) Find(prefix string, limit int) []graph.Match {
	return f.p.Graph().Find(prefix, limit)
}
func (f playFeed) Functions() []graph.FunctionStats { return f.p.Graph().Functions() }
func (f playFeed) Queues() []graph.QueueStats       { return f.p.Graph().Queues() }
func (f playFeed) DLQMessages(q string) []graph.DLQMessage {
	return f.p.Graph().DLQMessages(q)
}
func (f playFeed) Map() graph.MapView                        { return f.p.Graph().Map() }
func (f playFeed) Totals() graph.Totals                      { return f.p.Graph().Totals() }
func (f playFeed) Health() []tracing.SourceHealth            { return []tracing.SourceHealth{f.p.Health()} }
func (f playFeed) Traces(q graph.TraceQuery) graph.TracePage { return f.p.Graph().Traces(q) }
func (f playFeed) Trace(id tracing.TraceID) (graph.Trace, error) {
	return f.p.Graph().Trace(id)
}
func (f playFeed) Logs(q graph.LogQuery) graph.LogPage { return f.p.Graph().Logs(q) }
func (f playFeed) FunctionDetail(name string) graph.FunctionDetail {
	return f.p.Graph().FunctionDetail(name)
}
