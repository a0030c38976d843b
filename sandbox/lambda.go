package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LambdaHandler runs one simulated invocation.
type LambdaHandler func(ctx context.Context, payload []byte) ([]byte, error)

// LambdaFunction is a simulated function's configuration.
type LambdaFunction struct {
	Name         string
	Runtime      string
	MemoryMB     int
	TimeoutSec   int
	Architecture string // x86_64 or arm64
	LogFormat    string // Text or JSON
	LogGroup     string // default /aws/lambda/<name>
	Tracing      string // Active or PassThrough
	// DeadLetterTarget is the ARN of the SQS queue or SNS topic that gets an
	// asynchronous invocation's event once its retries are exhausted
	// (DeadLetterConfig.TargetArn); "" for none.
	DeadLetterTarget string
	Handler          LambdaHandler
}

// EventInvokeConfig is a function's asynchronous invocation configuration
// (PutFunctionEventInvokeConfig): retries and destinations.
type EventInvokeConfig struct {
	MaximumRetryAttempts     *int   // 0–2; nil means Lambda's default, 2
	MaximumEventAgeInSeconds *int   // 60–21600; nil means the default, 21600
	OnSuccess, OnFailure     string // destination ARNs (queue, topic, function or bus); "" for none
	lastModified             time.Time
}

// EventSourceMapping is a Lambda event source mapping: which queue a
// function is fed from.
type EventSourceMapping struct {
	UUID           string
	EventSourceArn string
	Function       string // name
	BatchSize      int
	MaxBatchWindow int // MaximumBatchingWindowInSeconds
	State          string
	// Stream sources only (Kinesis): StartingPosition, MaximumRetryAttempts
	// and the on-failure destination ARN (DestinationConfig.OnFailure).
	StartingPosition     string
	MaximumRetryAttempts *int
	OnFailure            string
	lastModified         time.Time
}

// lambdaService emulates the Lambda read calls and Invoke (REST-JSON).
type lambdaService struct {
	s *Server

	mu      sync.Mutex
	fns     map[string]*LambdaFunction
	invoke  map[string]*EventInvokeConfig // by function name
	esms    []*EventSourceMapping         // in creation order
	esmSeq  int
	retryIn time.Duration // the wait before an async retry; Lambda's own is about a minute, scaled down here
}

func newLambdaService(s *Server) *lambdaService {
	return &lambdaService{s: s, fns: map[string]*LambdaFunction{}, invoke: map[string]*EventInvokeConfig{}, retryIn: 200 * time.Millisecond}
}

// AddEventSourceMapping records that function is fed from the queue eventSourceArn,
// as CreateEventSourceMapping does; the world's consumers poll as such a
// mapping would, so the routing read APIs answer what really happens. It
// returns the mapping's UUID.
func (s *Server) AddEventSourceMapping(eventSourceArn, function string, batchSize int) string {
	l := s.lambda()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addESM(eventSourceArn, function, batchSize, 0).UUID
}

func (l *lambdaService) addESM(src, fn string, batch, window int) *EventSourceMapping {
	if batch <= 0 {
		batch = 10
	}
	l.esmSeq++
	m := &EventSourceMapping{
		UUID: fmt.Sprintf("%08x-0000-4000-8000-%012x", l.esmSeq, l.esmSeq), EventSourceArn: src, Function: fn,
		BatchSize: batch, MaxBatchWindow: window, State: "Enabled", lastModified: l.s.now(),
	}
	l.esms = append(l.esms, m)
	return m
}

// SetEventInvokeConfig sets a function's asynchronous invocation
// configuration, as PutFunctionEventInvokeConfig does.
func (s *Server) SetEventInvokeConfig(function string, c EventInvokeConfig) {
	l := s.lambda()
	l.mu.Lock()
	defer l.mu.Unlock()
	c.lastModified = l.s.now()
	l.invoke[function] = &c
}

