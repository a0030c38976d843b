package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/flowtop/flowtop/tracing"
)

// Messages that other services dead-letter name where they were going
// themselves, so a redrive can send each back there without configuration:
//
//   - EventBridge, for a rule target with a DeadLetterConfig, sends the
//     event as the body with the String attributes RULE_ARN, TARGET_ARN,
//     ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION and
//     RETRY_ATTEMPTS: the event goes back to TARGET_ARN.
//   - Lambda, for an asynchronous invocation whose on-failure destination
//     is a queue, sends a JSON record with requestContext (requestId,
//     functionArn, condition, approximateInvokeCount), requestPayload,
//     responseContext and responsePayload: the function is invoked again,
//     asynchronously, with requestPayload.
//
// A Lambda async DLQ message (attributes RequestID, ErrorCode,
// ErrorMessage, the payload as body) names no function; it goes to the
// DLQ's only source queue if there is one, else it is listed as unroutable.

// lambdaPrefix marks a route that invokes a function instead of sending to a queue.
const lambdaPrefix = "lambda:"

// destinationRecord is the part of a Lambda on-failure destination record a
// redrive reads.
type destinationRecord struct {
	RequestContext *struct {
		RequestID   string `json:"requestId"`
		FunctionArn string `json:"functionArn"`
		Condition   string `json:"condition"`
	} `json:"requestContext"`
	RequestPayload json.RawMessage `json:"requestPayload"`
}

func parseDestinationRecord(body string) (destinationRecord, bool) {
	var d destinationRecord
	if !strings.Contains(body, `"requestContext"`) || json.Unmarshal([]byte(body), &d) != nil {
		return d, false
	}
	ok := d.RequestContext != nil && strings.HasPrefix(d.RequestContext.FunctionArn, "arn:") && len(d.RequestPayload) > 0
	return d, ok
}

// functionOf is the function an ARN names, without a version or alias
// qualifier for $LATEST (arn:aws:lambda:region:acct:function:name[:qualifier]).
func functionOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) >= 8 && parts[7] == "$LATEST" {
		return strings.Join(parts[:7], ":")
	}
	return arn
}

// routeByContent routes a message that carries no DeadLetterQueueSourceArn
// by what it says about itself. ok is false when it says nothing.
func (rn *run) routeByContent(ctx context.Context, m sqstypes.Message) (target, why string, ok bool) {
	if a, found := m.MessageAttributes["TARGET_ARN"]; found && aws.ToString(a.StringValue) != "" {
		arn := aws.ToString(a.StringValue)
		switch {
		case strings.HasPrefix(arn, "arn:aws:sqs:") || strings.HasPrefix(arn, "arn:aws-") && strings.Contains(arn, ":sqs:"):
			u, err := rn.r.url(ctx, arn)
			if err != nil {
				var api smithy.APIError
				if errors.As(err, &api) && (api.ErrorCode() == "QueueDoesNotExist" || api.ErrorCode() == "AWS.SimpleQueueService.NonExistentQueue") {
					return "", "its EventBridge target " + queueName(arn) + " no longer exists: say --to", true
				}
				return "", "its EventBridge target " + queueName(arn) + " could not be looked up: " + clip(err.Error(), 120), true
			}
			return u, "", true
		case strings.Contains(arn, ":lambda:"):
			if rn.r.brokers.Lambda == nil {
				return "", "its EventBridge target is a function, and flowtop has no Lambda client here", true
			}
			return lambdaPrefix + functionOf(arn), "", true
		}
		return "", "its EventBridge target " + arn + " is of a kind flowtop does not redrive to yet: say --to", true
	}
	if k, found := tracing.ParseKinesisFailure([]byte(aws.ToString(m.Body))); found {
		// The records themselves stay in the stream: the body only names them.
		p := KinesisPointer{Stream: k.Stream, Shard: k.ShardID, First: k.StartSequence, Last: k.EndSequence, Records: k.BatchSize}
		return "", "a stream batch's on-failure record, " + p.String(), true
	}
	if d, found := parseDestinationRecord(aws.ToString(m.Body)); found {
		if rn.r.brokers.Lambda == nil {
			return "", "a Lambda destination record, and flowtop has no Lambda client here", true
		}
		return lambdaPrefix + functionOf(d.RequestContext.FunctionArn), "", true
	}
	return "", "", false
}

// invoke sends messages to a function as asynchronous invocations, one each,
// journaled like a queue send: the attempt before, its outcome after. A
// destination record is replaced by its requestPayload; anything else is
// the payload as it is.
func (rn *run) invoke(ctx context.Context, target string, list []sqstypes.Message) ([]sqstypes.Message, error) {
	j := rn.j
	fn, subARN, viaSNS := strings.Cut(strings.TrimPrefix(target, lambdaPrefix), snsMark)
	var confirmed, again []sqstypes.Message
	for _, m := range list {
		id := aws.ToString(m.MessageId)
		payload := []byte(aws.ToString(m.Body))
		if viaSNS {
			payload = snsRecords(subARN, payload) // as the subscription would have invoked it
		} else if d, ok := parseDestinationRecord(string(payload)); ok {
			payload = d.RequestPayload
		}
		before := []record{{Op: "sending", ID: id}}
		if !j.wasReceived(id) {
			before = append([]record{{Op: "recv", ID: id, Body: aws.ToString(m.Body), Attrs: m.MessageAttributes, Target: target}}, before...)
		}
		if err := j.append(before...); err != nil {
			rn.giveBack(ctx, append(again, list...))
			return confirmed, err
		}
		out, err := rn.r.brokers.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), InvocationType: lambdatypes.InvocationTypeEvent, Payload: payload},
			func(o *lambda.Options) { o.Retryer = once(o.Retryer) })
		if err == nil && out.StatusCode != 202 {
			err = fmt.Errorf("replay: Invoke answered %d, not 202 Accepted", out.StatusCode)
		}
		if err != nil {
			final, definite := refusal(err)
			op := "uncertain"
			if definite {
				op = "failed"
			}
			if jerr := j.append(record{Op: op, ID: id, Reason: clip(err.Error(), 200)}); jerr != nil {
				rn.giveBack(ctx, append(again, m))
				return confirmed, jerr
			}
			if final != "" {
				rn.hold(m, "the function "+fn+" refused it: "+final)
			} else {
				again = append(again, m)
			}
			continue
		}
		if err := j.appendNoSync(record{Op: "sent", ID: id, Target: target}); err != nil {
			return confirmed, err
		}
		confirmed = append(confirmed, m)
	}
	rn.giveBack(ctx, again)
	return confirmed, nil
}
