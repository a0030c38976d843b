package dlqmsgs_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
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
