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
	arc   archives // archives and replays (archive.go)
}

type ebBus struct {
	name        string
	description string
	created     time.Time
	rules       map[string]*ebRule
}

type ebRule struct {
	name        string
	description string
	pattern     map[string]any
	raw         string
	state       string
	targets     map[string]*ebTarget // by Id
}

// ebTarget is a rule target as PutTargets takes it and ListTargetsByRule
// returns it: optional fields stay absent when they were not set.
type ebTarget struct {
	Id               string
	Arn              string
	RoleArn          string              `json:",omitempty"`
	Input            string              `json:",omitempty"`
	InputPath        string              `json:",omitempty"`
	InputTransformer *ebInputTransformer `json:",omitempty"`
	DeadLetterConfig *struct {
		Arn string `json:",omitempty"`
	} `json:",omitempty"`
	RetryPolicy *struct {
		MaximumRetryAttempts     *int `json:",omitempty"`
		MaximumEventAgeInSeconds *int `json:",omitempty"`
	} `json:",omitempty"`
	SqsParameters *struct {
		MessageGroupId string `json:",omitempty"`
	} `json:",omitempty"`
}

type ebInputTransformer struct {
	InputPathsMap map[string]string `json:",omitempty"`
	InputTemplate string
}

func newEventsService(s *Server) *eventsService {
	return &eventsService{s: s, buses: map[string]*ebBus{"default": {name: "default", created: s.now(), rules: map[string]*ebRule{}}}}
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
		ae := apiErrOf(err)
		e.writeError(w, ae.status, ae.code, ae.message)
		return
	}
	for _, d := range deliveries {
		e.deliver(d)
	}
	writeJSON(w, "", out)
}

// delivery is one event routed to one target.
type delivery struct {
	arn, body, trace, group string
	rule, ruleArn           string
	dlq                     string // the target's DeadLetterConfig Arn
}

