package cwlogs

import (
	"cmp"
	"strings"
	"time"

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
