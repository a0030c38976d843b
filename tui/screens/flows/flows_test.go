package flows_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/flows"
)

func newScreen() screen.Screen { return flows.New(screentest.Env(true), fake.NewFeed()) }

func TestGoldens(t *testing.T) {
	screentest.Goldens(t, "flows", newScreen)
	screentest.Goldens(t, "flows-status-filter", func() screen.Screen {
		s := newScreen()
		s.(screen.Filterer).SetFilter("status:dead type:order")
		return s
	})
}

func TestKeys(t *testing.T) {
	s := newScreen()
	s.SetSize(120, 20)
	s, _ = screentest.Load(t, s)
	s, out := screentest.Press(t, s, "j", "j", "enter")
	if len(out) == 0 || out[len(out)-1] != (screen.Open{To: flows.EventID, Arg: fake.NewFeed().Rows[2].ID}) {
		t.Fatalf("enter: %#v", out)
	}
	s, out = screentest.Press(t, s, "s")
	if !strings.Contains(s.(screen.Informer).Info(), "sort: start time ▼") || len(out) < 2 {
		t.Errorf("s: %s %#v", s.(screen.Informer).Info(), out)
	}
	s, _ = screentest.Press(t, s, "S")
	v := ansi.Strip(s.View())
	if !strings.Contains(strings.Split(v, "\n")[1], "ev-0059") || !strings.Contains(v, "AGE ▲") {
		t.Errorf("S:\n%s", v)
	}
	s, _ = screentest.Press(t, s, "f")
	if !strings.Contains(s.(screen.Informer).Info(), "following") {
		t.Errorf("f: %s", s.(screen.Informer).Info())
	}
}

func TestFieldFilter(t *testing.T) {
	s := newScreen()
	s.SetSize(120, 30)
	s.(screen.Filterer).SetFilter("status:dead-lettered")
	s, _ = screentest.Load(t, s)
	v := ansi.Strip(s.View())
	if !strings.Contains(v, "ev-0005") || strings.Contains(v, "ev-0004") || strings.Contains(v, " ok ") {
		t.Errorf("status filter:\n%s", v)
	}
	s.(screen.Filterer).SetFilter("!status:ok")
	s, _ = screentest.Load(t, s)
	if v := ansi.Strip(s.View()); strings.Contains(v, " ok ") || !strings.Contains(v, "retrying") {
		t.Errorf("inverted status filter:\n%s", v)
	}
}

// TestCursorStaysOnItsEvent: when not following, new events push the
// selected one down and the cursor goes with it.
func TestCursorStaysOnItsEvent(t *testing.T) {
	feed := fake.NewFeed()
	s := screen.Screen(flows.New(screentest.Env(true), feed))
	s.SetSize(120, 10) // 9 rows
	s, _ = screentest.Load(t, s)
	s, _ = screentest.Press(t, s, "j", "j", "j", "j", "j", "j") // ev-0006, the 7th row
	for i := 0; i < 4; i++ {
		feed.Rows = append([]graph.FlowRow{{ID: fmt.Sprintf("new-%d", i)}}, feed.Rows...)
	}
	s, _ = screentest.Load(t, s)
	cur := ""
	for _, l := range strings.Split(s.View(), "\n") {
		if strings.Contains(l, "\x1b[7m") {
			cur = strings.Fields(ansi.Strip(l))[0]
		}
	}
	if cur != "ev-0006-aaaaaaaaaaaaaaaaaaaa" {
		t.Errorf("cursor on %q:\n%s", cur, ansi.Strip(s.View()))
	}
	if !strings.Contains(s.(screen.Informer).Info(), "new") {
		t.Errorf("no new count: %s", s.(screen.Informer).Info())
	}
}

// partialFeed answers like the fake feed, but partially (half the rows
// found, Partial set) for its first reads of each query, as the graph does
// while a new filter's match set is incomplete. It records what it was asked.
type partialFeed struct {
	*fake.Feed
	partialReads int
	asked        []graph.FlowQuery
}

func (p *partialFeed) Flows(q graph.FlowQuery) graph.FlowPage {
	p.asked = append(p.asked, q)
	page := p.Feed.Flows(q)
	if p.partialReads > 0 {
		p.partialReads--
		page.Matched /= 2
		page.Rows = page.Rows[:min(len(page.Rows), page.Matched)]
		page.Partial = true
	}
	return page
}

// TestFieldTermsAskedOfTheGraph: a field-term filter is the graph's to
// answer, every term of it, progressively; one refresh asks one page.
func TestFieldTermsAskedOfTheGraph(t *testing.T) {
	feed := &partialFeed{Feed: fake.NewFeed()}
	s := screen.Screen(flows.New(screentest.Env(true), feed))
	s.SetSize(120, 30)
	s.(screen.Filterer).SetFilter("ord status:dead fn:charge")
	screentest.Load(t, s)
	if len(feed.asked) != 1 {
		t.Fatalf("one refresh asked %d pages", len(feed.asked))
	}
	q := feed.asked[0]
	want := []graph.FieldTerm{{Key: "status", Value: "dead"}, {Key: "fn", Value: "charge"}}
	if q.Filter != "ord" || !slices.Equal(q.Fields, want) || !q.Progressive || q.Limit != 29 {
		t.Fatalf("asked %+v", q)
	}
}

