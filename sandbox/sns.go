package sandbox

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// snsService emulates SNS over the AWS Query protocol (form-encoded requests,
// XML answers): topics, SQS and Lambda subscriptions (raw or enveloped) and
// Publish.
type snsService struct {
	s *Server

	mu     sync.Mutex
	topics map[string]*snsTopic // by ARN
	subSeq int
}

type snsTopic struct {
	arn, name string
	subs      []*snsSub
}

type snsSub struct {
	arn, protocol, endpoint string
	raw                     bool
	attrs                   map[string]string // settable attributes other than RawMessageDelivery, as set
}

// snsSubAttrs are the subscription attributes Subscribe and
// SetSubscriptionAttributes accept.
var snsSubAttrs = map[string]bool{
	"DeliveryPolicy": true, "FilterPolicy": true, "FilterPolicyScope": true, "RawMessageDelivery": true,
	"RedrivePolicy": true, "SubscriptionRoleArn": true, "ReplayPolicy": true,
}

// set validates and sets one attribute.
func (s *snsSub) set(name, value string) error {
	if !snsSubAttrs[name] {
		return badReq("InvalidParameter", "Invalid parameter: AttributeName")
	}
	switch name {
	case "RawMessageDelivery":
		if value != "true" && value != "false" {
			return badReq("InvalidParameter", "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [%s]. Must be true or false.", value)
		}
		s.raw = value == "true"
		return nil
	case "FilterPolicy":
		var pol map[string]any
		if value != "" && (json.Unmarshal([]byte(value), &pol) != nil || validatePattern(pol) != nil) {
			return badReq("InvalidParameter", "Invalid parameter: FilterPolicy: failed to parse JSON.")
		}
	case "FilterPolicyScope":
		if value != "MessageAttributes" && value != "MessageBody" {
			return badReq("InvalidParameter", "Invalid parameter: FilterPolicyScope: Invalid value [%s]. Please use either MessageBody or MessageAttributes", value)
		}
	case "RedrivePolicy":
		var rp struct{ DeadLetterTargetArn string }
		if value != "" && (json.Unmarshal([]byte(value), &rp) != nil || !strings.HasPrefix(rp.DeadLetterTargetArn, "arn:aws:sqs:")) {
			return badReq("InvalidParameter", "Invalid parameter: RedrivePolicy: deadLetterTargetArn is not a valid SQS queue ARN")
		}
	}
	if s.attrs == nil {
		s.attrs = map[string]string{}
	}
	if value == "" {
		delete(s.attrs, name)
	} else {
		s.attrs[name] = value
	}
	return nil
}

// attributes is what GetSubscriptionAttributes answers: the fixed ones, and
// the optional ones only when set (FilterPolicyScope defaults with a FilterPolicy).
func (s *snsSub) attributes(topic string) map[string]string {
	out := map[string]string{
		"SubscriptionArn": s.arn, "TopicArn": topic, "Owner": Account, "Protocol": s.protocol, "Endpoint": s.endpoint,
		"ConfirmationWasAuthenticated": "true", "PendingConfirmation": "false", "RawMessageDelivery": fmt.Sprint(s.raw),
		"SubscriptionPrincipal": "arn:aws:iam::" + Account + ":user/sandbox",
	}
	for k, v := range s.attrs {
		out[k] = v
	}
	if out["FilterPolicy"] != "" && out["FilterPolicyScope"] == "" {
		out["FilterPolicyScope"] = "MessageAttributes"
	}
	return out
}

// accepts reports whether the subscription's filter policy lets a message through.
func (s *snsSub) accepts(message string, attrs map[string]sqsAttr) bool {
	raw := s.attrs["FilterPolicy"]
	if raw == "" {
		return true
	}
	var pol map[string]any
	if json.Unmarshal([]byte(raw), &pol) != nil {
		return false
	}
	doc := map[string]any{}
	if s.attrs["FilterPolicyScope"] == "MessageBody" {
		if json.Unmarshal([]byte(message), &doc) != nil {
			return false
		}
		return matchPattern(pol, doc)
	}
	for k, a := range attrs {
		switch a.DataType {
		case "Number":
			var f float64
			if _, err := fmt.Sscan(a.StringValue, &f); err == nil {
				doc[k] = f
			}
		case "String.Array":
			var arr []any
			if json.Unmarshal([]byte(a.StringValue), &arr) == nil {
				doc[k] = arr
			}
		default:
			doc[k] = a.StringValue
		}
	}
	return matchPattern(pol, doc)
}

