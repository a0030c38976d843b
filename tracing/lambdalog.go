package tracing

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// LogInput is one CloudWatch Logs event from a Lambda function's log group.
type LogInput struct {
	Group    string // /aws/lambda/<function> or a custom group
	Stream   string
	Function string // the function name, when known; else taken from Group
	Time     time.Time
	EventID  string
	Message  string
}

// LogOptions configures [ParseLambdaLog].
type LogOptions struct {
	// CorrelationFields are app-log JSON fields (or dotted paths) whose values
	// identify events, such as order_id; each becomes a KeyCorrelation key.
	CorrelationFields []string
	// CloudEventIDFields are further app-log JSON fields (or dotted paths)
	// whose values are CloudEvents ids, beyond ce_id, ce-id and ceId.
	CloudEventIDFields []string
}

// maxLogLine bounds what ParseLambdaLog interprets; CloudWatch caps events at 256 KiB.
const maxLogLine = 256 << 10

// ParseLambdaLog classifies one Lambda log line, text or JSON format, and
// returns it as an observation with Source left for the collector to set.
//
// Ordinary lines give Kind ObsLog with Log set. REPORT lines and
// platform.report events give Kind ObsInvocation with both Invocation and Log
// set. Keys: the request ID, the X-Ray trace ID, Powertools correlation_id and
// the configured correlation fields, and an SQS message ID when an app JSON
// line names one (messageId, message_id). A line that can't be parsed is kept
// as LogUnparsed with the reason; it is never dropped and never panics.
func ParseLambdaLog(in LogInput, opts LogOptions) Observation {
	fn := in.Function
	if fn == "" {
		fn = strings.TrimPrefix(in.Group, "/aws/lambda/")
	}
	rec := &LogRecord{Time: in.Time, Group: in.Group, Stream: in.Stream, EventID: in.EventID, Message: in.Message}
	obs := Observation{Kind: ObsLog, Time: in.Time, Component: Component{Kind: ComponentFunction, Name: fn}, Log: rec}
	msg := in.Message
	if len(msg) > maxLogLine {
		rec.Kind = LogUnparsed
		rec.Reason = "line longer than 256 KiB: kept, not interpreted"
		return obs
	}
	if !utf8.ValidString(msg) {
		msg = strings.ToValidUTF8(msg, "\uFFFD")
	}
	trimmed := strings.TrimSpace(msg)
	p := logParser{obs: &obs, rec: rec, fn: fn, opts: opts}
	if strings.HasPrefix(trimmed, "{") {
		p.json(trimmed)
	} else {
		p.text(trimmed)
	}
	p.finish()
	return obs
}

type logParser struct {
	published []Key // keys the line says the invocation published
	// pubCE is the CloudEvent a published_event_id named (see
	// eventFields), for its evidence; zero when none did.
	pubCE Key
	obs   *Observation
	rec   *LogRecord
	fn    string
	opts  LogOptions
}

func (p *logParser) key(kind KeyKind, value string) {
	if value == "" {
		return
	}
	k := Key{Kind: kind, Value: value}
	for _, have := range p.obs.Keys {
		if have == k {
			return
		}
	}
	p.obs.Keys = append(p.obs.Keys, k)
}

func (p *logParser) finish() {
	if p.rec.RequestID != "" {
		p.key(KeyRequestID, p.rec.RequestID)
	}
	if p.rec.TraceID.IsValid() {
		p.key(KeyTraceID, p.rec.TraceID.String())
		if p.rec.RequestID != "" && (p.rec.Kind == LogReport || p.rec.Kind == LogXRay) {
			p.obs.Relations = append(p.obs.Relations, Relation{
				From: Key{Kind: KeyTraceID, Value: p.rec.TraceID.String()}, To: Key{Kind: KeyRequestID, Value: p.rec.RequestID},
				Kind: RelContains, Evidence: "XRAY TraceId on the REPORT line",
			})
		}
	}
	for _, k := range p.published {
		if p.rec.RequestID != "" {
			p.obs.Relations = append(p.obs.Relations, Relation{
				From: Key{Kind: KeyRequestID, Value: p.rec.RequestID}, To: k,
				Kind: RelPublished, Evidence: publishedEvidenceOf(k, p.pubCE),
			})
		}
	}
	if inv := p.obs.Invocation; inv != nil {
		inv.Function = p.fn
		inv.RequestID = p.rec.RequestID
		inv.TraceID = p.rec.TraceID
		p.obs.Kind = ObsInvocation
	}
}

