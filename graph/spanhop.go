package graph

import (
	"strings"

	"github.com/flowtop/flowtop/tracing"
)

// A consumer known by its span alone (no Lambda request ID: a workflow
// execution, a service's consumer span) takes its figures from that span.

// ExecutionAttr is the span attribute that names the Step Functions
// execution a workflow hop's span stands for; the hop then carries the
// execution's key, so the event screen can act on it (redrive).
const ExecutionAttr = "aws.stepfunctions.execution_arn"

// fillFromSpan sets a span-only hop's duration, status and error from the
// span its key names, when the graph holds it.
func (g *Graph) fillFromSpan(h *Hop, key tracing.Key) {
	tv, sv, ok := strings.Cut(key.Value, "/")
	if !ok {
		return
	}
	tid, err1 := tracing.ParseTraceID(tv)
	sid, err2 := tracing.ParseSpanID(sv)
	if err1 != nil || err2 != nil {
		return
	}
	ss := &g.sp
	t := ss.find(tid)
	if t == 0 {
		return
	}
	for i := ss.traces.at(t).spans; i != 0; i = ss.spans.at(i).next {
		r := ss.spans.at(i)
		if r.id != sid {
			continue
		}
		switch {
		case r.flags&spanInProgress != 0:
			if h.Status == HopOK {
				h.Status = HopPending
			}
		case ss.end(i) > r.start.get():
			h.Duration = fromNanos(ss.end(i)).Sub(fromNanos(r.start.get()))
		}
		x := ss.extra[i]
		if r.status() == tracing.StatusError {
			h.Status = HopError
			if x != nil {
				h.ErrorType = firstLineOf(x.statusMsg, 120)
			}
			if h.ErrorType == "" {
				h.ErrorType = "span status error"
			}
		}
		if x != nil {
			if v := x.attrs.get(ExecutionAttr); v != "" {
				h.Keys = append(h.Keys, tracing.Key{Kind: tracing.KeyExecution, Value: v})
			}
		}
		return
	}
}

// underWorkflow makes the execution attempts of event e lead to the
// workflow hop n, so the tasks that ran in an attempt (invocations joined to
// its key) are drawn under the workflow, not beside it.
func underWorkflow(byKey map[tracing.Key]int, e *eventView, n int) {
	for _, k := range e.strong {
		if k.Kind != tracing.KeyExecutionAttempt {
			continue
		}
		if _, ok := byKey[k]; !ok {
			byKey[k] = n
		}
	}
}
