package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// eventsService emulates EventBridge (awsJson1_1, AWSEvents.*): buses, rules
// with event patterns, SQS/SNS/Lambda targets and PutEvents routing.
type eventsService struct {
	s *Server

	mu    sync.Mutex
	buses map[string]*ebBus
}

type ebBus struct {
	name  string
	rules map[string]*ebRule
}

type ebRule struct {
	name    string
	pattern map[string]any
	raw     string
	state   string
	targets map[string]string // id → ARN
	dlqs    map[string]string // id → DeadLetterConfig.Arn (ebdlq.go)
}

func newEventsService(s *Server) *eventsService {
	return &eventsService{s: s, buses: map[string]*ebBus{"default": {name: "default", rules: map[string]*ebRule{}}}}
}

func (*eventsService) name() string { return "events" }

func (*eventsService) operation(r *http.Request, _ []byte) string {
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSEvents.")
	return op
}

func (*eventsService) writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSONError(w, status, code, message)
}

func busName(s string) string {
	if s == "" {
		return "default"
	}
	if i := strings.LastIndex(s, "event-bus/"); i >= 0 {
		return s[i+len("event-bus/"):]
	}
	return s
}

func (e *eventsService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil {
		e.writeError(w, http.StatusBadRequest, "SerializationException", "request body is not JSON")
		return
	}
	out, deliveries, err := e.call(op, in)
	if err != nil {
		ae := err.(*apiErr)
		e.writeError(w, ae.status, ae.code, ae.message)
		return
	}
	for _, d := range deliveries {
		e.s.deliverOrDeadLetter(d)
	}
	writeJSON(w, "", out)
}

type delivery struct{ arn, body, trace, rule, dlq string }

// ebEnvelope is the event as EventBridge delivers it, fields in AWS's order.
type ebEnvelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

