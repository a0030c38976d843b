package cwlogs

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/tracing"
)

var _ collectors.Searcher = (*Source)(nil)

// searchTimeout bounds one Search: a user is waiting.
const searchTimeout = 30 * time.Second

// Search finds the log events that carry any of keys across every group with
// one Logs Insights query, pushing the search to AWS instead of pulling logs,
// and keeps only the events that really carry a key (a server-side filter is
// an optimisation, not a guarantee). Where Insights is unavailable it falls
// back to FilterLogEvents with each quoted term. It implements
// [collectors.Searcher].
func (s *Source) Search(ctx context.Context, keys []tracing.Key, from, to time.Time) (tracing.Batch, error) {
	ctx, cancel := context.WithTimeout(ctx, searchTimeout)
	defer cancel()
	var terms []string
	seen := map[string]bool{}
	for _, k := range keys {
		for _, t := range collectors.Terms(k) {
			if !seen[t] {
				seen[t] = true
				terms = append(terms, t)
			}
		}
	}
	if len(terms) == 0 {
		return nil, nil
	}
	groups, err := s.searchGroups(ctx)
	if err != nil || len(groups) == 0 {
		return nil, err
	}
	b, err := s.insights(ctx, groups, terms, from, to)
	if err == nil {
		return collectors.KeepCarrying(b, keys), nil
	}
	var all tracing.Batch
	for _, term := range terms {
		for _, g := range groups {
			got, _, err := s.readPages(ctx, g, from.UnixMilli(), to.UnixMilli(), `"`+strings.ReplaceAll(term, `"`, ``)+`"`, 5)
			all = append(all, got...)
			if ctx.Err() != nil {
				// The time bound: keep what was found, and say the search was cut.
				return collectors.KeepCarrying(all, keys), fmt.Errorf("cwlogs: search stopped after %s: %w", searchTimeout, ctx.Err())
			}
			if err != nil && awsutil.Classify(err) != awsutil.KindNotFound {
				return collectors.KeepCarrying(all, keys), err
			}
		}
	}
	return collectors.KeepCarrying(all, keys), nil
}

// insights runs one Logs Insights query per batch of 50 groups (names and
// linked accounts' ARNs in separate calls), a few at a time, and gathers
// their rows. A query that returns its row limit is counted: more rows may
// exist than it gave.
func (s *Source) insights(ctx context.Context, groups []Group, terms []string, from, to time.Time) (tracing.Batch, error) {
	var alts []string
	for _, t := range terms {
		alts = append(alts, regexpQuote(t))
	}
	query := "fields @timestamp, @message, @logStream, @log | filter @message like /" + strings.Join(alts, "|") + "/ | sort @timestamp asc | limit " + strconv.Itoa(insightsRowLimit)
	ix := newGroupIndex(groups)
	batches := insightsBatches(groups)
	rows := make([][][]cwltypes.ResultField, len(batches))
	errs := make([]error, len(batches))
	sem := make(chan struct{}, insightsParallel)
	var wg sync.WaitGroup
	for i, in := range batches {
		in.QueryString, in.StartTime, in.EndTime = aws.String(query), aws.Int64(from.Unix()), aws.Int64(to.Unix()+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			rows[i], errs[i] = s.runQuery(ctx, in)
		}()
	}
	wg.Wait()
	var all tracing.Batch
	for i := range batches {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if len(rows[i]) >= insightsRowLimit {
			s.xa.mu.Lock()
			s.xa.stats.QueriesCut++
			s.xa.mu.Unlock()
		}
		for _, row := range rows[i] {
			all = append(all, s.insightsRow(row, ix, to))
		}
	}
	return all, nil
}

// runQuery starts one Insights query and waits for its rows.
func (s *Source) runQuery(ctx context.Context, in *cwl.StartQueryInput) ([][]cwltypes.ResultField, error) {
	q, err := s.api.StartQuery(ctx, in)
	if err != nil {
		return nil, awsutil.Explain("cwlogs", describeBatch(in), "logs:StartQuery", err)
	}
	for {
		res, err := s.api.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: q.QueryId})
		if err != nil {
			return nil, awsutil.Explain("cwlogs", describeBatch(in), "logs:GetQueryResults", err)
		}
		switch res.Status {
		case cwltypes.QueryStatusComplete:
			return res.Results, nil
		case cwltypes.QueryStatusFailed, cwltypes.QueryStatusCancelled, cwltypes.QueryStatusTimeout:
			return nil, fmt.Errorf("cwlogs: insights query %s", res.Status)
		}
		if !awsutil.Sleep(ctx, 500*time.Millisecond) {
			return nil, ctx.Err()
		}
	}
}

// insightsRow turns one Insights result row into an observation. A row whose
// @timestamp can't be read takes the row's @ingestionTime, else the end of the
// window, and is counted as unparsed.
func (s *Source) insightsRow(row []cwltypes.ResultField, ix groupIndex, to time.Time) tracing.Observation {
	f := map[string]string{}
	for _, c := range row {
		f[aws.ToString(c.Field)] = aws.ToString(c.Value)
	}
	ts, ok := ParseLogTime(f["@timestamp"])
	if !ok {
		if ts, ok = ParseLogTime(f["@ingestionTime"]); !ok {
			ts = to
		}
		s.tracker.Unparsed(1)
	}
	g := s.fromLog(ix, f["@log"])
	id := f["@ptr"]
	if id == "" {
		id = fmt.Sprintf("%s/%d/%s", f["@logStream"], ts.UnixMilli(), f["@message"])
	}
	return s.observe(g, f["@logStream"], id, f["@message"], ts.UnixMilli())
}

// ParseLogTime reads a log event time in every form endpoints send: Logs
// Insights' "2006-01-02 15:04:05.000" (UTC), RFC 3339, and epoch numbers in
// milliseconds (Live Tail, FilterLogEvents, and Insights on some compatible
// endpoints), seconds, microseconds or nanoseconds, told apart by magnitude.
func ParseLogTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return time.Time{}, false
	}
	for _, layout := range []string{"2006-01-02 15:04:05.000", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		switch {
		case n < 1e11: // seconds: until the year 5138
			return time.Unix(n, 0).UTC(), true
		case n < 1e14: // milliseconds
			return time.UnixMilli(n).UTC(), true
		case n < 1e17: // microseconds
			return time.UnixMicro(n).UTC(), true
		default: // nanoseconds
			return time.Unix(0, n).UTC(), true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f <= 0 {
		return time.Time{}, false
	}
	switch {
	case f < 1e11: // seconds: until the year 5138
		return time.UnixMicro(int64(math.Round(f * 1e6))).UTC(), true
	case f < 1e14: // milliseconds
		return time.UnixMicro(int64(math.Round(f * 1e3))).UTC(), true
	case f < 1e17: // microseconds
		return time.UnixMicro(int64(f)).UTC(), true
	case f < 1e19: // nanoseconds
		return time.Unix(0, int64(f)).UTC(), true
	}
	return time.Time{}, false
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$/`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
