package tracing

// Keys of flowtop's own log records (log/slog attributes), kept in one place
// so every package names the same thing the same way in --log-file.
const (
	LogKeySource   = "source"   // a collector's short name: "cwlogs", "xray", …
	LogKeyState    = "state"    // a source's state: "ok", "retrying", …
	LogKeyMode     = "mode"     // how a source collects: "live tail", "polling", …
	LogKeyError    = "error"    // what failed
	LogKeyRetryIn  = "retry_in" // when a source tries again
	LogKeyItems    = "items"    // observations emitted so far
	LogKeyDropped  = "dropped"  // observations shed under pressure
	LogKeyEvents   = "events"   // events held in the graph
	LogKeyID       = "id"       // an event ID a user asked for
	LogKeyRound    = "round"    // a history search round
	LogKeyKeys     = "keys"     // keys asked in a round
	LogKeyRecords  = "records"  // records found in a round
	LogKeyTarget   = "target"   // the account, region or endpoint watched
	LogKeyCommand  = "command"  // the flowtop command that runs
	LogKeyVersion  = "version"  // flowtop's version
	LogKeyDuration = "duration" // how long something took
	LogKeyGroups   = "groups"   // log groups followed
	LogKeySources  = "sources"  // the sources an engine runs
	LogKeyWindow   = "window"   // how far back a collection or search reads
	LogKeyBound    = "bound"    // the bound that stopped a search
	LogKeyFound    = "found"    // whether a search found its ID
	LogKeyPanic    = "panic"    // what a recovered panic carried
	LogKeyStack    = "stack"    // the goroutine stack of a recovered panic
)
