package event

import (
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/screen"
)

// archiveKey replays the archive of the event's bus over the minutes around
// it. It lives here, not in [Keys], like the map's key.
var archiveKey = key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "replay its bus's archive around it"))

// archiveWindow is how much event time around the event an archive replay
// from this screen covers, on each side.
const archiveWindow = 5 * time.Minute

// askArchive asks for a replay of the archive of the bus the event passed,
// over [first−5m, last+5m) whole minutes; the plan shows the archive, the
// window and the rules before anything is sent.
func askArchive(l graph.Lineage) tea.Cmd {
	bus, fromBus := "", false
	for _, h := range l.Hops {
		if h.Component.Kind == tracing.ComponentBus && h.Component.Name != "" {
			bus, fromBus = h.Component.Name, true
			break
		}
	}
	if !fromBus {
		ok := false
		for _, k := range l.Keys {
			ok = ok || k.Kind == tracing.KeyEventID
		}
		if !ok {
			return screen.Say(screen.LevelWarn, "this event passed no EventBridge bus: there is no archive to replay it from")
		}
	}
	first, last := l.First, l.Last
	if first.IsZero() {
		first = last
	}
	if first.IsZero() {
		return screen.Say(screen.LevelWarn, "this event's time is unknown: use flowtop replay --archive NAME --from T --to T")
	}
	a := screen.Action{
		Kind: screen.ActionReplayArchive, EventID: l.ID,
		From: first.Add(-archiveWindow).Truncate(time.Minute), To: last.Add(archiveWindow).Truncate(time.Minute).Add(time.Minute),
	}
	if bus != "" {
		a.Target = "events:" + bus
	}
	return screen.Cmd(screen.Ask{Action: a})
}
