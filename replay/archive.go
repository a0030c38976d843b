package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
)

// ArchiveAPI is the part of the EventBridge client an archive replay uses;
// the EventBridge client given in [Brokers] serves it when it has these
// methods (the SDK client does).
type ArchiveAPI interface {
	DescribeArchive(context.Context, *eventbridge.DescribeArchiveInput, ...func(*eventbridge.Options)) (*eventbridge.DescribeArchiveOutput, error)
	ListArchives(context.Context, *eventbridge.ListArchivesInput, ...func(*eventbridge.Options)) (*eventbridge.ListArchivesOutput, error)
	ListRules(context.Context, *eventbridge.ListRulesInput, ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error)
	StartReplay(context.Context, *eventbridge.StartReplayInput, ...func(*eventbridge.Options)) (*eventbridge.StartReplayOutput, error)
	DescribeReplay(context.Context, *eventbridge.DescribeReplayInput, ...func(*eventbridge.Options)) (*eventbridge.DescribeReplayOutput, error)
	CancelReplay(context.Context, *eventbridge.CancelReplayInput, ...func(*eventbridge.Options)) (*eventbridge.CancelReplayOutput, error)
}

// ArchiveRequest asks to replay an EventBridge archive over a window.
type ArchiveRequest struct {
	Archive string // name or ARN
	// From and To are the window of event time: events whose time is in
	// [From, To) are replayed.
	From, To time.Time
	// Rules limits the replay to these rules of the bus (names or ARNs,
	// Destination.FilterArns); empty means every rule.
	Rules []string
	// Name is the replay's name; "" makes one (flowtop-<archive>-<time>).
	Name string
}

// ArchivePlan is what an archive replay will do. Print it, confirm, then
// hand it to [Replayer.ExecuteArchive].
type ArchivePlan struct {
	Archive, ArchiveARN string
	Bus, BusARN         string
	State               string // the archive's state (ENABLED, …)
	Pattern             string // the archive's event pattern ("" = every event)
	RetentionDays       int    // 0 = for ever
	EventCount          int64  // events in the whole archive (AWS reconciles it over 24 hours)
	SizeBytes           int64
	From, To            time.Time
	Rules               []string // names of the rules replayed to; empty = every rule
	RuleARNs            []string // Destination.FilterArns
	AllRules            []string // every rule of the bus, for the plan's text
	ReplayName          string
	Warnings            []string
	Created             time.Time
}

// Lines is the plan as text, one line each.
func (p ArchivePlan) Lines() []string {
	out := []string{
		fmt.Sprintf("replay archive %s (bus %s): events from %s to %s (%s)", p.Archive, p.Bus, p.From.UTC().Format(time.RFC3339), p.To.UTC().Format(time.RFC3339), p.To.Sub(p.From).Round(time.Second)),
		fmt.Sprintf("archive: %d events, %s in all (whole archive; how many fall in the window is known once the replay runs)", p.EventCount, bytesText(p.SizeBytes)),
	}
	ret := "kept for ever"
	if p.RetentionDays > 0 {
		ret = fmt.Sprintf("kept %d days", p.RetentionDays)
	}
	pat := "every event of the bus"
	if p.Pattern != "" {
		pat = "events matching " + clip(p.Pattern, 200)
	}
	out = append(out, "holds:  "+pat+", "+ret)
	if len(p.Rules) > 0 {
		out = append(out, "to:     rules "+strings.Join(p.Rules, ", ")+" of bus "+p.Bus+" only (Destination.FilterArns)")
	} else {
		n := fmt.Sprintf("%d rules", len(p.AllRules))
		if len(p.AllRules) > 0 {
			n += ": " + strings.Join(p.AllRules[:min(len(p.AllRules), 10)], ", ")
			if len(p.AllRules) > 10 {
				n += fmt.Sprintf(" and %d more", len(p.AllRules)-10)
			}
		}
		out = append(out, "to:     every rule of bus "+p.Bus+" whose pattern matches ("+n+")")
	}
	out = append(out, "as:     replay "+p.ReplayName+" (each event keeps its time and carries replay-name "+p.ReplayName+")")
	for _, w := range p.Warnings {
		out = append(out, "warning: "+w)
	}
	return out
}

// String is Lines joined.
func (p ArchivePlan) String() string { return strings.Join(p.Lines(), "\n") }

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (r *Replayer) archiveAPI() (ArchiveAPI, error) {
	a, ok := r.brokers.EventBridge.(ArchiveAPI)
	if !ok {
		return nil, errors.New("replay: no EventBridge client that can replay archives")
	}
	return a, nil
}

