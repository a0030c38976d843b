package mapview_test

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/screentest"
)

// TestStreamLagLine: the cursor's line of a stream says its consumer lag,
// where the graph measured it (graph/kinesis.go), and of no other node.
func TestStreamLagLine(t *testing.T) {
	web, clicks, analytics := comp(tracing.ComponentFunction, "web-frontend"), comp(tracing.ComponentStream, "clickstream"), comp(tracing.ComponentFunction, "clickstream-analytics")
	f := &demoFeed{v: graph.MapView{
		Nodes: []graph.MapNode{
			{Component: web, Rate: 2, Observed: true},
			{Component: analytics, Rate: 1, Observed: true},
			{Component: clicks, Rate: 5, Observed: true, LagP95: 3 * time.Second, LagLatest: 400 * time.Millisecond, LagRecords: 40},
		},
		Edges: []graph.MapEdge{
			{From: web, To: clicks, Rate: 5, Observed: true},
			{From: clicks, To: analytics, Rate: 5, Observed: true, Configured: true, Via: "event source mapping"},
		},
	}}
	s := open(t, f, "", 120, 35)
	if v := ansi.Strip(s.View()); strings.Contains(v, "consumer lag") {
		t.Errorf("a function's line says a consumer lag:\n%s", v)
	}
	s, _ = screentest.Press(t, s, "l")
	v := ansi.Strip(s.View())
	if !strings.Contains(v, "stream clickstream") || !strings.Contains(v, "consumer lag p95 3") || !strings.Contains(v, "latest 400") {
		t.Errorf("the stream's line lacks its consumer lag:\n%s", v)
	}
}
