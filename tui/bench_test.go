package tui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
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
			tracing.Observation{Kind: tracing.ObsMessage, Time: at, Keys: []tracing.Key{{Kind: tracing.KeyMessageID, Value: msg}},
				Message: &tracing.Message{Broker: tracing.BrokerSQS, Queue: "billing-queue", ID: msg, DeadLetter: i%50 == 0, SourceQueue: "billing-queue"}})
		if i%10 == 0 {
			batch = append(batch, tracing.Observation{Kind: tracing.ObsInvocation, Time: at, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "charge-card"},
				Keys:       []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}, {Kind: tracing.KeyMessageID, Value: msg}},
				Log:        &tracing.LogRecord{Kind: tracing.LogReport, RequestID: req, Message: "REPORT"},
				Invocation: &tracing.Invocation{Function: "charge-card", RequestID: req, Duration: time.Duration(100+i%200) * time.Millisecond, BilledDuration: 300 * time.Millisecond, MemorySizeMB: 512, MaxMemoryUsedMB: 100, Status: tracing.InvocationSuccess}})
		}
		if len(batch) >= 1000 {
			g.Ingest(batch)
			batch = batch[:0]
		}
	}
	g.Ingest(batch)
	return g
}

// BenchmarkFrame1M measures one frame of each screen (fetch what the screen
// shows, apply it, render) with 1M events held. Target: ≤5 ms.
func BenchmarkFrame1M(b *testing.B) {
	g := bigGraph(1_000_000)
	feed := graphFeed{g}
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"flows", nil},
		{"event", []string{"enter"}},
		{"functions", []string{":", "f", "n", "enter"}},
		{"dlqs", []string{":", "d", "l", "q", "enter"}},
		{"map", []string{":", "m", "a", "p", "enter"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := New(Options{Feed: feed, NoColor: true, Title: "bench"})
			nm, _ := m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
			m = nm.(Model)
			m = benchPress(m, tc.keys...)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				msg := m.fetch()()
				nm, _ := m.Update(msg)
				m = nm.(Model)
				_ = m.View()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/frame")
		})
	}
}

func benchPress(m Model, keys ...string) Model {
	for _, k := range keys {
		msg := tea.KeyPressMsg{Code: []rune(k)[0], Text: k}
		if k == "enter" {
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		}
		nm, cmd := m.Update(msg)
		m = nm.(Model)
		if cmd != nil {
			if r := cmd(); r != nil {
				if d, ok := r.(dataMsg); ok {
					nm, _ = m.Update(d)
					m = nm.(Model)
				}
			}
		}
		// Apply a fresh fetch, as the tick would, so the next key sees the screen's data.
		nm, _ = m.Update(m.fetch()())
		m = nm.(Model)
	}
	return m
}
