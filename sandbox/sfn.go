package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sfnService emulates AWS Step Functions (awsJson1_0, AWSStepFunctions.*):
// Standard state machines, executions run by a small interpreter of the
// Amazon States Language (Task on Lambda, through the lambda:invoke
// integration or a function ARN, Choice, Wait, inline Map, Pass, Succeed,
// Fail), their execution history as GetExecutionHistory pages it, and
// RedriveExecution. Tasks invoke the sandbox's own Lambda functions. Where
// tracing is on, each execution writes an X-Ray segment with the origin
// AWS::StepFunctions::StateMachine and a subsegment per state.
//
// Time passes as in AWS: every history event is stamped when it happens, a
// Task lasts as long as its function runs (a simulated function's reported
// duration, see ranFor), a Wait waits, so an execution's startDate→stopDate
// and each state's Entered→Exited events measure real work.
//
// Simplifications, all on the side of less: Map iterations run one at a
// time; Retry, Catch, Parallel and activities are not interpreted; a Wait
// lasts sfnWaitScale of its Seconds.
type sfnService struct {
	s *Server

	mu       sync.Mutex
	machines map[string]*sfnMachine // by ARN
	execs    map[string]*sfnExec    // by ARN
	order    []string               // execution ARNs, oldest first
	// onStart, when set (by the world), learns each execution as it starts.
	onStart func(execARN, input string)
	// onEnd, when set, learns each attempt's outcome (SUCCEEDED or FAILED).
	onEnd func(execARN, status string)
}

// sfnWaitScale shortens Wait states: a Wait of 10 s lasts 100 ms.
const sfnWaitScale = 0.01

// sfnMaxExecs bounds the executions kept (oldest forgotten first).
const sfnMaxExecs = 5000

type sfnMachine struct {
	arn, name, def, role string
	typ                  string
	tracing              bool
	created              time.Time
	asl                  *aslMachine
}

type sfnExec struct {
	arn, name, machine string
	input, output      string
	status             string // RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
	errCode, cause     string
	start, stop        time.Time
	trace              string // the trace header it was started with (or got)
	events             []sfnEvent
	redrives           int
	redriveDate        time.Time
	redriveToken       string // the last RedriveExecution's clientToken: a repeat is idempotent
	// Where a failed execution stopped, for RedriveExecution: the state, its
	// input, and the results of a Map's iterations that succeeded.
	failedState string
	failedInput any
	mapDone     map[int]any
}

// sfnEvent is one history event as GetExecutionHistory answers it.
type sfnEvent struct {
	ID       int64
	Prev     int64
	At       time.Time
	Type     string
	DetailOf string // the details member's name ("taskFailedEventDetails")
	Details  map[string]any
}

func (e sfnEvent) MarshalJSON() ([]byte, error) {
	m := map[string]any{"id": e.ID, "previousEventId": e.Prev, "timestamp": epoch(e.At), "type": e.Type}
	if e.DetailOf != "" {
		m[e.DetailOf] = e.Details
	}
	return json.Marshal(m)
}

func newSFNService(s *Server) *sfnService {
	return &sfnService{s: s, machines: map[string]*sfnMachine{}, execs: map[string]*sfnExec{}}
}

func (s *Server) sfn() *sfnService { return s.services["states"].(*sfnService) }

func (*sfnService) name() string { return "states" }

func (*sfnService) operation(r *http.Request, _ []byte) string {
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	return op
}

// writeError answers in the awsJson1_0 error shape.
func (*sfnService) writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.Header().Set("x-amzn-RequestId", newRequestID())
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.swf.service.v2.model#" + code, "message": message})
	_, _ = w.Write(b)
}

func (f *sfnService) serve(w http.ResponseWriter, _ *http.Request, op string, body []byte) {
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil {
		f.writeError(w, http.StatusBadRequest, "SerializationException", "request body is not JSON")
		return
	}
	out, err := f.call(op, in)
	if err != nil {
		ae := apiErrOf(err)
		f.writeError(w, ae.status, ae.code, ae.message)
		return
	}
	writeJSON(w, "application/x-amz-json-1.0", out)
}

var sfnName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func machineARN(name string) string {
	return "arn:aws:states:" + Region + ":" + Account + ":stateMachine:" + name
}

func execARN(machine, name string) string {
	return "arn:aws:states:" + Region + ":" + Account + ":execution:" + machine + ":" + name
}