// TestPartialAnswerReadsAgain: while the graph's answer is partial the
// screen says so ("≥N so far, searching…") and reads again at once, until
// the answer is complete; then it says how many match and reads no more.
func TestPartialAnswerReadsAgain(t *testing.T) {
	feed := &partialFeed{Feed: fake.NewFeed(), partialReads: 1}
	s := screen.Screen(flows.New(screentest.Env(true), feed))
	s.SetSize(120, 30)
	s.(screen.Filterer).SetFilter("status:dead")
	total := feed.Feed.Flows(graph.FlowQuery{Fields: []graph.FieldTerm{{Key: "status", Value: "dead"}}}).Matched
	// One load: the partial answer, shown with its count so far.
	cmd := s.Refresh(1)
	s, next := s.Update(cmd())
	if info := s.(screen.Informer).Info(); !strings.Contains(info, fmt.Sprintf("≥%d so far, searching…", total/2)) {
		t.Fatalf("partial answer: info %q", info)
	}
	if next == nil {
		t.Fatal("a partial answer did not ask to read again")
	}
	if _, ok := next().(screen.Reload); !ok {
		t.Fatal("a partial answer asked something else than a reload")
	}
	// The reload reads the complete answer.
	s, out := screentest.Load(t, s)
	if info := s.(screen.Informer).Info(); !strings.Contains(info, fmt.Sprintf("%d matches", total)) || strings.Contains(info, "so far") {
		t.Fatalf("complete answer: info %q", info)
	}
	for _, m := range out {
		if _, ok := m.(screen.Reload); ok {
			t.Fatal("a complete answer asked to read again")
		}
	}
	if len(feed.asked) != 2 {
		t.Fatalf("asked %d pages, want 2", len(feed.asked))
	}
}

// TestStatusDeadOverManyEvents: over a real graph of 8000 events, the
// oldest of them dead-lettered, status:dead finds it (the screen used to
// look at the newest 5000 only). The answer is read until complete, as
// the console does.
func TestStatusDeadOverManyEvents(t *testing.T) {
	g := graph.New(graph.Config{MaxEvents: 10_000})
	at := time.Now().Add(-time.Hour)
	var b tracing.Batch
	for i := 0; i < 8000; i++ {
		id := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
		m := &tracing.Message{Broker: tracing.BrokerSQS, Queue: "billing-queue", ID: id}
		if i == 0 {
			m.Queue, m.DeadLetter, m.SourceQueue = "billing-dlq", true, "billing-queue"
		}
		b = append(b, tracing.Observation{Kind: tracing.ObsMessage, Time: at.Add(time.Duration(i) * time.Millisecond), Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: id}}, Message: m})
	}
	g.Ingest(b)
	for _, filter := range []string{"status:dead", "dlq status:dead-lettered"} {
		s := screen.Screen(flows.New(screentest.Env(true), g))
		s.SetSize(120, 30)
		s.(screen.Filterer).SetFilter(filter)
		s, _ = screentest.Load(t, s)
		v := ansi.Strip(s.View())
		if !strings.Contains(v, "00000000-0000-4000-8000-000000000000") || !strings.Contains(v, "dead-lettered") {
			t.Fatalf("%s did not find the oldest event:\n%s", filter, v)
		}
		if info := s.(screen.Informer).Info(); !strings.HasPrefix(info, "1 match ") {
			t.Fatalf("%s: info %q", filter, info)
		}
	}
}

// TestReversedPartialAnswer: reversed, the window counts from the end of
// the list, which a partial answer does not know: the screen says it is
// searching, and shows the oldest matches once the answer is complete.
func TestReversedPartialAnswer(t *testing.T) {
	feed := &partialFeed{Feed: fake.NewFeed()}
	s := screen.Screen(flows.New(screentest.Env(true), feed))
	s.SetSize(120, 30)
	s, _ = screentest.Press(t, s, "S")
	s.(screen.Filterer).SetFilter("status:dead")
	feed.partialReads = 1
	s, _ = s.Update(s.Refresh(1)())
	if v := ansi.Strip(s.View()); !strings.Contains(v, "searching the held events for status:dead…") {
		t.Fatalf("reversed, partial:\n%s", v)
	}
	s, _ = screentest.Load(t, s)
	all := feed.Feed.Flows(graph.FlowQuery{Fields: []graph.FieldTerm{{Key: "status", Value: "dead"}}, Limit: 1000}).Rows
	lines := strings.Split(ansi.Strip(s.View()), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], all[len(all)-1].ID) {
		t.Fatalf("reversed, complete: want %s first:\n%s", all[len(all)-1].ID, strings.Join(lines, "\n"))
	}
}
