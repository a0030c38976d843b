package sandbox

import (
	"encoding/json"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// EventBridge archives and replays, as the API reference describes them:
// an archive records the events put on its source bus that match its
// pattern (every event when it has none), never a replayed event, and keeps
// them for RetentionDays (0: for ever). StartReplay sends the archived events
// whose time falls in [EventStartTime, EventEndTime) again to the bus's rules
// (all, or those Destination.FilterArns names), asynchronously and at a
// bounded rate, minute by minute of event time as AWS does; each carries the
// top-level field "replay-name" (after "region", as AWS puts it) and keeps
// its original time, source, detail-type, detail and resources. It keeps the
// original's id too, unless [Server.SetReplayNewIDs] asks for a new one: the
// API reference and user guide don't say which AWS does, so flowtop must
// link a replay to its original either way. The replay goes STARTING → RUNNING → COMPLETED,
// or CANCELLING → CANCELLED after CancelReplay, or FAILED with a StateReason.

// maxArchiveEvents bounds what one archive holds: the oldest go first, and
// each is counted in [Server.ArchiveDropped].
const maxArchiveEvents = 50_000

// maxActiveReplays is AWS's quota of concurrent replays per account and region.
const maxActiveReplays = 10

// defaultReplayRate is how many events a replay delivers per second.
const defaultReplayRate = 200

var archiveNameRE = regexp.MustCompile(`^[.\-_A-Za-z0-9]+$`)

// archives is the EventBridge service's archive and replay state; every
// method runs with eventsService.mu held.
type archives struct {
	byName  map[string]*ebArchive
	replays map[string]*ebReplay
	order   []string // replay names, oldest first, for ListReplays
	dropped int
	rate    float64 // events per second a replay delivers; 0 = defaultReplayRate
	newIDs  bool    // a replayed event gets a new id (see Server.SetReplayNewIDs)
}

type ebArchive struct {
	name, description, bus string
	pattern                map[string]any
	raw                    string
	retentionDays          int
	created                time.Time
	events                 []archived // by arrival
	size                   int64
}

type archived struct {
	at    time.Time // the event's time field
	env   ebEnvelope
	bytes int
}

type ebReplay struct {
	name, description, archiveARN, busARN string
	filter                                []string
	from, to                              time.Time
	state, reason                         string
	started, ended, last                  time.Time
	cancel                                atomic.Bool
	newIDs                                bool // each event goes out under a new id
}

// replayEnvelope is a replayed event as EventBridge delivers it: the
// original's fields in AWS's order, with replay-name after region.
type replayEnvelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	ReplayName string          `json:"replay-name"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

func archiveARN(name string) string {
	return "arn:aws:events:" + Region + ":" + Account + ":archive/" + name
}

func replayARN(name string) string {
	return "arn:aws:events:" + Region + ":" + Account + ":replay/" + name
}

// SetReplayRate sets how many events per second a replay delivers (tests
// slow it down to cancel one midway); 0 restores the default.
func (s *Server) SetReplayRate(perSec float64) {
	e := s.ebService()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.arc.rate = perSec
}

// SetReplayNewIDs makes StartReplay deliver each archived event under a new
// id (UUID-shaped, as PutEvents gives) instead of the original's; time,
// source, detail-type, detail and resources stay the original's. AWS does
// not document which it does, so tests run both. It is a switch of its own,
// not part of [CompatField]: that mode imitates other AWS-compatible
// endpoints, while either id may be real EventBridge's behaviour.
func (s *Server) SetReplayNewIDs(on bool) {
	e := s.ebService()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.arc.newIDs = on
}

// ArchiveDropped counts the events archives forgot to stay bounded.
func (s *Server) ArchiveDropped() int {
	e := s.ebService()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.arc.dropped
}

func (s *Server) ebService() *eventsService { return s.services["events"].(*eventsService) }

// archiveEvent records an event put on bus in every archive of that bus
// whose pattern it matches. Replayed events are never archived.
func (e *eventsService) archiveEvent(bus string, at time.Time, env ebEnvelope, doc map[string]any, size int) {
	now := e.s.now()
	for _, a := range e.arc.byName {
		if a.bus != bus || (a.pattern != nil && !matchPattern(a.pattern, doc)) {
			continue
		}
		a.expire(now)
		if len(a.events) >= maxArchiveEvents {
			a.size -= int64(a.events[0].bytes)
			a.events = a.events[1:]
			e.arc.dropped++
		}
		a.events = append(a.events, archived{at: at, env: env, bytes: size})
		a.size += int64(size)
	}
}

// expire forgets the events older than the retention.
func (a *ebArchive) expire(now time.Time) {
	if a.retentionDays <= 0 {
		return
	}
	cut := now.Add(-time.Duration(a.retentionDays) * 24 * time.Hour)
	n := 0
	for n < len(a.events) && a.events[n].at.Before(cut) {
		a.size -= int64(a.events[n].bytes)
		n++
	}
	a.events = a.events[n:]
}

func ts1(in map[string]json.RawMessage, k string) (time.Time, bool) {
	var f float64
	if json.Unmarshal(in[k], &f) != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

func epochOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return epoch(t)
}

// archiveCall serves the archive and replay operations; handled is false
// for any other operation. e.mu is held.
func (e *eventsService) archiveCall(op string, in map[string]json.RawMessage) (out any, handled bool, err error) {
	if e.arc.byName == nil {
		e.arc.byName, e.arc.replays = map[string]*ebArchive{}, map[string]*ebReplay{}
	}
	switch op {
	case "CreateArchive":
		out, err = e.createArchive(in)
	case "DescribeArchive":
		a, ok := e.arc.byName[str1(in, "ArchiveName")]
		if !ok {
			return nil, true, badReq("ResourceNotFoundException", "Archive %s does not exist.", str1(in, "ArchiveName"))
		}
		a.expire(e.s.now())
		m := a.summary()
		m["ArchiveArn"] = archiveARN(a.name)
		if a.description != "" {
			m["Description"] = a.description
		}
		if a.raw != "" {
			m["EventPattern"] = a.raw
		}
		out = m
	case "ListArchives":
		out, err = e.listArchives(in)
	case "DeleteArchive":
		if _, ok := e.arc.byName[str1(in, "ArchiveName")]; !ok {
			return nil, true, badReq("ResourceNotFoundException", "Archive %s does not exist.", str1(in, "ArchiveName"))
		}
		delete(e.arc.byName, str1(in, "ArchiveName"))
		out = struct{}{}
	case "StartReplay":
		out, err = e.startReplay(in)
	case "DescribeReplay":
		r, ok := e.arc.replays[str1(in, "ReplayName")]
		if !ok {
			return nil, true, badReq("ResourceNotFoundException", "Replay %s does not exist.", str1(in, "ReplayName"))
		}
		m := r.summary()
		m["ReplayArn"] = replayARN(r.name)
		dest := map[string]any{"Arn": r.busARN}
		if len(r.filter) > 0 {
			dest["FilterArns"] = r.filter
		}
		m["Destination"] = dest
		if r.description != "" {
			m["Description"] = r.description
		}
		out = m
	case "ListReplays":
		out, err = e.listReplays(in)
	case "CancelReplay":
		r, ok := e.arc.replays[str1(in, "ReplayName")]
		if !ok {
			return nil, true, badReq("ResourceNotFoundException", "Replay %s does not exist.", str1(in, "ReplayName"))
		}
		if r.state != "STARTING" && r.state != "RUNNING" {
			return nil, true, badReq("IllegalStatusException", "Replay %s is not in a valid state for this operation.", r.name)
		}
		r.state = "CANCELLING"
		r.cancel.Store(true)
		out = map[string]any{"ReplayArn": replayARN(r.name), "State": r.state}
	default:
		return nil, false, nil
	}
	return out, true, err
}

func (e *eventsService) createArchive(in map[string]json.RawMessage) (any, error) {
	n := str1(in, "ArchiveName")
	if n == "" || len(n) > 48 || !archiveNameRE.MatchString(n) {
		return nil, badReq("ValidationException", "1 validation error detected: Value '%s' at 'archiveName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 48", n)
	}
	src := str1(in, "EventSourceArn")
	if !strings.HasPrefix(src, "arn:aws:events:") || !strings.Contains(src, ":event-bus/") {
		return nil, badReq("ValidationException", "Parameter EventSourceArn is not valid. Reason: Provided Arn is not in correct format.")
	}
	bus := busName(src)
	if _, ok := e.buses[bus]; !ok {
		return nil, badReq("ResourceNotFoundException", "Event bus %s does not exist.", bus)
	}
	if _, ok := e.arc.byName[n]; ok {
		return nil, badReq("ResourceAlreadyExistsException", "Archive %s already exists.", n)
	}
	days := int1(in, "RetentionDays", 0)
	if days < 0 {
		return nil, badReq("ValidationException", "1 validation error detected: Value '%d' at 'retentionDays' failed to satisfy constraint: Member must have value greater than or equal to 0", days)
	}
	a := &ebArchive{name: n, description: str1(in, "Description"), bus: bus, retentionDays: days, created: e.s.now()}
	if raw := str1(in, "EventPattern"); raw != "" {
		var pat map[string]any
		if err := json.Unmarshal([]byte(raw), &pat); err != nil {
			return nil, badReq("InvalidEventPatternException", "Event pattern is not valid. Reason: %v", err)
		}
		if err := validatePattern(pat); err != nil {
			return nil, badReq("InvalidEventPatternException", "Event pattern is not valid. Reason: %v", err)
		}
		a.pattern, a.raw = pat, raw
	}
	e.arc.byName[n] = a
	return map[string]any{"ArchiveArn": archiveARN(n), "State": "ENABLED", "CreationTime": epoch(a.created)}, nil
}

// summary is the archive as ListArchives lists it.
func (a *ebArchive) summary() map[string]any {
	m := map[string]any{
		"ArchiveName": a.name, "EventSourceArn": busARN(a.bus), "State": "ENABLED", "CreationTime": epoch(a.created),
		"EventCount": len(a.events), "SizeBytes": a.size,
	}
	if a.retentionDays > 0 {
		m["RetentionDays"] = a.retentionDays
	}
	return m
}

func (e *eventsService) listArchives(in map[string]json.RawMessage) (any, error) {
	src := str1(in, "EventSourceArn")
	if src != "" {
		if _, ok := e.buses[busName(src)]; !ok {
			return nil, badReq("ResourceNotFoundException", "Event bus %s does not exist.", busName(src))
		}
	}
	if st := str1(in, "State"); st != "" && st != "ENABLED" {
		return withToken(map[string]any{"Archives": []any{}}, ""), nil
	}
	names := make([]string, 0, len(e.arc.byName))
	for n, a := range e.arc.byName {
		if strings.HasPrefix(n, str1(in, "NamePrefix")) && (src == "" || a.bus == busName(src)) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	from, to, next, err := ebPage(in, len(names))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	now := e.s.now()
	for _, n := range names[from:to] {
		a := e.arc.byName[n]
		a.expire(now)
		out = append(out, a.summary())
	}
	return withToken(map[string]any{"Archives": out}, next), nil
}

func (e *eventsService) startReplay(in map[string]json.RawMessage) (any, error) {
	n := str1(in, "ReplayName")
	if n == "" || len(n) > 64 || !archiveNameRE.MatchString(n) {
		return nil, badReq("ValidationException", "1 validation error detected: Value '%s' at 'replayName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 64", n)
	}
	var dest struct {
		Arn        string
		FilterArns []string
	}
	_ = json.Unmarshal(in["Destination"], &dest)
	from, ok1 := ts1(in, "EventStartTime")
	to, ok2 := ts1(in, "EventEndTime")
	src := str1(in, "EventSourceArn")
	switch {
	case src == "" || !ok1 || !ok2 || dest.Arn == "":
		return nil, badReq("ValidationException", "ReplayName, EventSourceArn, EventStartTime, EventEndTime and Destination are required.")
	case !to.After(from):
		return nil, badReq("ValidationException", "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.")
	}
	if _, ok := e.arc.replays[n]; ok {
		return nil, badReq("ResourceAlreadyExistsException", "Replay %s already exists.", n)
	}
	name := src[strings.LastIndex(src, "/")+1:]
	a, ok := e.arc.byName[name]
	if !ok || !strings.HasPrefix(src, "arn:aws:events:") || !strings.Contains(src, ":archive/") {
		return nil, badReq("ValidationException", "Parameter EventSourceArn is not valid. Reason: Archive %s does not exist.", name)
	}
	if _, ok := e.buses[busName(dest.Arn)]; !ok {
		return nil, badReq("ResourceNotFoundException", "Event bus %s does not exist.", busName(dest.Arn))
	}
	if busName(dest.Arn) != a.bus {
		return nil, badReq("ValidationException", "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.")
	}
	for _, f := range dest.FilterArns {
		if _, ok := e.buses[a.bus].rules[ruleNameOf(f)]; !ok || ruleARN(a.bus, ruleNameOf(f)) != f {
			return nil, badReq("ValidationException", "Parameter Destination.FilterArns is not valid. Reason: Rule %s does not exist on EventBus %s.", f, a.bus)
		}
	}
	active := 0
	for _, r := range e.arc.replays {
		if r.state == "STARTING" || r.state == "RUNNING" || r.state == "CANCELLING" {
			active++
		}
	}
	if active >= maxActiveReplays {
		return nil, badReq("LimitExceededException", "The requested resource exceeds the maximum number allowed.")
	}
	r := &ebReplay{
		name: n, description: str1(in, "Description"), archiveARN: src, busARN: dest.Arn, filter: dest.FilterArns,
		from: from, to: to, state: "STARTING", started: e.s.now(),
	}
	e.arc.replays[n] = r
	e.arc.order = append(e.arc.order, n)
	rate := e.arc.rate
	if rate <= 0 {
		rate = defaultReplayRate
	}
	r.newIDs = e.arc.newIDs
	e.s.wg.Add(1)
	go e.runReplay(r, a.name, rate)
	return map[string]any{"ReplayArn": replayARN(n), "State": r.state, "ReplayStartTime": epoch(r.started)}, nil
}

func ruleNameOf(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// runReplay delivers the archived events of the replay's window, oldest
// minute first, at rate events per second, until done, cancelled or the
// server closes.
func (e *eventsService) runReplay(r *ebReplay, archive string, rate float64) {
	defer e.s.wg.Done()
	defer func() { _ = recover() }()
	e.mu.Lock()
	a, ok := e.arc.byName[archive]
	if !ok {
		r.state, r.reason, r.ended = "FAILED", "Archive "+archive+" does not exist.", e.s.now()
		e.mu.Unlock()
		return
	}
	var todo []archived
	for _, ev := range a.events {
		if !ev.at.Before(r.from) && ev.at.Before(r.to) {
			todo = append(todo, ev)
		}
	}
	if r.state == "STARTING" {
		r.state = "RUNNING"
	}
	e.mu.Unlock()
	// AWS replays minute by minute of event time; within a minute, in any order.
	sort.SliceStable(todo, func(i, j int) bool { return todo[i].at.Truncate(time.Minute).Before(todo[j].at.Truncate(time.Minute)) })
	gap := time.Duration(float64(time.Second) / rate)
	tick := time.NewTicker(max(gap, time.Millisecond))
	defer tick.Stop()
	for _, ev := range todo {
		if r.cancel.Load() {
			break
		}
		select {
		case <-e.s.ctx.Done():
			e.finish(r, "FAILED", "The sandbox stopped.")
			return
		case <-tick.C:
		}
		if r.cancel.Load() {
			break
		}
		e.replayOne(r, ev)
	}
	if r.cancel.Load() {
		e.finish(r, "CANCELLED", "")
		return
	}
	e.finish(r, "COMPLETED", "")
}

func (e *eventsService) finish(r *ebReplay, state, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r.state, r.reason, r.ended = state, reason, e.s.now()
}

// replayOne sends one archived event, marked with the replay's name, to the
// bus's matching rules (only those in the replay's filter, when it has one).
func (e *eventsService) replayOne(r *ebReplay, ev archived) {
	o := ev.env
	id := o.ID
	if r.newIDs {
		id = newRequestID()
	}
	env := replayEnvelope{
		Version: o.Version, ID: id, DetailType: o.DetailType, Source: o.Source, Account: o.Account,
		Time: o.Time, Region: o.Region, ReplayName: r.name, Resources: o.Resources, Detail: o.Detail,
	}
	envBytes, _ := json.Marshal(env)
	var doc map[string]any
	_ = json.Unmarshal(envBytes, &doc)
	var out []delivery
	e.mu.Lock()
	if b, ok := e.buses[busName(r.busARN)]; ok {
		names := make([]string, 0, len(b.rules))
		for n := range b.rules {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			rule := b.rules[n]
			if len(r.filter) > 0 && !containsStr(r.filter, ruleARN(b.name, n)) {
				continue
			}
			if rule.state != "ENABLED" || rule.pattern == nil || !matchPattern(rule.pattern, doc) {
				continue
			}
			ids := make([]string, 0, len(rule.targets))
			for tid := range rule.targets {
				ids = append(ids, tid)
			}
			sort.Strings(ids)
			for _, tid := range ids {
				out = append(out, rule.targets[tid].delivery(b.name, n, envBytes, doc, ""))
			}
		}
	}
	r.last = ev.at
	e.mu.Unlock()
	for _, d := range out {
		e.deliver(d)
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// summary is the replay as ListReplays lists it; absent times stay absent.
func (r *ebReplay) summary() map[string]any {
	m := map[string]any{
		"ReplayName": r.name, "EventSourceArn": r.archiveARN, "State": r.state,
		"EventStartTime": epoch(r.from), "EventEndTime": epoch(r.to), "ReplayStartTime": epoch(r.started),
	}
	if v := epochOrNil(r.last); v != nil {
		m["EventLastReplayedTime"] = v
	}
	if v := epochOrNil(r.ended); v != nil {
		m["ReplayEndTime"] = v
	}
	if r.reason != "" {
		m["StateReason"] = r.reason
	}
	return m
}

func (e *eventsService) listReplays(in map[string]json.RawMessage) (any, error) {
	var names []string
	for _, n := range e.arc.order {
		r := e.arc.replays[n]
		if strings.HasPrefix(n, str1(in, "NamePrefix")) && (str1(in, "State") == "" || r.state == str1(in, "State")) &&
			(str1(in, "EventSourceArn") == "" || r.archiveARN == str1(in, "EventSourceArn")) {
			names = append(names, n)
		}
	}
	from, to, next, err := ebPage(in, len(names))
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, n := range names[from:to] {
		out = append(out, e.arc.replays[n].summary())
	}
	return withToken(map[string]any{"Replays": out}, next), nil
}
