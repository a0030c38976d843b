package tui

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// Options configures the console.
type Options struct {
	Feed     Feed
	Replayer Replayer // nil: no actions
	ReadOnly bool     // hide and refuse every action that changes anything
	Title    string   // "sandbox …" or the account/region
	NoColor  bool
	TailID   string // open the event screen for this ID
	Start    string // first screen: "flows" (default), "fn", "dlq", "map"
	Now      func() time.Time
	Tick     time.Duration // how often to pull the graph (default 100ms)
}

type screen int

const (
	scrFlows screen = iota
	scrEvent
	scrFunctions
	scrDLQs
	scrDLQMessages
	scrMessage
	scrMap
	scrHelp
)

var screenNames = map[screen]string{
	scrFlows: "flows", scrEvent: "event", scrFunctions: "functions", scrDLQs: "dlqs",
	scrDLQMessages: "dlq messages", scrMessage: "message", scrMap: "map", scrHelp: "help",
}

// commands are what `:` accepts, for completion.
var commands = []string{"flows", "fn", "functions", "dlq", "dlqs", "map", "tail ", "help", "quit"}

// Model is the root model: it owns size, layout, focus, global keys, the
// status line and routing.
type Model struct {
	opts   Options
	st     styles
	w, h   int
	lay    layout
	screen screen
	back   []screen

	// Data, as of the last fetch.
	seq      uint64
	applied  uint64
	fetching bool
	version  uint64    // the Feed's Version as of the last applied fetch
	fetched  time.Time // when (by the tick's clock) the last full fetch was asked for
	stale    bool      // input arrived since the last fetch: read even if Version is the same
	gen      uint64    // identifies this state for the frame cache; see View
	frame    *frame    // the last rendered frame, shared by copies of the model
	totals   graph.Totals
	health   []tracing.SourceHealth
	flows    graph.FlowPage
	lineage  graph.Lineage
	linErr   error
	matches  []graph.Match // the events an ambiguous ID names
	fns      []graph.FunctionStats
	queues   []graph.QueueStats
	msgs     []graph.DLQMessage
	mapv     graph.MapView

	// Per-screen state.
	flowCur, flowOff int
	follow           bool
	flowSort         graph.FlowSort
	topID            string // the newest row's ID, to count "N new" while scrolled
	newRows          int
	eventID          string
	eventLine        int
	fnCur, fnSort    int
	dlqCur           int
	dlqQueue         string
	msgCur           int
	selected         map[string]bool
	message          graph.DLQMessage
	mapCur           int
	helpFor          screen

	// Input.
	mode     inputMode
	input    string
	filter   string
	status   string
	statusOK bool
	until    time.Time

	confirm  *Plan
	action   Action
	progress *Progress
	quitting bool
}

type inputMode int

const (
	modeNone inputMode = iota
	modeCommand
	modeFilter
)

// New returns the console's root model.
func New(opts Options) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tick <= 0 {
		opts.Tick = 100 * time.Millisecond
	}
	m := Model{opts: opts, st: newStyles(opts.NoColor), follow: true, selected: map[string]bool{}, w: 80, h: 24, gen: nextGen.Add(1), frame: &frame{}}
	m.lay = computeLayout(m.w, m.h)
	switch opts.Start {
	case "fn", "functions":
		m.screen = scrFunctions
	case "dlq", "dlqs":
		m.screen = scrDLQs
	case "map":
		m.screen = scrMap
	}
	if opts.TailID != "" {
		m.screen, m.eventID = scrEvent, opts.TailID
	}
	return m
}

