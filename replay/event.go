package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowtop/flowtop/tracing"
)

// EventBridge, SNS and Lambda are the parts of those clients a replay uses.
type (
	EventBridge interface {
		PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
	}
	SNS interface {
		Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
	}
	Lambda interface {
		Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
	}
)

// Brokers are the clients a replay may send through; any may be nil.
type Brokers struct {
	EventBridge EventBridge
	SNS         SNS
	Lambda      Lambda
}

// WithBrokers returns r able to replay to EventBridge, SNS and Lambda too.
func (r *Replayer) WithBrokers(b Brokers) *Replayer {
	cp := *r
	cp.brokers = b
	return &cp
}

// Target is where a replay goes: "sqs:queue", "sns:topic-arn-or-name",
// "events:bus" or "lambda:function".
type Target struct {
	Kind string
	Name string
}

func (t Target) String() string { return t.Kind + ":" + t.Name }

// ParseTarget reads kind:name.
func ParseTarget(s string) (Target, error) {
	kind, name, ok := strings.Cut(s, ":")
	switch {
	case !ok || name == "":
		return Target{}, fmt.Errorf("replay: target %q: want kind:name, e.g. events:orders, sqs:billing-queue, sns:order-events, lambda:charge-card", s)
	case kind == "sqs" || kind == "sns" || kind == "events" || kind == "lambda":
		return Target{Kind: kind, Name: name}, nil
	}
	return Target{}, fmt.Errorf("replay: target %q: kind must be sqs, sns, events or lambda", s)
}

// ReplayRequest sends one event again, as it was or edited.
type ReplayRequest struct {
	OriginalID string // the event or message being replayed, for the tag
	Body       string // the body to send: an EventBridge envelope, or a message body
	Target     Target
}

// ReplayPlan is what a replay will send.
type ReplayPlan struct {
	OriginalID         string
	Target             Target
	Body               string // what the target receives (for events: the detail)
	Source, DetailType string // for EventBridge
	Warnings           []string
}

// Lines is the plan as text.
func (p ReplayPlan) Lines() []string {
	out := []string{fmt.Sprintf("replay %s to %s (%d bytes), tagged as a replay of it", p.OriginalID, p.Target, len(p.Body))}
	if p.Target.Kind == "events" {
		out = append(out, fmt.Sprintf("source %q, detail-type %q", p.Source, p.DetailType))
	}
	for _, w := range p.Warnings {
		out = append(out, "warning: "+w)
	}
	return out
}

// maxBody is the smallest broker limit among SQS, SNS and EventBridge (256 KiB).
const maxBody = 256 << 10

// PlanReplay validates the body for the target without sending anything.
func (r *Replayer) PlanReplay(_ context.Context, req ReplayRequest) (ReplayPlan, error) {
	p := ReplayPlan{OriginalID: req.OriginalID, Target: req.Target, Body: req.Body}
	if strings.TrimSpace(req.Body) == "" {
		return p, errors.New("replay: the body is empty")
	}
	if len(req.Body) > maxBody {
		return p, fmt.Errorf("replay: the body is %d bytes; brokers accept at most %d", len(req.Body), maxBody)
	}
	switch req.Target.Kind {
	case "events":
		if r.brokers.EventBridge == nil {
			return p, errors.New("replay: no EventBridge client")
		}
		// An EventBridge envelope keeps its source and detail-type; its detail is sent.
		u := tracing.Unwrap([]byte(req.Body))
		for _, l := range u.Layers {
			if l.Kind == tracing.EnvelopeEventBridge {
				p.Source, p.DetailType = l.Source, l.Type
				var env struct {
					Detail json.RawMessage `json:"detail"`
				}
				if json.Unmarshal([]byte(req.Body), &env) == nil && len(env.Detail) > 0 {
					p.Body = string(env.Detail)
				}
				break
			}
		}
		if p.Source == "" || p.DetailType == "" {
			return p, errors.New("replay: EventBridge needs the original envelope (source and detail-type): edit the envelope, not only its detail")
		}
		if !json.Valid([]byte(p.Body)) {
			return p, errors.New("replay: the EventBridge detail is not valid JSON")
		}
	case "sqs", "sns":
		if req.Target.Kind == "sns" && r.brokers.SNS == nil {
			return p, errors.New("replay: no SNS client")
		}
	case "lambda":
		if r.brokers.Lambda == nil {
			return p, errors.New("replay: no Lambda client")
		}
		if !json.Valid([]byte(req.Body)) {
			return p, errors.New("replay: a Lambda payload must be JSON")
		}
		p.Warnings = append(p.Warnings, "an asynchronous Lambda invocation carries no message attributes: the function can't tell this is a replay")
	default:
		return p, fmt.Errorf("replay: unknown target kind %q", req.Target.Kind)
	}
	p.Warnings = append(p.Warnings, "the consumer sees this event again: it must be idempotent")
	return p, nil
}

