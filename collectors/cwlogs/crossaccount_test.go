package cwlogs

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/oam"
	"github.com/aws/smithy-go/logging"

	"github.com/flowtop/flowtop/collectors/linked"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

// org is a sandbox whose own account monitors two linked source accounts.
type org struct {
	srv *sandbox.Server
	url string
}

func newOrg(t *testing.T) *org {
	t.Helper()
	srv := sandbox.NewServer(sandbox.Options{Seed: 16})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.LinkSourceAccount(acctA, "orders-prod")
	srv.LinkSourceAccount(acctB, "shipping-prod")
	return &org{srv: srv, url: url}
}

// cfg signs as account ("" is the monitoring account).
func (o *org) cfg(account string) aws.Config {
	key := "test"
	if account != "" {
		key = account
	}
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(o.url), Logger: logging.Nop{}, Credentials: credentials.NewStaticCredentialsProvider(key, "test", "")}
}

// write creates group in account and writes lines to it.
func (o *org) write(t *testing.T, account, group string, lines ...string) {
	t.Helper()
	ctx := context.Background()
	c := cwl.NewFromConfig(o.cfg(account))
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	if len(lines) > 0 {
		o.put(t, account, group, lines...)
	}
}

func (o *org) put(t *testing.T, account, group string, lines ...string) {
	t.Helper()
	var evs []cwltypes.InputLogEvent
	at := time.Now().Add(-30 * time.Second)
	for i, l := range lines {
		evs = append(evs, cwltypes.InputLogEvent{Timestamp: aws.Int64(at.Add(time.Duration(i) * time.Millisecond).UnixMilli()), Message: aws.String(l)})
	}
	if _, err := cwl.NewFromConfig(o.cfg(account)).PutLogEvents(context.Background(), &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
}

// source is a cwlogs source of account, with the OAM detector.
func (o *org) source(account string, cfg Config) *Source {
	c := o.cfg(account)
	cfg.Linked = linked.New(oam.NewFromConfig(c), linked.Config{})
	if cfg.TPS == 0 {
		cfg.TPS = 200
	}
	return New(cwl.NewFromConfig(c), cfg)
}

// accounts counts the lines of each group by the account they are stamped with.
func accounts(b tracing.Batch) map[string]int {
	out := map[string]int{}
	for _, o := range b {
		out[o.Component.Account+" "+o.Log.Group]++
	}
	return out
}

func start(line string) string {
	return "START RequestId: " + line + " Version: $LATEST"
}

func TestLinkedGroupsAreReadByARN(t *testing.T) {
	t.Parallel()
	o := newOrg(t)
	o.write(t, acctA, "/aws/lambda/orders-api", start("aaaaaaaa-0000-4000-8000-000000000001"))
	o.write(t, acctB, "/aws/lambda/orders-api", start("bbbbbbbb-0000-4000-8000-000000000001"), start("bbbbbbbb-0000-4000-8000-000000000002"))
	o.write(t, acctB, "/aws/lambda/ship-order", start("bbbbbbbb-0000-4000-8000-000000000003"))
	o.write(t, "", "/aws/lambda/orders-api", start("00000000-0000-4000-8000-000000000001"))
	ctx := context.Background()
	from, to := time.Now().Add(-time.Minute), time.Now()

	s := o.source("", Config{Groups: []Group{{Name: "/aws/lambda/orders-api", Function: "orders-api"}}})
	b, err := s.Collect(ctx, from, to, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		sandbox.Account + " /aws/lambda/orders-api": 1,
		acctA + " /aws/lambda/orders-api":           1,
		acctB + " /aws/lambda/orders-api":           2,
		acctB + " /aws/lambda/ship-order":           1,
	}
	if got := accounts(b); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lines by account and group %v, want %v", got, want)
	}
	if st := s.Linked(); !st.Monitoring || st.Accounts != 2 || st.Groups != 3 || st.Followed != 3 || st.NotFollowed != 0 || st.Self != sandbox.Account {
		t.Errorf("stats %+v", st)
	}

	t.Run("a source account reads only its own groups, unstamped", func(t *testing.T) {
		s := o.source(acctB, Config{Prefixes: []string{"/aws/lambda/"}})
		b, err := s.Collect(ctx, from, to, "")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{" /aws/lambda/orders-api": 2, " /aws/lambda/ship-order": 1}
		if got := accounts(b); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("the live bound is counted", func(t *testing.T) {
		s := o.source("", Config{LinkedLive: 1})
		b, err := s.Collect(ctx, from, to, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := accounts(b); len(got) != 1 {
			t.Errorf("read %v, want one linked group", got)
		}
		if st := s.Linked(); st.Followed != 1 || st.NotFollowed != 2 {
			t.Errorf("followed %d, not followed %d; want 1 and 2", st.Followed, st.NotFollowed)
		}
		if m := s.Health().Mode; !strings.HasSuffix(m, " · linked: 2 accounts, 3 groups (1 followed live)") {
			t.Errorf("mode %q does not say what is not followed", m)
		}
	})
	t.Run("cross-account off", func(t *testing.T) {
		c := o.cfg("")
		s := New(cwl.NewFromConfig(c), Config{Linked: linked.New(oam.NewFromConfig(c), linked.Config{Mode: linked.ModeOff}), Groups: []Group{{Name: "/aws/lambda/orders-api", Function: "orders-api"}}, TPS: 200})
		b, err := s.Collect(ctx, from, to, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := accounts(b); fmt.Sprint(got) != fmt.Sprint(map[string]int{" /aws/lambda/orders-api": 1}) {
			t.Errorf("got %v", got)
		}
	})
}

// TestLinkedSearch: one Search covers more linked groups than a StartQuery
// takes (50), in queries by ARN, and counts the groups over its bound.
func TestLinkedSearch(t *testing.T) {
	t.Parallel()
	o := newOrg(t)
	const req = "cccccccc-0000-4000-8000-000000000057"
	for i := range 60 {
		line := start(fmt.Sprintf("cccccccc-0000-4000-8000-%012d", 1000+i))
		if i == 57 {
			line = start(req)
		}
		o.write(t, acctA, fmt.Sprintf("/aws/lambda/fn-%02d", i), line)
	}
	o.write(t, acctB, "/aws/lambda/fn-57", "END RequestId: "+req)
	o.srv.Deny("logs.FilterLogEvents") // only Insights may answer: no fallback
	ctx := context.Background()
	keys := []tracing.Key{{Kind: tracing.KeyRequestID, Value: req}}
	from, to := time.Now().Add(-time.Hour), time.Now()

	s := o.source("", Config{})
	b, err := s.Search(ctx, keys, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range b {
		got = append(got, r.Component.Account+" "+r.Component.Name)
	}
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint([]string{acctA + " fn-57", acctB + " fn-57"}) {
		t.Errorf("found %q", got)
	}
	if st := s.Linked(); st.Searched != 61 || st.NotSearched != 0 || st.Followed != 50 || st.NotFollowed != 11 {
		t.Errorf("stats %+v; want 61 searched, 50 followed live", st)
	}

	bounded := o.source("", Config{LinkedSearch: 55})
	b, err = bounded.Search(ctx, keys, from, to)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by name then account: fn-00 … fn-54 are searched; both fn-57s are not.
	if len(b) != 0 {
		t.Errorf("found %d records beyond the search bound", len(b))
	}
	if st := bounded.Linked(); st.Searched != 55 || st.NotSearched != 6 {
		t.Errorf("stats %+v; want 55 searched and 6 counted as not", st)
	}
}

// TestLinkedLiveTail: Live Tail follows a linked group by its ARN and knows
// the account of each line it brings.
func TestLinkedLiveTail(t *testing.T) {
	t.Parallel()
	o := newOrg(t)
	o.write(t, acctB, "/aws/lambda/ship-order")
	s := o.source("", Config{LiveTail: "on", CustomEndpoint: true, Poll: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make(chan tracing.Batch, 16)
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx, out) }()
	defer func() { cancel(); <-done }()
	const req = "dddddddd-0000-4000-8000-000000000001"
	for !strings.HasPrefix(s.Health().Mode, "live tail · linked: 1 account, 1 group") || s.Linked().Followed != 1 {
		select {
		case <-ctx.Done():
			t.Fatalf("live tail never opened: %+v", s.Health())
		case <-time.After(20 * time.Millisecond):
		}
	}
	put := time.NewTicker(time.Second) // until the session (opened between polls) sees a line
	defer put.Stop()
	o.put(t, acctB, "/aws/lambda/ship-order", start(req))
	for {
		select {
		case b := <-out:
			for _, r := range b {
				if r.Log != nil && r.Log.RequestID == req {
					if r.Component.Account != acctB || r.Component.Name != "ship-order" {
						t.Errorf("line from %s", r.Component)
					}
					return
				}
			}
		case <-put.C:
			o.put(t, acctB, "/aws/lambda/ship-order", start(req))
		case <-ctx.Done():
			t.Fatal("no line from the linked group")
		}
	}
}

// FuzzLinkedGroupNames feeds the group finders what Insights (@log) and Live
// Tail (logGroupIdentifier) say: they must not panic, and an account they
// stamp is a 12-digit ID.
func FuzzLinkedGroupNames(f *testing.F) {
	for _, seed := range []string{
		"111111111111:/aws/lambda/orders-api", "000000000000:/aws/lambda/orders-api", ":", "", "/aws/lambda/x",
		"arn:aws:logs:us-east-1:222222222222:log-group:/aws/lambda/ship-order:*", "arn:aws:logs::x:log-group:", "12:34:56",
	} {
		f.Add(seed)
	}
	ix := newGroupIndex([]Group{
		{Name: "/aws/lambda/orders-api", Function: "orders-api"},
		{Name: "/aws/lambda/orders-api", Function: "orders-api", ARN: "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/orders-api", Account: "111111111111"},
	})
	s := New(nil, Config{})
	defer s.budget.Close()
	self := sandbox.Account
	s.xa.self.Store(&self)
	f.Fuzz(func(t *testing.T, in string) {
		for _, g := range []Group{s.fromLog(ix, in), ix.fromIdentifier(in)} {
			if g.Account != "" && !linked.ValidAccount(g.Account) {
				t.Fatalf("%q: account %q", in, g.Account)
			}
		}
		if in == "111111111111:/aws/lambda/orders-api" && s.fromLog(ix, in).ARN == "" {
			t.Fatal("a followed linked group was not found by @log")
		}
	})
}

// TestLinkedFailuresStopNothing: when the linked accounts can't be listed,
// or OAM can't be asked, the watched account's own groups are still read,
// and the failure is said, not hidden.
func TestLinkedFailuresStopNothing(t *testing.T) {
	t.Parallel()
	o := newOrg(t)
	o.write(t, acctA, "/aws/lambda/orders-api", start("aaaaaaaa-0000-4000-8000-000000000001"))
	o.write(t, "", "/aws/lambda/ship-order", start("00000000-0000-4000-8000-000000000001"))
	own := []Group{{Name: "/aws/lambda/ship-order", Function: "ship-order"}}
	ctx := context.Background()
	from, to := time.Now().Add(-time.Minute), time.Now()

	o.srv.Deny("logs.DescribeLogGroups")
	s := o.source("", Config{Groups: own})
	b, err := s.Collect(ctx, from, to, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := accounts(b); fmt.Sprint(got) != fmt.Sprint(map[string]int{sandbox.Account + " /aws/lambda/ship-order": 1}) {
		t.Errorf("read %v, want the own group only", got)
	}
	if st := s.Linked(); !strings.Contains(st.LastError, "logs:DescribeLogGroups") || !strings.HasSuffix(s.Health().Mode, "listing failed") {
		t.Errorf("the listing failure is not said: %+v, mode %q", st, s.Health().Mode)
	}
	o.srv.Allow("logs.DescribeLogGroups")

	o.srv.Deny("oam")
	s = o.source("", Config{Groups: own})
	b, err = s.Collect(ctx, from, to, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := accounts(b); fmt.Sprint(got) != fmt.Sprint(map[string]int{" /aws/lambda/ship-order": 1}) {
		t.Errorf("without OAM: read %v, want the own group, unstamped", got)
	}
	if st := s.Linked(); st.Monitoring || !strings.Contains(st.Note, "oam:ListSinks") {
		t.Errorf("without OAM: %+v", st)
	}
}
