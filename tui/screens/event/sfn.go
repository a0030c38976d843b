package event

import (
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// failedExecution is the ARN of the Step Functions execution whose hop on
// the event failed (the latest, when several did), or "": r redrives it.
func failedExecution(l graph.Lineage) string {
	arn := ""
	for _, h := range l.Hops {
		if h.Component.Kind != tracing.ComponentWorkflow || h.Status != graph.HopError && h.Status != graph.HopTimeout {
			continue
		}
		for _, k := range h.Keys {
			if k.Kind == tracing.KeyExecution {
				arn = k.Value
			}
		}
	}
	return arn
}