func (e *eventsService) call(op string, in map[string]json.RawMessage) (any, []delivery, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	bus := func() (*ebBus, error) {
		b, ok := e.buses[busName(str1(in, "EventBusName"))]
		if !ok {
			return nil, badReq("ResourceNotFoundException", "Event bus %s does not exist.", busName(str1(in, "EventBusName")))
		}
		return b, nil
	}
	switch op {
	case "CreateEventBus":
		n := str1(in, "Name")
		if _, ok := e.buses[n]; ok {
			return nil, nil, badReq("ResourceAlreadyExistsException", "Event bus %s already exists.", n)
		}
		e.buses[n] = &ebBus{name: n, rules: map[string]*ebRule{}}
		return map[string]string{"EventBusArn": "arn:aws:events:" + Region + ":" + Account + ":event-bus/" + n}, nil, nil
	case "ListEventBuses":
		var out []map[string]string
		for _, b := range e.buses {
			out = append(out, map[string]string{"Name": b.name, "Arn": "arn:aws:events:" + Region + ":" + Account + ":event-bus/" + b.name})
		}
		sort.Slice(out, func(i, j int) bool { return out[i]["Name"] < out[j]["Name"] })
		return map[string]any{"EventBuses": out}, nil, nil
	case "PutRule":
		b, err := bus()
		if err != nil {
			return nil, nil, err
		}
		raw := str1(in, "EventPattern")
		var pat map[string]any
		if raw != "" {
			if err := json.Unmarshal([]byte(raw), &pat); err != nil {
				return nil, nil, badReq("InvalidEventPatternException", "Event pattern is not valid. Reason: %v", err)
			}
			if err := validatePattern(pat); err != nil {
				return nil, nil, badReq("InvalidEventPatternException", "Event pattern is not valid. Reason: %v", err)
			}
		}
		n := str1(in, "Name")
		r, ok := b.rules[n]
		if !ok {
			r = &ebRule{name: n, targets: map[string]string{}}
			b.rules[n] = r
		}
		r.pattern, r.raw, r.state = pat, raw, "ENABLED"
		if s := str1(in, "State"); s != "" {
			r.state = s
		}
		return map[string]string{"RuleArn": "arn:aws:events:" + Region + ":" + Account + ":rule/" + b.name + "/" + n}, nil, nil
	case "ListRules":
		b, err := bus()
		if err != nil {
			return nil, nil, err
		}
		var out []map[string]string
		for _, r := range b.rules {
			out = append(out, map[string]string{"Name": r.name, "EventPattern": r.raw, "State": r.state, "EventBusName": b.name})
		}
		sort.Slice(out, func(i, j int) bool { return out[i]["Name"] < out[j]["Name"] })
		return map[string]any{"Rules": out}, nil, nil
	case "PutTargets":
		b, err := bus()
		if err != nil {
			return nil, nil, err
		}
		r, ok := b.rules[str1(in, "Rule")]
		if !ok {
			return nil, nil, badReq("ResourceNotFoundException", "Rule %s does not exist on EventBus %s.", str1(in, "Rule"), b.name)
		}
		var targets []struct {
			Id, Arn          string
			DeadLetterConfig *struct{ Arn string }
		}
		_ = json.Unmarshal(in["Targets"], &targets)
		for _, t := range targets {
			r.targets[t.Id] = t.Arn
			if t.DeadLetterConfig != nil && t.DeadLetterConfig.Arn != "" {
				if r.dlqs == nil {
					r.dlqs = map[string]string{}
				}
				r.dlqs[t.Id] = t.DeadLetterConfig.Arn
			}
		}
		return map[string]any{"FailedEntryCount": 0, "FailedEntries": []any{}}, nil, nil
	case "ListTargetsByRule":
		b, err := bus()
		if err != nil {
			return nil, nil, err
		}
		r, ok := b.rules[str1(in, "Rule")]
		if !ok {
			return nil, nil, badReq("ResourceNotFoundException", "Rule does not exist.")
		}
		var out []map[string]any
		for id, arn := range r.targets {
			t := map[string]any{"Id": id, "Arn": arn}
			if d := r.dlqs[id]; d != "" {
				t["DeadLetterConfig"] = map[string]string{"Arn": d}
			}
			out = append(out, t)
		}
		return map[string]any{"Targets": out}, nil, nil
	case "PutEvents":
		var entries []struct {
			Source, DetailType, Detail, EventBusName, TraceHeader string
			Resources                                             []string
			Time                                                  *float64
		}
		_ = json.Unmarshal(in["Entries"], &entries)
		if len(entries) == 0 || len(entries) > 10 {
			return nil, nil, badReq("ValidationException", "1 to 10 entries are required")
		}
		var results []map[string]string
		failed := 0
		var out []delivery
		for _, en := range entries {
			b, ok := e.buses[busName(en.EventBusName)]
			if !ok || en.Source == "" || en.DetailType == "" || !json.Valid([]byte(en.Detail)) {
				failed++
				results = append(results, map[string]string{"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed or the bus does not exist."})
				continue
			}
			id := newRequestID()
			at := e.s.now().UTC()
			if en.Time != nil {
				at = time.Unix(int64(*en.Time), 0).UTC()
			}
			res := en.Resources
			if res == nil {
				res = []string{}
			}
			env := ebEnvelope{Version: "0", ID: id, DetailType: en.DetailType, Source: en.Source, Account: Account,
				Time: at.Format("2006-01-02T15:04:05Z"), Region: Region, Resources: res, Detail: json.RawMessage(en.Detail)}
			envBytes, _ := json.Marshal(env)
			var doc map[string]any
			_ = json.Unmarshal(envBytes, &doc)
			names := make([]string, 0, len(b.rules))
			for n := range b.rules {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				r := b.rules[n]
				if r.state != "ENABLED" || r.pattern == nil || !matchPattern(r.pattern, doc) {
					continue
				}
				ids := make([]string, 0, len(r.targets))
				for tid := range r.targets {
					ids = append(ids, tid)
				}
				sort.Strings(ids)
				for _, tid := range ids {
					out = append(out, delivery{arn: r.targets[tid], body: string(envBytes), trace: en.TraceHeader, rule: ruleARN(b.name, r.name), dlq: r.dlqs[tid]})
				}
			}
			results = append(results, map[string]string{"EventId": id})
		}
		return map[string]any{"FailedEntryCount": failed, "Entries": results}, out, nil
	}
	return nil, nil, badReq("UnknownOperationException", "sandbox: EventBridge %s is not emulated", op)
}