// snsPage cuts one page of n sorted items (100 a page) by NextToken.
func snsPage(form url.Values, n int) (from, to int, next string, err error) {
	if tok := form.Get("NextToken"); tok != "" {
		from, err = strconv.Atoi(strings.TrimPrefix(tok, "snspage-"))
		if err != nil || !strings.HasPrefix(tok, "snspage-") || from < 0 || from > n {
			return 0, 0, "", badReq("InvalidParameter", "Invalid parameter: NextToken")
		}
	}
	to = min(from+100, n)
	if to < n {
		next = "snspage-" + strconv.Itoa(to)
	}
	return from, to, next, nil
}

// subscription finds a subscription by ARN (the caller holds n.mu).
func (n *snsService) subscription(arn string) (*snsTopic, *snsSub) {
	for _, t := range n.topics {
		for _, s := range t.subs {
			if s.arn == arn {
				return t, s
			}
		}
	}
	return nil, nil
}

func newSNSService(s *Server) *snsService {
	return &snsService{s: s, topics: map[string]*snsTopic{}}
}

func (*snsService) name() string { return "sns" }

func (*snsService) operation(r *http.Request, body []byte) string {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	return form.Get("Action")
}

func (*snsService) writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	kind := "Sender"
	if status >= 500 {
		kind = "Receiver"
	}
	fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		kind, xmlEscape(code), xmlEscape(message), newRequestID())
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (n *snsService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
	form, _ := url.ParseQuery(string(body))
	result, err := n.call(op, form)
	if err != nil {
		ae := asAPIErr(err)
		n.writeError(w, ae.status, ae.code, ae.message)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		op, op, result, op, newRequestID(), op)
}

// entries reads Prefix.entry.N.key / .value (or .Name / .Value.*) form lists.
func entries(form url.Values, prefix string) map[string]url.Values {
	out := map[string]url.Values{}
	for k, v := range form {
		rest, ok := strings.CutPrefix(k, prefix+".entry.")
		if !ok {
			continue
		}
		idx, field, _ := strings.Cut(rest, ".")
		if out[idx] == nil {
			out[idx] = url.Values{}
		}
		out[idx][field] = v
	}
	return out
}

