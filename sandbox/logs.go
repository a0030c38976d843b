package sandbox

import (
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
	"unicode/utf8"

	"github.com/aws/smithy-go/eventstream"
)

// logsService emulates CloudWatch Logs (awsJson1_1, Logs_20140328.*).
type logsService struct {
	s *Server

	mu      sync.Mutex
	groups  map[string]*logGroup
	seq     uint64
	queries map[string]*logsQuery
	noTail  bool
	// retention is how many events a group keeps (Options.LogRetention).
	retention int
}

type logEvent struct {
	stream   string
	ts       int64 // ms
	ingested int64
	message  string
	id       string
	seq      uint64
}

type logGroup struct {
	name    string
	account string // the owner: Account, or a source account (oam.go)
	created int64
	streams map[string]int64 // stream → creation time
	events  []logEvent       // sorted by (ts, seq)
	trimmed int              // events dropped from the front (Options.LogRetention); tokens count them
}

type logsQuery struct {
	status  string
	results [][]map[string]string
	scanned int
}

func newLogsService(s *Server, retention int) *logsService {
	if retention <= 0 {
		retention = 100_000
	}
	return &logsService{s: s, groups: map[string]*logGroup{}, queries: map[string]*logsQuery{}, retention: retention}
}

func (*logsService) name() string { return "logs" }

func (*logsService) operation(r *http.Request, _ []byte) string {
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
	return op
}

func (*logsService) writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSONError(w, status, code, message)
}

// DisableLiveTail makes StartLiveTail answer as not supported, as some
// CloudWatch-compatible endpoints do, so collectors can prove their fallback.
func (s *Server) DisableLiveTail(off bool) {
	l := s.logs()
	l.mu.Lock()
	l.noTail = off
	l.mu.Unlock()
}

type apiErr struct {
	status        int
	code, message string
}

func (e *apiErr) Error() string { return e.code + ": " + e.message }

// apiErrOf is err as the JSON-protocol error the sandbox answers with;
// anything else is an internal error rather than a panic.
func apiErrOf(err error) *apiErr {
	var ae *apiErr
	if errors.As(err, &ae) {
		return ae
	}
	return &apiErr{status: http.StatusInternalServerError, code: "InternalFailure", message: err.Error()}
}

// asAPIErr is err as the service error it carries, or an internal failure
// when it carries none (a bug of the sandbox, answered, not a panic).
func asAPIErr(err error) *apiErr {
	var ae *apiErr
	if errors.As(err, &ae) {
		return ae
	}
	return &apiErr{status: http.StatusInternalServerError, code: "InternalFailure", message: err.Error()}
}

