package graph

import (
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// The types in this file are the graph's read API: small immutable values that
// readers (the TUI, the CLI printers) get from a [Graph]. A reader may keep them as
// long as it likes; the graph never mutates a value it has handed out.

// Status is an event's derived state.
type Status uint8

// Event statuses.
const (
	StatusInFlight     Status = iota // hops seen, no final outcome yet
	StatusSucceeded                  // every known consumer succeeded
	StatusRetrying                   // a consumer failed and the message is being retried
	StatusFailed                     // a consumer failed and no retry is pending
	StatusDeadLettered               // a copy sits in a dead-letter queue
	StatusRedriven                   // moved back from a DLQ
	StatusReplayed                   // replayed by flowtop
)

var statusNames = [...]string{"in flight", "ok", "retrying", "failed", "dead-lettered", "redriven", "replayed"}

// String returns the status as shown to users.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// Final reports whether no further hops are expected without human action.
func (s Status) Final() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusDeadLettered
}

// FlowSort names the column that orders the Flows list.
type FlowSort uint8

// Sort orders for [FlowQuery].
const (
	SortRecent  FlowSort = iota // last activity, newest first
	SortStarted                 // first seen, newest first
	SortLatency                 // end-to-end latency, slowest first
	SortHops                    // hop count, most first
	SortStatus                  // worst status first
	SortCost                    // cost, highest first
)

// FlowQuery asks for one window of the Flows list.
type FlowQuery struct {
	// Filter is words, each found in an ID, the type, the source or a
	// component of the event (case-folded substrings); empty matches all.
	Filter string
	// Status keeps rows whose status name ([Status.String]) contains it:
	// "fail", "dead", "ok"; empty keeps every status. The first exact query
	// with a status derives every held event's status (seconds under the
	// read lock for a million events whose summaries are not cached yet; a
	// progressive one spreads that over its reads); later ones only the
	// events that changed.
	Status string
	// Fields keeps rows each of whose terms' field contains its value, as
	// Status does for "status": see [FieldTerm]. Like Status, they are
	// matched over every held event.
	Fields []FieldTerm
	Invert bool // keep the rows Filter, Status and Fields together do not match
	Sort   FlowSort
	Offset int // rows to skip after sorting and filtering
	Limit  int // rows to return at most; the screen height
	// Progressive asks for an answer within a bounded time (a few tens of
	// milliseconds with a million events held) instead of an exact one:
	// the first read of a new filter decides part of the held events, and
	// the page says so ([FlowPage.Partial]); each later read goes on where
	// the last stopped, until the filter's answer is complete. A console
	// asks this way, and reads again while the answer is partial.
	Progressive bool
}

// FieldTerm is one "key:value" term of a filter, matched against the
// event's row: the value is a case-folded substring of the row's field.
// Keys: "status" (the status name), "type", "source", and "fn" or "queue"
// (the source or the last hop's component). A term with any other key
// matches no row.
type FieldTerm struct{ Key, Value string }

// FlowRow is one event as a row of the Flows screen.
type FlowRow struct {
	ID      string // the event's primary ID (its strongest key's value)
	Type    string // detail-type, CloudEvents type, S3 event name, or "" when unknown
	Source  string // the producer: a component name or event source
	LastHop string // the component of the latest hop
	Hops    int
	Status  Status
	First   time.Time
	Last    time.Time
	Latency time.Duration // first hop's start to last hop's end, as Lineage.Latency
	CostUSD float64
	// Link is the latest of Lineage.Links: a replayed or redriven copy names
	// its original, an original its latest copy; zero when there is none.
	Link EventLink
}

// FlowPage is the answer to a [FlowQuery].
type FlowPage struct {
	Rows    []FlowRow
	Matched int    // rows matching the filter, before Offset and Limit
	Version uint64 // the graph version this page was cut from
	// Partial says a progressive query's answer is not complete yet:
	// Matched counts the rows found so far (at least that many match), and
	// Rows, when fewer than asked, may miss rows still to be found.
	Partial bool
}

// HopKind says what happened at a hop.
type HopKind uint8

