package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/screen"
	ctxscreen "github.com/flowtop/flowtop/tui/screens/ctx"
	"github.com/flowtop/flowtop/tui/widget"
)

// Options configures the console.
type Options struct {
	Feed     Feed
	Replayer Replayer // nil: no actions
	Player   Player   // nil: live; else a recording plays, with time controls (player.go)
	Searcher Searcher // nil: `:tail <unknown id>` says no history search is available
	ReadOnly bool     // hide and refuse every action that changes anything
	Title    string   // "sandbox …" or the account/region
	NoColor  bool
	TailID   string // open the event screen for this ID
	Start    string // first screen: a `:` word such as "flows" (default), "fn", "dlq", "map"
	Now      func() time.Time
	Tick     time.Duration // how often to look at the graph's Version (default 100ms)
}

// Model is the root model: it owns size, layout, the navigation stack,
// global keys, the prompt, the action dialog, the status line and routing.
// Screens own everything else. It is used through a pointer: Update changes
// it in place, so nothing (progress, the frame cache) is set on a copy and
// lost.
type Model struct {
	opts  Options
	ctx   context.Context // the program's: quitting cancels actions and searches under it
	st    widget.Styles
	env   screen.Env
	specs []screen.Spec
	keys  GlobalKeys
	help  help.Model

	w, h  int
	lay   layout
	stack []screen.Screen // the last is focused
	last  screen.Screen   // focused before the current one, for `-`

	// Reading the feed.
	seq      uint64 // the last request sent
	applied  uint64 // replies up to this one are stale
	fetching bool
	version  uint64    // the Feed's Version as of the last applied read
	fetched  time.Time // when (by the tick's clock) the last full read was asked for
	stale    bool      // input arrived since the last read: read even if Version is the same
	totals   graph.Totals
	health   []tracing.SourceHealth
	contexts []ctxscreen.Context // the watched contexts, when more than one (header)
	narrowed string              // the context the views are narrowed to

	flash    flash
	prompt   prompt
	showHelp bool
	helpOff  int
	dlg      *dialog
	search   *search
	nextID   uint64 // for dialogs and searches

	frame    string // the last rendered frame
	dirty    bool   // something changed since frame was rendered
	quitting bool
	pace     *pacer // nil outside a program (tests of views)
}

type flash struct {
	text  string
	level screen.Level
	until time.Time
}

// New returns the console's root model.
func New(opts Options) *Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tick <= 0 {
		opts.Tick = 100 * time.Millisecond
	}
	st := widget.NewStyles(opts.NoColor)
	m := &Model{opts: opts, ctx: context.Background(), st: st, keys: DefaultGlobalKeys(), help: help.New(), w: 80, h: 24, dirty: true}
	m.env = screen.Env{St: st, Now: opts.Now, Actions: !opts.ReadOnly && opts.Replayer != nil}
	m.help.Styles.ShortKey, m.help.Styles.ShortDesc, m.help.Styles.ShortSeparator = st.Key, st.Dim, st.Dim
	m.help.Styles.Ellipsis = st.Dim
	m.help.ShortSeparator = "  "
	m.specs = registry(opts.Feed)
	m.lay = computeLayout(m.w, m.h)
	m.prompt = newPrompt(st)
	home := m.specs[0]
	if s, ok := m.specByWord(opts.Start); ok && s.Arg == "" {
		home = s
	}
	m.push(home.New(m.env, nil))
	if opts.TailID != "" {
		m.push(m.specByID(eventScreen).New(m.env, opts.TailID))
	}
	return m
}

// Run starts the console on the terminal and blocks until the user quits or
// ctx ends. The terminal is restored on the way out. Actions and history
// searches run under ctx: quitting cancels them.
func Run(ctx context.Context, opts Options) error {
	m := New(opts)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.ctx = ctx
	var popts []tea.ProgramOption
	if in := terminalInput(); in != nil {
		popts = append(popts, tea.WithInput(in))
	}
	p := newProgram(ctx, m, m, frameRate, popts...)
	_, err := p.Run()
	m.pace.stop()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// frameRate is how many frames a second the terminal layer may write. A
// key's answer waits for the next frame, up to one frame period: at the
// terminal layer's default of 60 that is 17 ms of the 30 ms a key may take
// to reach the screen; at 120 (its most) it is 8 ms. A frame is written only
// when the view changed, and the ticker rests while the view stands still
// (pace.go), so an idle console costs no more.
const frameRate = 120

// programOptions are the options the console runs with, then extra.
func programOptions(ctx context.Context, extra ...tea.ProgramOption) []tea.ProgramOption {
	return append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithFilter(coalesceWheel())}, extra...)
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

func (m *Model) specByID(id screen.ID) screen.Spec {
	for _, s := range m.specs {
		if s.ID == id {
			return s
		}
	}
	return m.specs[0]
}

func (m *Model) specByWord(w string) (screen.Spec, bool) {
	for _, s := range m.specs {
		for _, x := range s.Words {
			if x == w {
				return s, true
			}
		}
	}
	return screen.Spec{}, false
}

func (m *Model) top() screen.Screen { return m.stack[len(m.stack)-1] }

