package xray

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/flowtop/flowtop/tracing"
)

// originAPIStage is the origin of the segment API Gateway writes for a
// request to a traced stage.
const originAPIStage = "AWS::ApiGateway::Stage"

// apiStage turns the span observation o of an API Gateway stage segment into
// the API request it records (see [tracing.APIRequest]): named
// "<api-name>/<stage>", with aws.api_gateway's request_id, rest_api_id and
// stage, http.request's method and URL and http.response's status. It keeps
// the segment's span identity, so the waterfall shows it and the Lambda
// segment under it finds its parent. Other segments are left as they are.
func apiStage(seg *segment, o *tracing.Observation) {
	gw, _ := seg.AWS["api_gateway"].(map[string]any)
	if seg.Origin != originAPIStage && gw == nil {
		return
	}
	id, _ := gw["request_id"].(string)
	if id == "" || len(id) > 128 || o.Span == nil {
		return
	}
	sp := o.Span
	r := tracing.APIRequest{RequestID: id, Start: sp.Start, TraceID: sp.TraceID}
	r.APIID, _ = gw["rest_api_id"].(string)
	r.Stage, _ = gw["stage"].(string)
	r.Name = seg.Name
	if r.Stage != "" {
		r.Name = strings.TrimSuffix(seg.Name, "/"+r.Stage)
	}
	if m, _ := seg.HTTP["request"].(map[string]any); m != nil {
		r.Method, _ = m["method"].(string)
		if u, _ := m["url"].(string); u != "" {
			if pu, err := url.Parse(u); err == nil {
				r.Path = pu.Path
			}
		}
	}
	if m, _ := seg.HTTP["response"].(map[string]any); m != nil {
		r.Status = number(m["status"])
	}
	if !sp.InProgress && sp.End.After(sp.Start) {
		r.Latency = sp.End.Sub(sp.Start)
	}
	api := r.Observation("xray")
	for k, v := range api.Span.Attrs {
		sp.Attrs[k] = v
	}
	sp.Name, sp.Service = api.Span.Name, api.Span.Service
	if r.Status >= 500 {
		sp.Status, sp.StatusMessage = tracing.StatusError, api.Span.StatusMessage
	} else if r.Status >= 400 {
		sp.Status = tracing.StatusOK // a client error is the client's, not the stage's failure
	}
	o.Component = api.Component
	o.Keys = append(o.Keys, api.Keys[0])
}

// number reads a JSON number that may have been decoded as json.Number,
// float64 or a string.
func number(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case interface{ String() string }:
		n, _ := strconv.Atoi(x.String())
		return n
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}

// maxAPIWalk bounds the walk from a Lambda segment up to the stage that
// invoked it (stage → integration subsegment → Lambda service segment →
// function segment).
const maxAPIWalk = 8

// apiJoins returns, for the spans of one trace, an observation relating each
// Lambda invocation under an API Gateway stage segment to the API request:
// its request ID (aws.request_id) consumed the API request. The trace's
// segments may come in any order; an invocation whose stage is not among
// them yet joins when the trace is read again.
func apiJoins(obs []tracing.Observation) []tracing.Observation {
	parent := map[tracing.SpanID]tracing.SpanID{}
	api := map[tracing.SpanID]string{}
	for i := range obs {
		sp := obs[i].Span
		if sp == nil {
			continue
		}
		if sp.ParentID.IsValid() {
			parent[sp.SpanID] = sp.ParentID
		}
		if r, ok := tracing.APIRequestOf(sp); ok && sp.SpanID.IsValid() {
			api[sp.SpanID] = r.RequestID
		}
	}
	if len(api) == 0 {
		return nil
	}
	var out []tracing.Observation
	for i := range obs {
		sp := obs[i].Span
		if sp == nil || sp.InvocationID == "" || sp.Attrs["aws.operation"] != "" {
			continue
		}
		cur := sp.SpanID
		for range maxAPIWalk {
			p, ok := parent[cur]
			if !ok {
				break
			}
			if id := api[p]; id != "" {
				req := tracing.Key{Kind: tracing.KeyRequestID, Value: sp.InvocationID}
				apiKey := tracing.Key{Kind: tracing.KeyAPIRequest, Value: id}
				out = append(out, tracing.Observation{
					Kind: tracing.ObsUnknown, Source: "xray", Time: sp.Start, Keys: []tracing.Key{req, apiKey},
					Relations: []tracing.Relation{{From: req, To: apiKey, Kind: tracing.RelConsumed, Evidence: "x-ray: the Lambda segment is under the API Gateway stage segment"}},
				})
				break
			}
			cur = p
		}
	}
	return out
}

// seenKey is what a span observation, or an API join, is deduplicated by
// across overlapping windows.
func seenKey(o tracing.Observation) string {
	if o.Span == nil {
		k := "join"
		for _, key := range o.Keys {
			k += "/" + key.Value
		}
		return k
	}
	return o.Span.SpanID.String() + "/" + strconv.FormatBool(o.Span.InProgress) + "/" + o.Span.End.String()
}
