// Package message is the message body screen: one DLQ message's details and
// its whole body, indented when it is JSON, in a scrolling viewport.
package message

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

// ID names the screen.
const ID screen.ID = "message"

// EventID is the screen t opens.
const EventID screen.ID = "event"

// Spec is the registry line. The screen reads nothing: the message it shows
// comes with Open.
func Spec() screen.Spec {
	return screen.Spec{ID: ID, New: func(env screen.Env, arg any) screen.Screen { d, _ := arg.(graph.DLQMessage); return New(env, d) }}
}

// Keys are the screen's bindings.
type Keys struct {
	Replay, Trace, Wrap, Top, Bottom key.Binding
	Scroll                           viewport.KeyMap
}

// DefaultKeys returns the screen's bindings.
func DefaultKeys() Keys {
	vk := viewport.DefaultKeyMap()
	vk.Up.SetKeys("k", "up")
	vk.Down.SetKeys("j", "down")
	vk.PageUp.SetKeys("pgup", "ctrl+b")
	vk.PageDown.SetKeys("pgdown", "ctrl+f")
	vk.HalfPageUp.SetKeys("ctrl+u")
	vk.HalfPageDown.SetKeys("ctrl+d")
	return Keys{
		Replay: key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "replay")),
		Trace:  key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "event")),
		Wrap:   key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "wrap")),
		Top:    key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom: key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Scroll: vk,
	}
}

// Model is the screen.
type Model struct {
	env  screen.Env
	keys Keys
	msg  graph.DLQMessage
	vp   viewport.Model
	w, h int
}

// New returns the screen for one message.
func New(env screen.Env, d graph.DLQMessage) *Model {
	m := &Model{env: env, keys: DefaultKeys(), msg: d, w: 80, h: 20}
	m.keys.Replay.SetEnabled(env.Actions)
	m.vp = viewport.New()
	m.vp.KeyMap = m.keys.Scroll
	m.vp.SetContentLines(m.lines())
	return m
}

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen.
func (m *Model) Title() string { return "message " + widget.Clean(m.msg.MessageID) }

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = w, h
	m.vp.SetWidth(w)
	m.vp.SetHeight(max(h-1, 1))
}

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	k := m.keys
	return screen.KeyMap{
		Short:  []key.Binding{k.Replay, k.Trace, k.Wrap},
		Groups: [][]key.Binding{{k.Replay, k.Trace, k.Wrap}, {k.Scroll.Up, k.Scroll.Down, k.Scroll.PageUp, k.Scroll.PageDown, k.Top, k.Bottom}},
	}
}

// Refresh reads nothing: the message is a snapshot of what the user opened.
func (m *Model) Refresh(uint64) tea.Cmd { return nil }

// Update implements screen.Screen.
func (m *Model) Update(msg tea.Msg) (screen.Screen, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		d := m.msg
		switch {
		case key.Matches(k, m.keys.Replay) && m.keys.Replay.Enabled():
			return m, screen.Cmd(screen.Ask{Action: screen.Action{Kind: screen.ActionReplay, EventID: d.MessageID, Body: d.Body, Queue: d.Queue, Target: "sqs:" + d.SourceQueue}})
		case key.Matches(k, m.keys.Trace):
			return m, screen.Cmd(screen.Open{To: EventID, Arg: d.MessageID})
		case key.Matches(k, m.keys.Wrap):
			m.vp.SoftWrap = !m.vp.SoftWrap
			return m, nil
		case key.Matches(k, m.keys.Top):
			m.vp.GotoTop()
			return m, nil
		case key.Matches(k, m.keys.Bottom):
			m.vp.GotoBottom()
			return m, nil
		}
	}
	m.vp, _ = m.vp.Update(msg)
	return m, nil
}

func (m *Model) lines() []string {
	d, st := m.msg, m.env.St
	out := []string{
		st.Bold.Render("message "+widget.Clean(d.MessageID)) + "  in " + widget.Clean(d.Queue),
		fmt.Sprintf("event %s · received %d times · from %s · sent %s", widget.Clean(d.EventID), d.ReceiveCount, widget.FirstNonEmpty(widget.Clean(d.SourceQueue), "?"), d.SentAt.UTC().Format(time.RFC3339)),
	}
	if d.Error != "" {
		out = append(out, st.Bad.Render("consumer error: "+widget.Clean(d.Error)))
	}
	keys := make([]string, 0, len(d.Attributes))
	for k := range d.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, st.Dim.Render("attribute "+widget.Clean(k)+" = "+widget.Clean(d.Attributes[k])))
	}
	out = append(out, "")
	return append(out, widget.PrettyBody(d.Body, 0)...)
}

// View implements screen.Screen.
func (m *Model) View() string {
	total := m.vp.TotalLineCount()
	last := min(m.vp.YOffset()+m.vp.VisibleLineCount(), total)
	wrap := "off"
	if m.vp.SoftWrap {
		wrap = "on"
	}
	pos := m.env.St.Dim.Render(fmt.Sprintf("lines %d–%d of %d · %3.0f%% · wrap %s (w)", min(m.vp.YOffset()+1, total), last, total, m.vp.ScrollPercent()*100, wrap))
	return widget.Clip(strings.Split(m.vp.View(), "\n"), m.w, m.h-1) + "\n" + widget.Fit(pos, m.w)
}
