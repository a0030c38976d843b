package otlp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// This file decodes OTLP protobuf straight from the wire into observations,
// without building the generated message tree first. It reads only the fields
// flowtop uses, applies the span limits while it reads (an attribute past the
// limit is skipped, not decoded and then dropped), and so allocates in
// proportion to what it keeps, not to what the sender sent: a 4 MiB span of two
// million empty attributes costs a walk over the bytes and nothing more.

// Limits bound what one span, link or resource may hold, as the OTel SDK's
// span limits do; what they cut is counted as truncated. A zero field takes
// its default.
type Limits struct {
	Attributes int // attributes read per span, link, log record or resource (default 128)
	Links      int // links per span (default 128)
	ValueBytes int // bytes kept of a string: attribute values, names, messages (default 1024)
}

func (l Limits) withDefaults() Limits {
	if l.Attributes <= 0 {
		l.Attributes = 128
	}
	if l.Links <= 0 {
		l.Links = 128
	}
	if l.ValueBytes <= 0 {
		l.ValueBytes = 1024
	}
	return l
}

// errOverBudget means converting a request would take more memory than the
// in-flight budget has left: the request is shed with a retryable answer.
var errOverBudget = errors.New("otlp: over the memory budget")

// The attributes flowtop reads; every other key is skipped unread.
const (
	aMsgSystem = iota
	aMsgOpType
	aMsgOp
	aMsgDestName
	aMsgDest
	aMsgID
	aFaaSName
	aFaaSInvocation
	aFaaSExecution
	aAWSRequestID
	aLambdaRequestID
	aColdStart
	aServiceName
	aHTTPMethod
	aHTTPRequestMethod
	aRPCMethod
	aAWSOperation
	aRPCService
	aURLFull
	aHTTPRoute
	aMsgPartition
	aCEID // cloudevents.go: the CloudEvents and cloud attributes
	aCESource
	aCEType
	aCESpecVersion
	aCESubject
	aCloudProvider
	aCloudPlatform
	aCloudRegion
	aCloudAccount
	nAttrs
)

var attrNames = [nAttrs]string{
	"messaging.system", "messaging.operation.type", "messaging.operation", "messaging.destination.name", "messaging.destination",
	"messaging.message.id", "faas.name", "faas.invocation_id", "faas.execution", "aws.request_id", "aws.lambda.invoked_arn_request_id",
	"faas.coldstart", "service.name",
	"http.method", "http.request.method", "rpc.method", "aws.operation", "rpc.service", "url.full", "http.route",
	"messaging.destination.partition.id",
	tracing.AttrCloudEventID, tracing.AttrCloudEventSource, tracing.AttrCloudEventType, tracing.AttrCloudEventSpecVersion,
	tracing.AttrCloudEventSubject, tracing.AttrCloudProvider, tracing.AttrCloudPlatform, tracing.AttrCloudRegion,
	"cloud.account.id",
}

// displayAttrs are kept on the span for display, in this order.
var displayAttrs = [...]int{aHTTPMethod, aHTTPRequestMethod, aRPCMethod, aAWSOperation, aRPCService, aURLFull, aHTTPRoute}

var attrIndex = func() map[string]int {
	m := make(map[string]int, nAttrs)
	for i, n := range attrNames {
		m[n] = i
	}
	return m
}()

// attrs holds the known attributes of one span, link, record or resource.
type attrs struct {
	v [nAttrs]string
}

func (a *attrs) first(idx ...int) string {
	for _, i := range idx {
		if a.v[i] != "" {
			return a.v[i]
		}
	}
	return ""
}

// spanIn is one span as read, before it becomes an observation.
type spanIn struct {
	traceID, spanID, parentID []byte
	name                      string
	kind                      tracing.SpanKind
	start, end                uint64
	statusCode                tracing.StatusCode
	statusMsg                 string
	a                         attrs
	links                     []linkIn
	events                    []tracing.SpanEvent // span events (field 11), exceptions above all
}

type linkIn struct {
	traceID, spanID []byte
	msgID           string
}

