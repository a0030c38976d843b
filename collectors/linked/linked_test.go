package linked

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/oam"
	"github.com/aws/smithy-go/logging"

	"github.com/flowtop/flowtop/sandbox"
)

func oamClient(t *testing.T) (*sandbox.Server, *oam.Client) {
	t.Helper()
	srv := sandbox.NewServer(sandbox.Options{Seed: 5})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, oam.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(url), Logger: logging.Nop{},
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		// Not 1: on loopback the SDK now and then fails to read an answer the
		// endpoint sent ("use of closed network connection", aws-sdk-go-v2
		// #2737), which its retryer retries. Denials are not retried.
		RetryMaxAttempts: 3,
	})
}

func TestDetect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("not a monitoring account", func(t *testing.T) {
		t.Parallel()
		_, c := oamClient(t)
		v := New(c, Config{}).View(ctx)
		if v.Monitoring || v.Note != "not a monitoring account (no OAM sink)" {
			t.Errorf("view %+v", v)
		}
	})
	t.Run("monitoring account with its links", func(t *testing.T) {
		t.Parallel()
		srv, c := oamClient(t)
		srv.LinkSourceAccount("222222222222", "shipping-prod")
		srv.LinkSourceAccount("111111111111", "orders-prod", sandbox.OAMLogGroups)
		srv.LinkSourceAccount("333333333333", "metrics-only", sandbox.OAMMetrics)
		v := New(c, Config{}).View(ctx)
		want := []Account{
			{ID: "111111111111", Label: "orders-prod", Logs: true},
			{ID: "222222222222", Label: "shipping-prod", Logs: true, Traces: true},
			{ID: "333333333333", Label: "metrics-only"},
		}
		if !v.Monitoring || !v.Known || v.Self != sandbox.Account || !strings.HasPrefix(v.Sink, "arn:aws:oam:us-east-1:"+sandbox.Account+":sink/") {
			t.Fatalf("view %+v", v)
		}
		if fmt.Sprint(v.Accounts) != fmt.Sprint(want) {
			t.Errorf("accounts %+v, want %+v", v.Accounts, want)
		}
		if got := v.LogAccounts(); fmt.Sprint(got) != "[111111111111 222222222222]" {
			t.Errorf("log accounts %v", got)
		}
		if v.Label("222222222222") != "shipping-prod" || v.Label("999999999999") != "" {
			t.Errorf("labels wrong")
		}
	})
	t.Run("ListSinks denied", func(t *testing.T) {
		t.Parallel()
		srv, c := oamClient(t)
		srv.LinkSourceAccount("111111111111", "orders-prod")
		srv.Deny("oam.ListSinks")
		if v := New(c, Config{}).View(ctx); v.Monitoring || !strings.Contains(v.Note, "oam:ListSinks") {
			t.Errorf("auto: %+v; want not monitoring, saying which permission", v)
		}
		if v := New(c, Config{Mode: ModeOn}).View(ctx); !v.Monitoring || v.Known || v.Accounts != nil {
			t.Errorf("on: %+v; want monitoring with the linked accounts unknown", v)
		}
	})
	t.Run("off asks nothing", func(t *testing.T) {
		t.Parallel()
		srv, c := oamClient(t)
		srv.LinkSourceAccount("111111111111", "orders-prod")
		if v := New(c, Config{Mode: ModeOff}).View(ctx); v.Monitoring {
			t.Errorf("off: %+v", v)
		}
		var d *Detector
		if v := d.View(ctx); v.Monitoring {
			t.Errorf("nil detector: %+v", v)
		}
	})
	t.Run("links are paged and bounded", func(t *testing.T) {
		t.Parallel()
		srv, c := oamClient(t)
		for i := range 150 {
			srv.LinkSourceAccount(fmt.Sprintf("%012d", 100000000000+i), fmt.Sprint("acct-", i))
		}
		v := New(c, Config{MaxLinks: 120}).View(ctx)
		if len(v.Accounts) != 120 || v.Cut != 30 || !strings.Contains(v.Note, "30 links over the bound") {
			t.Errorf("%d accounts, cut %d, note %q; want 120 read over two pages and 30 counted", len(v.Accounts), v.Cut, v.Note)
		}
	})
	t.Run("the answer is kept for Refresh", func(t *testing.T) {
		t.Parallel()
		srv, c := oamClient(t)
		now := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
		d := New(c, Config{Refresh: time.Minute, Now: func() time.Time { return now }})
		if d.View(ctx).Monitoring {
			t.Fatal("monitoring before any link")
		}
		srv.LinkSourceAccount("111111111111", "orders-prod")
		if d.View(ctx).Monitoring {
			t.Error("asked OAM again before Refresh")
		}
		now = now.Add(time.Minute)
		if v := d.View(ctx); !v.Monitoring || len(v.Accounts) != 1 {
			t.Errorf("after Refresh: %+v", v)
		}
	})
}

func TestARNAccount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/x", "111111111111"},
		{"arn:aws:oam:eu-west-1:222222222222:link/abc", "222222222222"},
		{"arn:aws:s3:::bucket", ""},
		{"arn:aws:logs:us-east-1:12345:log-group:x", ""},
		{"/aws/lambda/x", ""},
		{"", ""},
	} {
		if got := ARNAccount(tc.in); got != tc.want {
			t.Errorf("ARNAccount(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
