package event

import (
	"charm.land/bubbles/v2/key"

	"github.com/flowtop/flowtop/tui/screen"
)

// MapID is the screen `m` opens: the map with this event's path highlighted.
const MapID screen.ID = "map"

// mapKey opens the map on the event's path. It lives here, not in [Keys],
// so that the map's one key stays apart from the screen's own.
var mapKey = key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "its path on the map"))

// TraceID is the screen `t` opens: the waterfall of the event's trace.
const TraceID screen.ID = "trace"

// traceKey opens the event's first trace on the trace screen, where span
// links can be followed to the other traces the event crossed.
var traceKey = key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "its trace"))
