package tui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/screentest"
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
