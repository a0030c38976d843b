package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/engine"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tui"
	ctxscreen "github.com/flowtop/flowtop/tui/screens/ctx"
)

func TestConfigContexts(t *testing.T) {
	t.Parallel()
	const file = "/home/u/.config/flowtop/config.yaml"
	cfg := NewDefaultConfig()
	err := parseConfigYAML(&cfg, file, []byte(`contexts:
  - name: prod-us
    profile: prod
    region: us-east-1
  - profile: prod
    region: eu-west-1
  - name: local
    region: us-east-1
    endpoint: http://127.0.0.1:4566
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []ContextConfig{{Name: "prod-us", Profile: "prod", Region: "us-east-1"}, {Profile: "prod", Region: "eu-west-1"}, {Name: "local", Region: "us-east-1", Endpoint: "http://127.0.0.1:4566"}}
	if !reflect.DeepEqual(cfg.Contexts, want) || cfg.Validate() != nil {
		t.Fatalf("contexts = %+v (%v)", cfg.Contexts, cfg.Validate())
	}
	if got := cfg.WatchedContexts(); !reflect.DeepEqual(got, want) {
		t.Errorf("watched = %+v, want the file's", got)
	}
	// Lists on the command line beat the file: every profile in every region.
	cfg.Profile, cfg.Region = "a, b", "x,y"
	got := cfg.WatchedContexts()
	if len(got) != 4 || got[0] != (ContextConfig{Profile: "a", Region: "x"}) || got[3] != (ContextConfig{Profile: "b", Region: "y"}) {
		t.Errorf("a,b × x,y = %+v", got)
	}
	// One profile and one region: the file's contexts still hold.
	cfg.Profile, cfg.Region = "a", ""
	if got := cfg.WatchedContexts(); len(got) != 3 {
		t.Errorf("one profile: %+v", got)
	}
	// Nothing named: one context, today's behaviour.
	if got := NewDefaultConfig().WatchedContexts(); len(got) != 1 || got[0] != (ContextConfig{}) {
		t.Errorf("default = %+v", got)
	}

	for _, tc := range []struct{ yaml, key, why string }{
		{"contexts: prod\n", "contexts", "must be a list"},
		{"contexts:\n  - prod\n", "contexts[0]", "must be a mapping"},
		{"contexts:\n  - name: a\n    zone: x\n", "contexts[0].zone", "unknown key"},
		{"contexts:\n  - name: [a]\n", "contexts[0].name", "must be a string"},
		{"contexts:\n" + strings.Repeat("  - region: x\n", maxContexts+1), "contexts", "at most"},
	} {
		c := NewDefaultConfig()
		err := parseConfigYAML(&c, file, []byte(tc.yaml))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != tc.key || !strings.Contains(ce.Why, tc.why) || ce.Line == 0 {
			t.Errorf("%q: %v, want %s: %s with a line", tc.yaml, err, tc.key, tc.why)
		}
	}
	for _, tc := range []struct {
		c   Config
		key string
	}{
		{Config{Contexts: []ContextConfig{{Name: "a"}, {Name: "a"}}}, "contexts[1].name"},
		{Config{Contexts: []ContextConfig{{Endpoint: "localhost:4566"}}}, "contexts[0].endpoint"},
		{Config{Contexts: []ContextConfig{{Name: "a@b"}}}, "contexts[0]"},
		{Config{Profile: "a,b,c,d,e", Region: "1,2,3,4"}, "profile/region"},
	} {
		c := NewDefaultConfig()
		c.Profile, c.Region, c.Contexts = tc.c.Profile, tc.c.Region, tc.c.Contexts
		var ce *ConfigError
		if err := c.Validate(); !errors.As(err, &ce) || ce.Key != tc.key {
			t.Errorf("%+v: %v, want a problem with %s", tc.c, err, tc.key)
		}
	}
}

// twoRegionApp starts the demo's sandbox (two regions) and an app whose
// configuration watches both through the ordinary --region list.
func twoRegionApp(t *testing.T, deny string) (*app, *demoSandbox, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := startSandbox(ctx, "127.0.0.1:0", "", "aws", 12, 5, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = sb.Close() })
	if deny != "" {
		if err := sb.Deny(deny); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v) // the SDK's default chain reads the real environment
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	cfg := NewDefaultConfig()
	cfg.Region, cfg.EndpointURL = "us-east-1,"+secondRegion, sb.URL()
	cfg.Sources.OTLPGRPC, cfg.Sources.OTLPHTTP, cfg.Sources.LiveTail = "", "", "off"
	cfg.Sources.Poll = 200 * time.Millisecond
	var stderr bytes.Buffer
	return &app{cfg: cfg, stderr: &stderr, getenv: func(string) string { return "" }}, sb, &stderr
}

// consoleHeader renders the console over f once, at 100x24, and returns its
// first two lines.
func consoleHeader(t *testing.T, f tui.Feed) string {
	t.Helper()
	m := tui.New(tui.Options{Feed: f, NoColor: true, Title: "test", Now: time.Now})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 24})
	queue := []tea.Cmd{m.Init()}
	for n := 0; len(queue) > 0 && n < 50; n++ {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case nil:
		default:
			if strings.HasPrefix(fmt.Sprintf("%T", msg), "tui.tickMsg") {
				continue // the frame tick re-arms itself forever
			}
			_, next := m.Update(msg)
			queue = append(queue, next)
		}
	}
	lines := strings.Split(ansi.Strip(m.View().Content), "\n")
	return strings.Join(lines[:min(2, len(lines))], "\n")
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// --region us-east-1,eu-west-1 through the real SDK: both regions' events
// arrive, each shown with its region; :ctx's narrowing keeps one region's.
func TestTwoRegionsThroughTheCLIConfiguration(t *testing.T) {
	a, sb, _ := twoRegionApp(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := a.newEngine(ctx, engineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.Start(ctx)
	cs := e.Contexts()
	if len(cs) != 2 || cs[0].Name != "default/us-east-1" || cs[1].Name != "default/eu-west-1" {
		t.Fatalf("contexts = %+v", cs)
	}
	for _, c := range cs {
		if c.Account != sandbox.Account {
			t.Errorf("%s: account %q, want STS's %s", c.Name, c.Account, sandbox.Account)
		}
	}
	f, ok := consoleFeed(e).(*multiFeed)
	if !ok {
		t.Fatal("two contexts without the multi-context feed")
	}
	regions := func() map[string]int {
		out := map[string]int{}
		for _, r := range f.Flows(graph.FlowQuery{Limit: 500}).Rows {
			out[f.Where(r.ID)]++
		}
		return out
	}
	waitUntil(t, "events from both regions", func() bool {
		r := regions()
		return r["us-east-1"] >= 3 && r["eu-west-1"] >= 1
	})
	waitUntil(t, "charge-card seen in both regions", func() bool { return f.WhereFunction("charge-card") == "us-east-1, eu-west-1" })
	// The place terms the / filter takes: region: keeps one region's
	// events, account: every event here (one account), a wrong account none.
	byPlace := func(key, value string) map[string]int {
		out := map[string]int{}
		for _, r := range f.Flows(graph.FlowQuery{Limit: 500, Fields: []graph.FieldTerm{{Key: key, Value: value}}}).Rows {
			out[f.Where(r.ID)]++
		}
		return out
	}
	if r := byPlace("region", "EU-west"); r["eu-west-1"] == 0 || r["us-east-1"] > 0 || r[""] > 0 {
		t.Errorf("region:EU-west holds %v", r)
	}
	if r := byPlace("account", sandbox.Account); r["eu-west-1"] == 0 || r["us-east-1"] == 0 {
		t.Errorf("account:%s holds %v", sandbox.Account, r)
	}
	if r := byPlace("account", "999999999999"); len(r) > 0 {
		t.Errorf("account:999999999999 holds %v", r)
	}
	if !f.Narrow("default/eu-west-1") || f.Narrowed() != "default/eu-west-1" {
		t.Fatal("Narrow refused a context")
	}
	if r := regions(); r["us-east-1"] > 0 || r["eu-west-1"] == 0 {
		t.Errorf("narrowed to eu-west-1, the flows hold %v", r)
	}
	waitUntil(t, "eu-west-1's traces", func() bool { return len(f.Traces(graph.TraceQuery{}).Rows) > 0 })
	for _, r := range f.Traces(graph.TraceQuery{}).Rows {
		if i, ok := e.WhereOf(r.ID.String()); !ok || i != 1 {
			t.Errorf("narrowed to eu-west-1, trace %s is from context %d (%v)", r.ID, i, ok)
		}
	}
	if f.Narrow("nope") {
		t.Error("Narrow took an unknown context")
	}
	v := f.Version()
	f.Narrow("")
	if f.Version() == v {
		t.Error("widening did not move the version")
	}
	if r := regions(); r["us-east-1"] == 0 || r["eu-west-1"] == 0 {
		t.Errorf("widened, the flows hold %v", r)
	}
	_ = sb
}

// Access denied in eu-west-1: us-east-1 stays live, and the contexts (the
// header's and :ctx's) say eu-west-1 fails with AccessDenied.
func TestDeniedRegionLeavesTheOtherLive(t *testing.T) {
	a, _, _ := twoRegionApp(t, secondRegion)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := a.newEngine(ctx, engineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.Start(ctx)
	f := consoleFeed(e).(*multiFeed)
	waitUntil(t, "eu-west-1 failing and us-east-1 live", func() bool {
		cs := f.Contexts()
		return len(cs) == 2 && cs[0].State == ctxscreen.StateOK && cs[1].State == ctxscreen.StateFailing && f.Graph.Totals().Events > 0
	})
	cs := f.Contexts()
	if cs[1].Reason != "AccessDenied" || cs[1].Failing == 0 {
		t.Errorf("eu-west-1: %+v", cs[1])
	}
	for _, r := range f.Flows(graph.FlowQuery{Limit: 200}).Rows {
		if w := f.Where(r.ID); w != "us-east-1" {
			l, _ := f.Lineage(r.ID)
			t.Fatalf("event %s from %q while eu-west-1 is denied; its keys %v", r.ID, w, l.Keys)
		}
	}
	// The console's header, drawn from this engine: which context fails and why.
	h := consoleHeader(t, f)
	t.Log(h)
	if !strings.Contains(h, "ctx 2: default/us-east-1 ✓ default/eu-west-1 ✗ AccessDenied") {
		t.Errorf("header:\n%s", h)
	}
	var fe *engine.FailedSourcesError
	if err := e.Err(); !errors.As(err, &fe) || !strings.Contains(fe.Error(), "@default/eu-west-1") || strings.Contains(fe.Error(), "@default/us-east-1") {
		t.Errorf("failures: %v", err)
	}
}
