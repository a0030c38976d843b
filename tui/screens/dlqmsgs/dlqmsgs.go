// Package dlqmsgs is the DLQ messages screen: the messages peeked from one
// DLQ, grouped by the consumer error that sent them there. The order is
// stable: a message keeps its place while the list refreshes, and the cursor
// stays on the message the user is looking at.
package dlqmsgs

import (
	"fmt"
	"sort"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

// ID names the screen.
const ID screen.ID = "dlq messages"

// Screens this one opens.
const (
	MessageID screen.ID = "message"
	EventID   screen.ID = "event"
)

// Feed is the slice of the engine this screen reads.
type Feed interface {
	DLQMessages(queue string) []graph.DLQMessage
}

// PlacedFeed is a feed that tells apart DLQs of one name in several watched
// accounts or regions.
type PlacedFeed interface {
	DLQMessagesIn(queue tracing.Component) []graph.DLQMessage
}

// Spec is the registry line. The argument is the queue's name, or the queue
// in its account and region (a tracing.Component) when several are watched.
func Spec(f Feed) screen.Spec {
	return screen.Spec{
		ID: ID, Words: []string{"msgs", "messages"}, Arg: "messages needs a queue: :msgs <dlq name>",
		New: func(env screen.Env, arg any) screen.Screen {
			switch q := arg.(type) {
			case tracing.Component:
				return NewIn(env, f, q)
			case string:
				return New(env, f, q)
			}
			return New(env, f, "")
		},
	}
}

// Keys are the screen's bindings.
type Keys struct {
	Open, Select, Group, RedriveSel, RedriveAll, Trace key.Binding
	List                                               widget.ListKeys
}

// DefaultKeys returns the screen's bindings.
func DefaultKeys() Keys {
	return Keys{
		Open:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "body")),
		Trace:      key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "event")),
		Select:     key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "select")),
		Group:      key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "group")),
		RedriveSel: key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "redrive sel.")),
		RedriveAll: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "redrive all")),
		List:       widget.DefaultListKeys(),
	}
}

// Model is the screen.
type Model struct {
	env      screen.Env
	feed     Feed
	keys     Keys
	queue    string
	place    tracing.Component // the queue in its account and region, when several are watched
	tbl      widget.Table
	all      []graph.DLQMessage
	shown    []graph.DLQMessage
	count    map[string]int // messages per error, in shown
	rank     map[string]int // error -> group order, fixed when first seen
	selected map[string]bool
	filter   string
}

// New returns the screen for one queue.
func New(env screen.Env, f Feed, queue string) *Model {
	m := &Model{env: env, feed: f, keys: DefaultKeys(), queue: queue, rank: map[string]int{}, selected: map[string]bool{}}
	for _, b := range []*key.Binding{&m.keys.Select, &m.keys.Group, &m.keys.RedriveSel, &m.keys.RedriveAll} {
		b.SetEnabled(env.Actions)
	}
	m.tbl = widget.NewTable(env.St, []widget.Column{
		{Title: "✓", Priority: 0},
		{Title: "MESSAGE", Priority: 0},
		{Title: "EVENT", Priority: 4},
		{Title: "RECV", Priority: 2},
		{Title: "AGE", Priority: 3},
		{Title: "CONSUMER ERROR (MESSAGES)", Priority: 1, Min: 12, Grow: true},
	})
	m.tbl.Empty = "no messages peeked in " + widget.Clean(queue) + " yet"
	return m
}

// NewIn returns the screen for one queue in one account and region.
func NewIn(env screen.Env, f Feed, q tracing.Component) *Model {
	m := New(env, f, q.Name)
	m.place = q
	return m
}

// action is an action on this screen's queue, in its place.
func (m *Model) action(kind screen.ActionKind, ids []string) screen.Action {
	return screen.Action{Kind: kind, Queue: m.queue, MessageIDs: ids, Account: m.place.Account, Region: m.place.Region}
}

// ID implements screen.Screen.
func (m *Model) ID() screen.ID { return ID }

// Title implements screen.Screen.
func (m *Model) Title() string {
	if m.place.Region != "" {
		return "dlq messages " + widget.Clean(m.queue) + " (" + widget.Clean(m.place.Region) + ")"
	}
	return "dlq messages " + widget.Clean(m.queue)
}

// Info says how many messages are selected.
func (m *Model) Info() string {
	if len(m.selected) == 0 {
		return ""
	}
	return fmt.Sprintf("%d selected", len(m.selected))
}

// SetSize implements screen.Screen.
func (m *Model) SetSize(w, h int) { m.tbl.SetSize(w, h) }

// Filter implements screen.Filterer.
func (m *Model) Filter() string { return m.filter }

// SetFilter implements screen.Filterer.
func (m *Model) SetFilter(q string) { m.filter = q; m.apply(""); m.tbl.SetCursor(0) }

// Keys implements screen.Screen.
func (m *Model) Keys() help.KeyMap {
	k := m.keys
	return screen.KeyMap{
		Short:  []key.Binding{k.Open, k.Trace, k.Select, k.RedriveSel, k.RedriveAll, k.Group},
		Groups: [][]key.Binding{{k.Open, k.Trace, k.Select, k.Group, k.RedriveSel, k.RedriveAll}, k.List.Bindings()},
	}
}

type loaded []graph.DLQMessage

