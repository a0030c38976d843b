package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func TestParseConfigYAML(t *testing.T) {
	t.Parallel()
	good := `
profile: prod
region: eu-west-1
read_only: yes
max_events: 5000
correlation: [order_id, detail.orderId]
sources:
  log_groups:
    - /aws/lambda/charge-card
  live_tail: off
  lookback: 30m
  otlp:
    http: 127.0.0.1:14318
prices:
  arm64_gb_second: 0.00001
`
	cfg := NewDefaultConfig()
	if err := parseConfigYAML(&cfg, "config.yaml", []byte(good)); err != nil {
		t.Fatalf("parse: %v", err)
	}
	if cfg.Profile != "prod" || cfg.Region != "eu-west-1" || !cfg.ReadOnly || cfg.MaxEvents != 5000 {
		t.Errorf("scalars: %+v", cfg)
	}
	if strings.Join(cfg.Correlation, ",") != "order_id,detail.orderId" {
		t.Errorf("correlation = %v", cfg.Correlation)
	}
	if cfg.Sources.LiveTail != "off" || cfg.Sources.Lookback != 30*time.Minute || cfg.Sources.OTLPHTTP != "127.0.0.1:14318" || cfg.Sources.OTLPGRPC != "127.0.0.1:4317" {
		t.Errorf("sources = %+v", cfg.Sources)
	}
	if len(cfg.Sources.LogGroups) != 1 || cfg.Prices.ARMGBSecond != 0.00001 {
		t.Errorf("lists/prices = %+v %+v", cfg.Sources.LogGroups, cfg.Prices)
	}
	// YAML's "off" parses as a string for live_tail: Validate must accept it.
	if err := cfg.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
}

func TestParseConfigYAMLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		line       int
		key, why   string
	}{
		{"unknown key", "region: x\nsources:\n  logroups: [a]\n", 3, "sources.logroups", "unknown key"},
		{"bad bool", "read_only: maybe\n", 1, "read_only", "true or false"},
		{"bad duration", "sources:\n  lookback: soon\n", 2, "sources.lookback", "duration"},
		{"bad number", "max_events: lots\n", 1, "max_events", "whole number"},
		{"list of maps", "correlation:\n  - a: b\n", 2, "correlation", "list of strings"},
		{"not yaml", "region: [unclosed\n", 0, "", "not valid YAML"},
		{"top level list", "- a\n- b\n", 1, "", "top level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := NewDefaultConfig()
			err := parseConfigYAML(&cfg, "/home/u/.config/flowtop/config.yaml", []byte(tt.yaml))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConfigError", err)
			}
			if ce.Line != tt.line || ce.Key != tt.key || !strings.Contains(ce.Why, tt.why) {
				t.Errorf("got line %d key %q why %q; want line %d key %q why containing %q", ce.Line, ce.Key, ce.Why, tt.line, tt.key, tt.why)
			}
			if !strings.Contains(err.Error(), "config.yaml") || exitCode(err) != exitUsage {
				t.Errorf("message %q / exit %d: want the file named and exit %d", err, exitCode(err), exitUsage)
			}
		})
	}
}

func TestPrecedenceFileEnvFlags(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("region: from-file\nprofile: file-profile\nmax_events: 1000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"FLOWTOP_CONFIG": path, "FLOWTOP_REGION": "from-env", "FLOWTOP_MAX_EVENTS": "2000"}
	a := &app{getenv: func(k string) string { return env[k] }}
	root := a.rootCommand()
	root.SetArgs([]string{"--region", "from-flag", "version"})
	var got Config
	root.PersistentPostRun = func(*cobra.Command, []string) { got = a.cfg }
	a.stdout, a.stderr = &strings.Builder{}, &strings.Builder{}
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Region != "from-flag" || got.Profile != "file-profile" || got.MaxEvents != 2000 {
		t.Errorf("got region %q profile %q max %d; want flag > env > file", got.Region, got.Profile, got.MaxEvents)
	}
}

func TestApplyEnvErrors(t *testing.T) {
	t.Parallel()
	cfg := NewDefaultConfig()
	err := ApplyEnv(&cfg, func(k string) string {
		if k == "FLOWTOP_LOOKBACK" {
			return "yesterday"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "FLOWTOP_LOOKBACK") || exitCode(err) != exitUsage {
		t.Errorf("err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*Config){
		"live tail":  func(c *Config) { c.Sources.LiveTail = "sometimes" },
		"max events": func(c *Config) { c.MaxEvents = 3 },
		"otlp addr":  func(c *Config) { c.Sources.OTLPHTTP = "4318" },
		"endpoint":   func(c *Config) { c.EndpointURL = "localhost:4566" },
		"price":      func(c *Config) { c.Prices.X86GBSecond = -1 },
	} {
		cfg := NewDefaultConfig()
		mutate(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, cfg)
		}
	}
	cfg := NewDefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Errorf("default config invalid: %v", err)
	}
}