// deliver hands an event to its target, or to the target's dead-letter
// queue when the target cannot take it (ebdlq.go).
func (e *eventsService) deliver(d delivery) { e.s.deliverOrDeadLetter(d) }

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
		if n == "" || len(n) > 256 {
			return nil, nil, badReq("ValidationException", "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length between 1 and 256")
		}
		if _, ok := e.buses[n]; ok {
			return nil, nil, badReq("ResourceAlreadyExistsException", "Event bus %s already exists.", n)
		}
		e.buses[n] = &ebBus{name: n, description: str1(in, "Description"), created: e.s.now(), rules: map[string]*ebRule{}}
		return map[string]string{"EventBusArn": busARN(n)}, nil, nil
	case "ListEventBuses":
		names := make([]string, 0, len(e.buses))
		for n := range e.buses {
			if strings.HasPrefix(n, str1(in, "NamePrefix")) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		from, to, next, err := ebPage(in, len(names))
		if err != nil {
			return nil, nil, err
		}
		out := []map[string]any{}
		for _, n := range names[from:to] {
			b := e.buses[n]
			bus := map[string]any{"Name": b.name, "Arn": busARN(b.name), "CreationTime": epoch(b.created), "LastModifiedTime": epoch(b.created)}
			if b.description != "" {
				bus["Description"] = b.description
			}
			out = append(out, bus)
		}
		return withToken(map[string]any{"EventBuses": out}, next), nil, nil
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
			r = &ebRule{name: n, targets: map[string]*ebTarget{}}
			b.rules[n] = r
		}
		r.pattern, r.raw, r.state, r.description = pat, raw, "ENABLED", str1(in, "Description")
		if s := str1(in, "State"); s != "" {
			r.state = s
		}
		return map[string]string{"RuleArn": ruleARN(b.name, n)}, nil, nil
	case "ListRules":
		b, err := bus()
		if err != nil {
			return nil, nil, err
		}
		names := make([]string, 0, len(b.rules))
		for n := range b.rules {
			if strings.HasPrefix(n, str1(in, "NamePrefix")) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		from, to, next, err := ebPage(in, len(names))
		if err != nil {
			return nil, nil, err
		}
		out := []map[string]string{}
		for _, n := range names[from:to] {
			r := b.rules[n]
			rule := map[string]string{"Name": r.name, "Arn": ruleARN(b.name, r.name), "State": r.state, "EventBusName": b.name}
			if r.raw != "" {
				rule["EventPattern"] = r.raw
			}
			if r.description != "" {
				rule["Description"] = r.description
			}
			out = append(out, rule)
		}
		return withToken(map[string]any{"Rules": out}, next), nil, nil
	case "PutTargets":
		b, err := bus()
		if err != nil {
			return nil, nil, err
		}
		r, ok := b.rules[str1(in, "Rule")]
		if !ok {
			return nil, nil, badReq("ResourceNotFoundException", "Rule %s does not exist on EventBus %s.", str1(in, "Rule"), b.name)
		}
		var targets []ebTarget
		if err := json.Unmarshal(in["Targets"], &targets); err != nil || len(targets) == 0 || len(targets) > 10 {
			return nil, nil, badReq("ValidationException", "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10")
		}
		failed := []map[string]string{}
		for _, t := range targets {
			switch _, have := r.targets[t.Id]; {
			case t.Id == "" || t.Arn == "":
				failed = append(failed, map[string]string{"TargetId": t.Id, "ErrorCode": "ValidationException", "ErrorMessage": "Id and Arn are required."})
			case !have && len(r.targets) >= 5:
				return nil, nil, badReq("LimitExceededException", "The requested resource exceeds the maximum number allowed.")
			default:
				r.targets[t.Id] = &t
			}
		}
		return map[string]any{"FailedEntryCount": len(failed), "FailedEntries": failed}, nil, nil
	case "ListTargetsByRule":
		b, err := bus()
		if err != nil {
			return nil, nil, err
		}
		r, ok := b.rules[str1(in, "Rule")]
		if !ok {
			return nil, nil, badReq("ResourceNotFoundException", "Rule %s does not exist on EventBus %s.", str1(in, "Rule"), b.name)
		}
		ids := make([]string, 0, len(r.targets))
		for id := range r.targets {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		from, to, next, err := ebPage(in, len(ids))
		if err != nil {
			return nil, nil, err
		}
		out := []*ebTarget{}
		for _, id := range ids[from:to] {
			out = append(out, r.targets[id])
		}
		return withToken(map[string]any{"Targets": out}, next), nil, nil
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
			env := ebEnvelope{
				Version: "0", ID: id, DetailType: en.DetailType, Source: en.Source, Account: Account,
				Time: at.Format("2006-01-02T15:04:05Z"), Region: e.s.region, Resources: res, Detail: json.RawMessage(en.Detail),
			}
			envBytes, _ := json.Marshal(env)
			var doc map[string]any
			_ = json.Unmarshal(envBytes, &doc)
			e.archiveEvent(b.name, at, env, doc, len(envBytes))
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
					out = append(out, r.targets[tid].delivery(b.name, r.name, envBytes, doc, en.TraceHeader))
				}
			}
			results = append(results, map[string]string{"EventId": id})
		}
		return map[string]any{"FailedEntryCount": failed, "Entries": results}, out, nil
	}
	if out, handled, err := e.archiveCall(op, in); handled {
		return out, nil, err
	}
	return nil, nil, badReq("UnknownOperationException", "sandbox: EventBridge %s is not emulated", op)
}

// deliverTo hands a body to a target by ARN: an SQS queue, an SNS topic or a
// Lambda function (asynchronously). group is the FIFO MessageGroupId, if any.
// It reports why the target could not take the body.
func (s *Server) deliverTo(arn, body string, attrs map[string]sqsAttr, trace, group string) error {
	switch {
	case strings.HasPrefix(arn, "arn:aws:sqs:"):
		_, err := s.sqs().deliver(arn, body, attrs, trace, group, "")
		return err
	case strings.HasPrefix(arn, "arn:aws:sns:"):
		_, err := s.sns().publish(arn, body, "", nil, trace)
		return err
	case strings.HasPrefix(arn, "arn:aws:lambda:"):
		parts := strings.Split(arn, ":")
		if len(parts) >= 7 {
			return s.lambda().invokeAsync(parts[6], []byte(body))
		}
		return badReq("ResourceNotFoundException", "not a function ARN: %s", arn)
	case strings.HasPrefix(arn, "arn:aws:events:"):
		return nil // another bus: cross-bus delivery is not emulated
	}
	return badReq("ResourceNotFoundException", "the sandbox cannot deliver to %s", arn)
}