// archiveName is the name an archive ARN (arn:…:archive/NAME) ends with.
func archiveName(s string) string {
	if strings.HasPrefix(s, "arn:") {
		if i := strings.LastIndex(s, "/"); i >= 0 {
			return s[i+1:]
		}
	}
	return s
}

// PlanArchive reads the archive and the bus's rules without changing
// anything, and says what the replay will do.
func (r *Replayer) PlanArchive(ctx context.Context, req ArchiveRequest) (ArchivePlan, error) {
	// Whole seconds: the API's timestamps are epoch seconds.
	p := ArchivePlan{Archive: archiveName(req.Archive), From: req.From.UTC().Truncate(time.Second), To: req.To.UTC().Truncate(time.Second), ReplayName: req.Name, Created: r.opts.Now()}
	eb, err := r.archiveAPI()
	if err != nil {
		return p, err
	}
	if p.Archive == "" {
		return p, errors.New("replay: which archive? (--archive NAME)")
	}
	if !p.To.After(p.From) {
		return p, fmt.Errorf("replay: the window must end after it starts (from %s to %s)", p.From.Format(time.RFC3339), p.To.Format(time.RFC3339))
	}
	a, err := eb.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(p.Archive)})
	if err != nil {
		return p, fmt.Errorf("replay: archive %s: %w", p.Archive, err)
	}
	p.ArchiveARN, p.BusARN = aws.ToString(a.ArchiveArn), aws.ToString(a.EventSourceArn)
	p.Bus = busOf(p.BusARN)
	p.State, p.Pattern = string(a.State), aws.ToString(a.EventPattern)
	p.RetentionDays = int(aws.ToInt32(a.RetentionDays))
	p.EventCount, p.SizeBytes = a.EventCount, a.SizeBytes
	if p.ReplayName == "" {
		p.ReplayName = replayName(p.Archive, p.Created)
	}
	rules, more, err := r.busRules(ctx, eb, p.Bus)
	if err != nil {
		return p, err
	}
	for _, want := range req.Rules {
		name := ruleName(want)
		arn, ok := rules[name]
		if !ok {
			return p, fmt.Errorf("replay: bus %s has no rule %s (its rules: %s)", p.Bus, want, strings.Join(sortedKeys(rules), ", "))
		}
		p.Rules, p.RuleARNs = append(p.Rules, name), append(p.RuleARNs, arn)
	}
	p.AllRules = sortedKeys(rules)
	if more {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the bus's rules were read only in part (%d)", len(rules)))
	}
	now := r.opts.Now()
	switch {
	case p.State != "" && p.State != string(ebtypes.ArchiveStateEnabled):
		p.Warnings = append(p.Warnings, "the archive is "+p.State+", not ENABLED")
	case p.EventCount == 0:
		p.Warnings = append(p.Warnings, "the archive holds no events (EventCount 0; AWS reconciles it over 24 hours, so recent events may not show yet): the replay may send nothing")
	}
	if p.RetentionDays > 0 {
		if oldest := now.Add(-time.Duration(p.RetentionDays) * 24 * time.Hour); p.From.Before(oldest) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("the window starts before the archive's retention (%d days): events before %s are gone and can't be replayed", p.RetentionDays, oldest.UTC().Format(time.RFC3339)))
		}
	}
	if p.To.After(now.Add(-10 * time.Minute)) {
		p.Warnings = append(p.Warnings, "the window reaches into the last 10 minutes: AWS may not have archived those events yet (it advises waiting 10 minutes)")
	}
	if p.To.After(now) {
		p.Warnings = append(p.Warnings, "the window ends in the future: events put after the replay starts are not replayed")
	}
	p.Warnings = append(p.Warnings,
		"consumers see these events again: they must be idempotent (a rule that matches {\"replay-name\":[{\"exists\":false}]} skips replays)")
	return p, nil
}

func busOf(arn string) string {
	if i := strings.LastIndex(arn, "event-bus/"); i >= 0 {
		return arn[i+len("event-bus/"):]
	}
	if arn == "" {
		return "default"
	}
	return arn
}

// ruleName is the name a rule ARN (…:rule/NAME or …:rule/BUS/NAME) ends with.
func ruleName(s string) string {
	if strings.HasPrefix(s, "arn:") {
		if i := strings.LastIndex(s, "/"); i >= 0 {
			return s[i+1:]
		}
	}
	return s
}

