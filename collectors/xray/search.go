package xray

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/collectors/linked"
	"github.com/flowtop/flowtop/tracing"
)

// SearchConfig sets the X-Ray history searcher.
type SearchConfig struct {
	// Annotations are the annotation keys applications put an ID under, by
	// the kind of key they hold; nil uses [DefaultAnnotations]. X-Ray indexes
	// annotations, so `annotation.event_id = "…"` is answered by the service.
	Annotations map[tracing.KeyKind][]string
	// MaxTraces bounds the traces fetched by one Search (default 50).
	MaxTraces int
	// Linked says whether the account is a monitoring account whose traces
	// hold linked accounts' segments (see [Config.Linked]).
	Linked *linked.Detector
}

// DefaultAnnotations are the annotation keys searched for each kind of key:
// the names Powertools users and flowtop's own examples put IDs under.
func DefaultAnnotations() map[tracing.KeyKind][]string {
	return map[tracing.KeyKind][]string{
		tracing.KeyEventID:      {"event_id", "eventId"},
		tracing.KeyCloudEventID: {"event_id", "ce_id"},
		tracing.KeyMessageID:    {"message_id", "messageId"},
		tracing.KeySNSMessageID: {"message_id", "sns_message_id"},
		tracing.KeyRequestID:    {"request_id", "aws_request_id"},
	}
}

// Searcher finds traces in X-Ray history by keys. A trace ID goes straight to
// BatchGetTraces; other IDs become an annotation filter expression for
// GetTraceSummaries, and the traces it names are then fetched. It implements
// [collectors.Searcher].
type Searcher struct {
	api API
	cfg SearchConfig
}

var _ collectors.Searcher = (*Searcher)(nil)

// NewSearcher returns an X-Ray history searcher.
func NewSearcher(api API, cfg SearchConfig) *Searcher {
	if cfg.Annotations == nil {
		cfg.Annotations = DefaultAnnotations()
	}
	if cfg.MaxTraces <= 0 {
		cfg.MaxTraces = 50
	}
	return &Searcher{api: api, cfg: cfg}
}

// Name is "xray".
func (s *Searcher) Name() string { return "xray" }

// maxWindow is the longest time range one GetTraceSummaries call is given.
const maxWindow = 6 * time.Hour

// maxClauses bounds the clauses of one filter expression.
const maxClauses = 20

// annotationKey is what X-Ray accepts as an annotation key.
var annotationKey = regexp.MustCompile(`^[A-Za-z0-9_]{1,500}$`)

// Search returns the segments that carry one of keys. Segments found through
// an annotation carry that annotation's key too, so they join their event;
// the rest of such a trace joins once the history search asks for the trace.
func (s *Searcher) Search(ctx context.Context, keys []tracing.Key, from, to time.Time) (tracing.Batch, error) {
	var traceIDs []string
	var clauses []string
	byClause := map[string]tracing.Key{}
	for _, k := range keys {
		if k.Kind == tracing.KeyTraceID || k.Kind == tracing.KeyUnknown {
			if t, err := tracing.ParseTraceID(k.Value); err == nil {
				if id := t.XRay(); !slices.Contains(traceIDs, id) {
					traceIDs = append(traceIDs, id)
				}
				continue
			}
		}
		for _, c := range s.clauses(k) {
			if _, ok := byClause[c]; !ok {
				clauses = append(clauses, c)
				byClause[c] = k
			}
		}
	}
	var errs error
	for len(clauses) > 0 && len(traceIDs) < s.cfg.MaxTraces {
		n := min(len(clauses), maxClauses)
		ids, err := s.summaries(ctx, strings.Join(clauses[:n], " OR "), from, to, s.cfg.MaxTraces-len(traceIDs))
		for _, id := range ids {
			if !slices.Contains(traceIDs, id) {
				traceIDs = append(traceIDs, id)
			}
		}
		if err != nil {
			errs = err
			break
		}
		clauses = clauses[n:]
	}
	b, err := s.traces(ctx, traceIDs)
	if err != nil && errs == nil {
		errs = err
	}
	for i := range b {
		s.annotate(&b[i], keys)
	}
	return collectors.KeepCarrying(b, keys), errs
}

