package sandbox

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// SQS's query protocol: form-encoded requests (Action=SendMessage&…) and XML
// answers. SQS moved its SDKs to the JSON protocol in late 2023, but older
// clients still speak this one — Debian's awscli 2.9, aws-sdk-go v1 before
// v1.47, botocore before 1.31 — and a user points them at `flowtop sandbox`
// too. Requests are translated into the JSON protocol's input, run by the
// same code, and the JSON-shaped answer is written back as the XML those
// clients parse (flattened lists and maps, as the SQS API model says).

// sqsQueryNS is the namespace of every SQS query answer.
const sqsQueryNS = "http://queue.amazonaws.com/doc/2012-11-05/"

// sqsQueryService answers the query protocol over the one SQS state. Its name
// stays "sqs", so faults and denials apply to both protocols alike.
type sqsQueryService struct{ *sqsService }

// isFormPost reports whether r carries a form-encoded body and no JSON target.
func isFormPost(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("X-Amz-Target") == "" &&
		strings.Contains(r.Header.Get("Content-Type"), "x-www-form-urlencoded")
}

// sqsQueryActions are the SQS actions, to tell an unsigned form request for
// SQS from one for SNS (which speaks only the query protocol).
var sqsQueryActions = map[string]bool{
	"CreateQueue": true, "DeleteQueue": true, "GetQueueUrl": true, "ListQueues": true,
	"GetQueueAttributes": true, "SetQueueAttributes": true, "SendMessage": true, "SendMessageBatch": true,
	"ReceiveMessage": true, "DeleteMessage": true, "DeleteMessageBatch": true, "ChangeMessageVisibility": true,
	"ChangeMessageVisibilityBatch": true, "PurgeQueue": true, "ListDeadLetterSourceQueues": true,
	"ListQueueTags": true, "StartMessageMoveTask": true, "ListMessageMoveTasks": true, "CancelMessageMoveTask": true,
}

// sqsQueryAction is the Action of a form request for SQS, or "".
func sqsQueryAction(body []byte) string {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	if a := form.Get("Action"); sqsQueryActions[a] {
		return a
	}
	return ""
}

func (sqsQueryService) operation(r *http.Request, body []byte) string {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	for k, v := range r.URL.Query() { // the Action may ride in the URL
		if _, ok := form[k]; !ok {
			form[k] = v
		}
	}
	return form.Get("Action")
}