// Run starts the console on the terminal and blocks until the user quits or
// ctx ends. The terminal is restored on the way out.
func Run(ctx context.Context, opts Options) error {
	p := tea.NewProgram(New(opts), tea.WithContext(ctx), tea.WithFilter(coalesceWheel()))
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// coalesceWheel drops wheel events that arrive faster than a frame, so a
// mouse flood can't starve key presses.
func coalesceWheel() func(tea.Model, tea.Msg) tea.Msg {
	var last time.Time
	return func(_ tea.Model, msg tea.Msg) tea.Msg {
		if _, ok := msg.(tea.MouseWheelMsg); ok {
			if time.Since(last) < 15*time.Millisecond {
				return nil
			}
			last = time.Now()
		}
		return msg
	}
}

type tickMsg time.Time

// dataMsg carries one fetch's results; seq drops stale replies. unchanged
// says the Feed's Version had not moved, so nothing was read.
type dataMsg struct {
	seq       uint64
	version   uint64
	unchanged bool
	totals    graph.Totals
	health    []tracing.SourceHealth
	flows     *graph.FlowPage
	lineage   *graph.Lineage
	linErr    error
	matches   []graph.Match
	fns       []graph.FunctionStats
	queues    []graph.QueueStats
	msgs      []graph.DLQMessage
	mapv      *graph.MapView
}

type planMsg struct {
	plan Plan
	err  error
}

type progressMsg Progress

func (m Model) tick() tea.Cmd {
	return tea.Tick(m.opts.Tick, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// fetch reads what the current screen shows, in a command. The arguments are
// copies: the closure never touches the model.
func (m Model) fetch() tea.Cmd { return m.fetchIf(false) }

// fetchIf is fetch, except that with onlyIfChanged it first asks the Feed for
// its Version and reads nothing when that is the one already shown. Even
// Version runs in the command: it may wait for a lock while ingest writes.
func (m Model) fetchIf(onlyIfChanged bool) tea.Cmd {
	feed, scr, seq, shown := m.opts.Feed, m.screen, m.seq, m.version
	q := graph.FlowQuery{Filter: strings.TrimPrefix(m.filter, "!"), Invert: strings.HasPrefix(m.filter, "!"), Sort: m.flowSort, Offset: m.flowOff, Limit: max(m.lay.body, 1)}
	eventID, queue := m.eventID, m.dlqQueue
	if m.follow {
		q.Offset = 0
	}
	return func() tea.Msg {
		if feed == nil {
			return dataMsg{seq: seq}
		}
		// Read the version before the data: an ingest in between only makes
		// the next tick read again.
		v := feed.Version()
		if onlyIfChanged && v == shown {
			return dataMsg{seq: seq, version: v, unchanged: true}
		}
		d := dataMsg{seq: seq, version: v, totals: feed.Totals(), health: feed.Health()}
		switch scr {
		case scrFlows:
			p := feed.Flows(q)
			d.flows = &p
		case scrEvent:
			l, err := feed.Lineage(eventID)
			d.lineage, d.linErr = &l, err
			if errors.Is(err, graph.ErrAmbiguous) {
				d.matches = feed.Find(eventID, 50)
			}
		case scrFunctions:
			d.fns = feed.Functions()
		case scrDLQs:
			d.queues = feed.Queues()
		case scrDLQMessages, scrMessage:
			d.msgs = feed.DLQMessages(queue)
		case scrMap:
			mv := feed.Map()
			d.mapv = &mv
		}
		return d
	}
}

// Init starts the tick and the first fetch.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.fetch(), m.tick())
}

// Update routes: size, quit and help first; then an open dialog or input;
// then keys to the current screen; then data and results.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tickMsg:
	case dataMsg:
		if !msg.unchanged {
			m.gen = nextGen.Add(1)
		}
	default:
		m.gen, m.stale = nextGen.Add(1), true
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.lay = computeLayout(m.w, m.h)
		m.clamp()
		return m, nil
	case tickMsg:
		cmds := []tea.Cmd{m.tick()}
		if !m.fetching {
			// Health and ages ("3s ago") move without the graph changing:
			// read everything once a second even when Version stands still.
			now := time.Time(msg)
			force := m.stale || now.Sub(m.fetched) >= time.Second || now.Before(m.fetched)
			if force {
				m.fetched = now
			}
			m.seq++
			m.fetching, m.stale = true, false
			cmds = append(cmds, m.fetchIf(!force))
		}
		return m, tea.Batch(cmds...)
	case dataMsg:
		m.fetching = false
		if msg.seq < m.applied || msg.unchanged {
			return m, nil
		}
		m.applied = msg.seq
		m.apply(msg)
		return m, nil
	case planMsg:
		if msg.err != nil {
			m.flash("cannot plan: "+msg.err.Error(), false)
			return m, nil
		}
		p := msg.plan
		m.confirm = &p
		return m, nil
	case progressMsg:
		p := Progress(msg)
		m.progress = &p
		if p.Finished {
			if p.Err != nil {
				m.flash(m.action.Kind.String()+" failed: "+p.Err.Error(), false)
			} else {
				m.flash(fmt.Sprintf("%s done: %d of %d. %s", m.action.Kind, p.Done, p.Total, p.Note), true)
			}
			m.progress = nil
		}
		return m, nil
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			return m.move(-3), nil
		case tea.MouseWheelDown:
			return m.move(3), nil
		}
		return m, nil
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) apply(d dataMsg) {
	m.totals, m.health, m.version = d.totals, d.health, d.version
	if d.flows != nil {
		m.flows = *d.flows
		if len(m.flows.Rows) > 0 {
			top := m.flows.Rows[0].ID
			if m.follow {
				m.topID, m.newRows = top, 0
			} else if top != m.topID && m.topID != "" {
				m.newRows++
				m.topID = top
			}
		}
	}
	if d.lineage != nil {
		m.lineage, m.linErr, m.matches = *d.lineage, d.linErr, d.matches
	}
	if d.fns != nil {
		m.fns = d.fns
		m.sortFns()
	}
	if d.queues != nil {
		m.queues = d.queues
	}
	if d.msgs != nil || m.screen == scrDLQMessages {
		m.msgs = groupByError(d.msgs)
	}
	if d.mapv != nil {
		m.mapv = *d.mapv
	}
	m.clamp()
}

