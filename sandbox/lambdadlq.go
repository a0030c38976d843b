package sandbox

import (
	"encoding/json"
	"strings"
)

// asyncAttempts is how often Lambda tries an asynchronous invocation: the
// first attempt and two retries (the default MaximumRetryAttempts).
const asyncAttempts = 3

func deadLetterConfig(f *LambdaFunction) map[string]string {
	if f.DeadLetterArn == "" {
		return nil // AWS sends no DeadLetterConfig then; null reads the same
	}
	return map[string]string{"TargetArn": f.DeadLetterArn}
}

// runAsync runs an asynchronous invocation as Lambda does: up to three
// attempts; when all fail, an on-failure destination gets a record (the
// request context, the payload and the last response), else a dead-letter
// queue gets the payload with the String attributes RequestID, ErrorCode
// (the HTTP status: 200, the function's error) and ErrorMessage.
//
// A function with neither keeps the sandbox's older behaviour, one attempt,
// so the simulated world's invocations are not tripled.
func (l *lambdaService) runAsync(f *LambdaFunction, payload []byte) {
	if f.DeadLetterArn == "" && f.OnFailureArn == "" {
		_, _ = f.Handler(l.s.Context(), payload)
		return
	}
	requestID := newRequestID()
	var err error
	for attempt := 0; attempt < asyncAttempts; attempt++ {
		if _, err = f.Handler(l.s.Context(), payload); err == nil || l.s.Context().Err() != nil {
			return
		}
	}
	msg := err.Error()
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	arn := "arn:aws:lambda:" + Region + ":" + Account + ":function:" + f.Name
	switch {
	case f.OnFailureArn != "":
		body := payload
		if !json.Valid(body) {
			body, _ = json.Marshal(string(payload))
		}
		rec, _ := json.Marshal(map[string]any{
			"version": "1.0", "timestamp": l.s.now().UTC().Format("2006-01-02T15:04:05.000Z"),
			"requestContext":  map[string]any{"requestId": requestID, "functionArn": arn + ":$LATEST", "condition": "RetriesExhausted", "approximateInvokeCount": asyncAttempts},
			"requestPayload":  json.RawMessage(body),
			"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
			"responsePayload": map[string]any{"errorMessage": msg, "errorType": "Error", "stackTrace": []string{}},
		})
		_, _ = l.s.sqs().deliver(f.OnFailureArn, string(rec), nil, "", "", "")
	case f.DeadLetterArn != "" && strings.Contains(f.DeadLetterArn, ":sqs:"):
		str := func(v string) sqsAttr { return sqsAttr{DataType: "String", StringValue: v} }
		_, _ = l.s.sqs().deliver(f.DeadLetterArn, string(payload), map[string]sqsAttr{
			"RequestID": str(requestID), "ErrorCode": str("200"), "ErrorMessage": str(msg)}, "", "", "")
	}
}