// ExecuteReplay sends the planned event and returns the ID the target gave it.
func (r *Replayer) ExecuteReplay(ctx context.Context, p ReplayPlan) (string, error) {
	if r.opts.ReadOnly {
		return "", ErrReadOnly
	}
	id, err := r.sendReplay(ctx, p)
	r.audit("replay", strings.Join(p.Lines(), "; ")+" → "+id, err)
	return id, err
}

func (r *Replayer) sendReplay(ctx context.Context, p ReplayPlan) (string, error) {
	tag := "flowtop-replay-of"
	switch p.Target.Kind {
	case "events":
		out, err := r.brokers.EventBridge.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String(p.Target.Name), Source: aws.String(p.Source), DetailType: aws.String(p.DetailType), Detail: aws.String(p.Body),
			Resources: []string{"arn:aws:flowtop:::replay-of/" + p.OriginalID},
		}}}, func(o *eventbridge.Options) { o.Retryer = once(o.Retryer) })
		if err != nil {
			return "", sendFailed("PutEvents", err)
		}
		if out.FailedEntryCount > 0 || len(out.Entries) == 0 {
			return "", fmt.Errorf("replay: PutEvents refused the event: %s", aws.ToString(out.Entries[0].ErrorMessage))
		}
		return aws.ToString(out.Entries[0].EventId), nil
	case "sqs":
		url, err := r.url(ctx, p.Target.Name)
		if err != nil {
			return "", err
		}
		out, err := r.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []sqstypes.SendMessageBatchRequestEntry{{
			Id: aws.String("0"), MessageBody: aws.String(p.Body),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{tag: {DataType: aws.String("String"), StringValue: aws.String(p.OriginalID)}},
		}}}, noRetry)
		if err != nil {
			return "", sendFailed("SendMessage", err)
		}
		if len(out.Successful) == 0 {
			return "", fmt.Errorf("replay: SendMessage refused the message: %s", aws.ToString(out.Failed[0].Message))
		}
		return aws.ToString(out.Successful[0].MessageId), nil
	case "sns":
		arn := p.Target.Name
		out, err := r.brokers.SNS.Publish(ctx, &sns.PublishInput{
			TopicArn: aws.String(arn), Message: aws.String(p.Body),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{tag: {DataType: aws.String("String"), StringValue: aws.String(p.OriginalID)}},
		},
			func(o *sns.Options) { o.Retryer = once(o.Retryer) })
		if err != nil {
			return "", sendFailed("Publish", err)
		}
		return aws.ToString(out.MessageId), nil
	case "lambda":
		out, err := r.brokers.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(p.Target.Name), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(p.Body)},
			func(o *lambda.Options) { o.Retryer = once(o.Retryer) })
		if err != nil {
			return "", sendFailed("Invoke", err)
		}
		if out.StatusCode != 202 {
			return "", fmt.Errorf("replay: Invoke answered %d, not 202 Accepted", out.StatusCode)
		}
		return "", nil
	}
	return "", fmt.Errorf("replay: unknown target kind %q", p.Target.Kind)
}

// once makes a call a single attempt: a replay is never sent twice behind
// the user's back.
func once(r aws.Retryer) aws.Retryer {
	if r == nil {
		return nil
	}
	return retry.AddWithMaxAttempts(r, 1)
}

// sendFailed says whether a failed send may still have been delivered.
func sendFailed(op string, err error) error {
	if _, definite := refusal(err); definite {
		return fmt.Errorf("replay: %s: %w", op, err)
	}
	return fmt.Errorf("replay: %s: the answer was lost, so the event may have been delivered: check the target before replaying again: %w", op, err)
}
