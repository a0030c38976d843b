package tui

import (
	"github.com/flowtop/flowtop/tui/screen"
	ctxscreen "github.com/flowtop/flowtop/tui/screens/ctx"
	"github.com/flowtop/flowtop/tui/screens/dlqmsgs"
	"github.com/flowtop/flowtop/tui/screens/dlqs"
	"github.com/flowtop/flowtop/tui/screens/event"
	"github.com/flowtop/flowtop/tui/screens/flows"
	"github.com/flowtop/flowtop/tui/screens/fndetail"
	"github.com/flowtop/flowtop/tui/screens/functions"
	"github.com/flowtop/flowtop/tui/screens/logs"
	"github.com/flowtop/flowtop/tui/screens/mapview"
	"github.com/flowtop/flowtop/tui/screens/message"
	"github.com/flowtop/flowtop/tui/screens/trace"
	"github.com/flowtop/flowtop/tui/screens/traces"
)

// registry lists every screen: adding one is a folder under screens/ and a
// line here. The first is the home screen.
func registry(f Feed) []screen.Spec {
	return []screen.Spec{
		flows.Spec(f),
		event.Spec(f),
		functions.Spec(f),
		dlqs.Spec(f),
		dlqmsgs.Spec(f),
		message.Spec(),
		mapview.Spec(f),
		traces.Spec(f),
		trace.Spec(f),
		logs.Spec(f),
		fndetail.Spec(f),
		ctxscreen.Spec(f),
	}
}

// eventScreen is the screen `:tail` opens once the ID is found (or searched).
const eventScreen = event.ID
