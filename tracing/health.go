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
	// SourceStateDegraded means the source runs but much of its input is
	// refused: most recent OTLP requests were rejected, for example. LastError
	// says why.
	SourceStateDegraded
)

var sourceStateNames = [...]string{"starting", "ok", "retrying", "failed", "stopped", "degraded"}

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
	Dropped     uint64 // items lost after they were accepted (a queue full, shutdown), counted
	Unparsed    uint64 // inputs kept as unparsed
	// Accepted counts the items taken in (OTLP: spans and log records handed
	// to the hub).
	Accepted uint64
	// Shed counts the items refused with a retryable answer because flowtop
	// was over its memory budget or its queue was full (OTLP 503 or gRPC
	// Unavailable): the sender may try again, so they are not lost yet.
	Shed uint64
	// Rejected counts the requests refused for good because they were
	// malformed or too large (OTLP 400 or 413, gRPC InvalidArgument).
	Rejected uint64
	// Truncated counts what the per-item limits cut: attributes, links and
	// values over their length cap (as the OTel SDK's span limits do).
	Truncated uint64
	// Senders and Services say where the items come from (OTLP): the peer
	// addresses and the resource service.name values seen lately, at most
	// [MaxOrigins] each (a full set reads MaxOrigins).
	Senders, Services int
}

// MaxOrigins bounds the senders and services a source tells apart.
const MaxOrigins = 1024