// Hop kinds.
const (
	HopPublish    HopKind = iota // a producer published the event
	HopBroker                    // a broker (bus, topic, queue) held or routed it
	HopInvoke                    // a consumer invocation processed it
	HopDeadLetter                // it landed in a DLQ
	HopRedrive                   // it was redriven
	HopReplay                    // it was replayed
	HopSpan                      // a span that fits none of the above
	HopRequest                   // an API Gateway request started it (the flow's first hop)
)

var hopKindNames = [...]string{"publish", "broker", "invoke", "dead-letter", "redrive", "replay", "span", "request"}

// String returns a short lowercase name.
func (k HopKind) String() string {
	if int(k) < len(hopKindNames) {
		return hopKindNames[k]
	}
	return "unknown"
}

// HopStatus is one hop's outcome.
type HopStatus uint8

// Hop statuses.
const (
	HopOK HopStatus = iota
	HopError
	HopTimeout
	HopPending // seen started, not finished
	HopMissing // the model knows it must exist, but nothing has been seen yet
)

var hopStatusNames = [...]string{"ok", "error", "timeout", "pending", "missing"}

// String returns a short lowercase name.
func (s HopStatus) String() string {
	if int(s) < len(hopStatusNames) {
		return hopStatusNames[s]
	}
	return "unknown"
}

// Hop is one step of an event's path.
type Hop struct {
	Parent    int // index in Lineage.Hops of the hop that caused this one; -1 for a root
	Depth     int // branch depth, for drawing fan-out
	Kind      HopKind
	Component tracing.Component
	Time      time.Time
	Duration  time.Duration // how long the hop itself took (an invocation's Duration)
	Latency   time.Duration // from the parent hop's time to this hop's time
	Status    HopStatus
	Attempt   int    // 1 for a first delivery; 2, 3, … for retries
	ColdStart bool   // for invocations
	ErrorType string // for failed invocations
	Keys      []tracing.Key
	// Evidence says what joined this hop to its parent ("sqs body envelope id",
	// "span link", "request id in app log"), and Confidence how sure that is (0–1).
	Evidence   string
	Confidence float64
	CostUSD    float64
	Logs       []LogLine // the invocation's log lines, oldest first
	// Configured marks a broker hop placed from the routing configuration
	// (see [Graph.Routes]) because no body, span or log named it.
	Configured bool
	// HTTPMethod, Route and HTTPStatus describe a HopRequest: the API
	// Gateway request's method, its route (resource path, or the path
	// requested when no source named the route) and the status returned.
	// Duration is its response latency.
	HTTPMethod string
	Route      string
	HTTPStatus int
	// Cloud says where a hop outside AWS ran, from its span's cloud.provider
	// and cloud.platform ("gcp/gcp_cloud_functions"); "" for AWS's own hops.
	// Set in the event's full lineage only.
	Cloud string
}

// LogLine is one log line shown under a hop. Message is raw; display code sanitises it.
type LogLine struct {
	Time      time.Time
	Kind      tracing.LogKind
	Level     string
	RequestID string
	Message   string
}

// SpanRow is one row of an event's span waterfall.
type SpanRow struct {
	Span    tracing.Span
	Depth   int           // nesting depth (parents and links)
	Offset  time.Duration // start relative to the lineage's first span
	ViaLink bool          // reached through a span link or an async hop rather than a parent
}

// Lineage is one event's whole path. Status, HopCount, Latency, Type,
// Source and LastHop are derived by the same rule as the event's [FlowRow]:
// the list and the event screen always agree.
type Lineage struct {
	ID      string
	Type    string
	Status  Status
	Keys    []tracing.Key // every key known for the event
	Hops    []Hop         // ordered causally, then by time; a parent always precedes its children
	Spans   []SpanRow     // the waterfall, in display order
	DLQ     []DLQMessage  // copies of the event that sit in DLQs
	First   time.Time
	Last    time.Time
	CostUSD float64
	Version uint64
	// HopCount is len(Hops), a missing hop included: what the list shows.
	HopCount int
	// Latency runs from the first hop's start to the last hop's end.
	Latency time.Duration
	Source  string // the event's source, or else its first producer
	LastHop string // the component of the hop seen last
	// Links are the replays and redrives of this event, or the original it
	// replays or redrives. Each is an event of its own.
	Links []EventLink
}