// RegisterFunction adds a simulated function.
func (s *Server) RegisterFunction(f LambdaFunction) {
	if f.LogGroup == "" {
		f.LogGroup = "/aws/lambda/" + f.Name
	}
	if f.Architecture == "" {
		f.Architecture = "x86_64"
	}
	if f.LogFormat == "" {
		f.LogFormat = "Text"
	}
	if f.Tracing == "" {
		f.Tracing = "PassThrough"
	}
	l := s.lambda()
	l.mu.Lock()
	l.fns[f.Name] = &f
	l.mu.Unlock()
}

func (*lambdaService) name() string { return "lambda" }

func (*lambdaService) operation(r *http.Request, _ []byte) string {
	if p, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/event-source-mappings"); ok {
		switch {
		case (p == "" || p == "/") && r.Method == http.MethodGet:
			return "ListEventSourceMappings"
		case (p == "" || p == "/") && r.Method == http.MethodPost:
			return "CreateEventSourceMapping"
		case strings.Count(p, "/") == 1 && r.Method == http.MethodGet:
			return "GetEventSourceMapping"
		}
		return ""
	}
	if p, ok := strings.CutPrefix(r.URL.Path, "/2019-09-25/functions/"); ok && strings.HasSuffix(p, "/event-invoke-config") {
		switch r.Method {
		case http.MethodGet:
			return "GetFunctionEventInvokeConfig"
		case http.MethodPut:
			return "PutFunctionEventInvokeConfig"
		}
		return ""
	}
	p := strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions")
	switch {
	case (p == "" || p == "/") && r.Method == http.MethodGet:
		return "ListFunctions"
	case strings.HasSuffix(p, "/configuration") && r.Method == http.MethodGet:
		return "GetFunctionConfiguration"
	case strings.HasSuffix(p, "/invocations") && r.Method == http.MethodPost:
		return "Invoke"
	case strings.Count(p, "/") == 1 && r.Method == http.MethodGet:
		return "GetFunction"
	}
	return ""
}

func (*lambdaService) writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("X-Amzn-ErrorType", code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"Type": "User", "message": message, "__type": code})
	_, _ = w.Write(b)
}

func fnName(path string) string {
	p := strings.TrimPrefix(strings.TrimPrefix(path, "/2015-03-31/functions/"), "/2019-09-25/functions/")
	name, _, _ := strings.Cut(p, "/")
	if i := strings.LastIndexByte(name, ':'); i >= 0 && strings.HasPrefix(name, "arn:") {
		name = strings.Split(name, ":")[6]
	}
	return name
}

func (l *lambdaService) config(f *LambdaFunction) map[string]any {
	cfg := map[string]any{
		"FunctionName": f.Name, "FunctionArn": "arn:aws:lambda:" + l.s.region + ":" + Account + ":function:" + f.Name,
		"Runtime": f.Runtime, "MemorySize": f.MemoryMB, "Timeout": f.TimeoutSec, "Architectures": []string{f.Architecture},
		"Handler": "index.handler", "Role": "arn:aws:iam::" + Account + ":role/" + f.Name, "CodeSize": 1024, "PackageType": "Zip",
		"Version": "$LATEST", "LastModified": "2026-11-01T00:00:00.000+0000", "State": "Active",
		"LoggingConfig": map[string]string{"LogFormat": f.LogFormat, "LogGroup": f.LogGroup},
		"TracingConfig": map[string]string{"Mode": f.Tracing},
	}
	if f.DeadLetterTarget != "" {
		cfg["DeadLetterConfig"] = map[string]string{"TargetArn": f.DeadLetterTarget}
	}
	return cfg
}

func fnARN(name string) string { return regionFnARN(Region, name) }

// regionFnARN is a function's ARN in a region.
func regionFnARN(region, name string) string {
	return "arn:aws:lambda:" + region + ":" + Account + ":function:" + name
}

