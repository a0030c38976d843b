package graph

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// The helpers here build observations the way the collectors emit them, from
// the raw forms AWS sends: Lambda log lines go through tracing.ParseLambdaLog
// (as collectors/cwlogs does), X-Ray segments are shaped as
// collectors/xray.ParseSegment shapes them, OTLP spans as
// collectors/otlp.convertSpan does, and DLQ messages as collectors/dlq.Observe
// does (the body through tracing.UnwrapWith). The graph may not import the
// collectors, so each helper says which code it mirrors.

// appLine is one application log line: a level and its JSON fields.
type appLine struct {
	level  string
	fields map[string]any
}

// invocationLogs is one invocation's log lines in Lambda's text format
// (START, Node-style app lines "<ts>\t<req>\t<LEVEL>\t<json>", END, REPORT
// with the XRAY line) or JSON format (platform.start, Powertools lines,
// platform.runtimeDone, platform.report). status is "" for success, or
// "error" / "timeout"; inReport says whether the REPORT names it (the text
// format's REPORT names no status for a function error).
type invocationLogs struct {
	fn       string
	json     bool
	req      string
	trace    tracing.TraceID
	segment  string
	start    time.Time
	dur      time.Duration
	cold     bool
	app      []appLine
	status   string
	errType  string
	inReport bool
}

func (iv invocationLogs) batch() tracing.Batch {
	var lines []string
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	xr := iv.trace.XRay()
	if iv.json {
		plat := func(typ string, rec map[string]any) string {
			b, _ := json.Marshal(map[string]any{"time": ts(iv.start), "type": typ, "record": rec})
			return string(b)
		}
		lines = append(lines, plat("platform.start", map[string]any{"requestId": iv.req, "version": "$LATEST"}))
		for _, a := range iv.app {
			rec := map[string]any{
				"timestamp": ts(iv.start), "level": a.level, "message": "handling", "service": iv.fn,
				"function_request_id": iv.req, "xray_trace_id": xr, "cold_start": iv.cold,
			}
			for k, v := range a.fields {
				rec[k] = v
			}
			b, _ := json.Marshal(rec)
			lines = append(lines, string(b))
		}
		rs := "success"
		if iv.status != "" {
			rs = iv.status
		}
		lines = append(lines, plat("platform.runtimeDone", map[string]any{"requestId": iv.req, "status": rs}))
		metrics := map[string]any{"durationMs": float64(iv.dur.Microseconds()) / 1000, "billedDurationMs": iv.dur.Milliseconds() + 1, "memorySizeMB": 512, "maxMemoryUsedMB": 90}
		if iv.cold {
			metrics["initDurationMs"] = 180.5
		}
		rec := map[string]any{"requestId": iv.req, "metrics": metrics, "tracing": map[string]any{"type": "X-Amzn-Trace-Id", "value": "Root=" + xr + ";Parent=" + iv.segment + ";Sampled=1", "spanId": iv.segment}}
		if iv.inReport {
			rec["status"] = rs
			if iv.errType != "" {
				rec["errorType"] = iv.errType
			}
		}
		lines = append(lines, plat("platform.report", rec))
	} else {
		if iv.cold {
			lines = append(lines, "INIT_START Runtime Version: nodejs:20.v12\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:abc")
		}
		lines = append(lines, "START RequestId: "+iv.req+" Version: $LATEST")
		for _, a := range iv.app {
			b, _ := json.Marshal(a.fields)
			lines = append(lines, ts(iv.start)+"\t"+iv.req+"\t"+a.level+"\t"+string(b))
		}
		if iv.status == "timeout" {
			lines = append(lines, ts(iv.start)+" "+iv.req+" Task timed out after 3.00 seconds")
		}
		lines = append(lines, "END RequestId: "+iv.req)
		r := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\t", iv.req, float64(iv.dur.Microseconds())/1000, iv.dur.Milliseconds()+1)
		if iv.cold {
			r += "Init Duration: 180.50 ms\t"
		}
		if iv.inReport && iv.status != "" {
			r += "Status: " + iv.status + "\t"
			if iv.errType != "" {
				r += "Error Type: " + iv.errType + "\t"
			}
		}
		r += "\nXRAY TraceId: " + xr + "\tSegmentId: " + iv.segment + "\tSampled: true\t"
		lines = append(lines, r)
	}
	var b tracing.Batch
	for i, l := range lines {
		at := iv.start.Add(time.Duration(i) * time.Millisecond)
		if i == len(lines)-1 {
			at = iv.start.Add(iv.dur)
		}
		o := tracing.ParseLambdaLog(tracing.LogInput{
			Group: "/aws/lambda/" + iv.fn, Stream: "2026/11/23/[$LATEST]abc", Time: at,
			EventID: iv.req + strconv.Itoa(i), Message: l,
		}, tracing.LogOptions{CorrelationFields: []string{"order_id"}})
		o.Source = "cwlogs"
		b = append(b, o)
	}
	return b
}

