package screen

import "time"

// ActionKind says what an action does.
type ActionKind uint8

// Action kinds.
const (
	ActionRedriveAll       ActionKind = iota // move every message of a DLQ back
	ActionRedriveSelected                    // move the chosen messages back
	ActionReplay                             // send one event again, as it was or edited
	ActionReplayArchive                      // replay an EventBridge archive over a window of event time
	ActionRedriveExecution                   // restart a failed Step Functions execution (EventID is its ARN)
)

var actionNames = [...]string{"redrive all", "redrive selected", "replay", "replay archive", "redrive execution"}

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
	Target     string   // "" = each message's source / the original broker; "events:BUS" for replay archive
	// Archive, From and To are what replay archive replays: the archive (""
	// = the bus's only one) and the window of event time [From, To).
	Archive  string
	From, To time.Time
	// Account and Region say where the DLQ lives when several accounts or
	// regions are watched ("" otherwise): the action runs there.
	Account, Region string
}