// esmJSON is an EventSourceMappingConfiguration as the API answers it.
// Its ARNs name the region that answers, as a mapping and its function
// live in one region.
func esmJSON(region string, m *EventSourceMapping) map[string]any {
	out := map[string]any{
		"UUID": m.UUID, "EventSourceMappingArn": "arn:aws:lambda:" + region + ":" + Account + ":event-source-mapping:" + m.UUID,
		"EventSourceArn": m.EventSourceArn, "FunctionArn": regionFnARN(region, m.Function), "BatchSize": m.BatchSize,
		"MaximumBatchingWindowInSeconds": m.MaxBatchWindow, "LastModified": epoch(m.lastModified), "State": m.State,
		"StateTransitionReason": "USER_INITIATED", "FunctionResponseTypes": []string{},
	}
	if m.StartingPosition != "" {
		streamESMJSON(m, out)
	}
	return out
}

// invokeConfigJSON is a FunctionEventInvokeConfig as the API answers it:
// fields that were never set stay absent.
func invokeConfigJSON(region, fn string, c *EventInvokeConfig) map[string]any {
	out := map[string]any{"FunctionArn": regionFnARN(region, fn) + ":$LATEST", "LastModified": epoch(c.lastModified)}
	if c.MaximumRetryAttempts != nil {
		out["MaximumRetryAttempts"] = *c.MaximumRetryAttempts
	}
	if c.MaximumEventAgeInSeconds != nil {
		out["MaximumEventAgeInSeconds"] = *c.MaximumEventAgeInSeconds
	}
	dc := map[string]any{}
	if c.OnSuccess != "" {
		dc["OnSuccess"] = map[string]string{"Destination": c.OnSuccess}
	}
	if c.OnFailure != "" {
		dc["OnFailure"] = map[string]string{"Destination": c.OnFailure}
	}
	out["DestinationConfig"] = dc
	return out
}