// segment is an X-Ray segment or subsegment document's fields.
type segment struct {
	trace          tracing.TraceID
	id, parent     string
	name, origin   string
	fn             string // the enclosing function, for subsegments
	start, end     time.Time
	fault          bool
	cause          string
	requestID      string
	operation      string
	messageID      string
	queueURL       string
	cold           bool
	functionARNSet bool
}

// xrayObs mirrors collectors/xray.parse for one (sub)segment.
func xrayObs(s segment) tracing.Observation {
	sid, _ := tracing.ParseSpanID(s.id)
	sp := &tracing.Span{TraceID: s.trace, SpanID: sid, Name: s.name, Service: s.name, Start: s.start, End: s.end, Kind: tracing.SpanKindServer, Attrs: map[string]string{}}
	if s.parent != "" {
		sp.ParentID, _ = tracing.ParseSpanID(s.parent)
		sp.Kind = tracing.SpanKindInternal
	}
	sp.Status = tracing.StatusOK
	if s.fault {
		sp.Status, sp.StatusMessage = tracing.StatusError, strings.TrimSpace(s.cause+" "+s.cause)
	}
	comp := tracing.Component{Kind: tracing.ComponentService, Name: s.name}
	if strings.HasPrefix(s.origin, "AWS::Lambda") || s.fn != "" {
		fn := s.fn
		if fn == "" {
			fn = s.name
		}
		comp = tracing.Component{Kind: tracing.ComponentFunction, Name: fn}
	}
	self := tracing.SpanKey(s.trace, sid)
	keys := []tracing.Key{{Kind: tracing.KeyTraceID, Value: s.trace.String()}, self}
	var rels []tracing.Relation
	if sp.ParentID.IsValid() {
		rels = append(rels, tracing.Relation{From: self, To: tracing.SpanKey(s.trace, sp.ParentID), Kind: tracing.RelChildOf, Evidence: "x-ray parent_id"})
	}
	if s.functionARNSet {
		sp.Attrs["aws.function_arn"] = "arn:aws:lambda:us-east-1:000000000000:function:" + s.name
	}
	if s.operation != "" {
		sp.Attrs["aws.operation"] = s.operation
	}
	if s.queueURL != "" {
		sp.Attrs["aws.queue_url"] = s.queueURL
	}
	if s.requestID != "" {
		sp.Attrs["aws.request_id"] = s.requestID
		sp.InvocationID = s.requestID
		keys = append(keys, tracing.Key{Kind: tracing.KeyRequestID, Value: s.requestID})
		rels = append(rels, tracing.Relation{From: tracing.Key{Kind: tracing.KeyTraceID, Value: s.trace.String()}, To: tracing.Key{Kind: tracing.KeyRequestID, Value: s.requestID}, Kind: tracing.RelContains, Evidence: "x-ray segment aws.request_id"})
	}
	if s.messageID != "" {
		sp.Attrs["aws.message_id"] = s.messageID
		sp.Messaging = tracing.Messaging{System: "aws_sqs", MessageID: s.messageID, Operation: strings.ToLower(s.operation)}
		if s.queueURL != "" {
			sp.Messaging.Destination = s.queueURL[strings.LastIndexByte(s.queueURL, '/')+1:]
		}
		mk := tracing.Key{Kind: tracing.KeyMessageID, Value: s.messageID}
		switch s.operation {
		case "SendMessage", "SendMessageBatch":
			sp.Kind = tracing.SpanKindProducer
			rels = append(rels, tracing.Relation{From: self, To: mk, Kind: tracing.RelPublished, Evidence: "x-ray SQS SendMessage subsegment"})
		default:
			sp.Kind = tracing.SpanKindConsumer
			rels = append(rels, tracing.Relation{From: self, To: mk, Kind: tracing.RelConsumed, Evidence: "x-ray SQS subsegment"})
		}
	}
	if s.cold {
		sp.Attrs["annotation.cold_start"] = "true"
		sp.ColdStart = true
	}
	return tracing.Observation{Kind: tracing.ObsSpan, Source: "xray", Time: s.start, Component: comp, Keys: keys, Relations: rels, Span: sp}
}

// otelSpan is an OTLP span's fields, as the sandbox's functions send them.
type otelSpan struct {
	trace          tracing.TraceID
	id             string
	kind           tracing.SpanKind
	fn, req        string
	system, op     string
	dest, msgID    string
	start, end     time.Time
	failed, cold   bool
	name, errorMsg string
}

