package event

import (
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
)

const execARN = "arn:aws:states:us-east-1:000000000000:execution:fulfilment:e-1"

// workflowLineage is an event whose fulfilment execution failed in ShipItem.
func workflowLineage(status graph.HopStatus) graph.Lineage {
	at := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	return graph.Lineage{ID: "ev-9", Version: 1, Status: graph.StatusFailed, Hops: []graph.Hop{
		{Parent: -1, Kind: graph.HopBroker, Component: tracing.Component{Kind: tracing.ComponentBus, Name: "orders"}, Time: at, Evidence: "bus"},
		{
			Parent: 0, Kind: graph.HopInvoke, Component: tracing.Component{Kind: tracing.ComponentWorkflow, Name: "fulfilment"}, Time: at, Status: status,
			ErrorType: "state ShipItem: CourierUnavailable: no courier", Keys: []tracing.Key{{Kind: tracing.KeyExecution, Value: execARN}}, Evidence: "execution input is the event",
		},
	}}
}

// TestRedriveFailedExecution: on an event whose workflow hop failed (and no
// DLQ copy), r asks to redrive that execution; the key says so in the help.
// Without a failed execution, r says there is nothing to redrive.
func TestRedriveFailedExecution(t *testing.T) {
	s := New(screentest.Env(true), fake.NewFeed(), "ev-9")
	s.SetSize(120, 30)
	sc, _ := s.Update(screen.Loaded{ID: ID, Data: loaded{lin: workflowLineage(graph.HopError)}})
	if help := helpOf(sc); !strings.Contains(help, "r redrive execution") {
		t.Errorf("help: %s", help)
	}
	_, out := screentest.Press(t, sc, "r")
	if len(out) != 1 {
		t.Fatalf("r: %#v", out)
	}
	ask, ok := out[0].(screen.Ask)
	if !ok || ask.Action.Kind != screen.ActionRedriveExecution || ask.Action.EventID != execARN {
		t.Fatalf("r: %#v, want a redrive of %s", out[0], execARN)
	}
	if ask.Action.Kind.String() != "redrive execution" {
		t.Errorf("action name %q", ask.Action.Kind)
	}
	ok2 := New(screentest.Env(true), fake.NewFeed(), "ev-9")
	ok2.SetSize(120, 30)
	sc2, _ := ok2.Update(screen.Loaded{ID: ID, Data: loaded{lin: workflowLineage(graph.HopOK)}})
	if help := helpOf(sc2); strings.Contains(help, "redrive") {
		t.Errorf("redrive offered for a succeeded execution: %s", help)
	}
	if _, out := screentest.Press(t, sc2, "r"); len(out) != 1 || out[0].(screen.Flash).Level != screen.LevelWarn {
		t.Errorf("r on a succeeded execution: %#v", out)
	}
}

// helpOf is the enabled bindings as the help shows them: "key text" each.
func helpOf(s screen.Screen) string {
	var b strings.Builder
	for _, g := range s.Keys().FullHelp() {
		for _, k := range g {
			if k.Enabled() {
				b.WriteString(k.Help().Key + " " + k.Help().Desc + "; ")
			}
		}
	}
	return b.String()
}