// replayName makes a replay name AWS accepts ([.-_A-Za-z0-9]{1,64}).
func replayName(archive string, at time.Time) string {
	n := "flowtop-" + safeName(archive)
	if len(n) > 46 {
		n = n[:46]
	}
	return n + "-" + at.UTC().Format("20060102T150405Z")
}

// busRules maps the bus's rule names to their ARNs, bounded.
func (r *Replayer) busRules(ctx context.Context, eb ArchiveAPI, bus string) (map[string]string, bool, error) {
	rules := map[string]string{}
	var next *string
	for calls := 0; calls < maxDiscoveryCalls; calls++ {
		out, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String(bus), NextToken: next})
		if err != nil {
			return rules, false, fmt.Errorf("replay: rules of bus %s: %w", bus, err)
		}
		for _, rl := range out.Rules {
			rules[aws.ToString(rl.Name)] = aws.ToString(rl.Arn)
		}
		if next = out.NextToken; next == nil {
			return rules, false, nil
		}
	}
	return rules, true, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ArchiveProgress reports an archive replay as it runs.
type ArchiveProgress struct {
	State string
	// LastReplayed is the event time of the last event replayed
	// (EventLastReplayedTime); zero until the first.
	LastReplayed time.Time
	// Fraction is how far through the window LastReplayed is, 0 to 1.
	Fraction float64
	Note     string
}

// ArchiveResult is how an archive replay ended.
type ArchiveResult struct {
	ReplayName, ReplayARN string
	State, StateReason    string
	LastReplayed          time.Time
	Started, Ended        time.Time
	Cancelled             bool // flowtop cancelled it (ctrl-c, esc)
	Journal               string
	Note                  string
}

