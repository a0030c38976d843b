package tui

import (
	"context"
	"errors"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/widget"
)

// search is a history search in progress for `:tail <id>`.
type search struct {
	id     uint64
	target string
	cancel context.CancelFunc
	ch     chan string
}

// searchTimeout bounds one history search.
const searchTimeout = 2 * time.Minute

type tailMsg struct {
	id    string
	found bool
}

type searchNoteMsg struct {
	id   uint64
	note string
}

type searchDoneMsg struct {
	id  uint64
	err error
}

// tail opens the event screen for id, after looking it up: an ID the feed
// doesn't hold is searched for in the sources' history first.
func (m *Model) tail(id string) tea.Cmd {
	feed := m.opts.Feed
	return func() tea.Msg {
		if feed == nil {
			return tailMsg{id: id}
		}
		_, err := feed.Lineage(id)
		return tailMsg{id: id, found: !errors.Is(err, graph.ErrNotFound)}
	}
}

func (m *Model) onTail(t tailMsg) tea.Cmd {
	if t.found {
		return m.open(screen.Open{To: eventScreen, Arg: t.id})
	}
	if m.opts.Searcher == nil {
		cmd := m.open(screen.Open{To: eventScreen, Arg: t.id})
		m.say(screen.LevelWarn, widget.Clean(t.id)+" is not in what flowtop holds, and no history search is available in this session")
		return cmd
	}
	if m.search != nil {
		m.search.cancel()
	}
	m.nextID++
	ctx, cancel := context.WithTimeout(m.ctx, searchTimeout)
	s := &search{id: m.nextID, target: t.id, cancel: cancel, ch: make(chan string, 16)}
	m.search = s
	m.say(screen.LevelInfo, "searching history for "+widget.Clean(t.id)+"…")
	m.flash.until = m.flash.until.Add(searchTimeout)
	searcher, ch, sid, target := m.opts.Searcher, s.ch, s.id, t.id
	var mu sync.Mutex
	closed := false
	note := func(n string) {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return
		}
		select {
		case ch <- n:
		default: // the status line shows the newest note; one dropped is fine
		}
	}
	run := func() tea.Msg {
		defer cancel()
		err := searcher.SearchHistory(ctx, target, note)
		mu.Lock()
		closed = true
		close(ch)
		mu.Unlock()
		return searchDoneMsg{id: sid, err: err}
	}
	return tea.Batch(run, listenSearch(sid, ch))
}

func listenSearch(id uint64, ch <-chan string) tea.Cmd {
	return func() tea.Msg {
		n, ok := <-ch
		if !ok {
			return nil
		}
		return searchNoteMsg{id: id, note: n}
	}
}

func (m *Model) onSearchNote(n searchNoteMsg) tea.Cmd {
	s := m.search
	if s == nil || s.id != n.id {
		return nil
	}
	m.say(screen.LevelInfo, "searching history for "+widget.Clean(s.target)+": "+widget.Clean(n.note))
	m.flash.until = m.flash.until.Add(searchTimeout)
	return listenSearch(s.id, s.ch)
}

func (m *Model) onSearchDone(d searchDoneMsg) tea.Cmd {
	s := m.search
	if s == nil || s.id != d.id {
		return nil
	}
	m.search = nil
	cmd := m.open(screen.Open{To: eventScreen, Arg: s.target})
	switch {
	case errors.Is(d.err, context.Canceled):
		m.say(screen.LevelWarn, "history search for "+widget.Clean(s.target)+" cancelled")
	case d.err != nil:
		m.say(screen.LevelError, "history search for "+widget.Clean(s.target)+" failed: "+d.err.Error())
	default:
		m.say(screen.LevelOK, "history searched for "+widget.Clean(s.target))
	}
	return cmd
}