func busARN(name string) string {
	return "arn:aws:events:" + Region + ":" + Account + ":event-bus/" + name
}

// ruleARN is a rule's ARN: rules on the default bus omit the bus name.
func ruleARN(bus, rule string) string {
	if bus == "default" {
		return "arn:aws:events:" + Region + ":" + Account + ":rule/" + rule
	}
	return "arn:aws:events:" + Region + ":" + Account + ":rule/" + bus + "/" + rule
}

// epoch is a timestamp as awsJson1_1 sends it: seconds since the epoch.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// ebPage cuts one page of n sorted items by the request's Limit (1–100,
// default 100) and NextToken, as EventBridge's List* calls do.
func ebPage(in map[string]json.RawMessage, n int) (from, to int, next string, err error) {
	limit := int1(in, "Limit", 100)
	if limit < 1 || limit > 100 {
		return 0, 0, "", badReq("ValidationException", "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100", limit)
	}
	if tok := str1(in, "NextToken"); tok != "" {
		from, err = strconv.Atoi(strings.TrimPrefix(tok, "ebpage-"))
		if err != nil || !strings.HasPrefix(tok, "ebpage-") || from < 0 || from > n {
			return 0, 0, "", badReq("InvalidToken", "The NextToken provided is not valid.")
		}
	}
	to = min(from+limit, n)
	if to < n {
		next = "ebpage-" + strconv.Itoa(to)
	}
	return from, to, next, nil
}

func withToken(out map[string]any, next string) map[string]any {
	if next != "" {
		out["NextToken"] = next
	}
	return out
}

// delivery prepares what a target receives: the whole event, or Input,
// InputPath or the InputTransformer's output, as EventBridge does.
func (t *ebTarget) delivery(bus, rule string, env []byte, doc map[string]any, trace string) delivery {
	d := delivery{arn: t.Arn, body: string(env), trace: trace, rule: rule, ruleArn: ruleARN(bus, rule)}
	switch {
	case t.Input != "":
		d.body = t.Input
	case t.InputPath != "":
		if v, ok := jsonPath(doc, t.InputPath); ok {
			b, _ := json.Marshal(v)
			d.body = string(b)
		}
	case t.InputTransformer != nil:
		d.body = transform(t.InputTransformer, doc, rule, env)
	}
	if t.DeadLetterConfig != nil {
		d.dlq = t.DeadLetterConfig.Arn
	}
	if t.SqsParameters != nil {
		d.group = t.SqsParameters.MessageGroupId
	}
	return d
}

// jsonPath reads a simple JSONPath ($.a.b) from doc.
func jsonPath(doc map[string]any, path string) (any, bool) {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "$"), ".")
	var cur any = doc
	if path == "" {
		return cur, true
	}
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// transform fills an InputTemplate: <name> becomes the value its InputPathsMap
// path selects (a string's text, or another value's JSON), and the reserved
// <aws.events.rule-name> and <aws.events.event.json> are filled too.
func transform(tr *ebInputTransformer, doc map[string]any, rule string, env []byte) string {
	out := tr.InputTemplate
	for name, path := range tr.InputPathsMap {
		v, ok := jsonPath(doc, path)
		text := ""
		if s, isStr := v.(string); isStr {
			text = s
		} else if ok {
			b, _ := json.Marshal(v)
			text = string(b)
		}
		out = strings.ReplaceAll(out, "<"+name+">", text)
	}
	out = strings.ReplaceAll(out, "<aws.events.rule-name>", rule)
	return strings.ReplaceAll(out, "<aws.events.event.json>", string(env))
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