// decoder turns one request into a batch. It is reused across requests (a
// pool), keeping its buffers and its table of interned names.
type decoder struct {
	lim    Limits
	intern map[string]string
	out    tracing.Batch

	truncated int
	rejected  int
	why       string

	// grow asks for n more bytes of the in-flight budget for the output; nil
	// means no budget. outBytes counts the output not yet asked for.
	grow     func(n int64) bool
	outBytes int64

	span   spanIn
	links  []linkIn
	events []tracing.SpanEvent // reused: AddEvent copies what it keeps

	// Keys and relations of the request's observations are cut from shared
	// chunks: the graph only reads them while it ingests the batch. A new
	// request starts new chunks, since the last batch still uses its own.
	keySlab []tracing.Key
	relSlab []tracing.Relation

	cloud attrs // the resource's cloud.* attributes, for its spans (cloudevents.go)

	// places: components carry the account and region their resource's
	// cloud.account.id and cloud.region name (when flowtop watches several).
	places bool
}

// place sets c's account and region from the resource's cloud attributes,
// when the receiver is asked to: flowtop watching several accounts or
// regions tells same-named functions apart by them.
func (d *decoder) place(c tracing.Component) tracing.Component {
	if d.places && d.cloud.v[aCloudProvider] == "aws" {
		c.Account, c.Region = d.cloud.v[aCloudAccount], d.cloud.v[aCloudRegion]
	}
	return c
}

// maxInterned bounds the intern table; past it the table starts afresh.
const maxInterned = 4096

func newDecoder(lim Limits) *decoder {
	return &decoder{lim: lim.withDefaults(), intern: make(map[string]string, 64)}
}

// reset readies d for a new request, keeping its intern table.
func (d *decoder) reset(grow func(int64) bool) {
	d.out, d.truncated, d.rejected, d.why, d.grow, d.outBytes = nil, 0, 0, "", grow, 0
	d.keySlab, d.relSlab = nil, nil
}

// slabChunk is how many keys or relations one chunk holds.
const slabChunk = 512

// keys returns an empty slice with room for n keys, cut from the chunk.
func (d *decoder) keys(n int) []tracing.Key {
	if cap(d.keySlab)-len(d.keySlab) < n {
		d.keySlab = make([]tracing.Key, 0, max(slabChunk, n))
	}
	at := len(d.keySlab)
	d.keySlab = d.keySlab[:at+n]
	return d.keySlab[at : at : at+n]
}

// relations returns an empty slice with room for n relations, cut from the chunk.
func (d *decoder) relations(n int) []tracing.Relation {
	if n == 0 {
		return nil
	}
	if cap(d.relSlab)-len(d.relSlab) < n {
		d.relSlab = make([]tracing.Relation, 0, max(slabChunk, n))
	}
	at := len(d.relSlab)
	d.relSlab = d.relSlab[:at+n]
	return d.relSlab[at : at : at+n]
}

// countSpans counts the spans of a request, so the batch is allocated once.
// It does not validate; the decode that follows does.
func countSpans(b []byte) int {
	n := 0
	for len(b) > 0 {
		num, typ, rs, _, rest, err := next(b)
		if err != nil {
			return n
		}
		b = rest
		if num != 1 || typ != protowire.BytesType {
			continue
		}
		for len(rs) > 0 {
			num, typ, ss, _, rest, err := next(rs)
			if err != nil {
				return n
			}
			rs = rest
			if num != 2 || typ != protowire.BytesType {
				continue
			}
			for len(ss) > 0 {
				num, typ, _, _, rest, err := next(ss)
				if err != nil {
					return n
				}
				ss = rest
				if num == 2 && typ == protowire.BytesType {
					n++
				}
			}
		}
	}
	return n
}

// name returns b as a string, interned: service and span names repeat.
func (d *decoder) name(b []byte) string {
	if len(b) > d.lim.ValueBytes {
		return d.value(b)
	}
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	if len(d.intern) >= maxInterned {
		clear(d.intern)
	}
	s := string(b)
	d.intern[s] = s
	return s
}

// value returns b as a string, cut to the value limit on a rune boundary.
func (d *decoder) value(b []byte) string {
	if len(b) > d.lim.ValueBytes {
		d.truncated++
		n := d.lim.ValueBytes
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		b = b[:n]
	}
	return string(b)
}

// emit appends an observation and, every so often, asks the budget for the
// memory the output holds, so that a request cannot convert past it.
func (d *decoder) emit(o tracing.Observation) error {
	d.out = append(d.out, o)
	d.outBytes += graph.ObservationBytes(&d.out[len(d.out)-1])
	if d.grow != nil && d.outBytes >= 64<<10 {
		n := d.outBytes
		d.outBytes = 0
		if !d.grow(n) {
			return errOverBudget
		}
	}
	return nil
}

