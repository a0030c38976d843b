package main

import (
	"errors"
	"testing"
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
