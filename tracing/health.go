package tracing

import "time"

// SourceState is a collector's condition, as shown in the header and the CLI.
type SourceState uint8

// Source states.
const (
	SourceStateStarting SourceState = iota
	SourceStateOK
	SourceStateRetrying
	SourceStateFailed
	SourceStateStopped
)

var sourceStateNames = [...]string{"starting", "ok", "retrying", "failed", "stopped"}

// String returns a short lowercase name.
func (s SourceState) String() string {
	if int(s) < len(sourceStateNames) {
		return sourceStateNames[s]
	}
	return "unknown"
}

// SourceHealth is what a collector reports about itself. It is a value: the
// reporter fills a fresh one each time.
type SourceHealth struct {
	Source      string // "cwlogs", "xray", "otlp", "dlq", "lambda"
	State       SourceState
	Mode        string        // "live tail", "polling", "listening 127.0.0.1:4318", …
	LastSuccess time.Time     // zero if never
	LastError   string        // what failed, on what, and what to try; empty when fine
	RetryIn     time.Duration // for SourceStateRetrying
	Lag         time.Duration // how far behind now the newest item seen is
	Items       uint64        // observations emitted so far
	ItemsPerSec float64
	Dropped     uint64 // items shed under pressure, counted
	Unparsed    uint64 // inputs kept as unparsed
}
