// Package tui is flowtop's live console: a Bubble Tea v2 program whose root
// model owns size, layout, the navigation stack, the prompt, dialogs and the
// status line, over screens that each live in their own folder under
// tui/screens and are listed once in the registry (registry.go). Screens read
// small immutable views of the lineage graph in commands, never in Update,
// and render only what fits. Actions that change anything go to a [Replayer],
// after their whole plan has been shown and confirmed.
package tui

import (
	"context"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/screen"
)

// Feed is what the console reads. *graph.Graph provides every method but
// Health, which cmd adds from the collectors' hub. Each call must be cheap
// enough for a 10 Hz tick for the windows the console asks for, and safe to
// call from any goroutine. Version must change whenever anything the other
// methods return changes; the console reads nothing else on a tick while it
// stays the same (apart from a once-a-second refresh of health and ages).
// Each screen declares the narrow part of Feed it reads.
type Feed interface {
	Version() uint64
	Flows(graph.FlowQuery) graph.FlowPage
	Lineage(id string) (graph.Lineage, error)
	Find(prefix string, limit int) []graph.Match
	Functions() []graph.FunctionStats
	Queues() []graph.QueueStats
	DLQMessages(queue string) []graph.DLQMessage
	Map() graph.MapView
	Traces(graph.TraceQuery) graph.TracePage
	Trace(id tracing.TraceID) (graph.Trace, error)
	Totals() graph.Totals
	Health() []tracing.SourceHealth
	Logs(graph.LogQuery) graph.LogPage
	FunctionDetail(name string) graph.FunctionDetail
}

// Searcher looks an ID up in the sources' history (CloudWatch Logs, X-Ray,
// the DLQs) when the live graph does not hold it. Results land in the graph
// the console already reads; progress reports what is being searched. It
// must return when ctx ends. The engine implements it.
type Searcher interface {
	SearchHistory(ctx context.Context, id string, progress func(note string)) error
}

// ActionKind says what an action does.
type ActionKind = screen.ActionKind

// Action kinds.
const (
	ActionRedriveAll      = screen.ActionRedriveAll      // move every message of a DLQ back
	ActionRedriveSelected = screen.ActionRedriveSelected // move the chosen messages back
	ActionReplay          = screen.ActionReplay          // send one event again, as it was or edited
	ActionReplayArchive   = screen.ActionReplayArchive   // replay an EventBridge archive over a window
	// ActionRedriveExecution restarts a failed Step Functions execution.
	ActionRedriveExecution = screen.ActionRedriveExecution
)

// Action is one change the user asked for.
type Action = screen.Action

// Plan is what an action will do, shown whole before the user confirms.
type Plan struct {
	Summary  string
	Lines    []string
	Warnings []string
	Count    int
	Impl     any // the Replayer's own plan, handed back to Execute
	// CountLabel names what Count counts ("" = messages); Percent says
	// Progress.Done and Total are a percentage of the work (an archive
	// replay's window), not messages moved.
	CountLabel string
	Percent    bool
}

// Progress reports an action as it runs. Total may be an estimate (a native
// move task counts what it finds): Done can pass it.
type Progress struct {
	Done, Total int
	Note        string
	Finished    bool
	Err         error
}

// Replayer carries out actions. cmd adapts replay/ to it; nil means no
// actions are available and the console hides them. Execute may call
// progress from any goroutine, but not after it returns.
type Replayer interface {
	Plan(ctx context.Context, a Action) (Plan, error)
	Execute(ctx context.Context, p Plan, progress func(Progress)) error
}
