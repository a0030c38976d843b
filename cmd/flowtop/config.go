package main

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flowtop/flowtop/graph"
)

// Config is everything a user can set, from the config file, FLOWTOP_*
// environment variables and flags, in increasing order of precedence: a flag
// beats the environment, which beats the file.
type Config struct {
	// AWS. Empty means the SDK's default chain (AWS_PROFILE, AWS_REGION,
	// AWS_ENDPOINT_URL and the per-service variants, shared config, SSO).
	// Profile and Region may be comma-separated lists: flowtop then watches
	// every profile in every region at once.
	Profile     string
	Region      string
	EndpointURL string
	// Contexts, from the config file, are the accounts and regions watched
	// at once when --profile and --region name one each.
	Contexts []ContextConfig

	ReadOnly bool
	LogFile  string
	Debug    bool
	NoColor  bool

	Sources     SourcesConfig
	Correlation []string // extra keys that identify events: field names or dotted JSON paths
	Prices      PriceOverrides
	MaxEvents   int
	// Memory is the budget for everything flowtop holds: OTLP requests in
	// flight, the queue between the sources and the graph, and held events.
	Memory graph.Budget
}

// SourcesConfig selects what flowtop watches. Empty lists mean "discover".
type SourcesConfig struct {
	LogGroups        []string
	LogGroupPrefixes []string
	Queues           []string
	XRay             bool
	LiveTail         string // "auto", "on" or "off"
	CrossAccount     string // "auto" (also ""), "on" or "off": a monitoring account's linked accounts
	OTLPGRPC         string // host:port, "" = off
	OTLPHTTP         string // host:port, "" = off
	Lookback         time.Duration
	Poll             time.Duration
}

// ContextConfig is one account and region to watch: the config file's
// `contexts:` entries. Empty fields take the top-level profile, region and
// endpoint_url.
type ContextConfig struct {
	Name     string // shown in the header and `:ctx`; default "profile/region"
	Profile  string
	Region   string
	Endpoint string
}

// maxContexts bounds the contexts watched at once: each runs its own
// collectors against its own API quotas.
const maxContexts = 16

// WatchedContexts is what flowtop watches: every profile of --profile in
// every region of --region when either names more than one, else the config
// file's contexts, else the one profile and region (a single context, whose
// components stay unstamped).
func (c Config) WatchedContexts() []ContextConfig {
	profiles, regions := splitList(c.Profile), splitList(c.Region)
	if len(profiles) <= 1 && len(regions) <= 1 && len(c.Contexts) > 0 {
		return c.Contexts
	}
	if len(profiles) == 0 {
		profiles = []string{""}
	}
	if len(regions) == 0 {
		regions = []string{""}
	}
	var out []ContextConfig
	for _, p := range profiles {
		for _, r := range regions {
			out = append(out, ContextConfig{Profile: p, Region: r, Endpoint: c.EndpointURL})
		}
	}
	return out
}

// PriceOverrides replace entries of the price table; zero keeps the default.
type PriceOverrides struct {
	X86GBSecond       float64
	ARMGBSecond       float64
	RequestsPerMillon float64
}

// NewDefaultConfig returns the configuration used when nothing is set.
func NewDefaultConfig() Config {
	return Config{
		Sources: SourcesConfig{
			XRay:     true,
			LiveTail: "auto",
			OTLPGRPC: "127.0.0.1:4317",
			OTLPHTTP: "127.0.0.1:4318",
			Lookback: 15 * time.Minute,
			Poll:     2 * time.Second,
		},
		MaxEvents: 200_000,
	}
}

// ConfigError is a configuration problem: which key, in which file (or
// variable, or flag), on which line, and why.
type ConfigError struct {
	File string // file path, "environment" or "flags"
	Line int    // 0 when not from a file
	Key  string
	Why  string
}

func (e *ConfigError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("config: %s: %s", where, e.Why)
	}
	return fmt.Sprintf("config: %s: %s: %s", where, e.Key, e.Why)
}

// DefaultConfigPath is config.yaml in the user's config directory
// ($XDG_CONFIG_HOME/flowtop, ~/.config/flowtop, ~/Library/Application Support/flowtop).
func DefaultConfigPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "flowtop", "config.yaml")
}