// groupByError orders DLQ messages by their consumer error, biggest group first.
func groupByError(msgs []graph.DLQMessage) []graph.DLQMessage {
	count := map[string]int{}
	for _, x := range msgs {
		count[x.Error]++
	}
	out := append([]graph.DLQMessage(nil), msgs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Error, out[j].Error
		if a != b {
			if count[a] != count[b] {
				return count[a] > count[b]
			}
			return a < b
		}
		return out[i].SentAt.After(out[j].SentAt)
	})
	return out
}

func (m *Model) flash(s string, ok bool) {
	m.status, m.statusOK, m.until = s, ok, m.opts.Now().Add(6*time.Second)
}

func (m *Model) go_(s screen) {
	if s == m.screen {
		return
	}
	m.back = append(m.back, m.screen)
	if len(m.back) > 32 {
		m.back = m.back[1:]
	}
	if s != scrHelp {
		m.filter = "" // a filter belongs to the list it was typed on
	}
	m.screen = s
}

func (m Model) goBack() Model {
	if n := len(m.back); n > 0 {
		m.screen, m.back = m.back[n-1], m.back[:n-1]
	}
	return m
}

// refresh asks for data now (after a screen change) instead of at the next tick.
func (m Model) refresh() (Model, tea.Cmd) {
	m.seq++
	m.fetching, m.stale = true, false
	return m, m.fetch()
}

func (m Model) key(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	s := k.String()
	if s == "ctrl+c" {
		m.quitting = true
		return m, tea.Quit
	}
	// A dialog takes input first.
	if m.confirm != nil {
		switch s {
		case "y", "Y":
			p := *m.confirm
			m.confirm = nil
			return m, m.execute(p)
		case "n", "N", "esc", "q":
			m.confirm = nil
			m.flash("cancelled: nothing was changed", true)
		}
		return m, nil
	}
	if m.mode != modeNone {
		return m.typing(k)
	}
	switch s {
	case "q":
		m.quitting = true
		return m, tea.Quit
	case "?":
		if m.screen != scrHelp {
			m.helpFor = m.screen
			m.go_(scrHelp)
		}
		return m, nil
	case ":":
		m.mode, m.input = modeCommand, ""
		return m, nil
	case "/":
		m.mode, m.input = modeFilter, m.filter
		return m, nil
	case "esc":
		if m.filter != "" {
			m.filter = ""
			return m.refresh()
		}
		return m.goBack().refresh()
	case "-":
		return m.goBack().refresh()
	case "j", "down":
		return m.move(1), nil
	case "k", "up":
		return m.move(-1), nil
	case "ctrl+d", "pgdown":
		return m.move(max(m.lay.body/2, 1)), nil
	case "ctrl+u", "pgup":
		return m.move(-max(m.lay.body/2, 1)), nil
	case "g", "home":
		return m.move(-1 << 30), nil
	case "G", "end":
		return m.move(1 << 30), nil
	}
	return m.screenKey(s)
}

