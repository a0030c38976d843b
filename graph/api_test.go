package graph

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// TestAPIRequestFirstHop: from logs alone (the stage's access log, the
// Lambda logging its proxy event and what it published), the API request is
// the first hop of each event the invocation published, in whichever order
// the lines arrive, and one request's two events stay two.
func TestAPIRequestFirstHop(t *testing.T) {
	const (
		api = "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc"
		req = "9d1e2f3a-0000-4000-8000-0000000000aa"
	)
	t0 := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	access, err := tracing.ParseAPIAccessLog(`{"requestId":"`+api+`","apiId":"k3x9q2m7wd","stage":"prod","httpMethod":"POST","resourcePath":"/orders","status":"201","requestTimeEpoch":`+
		strconv.FormatInt(t0.UnixMilli(), 10)+`,"responseLatency":60,"integrationLatency":"52"}`, t0)
	if err != nil {
		t.Fatal(err)
	}
	lambda := func(at time.Duration, msg string) tracing.Observation {
		return tracing.ParseLambdaLog(tracing.LogInput{Group: "/aws/lambda/orders-api", Time: t0.Add(at), Message: msg}, tracing.LogOptions{})
	}
	obs := []tracing.Observation{
		access.Observation("cwlogs"),
		lambda(3*time.Millisecond, "START RequestId: "+req+" Version: $LATEST"),
		lambda(4*time.Millisecond, "2026-12-03T14:00:00.004Z\t"+req+"\tINFO\t"+`{"msg":"request received","requestContext":{"requestId":"`+api+`","apiId":"k3x9q2m7wd","stage":"prod"}}`),
		lambda(20*time.Millisecond, "2026-12-03T14:00:00.020Z\t"+req+"\tINFO\t"+`{"msg":"published","published_event_id":"ev-1"}`),
		lambda(21*time.Millisecond, "2026-12-03T14:00:00.021Z\t"+req+"\tINFO\t"+`{"msg":"published","published_event_id":"ev-2"}`),
		lambda(50*time.Millisecond, "REPORT RequestId: "+req+"\tDuration: 45.00 ms\tBilled Duration: 46 ms\tMemory Size: 256 MB\tMax Memory Used: 80 MB\t"),
	}
	for name, order := range map[string][]int{"request first": {0, 1, 2, 3, 4, 5}, "request last": {3, 4, 5, 1, 2, 0}} {
		t.Run(name, func(t *testing.T) {
			g := New(Config{Now: func() time.Time { return t0.Add(time.Minute) }})
			for _, i := range order {
				g.Ingest(tracing.Batch{obs[i]})
			}
			for _, ev := range []string{"ev-1", "ev-2"} {
				l, err := g.Lineage(ev)
				if err != nil {
					t.Fatal(err)
				}
				if l.ID != ev || len(l.Hops) < 2 {
					t.Fatalf("%s: lineage %s with %d hops", ev, l.ID, len(l.Hops))
				}
				h := l.Hops[0]
				if h.Kind != HopRequest || h.Component != (tracing.Component{Kind: tracing.ComponentAPI, Name: "k3x9q2m7wd/prod"}) ||
					h.HTTPMethod != "POST" || h.Route != "/orders" || h.HTTPStatus != 201 || h.Duration != 60*time.Millisecond {
					t.Errorf("%s: first hop %+v", ev, h)
				}
				if p := l.Hops[1]; p.Kind != HopPublish || p.Parent != 0 || p.Component.Name != "orders-api" {
					t.Errorf("%s: second hop %+v, want orders-api publishing under the request", ev, p)
				}
				if h.Evidence != "requestContext.requestId in the function's log" {
					t.Errorf("%s: evidence %q", ev, h.Evidence)
				}
			}
			if _, err := g.Lineage(api); !errors.Is(err, ErrAmbiguous) {
				t.Errorf("lineage by the API request: %v, want ErrAmbiguous (two events)", err)
			}
			if n := len(g.Find(api, 10)); n != 2 {
				t.Errorf("the API request finds %d events, want 2", n)
			}
		})
	}
}