// LoadConfigFile reads path into cfg. A missing file is not an error when
// optional is true (the default path); a named file must exist.
func LoadConfigFile(cfg *Config, path string, optional bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return &ConfigError{File: path, Why: err.Error()}
	}
	return parseConfigYAML(cfg, path, data)
}

// parseConfigYAML walks the YAML tree so every error can name its key and line.
func parseConfigYAML(cfg *Config, file string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return &ConfigError{File: file, Why: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return &ConfigError{File: file, Line: root.Line, Why: "the top level must be a mapping of keys to values"}
	}
	p := configParser{file: file}
	return p.mapping(root, "", cfg)
}

type configParser struct{ file string }

func (p configParser) fail(n *yaml.Node, key, why string) error {
	return &ConfigError{File: p.file, Line: n.Line, Key: key, Why: why}
}

func (p configParser) mapping(n *yaml.Node, prefix string, cfg *Config) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := prefix + k.Value
		var err error
		switch key {
		case "profile":
			cfg.Profile, err = p.str(v, key)
		case "region":
			cfg.Region, err = p.str(v, key)
		case "endpoint_url":
			cfg.EndpointURL, err = p.str(v, key)
		case "read_only":
			cfg.ReadOnly, err = p.boolean(v, key)
		case "log_file":
			cfg.LogFile, err = p.str(v, key)
		case "max_events":
			cfg.MaxEvents, err = p.integer(v, key)
		case "memory":
			var s string
			if s, err = p.str(v, key); err == nil {
				if cfg.Memory, err = graph.ParseBudget(s); err != nil {
					err = p.fail(v, key, "must be a size such as 512MiB or 2GiB, at least 16MiB, not "+strconv.Quote(s))
				}
			}
		case "correlation":
			cfg.Correlation, err = p.list(v, key)
		case "contexts":
			cfg.Contexts, err = p.contexts(v, key)
		case "sources", "prices", "sources.otlp":
			if v.Kind != yaml.MappingNode {
				return p.fail(v, key, "must be a mapping")
			}
			err = p.mapping(v, key+".", cfg)
		case "sources.log_groups":
			cfg.Sources.LogGroups, err = p.list(v, key)
		case "sources.log_group_prefixes":
			cfg.Sources.LogGroupPrefixes, err = p.list(v, key)
		case "sources.queues":
			cfg.Sources.Queues, err = p.list(v, key)
		case "sources.xray":
			cfg.Sources.XRay, err = p.boolean(v, key)
		case "sources.live_tail":
			cfg.Sources.LiveTail, err = p.str(v, key)
		case "sources.cross_account":
			cfg.Sources.CrossAccount, err = p.str(v, key)
		case "sources.lookback":
			cfg.Sources.Lookback, err = p.duration(v, key)
		case "sources.poll":
			cfg.Sources.Poll, err = p.duration(v, key)
		case "sources.otlp.grpc":
			cfg.Sources.OTLPGRPC, err = p.str(v, key)
		case "sources.otlp.http":
			cfg.Sources.OTLPHTTP, err = p.str(v, key)
		case "prices.x86_64_gb_second":
			cfg.Prices.X86GBSecond, err = p.float(v, key)
		case "prices.arm64_gb_second":
			cfg.Prices.ARMGBSecond, err = p.float(v, key)
		case "prices.requests_per_million":
			cfg.Prices.RequestsPerMillon, err = p.float(v, key)
		default:
			return p.fail(k, key, "unknown key (see `flowtop --help` and the README for the keys)")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// contexts reads `contexts:`, a list of {name, profile, region, endpoint}.
func (p configParser) contexts(v *yaml.Node, key string) ([]ContextConfig, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, p.fail(v, key, "must be a list of {name, profile, region, endpoint}")
	}
	if len(v.Content) > maxContexts {
		return nil, p.fail(v, key, fmt.Sprintf("at most %d contexts, not %d", maxContexts, len(v.Content)))
	}
	out := make([]ContextConfig, 0, len(v.Content))
	for i, item := range v.Content {
		at := fmt.Sprintf("%s[%d]", key, i)
		if item.Kind != yaml.MappingNode {
			return nil, p.fail(item, at, "must be a mapping of name, profile, region and endpoint")
		}
		var c ContextConfig
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, val := item.Content[j], item.Content[j+1]
			var dst *string
			switch k.Value {
			case "name":
				dst = &c.Name
			case "profile":
				dst = &c.Profile
			case "region":
				dst = &c.Region
			case "endpoint", "endpoint_url":
				dst = &c.Endpoint
			default:
				return nil, p.fail(k, at+"."+k.Value, "unknown key (a context has name, profile, region and endpoint)")
			}
			s, err := p.str(val, at+"."+k.Value)
			if err != nil {
				return nil, err
			}
			*dst = s
		}
		out = append(out, c)
	}
	return out, nil
}