// typing handles the command and filter prompts.
func (m Model) typing(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch k.String() {
	case "esc":
		m.mode, m.input = modeNone, ""
		return m, nil
	case "enter":
		mode, in := m.mode, strings.TrimSpace(m.input)
		m.mode, m.input = modeNone, ""
		if mode == modeFilter {
			m.filter = in
			m.flowOff, m.flowCur = 0, 0
			return m.refresh()
		}
		return m.run(in)
	case "backspace":
		if r := []rune(m.input); len(r) > 0 {
			m.input = string(r[:len(r)-1])
		}
	case "tab":
		if m.mode == modeCommand {
			if c := complete(m.input); c != "" {
				m.input = c
			}
		}
	case "space":
		m.input += " "
	default:
		if t := k.Key().Text; t != "" {
			m.input += t
		}
	}
	if m.mode == modeFilter {
		m.filter = m.input // filter as you type
		m.flowOff, m.flowCur = 0, 0
		return m.refresh()
	}
	return m, nil
}

// complete extends in to the longest prefix every matching command shares
// (the command itself when only one matches), or returns "".
func complete(in string) string {
	var hits []string
	for _, c := range commands {
		if strings.HasPrefix(c, in) {
			hits = append(hits, c)
		}
	}
	if len(hits) == 0 {
		return ""
	}
	p := hits[0]
	for _, h := range hits[1:] {
		for !strings.HasPrefix(h, p) {
			p = p[:len(p)-1]
		}
	}
	if len(p) <= len(in) {
		return ""
	}
	return p
}

// run carries out a `:` command.
func (m Model) run(cmd string) (tea.Model, tea.Cmd) {
	word, arg, _ := strings.Cut(cmd, " ")
	switch word {
	case "fn", "functions", "func":
		m.go_(scrFunctions)
	case "dlq", "dlqs":
		m.go_(scrDLQs)
	case "map":
		m.go_(scrMap)
	case "flows", "events", "home":
		m.go_(scrFlows)
	case "help":
		m.helpFor = m.screen
		m.go_(scrHelp)
	case "q", "quit":
		m.quitting = true
		return m, tea.Quit
	case "tail", "t", "event":
		arg = strings.TrimSpace(arg)
		if arg == "" {
			m.flash("tail needs an ID: :tail <event, message, request or trace ID>", false)
			return m, nil
		}
		m.eventID, m.eventLine = arg, 0
		m.go_(scrEvent)
	case "":
		return m, nil
	default:
		m.flash(fmt.Sprintf("unknown command %q: try fn, dlq, map, flows, tail <id>, help, quit", tracing.Sanitize(cmd, false)), false)
		return m, nil
	}
	return m.refresh()
}