// push focuses a new screen.
func (m *Model) push(s screen.Screen) {
	if len(m.stack) > 0 {
		m.last = m.top()
	}
	m.stack = append(m.stack, s)
	if len(m.stack) > 32 {
		m.stack = m.stack[1:]
	}
	m.focused()
}

// focus focuses s: back to it when it is on the stack, else on top.
func (m *Model) focus(s screen.Screen) {
	for i, x := range m.stack {
		if x == s {
			m.last = m.top()
			m.stack = m.stack[:i+1]
			m.focused()
			return
		}
	}
	m.push(s)
}

// focused runs after the focused screen changed: it gets the size, old
// replies are dropped, and a flash about the previous screen goes.
func (m *Model) focused() {
	m.top().SetSize(m.lay.width, m.lay.body)
	m.applied = m.seq
	m.fetching = false
	m.flash = flash{}
	m.showHelp = false
}

// back pops the focused screen.
func (m *Model) back() tea.Cmd {
	if len(m.stack) < 2 {
		return nil
	}
	m.last = m.top()
	m.stack = m.stack[:len(m.stack)-1]
	m.focused()
	return m.refresh()
}

// previous goes to the screen focused before this one (and `-` again comes
// back), as `cd -` does.
func (m *Model) previous() tea.Cmd {
	if m.last == nil || m.last == m.top() {
		return nil
	}
	m.focus(m.last)
	return m.refresh()
}

func (m *Model) open(o screen.Open) tea.Cmd {
	spec := m.specByID(o.To)
	if spec.ID != o.To {
		m.say(screen.LevelError, fmt.Sprintf("no screen %q", o.To))
		return nil
	}
	if o.Arg != nil && spec.Do != nil {
		return spec.Do(m.env, o.Arg)
	}
	if o.Arg == nil {
		// A screen without an argument is one place: go back to it,
		// cursor and filter as they were, rather than stack another.
		for _, s := range m.stack {
			if s.ID() == spec.ID {
				m.focus(s)
				return m.refresh()
			}
		}
	}
	m.push(spec.New(m.env, o.Arg))
	return m.refresh()
}

func (m *Model) say(level screen.Level, text string) {
	m.flash = flash{text: text, level: level, until: m.opts.Now().Add(6 * time.Second)}
}

type tickMsg time.Time

// dataMsg carries one read: the header's figures and the focused screen's
// reply. unchanged says the Feed's Version had not moved, so nothing was read.
type dataMsg struct {
	seq       uint64
	version   uint64
	unchanged bool
	totals    graph.Totals
	health    []tracing.SourceHealth
	contexts  []ctxscreen.Context
	narrowed  string
	screen    tea.Msg
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.opts.Tick, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// refresh reads now: the header and the focused screen.
func (m *Model) refresh() tea.Cmd { return m.read(false) }

// read asks the focused screen for its Refresh command and runs it, with the
// header's reads, in one command. With onlyIfChanged it first asks the Feed
// for its Version and reads nothing when that is the one already shown. Even
// Version runs in the command: it may wait for a lock while ingest writes.
func (m *Model) read(onlyIfChanged bool) tea.Cmd {
	m.seq++
	m.fetching, m.stale = true, false
	feed, seq, shown := m.opts.Feed, m.seq, m.version
	inner := m.top().Refresh(seq)
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
		if cf, ok := feed.(ctxscreen.Feed); ok {
			d.contexts, d.narrowed = cf.Contexts(), cf.Narrowed()
		}
		if inner != nil {
			d.screen = inner()
		}
		return d
	}
}

// Init starts the tick and the first read.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.refresh(), m.tick())
}

// Update routes in a fixed order: (1) size, quit and help; (2) an open
// dialog, the help overlay or the prompt, which take input first; (3) key
// presses, pastes and the wheel, to the focused screen only; (4) data, ticks
// and results, to their owner by ID and sequence.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tickMsg:
		return m.onTick(time.Time(msg))
	case dataMsg:
		return m.onData(msg)
	}
	m.dirty = true
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.lay = computeLayout(m.w, m.h)
		m.top().SetSize(m.lay.width, m.lay.body)
		m.prompt.setWidth(m.lay.width)
		m.help.SetWidth(m.lay.width)
		m.sizeDialog()
		m.stale = true
		return nil
	case tea.KeyPressMsg:
		m.stale = true
		return m.onKey(msg)
	case tea.PasteMsg:
		m.stale = true
		return m.onPaste(msg)
	case tea.MouseWheelMsg:
		if m.dlg != nil || m.showHelp {
			return nil
		}
		return m.toScreen(msg)
	case screen.Open:
		return m.open(msg)
	case screen.Back:
		return m.back()
	case screen.Reload:
		return m.refresh()
	case screen.Flash:
		m.say(msg.Level, msg.Text)
		return nil
	case screen.Ask:
		return m.ask(msg.Action)
	case planMsg:
		return m.onPlan(msg)
	case progressMsg:
		return m.onProgress(msg)
	case doneMsg:
		return m.onDone(msg)
	case tailMsg:
		return m.onTail(msg)
	case searchNoteMsg:
		return m.onSearchNote(msg)
	case searchDoneMsg:
		return m.onSearchDone(msg)
	}
	return nil
}

