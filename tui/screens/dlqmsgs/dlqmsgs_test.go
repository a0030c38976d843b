package dlqmsgs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/dlqmsgs"
)

func TestGoldens(t *testing.T) {
	screentest.Goldens(t, "dlqmsgs", func() screen.Screen { return dlqmsgs.New(screentest.Env(true), fake.NewFeed(), "billing-dlq") }, "space", "j")
	screentest.Goldens(t, "dlqmsgs-many", func() screen.Screen { return dlqmsgs.New(screentest.Env(true), fake.NewFeed().Many(), "billing-dlq") }, "G")
}

func TestSelectAndRedrive(t *testing.T) {
	s := screen.Screen(dlqmsgs.New(screentest.Env(true), fake.NewFeed(), "billing-dlq"))
	s.SetSize(120, 20)
	s, _ = screentest.Load(t, s)
	s, out := screentest.Press(t, s, "R")
	if len(out) != 1 || out[0].(screen.Flash).Level != screen.LevelWarn {
		t.Errorf("R with nothing selected: %#v", out)
	}
	s, _ = screentest.Press(t, s, "a") // the CardDeclined group: m-1, m-3
	_, out = screentest.Press(t, s, "R")
	if a := out[0].(screen.Ask).Action; a.Kind != screen.ActionRedriveSelected || strings.Join(a.MessageIDs, ",") != "m-1,m-3" {
		t.Errorf("R: %+v", a)
	}
	s, out = screentest.Press(t, s, "G", "enter")
	if o := out[0].(screen.Open); o.To != dlqmsgs.MessageID || o.Arg.(graph.DLQMessage).MessageID != "m-2" {
		t.Errorf("enter: %#v", out)
	}
	_, out = screentest.Press(t, s, "t")
	if out[0] != (screen.Open{To: dlqmsgs.EventID, Arg: "m-2"}) {
		t.Errorf("t: %#v", out)
	}
}

// TestOrderIsStable: a refresh that changes group sizes keeps the rows where
// they were; new messages go after; the cursor keeps its message.
func TestOrderIsStable(t *testing.T) {
	feed := fake.NewFeed()
	s := screen.Screen(dlqmsgs.New(screentest.Env(true), feed, "billing-dlq"))
	s.SetSize(120, 20)
	s, _ = screentest.Load(t, s)
	s, _ = screentest.Press(t, s, "j", "j") // m-2
	// m-1 is gone; two SyntaxErrors make that group the biggest; Timeout is new.
	feed.Msgs = append([]graph.DLQMessage{{MessageID: "m-7", Error: "SyntaxError"}, {MessageID: "m-8", Error: "SyntaxError"}, {MessageID: "m-9", Error: "Timeout"}}, feed.Msgs[1:]...)
	s, _ = screentest.Load(t, s)
	var order []string
	cursor := ""
	for _, l := range strings.Split(s.View(), "\n")[1:] {
		f := strings.Fields(strings.TrimPrefix(ansi.Strip(l), "✓"))
		if len(f) > 0 {
			order = append(order, f[0])
			if strings.Contains(l, "\x1b[7m") {
				cursor = f[0]
			}
		}
	}
	if got := strings.Join(order, " "); got != "m-3 m-2 m-7 m-8 m-9" {
		t.Errorf("order %q", got)
	}
	if cursor != "m-2" {
		t.Errorf("cursor on %q", cursor)
	}
}

// rows is the message IDs in the order the screen shows them.
func rows(s screen.Screen) []string {
	var out []string
	for _, l := range strings.Split(s.View(), "\n")[1:] {
		if f := strings.Fields(strings.TrimPrefix(ansi.Strip(l), "✓")); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out
}

// TestOrderIsEventTime: a message read later but sent more recently goes
// above an older one, as its AGE says; it was put after (read order).
func TestOrderIsEventTime(t *testing.T) {
	feed := fake.NewFeed()
	feed.Msgs = []graph.DLQMessage{{MessageID: "old", Error: "CardDeclined", SentAt: fake.Now.Add(-10 * time.Minute)}}
	s := screen.Screen(dlqmsgs.New(screentest.Env(true), feed, "billing-dlq"))
	s.SetSize(120, 20)
	s, _ = screentest.Load(t, s)
	feed.Msgs = append(feed.Msgs, graph.DLQMessage{MessageID: "new", Error: "CardDeclined", SentAt: fake.Now.Add(-time.Minute)})
	s, _ = screentest.Load(t, s)
	if got := strings.Join(rows(s), " "); got != "new old" {
		t.Errorf("order %q, want the newest (1m) above the older (10m)", got)
	}
	if v := ansi.Strip(s.View()); strings.Index(v, "1m") > strings.Index(v, "10m") {
		t.Errorf("AGE column disagrees with the order:\n%s", v)
	}
}

// placedFeed answers per place, as the console's feed does with two regions.
type placedFeed struct{ got []tracing.Component }

func (p *placedFeed) DLQMessages(string) []graph.DLQMessage { return nil }

func (p *placedFeed) DLQMessagesIn(q tracing.Component) []graph.DLQMessage {
	p.got = append(p.got, q)
	return []graph.DLQMessage{{MessageID: "m-" + q.Region, Queue: q.Name, Region: q.Region}}
}

// TestPlacedQueue: opened on a queue in one region, the screen reads and
// redrives that region's only.
func TestPlacedQueue(t *testing.T) {
	f := &placedFeed{}
	q := tracing.Component{Kind: tracing.ComponentQueue, Name: "billing-dlq", Account: "000000000000", Region: "eu-west-1"}
	s := dlqmsgs.Spec(f).New(screentest.Env(true), q)
	s.SetSize(120, 20)
	if !strings.Contains(s.Title(), "eu-west-1") {
		t.Errorf("title %q does not say the region", s.Title())
	}
	s, _ = screentest.Load(t, s)
	if len(f.got) != 1 || f.got[0] != q {
		t.Fatalf("read %v, want %s", f.got, q)
	}
	_, out := screentest.Press(t, s, "r")
	if a := out[0].(screen.Ask).Action; a.Queue != "billing-dlq" || a.Region != "eu-west-1" || a.Account != q.Account {
		t.Errorf("r: %+v, want the eu-west-1 queue", a)
	}
	s, _ = screentest.Press(t, s, "space")
	_, out = screentest.Press(t, s, "R")
	if a := out[0].(screen.Ask).Action; a.Region != "eu-west-1" || strings.Join(a.MessageIDs, ",") != "m-eu-west-1" {
		t.Errorf("R: %+v", a)
	}
}