// screenKey handles keys that belong to the current screen.
func (m Model) screenKey(s string) (tea.Model, tea.Cmd) {
	switch m.screen {
	case scrFlows:
		switch s {
		case "enter", "t":
			if m.flowCur < len(m.flows.Rows) {
				m.eventID, m.eventLine = m.flows.Rows[m.flowCur].ID, 0
				m.go_(scrEvent)
				return m.refresh()
			}
		case "s":
			m.flowSort = (m.flowSort + 1) % 6
			m.flash("sorted by "+sortNames[m.flowSort], true)
			return m.refresh()
		case "f":
			m.follow = !m.follow
			m.newRows = 0
			return m.refresh()
		}
	case scrEvent:
		switch s {
		case "enter":
			// On an ambiguous ID, enter opens the event under the cursor.
			if i := m.eventLine - matchListTop; m.linErr != nil && i >= 0 && i < len(m.matches) {
				m.eventID, m.eventLine = m.matches[i].ID, 0
				m.lineage, m.linErr, m.matches = graph.Lineage{}, nil, nil
				return m.refresh()
			}
		case "r":
			if len(m.lineage.DLQ) > 0 {
				d := m.lineage.DLQ[0]
				return m.ask(Action{Kind: ActionRedriveSelected, Queue: d.Queue, MessageIDs: []string{d.MessageID}})
			}
			m.flash("this event has no copy in a DLQ", false)
		case "e":
			if len(m.lineage.DLQ) == 0 {
				m.flash("nothing to replay: this event has no stored copy (replay a DLQ message, or use flowtop replay with --body-file)", false)
				return m, nil
			}
			d := m.lineage.DLQ[0]
			return m.ask(Action{Kind: ActionReplay, EventID: d.MessageID, Body: d.Body, Queue: d.Queue, Target: "sqs:" + d.SourceQueue})
		}
	case scrFunctions:
		if s == "s" {
			m.fnSort = (m.fnSort + 1) % len(fnSorts)
			m.sortFns()
			m.flash("sorted by "+fnSorts[m.fnSort].name, true)
		}
	case scrDLQs:
		if s == "enter" && m.dlqCur < len(m.queues) {
			m.dlqQueue, m.msgCur = m.queues[m.dlqCur].Name, 0
			m.selected = map[string]bool{}
			m.go_(scrDLQMessages)
			return m.refresh()
		}
		if s == "r" && m.dlqCur < len(m.queues) {
			return m.ask(Action{Kind: ActionRedriveAll, Queue: m.queues[m.dlqCur].Name})
		}
	case scrDLQMessages:
		switch s {
		case "enter":
			if m.msgCur < len(m.msgs) {
				m.message = m.msgs[m.msgCur]
				m.go_(scrMessage)
			}
		case "space", " ":
			if m.msgCur < len(m.msgs) {
				id := m.msgs[m.msgCur].MessageID
				m.selected[id] = !m.selected[id]
				if !m.selected[id] {
					delete(m.selected, id)
				}
				return m.move(1), nil
			}
		case "a":
			// select the cursor's error group
			if m.msgCur < len(m.msgs) {
				e := m.msgs[m.msgCur].Error
				for _, x := range m.msgs {
					if x.Error == e {
						m.selected[x.MessageID] = true
					}
				}
			}
		case "r":
			return m.ask(Action{Kind: ActionRedriveAll, Queue: m.dlqQueue})
		case "R":
			var ids []string
			for id := range m.selected {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			if len(ids) == 0 {
				m.flash("select messages with space (a: the whole error group) first", false)
				return m, nil
			}
			return m.ask(Action{Kind: ActionRedriveSelected, Queue: m.dlqQueue, MessageIDs: ids})
		case "t":
			if m.msgCur < len(m.msgs) {
				m.eventID, m.eventLine = m.msgs[m.msgCur].MessageID, 0
				m.go_(scrEvent)
				return m.refresh()
			}
		}
	case scrMessage:
		switch s {
		case "e":
			return m.ask(Action{Kind: ActionReplay, EventID: m.message.MessageID, Body: m.message.Body, Queue: m.message.Queue, Target: "sqs:" + m.message.SourceQueue})
		case "t":
			m.eventID, m.eventLine = m.message.MessageID, 0
			m.go_(scrEvent)
			return m.refresh()
		}
	}
	return m, nil
}

// ask plans an action and opens the confirmation dialog with the plan.
func (m Model) ask(a Action) (tea.Model, tea.Cmd) {
	if m.opts.ReadOnly {
		m.flash("read-only: "+a.Kind.String()+" is disabled (started with --read-only)", false)
		return m, nil
	}
	if m.opts.Replayer == nil {
		m.flash(a.Kind.String()+" is not available in this session", false)
		return m, nil
	}
	m.action = a
	r := m.opts.Replayer
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p, err := r.Plan(ctx, a)
		return planMsg{plan: p, err: err}
	}
}

// execute runs a confirmed plan, reporting progress as it goes.
func (m Model) execute(p Plan) tea.Cmd {
	r := m.opts.Replayer
	if r == nil || m.opts.ReadOnly {
		return nil
	}
	m.flash("working: "+p.Summary, true)
	return func() tea.Msg {
		var last Progress
		err := r.Execute(context.Background(), p, func(pr Progress) { last = pr })
		last.Finished, last.Err = true, err
		return progressMsg(last)
	}
}

