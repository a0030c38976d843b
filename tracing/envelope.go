package tracing

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	cloudevent "github.com/cloudevents/sdk-go/v2/event"
)

// MaxUnwrapDepth bounds how many envelopes Unwrap opens (EventBridge inside SNS
// inside SQS is three).
const MaxUnwrapDepth = 6

// maxUnwrapBytes bounds the body Unwrap reads: SQS and SNS allow 256 KiB (1 MiB
// with the newer limit); anything larger is not a message body.
const maxUnwrapBytes = 2 << 20

// Unwrapped is what [Unwrap] found in a message body.
type Unwrapped struct {
	Layers    []Envelope // outermost first
	Keys      []Key      // every layer's keys, outermost first
	Relations []Relation // RelCarries from each layer's primary key to the next layer's
	Payload   []byte     // the innermost body
	Reason    string     // why unwrapping stopped early, when it did
}

// UnwrapOptions adds configured correlation fields to [UnwrapWith].
type UnwrapOptions struct {
	// CorrelationFields are field names or dotted JSON paths (order_id,
	// detail.orderId) looked up in each JSON layer; each value found becomes a
	// KeyCorrelation key "name=value".
	CorrelationFields []string
}

// Unwrap opens the envelopes of a message body: an SQS Lambda event record or a
// ReceiveMessage message (either casing), an SNS notification (or the Lambda SNS
// record; raw delivery is simply the inner body), an EventBridge event, a
// CloudEvents structured-mode event and S3 notifications, nested up to
// [MaxUnwrapDepth]. A Records array with several records is unwrapped from its
// first record and Reason says so; [UnwrapRecords] gives one result per record.
// It never fails: what it can't read is left in Payload with a Reason.
func Unwrap(body []byte) Unwrapped { return UnwrapWith(body, UnwrapOptions{}) }

// UnwrapWith is [Unwrap] with correlation fields.
func UnwrapWith(body []byte, opts UnwrapOptions) Unwrapped {
	recs := unwrapRecords(body, opts, true)
	return recs[0]
}

// UnwrapRecords unwraps each record of a Lambda event (Records[]) on its own;
// a body that isn't a Records event gives one result.
func UnwrapRecords(body []byte, opts UnwrapOptions) []Unwrapped {
	return unwrapRecords(body, opts, false)
}

func unwrapRecords(body []byte, opts UnwrapOptions, firstOnly bool) []Unwrapped {
	if len(body) > maxUnwrapBytes {
		return []Unwrapped{{Payload: body, Reason: fmt.Sprintf("body of %d bytes is larger than %d: not unwrapped", len(body), maxUnwrapBytes)}}
	}
	obj, ok := jsonObject(body)
	if ok {
		if recs, ok := obj["Records"].([]any); ok && len(recs) > 0 {
			var out []Unwrapped
			for i, r := range recs {
				rec, ok := r.(map[string]any)
				if !ok {
					continue
				}
				var u Unwrapped
				u.unwrap(rec, nil, 0, opts)
				if firstOnly {
					if len(recs) > 1 {
						u.note(fmt.Sprintf("event has %d records; only the first was unwrapped", len(recs)))
					}
					return []Unwrapped{u}
				}
				_ = i
				out = append(out, u)
			}
			if len(out) > 0 {
				return out
			}
		}
		var u Unwrapped
		u.unwrap(obj, body, 0, opts)
		return []Unwrapped{u}
	}
	u := Unwrapped{Payload: body}
	if t := bytes.TrimSpace(body); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		u.Reason = "body looks like JSON but does not parse"
	}
	return []Unwrapped{u}
}

func (u *Unwrapped) note(why string) {
	if u.Reason == "" {
		u.Reason = why
	} else {
		u.Reason += "; " + why
	}
}

// jsonObject decodes b as one JSON object, keeping numbers exact.
func jsonObject(b []byte) (map[string]any, bool) {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, false
	}
	if dec.More() {
		return nil, false
	}
	return m, true
}

// field returns obj[name] or, failing that, obj with the first letter's case flipped.
func field(obj map[string]any, names ...string) any {
	for _, n := range names {
		if v, ok := obj[n]; ok {
			return v
		}
	}
	return nil
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func strField(obj map[string]any, names ...string) string { return str(field(obj, names...)) }

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", "2006-01-02T15:04:05Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 1e11 {
		return time.UnixMilli(ms).UTC()
	}
	return time.Time{}
}