// TestAPIComponentRenamed: figures counted under the API's ID (an access
// log read before any stage segment) move to its name once X-Ray names it.
func TestAPIComponentRenamed(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	g := New(Config{RateBucket: time.Second, Now: func() time.Time { return t0.Add(time.Second) }})
	byID := tracing.APIRequest{RequestID: "r1", APIID: "k3x9q2m7wd", Stage: "prod", Method: "POST", Status: 502, Start: t0, Latency: time.Millisecond}
	g.Ingest(tracing.Batch{byID.Observation("cwlogs")})
	named := tracing.APIRequest{RequestID: "r2", Name: "orders-http", APIID: "k3x9q2m7wd", Stage: "prod", Method: "POST", Status: 201, Start: t0, Latency: time.Millisecond}
	g.Ingest(tracing.Batch{named.Observation("xray")})
	var found bool
	for _, n := range g.Map().Nodes {
		if n.Component.Kind != tracing.ComponentAPI {
			continue
		}
		if n.Component.Name != "orders-http/prod" || n.ErrorPct != 50 {
			t.Errorf("node %+v; want orders-http/prod with one error in two", n)
		}
		found = true
	}
	if !found {
		t.Error("no API node on the map")
	}
}

// TestAPIPlacedPerRegion: with several contexts watched, the same API seen
// in two regions is two components, each with its own requests, and one
// region's stage segment naming it renames it in both.
func TestAPIPlacedPerRegion(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	g := New(Config{Now: func() time.Time { return t0.Add(time.Minute) }})
	counts := map[string]int{"us-east-1": 3, "eu-west-1": 2}
	n := 0
	for region, k := range counts {
		for i := range k {
			n++
			id := "0f1e2d3c-aaaa-4bbb-8ccc-" + strconv.FormatInt(int64(100000000000+n), 10)
			access, err := tracing.ParseAPIAccessLog(`{"requestId":"`+id+`","apiId":"k3x9q2m7wd","stage":"prod","httpMethod":"POST","resourcePath":"/orders","status":"201","requestTimeEpoch":`+
				strconv.FormatInt(t0.Add(time.Duration(i)*time.Second).UnixMilli(), 10)+`,"responseLatency":60}`, t0)
			if err != nil {
				t.Fatal(err)
			}
			o := access.Observation("cwlogs")
			o.Component.Account, o.Component.Region = "000000000000", region
			g.Ingest(tracing.Batch{o})
		}
	}
	got := map[string]int{}
	for _, nd := range g.Map().Nodes {
		if nd.Component.Kind == tracing.ComponentAPI {
			if nd.Component.Name != "k3x9q2m7wd/prod" || nd.Component.Account != "000000000000" {
				t.Errorf("api node %v", nd.Component)
			}
			got[nd.Component.Region]++
		}
	}
	if len(got) != 2 || got["us-east-1"] != 1 || got["eu-west-1"] != 1 {
		t.Errorf("api nodes by region %v, want one in each of us-east-1 and eu-west-1", got)
	}
	// One region's stage segment names the API: the figures counted under
	// its ID move to its name in both regions, each keeping its own.
	named := tracing.APIRequest{RequestID: "r-named", Name: "orders-http", APIID: "k3x9q2m7wd", Stage: "prod", Method: "POST", Status: 201, Start: t0, Latency: time.Millisecond}
	o := named.Observation("xray")
	o.Component.Account, o.Component.Region = "000000000000", "eu-west-1"
	g.Ingest(tracing.Batch{o})
	got = map[string]int{}
	for _, nd := range g.Map().Nodes {
		if nd.Component.Kind == tracing.ComponentAPI {
			if nd.Component.Name != "orders-http/prod" {
				t.Errorf("api node %v after its name was learned", nd.Component)
			}
			got[nd.Component.Region]++
		}
	}
	if len(got) != 2 || got["us-east-1"] != 1 || got["eu-west-1"] != 1 {
		t.Errorf("named api nodes by region %v, want one in each of us-east-1 and eu-west-1", got)
	}
}