// ---- text format ----

// platformPrefixes are the text-format platform lines, longest first where one prefixes another.
var platformPrefixes = []struct {
	prefix string
	kind   LogKind
}{
	{"START RequestId:", LogStart},
	{"END RequestId:", LogEnd},
	{"REPORT ", LogReport},
	{"INIT_START", LogInitStart},
	{"INIT_REPORT", LogInitReport},
	{"INIT_RUNTIME_DONE", LogPlatform},
	{"RESTORE_START", LogRestore},
	{"RESTORE_REPORT", LogRestore},
	{"RESTORE_RUNTIME_DONE", LogRestore},
	{"EXTENSION", LogPlatform},
	{"TELEMETRY", LogPlatform},
	{"XRAY TraceId:", LogXRay},
}

func (p *logParser) text(line string) {
	for _, pp := range platformPrefixes {
		if strings.HasPrefix(line, pp.prefix) {
			p.rec.Kind = pp.kind
			p.platformText(line, pp.kind)
			return
		}
	}
	p.rec.Kind = LogApp
	// Node.js / Python / Java layouts: "<ts>\t<request id>\t<LEVEL>\t<msg>",
	// "[LEVEL]\t<ts>\t<request id>\t<msg>", "<ts> <request id> Task timed out after …".
	fields := strings.FieldsFunc(firstLine(line), func(r rune) bool { return r == '\t' })
	if len(fields) == 1 {
		fields = strings.SplitN(fields[0], " ", 4)
	}
	for i, f := range fields {
		if i > 3 {
			break
		}
		f = strings.TrimSpace(f)
		switch {
		case isRequestID(f) && p.rec.RequestID == "":
			p.rec.RequestID = f
		case p.rec.Level == "" && isLevel(strings.Trim(f, "[]")):
			p.rec.Level = strings.Trim(f, "[]")
		}
	}
	if i := strings.Index(line, "Task timed out after"); i >= 0 {
		p.rec.Kind = LogTimeout
		p.rec.Level = "ERROR"
	}
	if i := strings.Index(line, "{"); i > 0 && strings.HasSuffix(strings.TrimSpace(line), "}") {
		// An app line whose message is JSON: pick up its IDs.
		if obj, ok := jsonObject([]byte(line[i:])); ok {
			p.appFields(obj)
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func isLevel(s string) bool {
	switch strings.ToUpper(s) {
	case "TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "CRITICAL":
		return s == strings.ToUpper(s)
	}
	return false
}

// isRequestID reports whether s looks like a Lambda request ID (a UUID, or the
// 32-hex form some runtimes print).
func isRequestID(s string) bool {
	switch len(s) {
	case 36:
		for i := 0; i < 36; i++ {
			c := s[i]
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if c != '-' {
					return false
				}
			} else if !isHex(c) {
				return false
			}
		}
		return true
	case 32:
		for i := 0; i < 32; i++ {
			if !isHex(s[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// textFields splits "Key: value" pairs separated by tabs, newlines or runs of spaces.
func textFields(line string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.FieldsFunc(line, func(r rune) bool { return r == '\t' || r == '\n' || r == '\r' }) {
		// Space-separated REPORT lines: split before each known key.
		for _, seg := range splitKnownKeys(part) {
			k, v, ok := strings.Cut(seg, ":")
			if !ok {
				continue
			}
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

var reportKeys = []string{
	"RequestId:", "Version:", "Duration:", "Billed Duration:", "Memory Size:", "Max Memory Used:",
	"Init Duration:", "Restore Duration:", "Billed Restore Duration:", "Status:", "Error Type:",
	"Phase:", "Runtime Version:", "Runtime Version ARN:", "TraceId:", "SegmentId:", "Sampled:",
}

// splitKnownKeys splits s at each known "Key:" so lines joined by spaces parse.
func splitKnownKeys(s string) []string {
	var cuts []int
	for _, k := range reportKeys {
		for from := 0; ; {
			i := strings.Index(s[from:], k)
			if i < 0 {
				break
			}
			at := from + i
			// A match inside a longer key ("Duration:" in "Billed Duration:") is not a cut.
			if at == 0 || s[at-1] == ' ' {
				if !(k == "Duration:" && (strings.HasSuffix(s[:at], "Billed ") || strings.HasSuffix(s[:at], "Init ") || strings.HasSuffix(s[:at], "Restore "))) &&
					!(k == "Restore Duration:" && strings.HasSuffix(s[:at], "Billed ")) &&
					!(k == "Version:" && strings.HasSuffix(s[:at], "Runtime ")) {
					cuts = append(cuts, at)
				}
			}
			from = at + len(k)
		}
	}
	if len(cuts) == 0 {
		return []string{s}
	}
	sort.Ints(cuts)
	var out []string
	if cuts[0] > 0 {
		out = append(out, s[:cuts[0]])
	}
	for i, c := range cuts {
		end := len(s)
		if i+1 < len(cuts) {
			end = cuts[i+1]
		}
		if c < end {
			out = append(out, strings.TrimSpace(s[c:end]))
		}
	}
	return out
}

func (p *logParser) platformText(line string, kind LogKind) {
	if strings.Contains(line, `\t`) {
		// Some forwarders escape the tabs twice; the fields are the same.
		line = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(line)
	}
	f := textFields(line)
	if id := f["RequestId"]; id != "" {
		id, _, _ = strings.Cut(id, " ")
		p.rec.RequestID = id
	}
	if tid := f["TraceId"]; tid != "" {
		if t, err := ParseTraceID(tid); err == nil {
			p.rec.TraceID = t
		}
	}
	switch kind {
	case LogReport:
		inv := &Invocation{Status: InvocationSuccess}
		var bad []string
		get := func(name string) time.Duration {
			v, ok := f[name]
			if !ok {
				return 0
			}
			num, _, _ := strings.Cut(strings.TrimSpace(v), " ")
			d, ok := parseMillis(num)
			if !ok {
				bad = append(bad, name)
			}
			return d
		}
		inv.Duration = get("Duration")
		inv.BilledDuration = get("Billed Duration")
		inv.InitDuration = get("Init Duration")
		inv.RestoreDuration = get("Restore Duration")
		inv.BilledRestoreDuration = get("Billed Restore Duration")
		inv.MemorySizeMB = parseMB(f["Memory Size"])
		inv.MaxMemoryUsedMB = parseMB(f["Max Memory Used"])
		switch strings.ToLower(f["Status"]) {
		case "timeout":
			inv.Status = InvocationTimeout
		case "error":
			inv.Status = InvocationError
		case "failure":
			inv.Status = InvocationFailure
		}
		inv.ErrorType = f["Error Type"]
		if sid := f["SegmentId"]; sid != "" {
			if id, err := ParseSpanID(sid); err == nil {
				inv.SegmentID = id
			}
		}
		if p.rec.RequestID == "" {
			p.rec.Kind = LogUnparsed
			p.rec.Reason = "REPORT line without a RequestId"
			return
		}
		if _, ok := f["Duration"]; !ok {
			bad = append(bad, "Duration (missing)")
		}
		if len(bad) > 0 {
			p.rec.Reason = "unreadable fields: " + strings.Join(bad, ", ")
		}
		p.obs.Invocation = inv
	case LogInitReport:
		if strings.EqualFold(f["Status"], "error") || strings.EqualFold(f["Status"], "timeout") {
			p.rec.Level = "ERROR"
		}
	}
}

// parseMB reads "128 MB".
func parseMB(s string) int {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// parseMillis reads a decimal number of milliseconds ("619.31", "3003",
// "1.4e3") exactly to the nanosecond where the digits allow.
func parseMillis(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1e12 {
			return 0, false
		}
		return time.Duration(f * float64(time.Millisecond)), true
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	w, err := strconv.ParseUint(whole, 10, 40)
	if err != nil {
		return 0, false
	}
	var ns uint64
	scale := uint64(100_000) // the first fractional digit is 100 µs
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		ns += uint64(c-'0') * scale
		scale /= 10
	}
	return time.Duration(w)*time.Millisecond + time.Duration(ns), true
}

// ---- JSON format ----

func (p *logParser) json(line string) {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		p.rec.Kind = LogUnparsed
		p.rec.Reason = "invalid JSON: " + err.Error()
		return
	}
	typ := strField(obj, "type")
	if rec, ok := obj["record"]; ok && strings.HasPrefix(typ, "platform.") {
		p.platformJSON(typ, rec)
		return
	}
	p.rec.Kind = LogApp
	p.appFields(obj)
}

func (p *logParser) platformJSON(typ string, record any) {
	rec, _ := record.(map[string]any)
	switch typ {
	case "platform.start":
		p.rec.Kind = LogStart
	case "platform.runtimeDone":
		p.rec.Kind = LogEnd
		if s := strField(rec, "status"); s != "" && s != "success" {
			p.rec.Level = "ERROR"
		}
	case "platform.report":
		p.rec.Kind = LogReport
	case "platform.initStart":
		p.rec.Kind = LogInitStart
	case "platform.initReport", "platform.initRuntimeDone":
		p.rec.Kind = LogInitReport
	case "platform.restoreStart", "platform.restoreReport", "platform.restoreRuntimeDone":
		p.rec.Kind = LogRestore
	default:
		p.rec.Kind = LogPlatform
	}
	if rec == nil {
		if p.rec.Kind == LogReport {
			p.rec.Kind = LogUnparsed
			p.rec.Reason = "platform.report without a record object"
		}
		return
	}
	p.rec.RequestID = strField(rec, "requestId")
	if tr, ok := rec["tracing"].(map[string]any); ok {
		if v := strField(tr, "value"); v != "" {
			if h, err := ParseXRayHeader(v); err == nil {
				p.rec.TraceID = h.Root
			}
		}
	}
	if p.rec.Kind != LogReport {
		return
	}
	if p.rec.RequestID == "" {
		p.rec.Kind = LogUnparsed
		p.rec.Reason = "platform.report without a requestId"
		return
	}
	inv := &Invocation{Status: InvocationSuccess}
	m, _ := rec["metrics"].(map[string]any)
	num := func(name string) (time.Duration, bool) {
		v, ok := m[name]
		if !ok {
			return 0, false
		}
		return parseMillis(str(v))
	}
	var ok bool
	if inv.Duration, ok = num("durationMs"); !ok {
		p.rec.Reason = "platform.report without metrics.durationMs"
	}
	inv.BilledDuration, _ = num("billedDurationMs")
	inv.InitDuration, _ = num("initDurationMs")
	inv.RestoreDuration, _ = num("restoreDurationMs")
	inv.BilledRestoreDuration, _ = num("billedRestoreDurationMs")
	inv.MemorySizeMB = atoiAny(m["memorySizeMB"])
	inv.MaxMemoryUsedMB = atoiAny(m["maxMemoryUsedMB"])
	switch strField(rec, "status") {
	case "timeout":
		inv.Status = InvocationTimeout
	case "error":
		inv.Status = InvocationError
	case "failure":
		inv.Status = InvocationFailure
	}
	inv.ErrorType = strField(rec, "errorType")
	if tr, ok := rec["tracing"].(map[string]any); ok {
		if sid := strField(tr, "spanId"); sid != "" {
			if id, err := ParseSpanID(sid); err == nil {
				inv.SegmentID = id
			}
		}
	}
	p.obs.Invocation = inv
}

func atoiAny(v any) int {
	s := str(v)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// appFields reads the IDs an application JSON log line carries.
func (p *logParser) appFields(obj map[string]any) {
	if lvl := strField(obj, "level", "levelname", "severity", "log.level"); lvl != "" && len(lvl) <= 16 {
		p.rec.Level = strings.ToUpper(lvl)
	}
	if id := strField(obj, "requestId", "function_request_id", "AWSrequestId", "AWSRequestId", "requestID", "aws_request_id", "request_id"); id != "" && len(id) <= 128 {
		p.rec.RequestID = id
	}
	if t := strField(obj, "xray_trace_id", "traceId", "trace_id", "XRayTraceId"); t != "" {
		if tid, err := ParseTraceID(t); err == nil {
			p.rec.TraceID = tid
		} else if h, err := ParseXRayHeader(t); err == nil {
			p.rec.TraceID = h.Root
		}
	}
	if c := strField(obj, "correlation_id", "correlationId"); c != "" && len(c) <= 256 {
		p.key(KeyCorrelation, "correlation_id="+c)
	}
	for _, name := range p.opts.CorrelationFields {
		if v := str(lookupPath(obj, name)); v != "" && len(v) <= 256 {
			p.key(KeyCorrelation, name+"="+v)
		}
	}
	if id := strField(obj, "messageId", "message_id", "sqs_message_id"); id != "" && len(id) <= 128 {
		p.key(KeyMessageID, id)
	}
	p.eventFields(obj)
	p.apiFields(obj) // apigw.go
	// Powertools puts structured data under "message" as an object, or as a JSON string.
	switch m := obj["message"].(type) {
	case map[string]any:
		p.appFieldsNested(m)
	case string:
		if strings.HasPrefix(strings.TrimSpace(m), "{") {
			if inner, ok := jsonObject([]byte(m)); ok {
				p.appFieldsNested(inner)
			}
		}
	}
}

// appFieldsNested reads IDs one level down, without overriding what the outer line said.
func (p *logParser) appFieldsNested(obj map[string]any) {
	if p.rec.RequestID == "" {
		if id := strField(obj, "requestId", "function_request_id", "AWSrequestId"); id != "" && len(id) <= 128 {
			p.rec.RequestID = id
		}
	}
	if id := strField(obj, "messageId", "message_id"); id != "" && len(id) <= 128 {
		p.key(KeyMessageID, id)
	}
	p.eventFields(obj)
	for _, name := range p.opts.CorrelationFields {
		if v := str(lookupPath(obj, name)); v != "" && len(v) <= 256 {
			p.key(KeyCorrelation, name+"="+v)
		}
	}
}

// eventFields reads event IDs from an app JSON line. Field names say the
// direction: eventId or event_id is an event the invocation handled (an
// EventBridge id or a CloudEvents id: the graph joins it to whichever it
// names; with replay_name beside it, that archive replay of the event), ce_id, ce-id, ceId and the configured CloudEventIDFields are
// CloudEvents ids, and published_event_id, published_message_id (and their
// camelCase forms) are what the invocation published, which become
// RelPublished relations from the request once the request ID is known. A
// published_event_id is the id of a CloudEvent, not of an EventBridge
// event, when the line says it published a CloudEvent (ce_type, ce_source
// or ce_specversion beside it) and names no other CloudEvents id: it is
// then keyed as that CloudEvent ([CloudEventKey], with the logged
// ce_source, or the id alone, which the graph joins to the one CloudEvent
// with that id). The event type, when the line names it (detail-type,
// event_type, ce_type, …), is kept in LogRecord.EventType.
func (p *logParser) eventFields(obj map[string]any) {
	if id := strField(obj, "eventId", "event_id"); id != "" && len(id) <= 128 {
		if name := strField(obj, "replay_name", "replay-name", "replayName"); name != "" && len(name) <= 64 {
			// An EventBridge archive replay of the event: its own event,
			// linked to the original, as its envelope would say (envelope.go).
			rk := Key{Kind: KeyEventID, Value: ReplayEventID(id, name)}
			p.key(rk.Kind, rk.Value)
			p.obs.Relations = append(p.obs.Relations, Relation{From: rk, To: Key{Kind: KeyEventID, Value: id}, Kind: RelReplayOf, Evidence: "replay_name in the consumer's log"})
		} else {
			p.key(KeyEventID, id)
		}
	}
	source := strField(obj, "ce_source", "ce-source", "ceSource")
	if len(source) > 256 {
		source = ""
	}
	if id := strField(obj, "ce_id", "ce-id", "ceId", "cloudevent_id", "cloudEventId"); id != "" && len(id) <= 128 {
		p.ceKey(source, id)
	}
	for _, name := range p.opts.CloudEventIDFields {
		if id := str(lookupPath(obj, name)); id != "" && len(id) <= 128 {
			p.ceKey(source, id)
		}
	}
	pub := func(kind KeyKind, names ...string) {
		if id := strField(obj, names...); id != "" && len(id) <= 128 {
			k := Key{Kind: kind, Value: id}
			if kind == KeyCloudEventID {
				k = CloudEventKey(source, id)
			}
			if !slices.Contains(p.published, k) {
				p.published = append(p.published, k)
			}
		}
	}
	if id := strField(obj, "published_event_id", "publishedEventId"); id != "" && len(id) <= 128 && publishesCloudEvent(obj, id) {
		p.pubCE = CloudEventKey(source, id)
		p.published = append(p.published, p.pubCE)
	} else {
		pub(KeyEventID, "published_event_id", "publishedEventId")
	}
	pub(KeyMessageID, "published_message_id", "publishedMessageId", "sent_message_id", "sentMessageId")
	pub(KeySNSMessageID, "published_sns_message_id", "publishedSnsMessageId")
	pub(KeyCloudEventID, "published_ce_id", "publishedCeId", "published_cloudevent_id")
	p.kinesis(obj)
	if t := strField(obj, "detail-type", "detail_type", "detailType", "event_type", "eventType", "ce_type", "ce-type", "ceType"); t != "" && len(t) <= 128 && p.rec.EventType == "" {
		p.rec.EventType = t
	}
}

// ceKey adds a CloudEvents key; without a logged source it is the id alone
// (source ""), which the graph joins to the one CloudEvent with that id.
func (p *logParser) ceKey(source, id string) {
	k := CloudEventKey(source, id)
	for _, have := range p.obs.Keys {
		if have == k {
			return
		}
	}
	p.obs.Keys = append(p.obs.Keys, k)
}

// publishesCloudEvent reports whether a line's published_event_id (id) is
// a CloudEvent's: the line carries a CloudEvents attribute (its type, source
// or spec version), and any CloudEvents id it names is id itself. A line
// naming another CloudEvents id beside it published an EventBridge event
// carrying that CloudEvent, and id is the EventBridge event's.
func publishesCloudEvent(obj map[string]any, id string) bool {
	if strField(obj, "ce_type", "ce-type", "ceType", "ce_source", "ce-source", "ceSource", "ce_specversion", "ce-specversion", "ceSpecversion") == "" {
		return false
	}
	for _, other := range []string{
		strField(obj, "ce_id", "ce-id", "ceId", "cloudevent_id", "cloudEventId"),
		strField(obj, "published_ce_id", "publishedCeId", "published_cloudevent_id"),
	} {
		if other != "" && other != id {
			return false
		}
	}
	return true
}

// publishedEvidenceOf names the field a RelPublished to k came from.
func publishedEvidenceOf(k, pubCE Key) string {
	if k == pubCE {
		return "published_event_id of a CloudEvent in the producer's log"
	}
	return publishedEvidence[k.Kind]
}

// publishedEvidence names the field a RelPublished came from, per key kind.
var publishedEvidence = map[KeyKind]string{
	KeyEventID:      "published_event_id in the producer's log",
	KeyMessageID:    "published_message_id in the producer's log",
	KeySNSMessageID: "published_sns_message_id in the producer's log",
	KeyCloudEventID: "published_ce_id in the producer's log",
}
