package replay

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// ruleLister is the part of the EventBridge client that finds which rule
// targets dead-letter into a queue. The EventBridge client given in
// [Brokers] is used for it when it has these methods (the SDK client does).
type ruleLister interface {
	ListEventBuses(context.Context, *eventbridge.ListEventBusesInput, ...func(*eventbridge.Options)) (*eventbridge.ListEventBusesOutput, error)
	ListRules(context.Context, *eventbridge.ListRulesInput, ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error)
	ListTargetsByRule(context.Context, *eventbridge.ListTargetsByRuleInput, ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error)
}

// maxDiscoveryCalls bounds the configuration a plan reads (buses × rules pages).
const maxDiscoveryCalls = 200

// eventBridgeEvidence lists the rule targets whose DeadLetterConfig names
// the DLQ, as the plan's evidence ("rule R on bus B: target T"). It reads
// configuration only and gives up quietly (with a note) when it can't.
func (r *Replayer) eventBridgeEvidence(ctx context.Context, dlqARN string) (found []string, note string) {
	eb, ok := r.brokers.EventBridge.(ruleLister)
	if !ok || dlqARN == "" {
		return nil, ""
	}
	calls := 0
	var buses []string
	var next *string
	for {
		calls++
		out, err := eb.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{NextToken: next})
		if err != nil {
			return nil, "EventBridge rules not read (ListEventBuses: " + clip(err.Error(), 120) + ")"
		}
		for _, b := range out.EventBuses {
			buses = append(buses, aws.ToString(b.Name))
		}
		if next = out.NextToken; next == nil || calls >= maxDiscoveryCalls {
			break
		}
	}
	if len(buses) == 0 {
		buses = []string{"default"}
	}
	for _, bus := range buses {
		var next *string
		for calls < maxDiscoveryCalls {
			calls++
			rules, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String(bus), NextToken: next})
			if err != nil {
				return found, "EventBridge rules of bus " + bus + " not read (" + clip(err.Error(), 120) + ")"
			}
			for _, rule := range rules.Rules {
				if calls >= maxDiscoveryCalls {
					break
				}
				calls++
				ts, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{EventBusName: aws.String(bus), Rule: rule.Name})
				if err != nil {
					continue
				}
				for _, t := range ts.Targets {
					if t.DeadLetterConfig != nil && aws.ToString(t.DeadLetterConfig.Arn) == dlqARN {
						found = append(found, fmt.Sprintf("EventBridge rule %s on bus %s dead-letters its target %s here", aws.ToString(rule.Name), bus, aws.ToString(t.Arn)))
					}
				}
			}
			if next = rules.NextToken; next == nil {
				break
			}
		}
	}
	if calls >= maxDiscoveryCalls {
		note = fmt.Sprintf("EventBridge rules read only in part (%d calls)", calls)
	}
	return found, note
}

func evidenceLine(found []string) string {
	if len(found) == 0 {
		return ""
	}
	if len(found) > 5 {
		found = append(found[:5:5], fmt.Sprintf("and %d more", len(found)-5))
	}
	return strings.Join(found, "; ")
}

// functionLister is the part of the Lambda client that finds the functions
// whose DeadLetterConfig names a queue; the Lambda client in [Brokers] is
// used for it when it has this method (the SDK client does).
type functionLister interface {
	ListFunctions(context.Context, *lambda.ListFunctionsInput, ...func(*lambda.Options)) (*lambda.ListFunctionsOutput, error)
}

// lambdaDLQFunctions lists the functions whose asynchronous invocations
// dead-letter into the DLQ (DeadLetterConfig.TargetArn), by ARN.
func (r *Replayer) lambdaDLQFunctions(ctx context.Context, dlqARN string) (arns []string, note string) {
	l, ok := r.brokers.Lambda.(functionLister)
	if !ok || dlqARN == "" {
		return nil, ""
	}
	var marker *string
	for calls := 0; calls < maxDiscoveryCalls; calls++ {
		out, err := l.ListFunctions(ctx, &lambda.ListFunctionsInput{Marker: marker})
		if err != nil {
			return arns, "Lambda functions not read (ListFunctions: " + clip(err.Error(), 120) + ")"
		}
		for _, f := range out.Functions {
			if f.DeadLetterConfig != nil && aws.ToString(f.DeadLetterConfig.TargetArn) == dlqARN {
				arns = append(arns, aws.ToString(f.FunctionArn))
			}
		}
		if marker = out.NextMarker; marker == nil {
			return arns, ""
		}
	}
	return arns, fmt.Sprintf("Lambda functions read only in part (%d pages)", maxDiscoveryCalls)
}
