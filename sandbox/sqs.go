package sandbox

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sqsService emulates SQS's JSON protocol (awsJson1_0, query-compatible).
type sqsService struct {
	s *Server

	mu          sync.Mutex
	queues      map[string]*sqsQueue // by name
	tasks       []*sqsMoveTask
	noMoveTasks bool
	seq         uint64
}

type sqsAttr struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

type sqsMsg struct {
	id, body     string
	attrs        map[string]sqsAttr
	traceHeader  string
	sent         time.Time
	visibleAt    time.Time
	receives     int
	firstRecv    time.Time
	handle       string
	group, dedup string
	seq          string
	deadSource   string // for a DLQ copy: the source queue ARN
	deleted      bool
}

type sqsQueue struct {
	name, url, arn string
	attrs          map[string]string
	fifo           bool
	created        time.Time
	msgs           []*sqsMsg
	byHandle       map[string]*sqsMsg
	deletedN       int
	dedupSeen      map[string]time.Time
	arrived        chan struct{} // closed when a message arrives; then replaced
}

type sqsMoveTask struct {
	handle, source, dest string
	rate                 int
	status               string
	moved, toMove        int
	started              time.Time
	failure              string
	cancel               chan struct{}
}

func newSQSService(s *Server) *sqsService {
	return &sqsService{s: s, queues: map[string]*sqsQueue{}}
}

func (*sqsService) name() string { return "sqs" }

func (*sqsService) operation(r *http.Request, _ []byte) string {
	t := r.Header.Get("X-Amz-Target")
	if op, ok := strings.CutPrefix(t, "AmazonSQS."); ok {
		return op
	}
	return ""
}

// sqsQueryCodes are the legacy query-protocol codes the SDK exposes for query-compatible errors.
var sqsQueryCodes = map[string]string{
	"QueueDoesNotExist":         "AWS.SimpleQueueService.NonExistentQueue",
	"QueueNameExists":           "QueueAlreadyExists",
	"ReceiptHandleIsInvalid":    "ReceiptHandleIsInvalid",
	"UnsupportedOperation":      "AWS.SimpleQueueService.UnsupportedOperation",
	"ResourceNotFoundException": "ResourceNotFoundException",
}

func (*sqsService) writeError(w http.ResponseWriter, status int, code, message string) {
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	q := code
	if c, ok := sqsQueryCodes[code]; ok {
		q = c
	}
	w.Header().Set("X-Amzn-Query-Error", q+";"+fault)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.sqs#" + code, "message": message})
	_, _ = w.Write(b)
}

// DisableMessageMoveTasks makes the endpoint answer UnsupportedOperation to
// the message move task calls, as some SQS-compatible endpoints do.
func (s *Server) DisableMessageMoveTasks(off bool) {
	q := s.sqs()
	q.mu.Lock()
	q.noMoveTasks = off
	q.mu.Unlock()
}

type sqsErr struct {
	status        int
	code, message string
}

func (e *sqsErr) Error() string { return e.code + ": " + e.message }

// sqsErrOf is err as the SQS error the sandbox answers with; anything else
// is an internal error rather than a panic.
func sqsErrOf(err error) *sqsErr {
	var se *sqsErr
	if errors.As(err, &se) {
		return se
	}
	return &sqsErr{status: http.StatusInternalServerError, code: "InternalError", message: err.Error()}
}

