// Package sfn follows AWS Step Functions executions: each execution attempt
// is a hop of the event its input carries (an EventBridge event, a
// CloudEvent), its states are spans under it, and the Lambda functions its
// tasks invoked join it by the request IDs the history names. It reads the
// execution history (GetExecutionHistory) for the executions a search
// reaches and, live, for the executions of the watched state machines that
// are new or changed since the last poll.
package sfn

import (
	"crypto/sha256"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// Execution is what DescribeExecution (or a history's first event) says of
// one execution.
type Execution struct {
	ARN          string
	Status       string // RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE
	Input        string // the execution's input; "" when not known
	TraceHeader  string // the X-Ray trace header it was started with
	Start, Stop  time.Time
	RedriveCount int
	Error, Cause string
}

// Event is one history event, as much as flowtop reads of it.
type Event struct {
	ID, Prev     int64
	Time         time.Time
	Type         string
	Name         string // the state's name (entered, exited), or the Map's name (iterations)
	Index        int    // a Map iteration's index
	Input        string // ExecutionStarted, StateEntered, LambdaFunctionScheduled
	Output       string // StateExited, TaskSucceeded, LambdaFunctionSucceeded, ExecutionSucceeded
	Error, Cause string
	Resource     string // TaskScheduled's resource ("invoke"), LambdaFunctionScheduled's function ARN
	ResourceType string // "lambda", …
	Parameters   string // TaskScheduled's parameters (JSON)
	RedriveCount int    // ExecutionRedriven
}

// Limits bound what one history turns into.
const (
	maxEvents    = 25_000 // Step Functions' own limit of a Standard execution's history
	maxSpans     = 500    // state spans per execution (the graph keeps 512 per trace)
	maxText      = 512    // an error and cause shown on a span
	maxAttrValue = 256
)

// SourceName names the observations this package makes.
const SourceName = "sfn"

// Parse turns one execution's history into observations: one hop per
// attempt (the first run, then one per redrive, each linked to the one
// before), the attempt's states as spans under it, and the functions its
// tasks invoked, joined by their request IDs. dropped counts the events
// and spans left out to stay within bounds. Parse never fails: a history it
// cannot read well gives fewer observations, never a panic.
func Parse(x Execution, events []Event) (b tracing.Batch, dropped int) {
	if len(events) > maxEvents {
		dropped += len(events) - maxEvents
		events = events[:maxEvents]
	}
	if x.ARN == "" {
		return nil, dropped
	}
	machine := MachineName(x.ARN)
	input := x.Input
	for _, e := range events {
		if e.Type == "ExecutionStarted" && input == "" {
			input = e.Input
		}
	}
	trace := traceOf(x.ARN)
	var original tracing.Key // what attempt 0 ran for: the event of its input, else the attempt itself
	carried := inputKey(input)
	comp := tracing.Component{Kind: tracing.ComponentWorkflow, Name: machine}

	p := parser{x: x, trace: trace, comp: comp, machine: machine}
	attempt := 0
	start := x.Start
	if len(events) > 0 && events[0].Type == "ExecutionStarted" {
		start = events[0].Time
	}
	p.begin(attempt, start)
	for i := range events {
		e := &events[i]
		if e.Type == "ExecutionRedriven" {
			p.end(e.Time, "FAILED", "", "")
			b = append(b, p.flush()...)
			attempt++
			if e.RedriveCount > 0 {
				attempt = e.RedriveCount
			}
			p.begin(attempt, e.Time)
			continue
		}
		p.event(e)
	}
	if !p.closed {
		st := x.Status
		if st == "" || st == "FAILED" && attempt < x.RedriveCount {
			st = "RUNNING"
		}
		p.end(x.Stop, st, x.Error, x.Cause)
	}
	b = append(b, p.flush()...)
	dropped += p.dropped
	// Attempt hops: the first names the event its input carries; each
	// redrive is an event of its own, linked to the one before.
	out := make(tracing.Batch, 0, len(b))
	for i := range b {
		o := b[i]
		if o.Span == nil || o.Span.Attrs[attrAttempt] == "" {
			out = append(out, o)
			continue
		}
		n, _ := strconv.Atoi(o.Span.Attrs[attrAttempt])
		self := tracing.SpanKey(o.Span.TraceID, o.Span.SpanID)
		key := tracing.ExecutionAttemptKey(x.ARN, n)
		switch {
		case n == 0 && !carried.IsZero():
			o.Keys = append(o.Keys, carried, tracing.Key{Kind: tracing.KeyExecution, Value: x.ARN})
			o.Relations = append(o.Relations,
				tracing.Relation{From: self, To: carried, Kind: tracing.RelConsumed, Evidence: "execution input is the event (ExecutionStarted input " + carried.Kind.String() + " id)"},
				tracing.Relation{From: carried, To: key, Kind: tracing.RelCarries, Evidence: "the execution's first attempt ran for the event"})
			original = carried
		case n == 0:
			o.Keys = append(o.Keys, key, tracing.Key{Kind: tracing.KeyExecution, Value: x.ARN})
			o.Relations = append(o.Relations, tracing.Relation{From: self, To: key, Kind: tracing.RelConsumed, Evidence: "execution " + x.ARN})
			original = key
		default:
			if original.IsZero() {
				original = carried
				if original.IsZero() {
					original = tracing.ExecutionAttemptKey(x.ARN, 0)
				}
			}
			// The ARN stays the first attempt's: a lookup by it finds one event.
			o.Keys = append(o.Keys, key)
			o.Relations = append(o.Relations,
				tracing.Relation{From: key, To: original, Kind: tracing.RelRedriveOf, Evidence: "ExecutionRedriven (redrive " + strconv.Itoa(n) + ") of " + x.ARN},
				tracing.Relation{From: self, To: key, Kind: tracing.RelConsumed, Evidence: "redriven execution " + x.ARN})
		}
		if n == 0 {
			if h, err := tracing.ParseXRayHeader(x.TraceHeader); err == nil {
				o.Keys = append(o.Keys, tracing.Key{Kind: tracing.KeyTraceID, Value: h.Root.String()})
			}
		}
		out = append(out, o)
	}
	// Execution hops first: the tasks join the attempt keys they create.
	sortAttemptsFirst(out)
	return out, dropped
}

func sortAttemptsFirst(b tracing.Batch) {
	j := 0
	for i := range b {
		if b[i].Span != nil && b[i].Span.Attrs[attrAttempt] != "" {
			b[i], b[j] = b[j], b[i]
			j++
		}
	}
}

const attrAttempt = "aws.stepfunctions.attempt"

// MachineName is the state machine's name in an execution ARN
// (arn:aws:states:region:account:execution:machine:name), or "".
func MachineName(executionARN string) string {
	parts := strings.Split(executionARN, ":")
	if len(parts) >= 8 && parts[5] == "execution" {
		return parts[6]
	}
	return ""
}

// inputKey is the key of the event an execution's input is: an EventBridge
// event (id, source, detail-type) or a CloudEvent (specversion, id,
// source); the zero key for other inputs.
func inputKey(input string) tracing.Key {
	input = strings.TrimSpace(input)
	if input == "" || input[0] != '{' || len(input) > 1<<20 {
		return tracing.Key{}
	}
	var env struct {
		ID          string          `json:"id"`
		Source      string          `json:"source"`
		DetailType  string          `json:"detail-type"`
		Detail      json.RawMessage `json:"detail"`
		SpecVersion string          `json:"specversion"`
	}
	if json.Unmarshal([]byte(input), &env) != nil || env.ID == "" || len(env.ID) > 256 {
		return tracing.Key{}
	}
	switch {
	case env.DetailType != "" && env.Source != "":
		return tracing.Key{Kind: tracing.KeyEventID, Value: env.ID}
	case env.SpecVersion != "" && env.Source != "":
		return tracing.CloudEventKey(env.Source, env.ID)
	}
	return tracing.Key{}
}

// traceOf is the trace the collector puts an execution's spans in: its own,
// fixed by the ARN, so every read of the history makes the same spans.
func traceOf(arn string) tracing.TraceID {
	sum := sha256.Sum256([]byte("sfn\x00" + arn))
	var t tracing.TraceID
	copy(t[:], sum[:16])
	return t
}

func spanOf(arn string, attempt int, id int64) tracing.SpanID {
	sum := sha256.Sum256([]byte(arn + "\x00" + strconv.Itoa(attempt) + "\x00" + strconv.FormatInt(id, 10)))
	var s tracing.SpanID
	copy(s[:], sum[:8])
	if !s.IsValid() {
		s[0] = 1
	}
	return s
}

// open is a state (or a Map iteration) entered and not yet left.
type open struct {
	name, typ string
	span      tracing.SpanID
	parent    tracing.SpanID
	start     time.Time
	failed    bool
	err       string
	fn        string // the function a task invokes
}

// parser turns one attempt's events into spans and task joins.
type parser struct {
	x       Execution
	trace   tracing.TraceID
	comp    tracing.Component
	machine string

	attempt int
	root    tracing.SpanID
	start   time.Time
	stack   []open
	spans   tracing.Batch
	tasks   tracing.Batch
	failed  string // the innermost state that failed
	closed  bool
	status  string
	end_    time.Time
	errCode string
	cause   string
	dropped int
	nspans  int
}

func (p *parser) begin(attempt int, at time.Time) {
	p.attempt, p.root, p.start = attempt, spanOf(p.x.ARN, attempt, 0), at
	p.stack, p.spans, p.tasks, p.failed, p.closed = nil, nil, nil, "", false
	p.status, p.errCode, p.cause, p.end_ = "", "", "", time.Time{}
}

func (p *parser) parent() tracing.SpanID {
	if n := len(p.stack); n > 0 {
		return p.stack[n-1].span
	}
	return p.root
}

func (p *parser) event(e *Event) {
	switch {
	case strings.HasSuffix(e.Type, "StateEntered"):
		typ := strings.TrimSuffix(e.Type, "StateEntered")
		p.stack = append(p.stack, open{name: e.Name, typ: typ, span: spanOf(p.x.ARN, p.attempt, e.ID), parent: p.parent(), start: e.Time})
		if len(p.stack) > 64 {
			p.stack = p.stack[1:]
			p.dropped++
		}
	case strings.HasSuffix(e.Type, "StateExited"):
		p.close(e.Name, "", e.Time, false)
	case e.Type == "MapIterationStarted":
		name := e.Name + "[" + strconv.Itoa(e.Index) + "]"
		p.stack = append(p.stack, open{name: name, typ: "MapIteration", span: spanOf(p.x.ARN, p.attempt, e.ID), parent: p.parent(), start: e.Time})
	case e.Type == "MapIterationSucceeded", e.Type == "MapIterationAborted":
		p.close(e.Name+"["+strconv.Itoa(e.Index)+"]", "MapIteration", e.Time, e.Type == "MapIterationAborted")
	case e.Type == "MapIterationFailed":
		p.close(e.Name+"["+strconv.Itoa(e.Index)+"]", "MapIteration", e.Time, true)
	case e.Type == "TaskScheduled":
		if top := p.top(); top != nil {
			top.fn = functionOf(e.Parameters)
		}
	case e.Type == "LambdaFunctionScheduled":
		if top := p.top(); top != nil {
			top.fn = nameOfARN(e.Resource)
		}
	case e.Type == "TaskSucceeded" || e.Type == "LambdaFunctionSucceeded":
		if top := p.top(); top != nil && top.fn != "" {
			p.task(top, requestOf(e.Output, "SdkResponseMetadata"), e, "SdkResponseMetadata.RequestId in "+e.Type)
		}
	case strings.HasSuffix(e.Type, "Failed") && e.Type != "ExecutionFailed" || strings.HasSuffix(e.Type, "TimedOut") && e.Type != "ExecutionTimedOut":
		if top := p.top(); top != nil {
			top.failed = true
			if e.Error != "" || e.Cause != "" {
				top.err = errText(e.Error, e.Cause)
			}
			if top.fn != "" && (e.Type == "TaskFailed" || e.Type == "LambdaFunctionFailed" || e.Type == "TaskTimedOut") {
				p.task(top, requestOf(e.Cause, ""), e, "requestId in the function's error ("+e.Type+" cause)")
			}
			if p.failed == "" {
				p.failed = top.name // the innermost: the first to fail
			}
		}
	case e.Type == "ExecutionSucceeded":
		p.end(e.Time, "SUCCEEDED", "", "")
	case e.Type == "ExecutionFailed":
		p.end(e.Time, "FAILED", e.Error, e.Cause)
	case e.Type == "ExecutionTimedOut":
		p.end(e.Time, "TIMED_OUT", e.Error, e.Cause)
	case e.Type == "ExecutionAborted":
		p.end(e.Time, "ABORTED", e.Error, e.Cause)
	}
}

func (p *parser) top() *open {
	if n := len(p.stack); n > 0 {
		return &p.stack[n-1]
	}
	return nil
}

// close ends the innermost open state named name (and anything opened
// within it that never exited).
func (p *parser) close(name, typ string, at time.Time, failed bool) {
	for i := len(p.stack) - 1; i >= 0; i-- {
		if p.stack[i].name != name || typ != "" && p.stack[i].typ != typ {
			continue
		}
		for j := len(p.stack) - 1; j > i; j-- {
			p.emit(p.stack[j], at)
		}
		s := p.stack[i]
		s.failed = s.failed || failed
		p.emit(s, at)
		p.stack = p.stack[:i]
		return
	}
}

func (p *parser) emit(s open, end time.Time) {
	if p.nspans >= maxSpans {
		p.dropped++
		return
	}
	p.nspans++
	name := s.typ + " " + s.name
	if s.typ == "MapIteration" {
		name = "iteration " + s.name
	}
	sp := &tracing.Span{
		TraceID: p.trace, SpanID: s.span, ParentID: s.parent, Name: clip(name, 128), Service: p.machine,
		Kind: tracing.SpanKindInternal, Start: s.start, End: end, Status: tracing.StatusOK,
		Attrs: map[string]string{"aws.stepfunctions.state": clip(s.name, maxAttrValue), "aws.stepfunctions.state_type": s.typ},
	}
	if end.IsZero() || end.Before(s.start) {
		sp.End, sp.InProgress = time.Time{}, true
	}
	if s.failed {
		sp.Status, sp.StatusMessage = tracing.StatusError, s.err
		if sp.StatusMessage == "" {
			sp.StatusMessage = "state failed"
		}
	}
	if s.fn != "" {
		sp.Attrs["aws.lambda.function"] = clip(s.fn, maxAttrValue)
	}
	self := tracing.SpanKey(p.trace, s.span)
	p.spans = append(p.spans, tracing.Observation{
		Kind: tracing.ObsSpan, Source: SourceName, Time: s.start, Span: sp, // no component: a state is not a call of the workflow (its figures count executions)
		Keys:      []tracing.Key{self},
		Relations: []tracing.Relation{{From: self, To: tracing.SpanKey(p.trace, s.parent), Kind: tracing.RelChildOf, Evidence: "execution history"}},
	})
}

// task joins the function a task invoked to the attempt, by the request ID
// the history names.
func (p *parser) task(s *open, request string, e *Event, evidence string) {
	if request == "" || len(request) > 128 || len(p.tasks) >= maxSpans {
		return
	}
	key := tracing.ExecutionAttemptKey(p.x.ARN, p.attempt)
	p.tasks = append(p.tasks, tracing.Observation{
		Kind: tracing.ObsUnknown, Source: SourceName, Time: e.Time,
		Component: tracing.Component{Kind: tracing.ComponentFunction, Name: s.fn},
		// The collector's trace of the execution rides along (it attaches
		// nothing without a strong key), so a search following that trace
		// finds the tasks too.
		Keys:      []tracing.Key{{Kind: tracing.KeyRequestID, Value: request}, {Kind: tracing.KeyTraceID, Value: p.trace.String()}},
		Relations: []tracing.Relation{{From: tracing.Key{Kind: tracing.KeyRequestID, Value: request}, To: key, Kind: tracing.RelConsumed, Evidence: evidence + " of state " + clip(s.name, 80)}},
	})
}

// end closes an attempt: its open states end with it, failed when it failed.
func (p *parser) end(at time.Time, status, errCode, cause string) {
	if p.closed {
		return
	}
	p.closed = true
	p.status, p.end_, p.errCode, p.cause = status, at, errCode, cause
	failed := status != "SUCCEEDED" && status != "RUNNING"
	for len(p.stack) > 0 {
		s := p.stack[len(p.stack)-1]
		p.stack = p.stack[:len(p.stack)-1]
		if failed {
			if !s.failed && p.failed == "" {
				p.failed = s.name
			}
			s.failed = true
			if s.err == "" {
				s.err = errText(errCode, cause)
			}
		}
		if status == "RUNNING" {
			at = time.Time{}
		}
		p.emit(s, at)
	}
}

// flush returns the attempt's observations: its hop, its states, its tasks.
func (p *parser) flush() tracing.Batch {
	sp := &tracing.Span{
		TraceID: p.trace, SpanID: p.root, Name: "execution " + clip(nameOfARN(p.x.ARN), 100), Service: p.machine,
		Kind: tracing.SpanKindConsumer, Start: p.start, End: p.end_, Status: tracing.StatusOK,
		Attrs: map[string]string{
			graph.ExecutionAttr: clip(p.x.ARN, maxAttrValue), attrAttempt: strconv.Itoa(p.attempt),
			"aws.stepfunctions.status": p.status, "aws.stepfunctions.state_machine": p.machine,
		},
	}
	if p.status == "RUNNING" || p.end_.IsZero() || p.end_.Before(p.start) {
		sp.End, sp.InProgress = time.Time{}, true
	}
	if p.status != "SUCCEEDED" && p.status != "RUNNING" {
		sp.Status = tracing.StatusError
		sp.StatusMessage = errText(p.errCode, p.cause)
		if p.failed != "" {
			sp.StatusMessage = clip("state "+p.failed+": "+sp.StatusMessage, maxText)
			sp.Attrs["aws.stepfunctions.failed_state"] = clip(p.failed, maxAttrValue)
		}
		if p.errCode != "" {
			sp.Attrs["error.type"] = clip(p.errCode, maxAttrValue)
		}
		if p.cause != "" {
			sp.Attrs["aws.stepfunctions.cause"] = clip(p.cause, maxAttrValue)
		}
	}
	self := tracing.SpanKey(p.trace, p.root)
	out := tracing.Batch{{Kind: tracing.ObsSpan, Source: SourceName, Time: p.start, Component: p.comp, Span: sp, Keys: []tracing.Key{self}}}
	out = append(out, p.spans...)
	return append(out, p.tasks...)
}

// errText is "error: cause", bounded.
func errText(code, cause string) string {
	switch {
	case code == "" && cause == "":
		return "execution failed"
	case cause == "":
		return clip(code, maxText)
	case code == "":
		return clip(cause, maxText)
	}
	return clip(code+": "+cause, maxText)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// functionOf is the FunctionName of a lambda:invoke task's parameters.
func functionOf(params string) string {
	var p struct {
		FunctionName string `json:"FunctionName"`
	}
	if len(params) > 1<<20 || json.Unmarshal([]byte(params), &p) != nil {
		return ""
	}
	return nameOfARN(p.FunctionName)
}

// nameOfARN is a function's name in its ARN (with or without a version or
// alias), or the text itself when it is a name; for other ARNs, their last part.
func nameOfARN(s string) string {
	if !strings.HasPrefix(s, "arn:") {
		return clip(s, 140)
	}
	parts := strings.Split(s, ":")
	switch {
	case len(parts) >= 7 && parts[5] == "function":
		return parts[6]
	case len(parts) >= 8 && (parts[5] == "execution" || parts[5] == "stateMachine"):
		return parts[7]
	case len(parts) >= 7 && parts[5] == "stateMachine":
		return parts[6]
	}
	return clip(parts[len(parts)-1], 140)
}

// requestOf finds a Lambda request ID in a task's output (under
// SdkResponseMetadata.RequestId) or in a function's error payload (its
// requestId, which the Python runtime writes).
func requestOf(doc, under string) string {
	if len(doc) > 1<<20 || !strings.Contains(doc, "equestId") {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(doc), &m) != nil {
		return ""
	}
	if under != "" {
		var inner map[string]json.RawMessage
		if json.Unmarshal(m[under], &inner) != nil {
			return ""
		}
		m = inner
		var s string
		_ = json.Unmarshal(m["RequestId"], &s)
		return s
	}
	var s string
	_ = json.Unmarshal(m["requestId"], &s)
	return s
}