// flowtopReplayPrefix marks the resource flowtop's replay adds to an event
// it puts on a bus: the original's ID follows.
const flowtopReplayPrefix = "arn:aws:flowtop:::replay-of/"

// flowtopReplayOf returns the original ID an EventBridge event's resources
// name as flowtop's replay-of marker, or "".
func flowtopReplayOf(obj map[string]any) string {
	res, _ := obj["resources"].([]any)
	for _, r := range res {
		if s, ok := r.(string); ok && strings.HasPrefix(s, flowtopReplayPrefix) && len(s) <= len(flowtopReplayPrefix)+256 {
			return strings.TrimPrefix(s, flowtopReplayPrefix)
		}
	}
	return ""
}

// ReplayEventID is the key value of an EventBridge archive replay of event
// id by the replay named name: the replayed event is an event of its own.
func ReplayEventID(id, name string) string { return id + " replay " + name }

// maxFingerprintField bounds the source, detail-type, account and region a
// fingerprint takes: longer values are not EventBridge's (source and
// detail-type are at most 256 characters).
const maxFingerprintField = 256

// ReplayFingerprint is what an EventBridge event keeps when an archive
// replays it, whatever its id: source, detail-type, time, account, region
// and a digest of detail, hashed to 32 hex digits. A replay that got a new id
// finds its original by it. obj is the event as decoded (numbers as
// json.Number); "" when it lacks a source, detail-type or time, or a field
// is too long to be EventBridge's.
func ReplayFingerprint(obj map[string]any) string {
	src, typ, at := strField(obj, "source"), strField(obj, "detail-type"), strField(obj, "time")
	acct, region := strField(obj, "account"), strField(obj, "region")
	if src == "" || typ == "" || at == "" {
		return ""
	}
	for _, f := range []string{src, typ, at, acct, region} {
		if len(f) > maxFingerprintField {
			return ""
		}
	}
	if t := parseTime(at); !t.IsZero() {
		at = t.UTC().Format(time.RFC3339Nano) // one instant, however written
	}
	// encoding/json writes map keys sorted and json.Number as read: the
	// detail's digest does not depend on its key order or spacing.
	detail, err := json.Marshal(obj["detail"])
	if err != nil {
		return ""
	}
	dsum := sha256.Sum256(detail)
	h := sha256.New()
	for _, f := range []string{src, typ, at, acct, region} {
		_, _ = h.Write([]byte(f))
		_, _ = h.Write([]byte{0})
	}
	_, _ = h.Write(dsum[:])
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// add appends one layer and links it to the previous one.
func (u *Unwrapped) add(env Envelope) {
	// A field that is there but empty ("id": "", or not a string) names
	// nothing: an empty key would join every such message into one event.
	keys := env.Keys[:0]
	for _, k := range env.Keys {
		if k.Value != "" {
			keys = append(keys, k)
		}
	}
	env.Keys = keys
	if n := len(u.Layers); n > 0 && len(env.Keys) > 0 {
		for i := n - 1; i >= 0; i-- {
			if prev := u.Layers[i]; len(prev.Keys) > 0 {
				u.Relations = append(u.Relations, Relation{
					From: prev.Keys[0], To: env.Keys[0], Kind: RelCarries,
					Evidence: env.Kind.String() + " inside " + prev.Kind.String() + " body",
				})
				break
			}
		}
	}
	u.Layers = append(u.Layers, env)
	u.Keys = append(u.Keys, env.Keys...)
}

// unwrap classifies obj (whose raw bytes are raw, when known) and recurses into its body.
func (u *Unwrapped) unwrap(obj map[string]any, raw []byte, depth int, opts UnwrapOptions) {
	if depth >= MaxUnwrapDepth {
		u.note(fmt.Sprintf("stopped after %d envelopes", depth))
		u.Payload = raw
		return
	}
	u.correlate(obj, opts)
	if recs, ok := obj["Records"].([]any); ok && len(recs) > 0 {
		// A Records event inside a body (S3 notifications delivered to SQS or SNS).
		if len(recs) > 1 {
			u.note(fmt.Sprintf("inner event has %d records; only the first was unwrapped", len(recs)))
		}
		if rec, ok := recs[0].(map[string]any); ok {
			u.unwrap(rec, nil, depth+1, opts)
			return
		}
	}
	switch {
	case isSQS(obj):
		env := Envelope{Kind: EnvelopeSQS}
		id := strField(obj, "messageId", "MessageId")
		env.Keys = append(env.Keys, Key{Kind: KeyMessageID, Value: id})
		env.Source = strField(obj, "eventSourceARN", "EventSourceARN")
		attrs, _ := field(obj, "attributes", "Attributes").(map[string]any)
		if attrs != nil {
			env.TraceHeader = strField(attrs, "AWSTraceHeader")
			env.Time = parseTime(strField(attrs, "SentTimestamp"))
		}
		u.add(env)
		u.inner(field(obj, "body", "Body"), depth, opts)
	case isSNSRecord(obj):
		sns, _ := field(obj, "Sns", "sns", "SNS").(map[string]any)
		u.unwrap(sns, nil, depth, opts)
	case isSNS(obj):
		env := Envelope{Kind: EnvelopeSNS, Type: strField(obj, "Subject"), Source: strField(obj, "TopicArn"), Time: parseTime(strField(obj, "Timestamp"))}
		env.Keys = append(env.Keys, Key{Kind: KeySNSMessageID, Value: strField(obj, "MessageId")})
		if ma, ok := obj["MessageAttributes"].(map[string]any); ok {
			for _, name := range []string{"AWSTraceHeader", "X-Amzn-Trace-Id", "traceparent"} {
				if a, ok := ma[name].(map[string]any); ok {
					env.TraceHeader = strField(a, "Value", "value", "StringValue")
				}
			}
		}
		u.add(env)
		u.inner(field(obj, "Message"), depth, opts)
	case isEventBridge(obj):
		env := Envelope{Kind: EnvelopeEventBridge, Type: strField(obj, "detail-type"), Source: strField(obj, "source"), Time: parseTime(strField(obj, "time")), Fingerprint: ReplayFingerprint(obj)}
		id := strField(obj, "id")
		if name := strField(obj, "replay-name"); name != "" && id != "" && len(name) <= 64 {
			// An archive replay: its own event, linked to the original
			// (whose id it may repeat), never merged into it.
			orig := Key{Kind: KeyEventID, Value: id}
			id = ReplayEventID(id, name)
			u.Relations = append(u.Relations, Relation{From: Key{Kind: KeyEventID, Value: id}, To: orig, Kind: RelReplayOf, Evidence: "EventBridge replay-name " + name})
		}
		if orig := flowtopReplayOf(obj); orig != "" && orig != id && id != "" {
			// flowtop's replay put it on the bus (see replay.ExecuteReplay).
			u.Relations = append(u.Relations, Relation{From: Key{Kind: KeyEventID, Value: id}, To: Key{Kind: KeyEventID, Value: orig}, Kind: RelReplayOf, Evidence: "flowtop replay-of resource"})
		}
		env.Keys = append(env.Keys, Key{Kind: KeyEventID, Value: id})
		if detail, ok := obj["detail"].(map[string]any); ok {
			if env.Source == "aws.s3" {
				if k := s3KeyFromDetail(detail); !k.IsZero() {
					env.Keys = append(env.Keys, k)
				}
			}
			env.TraceHeader = traceHeaderIn(detail)
			u.add(env)
			u.correlate(detail, opts)
			u.Payload, _ = json.Marshal(detail)
			// A detail can itself be an envelope (a CloudEvent put on a bus).
			if isCloudEvent(detail) || isSNS(detail) || isSQS(detail) {
				u.unwrap(detail, u.Payload, depth+1, opts)
			}
			return
		}
		u.add(env)
		u.inner(obj["detail"], depth, opts)
	case isCloudEvent(obj):
		u.cloudEvent(obj, raw, depth, opts)
	case isS3Record(obj):
		s3, _ := obj["s3"].(map[string]any)
		bucket, _ := s3["bucket"].(map[string]any)
		object, _ := s3["object"].(map[string]any)
		env := Envelope{Kind: EnvelopeS3, Type: strField(obj, "eventName"), Source: strField(bucket, "arn"), Time: parseTime(strField(obj, "eventTime"))}
		env.Keys = append(env.Keys, s3Key(strField(bucket, "name"), strField(object, "key"), strField(object, "sequencer")))
		u.add(env)
		u.Payload = raw
	default:
		u.add(Envelope{Kind: EnvelopePayload, TraceHeader: traceHeaderIn(obj)})
		if raw == nil {
			raw, _ = json.Marshal(obj)
		}
		u.Payload = raw
	}
}

// inner unwraps a body field: a JSON string holding the next layer, or an object.
func (u *Unwrapped) inner(body any, depth int, opts UnwrapOptions) {
	switch b := body.(type) {
	case string:
		u.Payload = []byte(b)
		if obj, ok := jsonObject(u.Payload); ok {
			u.unwrap(obj, u.Payload, depth+1, opts)
		} else if t := strings.TrimSpace(b); strings.HasPrefix(t, "{") {
			u.note("inner body looks like JSON but does not parse")
		}
	case map[string]any:
		raw, _ := json.Marshal(b)
		u.unwrap(b, raw, depth+1, opts)
	case nil:
	default:
		u.Payload, _ = json.Marshal(b)
	}
}

func (u *Unwrapped) cloudEvent(obj map[string]any, raw []byte, depth int, opts UnwrapOptions) {
	if raw == nil {
		raw, _ = json.Marshal(obj)
	}
	var ev cloudevent.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		u.note("cloudevent: " + err.Error())
		u.add(Envelope{Kind: EnvelopePayload})
		u.Payload = raw
		return
	}
	env := Envelope{Kind: EnvelopeCloudEvent, Type: ev.Type(), Source: ev.Source(), Time: ev.Time()}
	env.Keys = append(env.Keys, CloudEventKey(ev.Source(), ev.ID()))
	if tp, ok := ev.Extensions()["traceparent"].(string); ok {
		env.TraceHeader = tp
	}
	if err := ev.Validate(); err != nil {
		u.note("cloudevent: " + strings.ReplaceAll(err.Error(), "\n", " "))
	}
	u.add(env)
	data := ev.Data()
	u.Payload = data
	if inner, ok := jsonObject(data); ok {
		u.correlate(inner, opts)
		if isEventBridge(inner) || isSNS(inner) || isSQS(inner) || isCloudEvent(inner) {
			u.unwrap(inner, data, depth+1, opts)
		}
	}
}