func (l *lambdaService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
	switch op {
	case "ListEventSourceMappings":
		q := r.URL.Query()
		fn := q.Get("FunctionName")
		if strings.HasPrefix(fn, "arn:") {
			if parts := strings.Split(fn, ":"); len(parts) >= 7 {
				fn = parts[6]
			}
		}
		from := 0
		if m := q.Get("Marker"); m != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(m, "esm-"))
			if err != nil || !strings.HasPrefix(m, "esm-") || n < 0 {
				l.writeError(w, http.StatusBadRequest, "InvalidParameterValueException", "Invalid Marker: "+m)
				return
			}
			from = n
		}
		max := 100
		if s := q.Get("MaxItems"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 10000 {
				l.writeError(w, http.StatusBadRequest, "InvalidParameterValueException", "MaxItems must be between 1 and 10000")
				return
			}
			max = min(n, 100)
		}
		l.mu.Lock()
		var match []*EventSourceMapping
		for _, m := range l.esms {
			if (q.Get("EventSourceArn") == "" || m.EventSourceArn == q.Get("EventSourceArn")) && (fn == "" || m.Function == fn) {
				match = append(match, m)
			}
		}
		out := map[string]any{}
		page := []any{}
		for i := from; i < len(match) && len(page) < max; i++ {
			page = append(page, esmJSON(l.s.region, match[i]))
		}
		if from+len(page) < len(match) {
			out["NextMarker"] = "esm-" + strconv.Itoa(from+len(page))
		}
		l.mu.Unlock()
		out["EventSourceMappings"] = page
		writeJSON(w, "application/json", out)
	case "GetEventSourceMapping":
		id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		l.mu.Lock()
		var found map[string]any
		for _, m := range l.esms {
			if m.UUID == id {
				found = esmJSON(l.s.region, m)
			}
		}
		l.mu.Unlock()
		if found == nil {
			l.writeError(w, http.StatusNotFound, "ResourceNotFoundException", "The resource you requested does not exist.")
			return
		}
		writeJSON(w, "application/json", found)
	case "CreateEventSourceMapping":
		var in struct {
			EventSourceArn, FunctionName   string
			BatchSize                      int
			MaximumBatchingWindowInSeconds int
		}
		if json.Unmarshal(body, &in) != nil || in.EventSourceArn == "" || in.FunctionName == "" {
			l.writeError(w, http.StatusBadRequest, "InvalidParameterValueException", "EventSourceArn and FunctionName are required")
			return
		}
		fn := in.FunctionName
		if parts := strings.Split(fn, ":"); strings.HasPrefix(fn, "arn:") && len(parts) >= 7 {
			fn = parts[6]
		}
		l.mu.Lock()
		_, ok := l.fns[fn]
		var m *EventSourceMapping
		if ok {
			m = l.addESM(in.EventSourceArn, fn, in.BatchSize, in.MaximumBatchingWindowInSeconds)
		}
		l.mu.Unlock()
		if !ok {
			l.writeError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+fnARN(fn))
			return
		}
		w.WriteHeader(http.StatusAccepted)
		b, _ := json.Marshal(esmJSON(l.s.region, m))
		_, _ = w.Write(b)
	case "GetFunctionEventInvokeConfig", "PutFunctionEventInvokeConfig":
		name := fnName(r.URL.Path)
		l.mu.Lock()
		_, ok := l.fns[name]
		l.mu.Unlock()
		if !ok {
			l.writeError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+fnARN(name))
			return
		}
		if op == "PutFunctionEventInvokeConfig" {
			var in struct {
				MaximumRetryAttempts, MaximumEventAgeInSeconds *int
				DestinationConfig                              struct {
					OnSuccess, OnFailure struct{ Destination string }
				}
			}
			if json.Unmarshal(body, &in) != nil {
				l.writeError(w, http.StatusBadRequest, "InvalidParameterValueException", "request body is not JSON")
				return
			}
			if a := in.MaximumRetryAttempts; a != nil && (*a < 0 || *a > 2) {
				l.writeError(w, http.StatusBadRequest, "InvalidParameterValueException", "MaximumRetryAttempts must be between 0 and 2")
				return
			}
			if a := in.MaximumEventAgeInSeconds; a != nil && (*a < 60 || *a > 21600) {
				l.writeError(w, http.StatusBadRequest, "InvalidParameterValueException", "MaximumEventAgeInSeconds must be between 60 and 21600")
				return
			}
			l.s.SetEventInvokeConfig(name, EventInvokeConfig{
				MaximumRetryAttempts: in.MaximumRetryAttempts, MaximumEventAgeInSeconds: in.MaximumEventAgeInSeconds,
				OnSuccess: in.DestinationConfig.OnSuccess.Destination, OnFailure: in.DestinationConfig.OnFailure.Destination,
			})
		}
		l.mu.Lock()
		c := l.invoke[name]
		var out map[string]any
		if c != nil {
			out = invokeConfigJSON(l.s.region, name, c)
		}
		l.mu.Unlock()
		if out == nil {
			l.writeError(w, http.StatusNotFound, "ResourceNotFoundException", "The function "+fnARN(name)+" doesn't have an EventInvokeConfig")
			return
		}
		writeJSON(w, "application/json", out)
	case "ListFunctions":
		l.mu.Lock()
		names := make([]string, 0, len(l.fns))
		for n := range l.fns {
			names = append(names, n)
		}
		sort.Strings(names)
		from, _ := strconv.Atoi(r.URL.Query().Get("Marker"))
		max, _ := strconv.Atoi(r.URL.Query().Get("MaxItems"))
		if max <= 0 || max > 50 {
			max = 50
		}
		var fns []any
		for i := from; i < len(names) && len(fns) < max; i++ {
			fns = append(fns, l.config(l.fns[names[i]]))
		}
		l.mu.Unlock()
		out := map[string]any{"Functions": fns}
		if fns == nil {
			out["Functions"] = []any{}
		}
		if from+len(fns) < len(names) {
			out["NextMarker"] = strconv.Itoa(from + len(fns))
		}
		writeJSON(w, "application/json", out)
	case "GetFunctionConfiguration", "GetFunction":
		l.mu.Lock()
		f, ok := l.fns[fnName(r.URL.Path)]
		var cfg map[string]any
		if ok {
			cfg = l.config(f)
		}
		l.mu.Unlock()
		if !ok {
			l.writeError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: arn:aws:lambda:"+Region+":"+Account+":function:"+fnName(r.URL.Path))
			return
		}
		if op == "GetFunction" {
			writeJSON(w, "application/json", map[string]any{"Configuration": cfg})
			return
		}
		writeJSON(w, "application/json", cfg)
	case "Invoke":
		name := fnName(r.URL.Path)
		if r.Header.Get("X-Amz-Invocation-Type") == "Event" {
			if err := l.invokeAsync(name, body); err != nil {
				l.writeError(w, http.StatusNotFound, "ResourceNotFoundException", err.Error())
				return
			}
			w.WriteHeader(http.StatusAccepted)
			return
		}
		l.mu.Lock()
		f, ok := l.fns[name]
		l.mu.Unlock()
		if !ok || f.Handler == nil {
			l.writeError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
			return
		}
		out, err := f.Handler(r.Context(), body)
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		if err != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			out, _ = json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "Error"})
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	}
}