// otlpObs mirrors collectors/otlp.convertSpan.
func otlpObs(s otelSpan) tracing.Observation {
	sid, _ := tracing.ParseSpanID(s.id)
	sp := &tracing.Span{
		TraceID: s.trace, SpanID: sid, Name: s.name, Service: s.fn, Kind: s.kind, Start: s.start, End: s.end, Attrs: map[string]string{},
		Messaging: tracing.Messaging{System: s.system, Operation: s.op, Destination: s.dest, MessageID: s.msgID}, InvocationID: s.req, ColdStart: s.cold,
	}
	if s.failed {
		sp.Status, sp.StatusMessage = tracing.StatusError, s.errorMsg
	}
	comp := tracing.Component{Kind: tracing.ComponentFunction, Name: s.fn}
	self := tracing.SpanKey(s.trace, sid)
	keys := []tracing.Key{{Kind: tracing.KeyTraceID, Value: s.trace.String()}, self}
	var rels []tracing.Relation
	if s.req != "" {
		keys = append(keys, tracing.Key{Kind: tracing.KeyRequestID, Value: s.req})
		rels = append(rels, tracing.Relation{From: tracing.Key{Kind: tracing.KeyTraceID, Value: s.trace.String()}, To: tracing.Key{Kind: tracing.KeyRequestID, Value: s.req}, Kind: tracing.RelContains, Evidence: "faas.invocation_id"})
	}
	if s.msgID != "" {
		mk := tracing.Key{Kind: tracing.KeyMessageID, Value: s.msgID}
		switch s.system {
		case "aws_sns", "aws.sns":
			mk.Kind = tracing.KeySNSMessageID
		case "aws.eventbridge", "aws_eventbridge", "eventbridge":
			mk.Kind = tracing.KeyEventID
		}
		keys = append(keys, mk)
		if s.kind == tracing.SpanKindProducer || s.op == "publish" || s.op == "send" || s.op == "create" {
			rels = append(rels, tracing.Relation{From: self, To: mk, Kind: tracing.RelPublished, Evidence: "messaging.message.id on a producer span"})
		} else {
			rels = append(rels, tracing.Relation{From: self, To: mk, Kind: tracing.RelConsumed, Evidence: "messaging.message.id on a consumer span"})
		}
	}
	return tracing.Observation{Kind: tracing.ObsSpan, Source: "otlp", Time: s.start, Component: comp, Keys: keys, Relations: rels, Span: sp}
}

// dlqObs mirrors collectors/dlq.Observe for one peeked message.
func dlqObs(queue, id, body, source string, receives int, sent time.Time, userAttrs map[string]string) tracing.Observation {
	u := tracing.UnwrapWith([]byte(body), tracing.UnwrapOptions{CorrelationFields: []string{"order_id"}})
	msg := &tracing.Message{
		Broker: tracing.BrokerSQS, Queue: queue, ID: id, Body: body, DeadLetter: true, Layers: u.Layers, Reason: u.Reason,
		ReceiveCount: receives, SentAt: sent, SourceQueue: source, UserAttrs: userAttrs,
		Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(receives), "SentTimestamp": strconv.FormatInt(sent.UnixMilli(), 10)},
	}
	self := tracing.Key{Kind: tracing.KeyMessageID, Value: id}
	keys := append([]tracing.Key{self}, u.Keys...)
	rels := u.Relations
	if len(u.Layers) > 0 && len(u.Layers[0].Keys) > 0 && u.Layers[0].Keys[0] != self {
		rels = append(rels, tracing.Relation{From: self, To: u.Layers[0].Keys[0], Kind: tracing.RelCarries, Evidence: u.Layers[0].Kind.String() + " in the DLQ message body"})
	}
	if orig := userAttrs["flowtop-replay-of"]; orig != "" && orig != id {
		rels = append(rels, tracing.Relation{From: self, To: tracing.Key{Kind: tracing.KeyMessageID, Value: orig}, Kind: tracing.RelRedriveOf, Evidence: "flowtop-replay-of attribute"})
	}
	return tracing.Observation{
		Kind: tracing.ObsMessage, Source: "dlq", Time: sent,
		Component: tracing.Component{Kind: tracing.ComponentQueue, Name: queue}, Keys: keys, Relations: rels, Message: msg,
	}
}

// ebBody is an EventBridge event as a rule target receives it.
func ebBody(id, detailType string, detail map[string]any) string {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": id, "detail-type": detailType, "source": "orders.api", "account": "000000000000",
		"time": "2026-11-23T10:00:00Z", "region": "us-east-1", "resources": []string{}, "detail": detail,
	})
	return string(b)
}

// ceBody is a structured-mode CloudEvent.
func ceBody(id string, data map[string]any) string {
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "/orders/api", "type": "com.example.order.placed",
		"time": "2026-11-23T10:00:00Z", "datacontenttype": "application/json", "data": data,
	})
	return string(b)
}

// uuidN is a deterministic UUID-shaped ID.
func uuidN(prefix byte, n int) string {
	return fmt.Sprintf("%c%07x-0000-4000-8000-%012x", prefix, n, n)
}

// traceN is a deterministic trace ID.
func traceN(n int) tracing.TraceID {
	t, _ := tracing.ParseTraceID(fmt.Sprintf("6750%04x%024x", n&0xffff, n+1))
	return t
}

// spanN is a deterministic span ID.
func spanN(n int) string { return fmt.Sprintf("%016x", n+1) }
