package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// TestLineageAPIAndCloudHops: the lineage text and JSON show an API Gateway
// request's method, route, status and latency, and a hop's cloud, sanitised.
func TestLineageAPIAndCloudHops(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	l := graph.Lineage{ID: "ev-1", Status: graph.StatusSucceeded, First: t0, Last: t0.Add(time.Second), Hops: []graph.Hop{
		{
			Parent: -1, Kind: graph.HopRequest, Component: tracing.Component{Kind: tracing.ComponentAPI, Name: "orders-http/prod"}, Time: t0,
			Duration: 52 * time.Millisecond, HTTPMethod: "POST", Route: "/orders\x1b[31m", HTTPStatus: 201, Evidence: "requestContext.requestId in the function's log", Confidence: 1,
		},
		{Parent: 0, Depth: 1, Kind: graph.HopPublish, Component: tracing.Component{Kind: tracing.ComponentService, Name: "partner-orders"}, Time: t0, Cloud: "gcp/gcp_cloud_functions"},
	}}
	var text bytes.Buffer
	if err := writeLineage(&text, l, "text"); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, want := range []string{"request  api orders-http/prod", "POST /orders", "→ 201", "took 52ms", "in gcp/gcp_cloud_functions"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("text carries an escape sequence:\n%q", out)
	}
	var js bytes.Buffer
	if err := writeLineage(&js, l, "json"); err != nil {
		t.Fatal(err)
	}
	var got lineageJSON
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if h := got.Hops[0]; h.Kind != "request" || h.HTTPMethod != "POST" || h.HTTPStatus != 201 || h.DurationMS != 52 {
		t.Errorf("json hop %+v", h)
	}
	if got.Hops[1].Cloud != "gcp/gcp_cloud_functions" {
		t.Errorf("json hop %+v: want its cloud", got.Hops[1])
	}
}
