package tui

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
)

type graphFeed struct{ *graph.Graph }

func (graphFeed) Health() []tracing.SourceHealth {
	return []tracing.SourceHealth{{Source: "cwlogs", State: tracing.SourceStateOK, Mode: "polling"}}
}

// bigGraph holds n events, each an SQS message consumed by a charge-card
// invocation with a REPORT line, so every screen has real data.
func bigGraph(n int) *graph.Graph {
	g := graph.New(graph.Config{MaxEvents: n})
	base := time.Now().Add(-time.Hour)
	batch := make(tracing.Batch, 0, 1024)
	for i := 0; i < n; i++ {
		at := base.Add(time.Duration(i) * time.Millisecond)
		msg := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
		req := fmt.Sprintf("%08x-1111-4000-8000-000000000000", i)
		batch = append(batch,
			tracing.Observation{
				Kind: tracing.ObsMessage, Time: at, Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: msg}},
				Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: "billing-queue", ID: msg, DeadLetter: i%50 == 0, SourceQueue: "billing-queue"},
			})
		if i%10 == 0 {
			batch = append(batch, tracing.Observation{
				Kind: tracing.ObsInvocation, Time: at, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"},
				Keys:       []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}, {Kind: tracing.KeyMessageID, Value: msg}},
				Log:        &tracing.LogRecord{Kind: tracing.LogReport, RequestID: req, Message: "REPORT"},
				Invocation: &tracing.Invocation{Function: "charge-card", RequestID: req, Duration: time.Duration(100+i%200) * time.Millisecond, BilledDuration: 300 * time.Millisecond, MemorySizeMB: 512, MaxMemoryUsedMB: 100, Status: tracing.InvocationSuccess},
			})
		}
		if len(batch) >= 1000 {
			g.Ingest(batch)
			batch = batch[:0]
		}
	}
	g.Ingest(batch)
	return g
}

// BenchmarkFrame1M measures one frame of every screen with 1M events held:
// the read a changed Version causes (header and the screen's Refresh), its
// Update, and View. Target: ≤5 ms. "idle" is a tick whose Version didn't
// move: one Version read and the cached frame.
func BenchmarkFrame1M(b *testing.B) {
	g := bigGraph(1_000_000)
	feed := graphFeed{g}
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"flows", nil},
		{"flows-sorted-latency", []string{"s", "s"}},
		{"flows-filter-status", []string{"/", "s", "t", "a", "t", "u", "s", ":", "o", "k", "enter"}},
		{"event", []string{"enter"}},
		{"functions", []string{":", "f", "n", "enter"}},
		{"dlqs", []string{":", "d", "l", "q", "enter"}},
		{"dlqmsgs", []string{":", "d", "l", "q", "enter", "enter"}},
		{"map", []string{":", "m", "a", "p", "enter"}},
		{"help", []string{"?"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := New(Options{Feed: feed, NoColor: true, Title: "bench"})
			m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
			settle(m, m.refresh())
			for _, k := range tc.keys {
				_, cmd := m.Update(screentest.Key(k))
				settle(m, cmd)
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				m.Update(m.read(false)())
				_ = m.View()
			}
			report(b, cpu0)
		})
	}
	// Every frame a page away from the last: no row is drawn already.
	b.Run("flows-paging", func(b *testing.B) {
		m := New(Options{Feed: feed, NoColor: true, Title: "bench"})
		m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
		settle(m, m.refresh())
		b.ResetTimer()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			_, cmd := m.Update(screentest.Key("pgdown"))
			settle(m, cmd)
			_ = m.View()
		}
		report(b, cpu0)
	})
	b.Run("idle", func(b *testing.B) {
		m := New(Options{Feed: feed, NoColor: true, Title: "bench"})
		m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
		settle(m, m.refresh())
		_ = m.View()
		b.ResetTimer()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			m.Update(m.read(true)())
			_ = m.View()
		}
		report(b, cpu0)
	})
}

// settle runs cmd and what it leads to, as the runtime would, without ticks.
func settle(m *Model, cmd tea.Cmd) {
	queue := []tea.Cmd{cmd}
	for n := 0; len(queue) > 0 && n < 100; n++ {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil, tickMsg:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		default:
			_, next := m.Update(msg)
			queue = append(queue, next)
		}
	}
}

