package message_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/message"
)

func msg() screen.Screen {
	d := fake.NewFeed().Msgs[0]
	d.Queue = "billing-dlq"
	d.Attributes = map[string]string{"b": "2", "a": "1 \x1b[2J"}
	d.Body = `{"order_id":"o-1","items":[` + strings.Repeat(`{"sku":"a-very-long-stock-keeping-unit-identifier-that-goes-past-eighty-columns","qty":1},`, 30) + `{"qty":2}]}`
	return message.New(screentest.Env(true), d)
}

func TestGoldens(t *testing.T) {
	screentest.Goldens(t, "message", msg)
	screentest.Goldens(t, "message-wrapped-bottom", msg, "w", "G")
}

func TestKeys(t *testing.T) {
	s := msg()
	s.SetSize(80, 20)
	_, out := screentest.Press(t, s, "t")
	if out[0] != (screen.Open{To: message.EventID, Arg: "m-1"}) {
		t.Errorf("t: %#v", out)
	}
	_, out = screentest.Press(t, s, "e")
	if a := out[0].(screen.Ask).Action; a.Kind != screen.ActionReplay || a.Target != "sqs:billing-queue" {
		t.Errorf("e: %+v", a)
	}
	s, _ = screentest.Press(t, s, "j", "j")
	if v := ansi.Strip(s.View()); !strings.Contains(v, "lines 3–") || strings.Contains(v, "\x1b[2J") {
		t.Errorf("scroll:\n%s", v)
	}
}