// finish asks for the rest of the output's memory.
func (d *decoder) finish() error {
	if d.grow != nil && d.outBytes > 0 {
		n := d.outBytes
		d.outBytes = 0
		if !d.grow(n) {
			return errOverBudget
		}
	}
	return nil
}

var errMalformed = errors.New("malformed protobuf")

// next reads one field: its number, wire type and, for length-delimited
// fields, its bytes; v holds varint and fixed values. It returns the rest.
func next(b []byte) (num protowire.Number, typ protowire.Type, val []byte, v uint64, rest []byte, err error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, 0, nil, 0, nil, errMalformed
	}
	b = b[n:]
	switch typ {
	case protowire.BytesType:
		val, n = protowire.ConsumeBytes(b)
	case protowire.VarintType:
		v, n = protowire.ConsumeVarint(b)
	case protowire.Fixed64Type:
		v, n = protowire.ConsumeFixed64(b)
	case protowire.Fixed32Type:
		var v32 uint32
		v32, n = protowire.ConsumeFixed32(b)
		v = uint64(v32)
	default:
		n = protowire.ConsumeFieldValue(num, typ, b)
	}
	if n < 0 {
		return 0, 0, nil, 0, nil, errMalformed
	}
	return num, typ, val, v, b[n:], nil
}

// readAttr reads one KeyValue into a if its key is one flowtop uses.
func (d *decoder) readAttr(b []byte, a *attrs) error {
	var key, value []byte
	for len(b) > 0 {
		num, typ, val, _, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if typ == protowire.BytesType {
			switch num {
			case 1:
				key = val
			case 2:
				value = val
			}
		}
	}
	i, ok := attrIndex[string(key)]
	if !ok || value == nil {
		return nil
	}
	for len(value) > 0 {
		num, typ, val, v, rest, err := next(value)
		if err != nil {
			return err
		}
		value = rest
		switch {
		case num == 1 && typ == protowire.BytesType:
			a.v[i] = d.value(val)
		case num == 2 && typ == protowire.VarintType:
			a.v[i] = strconv.FormatBool(v != 0)
		case num == 3 && typ == protowire.VarintType:
			a.v[i] = strconv.FormatInt(int64(v), 10)
		case num == 4 && typ == protowire.Fixed64Type:
			a.v[i] = strconv.FormatFloat(math.Float64frombits(v), 'g', -1, 64)
		}
	}
	return nil
}

// readAttrs reads the KeyValues of field num in b into a, up to the limit.
func (d *decoder) readAttrs(b []byte, field protowire.Number, a *attrs) error {
	n := 0
	for len(b) > 0 {
		num, typ, val, _, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if num != field || typ != protowire.BytesType {
			continue
		}
		if n++; n > d.lim.Attributes {
			d.truncated++
			continue
		}
		if err := d.readAttr(val, a); err != nil {
			return err
		}
	}
	return nil
}

// resource reads the attributes of a Resource (field 1 of ResourceSpans and
// ResourceLogs), wherever it sits in b.
func (d *decoder) resource(b []byte) (attrs, error) {
	var a attrs
	for len(b) > 0 {
		num, typ, val, _, rest, err := next(b)
		if err != nil {
			return a, err
		}
		b = rest
		if num == 1 && typ == protowire.BytesType {
			if err := d.readAttrs(val, 1, &a); err != nil {
				return a, err
			}
		}
	}
	return a, nil
}

// traces decodes an ExportTraceServiceRequest (or TracesData: same shape).
func (d *decoder) traces(b []byte) error {
	if n := countSpans(b); n > 0 {
		d.out = make(tracing.Batch, 0, n)
	}
	for len(b) > 0 {
		num, typ, val, _, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if num == 1 && typ == protowire.BytesType {
			if err := d.resourceSpans(val); err != nil {
				return err
			}
		}
	}
	return d.finish()
}

