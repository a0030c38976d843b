package cwlogs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/collectors/linked"
	"github.com/flowtop/flowtop/tracing"
)

// Cross-account observability: in a CloudWatch monitoring account,
// DescribeLogGroups with includeLinkedAccounts lists the linked source
// accounts' log groups too, each with its ARN (which names its account).
// Such a group is read by its ARN: FilterLogEvents' logGroupIdentifier,
// StartLiveTail's logGroupIdentifiers and StartQuery's logGroupIdentifiers
// (which AWS takes instead of, never beside, logGroupNames). Insights rows
// name their group as @log = "account:name", so every line knows its account.
//
// flowtop stays one bounded process however many accounts are linked: it
// follows live at most [Config.LinkedLive] linked groups, searches at most
// [Config.LinkedSearch] of them (Insights runs the search inside AWS, 50
// groups a query, a few queries at a time), and counts what it left out
// ([Source.Linked]).

// Defaults of the cross-account bounds.
const (
	defaultLinkedLive    = 50   // 5 Live Tail sessions of 10 groups, or 10 polls a second at 5 TPS
	defaultLinkedSearch  = 1000 // 20 Insights queries
	defaultLinkedRefresh = time.Minute
	maxDiscoverPages     = 200 // 10,000 groups listed
	insightsGroups       = 50  // StartQuery takes up to 50 log groups
	insightsParallel     = 4   // queries in flight per search (AWS allows 100 per account, shared)
	insightsRowLimit     = 10000
	accountsPerCall      = 20 // DescribeLogGroups takes up to 20 accountIdentifiers
	defaultLinkedPrefix  = "/aws/lambda/"
)

// LinkedStats says what reading linked source accounts did: how many groups
// there are, how many are followed and searched, and how many were left out
// by the bounds, so nothing is skipped silently.
type LinkedStats struct {
	Monitoring   bool
	Self         string // the monitoring account, when known
	Accounts     int    // linked accounts whose groups were listed
	Groups       int    // linked log groups found (within the listing bound)
	Followed     int    // of them, followed live
	NotFollowed  int    // found but over [Config.LinkedLive]
	Searched     int    // searched by the last Search
	NotSearched  int    // over [Config.LinkedSearch] in the last Search
	ListingCut   bool   // the listing stopped at its page bound: more groups may exist
	QueriesCut   int    // Insights queries that returned their row limit (more rows may exist)
	Note         string // how the account was recognised (OAM's answer, or why not)
	LastError    string // the last listing error, if any
	LastListedAt time.Time
}

// xaState is a Source's cross-account state.
type xaState struct {
	self atomic.Pointer[string] // the monitoring account, once known

	mu      sync.Mutex
	at      time.Time
	listing bool    // a listing runs (without the lock)
	all     []Group // linked groups found, sorted by (name, account)
	stats   LinkedStats
}

// id is how a group is named to the API: its ARN when it lives in a linked
// account, else its name.
func (g Group) id() string {
	if g.ARN != "" {
		return g.ARN
	}
	return g.Name
}

// account is the account a group's lines are stamped with: its own, or in a
// monitoring account the monitoring account's for the groups it owns; ""
// when only one account is watched.
func (s *Source) account(g Group) string {
	if g.Account != "" {
		return g.Account
	}
	if p := s.xa.self.Load(); p != nil {
		return *p
	}
	return ""
}

// Linked reports what reading linked source accounts did.
func (s *Source) Linked() LinkedStats {
	s.xa.mu.Lock()
	defer s.xa.mu.Unlock()
	return s.xa.stats
}

// linkedGroups returns up to limit linked groups, and how many it left out.
// It lists them at most once per [Config.LinkedRefresh]; while one caller
// lists, the others go on with the last list rather than wait.
func (s *Source) linkedGroups(ctx context.Context, limit int) ([]Group, int) {
	if s.cfg.Linked == nil {
		return nil, 0
	}
	view := s.cfg.Linked.View(ctx)
	s.xa.mu.Lock()
	s.xa.stats.Monitoring, s.xa.stats.Note = view.Monitoring, view.Note
	if !view.Monitoring {
		s.xa.all = nil
		s.xa.mu.Unlock()
		return nil, 0
	}
	now := s.cfg.Now()
	if !s.xa.listing && (s.xa.at.IsZero() || now.Sub(s.xa.at) >= s.cfg.LinkedRefresh) {
		s.xa.listing, s.xa.at = true, now
		s.xa.mu.Unlock()
		all, self, stats, err := s.listLinked(ctx, view)
		s.xa.mu.Lock()
		s.xa.listing = false
		s.storeListing(all, self, stats, err, view, now)
	}
	all := s.xa.all
	s.xa.mu.Unlock()
	n := min(limit, len(all))
	return all[:n:n], len(all) - n
}

