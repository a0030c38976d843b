package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/screen"
)

// TestTypedStatusFilterFindsOldEvents types `/status:dead` over a graph of
// 8000 events whose oldest is the one dead-lettered: the console finds it
// (it used to look at the newest 5000 only) and says "1 match" once the
// graph's answer is complete. A word typed on narrows it; backspace brings
// the first answer back.
func TestTypedStatusFilterFindsOldEvents(t *testing.T) {
	g := graph.New(graph.Config{MaxEvents: 10_000})
	at := now.Add(-time.Hour)
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
	m := newModel(t, 120, 30, Options{Feed: graphFeed{g}})
	m = press(t, m, strings.Split("/status:dead", "")...)
	m = press(t, m, "enter")
	text := screenText(m)
	if !strings.Contains(text, "00000000-0000-4000-8000-000000000000") || !strings.Contains(text, "1 match ") {
		t.Fatalf("/status:dead:\n%s", text)
	}
	m = press(t, m, strings.Split("/ zz", "")...)
	if text := screenText(m); strings.Contains(text, "00000000-0000-4000-8000") || !strings.Contains(text, "0 matches") {
		t.Fatalf("/status:dead zz:\n%s", text)
	}
	m = press(t, m, "backspace", "backspace", "backspace", "enter")
	if text := screenText(m); !strings.Contains(text, "00000000-0000-4000-8000-000000000000") || !strings.Contains(text, "1 match ") {
		t.Fatalf("after backspace:\n%s", text)
	}
}

// TestStandingFieldFilterIdle: a field-term filter standing over 20,000
// events, its answer complete, matches no event again through a minute of
// idle ticks; the graph, not the screen, answered it, over every event.
func TestStandingFieldFilterIdle(t *testing.T) {
	clock.Lock()
	clock.at = time.Now()
	clock.Unlock()
	g := bigGraph(20_000)
	m := standingFilter(g, "status:dead")
	if info := m.top().(screen.Informer).Info(); !strings.HasPrefix(info, "400 matches") {
		t.Fatalf("status:dead over 20,000 events, one in 50 dead-lettered: %q", info)
	}
	before := g.SearchStats()
	idleSeconds(m, clockNow(), 60)
	if idle := g.SearchStats(); idle.Scans != before.Scans || idle.Evals != before.Evals {
		t.Fatalf("a minute idle with a standing field term matched again: %+v after %+v", idle, before)
	}
}
