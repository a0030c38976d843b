package engine

import (
	"context"
	"strings"

	"github.com/flowtop/flowtop/tracing"
)

// DLQs lists the dead-letter queues (the queues some RedrivePolicy names),
// with depth, in-flight count and source queues.
func (e *Engine) DLQs(ctx context.Context) ([]tracing.QueueInfo, error) {
	qs, err := e.dlq.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []tracing.QueueInfo
	for _, q := range qs {
		if q.IsDLQ {
			out = append(out, q)
		}
	}
	return out, nil
}

// Peek returns up to max messages of a queue (a name or URL) and gives them
// back at once; each message's receive count rises by one.
func (e *Engine) Peek(ctx context.Context, queue string, max int) ([]tracing.Observation, error) {
	return e.dlq.Peek(ctx, queue, max)
}

// ConsumerErrors maps each message of a DLQ that the graph knows to the
// error its consumer last reported.
func (e *Engine) ConsumerErrors(queue string) map[string]string {
	out := map[string]string{}
	for _, m := range e.graph.DLQMessages(queueName(queue)) {
		out[m.MessageID] = m.Error
	}
	return out
}

// queueName is the name of a queue given by name, URL or ARN.
func queueName(s string) string {
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		return s[i+1:]
	}
	return s
}