func sqsBad(code, format string, args ...any) *sqsErr {
	return &sqsErr{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

func (q *sqsService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
	if op == "StartMessageMoveTask" && q.s.compat == CompatField {
		fieldHTML500(w)
		return
	}
	var in map[string]json.RawMessage
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			q.writeError(w, http.StatusBadRequest, "InvalidParameterValue", "request body is not JSON: "+err.Error())
			return
		}
	}
	out, err := q.do(r, op, in)
	if err != nil {
		e := sqsErrOf(err)
		q.writeError(w, e.status, e.code, e.message)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	writeJSON(w, "application/x-amz-json-1.0", out)
}

// do runs one operation on its decoded input, whichever protocol it came in.
func (q *sqsService) do(r *http.Request, op string, in map[string]json.RawMessage) (any, error) {
	if op == "ReceiveMessage" {
		return q.receive(r, in) // may block: must not hold the lock
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.call(op, in)
}

func str1(in map[string]json.RawMessage, k string) string {
	var s string
	_ = json.Unmarshal(in[k], &s)
	return s
}

func int1(in map[string]json.RawMessage, k string, def int) int {
	raw, ok := in[k]
	if !ok {
		return def
	}
	var n int
	if json.Unmarshal(raw, &n) != nil {
		return def
	}
	return n
}

func (q *sqsService) queueByURL(url string) (*sqsQueue, error) {
	name := url
	if i := strings.LastIndexByte(url, '/'); i >= 0 {
		name = url[i+1:]
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	qq, ok := q.queues[name]
	if !ok {
		return nil, sqsBad("QueueDoesNotExist", "The specified queue does not exist.")
	}
	return qq, nil
}

func (q *sqsService) call(op string, in map[string]json.RawMessage) (any, error) {
	now := q.s.now()
	switch op {
	case "CreateQueue":
		return q.createQueue(in, now)
	case "DeleteQueue":
		qq, err := q.queueByURL(str1(in, "QueueUrl"))
		if err != nil {
			return nil, err
		}
		delete(q.queues, qq.name)
		return nil, nil
	case "GetQueueUrl":
		qq, ok := q.queues[str1(in, "QueueName")]
		if !ok {
			return nil, sqsBad("QueueDoesNotExist", "The specified queue does not exist.")
		}
		return map[string]string{"QueueUrl": qq.url}, nil
	case "ListQueues":
		return q.listQueues(in)
	case "GetQueueAttributes":
		qq, err := q.queueByURL(str1(in, "QueueUrl"))
		if err != nil {
			return nil, err
		}
		var names []string
		_ = json.Unmarshal(in["AttributeNames"], &names)
		return map[string]any{"Attributes": q.attributes(qq, names, now)}, nil
	case "SetQueueAttributes":
		qq, err := q.queueByURL(str1(in, "QueueUrl"))
		if err != nil {
			return nil, err
		}
		var attrs map[string]string
		_ = json.Unmarshal(in["Attributes"], &attrs)
		for k, v := range attrs {
			if err := sqsCheckAttr(k, v); err != nil {
				return nil, err
			}
			qq.attrs[k] = v
		}
		return nil, nil
	case "SendMessage":
		qq, err := q.queueByURL(str1(in, "QueueUrl"))
		if err != nil {
			return nil, err
		}
		return q.send(qq, in, now)
	case "SendMessageBatch":
		return q.sendBatch(in, now)
	case "DeleteMessage":
		qq, err := q.queueByURL(str1(in, "QueueUrl"))
		if err != nil {
			return nil, err
		}
		return nil, q.delete(qq, str1(in, "ReceiptHandle"))
	case "DeleteMessageBatch":
		qq, err := q.queueByURL(str1(in, "QueueUrl"))
		if err != nil {
			return nil, err
		}
		var entries []struct{ Id, ReceiptHandle string }
		_ = json.Unmarshal(in["Entries"], &entries)
		out := map[string]any{"Successful": []any{}, "Failed": []any{}}
		var ok, failed []any
		for _, e := range entries {
			if err := q.delete(qq, e.ReceiptHandle); err != nil {
				se := sqsErrOf(err)
				failed = append(failed, map[string]any{"Id": e.Id, "Code": se.code, "Message": se.message, "SenderFault": true})
				continue
			}
			ok = append(ok, map[string]string{"Id": e.Id})
		}
		if ok != nil {
			out["Successful"] = ok
		}
		if failed != nil {
			out["Failed"] = failed
		}
		return out, nil
	case "ChangeMessageVisibility":
		qq, err := q.queueByURL(str1(in, "QueueUrl"))
		if err != nil {
			return nil, err
		}
		return nil, q.changeVisibility(qq, str1(in, "ReceiptHandle"), int1(in, "VisibilityTimeout", 0), now)
	case "ChangeMessageVisibilityBatch":
		qq, err := q.queueByURL(str1(in, "QueueUrl"))
		if err != nil {
			return nil, err
		}
		var entries []struct {
			Id, ReceiptHandle string
			VisibilityTimeout int
		}
		_ = json.Unmarshal(in["Entries"], &entries)
		ok, failed := []any{}, []any{}
		for _, e := range entries {
			if err := q.changeVisibility(qq, e.ReceiptHandle, e.VisibilityTimeout, now); err != nil {
				se := sqsErrOf(err)
				failed = append(failed, map[string]any{"Id": e.Id, "Code": se.code, "Message": se.message, "SenderFault": true})
				continue
			}
			ok = append(ok, map[string]string{"Id": e.Id})
		}
		return map[string]any{"Successful": ok, "Failed": failed}, nil
	case "PurgeQueue":
		qq, err := q.queueByURL(str1(in, "QueueUrl"))
		if err != nil {
			return nil, err
		}
		qq.msgs, qq.byHandle, qq.deletedN = nil, map[string]*sqsMsg{}, 0
		return nil, nil
	case "ListDeadLetterSourceQueues":
		qq, err := q.queueByURL(str1(in, "QueueUrl"))
		if err != nil {
			return nil, err
		}
		urls := []string{}
		for _, src := range q.sortedQueues() {
			if rp := sqsRedrive(src); rp.target == qq.arn {
				urls = append(urls, src.url)
			}
		}
		return map[string]any{"queueUrls": urls}, nil
	case "ListQueueTags":
		return map[string]any{"Tags": map[string]string{}}, nil
	case "StartMessageMoveTask", "ListMessageMoveTasks", "CancelMessageMoveTask":
		if q.noMoveTasks {
			return nil, sqsBad("UnsupportedOperation", "message move tasks are not supported by this endpoint")
		}
		return q.moveTaskCall(op, in, now)
	}
	return nil, sqsBad("UnsupportedOperation", "sandbox: SQS %s is not emulated", op)
}

func sqsCheckAttr(k, v string) error {
	switch k {
	case "VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds", "MaximumMessageSize":
		if _, err := strconv.Atoi(v); err != nil {
			return sqsBad("InvalidAttributeValue", "Invalid value for the parameter %s.", k)
		}
	case "RedrivePolicy":
		var rp struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     any    `json:"maxReceiveCount"`
		}
		if v != "" && (json.Unmarshal([]byte(v), &rp) != nil || rp.DeadLetterTargetArn == "") {
			return sqsBad("InvalidAttributeValue", "Invalid value for the parameter RedrivePolicy.")
		}
	}
	return nil
}

func (q *sqsService) createQueue(in map[string]json.RawMessage, now time.Time) (any, error) {
	name := str1(in, "QueueName")
	if name == "" || len(name) > 80 {
		return nil, sqsBad("InvalidParameterValue", "Queue name must be 1 to 80 characters")
	}
	var attrs map[string]string
	_ = json.Unmarshal(in["Attributes"], &attrs)
	fifo := strings.HasSuffix(name, ".fifo")
	if (attrs["FifoQueue"] == "true") != fifo {
		if attrs["FifoQueue"] == "true" || fifo {
			return nil, sqsBad("InvalidParameterValue", "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix")
		}
	}
	if existing, ok := q.queues[name]; ok {
		return map[string]string{"QueueUrl": existing.url}, nil
	}
	for k, v := range attrs {
		if err := sqsCheckAttr(k, v); err != nil {
			return nil, err
		}
	}
	qq := &sqsQueue{
		name: name, url: q.s.URL() + "/" + Account + "/" + name,
		arn:   "arn:aws:sqs:" + q.s.region + ":" + Account + ":" + name,
		attrs: map[string]string{"VisibilityTimeout": "30", "MessageRetentionPeriod": "345600", "DelaySeconds": "0", "MaximumMessageSize": "262144", "ReceiveMessageWaitTimeSeconds": "0"},
		fifo:  fifo, created: now, byHandle: map[string]*sqsMsg{}, dedupSeen: map[string]time.Time{}, arrived: make(chan struct{}),
	}
	for k, v := range attrs {
		qq.attrs[k] = v
	}
	q.queues[name] = qq
	return map[string]string{"QueueUrl": qq.url}, nil
}

func (q *sqsService) sortedQueues() []*sqsQueue {
	out := make([]*sqsQueue, 0, len(q.queues))
	for _, qq := range q.queues {
		out = append(out, qq)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (q *sqsService) listQueues(in map[string]json.RawMessage) (any, error) {
	prefix := str1(in, "QueueNamePrefix")
	max := int1(in, "MaxResults", 0)
	start, _ := strconv.Atoi(str1(in, "NextToken"))
	var urls []string
	for _, qq := range q.sortedQueues() {
		if strings.HasPrefix(qq.name, prefix) {
			urls = append(urls, qq.url)
		}
	}
	if start > len(urls) {
		start = len(urls)
	}
	urls = urls[start:]
	out := map[string]any{"QueueUrls": urls}
	if max > 0 && len(urls) > max {
		out["QueueUrls"] = urls[:max]
		out["NextToken"] = strconv.Itoa(start + max)
	}
	return out, nil
}

type redrive struct {
	target string
	max    int
}

func sqsRedrive(qq *sqsQueue) redrive {
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if json.Unmarshal([]byte(qq.attrs["RedrivePolicy"]), &rp) != nil {
		return redrive{}
	}
	n, _ := strconv.Atoi(fmt.Sprint(rp.MaxReceiveCount))
	return redrive{target: rp.DeadLetterTargetArn, max: n}
}

func (q *sqsService) attributes(qq *sqsQueue, names []string, now time.Time) map[string]string {
	visible, inflight, delayed := 0, 0, 0
	for _, m := range qq.msgs {
		switch {
		case m.deleted:
		case m.visibleAt.After(now) && m.receives == 0:
			delayed++
		case m.visibleAt.After(now):
			inflight++
		default:
			visible++
		}
	}
	all := map[string]string{
		"QueueArn":                              qq.arn,
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inflight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
		"CreatedTimestamp":                      strconv.FormatInt(qq.created.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(qq.created.Unix(), 10),
	}
	for k, v := range qq.attrs {
		all[k] = v
	}
	if qq.fifo {
		all["FifoQueue"] = "true"
		if _, ok := all["ContentBasedDeduplication"]; !ok {
			all["ContentBasedDeduplication"] = "false"
		}
	}
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return out
}

// md5OfAttributes is SQS's checksum of message attributes: for each attribute
// in name order, the length-prefixed name, data type, a transport byte (1
// string, 2 binary) and the length-prefixed value.
func md5OfAttributes(attrs map[string]sqsAttr) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	var l [4]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		put([]byte(n))
		put([]byte(a.DataType))
		if strings.HasPrefix(a.DataType, "Binary") {
			h.Write([]byte{2})
			put(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			put([]byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

type sqsSendIn struct {
	Id                      string
	MessageBody             string
	DelaySeconds            *int
	MessageAttributes       map[string]sqsAttr
	MessageSystemAttributes map[string]sqsAttr
	MessageGroupId          string
	MessageDeduplicationId  string
}

func (q *sqsService) send(qq *sqsQueue, in map[string]json.RawMessage, now time.Time) (any, error) {
	var s sqsSendIn
	raw, _ := json.Marshal(in)
	_ = json.Unmarshal(raw, &s)
	return q.enqueue(qq, s, now)
}

func (q *sqsService) enqueue(qq *sqsQueue, s sqsSendIn, now time.Time) (map[string]any, error) {
	if s.MessageBody == "" {
		return nil, sqsBad("MissingParameter", "The request must contain the parameter MessageBody.")
	}
	if len(s.MessageBody) > 1<<20 {
		return nil, sqsBad("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.")
	}
	if len(s.MessageAttributes) > 10 {
		return nil, sqsBad("InvalidParameterValue", "Number of message attributes [%d] exceeds the allowed maximum [10].", len(s.MessageAttributes))
	}
	for name, a := range s.MessageAttributes {
		if a.DataType == "" {
			return nil, sqsBad("InvalidParameterValue", "The message attribute '%s' must contain a non-empty message attribute type.", name)
		}
	}
	delay, _ := strconv.Atoi(qq.attrs["DelaySeconds"])
	if s.DelaySeconds != nil {
		delay = *s.DelaySeconds
	}
	q.seq++
	m := &sqsMsg{id: newRequestID(), body: s.MessageBody, attrs: s.MessageAttributes, sent: now, visibleAt: now.Add(time.Duration(delay) * time.Second), group: s.MessageGroupId, dedup: s.MessageDeduplicationId}
	if th, ok := s.MessageSystemAttributes["AWSTraceHeader"]; ok {
		m.traceHeader = th.StringValue
	}
	if qq.fifo {
		if m.group == "" {
			return nil, sqsBad("MissingParameter", "The request must contain the parameter MessageGroupId.")
		}
		if m.dedup == "" {
			if qq.attrs["ContentBasedDeduplication"] != "true" {
				return nil, sqsBad("InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
			}
			sum := sha256.Sum256([]byte(s.MessageBody))
			m.dedup = hex.EncodeToString(sum[:])
		}
		m.seq = fmt.Sprintf("%020d", q.seq)
		for k, t := range qq.dedupSeen {
			if now.Sub(t) > 5*time.Minute {
				delete(qq.dedupSeen, k)
			}
		}
		if _, dup := qq.dedupSeen[m.dedup]; dup {
			// Accepted, not delivered again: AWS answers as if it were sent.
			return map[string]any{"MessageId": newRequestID(), "MD5OfMessageBody": md5Hex(s.MessageBody), "SequenceNumber": m.seq}, nil
		}
		qq.dedupSeen[m.dedup] = now
	}
	qq.msgs = append(qq.msgs, m)
	close(qq.arrived)
	qq.arrived = make(chan struct{})
	out := map[string]any{"MessageId": m.id, "MD5OfMessageBody": md5Hex(m.body)}
	if sum := md5OfAttributes(m.attrs); sum != "" {
		out["MD5OfMessageAttributes"] = sum
	}
	if qq.fifo {
		out["SequenceNumber"] = m.seq
	}
	return out, nil
}

func (q *sqsService) sendBatch(in map[string]json.RawMessage, now time.Time) (any, error) {
	qq, err := q.queueByURL(str1(in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	var entries []sqsSendIn
	_ = json.Unmarshal(in["Entries"], &entries)
	if len(entries) == 0 {
		return nil, sqsBad("EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.")
	}
	if len(entries) > 10 {
		return nil, sqsBad("TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent %d.", len(entries))
	}
	ok, failed := []any{}, []any{}
	for _, e := range entries {
		res, err := q.enqueue(qq, e, now)
		if err != nil {
			se := sqsErrOf(err)
			failed = append(failed, map[string]any{"Id": e.Id, "Code": se.code, "Message": se.message, "SenderFault": true})
			continue
		}
		res["Id"] = e.Id
		ok = append(ok, res)
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}

func (q *sqsService) delete(qq *sqsQueue, handle string) error {
	m, ok := qq.byHandle[handle]
	if !ok {
		if handle == "" || !strings.HasPrefix(handle, "rh-") {
			return sqsBad("ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid receipt handle.", clipStr(handle))
		}
		return nil // AWS accepts a stale handle of a deleted message
	}
	delete(qq.byHandle, handle)
	if !m.deleted {
		m.deleted = true
		qq.deletedN++
		q.compact(qq)
	}
	return nil
}

func clipStr(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// compact drops deleted messages once they are most of the slice.
func (q *sqsService) compact(qq *sqsQueue) {
	if qq.deletedN < 64 || qq.deletedN*2 < len(qq.msgs) {
		return
	}
	keep := qq.msgs[:0]
	for _, m := range qq.msgs {
		if !m.deleted {
			keep = append(keep, m)
		}
	}
	for i := len(keep); i < len(qq.msgs); i++ {
		qq.msgs[i] = nil
	}
	qq.msgs, qq.deletedN = keep, 0
}

func (q *sqsService) changeVisibility(qq *sqsQueue, handle string, secs int, now time.Time) error {
	m, ok := qq.byHandle[handle]
	if !ok || m.deleted {
		return sqsBad("ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid receipt handle.", clipStr(handle))
	}
	if secs < 0 || secs > 43200 {
		return sqsBad("InvalidParameterValue", "Value %d for parameter VisibilityTimeout is invalid.", secs)
	}
	m.visibleAt = now.Add(time.Duration(secs) * time.Second)
	if secs == 0 {
		close(qq.arrived)
		qq.arrived = make(chan struct{})
	}
	return nil
}

// receive serves ReceiveMessage, long-polling without holding the lock.
func (q *sqsService) receive(r *http.Request, in map[string]json.RawMessage) (any, error) {
	wait := -1
	if _, ok := in["WaitTimeSeconds"]; ok {
		wait = int1(in, "WaitTimeSeconds", 0)
	}
	if wait < 0 {
		q.mu.Lock()
		if qq, err := q.queueByURL(str1(in, "QueueUrl")); err == nil {
			wait, _ = strconv.Atoi(qq.attrs["ReceiveMessageWaitTimeSeconds"])
		}
		q.mu.Unlock()
	}
	if wait < 0 || wait > 20 {
		return nil, sqsBad("InvalidParameterValue", "Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20.", wait)
	}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		q.mu.Lock()
		qq, err := q.queueByURL(str1(in, "QueueUrl"))
		if err != nil {
			q.mu.Unlock()
			return nil, err
		}
		msgs := q.take(qq, in, q.s.now(), wait == 0)
		arrived := qq.arrived
		q.mu.Unlock()
		if len(msgs) > 0 || !time.Now().Before(deadline) {
			return map[string]any{"Messages": msgs}, nil
		}
		// Wake on a new message, a short tick (for visibility expiry), the deadline, or shutdown.
		tick := time.NewTimer(min(time.Until(deadline), 200*time.Millisecond))
		select {
		case <-arrived:
		case <-tick.C:
		case <-r.Context().Done():
			tick.Stop()
			return map[string]any{"Messages": []any{}}, nil
		case <-q.s.Context().Done():
			tick.Stop()
			return map[string]any{"Messages": []any{}}, nil
		}
		tick.Stop()
	}
}

func wantAttr(list []string, name string) bool {
	for _, n := range list {
		if n == "All" || n == name {
			return true
		}
	}
	return false
}

// take receives up to MaxNumberOfMessages visible messages (the caller holds the lock).
// A short poll may leave visible messages out, as AWS's does (Fault.Miss).
func (q *sqsService) take(qq *sqsQueue, in map[string]json.RawMessage, now time.Time, short bool) []any {
	max := int1(in, "MaxNumberOfMessages", 1)
	if max < 1 {
		max = 1
	}
	if max > 10 {
		max = 10
	}
	vis, _ := strconv.Atoi(qq.attrs["VisibilityTimeout"])
	if _, ok := in["VisibilityTimeout"]; ok {
		vis = int1(in, "VisibilityTimeout", vis)
	}
	var sysNames, attrNames []string
	_ = json.Unmarshal(in["AttributeNames"], &sysNames)
	var more []string
	_ = json.Unmarshal(in["MessageSystemAttributeNames"], &more)
	sysNames = append(sysNames, more...)
	_ = json.Unmarshal(in["MessageAttributeNames"], &attrNames)
	rp := sqsRedrive(qq)
	var dlq *sqsQueue
	if rp.target != "" && rp.max > 0 {
		dlq, _ = q.queueByURL(rp.target)
	}
	busyGroups := map[string]bool{}
	if qq.fifo {
		for _, m := range qq.msgs {
			if !m.deleted && m.receives > 0 && m.visibleAt.After(now) {
				busyGroups[m.group] = true
			}
		}
	}
	out := []any{}
	for _, m := range qq.msgs {
		if len(out) >= max {
			break
		}
		if m.deleted || m.visibleAt.After(now) {
			continue
		}
		if short && q.s.Faults.miss("sqs", "ReceiveMessage") {
			continue
		}
		if qq.fifo {
			if busyGroups[m.group] {
				continue
			}
		}
		// A message received maxReceiveCount times moves to the DLQ instead of a further receive.
		if dlq != nil && m.receives >= rp.max {
			m.deleted = true
			qq.deletedN++
			cp := *m
			cp.deleted, cp.receives, cp.handle, cp.visibleAt = false, m.receives, "", now
			if q.s.compat != CompatField {
				cp.deadSource = qq.arn
			}
			dlq.msgs = append(dlq.msgs, &cp)
			close(dlq.arrived)
			dlq.arrived = make(chan struct{})
			continue
		}
		m.receives++
		if m.firstRecv.IsZero() {
			m.firstRecv = now
		}
		if m.handle != "" {
			delete(qq.byHandle, m.handle)
		}
		q.seq++
		m.handle = fmt.Sprintf("rh-%s-%d", m.id, q.seq)
		qq.byHandle[m.handle] = m
		m.visibleAt = now.Add(time.Duration(vis) * time.Second)
		if qq.fifo {
			busyGroups[m.group] = true
		}
		out = append(out, q.render(qq, m, sysNames, attrNames))
	}
	q.compact(qq)
	return out
}

func (q *sqsService) render(qq *sqsQueue, m *sqsMsg, sysNames, attrNames []string) map[string]any {
	msg := map[string]any{"MessageId": m.id, "ReceiptHandle": m.handle, "MD5OfBody": md5Hex(m.body), "Body": m.body}
	sys := map[string]string{}
	add := func(name, v string) {
		if v != "" && wantAttr(sysNames, name) {
			sys[name] = v
		}
	}
	add("SenderId", "AIDAEXAMPLESANDBOX")
	add("SentTimestamp", strconv.FormatInt(m.sent.UnixMilli(), 10))
	add("ApproximateReceiveCount", strconv.Itoa(m.receives))
	add("ApproximateFirstReceiveTimestamp", strconv.FormatInt(m.firstRecv.UnixMilli(), 10))
	add("AWSTraceHeader", m.traceHeader)
	add("DeadLetterQueueSourceArn", m.deadSource)
	if qq.fifo {
		add("MessageGroupId", m.group)
		add("MessageDeduplicationId", m.dedup)
		add("SequenceNumber", m.seq)
	}
	if len(sys) > 0 {
		msg["Attributes"] = sys
	}
	picked := map[string]sqsAttr{}
	for name, a := range m.attrs {
		for _, want := range attrNames {
			if want == "All" || want == ".*" || want == name || (strings.HasSuffix(want, ".*") && strings.HasPrefix(name, strings.TrimSuffix(want, "*"))) {
				picked[name] = a
				break
			}
		}
	}
	if len(picked) > 0 {
		msg["MessageAttributes"] = picked
		msg["MD5OfMessageAttributes"] = md5OfAttributes(picked)
	}
	return msg
}

// deliver puts a message on a queue in-process (SNS and EventBridge targets).
// queue is a name, URL or ARN. It returns the new message ID.
func (q *sqsService) deliver(queue, body string, attrs map[string]sqsAttr, traceHeader, group, dedup string) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qq, err := q.queueByURL(queue)
	if err != nil {
		return "", err
	}
	s := sqsSendIn{MessageBody: body, MessageAttributes: attrs, MessageGroupId: group, MessageDeduplicationId: dedup}
	if traceHeader != "" {
		s.MessageSystemAttributes = map[string]sqsAttr{"AWSTraceHeader": {DataType: "String", StringValue: traceHeader}}
	}
	if qq.fifo && s.MessageGroupId == "" {
		s.MessageGroupId = "default"
	}
	if qq.fifo && s.MessageDeduplicationId == "" {
		s.MessageDeduplicationId = newRequestID()
	}
	res, err := q.enqueue(qq, s, q.s.now())
	if err != nil {
		return "", err
	}
	id, _ := res["MessageId"].(string)
	return id, nil
}

// ---- message move tasks ----

func (q *sqsService) moveTaskCall(op string, in map[string]json.RawMessage, now time.Time) (any, error) {
	switch op {
	case "StartMessageMoveTask":
		src := str1(in, "SourceArn")
		sq, err := q.queueByURL(src)
		if err != nil {
			return nil, sqsBad("ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.")
		}
		isDLQ := false
		for _, qq := range q.queues {
			if sqsRedrive(qq).target == sq.arn {
				isDLQ = true
			}
		}
		if !isDLQ {
			return nil, sqsBad("InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.")
		}
		for _, t := range q.tasks {
			if t.source == sq.arn && t.status == "RUNNING" {
				return nil, sqsBad("UnsupportedOperation", "There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
			}
		}
		dest := str1(in, "DestinationArn")
		if dest != "" {
			if _, err := q.queueByURL(dest); err != nil {
				return nil, sqsBad("ResourceNotFoundException", "The resource that you specified for the DestinationArn parameter doesn't exist.")
			}
		}
		n := 0
		for _, m := range sq.msgs {
			if !m.deleted {
				n++
			}
		}
		q.seq++
		t := &sqsMoveTask{
			handle: base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("task-%d-%s", q.seq, sq.arn))), source: sq.arn, dest: dest,
			rate: int1(in, "MaxNumberOfMessagesPerSecond", 0), status: "RUNNING", toMove: n, started: now, cancel: make(chan struct{}),
		}
		q.tasks = append(q.tasks, t)
		go q.runMoveTask(t)
		return map[string]string{"TaskHandle": t.handle}, nil
	case "ListMessageMoveTasks":
		src := str1(in, "SourceArn")
		sq, err := q.queueByURL(src)
		if err != nil {
			return nil, sqsBad("ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.")
		}
		max := int1(in, "MaxResults", 1)
		results := []any{}
		for i := len(q.tasks) - 1; i >= 0 && len(results) < max; i-- {
			t := q.tasks[i]
			if t.source != sq.arn {
				continue
			}
			r := map[string]any{
				"Status": t.status, "SourceArn": t.source, "ApproximateNumberOfMessagesMoved": t.moved,
				"ApproximateNumberOfMessagesToMove": t.toMove, "StartedTimestamp": t.started.UnixMilli(),
			}
			if t.dest != "" {
				r["DestinationArn"] = t.dest
			}
			if t.rate > 0 {
				r["MaxNumberOfMessagesPerSecond"] = t.rate
			}
			if t.status == "RUNNING" {
				r["TaskHandle"] = t.handle
			}
			if t.failure != "" {
				r["FailureReason"] = t.failure
			}
			results = append(results, r)
		}
		return map[string]any{"Results": results}, nil
	default: // CancelMessageMoveTask
		h := str1(in, "TaskHandle")
		for _, t := range q.tasks {
			if t.handle == h && t.status == "RUNNING" {
				t.status = "CANCELLING"
				close(t.cancel)
				return map[string]any{"ApproximateNumberOfMessagesMoved": t.moved}, nil
			}
		}
		return nil, sqsBad("ResourceNotFoundException", "The task handle is not valid or the task is not running.")
	}
}

// runMoveTask moves a DLQ's messages back at the task's rate (default 500/s).
func (q *sqsService) runMoveTask(t *sqsMoveTask) {
	rate := t.rate
	if rate <= 0 {
		rate = 500
	}
	interval := time.Second / time.Duration(rate)
	tick := time.NewTicker(max(interval, time.Millisecond))
	defer tick.Stop()
	perTick := 1
	if interval < time.Millisecond {
		perTick = rate / 1000
	}
	for {
		select {
		case <-t.cancel:
			q.mu.Lock()
			t.status = "CANCELLED"
			q.mu.Unlock()
			return
		case <-q.s.Context().Done():
			return
		case <-tick.C:
		}
		q.mu.Lock()
		done, err := q.moveSome(t, perTick)
		if err != nil {
			t.status, t.failure = "FAILED", err.Error()
		} else if done {
			t.status = "COMPLETED"
		}
		q.mu.Unlock()
		if err != nil || done {
			return
		}
	}
}

func (q *sqsService) moveSome(t *sqsMoveTask, n int) (bool, error) {
	sq, err := q.queueByURL(t.source)
	if err != nil {
		return true, fmt.Errorf("source queue deleted")
	}
	moved := 0
	for _, m := range sq.msgs {
		if moved >= n {
			break
		}
		if m.deleted {
			continue
		}
		dest := t.dest
		if dest == "" {
			dest = m.deadSource
		}
		dq, err := q.queueByURL(dest)
		if err != nil {
			return true, fmt.Errorf("destination %s does not exist", dest)
		}
		cp := &sqsMsg{id: newRequestID(), body: m.body, attrs: m.attrs, traceHeader: m.traceHeader, sent: q.s.now(), visibleAt: q.s.now(), group: m.group, dedup: m.dedup}
		dq.msgs = append(dq.msgs, cp)
		close(dq.arrived)
		dq.arrived = make(chan struct{})
		m.deleted = true
		sq.deletedN++
		if m.handle != "" {
			delete(sq.byHandle, m.handle)
		}
		moved++
		t.moved++
	}
	q.compact(sq)
	return moved < n, nil
}
