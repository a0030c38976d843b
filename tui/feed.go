// Package tui is flowtop's live console: a Bubble Tea v2 program that reads
// small immutable views of the lineage graph on a tick and renders only what
// fits on the screen. It never blocks Update: every read of the graph runs in
// a command, and actions that change anything go to a [Replayer] as commands,
// after their plan has been shown and confirmed.
package tui

import (
	"context"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// Feed is what the console reads. *graph.Graph provides every method but
// Health, which cmd adds from the collectors' hub. Each call must be cheap
// enough for a 10 Hz tick for the windows the console asks for, and safe to
// call from any goroutine. Version must change whenever anything the other
// methods return changes; the console reads nothing else on a tick while it
// stays the same (apart from a once-a-second refresh of health and ages).
type Feed interface {
	Version() uint64
	Flows(graph.FlowQuery) graph.FlowPage
	Lineage(id string) (graph.Lineage, error)
	Find(prefix string, limit int) []graph.Match
	Functions() []graph.FunctionStats
	Queues() []graph.QueueStats
	DLQMessages(queue string) []graph.DLQMessage
	Map() graph.MapView
	Totals() graph.Totals
	Health() []tracing.SourceHealth
}

// ActionKind says what an action does.
type ActionKind uint8

// Action kinds.
const (
	ActionRedriveAll      ActionKind = iota // move every message of a DLQ back
	ActionRedriveSelected                   // move the chosen messages back
	ActionReplay                            // send one event again, as it was or edited
)

var actionNames = [...]string{"redrive all", "redrive selected", "replay"}

// String names the action for the dialog.
func (k ActionKind) String() string {
	if int(k) < len(actionNames) {
		return actionNames[k]
	}
	return "action"
}

// Action is one change the user asked for.
type Action struct {
	Kind       ActionKind
	Queue      string   // the DLQ
	MessageIDs []string // for redrive selected
	EventID    string   // for replay
	Body       string   // for replay: the (edited) body
	Target     string   // "" = each message's source / the original broker
}

// Plan is what an action will do, shown before the user confirms.
type Plan struct {
	Summary  string
	Lines    []string
	Warnings []string
	Count    int
	Impl     any // the Replayer's own plan, handed back to Execute
}

// Progress reports an action as it runs.
type Progress struct {
	Done, Total int
	Note        string
	Finished    bool
	Err         error
}

// Replayer carries out actions. cmd adapts replay/ to it; nil means no
// actions are available and the console hides them.
type Replayer interface {
	Plan(ctx context.Context, a Action) (Plan, error)
	Execute(ctx context.Context, p Plan, progress func(Progress)) error
}