func (f *sfnService) call(op string, in map[string]json.RawMessage) (any, error) {
	switch op {
	case "CreateStateMachine":
		return f.create(in)
	case "ListStateMachines":
		f.mu.Lock()
		defer f.mu.Unlock()
		arns := make([]string, 0, len(f.machines))
		for a := range f.machines {
			arns = append(arns, a)
		}
		sort.Strings(arns)
		from, to, next, err := sfnPage(in, len(arns), 1000)
		if err != nil {
			return nil, err
		}
		items := []map[string]any{}
		for _, a := range arns[from:to] {
			m := f.machines[a]
			items = append(items, map[string]any{"stateMachineArn": m.arn, "name": m.name, "type": m.typ, "creationDate": epoch(m.created)})
		}
		return withLowerToken(map[string]any{"stateMachines": items}, next), nil
	case "DescribeStateMachine":
		f.mu.Lock()
		defer f.mu.Unlock()
		m, err := f.machine(str1(in, "stateMachineArn"))
		if err != nil {
			return nil, err
		}
		return map[string]any{
			"stateMachineArn": m.arn, "name": m.name, "status": "ACTIVE", "definition": m.def, "roleArn": m.role,
			"type": m.typ, "creationDate": epoch(m.created),
			"loggingConfiguration": map[string]any{"level": "OFF", "includeExecutionData": false},
			"tracingConfiguration": map[string]any{"enabled": m.tracing},
		}, nil
	case "StartExecution":
		arn, start, err := f.start(str1(in, "stateMachineArn"), str1(in, "name"), rawInput(in), str1(in, "traceHeader"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"executionArn": arn, "startDate": epoch(start)}, nil
	case "DescribeExecution":
		f.mu.Lock()
		defer f.mu.Unlock()
		x, err := f.exec(str1(in, "executionArn"))
		if err != nil {
			return nil, err
		}
		return f.describe(x), nil
	case "ListExecutions":
		return f.list(in)
	case "GetExecutionHistory":
		return f.history(in)
	case "RedriveExecution":
		at, err := f.redrive(str1(in, "executionArn"), str1(in, "clientToken"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"redriveDate": epoch(at)}, nil
	}
	return nil, badReq("UnknownOperationException", "sandbox: Step Functions %s is not emulated", op)
}

// rawInput is StartExecution's input: a JSON text, "{}" when absent.
func rawInput(in map[string]json.RawMessage) string {
	s := str1(in, "input")
	if s == "" {
		return "{}"
	}
	return s
}

func (f *sfnService) create(in map[string]json.RawMessage) (any, error) {
	name, def := str1(in, "name"), str1(in, "definition")
	if !sfnName.MatchString(name) {
		return nil, badReq("InvalidName", "Invalid Name: '%s'", name)
	}
	asl, err := parseASL([]byte(def))
	if err != nil {
		return nil, badReq("InvalidDefinition", "Invalid State Machine Definition: '%v'", err)
	}
	typ := str1(in, "type")
	if typ == "" {
		typ = "STANDARD"
	}
	var tc struct {
		Enabled bool `json:"enabled"`
	}
	_ = json.Unmarshal(in["tracingConfiguration"], &tc)
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := machineARN(name)
	if m, ok := f.machines[arn]; ok {
		if m.def != def {
			return nil, badReq("StateMachineAlreadyExists", "State Machine Already Exists: '%s'", arn)
		}
		return map[string]any{"stateMachineArn": arn, "creationDate": epoch(m.created)}, nil
	}
	m := &sfnMachine{arn: arn, name: name, def: def, role: str1(in, "roleArn"), typ: typ, tracing: tc.Enabled, created: f.s.now(), asl: asl}
	f.machines[arn] = m
	return map[string]any{"stateMachineArn": arn, "creationDate": epoch(m.created)}, nil
}

func (f *sfnService) machine(arn string) (*sfnMachine, error) {
	if !strings.HasPrefix(arn, "arn:aws:states:") || !strings.Contains(arn, ":stateMachine:") {
		return nil, badReq("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	m, ok := f.machines[arn]
	if !ok {
		return nil, badReq("StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn)
	}
	return m, nil
}

func (f *sfnService) exec(arn string) (*sfnExec, error) {
	if !strings.HasPrefix(arn, "arn:aws:states:") || !strings.Contains(arn, ":execution:") {
		return nil, badReq("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	x, ok := f.execs[arn]
	if !ok {
		return nil, badReq("ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
	}
	return x, nil
}

// start begins an execution and runs it in the background, as a Standard
// workflow does: StartExecution returns at once.
func (f *sfnService) start(machine, name, input, trace string) (string, time.Time, error) {
	if !json.Valid([]byte(input)) {
		return "", time.Time{}, badReq("InvalidExecutionInput", "Invalid State Machine Execution Input: 'not a JSON text'")
	}
	if name == "" {
		name = newRequestID()
	}
	if !sfnName.MatchString(name) {
		return "", time.Time{}, badReq("InvalidName", "Invalid Name: '%s'", name)
	}
	f.mu.Lock()
	m, err := f.machine(machine)
	if err != nil {
		f.mu.Unlock()
		return "", time.Time{}, err
	}
	arn := execARN(m.name, name)
	if old, ok := f.execs[arn]; ok {
		f.mu.Unlock()
		if old.input == input && old.status == "RUNNING" {
			return arn, old.start, nil // idempotent, as AWS is for a running execution with the same input
		}
		return "", time.Time{}, badReq("ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn)
	}
	if m.tracing && !strings.Contains(trace, "Root=") {
		trace = "Root=" + newXRayTraceID(f.s.now()) + ";Sampled=1"
	}
	x := &sfnExec{arn: arn, name: name, machine: m.arn, input: input, status: "RUNNING", start: f.s.now(), trace: trace}
	x.add("ExecutionStarted", "executionStartedEventDetails", map[string]any{
		"input": input, "inputDetails": map[string]bool{"truncated": false}, "roleArn": m.role,
	}, x.start)
	f.execs[arn] = x
	f.order = append(f.order, arn)
	for len(f.order) > sfnMaxExecs {
		delete(f.execs, f.order[0])
		f.order = f.order[1:]
	}
	hook := f.onStart
	f.mu.Unlock()
	if hook != nil {
		hook(arn, input)
	}
	var doc any
	_ = json.Unmarshal([]byte(input), &doc)
	go f.run(m, x, m.asl.StartAt, doc, nil)
	return arn, x.start, nil
}

func newXRayTraceID(at time.Time) string {
	h := strings.ReplaceAll(newRequestID(), "-", "")
	return fmt.Sprintf("1-%08x-%s", at.Unix(), h[:24])
}

// add appends a history event (the caller holds f.mu or owns x).
func (x *sfnExec) add(typ, detailOf string, details map[string]any, at time.Time) {
	id := int64(len(x.events) + 1)
	x.events = append(x.events, sfnEvent{ID: id, Prev: id - 1, At: at, Type: typ, DetailOf: detailOf, Details: details})
}

func (f *sfnService) describe(x *sfnExec) map[string]any {
	out := map[string]any{
		"executionArn": x.arn, "stateMachineArn": x.machine, "name": x.name, "status": x.status,
		"startDate": epoch(x.start), "input": x.input, "inputDetails": map[string]bool{"included": true},
		"redriveCount": x.redrives,
	}
	if x.trace != "" {
		out["traceHeader"] = x.trace
	}
	if !x.stop.IsZero() {
		out["stopDate"] = epoch(x.stop)
	}
	if x.status == "SUCCEEDED" {
		out["output"], out["outputDetails"] = x.output, map[string]bool{"included": true}
	}
	if x.errCode != "" {
		out["error"] = x.errCode
	}
	if x.cause != "" {
		out["cause"] = x.cause
	}
	if !x.redriveDate.IsZero() {
		out["redriveDate"] = epoch(x.redriveDate)
	}
	status, reason := redriveStatus(x)
	out["redriveStatus"] = status
	if reason != "" {
		out["redriveStatusReason"] = reason
	}
	return out
}

// redriveStatus says whether RedriveExecution would take x, and why not.
func redriveStatus(x *sfnExec) (status, reason string) {
	switch x.status {
	case "FAILED", "TIMED_OUT", "ABORTED":
		return "REDRIVABLE", ""
	}
	return "NOT_REDRIVABLE", "Execution is " + x.status + " and cannot be redriven"
}

func (f *sfnService) list(in map[string]json.RawMessage) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	machine := str1(in, "stateMachineArn")
	if _, err := f.machine(machine); err != nil {
		return nil, err
	}
	filter := str1(in, "statusFilter")
	redrive := str1(in, "redriveFilter")
	var match []*sfnExec
	for i := len(f.order) - 1; i >= 0; i-- { // newest first, as AWS lists them
		x := f.execs[f.order[i]]
		if x == nil || x.machine != machine || filter != "" && x.status != filter {
			continue
		}
		if redrive == "REDRIVEN" && x.redrives == 0 || redrive == "NOT_REDRIVEN" && x.redrives > 0 {
			continue
		}
		match = append(match, x)
	}
	from, to, next, err := sfnPage(in, len(match), 1000)
	if err != nil {
		return nil, err
	}
	items := []map[string]any{}
	for _, x := range match[from:to] {
		it := map[string]any{"executionArn": x.arn, "stateMachineArn": x.machine, "name": x.name, "status": x.status, "startDate": epoch(x.start)}
		if !x.stop.IsZero() {
			it["stopDate"] = epoch(x.stop)
		}
		if x.redrives > 0 {
			it["redriveCount"], it["redriveDate"] = x.redrives, epoch(x.redriveDate)
		}
		items = append(items, it)
	}
	return withLowerToken(map[string]any{"executions": items}, next), nil
}

func (f *sfnService) history(in map[string]json.RawMessage) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x, err := f.exec(str1(in, "executionArn"))
	if err != nil {
		return nil, err
	}
	evs := append([]sfnEvent(nil), x.events...)
	var rev bool
	_ = json.Unmarshal(in["reverseOrder"], &rev)
	if rev {
		for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
			evs[i], evs[j] = evs[j], evs[i]
		}
	}
	include := true
	if raw, ok := in["includeExecutionData"]; ok {
		_ = json.Unmarshal(raw, &include)
	}
	from, to, next, err := sfnPage(in, len(evs), 1000)
	if err != nil {
		return nil, err
	}
	page := evs[from:to]
	if !include {
		page = withoutData(page)
	}
	return withLowerToken(map[string]any{"events": page}, next), nil
}

// withoutData drops the input and output of each event, as
// includeExecutionData=false does.
func withoutData(evs []sfnEvent) []sfnEvent {
	out := make([]sfnEvent, len(evs))
	for i, e := range evs {
		out[i] = e
		if e.Details == nil {
			continue
		}
		d := map[string]any{}
		for k, v := range e.Details {
			if k != "input" && k != "output" && k != "parameters" {
				d[k] = v
			}
		}
		out[i].Details = d
	}
	return out
}

// sfnPage cuts one page by maxResults (0–limit; 0 means 100) and nextToken.
func sfnPage(in map[string]json.RawMessage, n, limit int) (from, to int, next string, err error) {
	max := int1(in, "maxResults", 0)
	if max < 0 || max > limit {
		return 0, 0, "", badReq("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to %d", max, limit)
	}
	if max == 0 {
		max = 100
	}
	if tok := str1(in, "nextToken"); tok != "" {
		v, ok := strings.CutPrefix(tok, "sfnpage-")
		from, err = strconv.Atoi(v)
		if !ok || err != nil || from < 0 || from > n {
			return 0, 0, "", badReq("InvalidToken", "Invalid Token: 'Invalid token'")
		}
	}
	to = min(from+max, n)
	if to < n {
		next = "sfnpage-" + strconv.Itoa(to)
	}
	return from, to, next, nil
}

func withLowerToken(out map[string]any, next string) map[string]any {
	if next != "" {
		out["nextToken"] = next
	}
	return out
}

// redrive restarts a failed, timed-out or aborted execution from the state
// that failed, with that state's input; a Map reruns only its iterations
// that did not succeed.
func (f *sfnService) redrive(arn, token string) (time.Time, error) {
	f.mu.Lock()
	x, err := f.exec(arn)
	if err != nil {
		f.mu.Unlock()
		return time.Time{}, err
	}
	if token != "" && token == x.redriveToken {
		at := x.redriveDate
		f.mu.Unlock()
		return at, nil // the same request again: one redrive
	}
	if st, reason := redriveStatus(x); st != "REDRIVABLE" {
		f.mu.Unlock()
		return time.Time{}, badReq("ExecutionNotRedrivable", "Execution is not redrivable: '%s': %s", arn, reason)
	}
	m := f.machines[x.machine]
	at := f.s.now()
	x.redrives++
	x.redriveDate, x.redriveToken = at, token
	x.status, x.errCode, x.cause, x.stop = "RUNNING", "", "", time.Time{}
	x.add("ExecutionRedriven", "executionRedrivenEventDetails", map[string]any{"redriveCount": x.redrives}, at)
	state, input, done := x.failedState, x.failedInput, x.mapDone
	f.mu.Unlock()
	go f.run(m, x, state, input, done)
	return at, nil
}

// ---- the interpreter ----

type aslMachine struct {
	StartAt string               `json:"StartAt"`
	States  map[string]*aslState `json:"States"`
}

type aslState struct {
	Type           string         `json:"Type"`
	Resource       string         `json:"Resource"`
	Parameters     map[string]any `json:"Parameters"`
	ResultSelector map[string]any `json:"ResultSelector"`
	ResultPath     *string        `json:"ResultPath"`
	Next           string         `json:"Next"`
	End            bool           `json:"End"`
	Choices        []aslChoice    `json:"Choices"`
	Default        string         `json:"Default"`
	Seconds        float64        `json:"Seconds"`
	ItemsPath      string         `json:"ItemsPath"`
	ItemSelector   map[string]any `json:"ItemSelector"`
	ItemProcessor  *aslMachine    `json:"ItemProcessor"`
	Iterator       *aslMachine    `json:"Iterator"`
	Error          string         `json:"Error"`
	Cause          string         `json:"Cause"`
	Result         any            `json:"Result"`
}

type aslChoice struct {
	Variable           string   `json:"Variable"`
	StringEquals       *string  `json:"StringEquals"`
	BooleanEquals      *bool    `json:"BooleanEquals"`
	NumericGreaterThan *float64 `json:"NumericGreaterThan"`
	NumericLessThan    *float64 `json:"NumericLessThan"`
	Next               string   `json:"Next"`
}

func parseASL(def []byte) (*aslMachine, error) {
	var m aslMachine
	if err := json.Unmarshal(def, &m); err != nil {
		return nil, err
	}
	return &m, m.check(0)
}

func (m *aslMachine) check(depth int) error {
	if depth > 4 {
		return errors.New("states nested too deep")
	}
	if m.States[m.StartAt] == nil {
		return fmt.Errorf("MISSING_TRANSITION_TARGET: StartAt %q", m.StartAt)
	}
	for name, st := range m.States {
		switch st.Type {
		case "Task", "Choice", "Wait", "Pass", "Succeed", "Fail":
		case "Map":
			if st.ItemProcessor == nil {
				st.ItemProcessor = st.Iterator
			}
			if st.ItemProcessor == nil {
				return fmt.Errorf("MISSING_ITERATOR: state %q", name)
			}
			if err := st.ItemProcessor.check(depth + 1); err != nil {
				return err
			}
		default:
			return fmt.Errorf("SCHEMA_VALIDATION_FAILED: state %q: type %q is not emulated", name, st.Type)
		}
		for _, next := range append([]string{st.Next, st.Default}, choiceTargets(st)...) {
			if next != "" && m.States[next] == nil {
				return fmt.Errorf("MISSING_TRANSITION_TARGET: state %q names %q", name, next)
			}
		}
	}
	return nil
}

func choiceTargets(st *aslState) []string {
	var out []string
	for _, c := range st.Choices {
		out = append(out, c.Next)
	}
	return out
}

// failure is a state's error and cause.
type failure struct{ code, cause string }

func (e *failure) Error() string { return e.code + ": " + e.cause }

// run interprets the machine from state with input until the end, then
// records the outcome. done holds a redriven Map's finished iterations.
func (f *sfnService) run(m *sfnMachine, x *sfnExec, state string, input any, done map[int]any) {
	defer func() {
		if r := recover(); r != nil {
			f.finish(m, x, nil, &failure{"States.Runtime", fmt.Sprint(r)}, state, input, nil, f.s.now())
		}
	}()
	seg := &sfnSegment{}
	out, failedAt, failedIn, mapDone, err := f.states(m, x, m.asl, state, input, done, seg, -1)
	stop := f.s.now()
	f.writeSegment(m, x, seg, err, stop) // before the outcome shows: a reader that sees it finished finds its trace
	f.finish(m, x, out, err, failedAt, failedIn, mapDone, stop)
	f.mu.Lock()
	hook, status := f.onEnd, x.status
	f.mu.Unlock()
	if hook != nil {
		hook(x.arn, status)
	}
}

// sfnSegment collects an execution attempt's X-Ray subsegments.
type sfnSegment struct{ subs []map[string]any }

// states runs one machine (the execution's, or a Map's item processor) and
// returns its output, or where and why it failed.
func (f *sfnService) states(m *sfnMachine, x *sfnExec, asl *aslMachine, name string, input any, done map[int]any, seg *sfnSegment, item int) (out any, failedAt string, failedIn any, mapDone map[int]any, err error) {
	ctx := f.s.Context()
	for steps := 0; steps < 1000; steps++ {
		st := asl.States[name]
		if st == nil {
			return nil, name, input, nil, &failure{"States.Runtime", "no state " + name}
		}
		if ctx.Err() != nil {
			return nil, name, input, nil, &failure{"States.Runtime", "the sandbox stopped"}
		}
		entered := f.s.now()
		f.event(x, st.Type+"StateEntered", "stateEnteredEventDetails", map[string]any{"name": name, "input": jsonText(input), "inputDetails": map[string]bool{"truncated": false}})
		var result any
		var next string
		var serr error
		switch st.Type {
		case "Task":
			result, serr = f.task(ctx, x, st, input, item)
			next = st.Next
		case "Choice":
			next = st.Default
			for _, c := range st.Choices {
				if c.match(input) {
					next = c.Next
					break
				}
			}
			if next == "" {
				serr = &failure{"States.NoChoiceMatched", "No Choice Rules matched and no Default is specified"}
			}
			result = input
		case "Wait":
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(st.Seconds * sfnWaitScale * float64(time.Second))):
			}
			result, next = input, st.Next
		case "Map":
			result, mapDone, serr = f.mapState(m, x, name, st, input, done, seg)
			next = st.Next
		case "Pass":
			result, next = input, st.Next
			if st.Result != nil {
				result = st.Result
			}
		case "Succeed":
			result = input
		case "Fail":
			serr = &failure{st.Error, st.Cause}
		}
		sub := map[string]any{"id": newSegmentID(), "name": name, "start_time": float64(entered.UnixNano()) / 1e9, "end_time": float64(f.s.now().UnixNano()) / 1e9}
		if serr != nil {
			sub["fault"] = true
			var fl *failure
			if errors.As(serr, &fl) {
				sub["cause"] = map[string]any{"exceptions": []any{map[string]any{"id": newSegmentID(), "type": fl.code, "message": fl.cause}}}
			}
		}
		if item < 0 {
			f.mu.Lock()
			seg.subs = append(seg.subs, sub)
			f.mu.Unlock()
		}
		if serr != nil {
			if st.Type == "Map" {
				f.event(x, "MapStateFailed", "", nil)
			}
			return nil, name, input, mapDone, serr
		}
		if st.Type == "Task" || st.Type == "Pass" {
			result = applyResult(st, input, result)
		}
		f.event(x, st.Type+"StateExited", "stateExitedEventDetails", map[string]any{"name": name, "output": jsonText(result), "outputDetails": map[string]bool{"truncated": false}})
		if st.End || st.Type == "Succeed" || next == "" {
			return result, "", nil, nil, nil
		}
		name, input, done = next, result, nil
	}
	return nil, name, input, nil, &failure{"States.Runtime", "too many transitions"}
}

func (f *sfnService) event(x *sfnExec, typ, detailOf string, details map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x.add(typ, detailOf, details, f.s.now())
}

// finish records an attempt's outcome.
func (f *sfnService) finish(m *sfnMachine, x *sfnExec, out any, err error, failedAt string, failedIn any, mapDone map[int]any, stop time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x.stop = stop
	if err == nil {
		x.status, x.output = "SUCCEEDED", jsonText(out)
		x.add("ExecutionSucceeded", "executionSucceededEventDetails", map[string]any{"output": x.output, "outputDetails": map[string]bool{"truncated": false}}, x.stop)
		return
	}
	fl := &failure{"States.Runtime", err.Error()}
	errors.As(err, &fl)
	x.status, x.errCode, x.cause = "FAILED", fl.code, fl.cause
	x.failedState, x.failedInput, x.mapDone = failedAt, failedIn, mapDone
	details := map[string]any{}
	if fl.code != "" {
		details["error"] = fl.code
	}
	if fl.cause != "" {
		details["cause"] = fl.cause
	}
	x.add("ExecutionFailed", "executionFailedEventDetails", details, x.stop)
	_ = m
}

// task runs a Task state on a Lambda function: through the optimised
// integration (arn:aws:states:::lambda:invoke, TaskScheduled… events, the
// invoke response with its request ID as the result) or by the function's
// ARN (LambdaFunctionScheduled… events, the function's output as the result).
func (f *sfnService) task(ctx context.Context, x *sfnExec, st *aslState, input any, item int) (any, error) {
	params := input
	if st.Parameters != nil {
		params = evalParams(st.Parameters, input, f.contextObject(x, item))
	}
	var fn string
	var payload any
	integrated := strings.HasPrefix(st.Resource, "arn:aws:states:::lambda:invoke")
	if integrated {
		pm, _ := params.(map[string]any)
		fn, _ = pm["FunctionName"].(string)
		payload = pm["Payload"]
		b, _ := json.Marshal(params)
		f.event(x, "TaskScheduled", "taskScheduledEventDetails", map[string]any{"resource": "invoke", "resourceType": "lambda", "region": Region, "parameters": string(b)})
		f.event(x, "TaskStarted", "taskStartedEventDetails", map[string]any{"resource": "invoke", "resourceType": "lambda"})
	} else {
		fn, payload = st.Resource, params
		f.event(x, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", map[string]any{"resource": st.Resource, "input": jsonText(params), "inputDetails": map[string]bool{"truncated": false}})
		f.event(x, "LambdaFunctionStarted", "", nil)
	}
	if parts := strings.Split(fn, ":"); strings.HasPrefix(fn, "arn:") && len(parts) >= 7 {
		fn = parts[6]
	}
	body, _ := json.Marshal(payload)
	req := newRequestID()
	out, runtime, err := f.invoke(ctx, fn, body, x.trace, &req)
	if err != nil {
		code, cause := lambdaError(err, runtime, req)
		if integrated {
			f.event(x, "TaskFailed", "taskFailedEventDetails", map[string]any{"resource": "invoke", "resourceType": "lambda", "error": code, "cause": cause})
		} else {
			f.event(x, "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails", map[string]any{"error": code, "cause": cause})
		}
		return nil, &failure{code, cause}
	}
	var result any
	if json.Unmarshal(out, &result) != nil {
		result = string(out)
	}
	if integrated {
		result = map[string]any{
			"ExecutedVersion": "$LATEST", "Payload": result, "StatusCode": 200,
			"SdkHttpMetadata":     map[string]any{"HttpStatusCode": 200, "HttpHeaders": map[string]string{"x-amzn-RequestId": req, "X-Amz-Executed-Version": "$LATEST"}},
			"SdkResponseMetadata": map[string]any{"RequestId": req},
		}
		f.event(x, "TaskSucceeded", "taskSucceededEventDetails", map[string]any{"resource": "invoke", "resourceType": "lambda", "output": jsonText(result), "outputDetails": map[string]bool{"truncated": false}})
	} else {
		f.event(x, "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails", map[string]any{"output": jsonText(result), "outputDetails": map[string]bool{"truncated": false}})
	}
	if st.ResultSelector != nil {
		result = evalParams(st.ResultSelector, result, f.contextObject(x, item))
	}
	return result, nil
}

// lambdaError is the error and cause Step Functions reports for a function
// error: the function's errorType, and its error payload as the cause (which
// the Python runtime gives the invocation's requestId and a stackTrace).
func lambdaError(err error, runtime, req string) (code, cause string) {
	msg := err.Error()
	code = "Error"
	if t, rest, ok := strings.Cut(msg, ": "); ok && sfnName.MatchString(t) {
		code, msg = t, rest
	}
	if strings.HasPrefix(code, "Lambda.") {
		return code, msg
	}
	payload := map[string]any{"errorType": code, "errorMessage": msg, "trace": []string{}}
	if strings.HasPrefix(runtime, "python") {
		payload = map[string]any{"errorMessage": msg, "errorType": code, "requestId": req, "stackTrace": []string{}}
	}
	b, _ := json.Marshal(payload)
	return code, string(b)
}

// invokeCtx carries what a Task hands the function it invokes: the trace
// header, and where the function's request ID goes; and what the function
// tells back: how long it ran, when it simulates its run (the world's
// functions report the duration their REPORT line says, and return at once).
type invokeCtx struct {
	trace string
	req   *string
	took  time.Duration
}

type invokeKey struct{}

// invokedBy returns the trace header a Step Functions task passed to the
// function running with ctx, and a setter for the function's request ID,
// which the task reports (SdkResponseMetadata.RequestId).
func invokedBy(ctx context.Context) (trace string, setRequest func(string)) {
	ic, _ := ctx.Value(invokeKey{}).(*invokeCtx)
	if ic == nil {
		return "", func(string) {}
	}
	return ic.trace, func(id string) { *ic.req = id }
}

// ranFor tells the Step Functions task that invoked the function running
// with ctx that the function ran for d: the synchronous Invoke, and so the
// task, returns no sooner than d after it began, as in AWS.
func ranFor(ctx context.Context, d time.Duration) {
	if ic, _ := ctx.Value(invokeKey{}).(*invokeCtx); ic != nil {
		ic.took = d
	}
}

// invoke runs a function synchronously, as the Invoke API would.
func (f *sfnService) invoke(ctx context.Context, fn string, payload []byte, trace string, req *string) ([]byte, string, error) {
	l := f.s.lambda()
	l.mu.Lock()
	lf, ok := l.fns[fn]
	l.mu.Unlock()
	if !ok {
		return nil, "", &failure{"Lambda.ResourceNotFoundException", "Function not found: " + fnARN(fn)}
	}
	if lf.Handler == nil {
		return []byte("null"), lf.Runtime, nil
	}
	ic := &invokeCtx{trace: trace, req: req}
	began := time.Now()
	out, err := lf.Handler(context.WithValue(ctx, invokeKey{}, ic), payload)
	// A function that simulates its run returns before the time it reports:
	// the Invoke answers when that time is up, so the task's history events
	// (TaskSucceeded, StateExited) come as late as they would in AWS.
	if rest := ic.took - time.Since(began); rest > 0 {
		t := time.NewTimer(rest)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return out, lf.Runtime, err
}

// mapState runs an inline Map: one iteration per item, one at a time.
func (f *sfnService) mapState(m *sfnMachine, x *sfnExec, name string, st *aslState, input any, done map[int]any, seg *sfnSegment) (any, map[int]any, error) {
	items := input
	if st.ItemsPath != "" {
		doc, _ := input.(map[string]any)
		items, _ = jsonPath(doc, st.ItemsPath)
	}
	list, ok := items.([]any)
	if !ok {
		return nil, done, &failure{"States.Runtime", "the ItemsPath does not select an array"}
	}
	f.event(x, "MapStateStarted", "mapStateStartedEventDetails", map[string]any{"length": len(list)})
	results := make([]any, len(list))
	finished := map[int]any{}
	for i, it := range list {
		if r, ok := done[i]; ok {
			results[i], finished[i] = r, r
			continue
		}
		f.event(x, "MapIterationStarted", "mapIterationStartedEventDetails", map[string]any{"name": name, "index": i})
		in := it
		if sel := st.ItemSelector; sel != nil {
			co := f.contextObject(x, -1)
			co["Map"] = map[string]any{"Item": map[string]any{"Index": i, "Value": it}}
			in = evalParams(sel, input, co)
		}
		out, _, _, _, err := f.states(m, x, st.ItemProcessor, st.ItemProcessor.StartAt, in, nil, seg, i)
		if err != nil {
			f.event(x, "MapIterationFailed", "mapIterationFailedEventDetails", map[string]any{"name": name, "index": i})
			return nil, finished, err
		}
		f.event(x, "MapIterationSucceeded", "mapIterationSucceededEventDetails", map[string]any{"name": name, "index": i})
		results[i], finished[i] = out, out
	}
	f.event(x, "MapStateSucceeded", "", nil)
	return applyResult(st, input, results), nil, nil
}

// contextObject is the context object ($$) of x.
func (f *sfnService) contextObject(x *sfnExec, item int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var in any
	_ = json.Unmarshal([]byte(x.input), &in)
	return map[string]any{
		"Execution":    map[string]any{"Id": x.arn, "Name": x.name, "Input": in, "StartTime": x.start.UTC().Format(time.RFC3339Nano), "RedriveCount": x.redrives},
		"StateMachine": map[string]any{"Id": x.machine},
	}
}

// applyResult places a state's result by its ResultPath: the result itself
// by default, the input for null, or under a path of the input.
func applyResult(st *aslState, input, result any) any {
	if st.ResultPath == nil {
		return result
	}
	p := strings.TrimPrefix(strings.TrimPrefix(*st.ResultPath, "$"), ".")
	if p == "" {
		return result
	}
	doc, ok := input.(map[string]any)
	if !ok {
		return result
	}
	cp := deepCopy(doc).(map[string]any)
	cur := cp
	parts := strings.Split(p, ".")
	for _, k := range parts[:len(parts)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = result
	return cp
}

func deepCopy(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// evalParams fills a Parameters (or ItemSelector, ResultSelector) template:
// a field named "x.$" takes the value its path selects from input ($.…) or
// from the context object ($$.…).
func evalParams(tpl map[string]any, input any, co map[string]any) any {
	out := map[string]any{}
	for k, v := range tpl {
		if name, ok := strings.CutSuffix(k, ".$"); ok {
			path, _ := v.(string)
			if rest, isCtx := strings.CutPrefix(path, "$$"); isCtx {
				out[name], _ = jsonPath(co, "$"+rest)
				continue
			}
			doc, _ := input.(map[string]any)
			if path == "$" {
				out[name] = input
			} else {
				out[name], _ = jsonPath(doc, path)
			}
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			out[k] = evalParams(sub, input, co)
			continue
		}
		out[k] = v
	}
	return out
}

func (c aslChoice) match(input any) bool {
	doc, _ := input.(map[string]any)
	v, ok := jsonPath(doc, c.Variable)
	if !ok {
		return false
	}
	switch {
	case c.StringEquals != nil:
		s, ok := v.(string)
		return ok && s == *c.StringEquals
	case c.BooleanEquals != nil:
		b, ok := v.(bool)
		return ok && b == *c.BooleanEquals
	case c.NumericGreaterThan != nil:
		n, ok := v.(float64)
		return ok && n > *c.NumericGreaterThan
	case c.NumericLessThan != nil:
		n, ok := v.(float64)
		return ok && n < *c.NumericLessThan
	}
	return false
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

func newSegmentID() string {
	return strings.ReplaceAll(newRequestID(), "-", "")[:16]
}

// writeSegment puts an execution attempt's X-Ray segment, when the state
// machine traces: origin AWS::StepFunctions::StateMachine, a child of the
// caller's segment named in the trace header, one subsegment per state.
func (f *sfnService) writeSegment(m *sfnMachine, x *sfnExec, seg *sfnSegment, err error, stop time.Time) {
	if !m.tracing {
		return
	}
	root, parent := headerIDs(x.trace)
	if root == "" {
		return
	}
	f.mu.Lock()
	start := x.start
	if !x.redriveDate.IsZero() {
		start = x.redriveDate
	}
	doc := map[string]any{
		"id": newSegmentID(), "trace_id": root, "name": m.name, "origin": "AWS::StepFunctions::StateMachine",
		"start_time": float64(start.UnixNano()) / 1e9, "end_time": float64(stop.UnixNano()) / 1e9,
		"aws":         map[string]any{"execution_arn": x.arn, "state_machine_arn": m.arn, "redrive_count": x.redrives},
		"subsegments": seg.subs,
	}
	f.mu.Unlock()
	if parent != "" {
		doc["parent_id"] = parent
	}
	if err != nil {
		doc["fault"] = true
	}
	b, _ := json.Marshal(doc)
	docs, _ := json.Marshal([]string{string(b)})
	xs := f.s.services["xray"].(*xrayService)
	xs.mu.Lock()
	_, _ = xs.call("PutTraceSegments", map[string]json.RawMessage{"TraceSegmentDocuments": docs}, Account)
	xs.mu.Unlock()
}