func (q sqsQueryService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
	if op == "StartMessageMoveTask" && q.s.compat == CompatField {
		fieldHTML500(w)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		q.writeError(w, http.StatusBadRequest, "MalformedQueryString", "the request body is not a form: "+err.Error())
		return
	}
	in, err := sqsQueryInput(form)
	if err != nil {
		q.writeError(w, http.StatusBadRequest, "InvalidParameterValue", err.Error())
		return
	}
	out, err := q.do(r, op, in)
	if err != nil {
		e := sqsErrOf(err)
		q.writeError(w, e.status, e.code, e.message)
		return
	}
	b, err := sqsQueryXML(op, out)
	if err != nil {
		q.writeError(w, http.StatusInternalServerError, "InternalError", "sandbox: encode: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", newRequestID())
	_, _ = w.Write(b)
}

// writeError answers in the query protocol's error shape, with the legacy
// code (AWS.SimpleQueueService.NonExistentQueue, …) old clients match on.
func (sqsQueryService) writeError(w http.ResponseWriter, status int, code, message string) {
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	if c, ok := sqsQueryCodes[code]; ok {
		code = c
	}
	id := newRequestID()
	type xmlError struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
		Detail  string `xml:"Detail"`
	}
	var b strings.Builder
	b.WriteString(xml.Header)
	_ = xml.NewEncoder(&b).Encode(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		NS        string   `xml:"xmlns,attr"`
		Error     xmlError `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}{NS: sqsQueryNS, Error: xmlError{Type: fault, Code: code, Message: message}, RequestID: id})
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// sqsQueryInts are the members the JSON protocol carries as numbers.
var sqsQueryInts = map[string]bool{
	"DelaySeconds": true, "MaxNumberOfMessages": true, "VisibilityTimeout": true, "WaitTimeSeconds": true,
	"MaxResults": true, "MaxNumberOfMessagesPerSecond": true,
}

// formNode is a form's dotted keys as a tree: "A.1.B=v" is A → 1 → B = v.
type formNode struct {
	value string
	kids  map[string]*formNode
}

func (n *formNode) kid(k string) *formNode {
	if n.kids == nil {
		n.kids = map[string]*formNode{}
	}
	c, ok := n.kids[k]
	if !ok {
		c = &formNode{}
		n.kids[k] = c
	}
	return c
}

// members returns the numbered children 1, 2, … in order; a gap ends them, as
// the services read flattened lists.
func (n *formNode) members() []*formNode {
	var out []*formNode
	for i := 1; ; i++ {
		c, ok := n.kids[strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, c)
	}
}

func (n *formNode) str(k string) string {
	if c, ok := n.kids[k]; ok {
		return c.value
	}
	return ""
}

// maxFormKeys bounds the keys of one form request; a batch of ten entries of
// ten attributes each needs about 600.
const maxFormKeys = 4096

// sqsQueryInput translates a query request's form into the JSON protocol's
// input: flattened lists (AttributeName.1), maps (Attribute.1.Name/Value,
// MessageAttribute.1.Value.StringValue) and batch entries
// (SendMessageBatchRequestEntry.1.Id) become the JSON members the handlers read.
func sqsQueryInput(form url.Values) (map[string]json.RawMessage, error) {
	if len(form) > maxFormKeys {
		return nil, &sqsErr{status: http.StatusBadRequest, code: "InvalidParameterValue", message: "too many parameters: " + strconv.Itoa(len(form))}
	}
	root := &formNode{}
	for k, vs := range form {
		if k == "Action" || k == "Version" || len(vs) == 0 {
			continue
		}
		n := root
		for _, part := range strings.Split(k, ".") {
			n = n.kid(part)
		}
		n.value = vs[0]
	}
	obj := queryObject(root)
	in := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		in[k] = b
	}
	return in, nil
}

// queryObject converts one structure of the form tree.
func queryObject(n *formNode) map[string]any {
	out := map[string]any{}
	for name, c := range n.kids {
		switch {
		case name == "Attribute" || name == "Tag":
			key, val, field := "Name", "Value", "Attributes"
			if name == "Tag" {
				key, val, field = "Key", "Value", "Tags"
			}
			m := map[string]string{}
			for _, e := range c.members() {
				m[e.str(key)] = e.str(val)
			}
			out[field] = m
		case name == "MessageAttribute" || name == "MessageSystemAttribute":
			m := map[string]any{}
			for _, e := range c.members() {
				v := map[string]any{}
				if vn, ok := e.kids["Value"]; ok {
					for f, fv := range vn.kids {
						v[f] = fv.value
					}
				}
				m[e.str("Name")] = v
			}
			out[name+"s"] = m
		case name == "AttributeName" || name == "MessageAttributeName" || name == "MessageSystemAttributeName" ||
			name == "TagKey" || name == "AWSAccountId" || name == "ActionName":
			var l []string
			for _, e := range c.members() {
				l = append(l, e.value)
			}
			out[name+"s"] = l
		case strings.HasSuffix(name, "RequestEntry"):
			var l []map[string]any
			for _, e := range c.members() {
				l = append(l, queryObject(e))
			}
			out["Entries"] = l
		case sqsQueryInts[name]:
			if v, err := strconv.Atoi(c.value); err == nil {
				out[name] = v
			} else {
				out[name] = c.value // the handler answers the bad value as AWS would
			}
		default:
			out[name] = c.value
		}
	}
	return out
}

// sqsQueryXML writes the JSON-shaped answer of op as the query protocol's
// <OpResponse><OpResult>…</OpResult><ResponseMetadata/></OpResponse>.
func sqsQueryXML(op string, out any) ([]byte, error) {
	var v any
	if out != nil {
		b, err := json.Marshal(out)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, err
		}
	}
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString("<" + op + "Response xmlns=\"" + sqsQueryNS + "\">")
	if m, ok := v.(map[string]any); ok && len(m) > 0 {
		b.WriteString("<" + op + "Result>")
		queryMembers(&b, op, m)
		b.WriteString("</" + op + "Result>")
	}
	b.WriteString("<ResponseMetadata><RequestId>" + newRequestID() + "</RequestId></ResponseMetadata>")
	b.WriteString("</" + op + "Response>")
	return []byte(b.String()), nil
}

// queryListNames are the element names of the flattened lists in answers.
func queryListName(op, member string) string {
	switch member {
	case "Messages":
		return "Message"
	case "QueueUrls", "queueUrls":
		return "QueueUrl"
	case "Failed":
		return "BatchResultErrorEntry"
	case "Successful":
		return op + "ResultEntry"
	case "Results":
		return op + "ResultEntry"
	}
	return member
}

// queryMembers writes a structure's members in a stable order.
func queryMembers(b *strings.Builder, op string, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := m[k].(type) {
		case []any:
			el := queryListName(op, k)
			for _, e := range v {
				queryValue(b, op, el, e)
			}
		case map[string]any:
			switch k {
			case "Attributes":
				queryMap(b, op, "Attribute", "Name", "Value", v)
			case "Tags":
				queryMap(b, op, "Tag", "Key", "Value", v)
			case "MessageAttributes":
				queryMap(b, op, "MessageAttribute", "Name", "Value", v)
			default:
				queryValue(b, op, k, v)
			}
		default:
			queryValue(b, op, k, v)
		}
	}
}

// queryMap writes a flattened map: one <el><Name>k</Name><Value>v</Value></el> per key.
func queryMap(b *strings.Builder, op, el, key, val string, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString("<" + el + ">")
		queryValue(b, op, key, k)
		queryValue(b, op, val, m[k])
		b.WriteString("</" + el + ">")
	}
}

func queryValue(b *strings.Builder, op, name string, v any) {
	b.WriteString("<" + name + ">")
	switch v := v.(type) {
	case map[string]any:
		queryMembers(b, op, v)
	case string:
		_ = xml.EscapeText(b, []byte(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case float64:
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	case nil:
	default:
		bs, _ := json.Marshal(v)
		_ = xml.EscapeText(b, bs)
	}
	b.WriteString("</" + name + ">")
}