// storeListing keeps what a listing found; s.xa.mu is held.
func (s *Source) storeListing(all []Group, self string, stats LinkedStats, err error, view linked.View, now time.Time) {
	if err != nil {
		s.xa.stats.LastError = err.Error()
		slog.Warn("linked log groups", tracing.LogKeySource, "cwlogs", tracing.LogKeyError, err.Error())
	} else {
		s.xa.stats.LastError = ""
	}
	if err == nil || len(all) > 0 {
		s.xa.all = all
	}
	if self != "" {
		s.xa.self.Store(&self)
		s.xa.stats.Self = self
	}
	s.xa.stats.Accounts, s.xa.stats.Groups, s.xa.stats.ListingCut, s.xa.stats.LastListedAt = stats.Accounts, len(s.xa.all), stats.ListingCut, now
	bound := ""
	if stats.ListingCut {
		bound = fmt.Sprintf("listing stopped after %d pages", maxDiscoverPages)
	}
	slog.Info("linked log groups", tracing.LogKeySource, "cwlogs", tracing.LogKeyTarget, self, tracing.LogKeyGroups, len(s.xa.all),
		tracing.LogKeyBound, bound, tracing.LogKeyMode, view.Note)
}

// listLinked lists the linked accounts' groups under the configured
// prefixes (the Lambda prefix by default), asking for the accounts OAM named
// 20 at a time, or for every linked account when OAM did not say.
func (s *Source) listLinked(ctx context.Context, view linked.View) ([]Group, string, LinkedStats, error) {
	var st LinkedStats
	self := view.Self
	if self == "" {
		// The monitoring account's own groups carry its ID in their ARNs.
		out, err := s.api.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{Limit: aws.Int32(1)})
		if err == nil && len(out.LogGroups) > 0 {
			self = linked.ARNAccount(groupARN(out.LogGroups[0].LogGroupArn, out.LogGroups[0].Arn))
		}
	}
	var batches [][]string
	if view.Known {
		accts := view.LogAccounts()
		if len(accts) == 0 {
			return nil, self, st, nil // linked accounts share no log groups
		}
		for len(accts) > 0 {
			n := min(len(accts), accountsPerCall)
			batches = append(batches, accts[:n])
			accts = accts[n:]
		}
	} else {
		batches = [][]string{nil} // every linked account
	}
	prefixes := s.cfg.Prefixes
	if len(prefixes) == 0 {
		prefixes = []string{defaultLinkedPrefix}
	}
	seen := map[string]bool{}
	accounts := map[string]bool{}
	var out []Group
	var errs []error
	pages := 0
	for _, accts := range batches {
		for _, prefix := range prefixes {
			in := &cwl.DescribeLogGroupsInput{IncludeLinkedAccounts: aws.Bool(true), AccountIdentifiers: accts, LogGroupNamePrefix: aws.String(prefix)}
			p := cwl.NewDescribeLogGroupsPaginator(s.api, in)
			for p.HasMorePages() {
				if pages == maxDiscoverPages {
					st.ListingCut = true
					break
				}
				pages++
				page, err := p.NextPage(ctx)
				if err != nil {
					errs = append(errs, awsutil.Explain("cwlogs", prefix+"* in linked accounts", "logs:DescribeLogGroups", err))
					break
				}
				for _, lg := range page.LogGroups {
					arn := groupARN(lg.LogGroupArn, lg.Arn)
					acct := linked.ARNAccount(arn)
					name := aws.ToString(lg.LogGroupName)
					if acct == "" || name == "" || acct == self || seen[arn] {
						continue // the monitoring account's own groups are followed by name
					}
					seen[arn] = true
					accounts[acct] = true
					out = append(out, Group{Name: name, Function: strings.TrimPrefix(name, "/aws/lambda/"), ARN: arn, Account: acct})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Account < out[j].Account
	})
	st.Accounts = len(accounts)
	return out, self, st, errors.Join(errs...)
}

// groupARN is a log group's ARN without the trailing ":*", as the
// logGroupIdentifier parameters want it.
func groupARN(arn, starred *string) string {
	if a := aws.ToString(arn); a != "" {
		return a
	}
	return strings.TrimSuffix(aws.ToString(starred), ":*")
}

// searchGroups are the groups a Search reads: the followed ones, and more
// linked groups up to [Config.LinkedSearch].
func (s *Source) searchGroups(ctx context.Context) ([]Group, error) {
	groups, err := s.groups(ctx)
	if err != nil || s.cfg.Linked == nil {
		return groups, err
	}
	more, skipped := s.linkedGroups(ctx, s.cfg.LinkedSearch)
	have := make(map[string]bool, len(groups))
	for _, g := range groups {
		have[g.id()] = true
	}
	searched := 0
	for _, g := range more {
		searched++
		if !have[g.id()] {
			groups = append(groups, g)
		}
	}
	s.xa.mu.Lock()
	s.xa.stats.Searched, s.xa.stats.NotSearched = searched, skipped
	s.xa.mu.Unlock()
	return groups, nil
}

// noteFollowed records how many linked groups the live collector follows.
func (s *Source) noteFollowed(followed, skipped int) {
	s.xa.mu.Lock()
	s.xa.stats.Followed, s.xa.stats.NotFollowed = followed, skipped
	s.xa.mu.Unlock()
}

// insightsBatches splits groups into StartQuery calls: groups named by name
// and groups named by ARN never share a call (logGroupNames and
// logGroupIdentifiers are exclusive), and each call takes up to 50 groups.
func insightsBatches(groups []Group) []*cwl.StartQueryInput {
	var names, arns []string
	for _, g := range groups {
		if g.ARN != "" {
			arns = append(arns, g.ARN)
		} else {
			names = append(names, g.Name)
		}
	}
	var out []*cwl.StartQueryInput
	for len(names) > 0 {
		n := min(len(names), insightsGroups)
		out = append(out, &cwl.StartQueryInput{LogGroupNames: names[:n:n]})
		names = names[n:]
	}
	for len(arns) > 0 {
		n := min(len(arns), insightsGroups)
		out = append(out, &cwl.StartQueryInput{LogGroupIdentifiers: arns[:n:n]})
		arns = arns[n:]
	}
	return out
}

// groupIndex finds the group an Insights row or a Live Tail event names.
type groupIndex struct {
	byName map[string]Group // groups of the watched account, by name
	byLog  map[string]Group // linked groups, by "account:name" (@log's form)
	byARN  map[string]Group // linked groups, by ARN
}

func newGroupIndex(groups []Group) groupIndex {
	ix := groupIndex{byName: map[string]Group{}, byLog: map[string]Group{}, byARN: map[string]Group{}}
	for _, g := range groups {
		if g.ARN == "" {
			ix.byName[g.Name] = g
			continue
		}
		ix.byLog[g.Account+":"+g.Name] = g
		ix.byARN[g.ARN] = g
	}
	return ix
}

// fromLog is the group an Insights @log value ("account:name") names. A
// group not followed gets the account @log names when linked accounts are
// read.
func (s *Source) fromLog(ix groupIndex, log string) Group {
	acct, name, ok := strings.Cut(log, ":")
	if !ok {
		name, acct = log, ""
	}
	if g, ok := ix.byLog[acct+":"+name]; ok {
		return g
	}
	if g, ok := ix.byName[name]; ok && (acct == "" || s.isSelf(acct)) {
		return g
	}
	g := Group{Name: name, Function: strings.TrimPrefix(name, "/aws/lambda/")}
	if s.xa.self.Load() != nil && linked.ValidAccount(acct) {
		g.Account = acct
	}
	return g
}

// fromIdentifier is the group a Live Tail event's logGroupIdentifier names.
func (ix groupIndex) fromIdentifier(id string) Group {
	id = strings.TrimSuffix(id, ":*")
	if g, ok := ix.byARN[id]; ok {
		return g
	}
	name := groupName(id)
	if g, ok := ix.byName[name]; ok {
		return g
	}
	g := Group{Name: name, Function: strings.TrimPrefix(name, "/aws/lambda/")}
	if strings.HasPrefix(id, "arn:") {
		g.Account = linked.ARNAccount(id)
	}
	return g
}

func (s *Source) isSelf(acct string) bool {
	p := s.xa.self.Load()
	return p == nil || *p == acct
}

// describeBatch names a StartQuery call's groups for an error message.
func describeBatch(in *cwl.StartQueryInput) string {
	if len(in.LogGroupIdentifiers) > 0 {
		return fmt.Sprintf("%d linked log groups", len(in.LogGroupIdentifiers))
	}
	return fmt.Sprintf("%d log groups", len(in.LogGroupNames))
}

// linkedMode is what the source's mode adds in a monitoring account: the
// linked accounts and groups, and how many of them the live bound leaves
// out, so the header shows what is not followed.
func (s *Source) linkedMode() string {
	s.xa.mu.Lock()
	st := s.xa.stats
	s.xa.mu.Unlock()
	if !st.Monitoring {
		return ""
	}
	m := " · linked: " + plural(st.Accounts, "account") + ", " + plural(st.Groups, "group")
	if st.NotFollowed > 0 {
		m += fmt.Sprintf(" (%d followed live)", st.Followed)
	}
	if st.ListingCut {
		m += ", listing cut"
	}
	if st.LastError != "" {
		m += ", listing failed"
	}
	return m
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