// correlate adds the configured correlation keys found in obj.
func (u *Unwrapped) correlate(obj map[string]any, opts UnwrapOptions) {
	for _, name := range opts.CorrelationFields {
		v := lookupPath(obj, name)
		if s := str(v); s != "" && len(s) <= 256 {
			k := Key{Kind: KeyCorrelation, Value: name + "=" + s}
			dup := false
			for _, have := range u.Keys {
				if have == k {
					dup = true
					break
				}
			}
			if !dup {
				u.Keys = append(u.Keys, k)
			}
		}
	}
}

// lookupPath follows a dotted path (detail.orderId) through nested objects.
func lookupPath(obj map[string]any, path string) any {
	var cur any = obj
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func traceHeaderIn(obj map[string]any) string {
	for _, k := range []string{"traceparent", "X-Amzn-Trace-Id", "AWSTraceHeader", "_X_AMZN_TRACE_ID"} {
		if s, ok := obj[k].(string); ok {
			return s
		}
	}
	return ""
}

func isSQS(o map[string]any) bool {
	if strField(o, "eventSource", "EventSource") == "aws:sqs" {
		return true
	}
	_, b1 := o["messageId"]
	_, b2 := o["body"]
	_, c1 := o["MessageId"]
	_, c2 := o["Body"]
	return (b1 && b2) || (c1 && c2)
}

func isSNSRecord(o map[string]any) bool {
	_, ok := field(o, "Sns", "sns", "SNS").(map[string]any)
	return ok
}

func isSNS(o map[string]any) bool {
	if strField(o, "Type") == "Notification" && o["MessageId"] != nil {
		return true
	}
	_, m := o["Message"]
	_, id := o["MessageId"]
	_, t := o["TopicArn"]
	return m && id && t
}

func isEventBridge(o map[string]any) bool {
	_, dt := o["detail-type"]
	_, src := o["source"]
	_, id := o["id"]
	return dt && src && id
}

func isCloudEvent(o map[string]any) bool {
	_, sv := o["specversion"]
	_, id := o["id"]
	_, src := o["source"]
	_, typ := o["type"]
	return sv && id && src && typ
}

func isS3Record(o map[string]any) bool {
	s3, ok := o["s3"].(map[string]any)
	return ok && s3["bucket"] != nil
}

func s3Key(bucket, key, sequencer string) Key {
	v := bucket + "/" + key
	if sequencer != "" {
		v += "@" + sequencer
	}
	return Key{Kind: KeyS3Object, Value: v}
}

func s3KeyFromDetail(d map[string]any) Key {
	bucket, _ := d["bucket"].(map[string]any)
	object, _ := d["object"].(map[string]any)
	if bucket == nil || object == nil {
		return Key{}
	}
	return s3Key(strField(bucket, "name"), strField(object, "key"), strField(object, "sequencer"))
}
