package otlp

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// frontTierFile is the OpenTelemetry Collector front tier the README documents.
func frontTierFile(t *testing.T) []byte {
	t.Helper()
	dir, _ := os.Getwd()
	for range 5 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "testdata", "otelcol", "front-tier.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkFrontTier checks a collector configuration against the receiver's
// listen addresses: it parses as YAML; every address in it (endpoints and
// hosts, anywhere) is 127.0.0.1; its exporters are OTLP exporters to exactly
// flowtop's gRPC (otlp) or HTTP (otlphttp) address; its receivers do not take
// flowtop's ports; and its pipelines use only components it defines, with
// each connector both ending one pipeline and starting another.
func checkFrontTier(doc []byte, grpcAddr, httpAddr string) error {
	var cfg struct {
		Receivers  map[string]any `yaml:"receivers"`
		Processors map[string]any `yaml:"processors"`
		Exporters  map[string]any `yaml:"exporters"`
		Connectors map[string]any `yaml:"connectors"`
		Service    struct {
			Pipelines map[string]struct {
				Receivers  []string `yaml:"receivers"`
				Processors []string `yaml:"processors"`
				Exporters  []string `yaml:"exporters"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal(doc, &cfg); err != nil {
		return fmt.Errorf("not YAML: %w", err)
	}
	var tree any
	_ = yaml.Unmarshal(doc, &tree)
	var errs []error
	walk(tree, "", func(path, key string, v any) {
		s, ok := v.(string)
		if !ok || key != "endpoint" && key != "host" {
			return
		}
		if host := hostOf(s); host != "127.0.0.1" {
			errs = append(errs, fmt.Errorf("%s: %q is not on 127.0.0.1", path, s))
		}
	})
	if len(cfg.Exporters) == 0 {
		errs = append(errs, errors.New("no exporters"))
	}
	for name, raw := range cfg.Exporters {
		m, _ := raw.(map[string]any)
		ep, _ := m["endpoint"].(string)
		typ, _, _ := strings.Cut(name, "/")
		var want string
		switch typ {
		case "otlp":
			want = grpcAddr
		case "otlphttp":
			want = httpAddr
		default:
			errs = append(errs, fmt.Errorf("exporters.%s: only otlp and otlphttp to flowtop", name))
			continue
		}
		if got := hostPort(ep); got != want {
			errs = append(errs, fmt.Errorf("exporters.%s: sends to %q, flowtop's %s receiver is %s", name, ep, typ, want))
		}
	}
	for _, flowtop := range []string{grpcAddr, httpAddr} {
		_, port, _ := net.SplitHostPort(flowtop)
		walk(cfg.Receivers, "receivers", func(path, key string, v any) {
			if s, ok := v.(string); ok && key == "endpoint" && strings.HasSuffix(hostPort(s), ":"+port) {
				errs = append(errs, fmt.Errorf("%s: %q takes flowtop's port %s", path, s, port))
			}
		})
	}
	if len(cfg.Service.Pipelines) == 0 {
		errs = append(errs, errors.New("no pipelines"))
	}
	endsIn, startsIn := map[string]bool{}, map[string]bool{}
	for name, p := range cfg.Service.Pipelines {
		for _, r := range p.Receivers {
			if _, ok := cfg.Connectors[r]; ok {
				startsIn[r] = true
			} else if _, ok := cfg.Receivers[r]; !ok {
				errs = append(errs, fmt.Errorf("pipeline %s: receiver %s is not defined", name, r))
			}
		}
		for _, pr := range p.Processors {
			if _, ok := cfg.Processors[pr]; !ok {
				errs = append(errs, fmt.Errorf("pipeline %s: processor %s is not defined", name, pr))
			}
		}
		for _, e := range p.Exporters {
			if _, ok := cfg.Connectors[e]; ok {
				endsIn[e] = true
			} else if _, ok := cfg.Exporters[e]; !ok {
				errs = append(errs, fmt.Errorf("pipeline %s: exporter %s is not defined", name, e))
			}
		}
	}
	for c := range cfg.Connectors {
		if !endsIn[c] || !startsIn[c] {
			errs = append(errs, fmt.Errorf("connector %s must end one pipeline and start another", c))
		}
	}
	return errors.Join(errs...)
}

// walk calls fn on every value of a YAML tree with its path and key.
func walk(v any, path string, fn func(path, key string, v any)) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			fn(path+"."+k, k, c)
			walk(c, path+"."+k, fn)
		}
	case []any:
		for i, c := range t {
			walk(c, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}

// hostPort is the host:port of an endpoint written as host:port or a URL.
func hostPort(s string) string {
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			return u.Host
		}
	}
	return s
}

func hostOf(s string) string {
	hp := hostPort(s)
	if h, _, err := net.SplitHostPort(hp); err == nil {
		return h
	}
	return hp
}

// TestFrontTierConfig: the collector configuration in testdata/otelcol feeds
// flowtop's receiver at the addresses it listens on by default, and nothing
// else; the check itself refuses the mistakes it is there to catch.
func TestFrontTierConfig(t *testing.T) {
	t.Parallel()
	def := Config{}.withDefaults()
	doc := frontTierFile(t)
	if err := checkFrontTier(doc, def.GRPCAddr, def.HTTPAddr); err != nil {
		t.Fatalf("testdata/otelcol/front-tier.yaml:\n%v", err)
	}
	for _, want := range []string{"tail_sampling:", "status_codes: [ERROR]", "threshold_ms:", "routing/traces:", "memory_limiter:"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("the front tier lost %q (fan-in limits, tail sampling or routing)", want)
		}
	}
	for name, edit := range map[string][2]string{
		"an exporter to another host":      {"endpoint: 127.0.0.1:4317", "endpoint: 10.0.0.5:4317"},
		"otlphttp to the gRPC port":        {"endpoint: http://127.0.0.1:4318", "endpoint: http://127.0.0.1:4317"},
		"a receiver on all interfaces":     {"endpoint: 127.0.0.1:14317", "endpoint: 0.0.0.0:14317"},
		"a receiver on flowtop's port":     {"endpoint: 127.0.0.1:14318", "endpoint: 127.0.0.1:4318"},
		"telemetry beyond loopback":        {"host: 127.0.0.1", "host: 0.0.0.0"},
		"a pipeline naming no such thing":  {"processors: [tail_sampling, batch]", "processors: [tail_sampling, batch, filter]"},
		"a connector that ends nothing":    {"exporters: [routing/traces]", "exporters: [otlp/flowtop]"},
		"not YAML":                         {"receivers:", "receivers: ["},
		"flowtop's receiver on other port": {"", ""},
	} {
		bad := strings.Replace(string(doc), edit[0], edit[1], 1)
		grpc := def.GRPCAddr
		if edit[0] == "" {
			grpc = "127.0.0.1:5317" // the file is right, the receiver moved
		} else if bad == string(doc) {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if err := checkFrontTier([]byte(bad), grpc, def.HTTPAddr); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