func (n *snsService) call(op string, form url.Values) (string, error) {
	switch op {
	case "CreateTopic":
		name := form.Get("Name")
		if name == "" {
			return "", badReq("InvalidParameter", "Invalid parameter: Topic Name")
		}
		arn := "arn:aws:sns:" + n.s.region + ":" + Account + ":" + name
		n.mu.Lock()
		if _, ok := n.topics[arn]; !ok {
			n.topics[arn] = &snsTopic{arn: arn, name: name}
		}
		n.mu.Unlock()
		return "<TopicArn>" + arn + "</TopicArn>", nil
	case "ListTopics":
		n.mu.Lock()
		var arns []string
		for a := range n.topics {
			arns = append(arns, a)
		}
		n.mu.Unlock()
		sort.Strings(arns)
		from, to, next, err := snsPage(form, len(arns))
		if err != nil {
			return "", err
		}
		var b strings.Builder
		b.WriteString("<Topics>")
		for _, a := range arns[from:to] {
			b.WriteString("<member><TopicArn>" + xmlEscape(a) + "</TopicArn></member>")
		}
		b.WriteString("</Topics>")
		if next != "" {
			b.WriteString("<NextToken>" + next + "</NextToken>")
		}
		return b.String(), nil
	case "Subscribe":
		n.mu.Lock()
		defer n.mu.Unlock()
		t, ok := n.topics[form.Get("TopicArn")]
		if !ok {
			return "", &apiErr{status: 404, code: "NotFound", message: "Topic does not exist"}
		}
		proto := form.Get("Protocol")
		if proto != "sqs" && proto != "lambda" {
			return "", badReq("InvalidParameter", "Invalid parameter: sandbox supports sqs and lambda subscriptions")
		}
		n.subSeq++
		sub := &snsSub{arn: fmt.Sprintf("%s:%08d-0000-4000-8000-000000000000", t.arn, n.subSeq), protocol: proto, endpoint: form.Get("Endpoint")}
		for _, e := range entries(form, "Attributes") {
			if err := sub.set(e.Get("key"), e.Get("value")); err != nil {
				n.subSeq--
				return "", err
			}
		}
		t.subs = append(t.subs, sub)
		return "<SubscriptionArn>" + sub.arn + "</SubscriptionArn>", nil
	case "SetSubscriptionAttributes":
		n.mu.Lock()
		defer n.mu.Unlock()
		_, sub := n.subscription(form.Get("SubscriptionArn"))
		if sub == nil {
			return "", &apiErr{status: 404, code: "NotFound", message: "Subscription does not exist"}
		}
		return "", sub.set(form.Get("AttributeName"), form.Get("AttributeValue"))
	case "GetSubscriptionAttributes":
		n.mu.Lock()
		defer n.mu.Unlock()
		t, sub := n.subscription(form.Get("SubscriptionArn"))
		if sub == nil {
			return "", &apiErr{status: 404, code: "NotFound", message: "Subscription does not exist"}
		}
		attrs := sub.attributes(t.arn)
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("<Attributes>")
		for _, k := range keys {
			b.WriteString("<entry><key>" + k + "</key><value>" + xmlEscape(attrs[k]) + "</value></entry>")
		}
		b.WriteString("</Attributes>")
		return b.String(), nil
	case "ListSubscriptionsByTopic", "ListSubscriptions":
		n.mu.Lock()
		defer n.mu.Unlock()
		var topics []*snsTopic
		for _, t := range n.topics {
			if op == "ListSubscriptionsByTopic" && t.arn != form.Get("TopicArn") {
				continue
			}
			topics = append(topics, t)
		}
		if op == "ListSubscriptionsByTopic" && len(topics) == 0 {
			return "", &apiErr{status: 404, code: "NotFound", message: "Topic does not exist"}
		}
		sort.Slice(topics, func(i, j int) bool { return topics[i].arn < topics[j].arn })
		var subs []*snsSub
		var owners []string
		for _, t := range topics {
			for _, s := range t.subs {
				subs, owners = append(subs, s), append(owners, t.arn)
			}
		}
		from, to, next, err := snsPage(form, len(subs))
		if err != nil {
			return "", err
		}
		var b strings.Builder
		b.WriteString("<Subscriptions>")
		for i := from; i < to; i++ {
			s := subs[i]
			fmt.Fprintf(&b, "<member><SubscriptionArn>%s</SubscriptionArn><TopicArn>%s</TopicArn><Protocol>%s</Protocol><Endpoint>%s</Endpoint><Owner>%s</Owner></member>",
				xmlEscape(s.arn), xmlEscape(owners[i]), s.protocol, xmlEscape(s.endpoint), Account)
		}
		b.WriteString("</Subscriptions>")
		if next != "" {
			b.WriteString("<NextToken>" + next + "</NextToken>")
		}
		return b.String(), nil
	case "Publish":
		attrs := map[string]sqsAttr{}
		for _, e := range entries(form, "MessageAttributes") {
			attrs[e.Get("Name")] = sqsAttr{DataType: e.Get("Value.DataType"), StringValue: e.Get("Value.StringValue")}
		}
		arn := form.Get("TopicArn")
		if arn == "" {
			arn = form.Get("TargetArn")
		}
		id, err := n.publish(arn, form.Get("Message"), form.Get("Subject"), attrs, "")
		if err != nil {
			return "", err
		}
		return "<MessageId>" + id + "</MessageId>", nil
	}
	return "", badReq("InvalidAction", "sandbox: SNS %s is not emulated", op)
}