func (p configParser) str(v *yaml.Node, key string) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", p.fail(v, key, "must be a string")
	}
	return v.Value, nil
}

func (p configParser) boolean(v *yaml.Node, key string) (bool, error) {
	if v.Kind == yaml.ScalarNode {
		switch strings.ToLower(v.Value) {
		case "true", "yes", "on":
			return true, nil
		case "false", "no", "off":
			return false, nil
		}
	}
	return false, p.fail(v, key, fmt.Sprintf("must be true or false, not %q", v.Value))
}

func (p configParser) integer(v *yaml.Node, key string) (int, error) {
	n, err := strconv.Atoi(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		return 0, p.fail(v, key, fmt.Sprintf("must be a whole number, not %q", v.Value))
	}
	return n, nil
}

func (p configParser) float(v *yaml.Node, key string) (float64, error) {
	f, err := strconv.ParseFloat(v.Value, 64)
	if v.Kind != yaml.ScalarNode || err != nil {
		return 0, p.fail(v, key, fmt.Sprintf("must be a number, not %q", v.Value))
	}
	return f, nil
}

func (p configParser) duration(v *yaml.Node, key string) (time.Duration, error) {
	d, err := time.ParseDuration(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		return 0, p.fail(v, key, fmt.Sprintf("must be a duration such as 15m or 90s, not %q", v.Value))
	}
	return d, nil
}

func (p configParser) list(v *yaml.Node, key string) ([]string, error) {
	if v.Kind == yaml.ScalarNode {
		return splitList(v.Value), nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, p.fail(v, key, "must be a list of strings")
	}
	out := make([]string, 0, len(v.Content))
	for _, item := range v.Content {
		if item.Kind != yaml.ScalarNode {
			return nil, p.fail(item, key, "must be a list of strings")
		}
		out = append(out, item.Value)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// ApplyEnv reads FLOWTOP_* variables through getenv.
func ApplyEnv(cfg *Config, getenv func(string) string) error {
	fail := func(name, why string) error { return &ConfigError{File: "environment", Key: name, Why: why} }
	set := func(name string, f func(string) error) error {
		if v := getenv(name); v != "" {
			return f(v)
		}
		return nil
	}
	strs := map[string]*string{
		"FLOWTOP_PROFILE":      &cfg.Profile,
		"FLOWTOP_REGION":       &cfg.Region,
		"FLOWTOP_ENDPOINT_URL": &cfg.EndpointURL,
		"FLOWTOP_LOG_FILE":     &cfg.LogFile,
		"FLOWTOP_LIVE_TAIL":    &cfg.Sources.LiveTail,
		"FLOWTOP_OTLP_GRPC":    &cfg.Sources.OTLPGRPC,
		"FLOWTOP_OTLP_HTTP":    &cfg.Sources.OTLPHTTP,
	}
	if v := getenv("FLOWTOP_CROSS_ACCOUNT"); v != "" {
		cfg.Sources.CrossAccount = v
	}
	for name, dst := range strs {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	if err := set("FLOWTOP_READ_ONLY", func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fail("FLOWTOP_READ_ONLY", fmt.Sprintf("must be true or false, not %q", v))
		}
		cfg.ReadOnly = b
		return nil
	}); err != nil {
		return err
	}
	if err := set("FLOWTOP_MAX_EVENTS", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fail("FLOWTOP_MAX_EVENTS", fmt.Sprintf("must be a whole number, not %q", v))
		}
		cfg.MaxEvents = n
		return nil
	}); err != nil {
		return err
	}
	if err := set("FLOWTOP_MEMORY", func(v string) error {
		b, err := graph.ParseBudget(v)
		if err != nil {
			return fail("FLOWTOP_MEMORY", fmt.Sprintf("must be a size such as 512MiB or 2GiB, at least 16MiB, not %q", v))
		}
		cfg.Memory = b
		return nil
	}); err != nil {
		return err
	}
	if err := set("FLOWTOP_LOOKBACK", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fail("FLOWTOP_LOOKBACK", fmt.Sprintf("must be a duration such as 15m, not %q", v))
		}
		cfg.Sources.Lookback = d
		return nil
	}); err != nil {
		return err
	}
	if v := getenv("FLOWTOP_CORRELATION"); v != "" {
		cfg.Correlation = splitList(v)
	}
	if v := getenv("FLOWTOP_LOG_GROUPS"); v != "" {
		cfg.Sources.LogGroups = splitList(v)
	}
	if v := getenv("FLOWTOP_QUEUES"); v != "" {
		cfg.Sources.Queues = splitList(v)
	}
	if _, ok := os.LookupEnv("NO_COLOR"); ok || getenv("NO_COLOR") != "" {
		cfg.NoColor = true
	}
	return nil
}