// Refresh reads the queue's peeked messages.
func (m *Model) Refresh(seq uint64) tea.Cmd {
	feed, q, place := m.feed, m.queue, m.place
	return func() tea.Msg {
		if pf, ok := feed.(PlacedFeed); ok && (place.Region != "" || place.Account != "") {
			return screen.Loaded{ID: ID, Seq: seq, Data: loaded(pf.DLQMessagesIn(place))}
		}
		return screen.Loaded{ID: ID, Seq: seq, Data: loaded(feed.DLQMessages(q))}
	}
}

// Update implements screen.Screen.
func (m *Model) Update(msg tea.Msg) (screen.Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case screen.Loaded:
		if d, ok := msg.Data.(loaded); ok {
			keep := ""
			if x, ok := m.current(); ok {
				keep = x.MessageID
			}
			m.learn(d)
			m.all = d
			m.apply(keep)
		}
		return m, nil
	case tea.KeyPressMsg:
		x, ok := m.current()
		switch {
		case key.Matches(msg, m.keys.Open):
			if ok {
				return m, screen.Cmd(screen.Open{To: MessageID, Arg: x})
			}
			return m, nil
		case key.Matches(msg, m.keys.Trace):
			if ok {
				return m, screen.Cmd(screen.Open{To: EventID, Arg: x.MessageID})
			}
			return m, nil
		case key.Matches(msg, m.keys.Select) && m.keys.Select.Enabled():
			if ok {
				if m.selected[x.MessageID] {
					delete(m.selected, x.MessageID)
				} else {
					m.selected[x.MessageID] = true
				}
				m.tbl.Move(1)
			}
			return m, nil
		case key.Matches(msg, m.keys.Group) && m.keys.Group.Enabled():
			if ok {
				for _, y := range m.shown {
					if y.Error == x.Error {
						m.selected[y.MessageID] = true
					}
				}
			}
			return m, nil
		case key.Matches(msg, m.keys.RedriveAll) && m.keys.RedriveAll.Enabled():
			return m, screen.Cmd(screen.Ask{Action: m.action(screen.ActionRedriveAll, nil)})
		case key.Matches(msg, m.keys.RedriveSel) && m.keys.RedriveSel.Enabled():
			var ids []string
			for id := range m.selected {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			if len(ids) == 0 {
				return m, screen.Say(screen.LevelWarn, "select messages with space (a: the whole error group) first")
			}
			return m, screen.Cmd(screen.Ask{Action: m.action(screen.ActionRedriveSelected, ids)})
		}
	}
	m.tbl.Update(msg)
	return m, nil
}

func (m *Model) current() (graph.DLQMessage, bool) {
	i := m.tbl.Cursor()
	if i < 0 || i >= len(m.shown) {
		return graph.DLQMessage{}, false
	}
	return m.shown[i], true
}

// learn fixes the place of messages and error groups seen for the first
// time: groups first seen together go biggest first; later ones go last.
func (m *Model) learn(d []graph.DLQMessage) {
	count := map[string]int{}
	for _, x := range d {
		count[x.Error]++
	}
	var fresh []string
	for e := range count {
		if _, ok := m.rank[e]; !ok {
			fresh = append(fresh, e)
		}
	}
	sort.Slice(fresh, func(i, j int) bool {
		if count[fresh[i]] != count[fresh[j]] {
			return count[fresh[i]] > count[fresh[j]]
		}
		return fresh[i] < fresh[j]
	})
	for _, e := range fresh {
		m.rank[e] = len(m.rank)
	}
}

// apply filters and orders the messages, keeping the cursor on keep.
func (m *Model) apply(keep string) {
	q := widget.ParseQuery(m.filter)
	shown := make([]graph.DLQMessage, 0, len(m.all))
	for _, x := range m.all {
		if q.Match(x.MessageID+" "+x.EventID, func(k string) string {
			switch k {
			case "error", "status":
				return x.Error
			case "queue", "source":
				return x.SourceQueue
			}
			return ""
		}) {
			shown = append(shown, x)
		}
	}
	sort.SliceStable(shown, func(i, j int) bool {
		a, b := shown[i], shown[j]
		if m.rank[a.Error] != m.rank[b.Error] {
			return m.rank[a.Error] < m.rank[b.Error]
		}
		// Newest first by the time AGE shows: a message keeps its place,
		// as its time does not change; one read late goes where its time says.
		if !a.SentAt.Equal(b.SentAt) {
			return a.SentAt.After(b.SentAt)
		}
		return a.MessageID < b.MessageID
	})
	m.shown = shown
	m.count = map[string]int{}
	for _, x := range shown {
		m.count[x.Error]++
	}
	m.tbl.SetRows(len(shown), m.cells)
	for i, x := range shown {
		if keep != "" && x.MessageID == keep {
			m.tbl.SetCursor(i)
			break
		}
	}
	if m.filter != "" {
		m.tbl.Empty = "no message matches " + widget.Clean(m.filter)
	}
}

func (m *Model) cells(i int) []string {
	x := m.shown[i]
	sel := " "
	if m.selected[x.MessageID] {
		sel = "✓"
	}
	group := ""
	if i == 0 || i == m.tbl.Offset() || m.shown[i-1].Error != x.Error {
		group = m.env.St.Bold.Render(fmt.Sprintf("%s (%d)", widget.FirstNonEmpty(widget.Clean(x.Error), "error unknown"), m.count[x.Error]))
	}
	return []string{sel, widget.Clean(x.MessageID), widget.Clean(x.EventID), fmt.Sprint(x.ReceiveCount), widget.Age(m.env.Now(), x.SentAt), group}
}

// View implements screen.Screen.
func (m *Model) View() string { return m.tbl.View() }
