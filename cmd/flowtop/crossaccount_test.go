package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// TestCrossAccountConfig: sources.cross_account and FLOWTOP_CROSS_ACCOUNT
// reach the configuration, and a value other than auto, on or off is refused
// with its key.
func TestCrossAccountConfig(t *testing.T) {
	t.Parallel()
	cfg := NewDefaultConfig()
	if err := cfg.Validate(); cfg.Sources.CrossAccount != "" || err != nil {
		t.Errorf("default %q (%v), want \"\" (auto)", cfg.Sources.CrossAccount, err)
	}
	if err := parseConfigYAML(&cfg, "config.yaml", []byte("sources:\n  cross_account: on\n")); err != nil || cfg.Sources.CrossAccount != "on" {
		t.Fatalf("file: %q %v", cfg.Sources.CrossAccount, err)
	}
	env := map[string]string{"FLOWTOP_CROSS_ACCOUNT": "off"}
	if err := ApplyEnv(&cfg, func(k string) string { return env[k] }); err != nil || cfg.Sources.CrossAccount != "off" {
		t.Fatalf("env: %q %v", cfg.Sources.CrossAccount, err)
	}
	cfg.Sources.CrossAccount = "maybe"
	if err := cfg.Validate(); err == nil {
		t.Error("Validate accepted cross_account: maybe")
	} else if ce := (*ConfigError)(nil); !errors.As(err, &ce) || ce.Key != "sources.cross_account" {
		t.Errorf("error %v does not name sources.cross_account", err)
	}
}

// TestLineageNamesAccounts: a hop in a linked account says which, in text
// and JSON; a hop of the one watched account stays as it was.
func TestLineageNamesAccounts(t *testing.T) {
	t.Parallel()
	l := graph.Lineage{ID: "ev-x", Hops: []graph.Hop{
		{Parent: -1, Kind: graph.HopPublish, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "orders-api", Account: "111111111111"}},
		{Parent: 0, Kind: graph.HopInvoke, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "ship-order", Account: "222222222222"}},
		{Parent: 0, Kind: graph.HopInvoke, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: "audit"}},
	}}
	var text, js bytes.Buffer
	if err := writeLineage(&text, l, "text"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"orders-api @111111111111", "ship-order @222222222222"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "audit @") {
		t.Errorf("a hop with no account got one:\n%s", text.String())
	}
	if err := writeLineage(&js, l, "json"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Hops []map[string]any `json:"hops"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil || len(got.Hops) != 3 {
		t.Fatalf("json: %v %s", err, js.String())
	}
	if got.Hops[1]["account"] != "222222222222" {
		t.Errorf("json hop 1: %v", got.Hops[1])
	}
	if _, ok := got.Hops[2]["account"]; ok {
		t.Errorf("json hop 2 has an account: %v", got.Hops[2])
	}
}