// Lines is the result as text, for a summary.
func (res ArchiveResult) Lines() []string {
	out := []string{fmt.Sprintf("replay %s: %s", res.ReplayName, orDash(res.State))}
	if res.StateReason != "" {
		out = append(out, "reason: "+res.StateReason)
	}
	if !res.LastReplayed.IsZero() {
		out = append(out, "last event replayed: "+res.LastReplayed.UTC().Format(time.RFC3339))
	}
	if !res.Started.IsZero() && !res.Ended.IsZero() {
		out = append(out, "took "+res.Ended.Sub(res.Started).Round(time.Second/10).String())
	}
	if res.Note != "" {
		out = append(out, res.Note)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// ErrReplayFailed is wrapped by the error an archive replay returns when
// EventBridge reports it FAILED.
var ErrReplayFailed = errors.New("replay: the archive replay failed")

// ExecuteArchive starts the planned replay and follows it with
// DescribeReplay (backing off, bounded by Options.MaxRun) until it ends.
// When ctx ends first it cancels the replay with CancelReplay and waits
// (bounded) for CANCELLED. It is journaled and audited in the state
// directory; a second replay of the same archive from another flowtop is
// refused while this one runs.
func (r *Replayer) ExecuteArchive(ctx context.Context, p ArchivePlan, progress func(ArchiveProgress)) (ArchiveResult, error) {
	res := ArchiveResult{ReplayName: p.ReplayName}
	if r.opts.ReadOnly {
		return res, ErrReadOnly
	}
	if progress == nil {
		progress = func(ArchiveProgress) {}
	}
	eb, err := r.archiveAPI()
	if err != nil {
		return res, err
	}
	if r.opts.StateDir == "" {
		return res, errors.New("replay: no state directory for the journal and the lock")
	}
	lk, err := acquireLock(r.opts.StateDir, "archive-"+p.Archive, r.opts.Now())
	if errors.Is(err, ErrLocked) {
		return res, fmt.Errorf("replay: another flowtop is replaying archive %s (wait for it, or cancel it there): %w", p.Archive, err)
	}
	if err != nil {
		return res, fmt.Errorf("replay: archive %s: %w", p.Archive, err)
	}
	defer lk.unlock()
	jr := archiveJournal{path: filepath.Join(r.opts.StateDir, "archive-replay-"+safeName(p.ReplayName)+".journal")}
	res.Journal = jr.path
	jr.write(map[string]any{"plan": p})
	r.audit("archive replay start", p.String(), nil)
	res, err = r.followArchive(ctx, eb, p, res, &jr, progress)
	jr.write(map[string]any{"end": res.State, "reason": res.StateReason, "error": errText(err)})
	if res.State == string(ebtypes.ReplayStateCompleted) || res.State == string(ebtypes.ReplayStateCancelled) || res.State == string(ebtypes.ReplayStateFailed) {
		if os.Rename(jr.path, jr.path+".done") == nil {
			res.Journal = jr.path + ".done"
		}
	}
	r.audit("archive replay end", strings.Join(res.Lines(), "; "), err)
	return res, err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (r *Replayer) followArchive(ctx context.Context, eb ArchiveAPI, p ArchivePlan, res ArchiveResult, jr *archiveJournal, progress func(ArchiveProgress)) (ArchiveResult, error) {
	in := &eventbridge.StartReplayInput{
		ReplayName: aws.String(p.ReplayName), EventSourceArn: aws.String(p.ArchiveARN),
		EventStartTime: aws.Time(p.From), EventEndTime: aws.Time(p.To),
		Destination: &ebtypes.ReplayDestination{Arn: aws.String(p.BusARN), FilterArns: p.RuleARNs},
		Description: aws.String("flowtop replay --archive " + p.Archive),
	}
	out, err := eb.StartReplay(ctx, in)
	var exists *ebtypes.ResourceAlreadyExistsException
	_, definite := refusal(err)
	switch {
	case err != nil && (errors.As(err, &exists) || !definite):
		// A retry after a lost answer finds the replay it started, and an
		// answer lost for good may hide one: follow it if it is this one.
		d, derr := eb.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String(p.ReplayName)})
		switch {
		case derr == nil && aws.ToString(d.EventSourceArn) == p.ArchiveARN && near(aws.ToTime(d.EventStartTime), p.From) && near(aws.ToTime(d.EventEndTime), p.To):
			res.ReplayARN, res.State = aws.ToString(d.ReplayArn), string(d.State)
			res.Note = "StartReplay's answer was lost; the replay it started was found by its name"
		case errors.As(err, &exists):
			return res, fmt.Errorf("replay: a replay named %s exists already: %w", p.ReplayName, err)
		case notFound(derr):
			return res, fmt.Errorf("replay: StartReplay: %w", err) // it did not start
		default:
			return res, fmt.Errorf("replay: StartReplay: the answer was lost, so replay %s may be running: check it with aws events describe-replay --replay-name %s: %w", p.ReplayName, p.ReplayName, err)
		}
	case err != nil:
		return res, fmt.Errorf("replay: StartReplay: %w", err)
	default:
		res.ReplayARN, res.State = aws.ToString(out.ReplayArn), string(out.State)
		res.Started = aws.ToTime(out.ReplayStartTime)
	}
	jr.write(map[string]any{"started": res.ReplayARN, "state": res.State})
	progress(ArchiveProgress{State: res.State, Note: "replay " + p.ReplayName + " started"})
	deadline := r.opts.Now().Add(r.opts.MaxRun)
	wait := r.opts.PollEvery
	const maxWait = 5 * time.Second
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return r.cancelArchive(eb, p, res, jr, progress, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*3/2, maxWait)
		d, err := eb.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String(p.ReplayName)})
		if err != nil {
			if ctx.Err() != nil {
				return r.cancelArchive(eb, p, res, jr, progress, ctx.Err())
			}
			if failures++; failures >= 10 {
				res.Note = "the replay goes on in EventBridge; follow it with: aws events describe-replay --replay-name " + p.ReplayName
				return res, fmt.Errorf("replay: DescribeReplay failed %d times in a row: %w", failures, err)
			}
			continue
		}
		failures = 0
		res = withReplay(res, d)
		progress(archiveProgress(p, d))
		switch d.State {
		case ebtypes.ReplayStateCompleted:
			return res, nil
		case ebtypes.ReplayStateFailed:
			return res, fmt.Errorf("%w: %s", ErrReplayFailed, orDash(res.StateReason))
		case ebtypes.ReplayStateCancelled:
			return res, fmt.Errorf("replay: replay %s was cancelled outside flowtop", p.ReplayName)
		}
		if r.opts.Now().After(deadline) {
			res.Note = "flowtop stopped following it after " + r.opts.MaxRun.String() + "; the replay goes on in EventBridge: aws events describe-replay --replay-name " + p.ReplayName
			return res, fmt.Errorf("replay: replay %s still %s after %s", p.ReplayName, d.State, r.opts.MaxRun)
		}
	}
}

// cancelWait bounds how long a cancelled replay is followed to CANCELLED.
const cancelWait = 60 * time.Second

