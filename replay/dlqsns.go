package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// An SNS subscription with a RedrivePolicy dead-letters what it could not
// deliver into an SQS queue: the notification exactly as the subscription
// would have delivered it (the JSON envelope, or the raw message and its
// attributes with raw delivery), with no source queue and no error
// attributes. A redrive sends each back to that subscription's endpoint —
// its queue (the body as it is) or its function (invoked asynchronously with
// the Records event SNS sends) — and not to the topic, whose other
// subscribers already had the message.

// SNSSubscription is an SNS subscription whose RedrivePolicy names a DLQ.
type SNSSubscription struct {
	ARN      string `json:"arn"`
	TopicARN string `json:"topic"`
	Protocol string `json:"protocol"` // sqs, lambda, http, …
	Endpoint string `json:"endpoint"` // a queue or function ARN, a URL, …
	Raw      bool   `json:"raw,omitempty"`
}

// describe is the subscription in the plan's words.
func (s SNSSubscription) describe() string {
	how := "enveloped delivery"
	if s.Raw {
		how = "raw delivery"
	}
	return fmt.Sprintf("subscription %s of topic %s (%s, %s)", s.ARN, queueName(s.TopicARN), s.Protocol, how)
}

// endpoint is where its messages go back to, in words.
func (s SNSSubscription) endpoint() string {
	switch s.Protocol {
	case "sqs":
		return "its endpoint " + queueName(s.Endpoint)
	case "lambda":
		return "its endpoint, function " + queueName(s.Endpoint) + ", invoked asynchronously with the Records event SNS sends"
	}
	return "nowhere flowtop can send to (a " + s.Protocol + " endpoint): say --to"
}

// subscriptionLister is the part of the SNS client that finds which
// subscriptions dead-letter into a queue; the SNS client in [Brokers] is
// used for it when it has these methods (the SDK client does).
type subscriptionLister interface {
	ListSubscriptions(context.Context, *sns.ListSubscriptionsInput, ...func(*sns.Options)) (*sns.ListSubscriptionsOutput, error)
	GetSubscriptionAttributes(context.Context, *sns.GetSubscriptionAttributesInput, ...func(*sns.Options)) (*sns.GetSubscriptionAttributesOutput, error)
}

// snsSubscriptionsFor lists the SNS subscriptions whose RedrivePolicy names
// the DLQ. It reads configuration only, at most maxDiscoveryCalls calls, and
// says in note what it could not read.
func (r *Replayer) snsSubscriptionsFor(ctx context.Context, dlqARN string) (found []SNSSubscription, note string) {
	l, ok := r.brokers.SNS.(subscriptionLister)
	if !ok || dlqARN == "" {
		return nil, ""
	}
	calls, unread := 0, 0
	var next *string
	for calls < maxDiscoveryCalls {
		calls++
		out, err := l.ListSubscriptions(ctx, &sns.ListSubscriptionsInput{NextToken: next})
		if err != nil {
			return found, "SNS subscriptions not read (ListSubscriptions: " + clip(err.Error(), 120) + ")"
		}
		for _, s := range out.Subscriptions {
			arn := aws.ToString(s.SubscriptionArn)
			if !strings.HasPrefix(arn, "arn:") { // PendingConfirmation, Deleted
				continue
			}
			if calls >= maxDiscoveryCalls {
				unread++
				continue
			}
			calls++
			a, err := l.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn)})
			if err != nil {
				unread++
				continue
			}
			var rp struct {
				DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			}
			if json.Unmarshal([]byte(a.Attributes["RedrivePolicy"]), &rp) != nil || rp.DeadLetterTargetArn != dlqARN {
				continue
			}
			found = append(found, SNSSubscription{
				ARN: arn, TopicARN: aws.ToString(s.TopicArn), Protocol: aws.ToString(s.Protocol),
				Endpoint: aws.ToString(s.Endpoint), Raw: a.Attributes["RawMessageDelivery"] == "true",
			})
		}
		if next = out.NextToken; next == nil {
			break
		}
	}
	if next != nil || unread > 0 {
		note = fmt.Sprintf("SNS subscriptions read only in part (%d calls, %d subscriptions' attributes unread): a subscription that dead-letters here may be missing", calls, unread)
	}
	return found, note
}