// deliverTo hands a body to a target by ARN: an SQS queue, an SNS topic or a
// Lambda function (asynchronously).
func (s *Server) deliverTo(arn, body string, attrs map[string]sqsAttr, trace string) {
	switch {
	case strings.HasPrefix(arn, "arn:aws:sqs:"):
		_, _ = s.sqs().deliver(arn, body, attrs, trace, "", "")
	case strings.HasPrefix(arn, "arn:aws:sns:"):
		_, _ = s.sns().publish(arn, body, "", nil, trace)
	case strings.HasPrefix(arn, "arn:aws:lambda:"):
		parts := strings.Split(arn, ":")
		if len(parts) >= 7 {
			_ = s.lambda().invokeAsync(parts[6], []byte(body))
		}
	}
}

// ---- event patterns ----

func validatePattern(p map[string]any) error {
	for k, v := range p {
		switch x := v.(type) {
		case map[string]any:
			if err := validatePattern(x); err != nil {
				return err
			}
		case []any:
		default:
			return fmt.Errorf("%q must be an object or an array", k)
		}
	}
	return nil
}

// matchPattern reports whether doc matches an EventBridge event pattern:
// arrays of alternatives (exact values), and the operators prefix, suffix,
// anything-but (value, list or prefix), exists and numeric, on nested fields.
func matchPattern(p map[string]any, doc map[string]any) bool {
	for k, want := range p {
		have, present := doc[k]
		switch w := want.(type) {
		case map[string]any:
			sub, ok := have.(map[string]any)
			if !ok || !matchPattern(w, sub) {
				return false
			}
		case []any:
			if !matchValues(w, have, present) {
				return false
			}
		}
	}
	return true
}

func matchValues(alts []any, have any, present bool) bool {
	vals := []any{have}
	if arr, ok := have.([]any); ok {
		vals = arr // an array field matches if any element matches
	}
	for _, alt := range alts {
		for _, v := range vals {
			if matchOne(alt, v, present) {
				return true
			}
		}
		if len(vals) == 0 && matchOne(alt, nil, present) {
			return true
		}
	}
	return false
}

func matchOne(alt, v any, present bool) bool {
	op, ok := alt.(map[string]any)
	if !ok {
		return present && fmt.Sprint(alt) == fmt.Sprint(v) && sameKind(alt, v)
	}
	for name, arg := range op {
		switch name {
		case "prefix":
			s, ok := v.(string)
			return ok && strings.HasPrefix(s, fmt.Sprint(arg))
		case "suffix":
			s, ok := v.(string)
			return ok && strings.HasSuffix(s, fmt.Sprint(arg))
		case "exists":
			want, _ := arg.(bool)
			return present == want
		case "anything-but":
			if !present {
				return false
			}
			switch a := arg.(type) {
			case []any:
				for _, x := range a {
					if fmt.Sprint(x) == fmt.Sprint(v) {
						return false
					}
				}
				return true
			case map[string]any:
				if pre, ok := a["prefix"]; ok {
					s, _ := v.(string)
					return !strings.HasPrefix(s, fmt.Sprint(pre))
				}
				return true
			default:
				return fmt.Sprint(a) != fmt.Sprint(v)
			}
		case "numeric":
			f, ok := v.(float64)
			conds, _ := arg.([]any)
			if !ok {
				return false
			}
			for i := 0; i+1 < len(conds); i += 2 {
				opName := fmt.Sprint(conds[i])
				n, err := strconv.ParseFloat(fmt.Sprint(conds[i+1]), 64)
				if err != nil {
					return false
				}
				switch opName {
				case "=":
					ok = ok && f == n
				case ">":
					ok = ok && f > n
				case ">=":
					ok = ok && f >= n
				case "<":
					ok = ok && f < n
				case "<=":
					ok = ok && f <= n
				default:
					return false
				}
			}
			return ok
		case "equals-ignore-case":
			s, ok := v.(string)
			return ok && strings.EqualFold(s, fmt.Sprint(arg))
		}
	}
	return false
}

func sameKind(a, b any) bool {
	switch a.(type) {
	case string:
		_, ok := b.(string)
		return ok
	case float64:
		_, ok := b.(float64)
		return ok
	case bool:
		_, ok := b.(bool)
		return ok
	case nil:
		return b == nil
	}
	return false
}