// clauses are the annotation comparisons that find k.
func (s *Searcher) clauses(k tracing.Key) []string {
	v := k.Value
	if k.Kind == tracing.KeyCloudEventID {
		_, id, ok := strings.Cut(v, "\n")
		if !ok {
			return nil
		}
		v = id
	}
	if v == "" || len(v) > 256 || strings.ContainsAny(v, "\"\\\n") {
		return nil // not safely quotable: the other searchers still look for it
	}
	var names []string
	if k.Kind == tracing.KeyUnknown {
		for _, kind := range []tracing.KeyKind{tracing.KeyEventID, tracing.KeyCloudEventID, tracing.KeyMessageID, tracing.KeySNSMessageID, tracing.KeyRequestID} {
			for _, n := range s.cfg.Annotations[kind] {
				if !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
	} else {
		names = s.cfg.Annotations[k.Kind]
	}
	var out []string
	for _, n := range names {
		if annotationKey.MatchString(n) {
			out = append(out, "annotation."+n+` = "`+v+`"`)
		}
	}
	return out
}

// summaries lists the IDs of traces that match expr, in windows X-Ray accepts,
// newest window first, up to max.
func (s *Searcher) summaries(ctx context.Context, expr string, from, to time.Time, max int) ([]string, error) {
	var ids []string
	for end := to; end.After(from) && len(ids) < max; end = end.Add(-maxWindow) {
		start := end.Add(-maxWindow)
		if start.Before(from) {
			start = from
		}
		p := awsxray.NewGetTraceSummariesPaginator(s.api, &awsxray.GetTraceSummariesInput{StartTime: aws.Time(start), EndTime: aws.Time(end), FilterExpression: aws.String(expr)})
		for pages := 0; p.HasMorePages() && pages < 20 && len(ids) < max; pages++ {
			page, err := p.NextPage(ctx)
			if err != nil {
				return ids, awsutil.Explain("xray", "", "xray:GetTraceSummaries", err)
			}
			for _, t := range page.TraceSummaries {
				if id := aws.ToString(t.Id); id != "" && !slices.Contains(ids, id) && len(ids) < max {
					ids = append(ids, id)
				}
			}
		}
	}
	return ids, nil
}

// traces fetches whole traces, five a call, as spans.
func (s *Searcher) traces(ctx context.Context, ids []string) (tracing.Batch, error) {
	var b tracing.Batch
	xacct := monitoring(ctx, s.cfg.Linked)
	for len(ids) > 0 {
		n := min(len(ids), 5)
		out, err := s.api.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: ids[:n]})
		if err != nil {
			return b, awsutil.Explain("xray", "", "xray:BatchGetTraces", err)
		}
		for _, t := range out.Traces {
			first := len(b)
			for _, seg := range t.Segments {
				doc := []byte(aws.ToString(seg.Document))
				obs, err := ParseSegment(doc)
				if err != nil {
					continue // a malformed segment: the rest of the trace still counts
				}
				if xacct {
					stampAccount(obs, doc)
				}
				b = append(b, obs...)
			}
			resolveCauses(b[first:])              // exceptions.go
			b = append(b, apiJoins(b[first:])...) // apigw.go
		}
		ids = ids[n:]
	}
	return b, nil
}

// annotate adds to a span the keys its annotations carry, for the keys asked:
// a segment annotated event_id = "E" carries the event E.
func (s *Searcher) annotate(o *tracing.Observation, keys []tracing.Key) {
	if o.Span == nil || len(o.Span.Attrs) == 0 {
		return
	}
	for _, k := range keys {
		kinds := []tracing.KeyKind{k.Kind}
		if k.Kind == tracing.KeyUnknown {
			kinds = []tracing.KeyKind{tracing.KeyEventID, tracing.KeyMessageID, tracing.KeySNSMessageID, tracing.KeyRequestID}
		}
		v := k.Value
		if k.Kind == tracing.KeyCloudEventID {
			_, v, _ = strings.Cut(v, "\n")
		}
		for _, kind := range kinds {
			for _, n := range s.cfg.Annotations[kind] {
				if o.Span.Attrs["annotation."+n] == v && v != "" {
					add := tracing.Key{Kind: kind, Value: v}
					if k.Kind == tracing.KeyCloudEventID {
						add = k
					}
					if kind == tracing.KeyRequestID && o.Span.InvocationID == "" {
						o.Span.InvocationID = v
					}
					if !slices.Contains(o.Keys, add) {
						o.Keys = append(o.Keys, add)
					}
				}
			}
		}
	}
}
