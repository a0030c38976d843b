package sandbox

import (
	"errors"
	"strings"
)

// deliverOrDeadLetter hands an event to its target; when the target can't
// take it (it doesn't exist) and the target has a DeadLetterConfig, the
// event goes to that queue as EventBridge sends it: the event as the body,
// and the String attributes RULE_ARN, TARGET_ARN, ERROR_CODE,
// ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION and RETRY_ATTEMPTS. A missing
// target is an error EventBridge doesn't retry, so RETRY_ATTEMPTS is 0.
func (s *Server) deliverOrDeadLetter(d delivery) {
	code, msg := s.deliverChecked(d.arn, d.body, d.trace, d.group)
	if code == "" || d.dlq == "" {
		return
	}
	str := func(v string) sqsAttr { return sqsAttr{DataType: "String", StringValue: v} }
	attrs := map[string]sqsAttr{
		"RULE_ARN": str(d.ruleArn), "TARGET_ARN": str(d.arn), "ERROR_CODE": str(code), "ERROR_MESSAGE": str(msg),
		"EXHAUSTED_RETRY_CONDITION": str("MaximumRetryAttempts"), "RETRY_ATTEMPTS": str("0"),
	}
	_, _ = s.sqs().deliver(d.dlq, d.body, attrs, d.trace, "", "")
}

// deliverChecked is deliverTo that reports why a delivery failed, with the
// service prefix EventBridge puts on the target's error code.
func (s *Server) deliverChecked(arn, body, trace, group string) (code, message string) {
	var err error
	prefix := ""
	switch {
	case strings.HasPrefix(arn, "arn:aws:sqs:"):
		prefix = "SQS."
		_, err = s.sqs().deliver(arn, body, nil, trace, group, "")
	case strings.HasPrefix(arn, "arn:aws:sns:"):
		prefix = "SNS."
		_, err = s.sns().publish(arn, body, "", nil, trace)
	case strings.HasPrefix(arn, "arn:aws:lambda:"):
		prefix = "Lambda."
		parts := strings.Split(arn, ":")
		if len(parts) < 7 {
			return "Lambda.InvalidParameterValueException", "invalid function ARN"
		}
		err = s.lambda().invokeAsync(parts[6], []byte(body))
	case strings.HasPrefix(arn, "arn:aws:states:"):
		prefix = "StepFunctions." // StartExecution, with the event as the input
		_, _, err = s.sfn().start(arn, "", body, trace)
	default:
		return "", ""
	}
	if err == nil {
		return "", ""
	}
	var se *sqsErr
	var ae *apiErr
	switch {
	case errors.As(err, &se):
		return prefix + sqsQueryCodes2(se.code), se.message
	case errors.As(err, &ae):
		return prefix + ae.code, ae.message
	}
	return prefix + "InternalFailure", err.Error()
}

func sqsQueryCodes2(code string) string {
	if c, ok := sqsQueryCodes[code]; ok {
		return c
	}
	return code
}
