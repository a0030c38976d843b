package event

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/screentest"
)

// TestAPIRequestAndCloudHops: an API Gateway request hop shows its method,
// route, status and latency; a hop in another cloud says which.
func TestAPIRequestAndCloudHops(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	l := graph.Lineage{ID: "ev-api", Version: 1, Hops: []graph.Hop{
		{
			Parent: -1, Kind: graph.HopRequest, Component: tracing.Component{Kind: tracing.ComponentAPI, Name: "orders-http/prod"}, Time: t0,
			Duration: 52 * time.Millisecond, HTTPMethod: "POST", Route: "/orders", HTTPStatus: 201, Evidence: "x-ray", Confidence: 1,
		},
		{Parent: -1, Kind: graph.HopPublish, Component: tracing.Component{Kind: tracing.ComponentService, Name: "partner-orders"}, Time: t0, Cloud: "gcp/gcp_cloud_functions"},
	}}
	got := ansi.Strip(strings.Join(Lines(screentest.Env(false), "ev-api", l, nil, true, 200), "\n"))
	for _, want := range []string{"request", "api orders-http/prod", "POST /orders → 201", "took 52ms", "in gcp/gcp_cloud_functions"} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
}