// move moves the cursor of the current screen.
func (m Model) move(d int) Model {
	switch m.screen {
	case scrFlows:
		if d < 0 && m.flowCur+d < 0 && m.flowOff > 0 {
			m.flowOff = max(0, m.flowOff+d)
		}
		m.flowCur += d
		if m.flowCur >= len(m.flows.Rows) && len(m.flows.Rows) == m.lay.body && m.flowOff+len(m.flows.Rows) < m.flows.Matched {
			m.flowOff = min(m.flowOff+(m.flowCur-len(m.flows.Rows)+1), max(m.flows.Matched-m.lay.body, 0))
			m.flowCur = len(m.flows.Rows) - 1
		}
		m.follow = m.flowOff == 0 && m.flowCur <= 0
		if m.follow {
			m.newRows = 0
		}
	case scrEvent:
		m.eventLine += d
	case scrFunctions:
		m.fnCur += d
	case scrDLQs:
		m.dlqCur += d
	case scrDLQMessages:
		m.msgCur += d
	case scrMap:
		m.mapCur += d
	}
	m.clamp()
	return m
}

func clampInt(v, lo, hi int) int {
	if hi < lo {
		hi = lo
	}
	return min(max(v, lo), hi)
}

func (m *Model) clamp() {
	m.flowCur = clampInt(m.flowCur, 0, len(m.flows.Rows)-1)
	m.eventLine = clampInt(m.eventLine, 0, len(m.eventLines())-1)
	m.fnCur = clampInt(m.fnCur, 0, len(m.fns)-1)
	m.dlqCur = clampInt(m.dlqCur, 0, len(m.queues)-1)
	m.msgCur = clampInt(m.msgCur, 0, len(m.msgs)-1)
	m.mapCur = clampInt(m.mapCur, 0, len(m.mapv.Edges)+len(m.mapv.Nodes)-1)
}

var sortNames = [...]string{"recent activity", "start time", "latency", "hops", "status", "cost"}

type fnSort struct {
	name string
	less func(a, b graph.FunctionStats) bool
}

var fnSorts = []fnSort{
	{"cost", func(a, b graph.FunctionStats) bool { return a.CostUSD > b.CostUSD }},
	{"p95", func(a, b graph.FunctionStats) bool { return a.P95 > b.P95 }},
	{"errors", func(a, b graph.FunctionStats) bool { return a.Errors > b.Errors }},
	{"invocations", func(a, b graph.FunctionStats) bool { return a.Invocations > b.Invocations }},
	{"cold starts", func(a, b graph.FunctionStats) bool { return a.ColdStarts > b.ColdStarts }},
	{"name", func(a, b graph.FunctionStats) bool { return a.Name < b.Name }},
}

func (m *Model) sortFns() {
	less := fnSorts[m.fnSort].less
	sort.SliceStable(m.fns, func(i, j int) bool {
		if less(m.fns[i], m.fns[j]) != less(m.fns[j], m.fns[i]) {
			return less(m.fns[i], m.fns[j])
		}
		return m.fns[i].Name < m.fns[j].Name
	})
}

// layout is where things go on a screen of a given size.
type layout struct {
	header int // rows above the body
	body   int // rows for the current screen's content
	footer int // rows below
	width  int
}

// computeLayout is a pure function of the terminal size.
func computeLayout(w, h int) layout {
	l := layout{header: 3, footer: 2, width: max(w, 20)}
	if h < 12 {
		l.header, l.footer = 1, 1
	}
	l.body = max(h-l.header-l.footer, 1)
	return l
}

// styles are the console's colours; with NO_COLOR every style is plain.
type styles struct {
	title, dim, bold, sel, ok, warn, bad, key, head lipgloss.Style
}

func newStyles(noColor bool) styles {
	p := lipgloss.NewStyle()
	if noColor {
		return styles{title: p, dim: p, bold: p, sel: p.Reverse(true), ok: p, warn: p, bad: p, key: p, head: p}
	}
	return styles{
		title: p.Bold(true).Foreground(lipgloss.Color("12")),
		dim:   p.Foreground(lipgloss.Color("8")),
		bold:  p.Bold(true),
		sel:   p.Reverse(true),
		ok:    p.Foreground(lipgloss.Color("10")),
		warn:  p.Foreground(lipgloss.Color("11")),
		bad:   p.Foreground(lipgloss.Color("9")),
		key:   p.Foreground(lipgloss.Color("14")),
		head:  p.Bold(true).Underline(true),
	}
}
