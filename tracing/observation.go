package tracing

import (
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// KeyKind says what an identifier names. The graph merges events by keys; the
// kind decides how strongly a key identifies one event (see graph's package doc).
type KeyKind uint8

// Key kinds. Strong kinds name exactly one event hop; weak kinds (trace, request,
// correlation) may be shared by several events and never collapse them.
const (
	KeyUnknown          KeyKind = iota
	KeyEventID                  // EventBridge event id (the envelope "id").
	KeyCloudEventID             // CloudEvents source + "\n" + id; see [CloudEventKey].
	KeyMessageID                // SQS MessageId (also kept by the DLQ copy).
	KeySNSMessageID             // SNS notification MessageId.
	KeyS3Object                 // S3 bucket + "/" + key + "@" + sequencer.
	KeyRequestID                // Lambda request ID (one invocation).
	KeyTraceID                  // W3C form of an X-Ray or OTel trace ID.
	KeySpanID                   // trace ID + "/" + span ID; see [SpanKey].
	KeyCorrelation              // a configured correlation field: name + "=" + value.
	KeyLogEventID               // CloudWatch Logs event ID (for dedupe only).
	KeyKinesisRecord            // Kinesis record: stream + "/" + shard ID + ":" + sequence number; see [KinesisRecordKey].
	KeyExecution                // Step Functions execution ARN.
	KeyAPIRequest               // API Gateway request ID ($context.requestId); weak: one request may publish several events (see graph/api.go).
	KeyExecutionAttempt         // One attempt of a Step Functions execution: ARN + "#" + redrive count; see [ExecutionAttemptKey].
	keyKindCount
)

var keyKindNames = [...]string{
	KeyUnknown:          "unknown",
	KeyEventID:          "event",
	KeyCloudEventID:     "cloudevent",
	KeyMessageID:        "message",
	KeySNSMessageID:     "sns",
	KeyS3Object:         "s3",
	KeyRequestID:        "request",
	KeyTraceID:          "trace",
	KeySpanID:           "span",
	KeyCorrelation:      "correlation",
	KeyLogEventID:       "logevent",
	KeyKinesisRecord:    "kinesis",
	KeyExecution:        "execution",
	KeyAPIRequest:       "apirequest",
	KeyExecutionAttempt: "attempt",
}

// String returns a short lowercase name, as shown in the UI and in JSON output.
func (k KeyKind) String() string {
	if int(k) < len(keyKindNames) {
		return keyKindNames[k]
	}
	return "unknown"
}

// Strong reports whether a key of this kind names one event and so may merge
// the events that carry it.
func (k KeyKind) Strong() bool {
	switch k {
	case KeyEventID, KeyCloudEventID, KeyMessageID, KeySNSMessageID, KeyS3Object, KeyKinesisRecord, KeyExecutionAttempt:
		return true
	}
	return false
}

// Key is one identifier of an event, a hop or an invocation.
type Key struct {
	Kind  KeyKind
	Value string
}

// IsZero reports whether k is the zero key.
func (k Key) IsZero() bool { return k.Value == "" }

// String returns kind:value.
func (k Key) String() string { return k.Kind.String() + ":" + k.Value }

// DisplayID is the ID users see for the key: a CloudEvent's id without its
// source, else the value.
func (k Key) DisplayID() string {
	if k.Kind == KeyCloudEventID {
		if _, id, ok := strings.Cut(k.Value, "\n"); ok {
			return id
		}
	}
	return k.Value
}

// CloudEventKey builds the key of a CloudEvent, which the spec identifies by
// source and id together.
func CloudEventKey(source, id string) Key {
	return Key{Kind: KeyCloudEventID, Value: source + "\n" + id}
}

// KinesisRecordKey builds the key of one Kinesis record, which the stream
// identifies by shard and sequence number together.
func KinesisRecordKey(stream, shardID, sequence string) Key {
	return Key{Kind: KeyKinesisRecord, Value: stream + "/" + shardID + ":" + sequence}
}

// ExecutionAttemptKey builds the key of one attempt of a Step Functions
// execution: the first run is attempt 0, each RedriveExecution the next. An
// attempt handles one input, so the key is strong; a redriven attempt is an
// event of its own, linked to the one before ([RelRedriveOf]).
func ExecutionAttemptKey(executionARN string, redriveCount int) Key {
	return Key{Kind: KeyExecutionAttempt, Value: executionARN + "#" + strconv.Itoa(redriveCount)}
}

// SpanKey builds the key of one span.
func SpanKey(t TraceID, s SpanID) Key {
	return Key{Kind: KeySpanID, Value: t.String() + "/" + s.String()}
}

// RelKind says how two keys are related.
type RelKind uint8

// Relation kinds. From and To are read as "From <kind> To".
const (
	RelUnknown      RelKind = iota
	RelCarries              // From (an envelope: SQS or SNS message) carries To (the event inside): same event, next hop.
	RelConsumed             // From (an invocation or consumer span) consumed To (a message or event).
	RelPublished            // From (a producer span or invocation) published To (a message or event).
	RelContains             // From (a trace) contains To (an invocation or span).
	RelChildOf              // From (a span) is a child of To (its parent span).
	RelLinks                // From (a span) links to To (another span), as OTel span links do.
	RelDeadLettered         // From (a DLQ message) is the dead-letter copy of To (the source message).
	RelRedriveOf            // From (a message) was redriven from To (the DLQ message).
	RelReplayOf             // From (a message or event) replays To (the original).
	relKindCount
)

var relKindNames = [...]string{
	RelUnknown:      "unknown",
	RelCarries:      "carries",
	RelConsumed:     "consumed",
	RelPublished:    "published",
	RelContains:     "contains",
	RelChildOf:      "child-of",
	RelLinks:        "links",
	RelDeadLettered: "dead-lettered",
	RelRedriveOf:    "redrive-of",
	RelReplayOf:     "replay-of",
}

// String returns a short lowercase name.
func (r RelKind) String() string {
	if int(r) < len(relKindNames) {
		return relKindNames[r]
	}
	return "unknown"
}

// Relation is one fact learned about two keys, with the evidence for it
// (for example "sqs body envelope id", "span link", "AWSTraceHeader").
type Relation struct {
	From, To Key
	Kind     RelKind
	Evidence string
}

// ComponentKind says what kind of thing a component is.
type ComponentKind uint8

// Component kinds.
const (
	ComponentUnknown  ComponentKind = iota
	ComponentFunction               // a Lambda function
	ComponentQueue                  // an SQS queue (a DLQ is a queue)
	ComponentTopic                  // an SNS topic
	ComponentBus                    // an EventBridge event bus
	ComponentService                // an OTel or X-Ray service that is none of the above
	ComponentBucket                 // an S3 bucket
	ComponentAPI                    // an API Gateway API
	ComponentStream                 // a Kinesis data stream
	ComponentWorkflow               // a Step Functions state machine
)

var componentKindNames = [...]string{"unknown", "function", "queue", "topic", "bus", "service", "bucket", "api", "stream", "workflow"}

// String returns a short lowercase name.
func (c ComponentKind) String() string {
	if int(c) < len(componentKindNames) {
		return componentKindNames[c]
	}
	return "unknown"
}

// Component is a producer, broker or consumer: where a hop happened.
type Component struct {
	Kind ComponentKind
	Name string // function, queue, topic or bus name; not an ARN.
	// Account and Region say where the component lives when flowtop watches
	// more than one account or region; "" when it watches one, or when the
	// source did not say.
	Account string
	Region  string
}

// String returns kind/name, followed by @account/region when either is set.
func (c Component) String() string {
	s := c.Kind.String() + "/" + c.Name
	if c.Account != "" || c.Region != "" {
		s += "@" + c.Account + "/" + c.Region
	}
	return s
}

// ObsKind says which payload an [Observation] carries.
type ObsKind uint8

// Observation kinds.
const (
	ObsUnknown    ObsKind = iota
	ObsSpan               // Span is set.
	ObsLog                // Log is set.
	ObsInvocation         // Invocation is set (a REPORT line or platform.report).
	ObsMessage            // Message is set (a broker message: SQS, SNS, EventBridge).
	ObsFunction           // Function is set (configuration, for cost and discovery).
	ObsQueue              // Queue is set (depth and redrive configuration).
	ObsRoute              // Routes is set (the routing configuration; see [RouteSet]).
)

var obsKindNames = [...]string{"unknown", "span", "log", "invocation", "message", "function", "queue", "route"}

// String returns a short lowercase name.
func (o ObsKind) String() string {
	if int(o) < len(obsKindNames) {
		return obsKindNames[o]
	}
	return "unknown"
}

// Observation is one thing a collector saw. Exactly one payload pointer, named
// by Kind, is set. Keys are the identifiers it carries; Relations are what it
// says about how keys connect. Collectors build observations; the graph owns
// them once ingested and never hands them back to be mutated.
type Observation struct {
	Kind      ObsKind
	Source    string    // the collector that saw it: "cwlogs", "xray", "otlp", "dlq", "lambda", "replay".
	Time      time.Time // when it happened (start time for spans and invocations).
	Component Component
	Keys      []Key
	Relations []Relation

	Span       *Span
	Log        *LogRecord
	Invocation *Invocation
	Message    *Message
	Function   *FunctionConfig
	Queue      *QueueInfo
	Routes     *RouteSet
}

// Batch is what a collector hands to the hub at once.
type Batch []Observation

// SpanKind is the OTel span kind.
type SpanKind uint8

// Span kinds, numbered as in OTLP.
const (
	SpanKindUnspecified SpanKind = iota
	SpanKindInternal
	SpanKindServer
	SpanKindClient
	SpanKindProducer
	SpanKindConsumer
)

var spanKindNames = [...]string{"unspecified", "internal", "server", "client", "producer", "consumer"}

// String returns a short lowercase name.
func (k SpanKind) String() string {
	if int(k) < len(spanKindNames) {
		return spanKindNames[k]
	}
	return "unspecified"
}

// StatusCode is a span's outcome.
type StatusCode uint8

// Status codes, numbered as in OTLP.
const (
	StatusUnset StatusCode = iota
	StatusOK
	StatusError
)

// Span is one unit of work from X-Ray (a segment or subsegment) or OTel.
type Span struct {
	TraceID  TraceID
	SpanID   SpanID
	ParentID SpanID // zero for a root span.
	Name     string
	Service  string // OTel resource service.name or X-Ray segment name.
	Kind     SpanKind
	Start    time.Time
	End      time.Time // zero while InProgress.
	Status   StatusCode
	// StatusMessage is the error text or X-Ray cause, if any.
	StatusMessage string
	InProgress    bool
	Links         []Link
	Messaging     Messaging
	// FaaS fields, for spans of a Lambda invocation.
	InvocationID string // faas.invocation_id or the X-Ray aws.request_id.
	ColdStart    bool
	// Attrs keeps a few further attributes for display (http.method, aws.operation, …).
	Attrs map[string]string
	// Events are the span's timed events (OTel span events, X-Ray recorded
	// exceptions), bounded by [Span.AddEvent].
	Events []SpanEvent
}

// SpanEvent is a timed event on a span: an OTel span event, above all an
// exception (name "exception", attributes exception.type, exception.message
// and exception.stacktrace), or an exception an X-Ray segment recorded.
type SpanEvent struct {
	Time  time.Time // zero when the source gave none
	Name  string
	Attrs map[string]string
}

// Limits on a span's events, as the OTel SDK bounds span events: what is
// cut is counted by the collector as truncated, like its other span limits.
const (
	MaxSpanEvents      = 32       // events kept per span
	MaxSpanEventAttrs  = 16       // attributes kept per event
	MaxSpanEventValue  = 4 << 10  // bytes kept of one name or value (a stack trace is cut here)
	MaxSpanEventsBytes = 16 << 10 // bytes of names and values kept over all of a span's events
)

// AddEvent appends ev to the span's events within the limits above: an
// event past MaxSpanEvents is dropped, attributes past MaxSpanEventAttrs
// are dropped and values are cut on a rune boundary to fit the per-value
// and per-span byte limits. It returns how many things it cut or dropped
// (0 when ev was kept whole), for the collector's truncated count. ev.Attrs
// is not kept: the span gets its own map.
func (s *Span) AddEvent(ev SpanEvent) (cut int) {
	if len(s.Events) >= MaxSpanEvents {
		return 1
	}
	used := 0
	for _, e := range s.Events {
		used += len(e.Name)
		for k, v := range e.Attrs {
			used += len(k) + len(v)
		}
	}
	left := MaxSpanEventsBytes - used
	if left <= 0 {
		return 1
	}
	take := func(v string) string {
		n := min(len(v), MaxSpanEventValue, max(left, 0))
		if n < len(v) {
			cut++
			for n > 0 && !utf8.RuneStart(v[n]) {
				n--
			}
			v = v[:n]
		}
		left -= len(v)
		return v
	}
	out := SpanEvent{Time: ev.Time, Name: take(ev.Name)}
	if len(ev.Attrs) > 0 {
		keys := make([]string, 0, len(ev.Attrs))
		for k := range ev.Attrs {
			keys = append(keys, k)
		}
		// Short values first, so a long stack trace is what gets cut, not
		// exception.type; then by name, for a stable cut.
		sort.Slice(keys, func(i, j int) bool {
			a, b := ev.Attrs[keys[i]], ev.Attrs[keys[j]]
			if len(a) != len(b) {
				return len(a) < len(b)
			}
			return keys[i] < keys[j]
		})
		out.Attrs = make(map[string]string, min(len(keys), MaxSpanEventAttrs))
		for i, k := range keys {
			if i >= MaxSpanEventAttrs || left <= 0 {
				cut += len(keys) - i
				break
			}
			out.Attrs[take(k)] = take(ev.Attrs[k])
		}
	}
	s.Events = append(s.Events, out)
	return cut
}

// Duration is End-Start, or zero while the span is in progress.
func (s *Span) Duration() time.Duration {
	if s.InProgress || s.End.IsZero() {
		return 0
	}
	return s.End.Sub(s.Start)
}

// Link is an OTel span link (X-Ray: a link to another trace's segment).
type Link struct {
	TraceID TraceID
	SpanID  SpanID
	Attrs   map[string]string
}

// Messaging holds the OTel messaging semantic-convention attributes of a span.
type Messaging struct {
	System      string // aws_sqs, aws_sns, aws.eventbridge, …
	Operation   string // publish, create, send, receive, process, settle.
	Destination string // queue, topic or bus name.
	MessageID   string // messaging.message.id
	BatchCount  int
}

// LogKind classifies a Lambda log line.
type LogKind uint8

// Log kinds.
const (
	LogUnparsed   LogKind = iota // the line could not be parsed; LogRecord.Reason says why.
	LogApp                       // an application line (text or JSON).
	LogStart                     // START RequestId / platform.start.
	LogEnd                       // END RequestId / platform.runtimeDone.
	LogReport                    // REPORT RequestId / platform.report.
	LogInitStart                 // INIT_START / platform.initStart.
	LogInitReport                // INIT_REPORT / platform.initReport.
	LogRestore                   // RESTORE_START, RESTORE_REPORT / platform.restore*.
	LogTimeout                   // "Task timed out after".
	LogPlatform                  // another platform event, kept but not interpreted.
	LogXRay                      // the XRAY TraceId line.
)

var logKindNames = [...]string{"unparsed", "app", "start", "end", "report", "init-start", "init-report", "restore", "timeout", "platform", "xray"}

// String returns a short lowercase name.
func (k LogKind) String() string {
	if int(k) < len(logKindNames) {
		return logKindNames[k]
	}
	return "unparsed"
}

// LogRecord is one CloudWatch Logs or OTLP log line. Message is kept raw, as
// received; display code must pass it through [Sanitize].
type LogRecord struct {
	Time      time.Time
	Group     string // log group
	Stream    string // log stream
	EventID   string // CloudWatch event ID, for dedupe
	Kind      LogKind
	Level     string // INFO, ERROR, …, when the line says
	RequestID string
	TraceID   TraceID
	Message   string
	// EventType is the event type the line names (detail-type, event_type,
	// ce_type), when it names one.
	EventType string
	// Reason says why a line is LogUnparsed, or why part of it was ignored.
	Reason string
}

// InvocationStatus is how a Lambda invocation ended.
type InvocationStatus uint8

// Invocation statuses.
const (
	InvocationUnknown InvocationStatus = iota
	InvocationSuccess
	InvocationError
	InvocationTimeout
	InvocationFailure // platform failure (e.g. Runtime.ExitError, out of memory)
)

var invocationStatusNames = [...]string{"unknown", "success", "error", "timeout", "failure"}

// String returns a short lowercase name.
func (s InvocationStatus) String() string {
	if int(s) < len(invocationStatusNames) {
		return invocationStatusNames[s]
	}
	return "unknown"
}

// Invocation is one Lambda invocation's REPORT (text or platform.report).
// Durations are kept at the resolution the log gives (µs for JSON, 10 µs for text).
type Invocation struct {
	Function              string
	RequestID             string
	Duration              time.Duration
	BilledDuration        time.Duration
	InitDuration          time.Duration // non-zero on a cold start
	RestoreDuration       time.Duration // SnapStart
	BilledRestoreDuration time.Duration
	MemorySizeMB          int
	MaxMemoryUsedMB       int
	Status                InvocationStatus
	ErrorType             string
	TraceID               TraceID
	SegmentID             SpanID
}

// ColdStart reports whether this invocation paid an init or a restore.
func (i *Invocation) ColdStart() bool { return i.InitDuration > 0 || i.RestoreDuration > 0 }

// BrokerKind names a messaging service.
type BrokerKind uint8

// Broker kinds.
const (
	BrokerUnknown BrokerKind = iota
	BrokerSQS
	BrokerSNS
	BrokerEventBridge
	BrokerKinesis
	BrokerS3
)

var brokerKindNames = [...]string{"unknown", "sqs", "sns", "eventbridge", "kinesis", "s3"}

// String returns a short lowercase name.
func (b BrokerKind) String() string {
	if int(b) < len(brokerKindNames) {
		return brokerKindNames[b]
	}
	return "unknown"
}

// Message is a broker message as seen in a queue (typically a DLQ peek) or
// handed to a consumer. Body is kept raw.
type Message struct {
	Broker       BrokerKind
	Queue        string // queue, topic or bus name
	ID           string // MessageId
	Body         string
	Attributes   map[string]string // system attributes (SentTimestamp, AWSTraceHeader, …)
	UserAttrs    map[string]string // message attributes, rendered as strings for display
	ReceiveCount int
	SentAt       time.Time
	FirstRecvAt  time.Time
	DeadLetter   bool   // the message sits in a dead-letter queue
	SourceQueue  string // DeadLetterQueueSourceArn's queue name, when known
	GroupID      string // FIFO MessageGroupId
	DedupID      string // FIFO MessageDeduplicationId
	// Layers are the envelopes found in Body, outermost first (see [Unwrap]).
	Layers []Envelope
	// Reason is set when the body could not be fully unwrapped.
	Reason string
}

// EnvelopeKind names one layer of a message body.
type EnvelopeKind uint8

// Envelope kinds.
const (
	EnvelopeUnknown     EnvelopeKind = iota
	EnvelopeSQS                      // an SQS record or ReceiveMessage message
	EnvelopeSNS                      // an SNS notification
	EnvelopeEventBridge              // an EventBridge event
	EnvelopeCloudEvent               // a CloudEvents structured-mode event
	EnvelopeS3                       // an S3 event notification record
	EnvelopePayload                  // the innermost business payload (JSON or text)
)

var envelopeKindNames = [...]string{"unknown", "sqs", "sns", "eventbridge", "cloudevent", "s3", "payload"}

// String returns a short lowercase name.
func (e EnvelopeKind) String() string {
	if int(e) < len(envelopeKindNames) {
		return envelopeKindNames[e]
	}
	return "unknown"
}

// Envelope is one unwrapped layer: what it is, the keys it carries, and a few
// descriptive fields for display.
type Envelope struct {
	Kind EnvelopeKind
	Keys []Key
	// Type is the event type: EventBridge detail-type, CloudEvents type, S3 eventName, SNS Subject.
	Type string
	// Source is the producer: EventBridge source, CloudEvents source, SNS TopicArn, SQS queue ARN.
	Source string
	Time   time.Time
	// TraceHeader is an X-Amzn-Trace-Id or traceparent found on this layer, raw.
	TraceHeader string
	// Fingerprint is what an EventBridge event keeps when an archive replays
	// it (see [ReplayFingerprint]); "" for other layers.
	Fingerprint string
}

// FunctionConfig is a Lambda function's configuration.
type FunctionConfig struct {
	Name         string
	ARN          string
	MemoryMB     int
	Architecture string // "x86_64" or "arm64"
	Timeout      time.Duration
	LogGroup     string
	LogFormat    string // "Text" or "JSON"
	Tracing      string // "Active" or "PassThrough"
	Runtime      string
}

// QueueInfo is an SQS queue's state and redrive configuration.
type QueueInfo struct {
	Name            string
	URL             string
	ARN             string
	Depth           int // ApproximateNumberOfMessages
	InFlight        int // ApproximateNumberOfMessagesNotVisible
	OldestAge       time.Duration
	DeadLetterQueue string   // the queue this one redrives to, if any
	MaxReceiveCount int      // from the RedrivePolicy
	IsDLQ           bool     // some RedrivePolicy names this queue
	Sources         []string // source queues, for a DLQ
	FIFO            bool
}

// CopyObservation says that the message or event named by copyKey is a copy
// of original: a redrive (RelRedriveOf) or a replay (RelReplayOf). Whoever
// sends the copy (flowtop's replay, a redrive tool) should hand it to the
// graph at once, before the copy's consumers log it: the graph then keeps the
// copy as an event of its own, linked to its original, although the two share
// body IDs, request IDs, traces and correlation IDs.
func CopyObservation(copyKey, original Key, kind RelKind, at time.Time, evidence string) Observation {
	return Observation{
		Kind: ObsUnknown, Source: "replay", Time: at, Keys: []Key{copyKey},
		Relations: []Relation{{From: copyKey, To: original, Kind: kind, Evidence: evidence}},
	}
}
