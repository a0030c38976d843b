package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/flowtop/flowtop/tracing"
)

// The API front of the order pipeline: a REST API whose stage invokes
// orders-api through a Lambda proxy integration. Every order arrives as a
// request to it.
const (
	APIName  = "orders-http"
	APIStage = "prod"
	// RestAPIID is the API's ID, as API Gateway makes them: ten lowercase
	// letters and digits.
	RestAPIID = "k3x9q2m7wd"
	// AccessLogGroup is the group the stage's accessLogSettings name, in a
	// common naming: API-Gateway-Access-Logs_<apiId>/<stage>.
	AccessLogGroup = AccessLogPrefix + RestAPIID + "/" + APIStage
	// AccessLogPrefix begins the name of every API stage's access-log group
	// in the world: a log-group prefix that makes flowtop read them.
	AccessLogPrefix = "API-Gateway-Access-Logs_"
	// APIRoute is the resource orders are posted to.
	APIRoute = "/orders"
)

// apiComponent is the stage, as X-Ray names its segments: "<api-name>/<stage>".
var apiComponent = tracing.Component{Kind: tracing.ComponentAPI, Name: APIName + "/" + APIStage}

// apiAccessLogStream is the stream API Gateway writes the access log to.
const apiAccessLogStream = "3f2b1c0e9d8a7b6c5d4e3f2a1b0c9d8e"

func init() {
	worldParts = append(worldParts, func() worldPart { return &apiFront{} })
}

// apiFront is the API Gateway stage in front of orders-api.
type apiFront struct{ w *World }

func (a *apiFront) setup(ctx context.Context, w *World) error {
	a.w = w
	if _, err := w.logs.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(AccessLogGroup)}); err != nil {
		var exists *cwltypes.ResourceAlreadyExistsException
		if !errors.As(err, &exists) {
			return err
		}
	}
	w.front = a
	w.truth.edge(apiComponent, tracing.Component{Kind: tracing.ComponentFunction, Name: "orders-api"}, true, "Lambda proxy integration POST "+APIRoute)
	return nil
}

// run does nothing of its own: requests arrive with the orders (placeOrder).
func (a *apiFront) run(context.Context, *World) {}

// apiCall is one request to the stage.
type apiCall struct {
	a                  *apiFront
	id, extended       string
	root               string // the X-Ray trace the stage starts; the Lambda continues it
	segment, integSub  string // the stage segment and its Lambda integration subsegment
	start              time.Time
	method, route      string
	fail               bool // orders-api fails this one: the client gets a 502
	status             int
	latency, integLate time.Duration
}

// request starts order n's request to the stage, in the X-Ray trace root.
// For some orders a client's earlier malformed attempt is rejected by the
// stage first (400, or 403 without its API key), without reaching
// orders-api. It is nil without an API front.
func (a *apiFront) request(n int, root string) *apiCall {
	if a == nil {
		return nil
	}
	w := a.w
	if n%9 == 4 {
		rej := a.newCall(w.traceRoot())
		rej.status = 400
		if n%2 == 1 {
			rej.status = 403
		}
		rej.latency = time.Duration(2+n%5) * time.Millisecond
		rej.write(nil)
	}
	c := a.newCall(root)
	// Orders-api fails on some requests before it places the order (its
	// table throttles it): the client gets a 502 and no event is published.
	c.fail = n%17 == 8
	return c
}

func (a *apiFront) newCall(root string) *apiCall {
	w := a.w
	return &apiCall{
		a: a, id: w.uuid(), extended: w.hex(14) + "=", root: root, segment: w.hex(16), integSub: w.hex(16),
		start: time.Now().Add(-3 * time.Millisecond), method: "POST", route: APIRoute,
	}
}

// traceRoot is a new X-Ray trace ID.
func (w *World) traceRoot() string {
	root, _ := w.traceHeader()
	return root
}

// invoke is the stage invoking orders-api (inv) through the proxy
// integration: the function logs the proxy event's requestContext, as
// handlers that log their event do. It reports whether the function failed
// before placing the order (it then ended the invocation).
func (c *apiCall) invoke(inv *invocation) bool {
	if c == nil {
		return false
	}
	inv.api = c
	inv.log("INFO", "request received", map[string]any{
		"httpMethod": c.method, "path": c.route, "resource": c.route,
		"requestContext": map[string]any{
			"requestId": c.id, "extendedRequestId": c.extended, "apiId": RestAPIID, "stage": APIStage,
			"resourcePath": c.route, "httpMethod": c.method, "path": "/" + APIStage + c.route,
			"requestTimeEpoch": c.start.UnixMilli(), "accountId": Account, "protocol": "HTTP/1.1",
		},
	})
	if !c.fail {
		return false
	}
	inv.log("ERROR", "ProvisionedThroughputExceededException: orders table throttled", map[string]any{"errorType": "ProvisionedThroughputExceededException"})
	inv.end("error", "ProvisionedThroughputExceededException")
	return true
}