func (d *decoder) resourceSpans(b []byte) error {
	ra, err := d.resource(b)
	if err != nil {
		return err
	}
	service := d.name([]byte(ra.v[aServiceName]))
	fn := d.name([]byte(ra.v[aFaaSName]))
	d.cloud = ra
	for len(b) > 0 {
		num, typ, val, _, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if num != 2 || typ != protowire.BytesType {
			continue
		}
		for ss := val; len(ss) > 0; {
			num, typ, val, _, rest, err := next(ss)
			if err != nil {
				return err
			}
			ss = rest
			if num != 2 || typ != protowire.BytesType {
				continue
			}
			if err := d.readSpan(val); err != nil {
				return err
			}
			o, err := d.convertSpan(&d.span, service, fn)
			if err != nil {
				d.reject(d.span.spanID, err)
				continue
			}
			if err := d.emit(o); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *decoder) reject(spanID []byte, err error) {
	d.rejected++
	if d.why == "" {
		d.why = "span " + hex.EncodeToString(spanID) + ": " + err.Error()
	}
}

// readSpan reads a Span into d.span.
func (d *decoder) readSpan(b []byte) error {
	d.span = spanIn{links: d.links[:0], events: d.events[:0]}
	s := &d.span
	nAttrs, nLinks := 0, 0
	for len(b) > 0 {
		num, typ, val, v, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		switch {
		case typ == protowire.BytesType && num == 1:
			s.traceID = val
		case typ == protowire.BytesType && num == 2:
			s.spanID = val
		case typ == protowire.BytesType && num == 4:
			s.parentID = val
		case typ == protowire.BytesType && num == 5:
			s.name = d.name(val)
		case typ == protowire.VarintType && num == 6:
			s.kind = tracing.SpanKind(v)
		case typ == protowire.Fixed64Type && num == 7:
			s.start = v
		case typ == protowire.Fixed64Type && num == 8:
			s.end = v
		case typ == protowire.BytesType && num == 9:
			if nAttrs++; nAttrs > d.lim.Attributes {
				d.truncated++
				continue
			}
			if err := d.readAttr(val, &s.a); err != nil {
				return err
			}
		case typ == protowire.BytesType && num == 13:
			if nLinks++; nLinks > d.lim.Links {
				d.truncated++
				continue
			}
			l, err := d.readLink(val)
			if err != nil {
				return err
			}
			s.links = append(s.links, l)
		case typ == protowire.BytesType && num == 11:
			if len(s.events) >= tracing.MaxSpanEvents {
				d.truncated++
				continue
			}
			ev, err := d.readEvent(val)
			if err != nil {
				return err
			}
			s.events = append(s.events, ev)
		case typ == protowire.BytesType && num == 15:
			for st := val; len(st) > 0; {
				num, typ, val, v, rest, err := next(st)
				if err != nil {
					return err
				}
				st = rest
				switch {
				case num == 2 && typ == protowire.BytesType:
					s.statusMsg = d.value(val)
				case num == 3 && typ == protowire.VarintType:
					s.statusCode = tracing.StatusCode(v)
				}
			}
		}
	}
	d.links, d.events = s.links, s.events
	return nil
}

// readEvent reads a Span.Event: its time, name and every attribute (as
// text), up to the span-event limits of [tracing.Span.AddEvent]; a value
// longer than one event value may be is cut here and counted.
func (d *decoder) readEvent(b []byte) (tracing.SpanEvent, error) {
	var ev tracing.SpanEvent
	n := 0
	for len(b) > 0 {
		num, typ, val, v, rest, err := next(b)
		if err != nil {
			return ev, err
		}
		b = rest
		switch {
		case num == 1 && typ == protowire.Fixed64Type && v > 0:
			ev.Time = time.Unix(0, int64(v)).UTC()
		case num == 2 && typ == protowire.BytesType:
			ev.Name = d.name(val)
		case num == 3 && typ == protowire.BytesType:
			if n++; n > tracing.MaxSpanEventAttrs {
				d.truncated++
				continue
			}
			k, v, ok, err := d.anyAttr(val)
			if err != nil {
				return ev, err
			}
			if ok {
				if ev.Attrs == nil {
					ev.Attrs = make(map[string]string, 4)
				}
				ev.Attrs[k] = v
			}
		}
	}
	return ev, nil
}

// anyAttr reads one KeyValue whatever its key, its value as text (string,
// bool, int, double; other kinds are skipped), cut to one event value.
func (d *decoder) anyAttr(b []byte) (key, value string, ok bool, err error) {
	var k, val []byte
	for len(b) > 0 {
		num, typ, x, _, rest, err := next(b)
		if err != nil {
			return "", "", false, err
		}
		b = rest
		if typ == protowire.BytesType {
			switch num {
			case 1:
				k = x
			case 2:
				val = x
			}
		}
	}
	if len(k) == 0 || val == nil {
		return "", "", false, nil
	}
	cut := func(x []byte) string {
		if len(x) > tracing.MaxSpanEventValue {
			d.truncated++
			n := tracing.MaxSpanEventValue
			for n > 0 && !utf8.RuneStart(x[n]) {
				n--
			}
			x = x[:n]
		}
		return string(x)
	}
	for len(val) > 0 {
		num, typ, x, v, rest, err := next(val)
		if err != nil {
			return "", "", false, err
		}
		val = rest
		switch {
		case num == 1 && typ == protowire.BytesType:
			value, ok = cut(x), true
		case num == 2 && typ == protowire.VarintType:
			value, ok = strconv.FormatBool(v != 0), true
		case num == 3 && typ == protowire.VarintType:
			value, ok = strconv.FormatInt(int64(v), 10), true
		case num == 4 && typ == protowire.Fixed64Type:
			value, ok = strconv.FormatFloat(math.Float64frombits(v), 'g', -1, 64), true
		}
	}
	if !ok {
		return "", "", false, nil
	}
	return d.name(k), value, true, nil
}

func (d *decoder) readLink(b []byte) (linkIn, error) {
	var l linkIn
	var a attrs
	if err := d.readAttrs(b, 4, &a); err != nil {
		return l, err
	}
	for len(b) > 0 {
		num, typ, val, _, rest, err := next(b)
		if err != nil {
			return l, err
		}
		b = rest
		switch {
		case num == 1 && typ == protowire.BytesType:
			l.traceID = val
		case num == 2 && typ == protowire.BytesType:
			l.spanID = val
		}
	}
	l.msgID = a.v[aMsgID]
	return l, nil
}

// logs decodes an ExportLogsServiceRequest (or LogsData: same shape).
func (d *decoder) logs(b []byte) error {
	for len(b) > 0 {
		num, typ, val, _, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if num == 1 && typ == protowire.BytesType {
			if err := d.resourceLogs(val); err != nil {
				return err
			}
		}
	}
	return d.finish()
}

func (d *decoder) resourceLogs(b []byte) error {
	ra, err := d.resource(b)
	if err != nil {
		return err
	}
	comp := tracing.Component{Kind: tracing.ComponentService, Name: d.name([]byte(ra.v[aServiceName]))}
	if fn := ra.v[aFaaSName]; fn != "" {
		comp = tracing.Component{Kind: tracing.ComponentFunction, Name: d.name([]byte(fn))}
	}
	d.cloud = ra
	comp = d.place(comp)
	for len(b) > 0 {
		num, typ, val, _, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if num != 2 || typ != protowire.BytesType {
			continue
		}
		for sl := val; len(sl) > 0; {
			num, typ, val, _, rest, err := next(sl)
			if err != nil {
				return err
			}
			sl = rest
			if num != 2 || typ != protowire.BytesType {
				continue
			}
			rec, err := d.readLog(val)
			if err != nil {
				return err
			}
			if err := d.emit(logObservation(comp, rec)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *decoder) readLog(b []byte) (*tracing.LogRecord, error) {
	var a attrs
	if err := d.readAttrs(b, 6, &a); err != nil {
		return nil, err
	}
	rec := &tracing.LogRecord{Kind: tracing.LogApp, RequestID: a.first(aFaaSInvocation, aAWSRequestID)}
	var at uint64
	for len(b) > 0 {
		num, typ, val, v, rest, err := next(b)
		if err != nil {
			return nil, err
		}
		b = rest
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			at = v
		case num == 3 && typ == protowire.BytesType:
			rec.Level = d.name(val)
		case num == 5 && typ == protowire.BytesType:
			// The body is an AnyValue; flowtop shows string bodies.
			for body := val; len(body) > 0; {
				num, typ, val, _, rest, err := next(body)
				if err != nil {
					return nil, err
				}
				body = rest
				if num == 1 && typ == protowire.BytesType {
					rec.Message = d.value(val)
				}
			}
		case num == 9 && typ == protowire.BytesType && len(val) == 16:
			copy(rec.TraceID[:], val)
		}
	}
	rec.Time = time.Unix(0, int64(at)).UTC()
	return rec, nil
}

func logObservation(comp tracing.Component, rec *tracing.LogRecord) tracing.Observation {
	o := tracing.Observation{Kind: tracing.ObsLog, Source: "otlp", Time: rec.Time, Component: comp, Log: rec}
	if rec.RequestID != "" {
		o.Keys = append(o.Keys, tracing.Key{Kind: tracing.KeyRequestID, Value: rec.RequestID})
	}
	if rec.TraceID.IsValid() {
		o.Keys = append(o.Keys, tracing.Key{Kind: tracing.KeyTraceID, Value: rec.TraceID.String()})
	}
	return o
}

// ---- from a span as read to an observation ----

func ids(trace, span []byte) (tracing.TraceID, tracing.SpanID, error) {
	var t tracing.TraceID
	var s tracing.SpanID
	if len(trace) != 16 || len(span) != 8 {
		return t, s, fmt.Errorf("trace id of %d bytes or span id of %d bytes", len(trace), len(span))
	}
	copy(t[:], trace)
	copy(s[:], span)
	if !t.IsValid() || !s.IsValid() {
		return t, s, errors.New("all-zero trace or span id")
	}
	return t, s, nil
}

// spanKeyLen is the length of a span key's value: trace/span in hex.
const spanKeyLen = 16*2 + 1 + 8*2

func putSpanKey(buf []byte, t tracing.TraceID, s tracing.SpanID) {
	hex.Encode(buf[:32], t[:])
	buf[32] = '/'
	hex.Encode(buf[33:spanKeyLen], s[:])
}

// spanKey is [tracing.SpanKey] with one allocation instead of three.
func spanKey(t tracing.TraceID, s tracing.SpanID) tracing.Key {
	var buf [spanKeyLen]byte
	putSpanKey(buf[:], t, s)
	return tracing.Key{Kind: tracing.KeySpanID, Value: string(buf[:])}
}

// messageKey is the key a messaging.message.id names, by messaging.system.
func messageKey(system, id string) tracing.Key {
	switch system {
	case "aws_sns", "aws.sns":
		return tracing.Key{Kind: tracing.KeySNSMessageID, Value: id}
	case "aws.eventbridge", "aws_eventbridge", "eventbridge":
		return tracing.Key{Kind: tracing.KeyEventID, Value: id}
	}
	return tracing.Key{Kind: tracing.KeyMessageID, Value: id}
}

// Relation evidence, shared by every span rather than built per span.
const (
	evParent     = "otlp parent span id"
	evInvocation = "faas.invocation_id"
	evPublished  = "messaging.message.id on a producer span"
	evConsumed   = "messaging.message.id on a consumer span"
	evLink       = "otlp span link"
	evLinkMsg    = "messaging.message.id on a span link"
)

func (d *decoder) convertSpan(in *spanIn, service, fn string) (tracing.Observation, error) {
	tid, sid, err := ids(in.traceID, in.spanID)
	if err != nil {
		return tracing.Observation{}, err
	}
	a := &in.a
	if fn == "" {
		// faas.name belongs on the resource, but one process serving several
		// functions (or a hand-instrumented handler) puts it on the span.
		fn = a.v[aFaaSName]
	}
	s := &tracing.Span{
		TraceID: tid, SpanID: sid, Name: in.name, Service: service, Kind: in.kind,
		Start: time.Unix(0, int64(in.start)).UTC(), Status: in.statusCode, StatusMessage: in.statusMsg,
	}
	if in.end > 0 {
		s.End = time.Unix(0, int64(in.end)).UTC()
	} else {
		s.InProgress = true
	}
	if len(in.parentID) == 8 {
		copy(s.ParentID[:], in.parentID)
	}
	s.Messaging = tracing.Messaging{
		System:      a.v[aMsgSystem],
		Operation:   a.first(aMsgOpType, aMsgOp),
		Destination: a.first(aMsgDestName, aMsgDest),
		MessageID:   a.v[aMsgID],
	}
	s.InvocationID = a.first(aFaaSInvocation, aFaaSExecution, aAWSRequestID, aLambdaRequestID)
	s.ColdStart = a.v[aColdStart] == "true"
	for _, ev := range in.events {
		d.truncated += s.AddEvent(ev)
	}
	for _, i := range displayAttrs {
		if v := a.v[i]; v != "" && len(v) <= 512 {
			if s.Attrs == nil {
				s.Attrs = make(map[string]string, 2)
			}
			s.Attrs[attrNames[i]] = v
		}
	}
	comp := tracing.Component{Kind: tracing.ComponentService, Name: service}
	if fn != "" {
		comp = tracing.Component{Kind: tracing.ComponentFunction, Name: fn}
	}
	comp = d.place(comp)
	// The span's own key, its trace's and its parent's share one string.
	var self, parent tracing.Key
	if s.ParentID.IsValid() {
		var buf [2 * spanKeyLen]byte
		putSpanKey(buf[:spanKeyLen], tid, sid)
		putSpanKey(buf[spanKeyLen:], tid, s.ParentID)
		both := string(buf[:])
		self = tracing.Key{Kind: tracing.KeySpanID, Value: both[:spanKeyLen]}
		parent = tracing.Key{Kind: tracing.KeySpanID, Value: both[spanKeyLen:]}
	} else {
		self = spanKey(tid, sid)
	}
	traceKey := tracing.Key{Kind: tracing.KeyTraceID, Value: self.Value[:32]}
	msgID := s.Messaging.MessageID
	if len(msgID) > 256 {
		msgID = ""
	}
	nKeys, nRels := 2, 2*len(in.links)
	for _, on := range []bool{s.ParentID.IsValid(), s.InvocationID != "", msgID != ""} {
		if on {
			nRels++
		}
	}
	if s.InvocationID != "" {
		nKeys++
	}
	if msgID != "" {
		nKeys++
	}
	keys := append(d.keys(nKeys), traceKey, self)
	rels := d.relations(nRels)
	if s.ParentID.IsValid() {
		rels = append(rels, tracing.Relation{From: self, To: parent, Kind: tracing.RelChildOf, Evidence: evParent})
	}
	if s.InvocationID != "" {
		keys = append(keys, tracing.Key{Kind: tracing.KeyRequestID, Value: s.InvocationID})
		rels = append(rels, tracing.Relation{From: traceKey, To: tracing.Key{Kind: tracing.KeyRequestID, Value: s.InvocationID}, Kind: tracing.RelContains, Evidence: evInvocation})
	}
	k, kinesis, ok := tracing.KinesisSpanKey(s.Messaging.System, s.Messaging.Destination, a.v[aMsgPartition], msgID)
	if kinesis {
		// A Kinesis record is named by its stream and shard too; without
		// them the sequence number names nothing flowtop can join.
		msgID = ""
		if ok {
			keys = append(keys, k)
			if s.Kind == tracing.SpanKindProducer || s.Messaging.Operation == "publish" || s.Messaging.Operation == "send" || s.Messaging.Operation == "create" {
				rels = append(rels, tracing.Relation{From: self, To: k, Kind: tracing.RelPublished, Evidence: evPublished})
			} else {
				rels = append(rels, tracing.Relation{From: self, To: k, Kind: tracing.RelConsumed, Evidence: evConsumed})
			}
		}
	}
	if id := msgID; id != "" {
		mk := messageKey(s.Messaging.System, id)
		keys = append(keys, mk)
		op := s.Messaging.Operation
		if s.Kind == tracing.SpanKindProducer || op == "publish" || op == "send" || op == "create" {
			rels = append(rels, tracing.Relation{From: self, To: mk, Kind: tracing.RelPublished, Evidence: evPublished})
		} else {
			rels = append(rels, tracing.Relation{From: self, To: mk, Kind: tracing.RelConsumed, Evidence: evConsumed})
		}
	}
	keys, rels = d.cloudEvent(in, s, self, keys, rels) // cloudevents.go
	for _, l := range in.links {
		lt, ls, err := ids(l.traceID, l.spanID)
		if err != nil {
			continue
		}
		link := tracing.Link{TraceID: lt, SpanID: ls}
		if l.msgID != "" {
			link.Attrs = map[string]string{"messaging.message.id": l.msgID}
		}
		s.Links = append(s.Links, link)
		rels = append(rels, tracing.Relation{From: self, To: spanKey(lt, ls), Kind: tracing.RelLinks, Evidence: evLink})
		if l.msgID != "" && !kinesis {
			rels = append(rels, tracing.Relation{From: self, To: messageKey(s.Messaging.System, l.msgID), Kind: tracing.RelConsumed, Evidence: evLinkMsg})
		}
	}
	return tracing.Observation{Kind: tracing.ObsSpan, Source: "otlp", Time: s.Start, Component: comp, Keys: keys, Relations: rels, Span: s}, nil
}