func (m *Model) onTick(now time.Time) tea.Cmd {
	cmds := []tea.Cmd{m.tick()}
	if m.flash.text != "" && !now.Before(m.flash.until) && !m.opts.Now().Before(m.flash.until) {
		m.flash, m.dirty = flash{}, true
	}
	if !m.fetching {
		// Health and ages ("3s ago") move without the graph changing:
		// read everything once a second even when Version stands still.
		force := m.stale || now.Sub(m.fetched) >= time.Second || now.Before(m.fetched)
		if force {
			m.fetched = now
		}
		cmds = append(cmds, m.read(!force))
	}
	return tea.Batch(cmds...)
}

func (m *Model) onData(d dataMsg) tea.Cmd {
	if d.seq == m.seq {
		m.fetching = false
	}
	if d.seq <= m.applied || d.unchanged {
		return nil
	}
	m.applied = d.seq
	m.dirty = true
	m.totals, m.health, m.version = d.totals, d.health, d.version
	m.contexts, m.narrowed = d.contexts, d.narrowed
	if l, ok := d.screen.(screen.Loaded); ok && l.ID == m.top().ID() {
		return m.toScreen(l)
	}
	return nil
}

// toScreen hands msg to the focused screen.
func (m *Model) toScreen(msg tea.Msg) tea.Cmd {
	s, cmd := m.top().Update(msg)
	m.stack[len(m.stack)-1] = s
	return cmd
}

func (m *Model) onKey(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case m.dlg != nil:
		return m.dialogKey(k)
	case k.String() == "ctrl+c":
		return m.quit()
	case m.prompt.active():
		return m.promptKey(k)
	case m.showHelp:
		return m.helpKey(k)
	}
	g := m.keys
	switch {
	case matches(k, g.Quit):
		return m.quit()
	case matches(k, g.Help):
		m.showHelp, m.helpOff = true, 0
		return nil
	case matches(k, g.Command):
		return m.openPrompt(modeCommand, "")
	case matches(k, g.Filter):
		if _, ok := m.top().(screen.Filterer); !ok {
			m.say(screen.LevelWarn, "/ filters lists; "+m.top().Title()+" has nothing to filter")
			return nil
		}
		return m.openPrompt(modeFilter, "")
	case matches(k, g.Back):
		if f, ok := m.top().(screen.Filterer); ok && f.Filter() != "" {
			f.SetFilter("")
			return m.refresh()
		}
		return m.back()
	case matches(k, g.Previous):
		return m.previous()
	}
	if m.opts.Player != nil {
		if cmd, ok := m.playerKey(k); ok {
			return cmd
		}
	}
	return m.toScreen(k)
}

// onPaste: a paste goes to the prompt; outside it, a paste on a list filters
// it, and elsewhere it starts `:tail` with the pasted ID.
func (m *Model) onPaste(p tea.PasteMsg) tea.Cmd {
	if m.dlg != nil || m.showHelp {
		return nil
	}
	if m.prompt.active() {
		return m.promptPaste(p)
	}
	text := pasted(p.Content)
	if _, ok := m.top().(screen.Filterer); ok {
		return m.openPrompt(modeFilter, text)
	}
	return m.openPrompt(modeCommand, "tail "+text)
}

// pasted keeps the first line of a paste, trimmed and without controls.
func pasted(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s))
}

func (m *Model) quit() tea.Cmd {
	m.quitting = true
	if m.dlg != nil && m.dlg.cancel != nil {
		m.dlg.cancel()
	}
	if m.search != nil {
		m.search.cancel()
	}
	return tea.Quit
}

// run carries out a `:` command.
func (m *Model) run(line string) tea.Cmd {
	word, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	switch word {
	case "":
		return nil
	case "q", "quit":
		return m.quit()
	case "help":
		m.showHelp, m.helpOff = true, 0
		return nil
	case "tail", "t":
		if arg == "" {
			m.say(screen.LevelError, "tail needs an ID: :tail <event, message, request or trace ID>")
			return nil
		}
		return m.tail(arg)
	case "goto":
		return m.playerGoto(arg)
	}
	spec, ok := m.specByWord(word)
	if !ok {
		m.say(screen.LevelError, fmt.Sprintf("unknown command %q: try %s", tracing.Sanitize(line, false), strings.Join(m.words(), ", ")))
		return nil
	}
	if spec.Arg != "" && arg == "" {
		m.say(screen.LevelError, spec.Arg)
		return nil
	}
	var a any
	if arg != "" {
		a = arg
	}
	return m.open(screen.Open{To: spec.ID, Arg: a})
}

// words are the `:` commands, for completion and errors.
func (m *Model) words() []string {
	var out []string
	for _, s := range m.specs {
		if len(s.Words) > 0 {
			w := s.Words[0]
			if s.Arg != "" {
				w += " <arg>"
			}
			out = append(out, w)
		}
	}
	return append(out, "tail <id>", "help", "quit")
}