// record says in the truth that event h started as this request.
func (c *apiCall) record(t *truthLog, h int) {
	if c == nil {
		return
	}
	t.key(h, tracing.KeyAPIRequest, c.id)
	t.step(h, tracing.ComponentAPI, apiComponent.Name)
}

// finish runs when the invocation behind the request ends (status "",
// "error" or "timeout", after took): the function's segment goes under the
// stage's integration subsegment, and the stage answers: 201, or 502 for a
// function error, 504 for a timeout.
func (c *apiCall) finish(seg map[string]any, status string, took time.Duration) {
	if c == nil {
		return
	}
	seg["parent_id"] = c.integSub
	c.status = 201
	switch status {
	case "error":
		c.status = 502
	case "timeout":
		c.status = 504
	}
	c.integLate = took + 4*time.Millisecond
	c.latency = c.integLate + time.Duration(3+int(c.segment[0])%7)*time.Millisecond
	c.write(&took)
}

// write records the request as API Gateway does: the stage's X-Ray segment
// (with the Lambda integration subsegment when it invoked the function) and
// one access-log line in the stage's JSON format.
func (c *apiCall) write(took *time.Duration) {
	w := c.a.w
	startS := float64(c.start.UnixNano()) / 1e9
	endS := startS + c.latency.Seconds()
	url := "https://" + RestAPIID + ".execute-api." + Region + ".amazonaws.com/" + APIStage + c.route
	seg := map[string]any{
		"id": c.segment, "trace_id": c.root, "name": APIName + "/" + APIStage, "origin": "AWS::ApiGateway::Stage",
		"resource_arn": "arn:aws:apigateway:" + Region + "::/restapis/" + RestAPIID + "/stages/" + APIStage,
		"start_time":   startS, "end_time": endS,
		"http": map[string]any{
			"request":  map[string]any{"url": url, "method": c.method, "client_ip": "203.0.113.7", "x_forwarded_for": true},
			"response": map[string]any{"status": c.status, "content_length": 0},
		},
		"aws": map[string]any{
			"xray":        map[string]any{"sampling_rule_name": "Default"},
			"api_gateway": map[string]any{"account_id": Account, "rest_api_id": RestAPIID, "stage": APIStage, "request_id": c.id},
		},
		"annotations": map[string]any{"aws:api_id": RestAPIID, "aws:api_stage": APIStage},
		"metadata":    map[string]any{"default": map[string]any{"extended_request_id": c.extended, "request_id": c.id}},
	}
	switch {
	case c.status >= 500:
		seg["fault"] = true
	case c.status == 429:
		seg["throttle"], seg["error"] = true, true
	case c.status >= 400:
		seg["error"] = true
	}
	integ := "-"
	if took != nil {
		fnARN := "arn:aws:lambda:" + Region + ":" + Account + ":function:orders-api"
		integStatus := 200 // a proxy integration's Invoke succeeds even when the function failed
		seg["subsegments"] = []any{map[string]any{
			"id": c.integSub, "name": "Lambda", "namespace": "aws",
			"start_time": startS + 0.001, "end_time": startS + 0.001 + c.integLate.Seconds(),
			"http": map[string]any{
				"request":  map[string]any{"url": "https://lambda." + Region + ".amazonaws.com/2015-03-31/functions/" + fnARN + "/invocations", "method": "POST"},
				"response": map[string]any{"status": integStatus, "content_length": 84},
			},
			"aws": map[string]any{"function_name": "orders-api", "region": Region, "operation": "Invoke", "resource_names": []string{"orders-api"}},
		}}
		integ = strconv.FormatInt(c.integLate.Milliseconds(), 10)
	}
	b, _ := json.Marshal(seg)
	// The stage's access log format: $context variables, some quoted, some
	// not, as the format's author wrote them.
	line := `{"requestId":"` + c.id + `","extendedRequestId":"` + c.extended + `","apiId":"` + RestAPIID + `","stage":"` + APIStage +
		`","httpMethod":"` + c.method + `","resourcePath":"` + c.route + `","path":"/` + APIStage + c.route +
		`","status":"` + strconv.Itoa(c.status) + `","protocol":"HTTP/1.1","responseLength":"84","ip":"203.0.113.7"` +
		`,"requestTimeEpoch":` + strconv.FormatInt(c.start.UnixMilli(), 10) +
		`,"responseLatency":` + strconv.FormatInt(c.latency.Milliseconds(), 10) +
		`,"integrationLatency":"` + integ + `","xrayTraceId":"` + c.root + `"}`
	w.queueLogs(AccessLogGroup, apiAccessLogStream, c.start.Add(c.latency), []string{line})
	w.mu.Lock()
	w.segments = append(w.segments, string(b))
	w.mu.Unlock()
}
