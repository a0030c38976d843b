package xray

import (
	"context"
	"encoding/json"

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
