package cwlogs

import (
	"cmp"
	"context"
	"log/slog"
	"strings"
	"time"

	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/flowtop/flowtop/tracing"
)

// accessLog reads msg as an API Gateway access log line when g is no Lambda
// function's group (/aws/lambda/…) and the line is one, in a JSON format
// (see [tracing.ParseAPIAccessLog]); ok is false for every other line, which
// is then read as a Lambda log line. Access logs go to a group the stage's
// accessLogSettings name (API-Gateway-Access-Logs_<apiId>/<stage> is a
// common choice), which flowtop follows when told to (a log group or prefix).
func accessLog(g Group, msg string, ts int64) (tracing.Observation, bool) {
	if strings.HasPrefix(g.Name, "/aws/lambda/") || !strings.HasPrefix(strings.TrimSpace(msg), "{") {
		return tracing.Observation{}, false
	}
	r, err := tracing.ParseAPIAccessLog(msg, time.UnixMilli(ts).UTC())
	if err != nil {
		return tracing.Observation{}, false
	}
	if r.Stage == "" || r.APIID == "" {
		// The group's name says which stage when the line does not:
		// API-Gateway-Access-Logs_<apiId>/<stage>, as for execution logs.
		if rest, ok := strings.CutPrefix(g.Name, "API-Gateway-Access-Logs_"); ok {
			if id, stage, ok := strings.Cut(rest, "/"); ok {
				r.APIID, r.Stage = cmp.Or(r.APIID, id), cmp.Or(r.Stage, stage)
			}
		}
	}
	o := r.Observation("cwlogs")
	return o, true
}

// discovering reports whether the groups discovery finds (GroupsFunc: the
// Lambda functions' groups) are not known yet while no group was named:
// Live Tail reads nothing logged before it opens, so it must not open on
// the groups a prefix found alone (an API stage's access log) and miss the
// functions' groups.
func (s *Source) discovering() bool {
	return len(s.cfg.Groups) == 0 && s.cfg.GroupsFunc != nil && len(s.cfg.GroupsFunc()) == 0
}

// watchGroups closes the returned channel when a group the Live Tail
// sessions do not follow appears (a function deployed, a stage's access log
// created), so they reopen with it; it checks every ten polls until ctx ends.
func (s *Source) watchGroups(ctx context.Context, open map[string]Group) <-chan struct{} { // open is keyed by Group.id
	grown := make(chan struct{})
	go func() {
		tick := time.NewTicker(10 * s.cfg.Poll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			groups, err := s.groups(ctx)
			if err != nil {
				continue
			}
			for _, g := range groups {
				if _, ok := open[g.id()]; !ok {
					slog.Info("live tail reopens for a new group", tracing.LogKeySource, "cwlogs", tracing.LogKeyGroups, g.Name)
					close(grown)
					return
				}
			}
		}
	}()
	return grown
}

// closeTails closes Live Tail sessions and waits, bounded, for the running
// readers of them to stop: the SDK's event-stream decoder is shared by the
// client's streams, so the next sessions must not start while an old one
// still decodes.
func closeTails(sessions []*cwl.StartLiveTailOutput, done <-chan error, running int) {
	for _, lt := range sessions {
		_ = lt.GetStream().Close()
	}
	limit := time.After(5 * time.Second)
	for ; running > 0; running-- {
		select {
		case err := <-done:
			_ = err // a reader that ended: its session is over, closed here
		case <-limit:
			return
		}
	}
}