// deadLetter sends what a subscription could not deliver to its
// RedrivePolicy's queue, if it has one (an undeliverable endpoint: a deleted
// queue or function). As SNS does, the DLQ gets the notification exactly as
// the subscription would have delivered it (the JSON envelope, or with raw
// delivery the message and its attributes) and nothing more: SNS adds no
// error attributes (why it failed is in delivery-status logs and metrics).
//
// With --compat field it writes what some AWS-compatible endpoints write
// instead: the copy also carries the RequestID, ErrorCode and ErrorMessage
// message attributes of a Lambda async-invocation DLQ message, so flowtop
// must not take every message with those attributes for a Lambda's.
func (n *snsService) deadLetter(s *snsSub, body string, attrs map[string]sqsAttr, trace string) {
	var rp struct{ DeadLetterTargetArn string }
	if json.Unmarshal([]byte(s.attrs["RedrivePolicy"]), &rp) != nil || rp.DeadLetterTargetArn == "" {
		return
	}
	attrs = maps.Clone(attrs)
	if n.s.compat == CompatField {
		if attrs == nil {
			attrs = map[string]sqsAttr{}
		}
		attrs["RequestID"] = sqsAttr{DataType: "String", StringValue: newRequestID()}
		attrs["ErrorCode"] = sqsAttr{DataType: "Number", StringValue: "200"}
		attrs["ErrorMessage"] = sqsAttr{DataType: "String", StringValue: "endpoint " + s.endpoint + " is unreachable"}
	}
	_, _ = n.s.sqs().deliver(rp.DeadLetterTargetArn, body, attrs, trace, "", "")
}

// publish delivers a message to every subscription of a topic, in the real
// notification envelope (or raw), and returns the SNS MessageId.
func (n *snsService) publish(topicArn, message, subject string, attrs map[string]sqsAttr, trace string) (string, error) {
	n.mu.Lock()
	t, ok := n.topics[topicArn]
	var subs []snsSub
	if ok {
		for _, s := range t.subs {
			cp := *s
			cp.attrs = maps.Clone(s.attrs)
			subs = append(subs, cp)
		}
	}
	n.mu.Unlock()
	if !ok {
		return "", &apiErr{status: 404, code: "NotFound", message: "Topic does not exist"}
	}
	if message == "" {
		return "", badReq("InvalidParameter", "Invalid parameter: Empty message")
	}
	id := newRequestID()
	ts := n.s.now().UTC().Format("2006-01-02T15:04:05.000Z")
	env := map[string]any{
		"Type": "Notification", "MessageId": id, "TopicArn": topicArn, "Message": message, "Timestamp": ts,
		"SignatureVersion": "1", "Signature": "c2FuZGJveA==", "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-sandbox.pem",
	}
	if subject != "" {
		env["Subject"] = subject
	}
	if len(attrs) > 0 {
		ma := map[string]map[string]string{}
		for k, a := range attrs {
			ma[k] = map[string]string{"Type": a.DataType, "Value": a.StringValue}
		}
		env["MessageAttributes"] = ma
	}
	for _, s := range subs {
		if !s.accepts(message, attrs) {
			continue
		}
		// Each subscription's copy names it in UnsubscribeURL, as SNS's does.
		env["UnsubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + s.arn
		envBytes, _ := json.Marshal(env)
		switch s.protocol {
		case "sqs":
			body, a := string(envBytes), map[string]sqsAttr(nil)
			if s.raw {
				body, a = message, attrs
			}
			if _, err := n.s.sqs().deliver(s.endpoint, body, a, trace, "", ""); err != nil {
				n.deadLetter(&s, body, a, trace)
			}
		case "lambda":
			// Lambda's Sns record spells the URL fields UnsubscribeUrl and SigningCertUrl.
			lenv := maps.Clone(env)
			lenv["UnsubscribeUrl"], lenv["SigningCertUrl"] = lenv["UnsubscribeURL"], lenv["SigningCertURL"]
			delete(lenv, "UnsubscribeURL")
			delete(lenv, "SigningCertURL")
			rec, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": s.arn, "Sns": lenv}}})
			parts := strings.Split(s.endpoint, ":")
			if len(parts) < 7 || n.s.lambda().invokeAsync(parts[6], rec) != nil {
				n.deadLetter(&s, string(envBytes), nil, trace) // the function is gone
			}
		}
	}
	return id, nil
}