func badReq(code, format string, args ...any) *apiErr {
	return &apiErr{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

func (l *logsService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
	var in map[string]json.RawMessage
	if len(body) > 0 && json.Unmarshal(body, &in) != nil {
		l.writeError(w, http.StatusBadRequest, "SerializationException", "request body is not JSON")
		return
	}
	if op == "StartLiveTail" {
		l.mu.Lock()
		off := l.noTail
		l.mu.Unlock()
		if off {
			l.writeError(w, http.StatusBadRequest, "UnknownOperationException", "StartLiveTail is not supported by this endpoint")
			return
		}
		l.liveTail(w, r, in, callerAccount(r))
		return
	}
	l.mu.Lock()
	out, err := l.call(op, in, callerAccount(r))
	l.mu.Unlock()
	if err != nil {
		var e *apiErr
		if errors.As(err, &e) {
			l.writeError(w, e.status, e.code, e.message)
			return
		}
		l.writeError(w, http.StatusInternalServerError, "ServiceUnavailableException", err.Error())
		return
	}
	if out == nil {
		out = struct{}{}
	}
	writeJSON(w, "", out)
}

func groupFromIdentifier(id string) string {
	// arn:aws:logs:region:account:log-group:NAME[:*]
	if i := strings.Index(id, ":log-group:"); i >= 0 {
		return strings.TrimSuffix(id[i+len(":log-group:"):], ":*")
	}
	return id
}

// groupKey is a group's key in l.groups: its name in the sandbox's own
// account, "account:name" in another (a name never holds a colon).
func groupKey(account, name string) string {
	if account == Account || account == "" {
		return name
	}
	return account + ":" + name
}

// groupByID finds the group a logGroupIdentifier names for caller: a name
// in caller's own account, or an ARN, which a monitoring account may point
// at a linked source account's group (oam.go).
func (l *logsService) groupByID(id, caller string) (*logGroup, error) {
	owner, name := caller, id
	if strings.HasPrefix(id, "arn:") {
		if strings.HasSuffix(id, "*") {
			return nil, badReq("InvalidParameterException", "log group ARN %s must not end with *", id)
		}
		parts := strings.SplitN(id, ":", 6)
		if len(parts) < 6 {
			return nil, badReq("InvalidParameterException", "%s is not a log group ARN", id)
		}
		owner, name = parts[4], groupFromIdentifier(id)
		if !l.s.oam().sees(caller, owner, OAMLogGroups) {
			return nil, badReq("ResourceNotFoundException", "The specified log group does not exist.")
		}
	}
	g, ok := l.groups[groupKey(owner, name)]
	if !ok {
		return nil, badReq("ResourceNotFoundException", "The specified log group does not exist.")
	}
	return g, nil
}

func (l *logsService) group(in map[string]json.RawMessage, caller string) (*logGroup, error) {
	name, id := str1(in, "logGroupName"), str1(in, "logGroupIdentifier")
	if name != "" && id != "" {
		return nil, badReq("InvalidParameterException", "LogGroupName and LogGroupIdentifier are mutually exclusive")
	}
	if name == "" {
		name = id
	}
	return l.groupByID(name, caller)
}

// arn is the group's ARN without the trailing ":*".
func (g *logGroup) arn(region string) string {
	acct := g.account
	if acct == "" {
		acct = Account
	}
	return "arn:aws:logs:" + region + ":" + acct + ":log-group:" + g.name
}

func (l *logsService) call(op string, in map[string]json.RawMessage, caller string) (any, error) {
	now := l.s.now().UnixMilli()
	group := func(in map[string]json.RawMessage) (*logGroup, error) { return l.group(in, caller) }
	switch op {
	case "CreateLogGroup":
		name := str1(in, "logGroupName")
		if name == "" {
			return nil, badReq("InvalidParameterException", "logGroupName is required")
		}
		if _, ok := l.groups[groupKey(caller, name)]; ok {
			return nil, badReq("ResourceAlreadyExistsException", "The specified log group already exists")
		}
		l.groups[groupKey(caller, name)] = &logGroup{name: name, account: caller, created: now, streams: map[string]int64{}}
		return nil, nil
	case "CreateLogStream":
		g, err := group(in)
		if err != nil {
			return nil, err
		}
		s := str1(in, "logStreamName")
		if _, ok := g.streams[s]; ok {
			return nil, badReq("ResourceAlreadyExistsException", "The specified log stream already exists")
		}
		g.streams[s] = now
		return nil, nil
	case "PutLogEvents":
		g, err := group(in)
		if err != nil {
			return nil, err
		}
		s := str1(in, "logStreamName")
		if _, ok := g.streams[s]; !ok {
			return nil, badReq("ResourceNotFoundException", "The specified log stream does not exist.")
		}
		var evs []struct {
			Timestamp int64  `json:"timestamp"`
			Message   string `json:"message"`
		}
		_ = json.Unmarshal(in["logEvents"], &evs)
		if len(evs) > 10000 {
			return nil, badReq("InvalidParameterException", "too many log events in one batch")
		}
		for _, e := range evs {
			l.seq++
			ev := logEvent{stream: s, ts: e.Timestamp, ingested: now, message: e.Message, seq: l.seq}
			ev.id = fmt.Sprintf("%056d", l.seq)
			i := len(g.events)
			for i > 0 && g.events[i-1].ts > ev.ts {
				i--
			}
			g.events = append(g.events, logEvent{})
			copy(g.events[i+1:], g.events[i:])
			g.events[i] = ev
		}
		if over := len(g.events) - l.retention; over > 0 {
			g.events = append(g.events[:0], g.events[over:]...)
			g.trimmed += over
		}
		return map[string]any{"nextSequenceToken": strconv.FormatUint(l.seq, 10)}, nil
	case "DescribeLogGroups":
		prefix := str1(in, "logGroupNamePrefix")
		pattern := str1(in, "logGroupNamePattern")
		if prefix != "" && pattern != "" {
			return nil, badReq("InvalidParameterException", "logGroupNamePrefix and logGroupNamePattern are mutually exclusive")
		}
		owners, err := l.describeOwners(in, caller)
		if err != nil {
			return nil, err
		}
		var list []*logGroup
		for _, g := range l.groups {
			if owners[g.owner()] && strings.HasPrefix(g.name, prefix) && strings.Contains(g.name, pattern) {
				list = append(list, g)
			}
		}
		// ASCII-sorted by name; the same name in two accounts by account.
		sort.Slice(list, func(i, j int) bool {
			if list[i].name != list[j].name {
				return list[i].name < list[j].name
			}
			return list[i].owner() < list[j].owner()
		})
		start, _ := strconv.Atoi(str1(in, "nextToken"))
		limit := int1(in, "limit", 50)
		out := map[string]any{}
		var groups []map[string]any
		for i := start; i < len(list) && len(groups) < limit; i++ {
			g := list[i]
			groups = append(groups, map[string]any{
				"logGroupName": g.name, "creationTime": g.created, "storedBytes": 0,
				"arn": g.arn(l.s.region) + ":*", "logGroupArn": g.arn(l.s.region),
			})
		}
		out["logGroups"] = groups
		if start+len(groups) < len(list) {
			out["nextToken"] = strconv.Itoa(start + len(groups))
		}
		return out, nil
	case "DescribeLogStreams":
		g, err := group(in)
		if err != nil {
			return nil, err
		}
		var streams []map[string]any
		names := make([]string, 0, len(g.streams))
		for s := range g.streams {
			if strings.HasPrefix(s, str1(in, "logStreamNamePrefix")) {
				names = append(names, s)
			}
		}
		sort.Strings(names)
		for _, s := range names {
			streams = append(streams, map[string]any{"logStreamName": s, "creationTime": g.streams[s]})
		}
		return map[string]any{"logStreams": streams}, nil
	case "GetLogEvents":
		g, err := group(in)
		if err != nil {
			return nil, err
		}
		stream := str1(in, "logStreamName")
		var evs []map[string]any
		for _, e := range g.events {
			if e.stream == stream {
				evs = append(evs, map[string]any{"timestamp": e.ts, "message": e.message, "ingestionTime": e.ingested})
			}
		}
		return map[string]any{"events": evs, "nextForwardToken": "f/end", "nextBackwardToken": "b/start"}, nil
	case "FilterLogEvents":
		return l.filter(in, caller)
	case "StartQuery":
		return l.startQuery(in, caller)
	case "GetQueryResults":
		q, ok := l.queries[str1(in, "queryId")]
		if !ok {
			return nil, badReq("ResourceNotFoundException", "query not found")
		}
		res := [][]map[string]string{}
		res = append(res, q.results...)
		return map[string]any{"status": q.status, "results": res, "statistics": map[string]any{"recordsMatched": float64(len(q.results)), "recordsScanned": float64(q.scanned), "bytesScanned": 0}}, nil
	case "StopQuery":
		return map[string]any{"success": true}, nil
	}
	return nil, badReq("UnknownOperationException", "sandbox: CloudWatch Logs %s is not emulated", op)
}

func (l *logsService) filter(in map[string]json.RawMessage, caller string) (any, error) {
	g, err := l.group(in, caller)
	if err != nil {
		return nil, err
	}
	pat, err := parseFilterPattern(str1(in, "filterPattern"))
	if err != nil {
		return nil, badReq("InvalidParameterException", "Invalid filter pattern: %v", err)
	}
	var streams []string
	_ = json.Unmarshal(in["logStreamNames"], &streams)
	prefix := str1(in, "logStreamNamePrefix")
	start := int64(0)
	if _, ok := in["startTime"]; ok {
		start = int64(int1(in, "startTime", 0))
		_ = json.Unmarshal(in["startTime"], &start)
	}
	end := int64(1 << 62)
	if _, ok := in["endTime"]; ok {
		_ = json.Unmarshal(in["endTime"], &end)
	}
	limit := int1(in, "limit", 10000)
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	// The token is the position in the group's ordered events to resume from.
	from := sort.Search(len(g.events), func(i int) bool { return g.events[i].ts >= start })
	if tok := str1(in, "nextToken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "p/"))
		if err != nil {
			return nil, badReq("InvalidParameterException", "The specified nextToken is invalid.")
		}
		from = max(from, n-g.trimmed)
	}
	var evs []map[string]any
	i := from
	scanned := 0
	for ; i < len(g.events) && len(evs) < limit && scanned < 20000; i++ {
		e := g.events[i]
		scanned++
		if e.ts > end {
			i = len(g.events)
			break
		}
		if len(streams) > 0 && !contains(streams, e.stream) || prefix != "" && !strings.HasPrefix(e.stream, prefix) {
			continue
		}
		if !pat.match(e.message) {
			continue
		}
		evs = append(evs, map[string]any{"logStreamName": e.stream, "timestamp": e.ts, "message": e.message, "ingestionTime": e.ingested, "eventId": e.id})
	}
	out := map[string]any{"events": evs, "searchedLogStreams": []any{}}
	if evs == nil {
		out["events"] = []any{}
	}
	if i < len(g.events) && g.events[i].ts <= end {
		out["nextToken"] = "p/" + strconv.Itoa(i+g.trimmed)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ---- filter patterns ----

// filterPattern is a parsed CloudWatch Logs filter pattern: plain terms (all
// must appear), ?terms (at least one must), -terms (none may), quoted phrases,
// or a JSON pattern { $.field op value && … }.
type filterPattern struct {
	all, any, none []string
	json           *jsonExpr
}

type jsonExpr struct {
	op          string // "&&", "||", or a comparison
	left, right *jsonExpr
	path        string
	value       string
	quoted      bool
}

func parseFilterPattern(p string) (filterPattern, error) {
	p = strings.TrimSpace(p)
	var fp filterPattern
	if p == "" {
		return fp, nil
	}
	if strings.HasPrefix(p, "{") {
		if !strings.HasSuffix(p, "}") {
			return fp, fmt.Errorf("JSON pattern must end with }")
		}
		e, err := parseJSONExpr(strings.TrimSpace(p[1 : len(p)-1]))
		if err != nil {
			return fp, err
		}
		fp.json = e
		return fp, nil
	}
	for _, tok := range splitTerms(p) {
		switch {
		case strings.HasPrefix(tok, "?"):
			fp.any = append(fp.any, unquote(tok[1:]))
		case strings.HasPrefix(tok, "-"):
			fp.none = append(fp.none, unquote(tok[1:]))
		default:
			fp.all = append(fp.all, unquote(tok))
		}
	}
	return fp, nil
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// splitTerms splits on spaces outside double quotes.
func splitTerms(p string) []string {
	var out []string
	var cur strings.Builder
	inQ := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '"':
			inQ = !inQ
			cur.WriteByte(c)
		case c == ' ' && !inQ:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

var jsonCmp = regexp.MustCompile(`^\$((?:\.[A-Za-z0-9_\-]+|\[\d+\])+)\s*(=|!=|>=|<=|>|<)\s*(.+)$`)

func parseJSONExpr(s string) (*jsonExpr, error) {
	s = strings.TrimSpace(s)
	for _, op := range []string{"||", "&&"} {
		if i := strings.LastIndex(s, op); i > 0 {
			l, err := parseJSONExpr(s[:i])
			if err != nil {
				return nil, err
			}
			r, err := parseJSONExpr(s[i+2:])
			if err != nil {
				return nil, err
			}
			return &jsonExpr{op: op, left: l, right: r}, nil
		}
	}
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		return parseJSONExpr(s[1 : len(s)-1])
	}
	m := jsonCmp.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("cannot read %q: want $.field = value", s)
	}
	v := strings.TrimSpace(m[3])
	e := &jsonExpr{op: m[2], path: m[1], value: v}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		e.value, e.quoted = v[1:len(v)-1], true
	}
	return e, nil
}

func (fp filterPattern) match(msg string) bool {
	if fp.json != nil {
		var doc any
		if json.Unmarshal([]byte(msg), &doc) != nil {
			return false
		}
		return fp.json.eval(doc)
	}
	for _, t := range fp.all {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	if len(fp.any) > 0 {
		found := false
		for _, t := range fp.any {
			if strings.Contains(msg, t) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	for _, t := range fp.none {
		if strings.Contains(msg, t) {
			return false
		}
	}
	return true
}

var pathPart = regexp.MustCompile(`\.([A-Za-z0-9_\-]+)|\[(\d+)\]`)

func (e *jsonExpr) eval(doc any) bool {
	switch e.op {
	case "&&":
		return e.left.eval(doc) && e.right.eval(doc)
	case "||":
		return e.left.eval(doc) || e.right.eval(doc)
	}
	cur := doc
	for _, m := range pathPart.FindAllStringSubmatch(e.path, -1) {
		if m[1] != "" {
			obj, ok := cur.(map[string]any)
			if !ok {
				return false
			}
			cur = obj[m[1]]
		} else {
			arr, ok := cur.([]any)
			n, _ := strconv.Atoi(m[2])
			if !ok || n >= len(arr) {
				return false
			}
			cur = arr[n]
		}
	}
	switch v := cur.(type) {
	case float64:
		want, err := strconv.ParseFloat(e.value, 64)
		if err != nil {
			return e.op == "!="
		}
		switch e.op {
		case "=":
			return v == want
		case "!=":
			return v != want
		case ">":
			return v > want
		case "<":
			return v < want
		case ">=":
			return v >= want
		case "<=":
			return v <= want
		}
	case string:
		ok := v == e.value
		if strings.HasSuffix(e.value, "*") {
			ok = strings.HasPrefix(v, strings.TrimSuffix(e.value, "*"))
		}
		if e.op == "=" {
			return ok
		}
		if e.op == "!=" {
			return !ok
		}
	case bool:
		b := strconv.FormatBool(v) == e.value
		return (e.op == "=") == b
	case nil:
		if e.value == "NULL" {
			return e.op == "="
		}
		return e.op == "!=" && cur != nil
	}
	return false
}

// ---- Logs Insights (the simple queries flowtop sends) ----

var (
	insightsFilter = regexp.MustCompile(`filter\s+@message\s+like\s+(/([^/]*)/|"([^"]*)")`)
	insightsLimit  = regexp.MustCompile(`limit\s+(\d+)`)
)

func (l *logsService) startQuery(in map[string]json.RawMessage, caller string) (any, error) {
	qs := str1(in, "queryString")
	var names []string
	_ = json.Unmarshal(in["logGroupNames"], &names)
	var ids []string
	_ = json.Unmarshal(in["logGroupIdentifiers"], &ids)
	one := str1(in, "logGroupName")
	// Exactly one of logGroupName, logGroupNames and logGroupIdentifiers.
	given := 0
	for _, set := range []bool{len(names) > 0, len(ids) > 0, one != ""} {
		if set {
			given++
		}
	}
	if given != 1 {
		return nil, badReq("InvalidParameterException", "specify exactly one of logGroupName, logGroupNames or logGroupIdentifiers")
	}
	if len(names) > 50 || len(ids) > 50 {
		return nil, badReq("InvalidParameterException", "a query takes up to 50 log groups")
	}
	if one != "" {
		names = []string{one}
	}
	for _, n := range names {
		if strings.HasPrefix(n, "arn:") {
			return nil, badReq("InvalidParameterException", "logGroupNames takes names; use logGroupIdentifiers for ARNs")
		}
	}
	names = append(names, ids...)
	var start, end int64
	_ = json.Unmarshal(in["startTime"], &start)
	_ = json.Unmarshal(in["endTime"], &end)
	var needle func(string) bool
	if m := insightsFilter.FindStringSubmatch(qs); m != nil {
		pat := m[2]
		if m[3] != "" || m[2] == "" {
			pat = regexp.QuoteMeta(m[3])
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, badReq("MalformedQueryException", "bad regular expression: %v", err)
		}
		needle = re.MatchString
		if lits, ok := literalAlternation(pat); ok {
			needle = containsAny(lits)
		}
	} else if strings.Contains(qs, "filter") {
		return nil, badReq("MalformedQueryException", "sandbox: only `filter @message like /…/` is supported")
	}
	limit := 1000
	if m := insightsLimit.FindStringSubmatch(qs); m != nil {
		limit, _ = strconv.Atoi(m[1])
	}
	q := &logsQuery{status: "Complete"}
	for _, n := range names {
		g, err := l.groupByID(n, caller)
		if err != nil {
			if apiErrOf(err).code != "ResourceNotFoundException" {
				return nil, err
			}
			return nil, badReq("ResourceNotFoundException", "Log group %s does not exist", n)
		}
		for _, e := range g.events {
			if e.ts/1000 < start || (end > 0 && e.ts/1000 > end) {
				continue
			}
			q.scanned++
			if needle != nil && !needle(e.message) {
				continue
			}
			q.results = append(q.results, []map[string]string{
				{"field": "@timestamp", "value": time.UnixMilli(e.ts).UTC().Format("2006-01-02 15:04:05.000")},
				{"field": "@message", "value": e.message},
				{"field": "@logStream", "value": e.stream},
				{"field": "@log", "value": g.owner() + ":" + g.name},
				{"field": "@ptr", "value": g.name + "|" + e.id},
			})
		}
	}
	sort.SliceStable(q.results, func(i, j int) bool { return q.results[i][0]["value"] > q.results[j][0]["value"] })
	if len(q.results) > limit {
		q.results = q.results[:limit]
	}
	l.seq++
	id := fmt.Sprintf("q-%d", l.seq)
	l.queries[id] = q
	return map[string]string{"queryId": id}, nil
}

// literalAlternation reads a pattern that is only literals joined by |,
// with metacharacters escaped (what flowtop's search sends: one quoted term
// per key), and returns the literals. Matching those with strings.Contains
// answers as the regular expression would, several times faster: a history
// search against a busy world otherwise spends its time bound in here.
func literalAlternation(pat string) ([]string, bool) {
	var lits []string
	var b strings.Builder
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\':
			if i+1 >= len(pat) {
				return nil, false
			}
			n := pat[i+1]
			if n >= utf8.RuneSelf || !strings.ContainsRune(`\.+*?()|[]{}^$/-#&~ ,:;<=>!"'%@_`+"`", rune(n)) {
				return nil, false // \d, \w, \b …: not a literal
			}
			b.WriteByte(n)
			i++
		case c == '|':
			if b.Len() == 0 {
				return nil, false // an empty alternative matches everything
			}
			lits = append(lits, b.String())
			b.Reset()
		case strings.IndexByte(`.+*?()[]{}^$`, c) >= 0:
			return nil, false
		default:
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return nil, false
	}
	return append(lits, b.String()), true
}

// containsAny matches a line holding any of lits.
func containsAny(lits []string) func(string) bool {
	return func(s string) bool {
		for _, l := range lits {
			if strings.Contains(s, l) {
				return true
			}
		}
		return false
	}
}

// liveTail answers StartLiveTail with the event stream the SDK reads: an
// initial-response, a sessionStart, then every second a sessionUpdate with the
// new events of the requested groups that match the optional filter pattern
// (at most 500 a second: above that AWS samples, and so do we, saying so).
// It ends when the client goes away, the server closes, or after 3 hours.
func (l *logsService) liveTail(w http.ResponseWriter, r *http.Request, in map[string]json.RawMessage, caller string) {
	var ids []string
	_ = json.Unmarshal(in["logGroupIdentifiers"], &ids)
	if len(ids) == 0 || len(ids) > 10 {
		l.writeError(w, http.StatusBadRequest, "InvalidParameterException", "logGroupIdentifiers must name 1 to 10 log groups")
		return
	}
	pat, err := parseFilterPattern(str1(in, "logEventFilterPattern"))
	if err != nil {
		l.writeError(w, http.StatusBadRequest, "InvalidParameterException", "Invalid filter pattern: "+err.Error())
		return
	}
	l.mu.Lock()
	cursor := map[*logGroup]uint64{}
	for _, id := range ids {
		g, err := l.groupByID(id, caller)
		if err != nil {
			l.mu.Unlock()
			l.writeError(w, http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist: "+id)
			return
		}
		cursor[g] = l.seq
	}
	l.mu.Unlock()
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	enc := eventstream.NewEncoder()
	send := func(eventType string, payload any) bool {
		b, _ := json.Marshal(payload)
		var h eventstream.Headers
		h.Set(":message-type", eventstream.StringValue("event"))
		h.Set(":event-type", eventstream.StringValue(eventType))
		h.Set(":content-type", eventstream.StringValue("application/json"))
		if err := enc.Encode(w, eventstream.Message{Headers: h, Payload: b}); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	if !send("initial-response", map[string]any{}) ||
		!send("sessionStart", map[string]any{"requestId": newRequestID(), "sessionId": newRequestID(), "logGroupIdentifiers": ids, "logEventFilterPattern": str1(in, "logEventFilterPattern")}) {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.After(3 * time.Hour)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-l.s.Context().Done():
			return
		case <-end:
			return
		case <-tick.C:
		}
		var results []map[string]any
		l.mu.Lock()
		for g, from := range cursor {
			for _, e := range g.events {
				if e.seq > from && pat.match(e.message) {
					results = append(results, map[string]any{
						"logStreamName": e.stream, "logGroupIdentifier": g.arn(l.s.region),
						"message": e.message, "timestamp": e.ts, "ingestionTime": e.ingested,
					})
				}
			}
			cursor[g] = l.seq
		}
		l.mu.Unlock()
		sampled := false
		if len(results) > 500 {
			results, sampled = results[:500], true
		}
		if results == nil {
			results = []map[string]any{}
		}
		if !send("sessionUpdate", map[string]any{"sessionMetadata": map[string]any{"sampled": sampled}, "sessionResults": results}) {
			return
		}
	}
}