// cancelArchive cancels the replay (on a fresh context: the caller's is
// done) and waits, bounded, until EventBridge reports it ended.
func (r *Replayer) cancelArchive(eb ArchiveAPI, p ArchivePlan, res ArchiveResult, jr *archiveJournal, progress func(ArchiveProgress), cause error) (ArchiveResult, error) {
	ctx, stop := context.WithTimeout(context.Background(), cancelWait)
	defer stop()
	res.Cancelled = true
	progress(ArchiveProgress{State: "CANCELLING", Note: "cancelling replay " + p.ReplayName + "…"})
	c, err := eb.CancelReplay(ctx, &eventbridge.CancelReplayInput{ReplayName: aws.String(p.ReplayName)})
	var illegal *ebtypes.IllegalStatusException
	switch {
	case errors.As(err, &illegal):
		// It ended on its own meanwhile: say how.
	case err != nil:
		res.Note = "CancelReplay failed: the replay may go on in EventBridge; cancel it with: aws events cancel-replay --replay-name " + p.ReplayName
		return res, errors.Join(cause, fmt.Errorf("replay: CancelReplay: %w", err))
	default:
		res.State = string(c.State)
	}
	jr.write(map[string]any{"cancel": res.State})
	wait := r.opts.PollEvery
	for {
		d, err := eb.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String(p.ReplayName)})
		if err == nil {
			res = withReplay(res, d)
			progress(archiveProgress(p, d))
			switch d.State {
			case ebtypes.ReplayStateCancelled, ebtypes.ReplayStateCompleted, ebtypes.ReplayStateFailed:
				return res, cause
			}
		}
		select {
		case <-ctx.Done():
			res.Note = fmt.Sprintf("the replay was still %s %s after CancelReplay; follow it with: aws events describe-replay --replay-name %s", res.State, cancelWait, p.ReplayName)
			return res, cause
		case <-time.After(wait):
		}
		wait = min(wait*3/2, 2*time.Second)
	}
}

// near reports whether two API timestamps are the same to the second.
func near(a, b time.Time) bool { d := a.Sub(b); return d < time.Second && d > -time.Second }

func withReplay(res ArchiveResult, d *eventbridge.DescribeReplayOutput) ArchiveResult {
	res.State, res.StateReason = string(d.State), aws.ToString(d.StateReason)
	res.LastReplayed = aws.ToTime(d.EventLastReplayedTime)
	if t := aws.ToTime(d.ReplayStartTime); !t.IsZero() {
		res.Started = t
	}
	res.Ended = aws.ToTime(d.ReplayEndTime)
	if res.ReplayARN == "" {
		res.ReplayARN = aws.ToString(d.ReplayArn)
	}
	return res
}

func archiveProgress(p ArchivePlan, d *eventbridge.DescribeReplayOutput) ArchiveProgress {
	pr := ArchiveProgress{State: string(d.State), LastReplayed: aws.ToTime(d.EventLastReplayedTime)}
	if d.State == ebtypes.ReplayStateCompleted {
		pr.Fraction = 1
	} else if !pr.LastReplayed.IsZero() {
		pr.Fraction = min(max(float64(pr.LastReplayed.Sub(p.From))/float64(p.To.Sub(p.From)), 0), 1)
	}
	return pr
}

// archiveJournal records an archive replay in the state directory, one JSON
// line each (the plan, the replay's ARN once started, how it ended), so the
// replay can be found again after flowtop stopped.
type archiveJournal struct{ path string }

func (j *archiveJournal) write(rec map[string]any) {
	b, err := json.Marshal(rec)
	if err != nil {
		return
	}
	f, err := os.OpenFile(j.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Write(append(b, '\n')); err == nil {
		_ = f.Sync()
	}
}

// IsArchiveNotFound reports whether err says the archive does not exist.
func IsArchiveNotFound(err error) bool { return notFound(err) }

func notFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException"
}

// ArchivesOf lists the archives whose source is the bus (a name or ARN;
// "" = every archive), by name, bounded.
func (r *Replayer) ArchivesOf(ctx context.Context, bus string) ([]string, error) {
	eb, err := r.archiveAPI()
	if err != nil {
		return nil, err
	}
	in := &eventbridge.ListArchivesInput{}
	var names []string
	for calls := 0; calls < maxDiscoveryCalls; calls++ {
		out, err := eb.ListArchives(ctx, in)
		if err != nil {
			return names, fmt.Errorf("replay: ListArchives: %w", err)
		}
		for _, a := range out.Archives {
			if bus == "" || busOf(aws.ToString(a.EventSourceArn)) == busOf(bus) {
				names = append(names, aws.ToString(a.ArchiveName))
			}
		}
		if in.NextToken = out.NextToken; in.NextToken == nil {
			break
		}
	}
	return names, nil
}