// report gives wall and CPU milliseconds per frame.
func report(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/frame")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N)/1000, "cpu-ms/frame")
}

// clock is the simulated time idleSeconds advances; consoles made by
// standingFilter read it.
var clock struct {
	sync.Mutex
	at time.Time
}

func clockNow() time.Time {
	clock.Lock()
	defer clock.Unlock()
	return clock.at
}

// idleSeconds drives m through secs seconds of ticks (ten a second, the
// default) with nothing ingested, rendering each frame the runtime would.
func idleSeconds(m *Model, from time.Time, secs int) time.Time {
	at := from
	for i := 0; i < secs*10; i++ {
		at = at.Add(100 * time.Millisecond)
		clock.Lock()
		clock.at = at
		clock.Unlock()
		_, cmd := m.Update(tickMsg(at))
		settle(m, cmd)
		_ = m.View()
	}
	return at
}

// standingFilter opens the console over g with the filter typed in.
func standingFilter(g *graph.Graph, filter string) *Model {
	// The tick's own timer is not waited for: idleSeconds says when it fires.
	m := New(Options{Feed: graphFeed{g}, NoColor: true, Title: "bench", Tick: time.Nanosecond, Now: clockNow})
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
	settle(m, m.refresh())
	keys := []string{"/"}
	for _, r := range filter {
		keys = append(keys, string(r))
	}
	for _, k := range append(keys, "enter") {
		_, cmd := m.Update(screentest.Key(k))
		settle(m, cmd)
	}
	// The graph's answer may still be partial (settle stops after 100
	// reads): read on, as the console does, until it is complete.
	for i := 0; i < 100_000 && strings.Contains(m.top().(screen.Informer).Info(), "so far"); i++ {
		settle(m, m.refresh())
	}
	return m
}

// TestStandingFilterIdle: with a filter standing over held events and
// nothing ingested, a minute of ticks (and the forced read each second)
// matches no event again; one ingest matches only what it changed.
func TestStandingFilterIdle(t *testing.T) {
	clock.Lock()
	clock.at = time.Now()
	clock.Unlock()
	g := bigGraph(20_000)
	m := standingFilter(g, "0000123")
	if !strings.Contains(screenText(m), "00001230-0000-4000-8000-000000000000") {
		t.Fatalf("the filter shows no match:\n%s", screenText(m))
	}
	before := g.SearchStats()
	at := idleSeconds(m, clockNow(), 60)
	idle := g.SearchStats()
	if idle.Scans != before.Scans || idle.Narrows != before.Narrows || idle.Evals != before.Evals {
		t.Fatalf("a minute idle with a standing filter matched again: %+v after %+v", idle, before)
	}
	if idle.PageHits < 50 {
		t.Fatalf("the forced reads each second did not reuse the page: %+v", idle)
	}
	msg := "10000123-0000-4000-8000-000000000000"
	g.Ingest(tracing.Batch{{
		Kind: tracing.ObsMessage, Time: time.Now(), Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: msg}},
		Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: "billing-queue", ID: msg},
	}})
	idleSeconds(m, at, 1)
	after := g.SearchStats()
	if after.Scans != before.Scans || after.Evals-idle.Evals > 3 || !strings.Contains(screenText(m), msg) {
		t.Fatalf("one new event: %+v after %+v\n%s", after, idle, screenText(m))
	}
}

// BenchmarkIdleFilter1M is the console's cost of one idle second with a
// filter standing over 1M held events: ten ticks, the forced read of the
// header and the page, and the frames, on a simulated clock (a field term's
// scan is redone every 10 s, so run it 10x or more). cpu-ms/s over 10 is
// percent of a core.
func BenchmarkIdleFilter1M(b *testing.B) {
	g := bigGraph(1_000_000)
	for _, filter := range []string{"0001e24", "charge", "status:ok"} {
		b.Run(strings.ReplaceAll(filter, ":", "-"), func(b *testing.B) {
			clock.Lock()
			clock.at = time.Now()
			clock.Unlock()
			m := standingFilter(g, filter)
			at := idleSeconds(m, clockNow(), 2)
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				at = idleSeconds(m, at, 1)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N)/1000, "cpu-ms/s")
		})
	}
}
