package main

import (
	"errors"
	"math"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// fuzzMaxConfig caps one fuzzed config file: real ones are a few hundred bytes.
const fuzzMaxConfig = 16 << 10

// configSeeds are the config examples of the README and of this package's
// tests, plus edge cases of YAML itself.
func configSeeds(tb testing.TB) []string {
	tb.Helper()
	seeds := []string{
		"region: eu-west-1\nsources:\n  lookback: 30m\n  otlp:\n    http: 127.0.0.1:14318\nprices:\n  arm64_gb_second: 0.00001\n",
		"profile: prod\nread_only: yes\nmax_events: 5000\ncorrelation: [order_id, detail.orderId]\nsources:\n  log_groups:\n    - /aws/lambda/charge-card\n  live_tail: off\n",
		"sources:\n  log_group_prefixes: /aws/lambda/orders-, /aws/lambda/billing-\n  queues: [billing-dlq]\n  xray: false\n  poll: 500ms\n",
		"endpoint_url: http://127.0.0.1:4566\nlog_file: /tmp/flowtop.log\nprices:\n  x86_64_gb_second: 1e-5\n  requests_per_million: 0.2\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
		"prices:\n  x86_64_gb_second: NaN\n",
		"max_events: 99999999999999999999\n",
		"--- \n...\n",
		"contexts:\n  - name: prod-us\n    profile: prod\n    region: us-east-1\n  - profile: prod\n    region: eu-west-1\n    endpoint: http://127.0.0.1:4566\n",
		"profile: a,b\nregion: us-east-1, eu-west-1\ncontexts: []\n",
		"contexts:\n  - {name: x, region: \"\"}\n  - {}\n",
		"",
	}
	// The README's example, when it has one.
	if b, err := os.ReadFile("../../README.md"); err == nil {
		re := regexp.MustCompile("(?s)```ya?ml\n(.*?)```")
		for _, m := range re.FindAllSubmatch(b, -1) {
			seeds = append(seeds, string(m[1]))
		}
	}
	return seeds
}

// knownConfigYAML writes the keys parseConfigYAML knows, from c.
func knownConfigYAML(c Config) map[string]any {
	return map[string]any{
		"profile": c.Profile, "region": c.Region, "endpoint_url": c.EndpointURL,
		"read_only": c.ReadOnly, "log_file": c.LogFile, "max_events": c.MaxEvents,
		"correlation": nonNil(c.Correlation),
		"contexts":    contextsYAML(c.Contexts),
		"sources": map[string]any{
			"log_groups": nonNil(c.Sources.LogGroups), "log_group_prefixes": nonNil(c.Sources.LogGroupPrefixes),
			"queues": nonNil(c.Sources.Queues), "xray": c.Sources.XRay, "live_tail": c.Sources.LiveTail,
			"lookback": c.Sources.Lookback.String(), "poll": c.Sources.Poll.String(),
			"otlp": map[string]any{"grpc": c.Sources.OTLPGRPC, "http": c.Sources.OTLPHTTP},
		},
		"prices": map[string]any{
			"x86_64_gb_second": c.Prices.X86GBSecond, "arm64_gb_second": c.Prices.ARMGBSecond,
			"requests_per_million": c.Prices.RequestsPerMillon,
		},
	}
}

func contextsYAML(cs []ContextConfig) []map[string]string {
	out := []map[string]string{}
	for _, c := range cs {
		out = append(out, map[string]string{"name": c.Name, "profile": c.Profile, "region": c.Region, "endpoint": c.Endpoint})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// forgetKnown sets every field knownConfigYAML writes to a value no parse
// gives, keeping fields added since (they are not part of the round trip).
func forgetKnown(c Config) Config {
	c.Profile, c.Region, c.EndpointURL, c.LogFile = "?", "?", "?", "?"
	c.ReadOnly, c.MaxEvents, c.Correlation = !c.ReadOnly, -1, []string{"?"}
	c.Sources.LogGroups, c.Sources.LogGroupPrefixes, c.Sources.Queues = []string{"?"}, []string{"?"}, []string{"?"}
	c.Sources.XRay, c.Sources.LiveTail, c.Sources.Lookback, c.Sources.Poll = !c.Sources.XRay, "?", -1, -1
	c.Sources.OTLPGRPC, c.Sources.OTLPHTTP = "?", "?"
	c.Prices = PriceOverrides{X86GBSecond: -1, ARMGBSecond: -1, RequestsPerMillon: -1}
	c.Contexts = []ContextConfig{{Name: "?"}}
	return c
}

// emptyListsNil makes an empty list and no list the same, as the config file
// cannot tell them apart.
func emptyListsNil(c Config) Config {
	for _, l := range []*[]string{&c.Correlation, &c.Sources.LogGroups, &c.Sources.LogGroupPrefixes, &c.Sources.Queues} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(c.Contexts) == 0 {
		c.Contexts = nil
	}
	return c
}

// FuzzParseConfigYAML feeds the config file parser arbitrary YAML. It must not
// panic; every error is a *ConfigError naming the file; a configuration that
// validates has finite prices, and written back as YAML it reads to the same
// values.
func FuzzParseConfigYAML(f *testing.F) {
	for _, s := range configSeeds(f) {
		f.Add(s)
	}
	const file = "/home/u/.config/flowtop/config.yaml"
	f.Fuzz(func(t *testing.T, data string) {
		if len(data) > fuzzMaxConfig {
			return
		}
		cfg := NewDefaultConfig()
		err := parseConfigYAML(&cfg, file, []byte(data))
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.File != file || !strings.HasPrefix(err.Error(), "config: "+file) {
				t.Fatalf("error %q is not a *ConfigError naming the file", err)
			}
			return
		}
		if cfg.Validate() != nil {
			return
		}
		for _, p := range []float64{cfg.Prices.X86GBSecond, cfg.Prices.ARMGBSecond, cfg.Prices.RequestsPerMillon} {
			if math.IsNaN(p) || math.IsInf(p, 0) {
				t.Fatalf("a price of %v validated", p)
			}
		}
		// What validates is watched within bounds, under distinct names.
		watched := cfg.WatchedContexts()
		if len(watched) == 0 || len(watched) > maxContexts {
			t.Fatalf("%d contexts watched", len(watched))
		}
		names := map[string]bool{}
		for _, c := range cfg.Contexts {
			if c.Name != "" && names[c.Name] {
				t.Fatalf("two contexts named %q validated", c.Name)
			}
			names[c.Name] = true
		}
		out, err := yaml.Marshal(knownConfigYAML(cfg))
		if err != nil {
			t.Fatalf("write back: %v", err)
		}
		again := forgetKnown(cfg)
		if err := parseConfigYAML(&again, file, out); err != nil {
			t.Fatalf("the written-back config does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(emptyListsNil(cfg), emptyListsNil(again)) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v\nvia\n%s", cfg, again, out)
		}
	})
}
