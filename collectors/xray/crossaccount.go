package xray

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/flowtop/flowtop/collectors/linked"
	"github.com/flowtop/flowtop/tracing"
)

// Cross-account observability: in a CloudWatch monitoring account that
// source accounts share their traces with, GetTraceSummaries and
// BatchGetTraces answer with the linked accounts' segments too (a request
// that crossed accounts is one trace ID with segments from each), so the
// calls stay the same. What changes is that a segment's service may run in
// another account: its document says which (aws.account_id, which Lambda
// fills in, or the account of aws.function_arn or resource_arn), and every
// span of that document is stamped with it, so two accounts' same-named
// functions stay two components.

// segmentOwner is what a segment document says of the account it ran in.
type segmentOwner struct {
	ResourceARN string `json:"resource_arn"`
	AWS         struct {
		AccountID   string `json:"account_id"`
		FunctionARN string `json:"function_arn"`
	} `json:"aws"`
}

// SegmentAccount is the account a segment document's service ran in, or ""
// when the document does not say.
func SegmentAccount(doc []byte) string {
	if len(doc) > maxDoc {
		return ""
	}
	var o segmentOwner
	_ = json.Unmarshal(doc, &o) // a field of the wrong type is skipped, the others still read
	if linked.ValidAccount(o.AWS.AccountID) {
		return o.AWS.AccountID
	}
	if a := linked.ARNAccount(o.AWS.FunctionARN); a != "" {
		return a
	}
	return linked.ARNAccount(o.ResourceARN)
}

// monitoring reports whether segments must be stamped with their account.
func monitoring(ctx context.Context, d *linked.Detector) bool {
	return d != nil && d.View(ctx).Monitoring
}

// stampAccount sets the account of every span parsed from doc, when the
// document names one.
func stampAccount(obs []tracing.Observation, doc []byte) {
	acct := SegmentAccount(doc)
	if acct == "" {
		return
	}
	for i := range obs {
		obs[i].Component.Account = acct
	}
}

// Bounds of a poll in a monitoring account.
const (
	defaultLinkedMaxTraces = 1000 // 200 BatchGetTraces calls
	maxSummaryPages        = 50
)

// xaCut counts what the monitoring account's bound left unread.
type xaCut struct {
	traces  atomic.Uint64 // trace summaries not fetched
	partial atomic.Uint64 // polls whose listing stopped at maxSummaryPages
}

// linkedBound is how many traces a poll reads: unbounded in a single
// account (as before), [Config.LinkedMaxTraces] in a monitoring account.
func (s *Source) linkedBound(xacct bool) int {
	if !xacct {
		return 0
	}
	if s.cfg.LinkedMaxTraces > 0 {
		return s.cfg.LinkedMaxTraces
	}
	return defaultLinkedMaxTraces
}

func (s *Source) linkedCut(traces int, partial bool) {
	s.cut.traces.Add(uint64(traces))
	if partial {
		s.cut.partial.Add(1)
	}
}

// linkedMode says what the bound left unread, so the header shows it.
func (s *Source) linkedMode() string {
	n, p := s.cut.traces.Load(), s.cut.partial.Load()
	switch {
	case n == 0 && p == 0:
		return ""
	case p == 0:
		return fmt.Sprintf(" · %d linked traces not read (bound)", n)
	}
	return fmt.Sprintf(" · %d linked traces not read, %d listings cut (bound)", n, p)
}

// LinkedCut reports how many trace summaries the monitoring account's bound
// left unread, and how many polls stopped listing at the page bound.
func (s *Source) LinkedCut() (traces, listings uint64) {
	return s.cut.traces.Load(), s.cut.partial.Load()
}
