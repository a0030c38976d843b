package flows_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/flows"
)

// regionFeed is the demo's list: UUID IDs, two regions, and a status that
// changes from one refresh to the next.
type regionFeed struct{ status graph.Status }

func (f *regionFeed) Flows(q graph.FlowQuery) graph.FlowPage {
	rows := []graph.FlowRow{
		{ID: "5b6d9e22-d714-4e48-b604-f557afd36145", Type: "com.example.order.placed", Source: "orders-api", LastHop: "analytics-queue", Hops: 15, Status: f.status, CostUSD: 6e-6},
		{ID: "0ec7492d-c8b3-4835-8236-7c9ea800737a", Type: "OrderPlaced", Source: "orders-api", LastHop: "charge-card", Hops: 12, Status: graph.StatusSucceeded},
	}
	return graph.FlowPage{Rows: rows[:min(len(rows), max(q.Limit, 1))], Matched: len(rows), Version: 1}
}

func (f *regionFeed) Where(string) string { return "us-east-1" }

// TestPathStaysReadable: with the REGION column the demo's list at 120
// columns cut the path to "orders-api →…", and dropped it whole while a
// dead-lettered row was on screen; the path now shows most of its last hop
// at 120 columns (all of it at 200), and no column comes or goes with a row's status.
func TestPathStaysReadable(t *testing.T) {
	for _, w := range []int{80, 120, 200} {
		var heads []string
		for _, st := range []graph.Status{graph.StatusInFlight, graph.StatusDeadLettered} {
			f := &regionFeed{status: st}
			s := screen.Screen(flows.New(screentest.Env(false), f))
			s.SetSize(w, 10)
			s, _ = screentest.Load(t, s)
			v := ansi.Strip(s.View())
			heads = append(heads, strings.Split(v, "\n")[0])
			if w >= 120 && !strings.Contains(v, "orders-api → charge-c") || w >= 200 && !strings.Contains(v, "orders-api → analytics-queue") {
				t.Errorf("%d columns, %s: path cut:\n%s", w, st, v)
			}
			if !strings.Contains(v, "us-east-1") {
				t.Errorf("%d columns: no region:\n%s", w, v)
			}
		}
		if heads[0] != heads[1] {
			t.Errorf("%d columns: the columns change with a status:\n%s\n%s", w, heads[0], heads[1])
		}
	}
}

// noSourceFeed has an event whose producer is not known yet.
type noSourceFeed struct{}

func (noSourceFeed) Flows(graph.FlowQuery) graph.FlowPage {
	return graph.FlowPage{Rows: []graph.FlowRow{{ID: "87a41552", Type: "com.acme.partner.shipment", LastHop: "partner-intake", Hops: 1}}, Matched: 1, Version: 1}
}

// TestUnknownSourceSaysSo: the path read " → partner-intake".
func TestUnknownSourceSaysSo(t *testing.T) {
	s := screen.Screen(flows.New(screentest.Env(false), noSourceFeed{}))
	s.SetSize(200, 5)
	s, _ = screentest.Load(t, s)
	if v := ansi.Strip(s.View()); !strings.Contains(v, " ? → partner-intake") {
		t.Errorf("%s", v)
	}
}