// EventLink ties an event to another it was never merged with.
type EventLink struct {
	// Rel is "replay-of" or "redrive-of" (this event is the copy), or
	// "replayed-as" or "redriven-as" (ID is a copy of this event).
	Rel  string
	ID   string      // the other event's primary ID, as Lineage takes it
	Key  tracing.Key // the key the link was learned by
	Time time.Time
}

// Match is one event found by an ID or ID prefix.
type Match struct {
	ID   string
	Key  tracing.Key // the key that matched
	Type string
	Last time.Time
}

// FunctionStats is one function's figures over a window.
type FunctionStats struct {
	Name            string
	Account         string // the function's account, when several accounts or regions are watched
	Region          string // its region, likewise; empty while one is watched
	Architecture    string
	MemoryMB        int // configured
	Invocations     uint64
	Errors          uint64
	Timeouts        uint64
	ColdStarts      uint64
	P50, P95, P99   time.Duration
	MaxMemoryUsedMB int // the highest seen
	AvgMemoryUsedMB float64
	GBSeconds       float64
	CostUSD         float64   // for the window
	CostPerMonthUSD float64   // the window's rate projected over 30 days
	Rate            []float64 // invocations per second, one value per recent interval, oldest first
}

// QueueStats is one queue's state, as known from the DLQ collector and the events seen.
type QueueStats struct {
	Name            string
	IsDLQ           bool
	Depth           int
	InFlight        int
	OldestAge       time.Duration
	Sources         []string // for a DLQ
	DeadLetterQueue string   // for a source queue
	MaxReceiveCount int
	FIFO            bool
	Updated         time.Time
	Account, Region string // where it lives, when several accounts or regions are watched
}

// DLQMessage is one message seen in a DLQ, joined to its event and to the
// consumer error that sent it there where known.
type DLQMessage struct {
	Queue        string
	MessageID    string
	EventID      string // the lineage ID it belongs to
	Body         string // raw
	ReceiveCount int
	SentAt       time.Time
	SourceQueue  string
	Error        string // the last consumer error type or message, "" when unknown
	Attributes   map[string]string

	// Account and Region are the DLQ's, when several are watched.
	Account, Region string
}

// MapNode is one component on the Map screen.
type MapNode struct {
	Component tracing.Component
	Rate      float64 // observations per second
	ErrorPct  float64
	P95       time.Duration
	// Configured is set when the routing configuration names the component,
	// Observed when some observation did.
	Configured, Observed bool
	// LagP95 and LagLatest are a stream's consumer lag (a consumer's start
	// less the record's put time) over LagRecords records of the last few
	// minutes; LagRecords is 0 where no source gave both times.
	LagP95, LagLatest time.Duration
	LagRecords        int
}

// MapEdge is one edge between two components.
type MapEdge struct {
	From, To tracing.Component
	Rate     float64 // events per second along the edge
	ErrorPct float64
	P95      time.Duration // latency from From's hop to To's hop
	// Configured is set when the routing configuration routes From to To
	// (Via names how: "rule to-billing", "subscription raw", "event source
	// mapping", "redrive policy", …; several joined by ", "); Observed when
	// some event was seen taking the edge. An edge is always one or both.
	Configured, Observed bool
	Via                  string
}

// MapView is the component map.
type MapView struct {
	Nodes []MapNode
	Edges []MapEdge
}

// Totals are the graph's own figures for the header.
type Totals struct {
	Events       int     // events held
	Observations uint64  // observations ingested since start
	Evicted      uint64  // events evicted to keep memory bounded
	Unparsed     uint64  // observations that carried an unparsed reason
	RatePerSec   float64 // observations per second, recent
	Version      uint64
	// Waiting counts the events held out of the Flows list now: known only
	// by a delivery's message ID, they wait (Config.FragmentWait) for what
	// ties them to their event.
	Waiting int
	// WaitSkipped counts fragments shown at once because too many waited.
	WaitSkipped uint64
}
