// Package screen is the contract between the console's root model and its
// screens. The root owns size, layout, the navigation stack, global keys,
// dialogs, the prompt and the status line; a Screen owns its cursor, its
// query and its view. Screens ask the root for things by returning the
// messages in this package from their commands ([Open], [Ask], [Flash],
// [Back]); they never reach into the root.
//
// Adding a screen (a trace waterfall, say) is one folder and one line:
//
//  1. tui/screens/trace/: a type implementing [Screen] (plus [Filterer] if it
//     is a list, [Informer] if it has state for the breadcrumb), its own Keys
//     struct built by DefaultKeys, the narrow Feed interface it reads, and
//     Spec(f Feed) [Spec] naming its ID and `:` words. Beside it, its tests
//     and testdata/ goldens (internal/screentest drives a screen alone).
//  2. tui/registry.go: the line trace.Spec(f) (and its import).
//
// The root's conformance test walks the registry, so the new screen is
// checked at 80x24, 120x40 and 200x50 without being named. Only when the
// screen reads something tui.Feed does not offer yet does tui.Feed gain that
// method (and cmd the implementation).
package screen

import (
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/tui/widget"
)

// ID names a kind of screen ("flows", "event").
type ID string

// Screen is one page of the console.
//
// Update gets the focused screen's key presses and pastes, the mouse wheel,
// and its own [Loaded] replies (the root has already dropped stale ones). It
// never blocks: every read of the engine runs in the command Refresh returns.
// View returns the body only, at most the size set by SetSize.
type Screen interface {
	ID() ID
	Title() string // breadcrumb: "event ev-1", "dlq messages billing-dlq"
	SetSize(w, h int)
	Keys() help.KeyMap // enabled bindings only; the footer and ? render from it
	Refresh(seq uint64) tea.Cmd
	Update(msg tea.Msg) (Screen, tea.Cmd)
	View() string
}

// Filterer is a screen that takes `/`: every list does. The root edits the
// filter in its prompt and calls SetFilter as the user types; esc there puts
// the previous filter back.
type Filterer interface {
	Filter() string
	SetFilter(q string)
}

// Informer is a screen with state worth showing after its breadcrumb
// ("following · sort: latency ▼").
type Informer interface {
	Info() string
}

// Loaded carries the result of one Refresh to the screen that asked for it.
type Loaded struct {
	ID   ID
	Seq  uint64
	Data any
}

// Open asks the root to open a screen with an argument (an event ID, a queue
// name, a DLQ message).
type Open struct {
	To  ID
	Arg any
}

// Ask asks the root to plan an action, show the plan and, once confirmed,
// run it.
type Ask struct{ Action Action }

// Level is a status line message's severity.
type Level uint8

// Severities.
const (
	LevelInfo Level = iota
	LevelOK
	LevelWarn
	LevelError
)

// Flash asks the root to show a message on the status line for a while.
type Flash struct {
	Text  string
	Level Level
}

// Back asks the root to go back to the previous screen.
type Back struct{}

// Env is what the root gives every screen it makes.
type Env struct {
	St      widget.Styles
	Now     func() time.Time
	Actions bool // actions (redrive, replay) are available and allowed
}

// Spec is one line of the registry: how to make a screen and which `:`
// commands open it.
type Spec struct {
	ID    ID
	Words []string // `:` words that open it; the first is shown in help
	// Arg says the screen needs an argument (`:tail <id>`); a word without
	// one is refused with this text.
	Arg string
	New func(env Env, arg any) Screen
	// Do, when set, is what the word does with an argument instead of
	// opening another screen: `:ctx all` narrows the views in place, as k9s
	// switches, rather than stacking a context list on each call.
	Do func(env Env, arg any) tea.Cmd
}

// Cmd returns a command that delivers msg; screens use it to send [Open],
// [Ask], [Flash] and [Back].
func Cmd(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

// Say returns a command that flashes text at a level.
func Say(level Level, text string) tea.Cmd { return Cmd(Flash{Text: text, Level: level}) }

// Reload asks the root to call the screen's Refresh now (its query or window
// changed), instead of at the next tick.
type Reload struct{}