// snsEnvelope is the part of an SNS notification envelope a redrive reads.
type snsEnvelope struct {
	Type           string `json:"Type"`
	TopicArn       string `json:"TopicArn"`
	UnsubscribeURL string `json:"UnsubscribeURL"`
}

// snsSubscriptionOf finds the subscription that dead-lettered a message. An
// enveloped notification names its subscription (UnsubscribeURL) and topic;
// a raw one names nothing, so it is the DLQ's only subscription's, when no
// queue's RedrivePolicy names the DLQ too. why is set when the message is
// SNS's but can't be placed.
func (rn *run) snsSubscriptionOf(m sqstypes.Message) (sub SNSSubscription, why string, ok bool) {
	subs := rn.p.SNSSubscriptions
	if len(subs) == 0 {
		return sub, "", false
	}
	body := aws.ToString(m.Body)
	var env snsEnvelope
	if strings.Contains(body, `"Notification"`) && json.Unmarshal([]byte(body), &env) == nil && env.Type == "Notification" && env.TopicArn != "" {
		if _, arn, found := strings.Cut(env.UnsubscribeURL, "SubscriptionArn="); found {
			for _, s := range subs {
				if s.ARN == arn {
					return s, "", true
				}
			}
		}
		var same []SNSSubscription
		for _, s := range subs {
			if s.TopicARN == env.TopicArn && !s.Raw {
				same = append(same, s)
			}
		}
		switch len(same) {
		case 1:
			return same[0], "", true
		case 0:
			return sub, "an SNS notification of topic " + queueName(env.TopicArn) + ", but no enveloped subscription of that topic dead-letters here now: say --to", true
		}
		return sub, fmt.Sprintf("an SNS notification of topic %s, which %d subscriptions that dead-letter here share: say --to", queueName(env.TopicArn), len(same)), true
	}
	if len(subs) == 1 && rn.p.DefaultURL == "" {
		return subs[0], "", true
	}
	return sub, "", false
}

// snsRoute is the target of a message an SNS subscription dead-lettered:
// its queue's URL, or its function marked so invoke wraps the payload as SNS
// does.
func (rn *run) snsRoute(ctx context.Context, s SNSSubscription) (string, string) {
	switch s.Protocol {
	case "sqs":
		return rn.queueRoute(ctx, s.Endpoint, "its SNS subscription's endpoint queue")
	case "lambda":
		if rn.r.brokers.Lambda == nil {
			return "", "its SNS subscription's endpoint is a function, and flowtop has no Lambda client here"
		}
		return lambdaPrefix + functionOf(s.Endpoint) + snsMark + s.ARN, ""
	}
	return "", "its SNS subscription " + s.ARN + " delivers to a " + s.Protocol + " endpoint, which flowtop does not redrive to: say --to"
}

// snsMark separates a function from the SNS subscription whose Records
// event wraps each payload ('#' is in no function name or ARN).
const snsMark = "#sns:"

// snsRecords wraps a dead-lettered SNS envelope in the event SNS invokes a
// function with. The envelope's URL fields are spelled as Lambda sees them.
func snsRecords(subARN string, envelope []byte) []byte {
	var env map[string]any
	if json.Unmarshal(envelope, &env) != nil || env == nil {
		env = map[string]any{"Type": "Notification", "Message": string(envelope)}
	}
	for from, to := range map[string]string{"UnsubscribeURL": "UnsubscribeUrl", "SigningCertURL": "SigningCertUrl"} {
		if v, ok := env[from]; ok {
			delete(env, from)
			env[to] = v
		}
	}
	b, err := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": subARN, "Sns": env,
	}}})
	if err != nil {
		return envelope
	}
	return b
}
