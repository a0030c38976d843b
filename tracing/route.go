package tracing

// Route is one configured path events take between two components, as the
// account's routing configuration says (not as any event was seen taking it):
// an EventBridge rule target, an SNS subscription, a Lambda event source
// mapping, an SQS redrive policy, a Lambda async destination or DLQ.
type Route struct {
	From, To Component
	// Via names the mechanism, shortly: "rule to-billing", "subscription raw",
	// "subscription", "event source mapping", "redrive policy",
	// "on-failure destination", "on-success destination", "dead-letter config",
	// "target dead-letter config".
	Via string
	// Evidence says where the route was read, as a user would check it:
	// "rule to-billing on bus orders targets billing-queue".
	Evidence string
	// Attrs keeps the route's settings that matter for following an event:
	// "raw" (SNS raw delivery), "filter" (a filter policy), "transformer"
	// (an input transformer), "retries", "maxReceiveCount", "batchSize".
	Attrs map[string]string
	// Scope is the part of the configuration the route was read from (RouteScopeEvents, …).
	Scope string
}

// Key returns what identifies a route within a [RouteSet]: its ends and mechanism.
func (r Route) Key() [3]string { return [3]string{r.From.String(), r.To.String(), r.Via} }

// Route scopes: the part of the configuration a [RouteSet] read in full.
const (
	RouteScopeEvents      = "events"       // EventBridge buses, rules and targets
	RouteScopeSNS         = "sns"          // SNS topics and subscriptions
	RouteScopeLambdaESM   = "lambda-esm"   // event source mappings
	RouteScopeLambdaAsync = "lambda-async" // async destinations and dead-letter configs
	RouteScopeSQS         = "sqs"          // redrive policies
)

// RouteSet is one reading of the routing configuration. Scopes lists the
// parts read completely this time: a reader replaces what it knew of those
// scopes with the routes of those scopes, and keeps what it knew of the others
// (a part whose API failed this time is not forgotten).
type RouteSet struct {
	Scopes []string
	Routes []Route
	// Components are the brokers the reading found (buses, topics, queues),
	// routed or not, so a broker with no route yet still shows.
	Components []Component
}
