package tracing

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// APIRequest is one request an Amazon API Gateway stage served, as its X-Ray
// stage segment or its access log line tells it: the first hop of the flow it
// started.
//
// Its request ID ($context.requestId, the x-amzn-RequestId header, and the
// requestContext.requestId of a Lambda proxy event) is a weak key
// ([KeyAPIRequest]): one request runs one integration, and that invocation may
// publish several events (two parcels of one order), which must stay two
// events. It attaches to each, like a Lambda request ID does.
type APIRequest struct {
	RequestID string
	// Name is the API's name and Stage its stage, as X-Ray names the stage
	// segment ("orders-http/prod"); an access log knows the API by its ID
	// only (APIID).
	Name, APIID, Stage string
	Method             string // GET, POST, …
	Route              string // the resource path or route key: /orders/{id}
	Path               string // the path requested: /prod/orders/o-12
	Status             int    // the HTTP status returned; 0 when unknown
	Start              time.Time
	Latency            time.Duration // $context.responseLatency, or the segment's duration
	IntegrationLatency time.Duration // $context.integrationLatency, when logged
	TraceID            TraceID       // $context.xrayTraceId, when logged
	// Invocation is the integration's request ID ($context.integration.requestId:
	// the Lambda request ID for a Lambda integration), when logged.
	Invocation string
}

// Span attribute names an API Gateway request is carried under on a [Span]
// (OTel HTTP semantic conventions where one exists).
const (
	AttrAPIRequestID   = "aws.api_gateway.request_id"
	AttrAPIID          = "aws.api_gateway.rest_api_id"
	AttrAPIStage       = "aws.api_gateway.stage"
	AttrAPIName        = "aws.api_gateway.name"
	AttrHTTPMethod     = "http.request.method"
	AttrHTTPRoute      = "http.route"
	AttrURLPath        = "url.path"
	AttrHTTPStatus     = "http.response.status_code"
	AttrAPIIntegration = "aws.api_gateway.integration_latency_ms"
	AttrAPIInvocation  = "aws.api_gateway.integration_request_id"
)

// Component is the API stage the request went through: "name/stage" when the
// name is known, else "apiId/stage".
func (r APIRequest) Component() Component {
	n := r.Name
	if n == "" {
		n = r.APIID
	}
	if r.Stage != "" {
		n += "/" + r.Stage
	}
	return Component{Kind: ComponentAPI, Name: n}
}

// Observation returns the request as a span observation from source
// ("xray", "cwlogs"): Component ComponentAPI, the key [KeyAPIRequest], and
// the request's fields in Span.Attrs (see [APIRequestOf]). An access log
// line gives a span without a span ID: it is a request, not a trace node.
func (r APIRequest) Observation(source string) Observation {
	sp := &Span{
		TraceID: r.TraceID, Name: r.Method + " " + r.Route, Kind: SpanKindServer, Start: r.Start,
		Attrs: map[string]string{AttrAPIRequestID: r.RequestID},
	}
	sp.Service = r.Component().Name
	if r.Latency > 0 {
		sp.End = r.Start.Add(r.Latency)
	}
	sp.Status = StatusOK
	if r.Status >= 500 {
		sp.Status = StatusError
		sp.StatusMessage = "HTTP " + strconv.Itoa(r.Status)
	}
	set := func(k, v string) {
		if v != "" {
			sp.Attrs[k] = v
		}
	}
	set(AttrAPIID, r.APIID)
	set(AttrAPIStage, r.Stage)
	set(AttrAPIName, r.Name)
	set(AttrHTTPMethod, r.Method)
	set(AttrHTTPRoute, r.Route)
	set(AttrURLPath, r.Path)
	set(AttrAPIInvocation, r.Invocation)
	if r.Status > 0 {
		sp.Attrs[AttrHTTPStatus] = strconv.Itoa(r.Status)
	}
	if r.IntegrationLatency > 0 {
		sp.Attrs[AttrAPIIntegration] = strconv.FormatInt(r.IntegrationLatency.Milliseconds(), 10)
	}
	o := Observation{
		Kind: ObsSpan, Source: source, Time: r.Start, Component: r.Component(), Span: sp,
		Keys: []Key{{Kind: KeyAPIRequest, Value: r.RequestID}},
	}
	if r.TraceID.IsValid() {
		o.Keys = append(o.Keys, Key{Kind: KeyTraceID, Value: r.TraceID.String()})
	}
	if r.Invocation != "" {
		o.Keys = append(o.Keys, Key{Kind: KeyRequestID, Value: r.Invocation})
		o.Relations = append(o.Relations, Relation{
			From: Key{Kind: KeyRequestID, Value: r.Invocation}, To: Key{Kind: KeyAPIRequest, Value: r.RequestID},
			Kind: RelConsumed, Evidence: "$context.integration.requestId in the access log",
		})
	}
	return o
}