// Validate checks values that parse but make no sense.
func (c *Config) Validate() error {
	fail := func(key, why string) error { return &ConfigError{File: "configuration", Key: key, Why: why} }
	switch c.Sources.LiveTail {
	case "auto", "on", "off":
	default:
		return fail("sources.live_tail", fmt.Sprintf("must be auto, on or off, not %q", c.Sources.LiveTail))
	}
	switch c.Sources.CrossAccount {
	case "", "auto", "on", "off":
	default:
		return fail("sources.cross_account", fmt.Sprintf("must be auto, on or off, not %q", c.Sources.CrossAccount))
	}
	if c.MaxEvents < 100 {
		return fail("max_events", fmt.Sprintf("must be at least 100, not %d", c.MaxEvents))
	}
	if c.Sources.Lookback < 0 {
		return fail("sources.lookback", "must not be negative")
	}
	if c.Sources.Poll < 100*time.Millisecond {
		return fail("sources.poll", "must be at least 100ms")
	}
	for key, addr := range map[string]string{"sources.otlp.grpc": c.Sources.OTLPGRPC, "sources.otlp.http": c.Sources.OTLPHTTP} {
		if addr == "" || addr == "off" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fail(key, fmt.Sprintf("must be host:port (or off), not %q", addr))
		}
	}
	if c.EndpointURL != "" && !strings.HasPrefix(c.EndpointURL, "http://") && !strings.HasPrefix(c.EndpointURL, "https://") {
		return fail("endpoint_url", fmt.Sprintf("must start with http:// or https://, not %q", c.EndpointURL))
	}
	if err := c.validateContexts(); err != nil {
		return err
	}
	for key, v := range map[string]float64{"prices.x86_64_gb_second": c.Prices.X86GBSecond, "prices.arm64_gb_second": c.Prices.ARMGBSecond, "prices.requests_per_million": c.Prices.RequestsPerMillon} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fail(key, fmt.Sprintf("must be a number not below zero, not %v", v))
		}
	}
	return nil
}

// validateContexts checks what WatchedContexts will watch: a bounded number
// of contexts, each with distinct names and a usable endpoint.
func (c *Config) validateContexts() error {
	fail := func(key, why string) error { return &ConfigError{File: "configuration", Key: key, Why: why} }
	profiles, regions := splitList(c.Profile), splitList(c.Region)
	if n := max(len(profiles), 1) * max(len(regions), 1); n > maxContexts {
		return fail("profile/region", fmt.Sprintf("%d profiles × %d regions is %d contexts; at most %d", len(profiles), len(regions), n, maxContexts))
	}
	names := map[string]int{}
	for i, x := range c.Contexts {
		key := fmt.Sprintf("contexts[%d]", i)
		if x.Endpoint != "" && !strings.HasPrefix(x.Endpoint, "http://") && !strings.HasPrefix(x.Endpoint, "https://") {
			return fail(key+".endpoint", fmt.Sprintf("must start with http:// or https://, not %q", x.Endpoint))
		}
		for _, s := range []string{x.Name, x.Profile, x.Region} {
			if strings.ContainsAny(s, ",@\n\t") || strings.TrimSpace(s) != s {
				return fail(key, fmt.Sprintf("names must not hold commas, @, spaces at the ends or line breaks: %q", s))
			}
		}
		if x.Name != "" {
			if j, ok := names[x.Name]; ok {
				return fail(key+".name", fmt.Sprintf("%q is also contexts[%d]'s name", x.Name, j))
			}
			names[x.Name] = i
		}
	}
	return nil
}