// invokeAsync runs a function as an asynchronous (Event) invocation would: it
// returns once the invocation is queued. EventBridge and SNS targets use it. A
// failed invocation is retried (MaximumRetryAttempts, default 2; the waits are
// scaled down from Lambda's minutes), then its record goes to the on-failure
// destination, or else its event to the DeadLetterConfig target; a success's
// record goes to the on-success destination.
func (l *lambdaService) invokeAsync(function string, payload []byte) error {
	l.mu.Lock()
	f, ok := l.fns[function]
	var cfg EventInvokeConfig
	if c := l.invoke[function]; c != nil {
		cfg = *c
	}
	wait := l.retryIn
	l.mu.Unlock()
	if !ok {
		return &apiErr{status: 404, code: "ResourceNotFoundException", message: "Function not found: " + fnARN(function)}
	}
	if f.Handler == nil {
		return nil
	}
	retries := 2
	if cfg.MaximumRetryAttempts != nil {
		retries = *cfg.MaximumRetryAttempts
	}
	cp := append([]byte(nil), payload...)
	dlq := f.DeadLetterTarget
	go func() {
		defer func() { _ = recover() }()
		ctx := l.s.Context()
		var out []byte
		var err error
		attempts := 0
		for attempts <= retries {
			if attempts > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait * time.Duration(attempts)):
				}
			}
			attempts++
			if out, err = f.Handler(ctx, cp); err == nil {
				break
			}
		}
		switch {
		case err == nil && cfg.OnSuccess != "":
			_ = l.s.deliverTo(cfg.OnSuccess, invocationRecord(function, "Success", attempts, cp, out, nil), nil, "", "")
		case err != nil && cfg.OnFailure != "":
			_ = l.s.deliverTo(cfg.OnFailure, invocationRecord(function, "RetriesExhausted", attempts, cp, nil, err), nil, "", "")
		case err != nil && dlq != "":
			attrs := map[string]sqsAttr{
				"RequestID":    {DataType: "String", StringValue: newRequestID()},
				"ErrorCode":    {DataType: "Number", StringValue: "200"},
				"ErrorMessage": {DataType: "String", StringValue: err.Error()},
			}
			if strings.HasPrefix(dlq, "arn:aws:sqs:") {
				_, _ = l.s.sqs().deliver(dlq, string(cp), attrs, "", "", "")
			} else {
				_ = l.s.deliverTo(dlq, string(cp), nil, "", "")
			}
		}
	}()
	return nil
}

// invocationRecord is what Lambda sends to an async destination.
func invocationRecord(function, condition string, attempts int, payload, response []byte, err error) string {
	rec := map[string]any{
		"version": "1.0", "timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"requestContext":  map[string]any{"requestId": newRequestID(), "functionArn": fnARN(function) + ":$LATEST", "condition": condition, "approximateInvokeCount": attempts},
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST"},
	}
	if json.Valid(payload) {
		rec["requestPayload"] = json.RawMessage(payload)
	} else {
		rec["requestPayload"] = string(payload)
	}
	if err != nil {
		rec["responseContext"].(map[string]any)["functionError"] = "Unhandled"
		rec["responsePayload"] = map[string]string{"errorMessage": err.Error(), "errorType": "Error"}
	} else if json.Valid(response) {
		rec["responsePayload"] = json.RawMessage(response)
	}
	b, _ := json.Marshal(rec)
	return string(b)
}
