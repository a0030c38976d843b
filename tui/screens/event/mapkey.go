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
