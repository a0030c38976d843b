package sandbox

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
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
		ae := err.(*apiErr)
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
		arn := "arn:aws:sns:" + Region + ":" + Account + ":" + name
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
		var b strings.Builder
		b.WriteString("<Topics>")
		for _, a := range arns {
			b.WriteString("<member><TopicArn>" + a + "</TopicArn></member>")
		}
		b.WriteString("</Topics>")
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
			if e.Get("key") == "RawMessageDelivery" {
				sub.raw = e.Get("value") == "true"
			}
		}
		t.subs = append(t.subs, sub)
		return "<SubscriptionArn>" + sub.arn + "</SubscriptionArn>", nil
	case "SetSubscriptionAttributes":
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, t := range n.topics {
			for _, s := range t.subs {
				if s.arn == form.Get("SubscriptionArn") && form.Get("AttributeName") == "RawMessageDelivery" {
					s.raw = form.Get("AttributeValue") == "true"
					return "", nil
				}
			}
		}
		return "", &apiErr{status: 404, code: "NotFound", message: "Subscription does not exist"}
	case "ListSubscriptionsByTopic", "ListSubscriptions":
		n.mu.Lock()
		defer n.mu.Unlock()
		var b strings.Builder
		b.WriteString("<Subscriptions>")
		for _, t := range n.topics {
			if op == "ListSubscriptionsByTopic" && t.arn != form.Get("TopicArn") {
				continue
			}
			for _, s := range t.subs {
				fmt.Fprintf(&b, "<member><SubscriptionArn>%s</SubscriptionArn><TopicArn>%s</TopicArn><Protocol>%s</Protocol><Endpoint>%s</Endpoint><Owner>%s</Owner></member>", s.arn, t.arn, s.protocol, xmlEscape(s.endpoint), Account)
			}
		}
		b.WriteString("</Subscriptions>")
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

// publish delivers a message to every subscription of a topic, in the real
// notification envelope (or raw), and returns the SNS MessageId.
func (n *snsService) publish(topicArn, message, subject string, attrs map[string]sqsAttr, trace string) (string, error) {
	n.mu.Lock()
	t, ok := n.topics[topicArn]
	var subs []snsSub
	if ok {
		for _, s := range t.subs {
			subs = append(subs, *s)
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
		"UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topicArn,
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
	envBytes, _ := json.Marshal(env)
	for _, s := range subs {
		switch s.protocol {
		case "sqs":
			body, a := string(envBytes), map[string]sqsAttr(nil)
			if s.raw {
				body, a = message, attrs
			}
			_, _ = n.s.sqs().deliver(s.endpoint, body, a, trace, "", "")
		case "lambda":
			rec, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": s.arn, "Sns": env}}})
			parts := strings.Split(s.endpoint, ":")
			if len(parts) >= 7 {
				_ = n.s.lambda().invokeAsync(parts[6], rec)
			}
		}
	}
	return id, nil
}