// APIRequestOf reads an API Gateway request back from a span that
// [APIRequest.Observation] or a collector built; ok is false for any other span.
func APIRequestOf(sp *Span) (r APIRequest, ok bool) {
	if sp == nil || sp.Attrs[AttrAPIRequestID] == "" {
		return r, false
	}
	a := sp.Attrs
	r = APIRequest{
		RequestID: a[AttrAPIRequestID], Name: a[AttrAPIName], APIID: a[AttrAPIID], Stage: a[AttrAPIStage],
		Method: a[AttrHTTPMethod], Route: a[AttrHTTPRoute], Path: a[AttrURLPath], Start: sp.Start, TraceID: sp.TraceID,
		Invocation: a[AttrAPIInvocation],
	}
	r.Status, _ = strconv.Atoi(a[AttrHTTPStatus])
	if ms, err := strconv.ParseInt(a[AttrAPIIntegration], 10, 64); err == nil && ms > 0 {
		r.IntegrationLatency = time.Duration(ms) * time.Millisecond
	}
	if !sp.InProgress && !sp.End.IsZero() && sp.End.After(sp.Start) {
		r.Latency = sp.End.Sub(sp.Start)
	}
	return r, true
}

// maxAccessLogLine bounds what ParseAPIAccessLog reads.
const maxAccessLogLine = 64 << 10

// ErrNotAccessLog says a log line is no API Gateway access log line in JSON.
var ErrNotAccessLog = errors.New("not an api gateway access log line")

// ParseAPIAccessLog reads one API Gateway access log line written in a JSON
// format (the format a stage's accessLogSettings names), whatever its field
// names: the $context variables under their own names (requestId,
// httpMethod, resourcePath or routeKey, status, responseLatency,
// integrationLatency, requestTimeEpoch or requestTime, xrayTraceId,
// integration.requestId) or the snake_case ones common formats use. Numbers
// may be quoted or not; "-" is an empty value, as API Gateway writes it.
// at is the log event's time, used when the line names no request time. A
// line without a request ID and a method or status is not an access log line
// ([ErrNotAccessLog]).
func ParseAPIAccessLog(line string, at time.Time) (APIRequest, error) {
	var r APIRequest
	line = strings.TrimSpace(line)
	if len(line) > maxAccessLogLine {
		return r, fmt.Errorf("tracing: access log line of %d bytes: %w", len(line), ErrNotAccessLog)
	}
	if !strings.HasPrefix(line, "{") {
		return r, ErrNotAccessLog
	}
	var obj map[string]any
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return r, fmt.Errorf("tracing: access log line: %w: %w", ErrNotAccessLog, err)
	}
	get := func(names ...string) string {
		for _, n := range names {
			v := obj[n]
			if v == nil {
				v = lookupPath(obj, n)
			}
			if s := str(v); s != "" && s != "-" && len(s) <= 512 {
				return s
			}
		}
		return ""
	}
	r.RequestID = get("requestId", "request_id", "requestID", "apigw_request_id")
	r.Method = strings.ToUpper(get("httpMethod", "http_method", "method"))
	r.Route = get("resourcePath", "resource_path", "route", "routeKey", "route_key")
	if m, route, ok := strings.Cut(r.Route, " "); ok && (r.Method == "" || strings.EqualFold(m, r.Method)) {
		r.Method, r.Route = strings.ToUpper(m), route // an HTTP API routeKey: "POST /orders"
	}
	r.Path = get("path", "requestPath", "request_path")
	r.APIID = get("apiId", "api_id")
	r.Stage = get("stage")
	r.Status = atoiAny(get("status", "statusCode", "status_code"))
	r.Invocation = get("integrationRequestId", "integration_request_id", "integration.requestId")
	if ms, ok := millis(get("responseLatency", "response_latency", "responseLatencyMs", "latency")); ok {
		r.Latency = ms
	}
	if ms, ok := millis(get("integrationLatency", "integration_latency", "integration.latency")); ok {
		r.IntegrationLatency = ms
	}
	if t := get("xrayTraceId", "xray_trace_id"); t != "" {
		if tid, err := ParseTraceID(t); err == nil {
			r.TraceID = tid
		} else if h, err := ParseXRayHeader(t); err == nil {
			r.TraceID = h.Root
		}
	}
	r.Start = at
	if ep := get("requestTimeEpoch", "request_time_epoch", "requestTimeEpochMs"); ep != "" {
		if n, err := strconv.ParseInt(strings.Split(ep, ".")[0], 10, 64); err == nil && n > 0 {
			if n < 1e11 { // seconds
				n *= 1000
			}
			if n < 1e14 {
				r.Start = time.UnixMilli(n).UTC()
			}
		}
	} else if t := get("requestTime", "request_time"); t != "" {
		if ts, err := time.Parse("02/Jan/2006:15:04:05 -0700", t); err == nil {
			r.Start = ts.UTC()
		}
	}
	if r.RequestID == "" || r.Method == "" && r.Status == 0 {
		return APIRequest{}, ErrNotAccessLog
	}
	return r, nil
}

// millis reads a latency in milliseconds, quoted or not.
func millis(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e9 {
		return 0, false
	}
	return time.Duration(f * float64(time.Millisecond)), true
}

// apiFields reads the API Gateway request a Lambda's app log line names: the
// requestContext of the proxy event it logged (REST requestContext.requestId
// with apiId, or an HTTP API's), or a field that names it outright
// (api_request_id, apiRequestId, apigw_request_id). The Lambda's own request
// ID is another one: it is read elsewhere, never from requestContext.
func (p *logParser) apiFields(obj map[string]any) {
	id := strField(obj, "api_request_id", "apiRequestId", "apigw_request_id", "apigwRequestId")
	if rc, ok := obj["requestContext"].(map[string]any); ok && id == "" {
		if _, api := rc["apiId"]; api {
			id = strField(rc, "requestId")
		}
	}
	if id != "" && len(id) <= 128 {
		p.key(KeyAPIRequest, id)
	}
}
