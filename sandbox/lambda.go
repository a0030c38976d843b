package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	Handler      LambdaHandler
	// DeadLetterArn (an SQS queue) receives an asynchronous invocation that
	// failed its attempts, as Lambda's DeadLetterConfig does; OnFailureArn
	// receives a destination record instead, as an on-failure destination
	// does (lambdadlq.go).
	DeadLetterArn, OnFailureArn string
}

// lambdaService emulates the Lambda read calls and Invoke (REST-JSON).
type lambdaService struct {
	s *Server

	mu  sync.Mutex
	fns map[string]*LambdaFunction
}

func newLambdaService(s *Server) *lambdaService {
	return &lambdaService{s: s, fns: map[string]*LambdaFunction{}}
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
	p := strings.TrimPrefix(path, "/2015-03-31/functions/")
	name, _, _ := strings.Cut(p, "/")
	if i := strings.LastIndexByte(name, ':'); i >= 0 && strings.HasPrefix(name, "arn:") {
		name = strings.Split(name, ":")[6]
	}
	return name
}

func (l *lambdaService) config(f *LambdaFunction) map[string]any {
	return map[string]any{
		"FunctionName": f.Name, "FunctionArn": "arn:aws:lambda:" + Region + ":" + Account + ":function:" + f.Name,
		"Runtime": f.Runtime, "MemorySize": f.MemoryMB, "Timeout": f.TimeoutSec, "Architectures": []string{f.Architecture},
		"Handler": "index.handler", "Role": "arn:aws:iam::" + Account + ":role/" + f.Name, "CodeSize": 1024, "PackageType": "Zip",
		"Version": "$LATEST", "LastModified": "2026-11-01T00:00:00.000+0000", "State": "Active",
		"LoggingConfig":    map[string]string{"LogFormat": f.LogFormat, "LogGroup": f.LogGroup},
		"TracingConfig":    map[string]string{"Mode": f.Tracing},
		"DeadLetterConfig": deadLetterConfig(f),
	}
}

func (l *lambdaService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
	switch op {
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
// returns once the invocation is queued. EventBridge and SNS targets use it.
func (l *lambdaService) invokeAsync(function string, payload []byte) error {
	l.mu.Lock()
	f, ok := l.fns[function]
	l.mu.Unlock()
	if !ok {
		return &apiErr{status: 404, code: "ResourceNotFoundException", message: "Function not found: " + function}
	}
	if f.Handler == nil {
		return nil
	}
	cp := append([]byte(nil), payload...)
	go func() {
		defer func() { _ = recover() }()
		l.runAsync(f, cp)
	}()
	return nil
}
