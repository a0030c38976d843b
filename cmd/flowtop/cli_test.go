package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/sandbox"
)

// runCLI runs flowtop in-process with the given environment. Journals and
// the audit log go to the test's own directory unless env names one: a test
// never writes to the user's state directory (TestMain checks).
func runCLI(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	start := time.Now()
	state := t.TempDir()
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if k == "XDG_STATE_HOME" {
			return state
		}
		return ""
	}
	code := run(args, strings.NewReader(""), &out, &errb, getenv)
	t.Logf("flowtop %s: exit %d in %s", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond))
	return out.String(), errb.String(), code
}

// sandboxEnv starts a sandbox world and returns the environment that points flowtop at it.
func sandboxEnv(t *testing.T) (map[string]string, *sandbox.Sandbox) {
	t.Helper()
	sb, err := sandbox.Start(context.Background(), sandbox.Config{World: sandbox.WorldConfig{Rate: 30, Seed: 11, DeclineRate: 0.3, MaxOrders: 240}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	env := map[string]string{"FLOWTOP_CONFIG": filepath.Join(t.TempDir(), "none.yaml")}
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
		t.Setenv(k, v) // the SDK's default chain reads the real environment
	}
	_ = os.WriteFile(env["FLOWTOP_CONFIG"], nil, 0o600)
	return env, sb
}

func waitForDLQ(t *testing.T, env map[string]string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, _, code := runCLI(t, env, "dlq", "ls", "-o", "json")
		var rows []struct {
			Queue string `json:"queue"`
			Depth int    `json:"depth"`
		}
		if code == 0 && json.Unmarshal([]byte(out), &rows) == nil {
			for _, r := range rows {
				if r.Queue == "billing-dlq" && r.Depth > 0 {
					return
				}
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatal("billing-dlq never filled")
}

// TestAgainstSandbox is the done-when, against a running sandbox.
func TestAgainstSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sandbox world")
	}
	env, _ := sandboxEnv(t)
	waitForDLQ(t, env)

	out, errOut, code := runCLI(t, env, "dlq", "ls")
	if code != 0 || !strings.Contains(out, "billing-dlq") || !strings.Contains(out, "billing-queue") {
		t.Fatalf("dlq ls: %d %q %q", code, out, errOut)
	}
	peek, _, code := runCLI(t, env, "dlq", "peek", "billing-dlq", "-n", "1", "-o", "json")
	if code != 0 {
		t.Fatalf("peek: %d", code)
	}
	var msg struct {
		MessageID string   `json:"message_id"`
		Keys      []string `json:"keys"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(peek, "\n", 2)[0]), &msg); err != nil {
		t.Fatalf("peek json: %v %q", err, peek)
	}
	eventID := ""
	for _, k := range msg.Keys {
		if strings.HasPrefix(k, "event:") {
			eventID = strings.TrimPrefix(k, "event:")
		}
	}
	// lineage: text, json, dot (rendered by Graphviz when it is installed), mermaid.
	text, _, code := runCLI(t, env, "lineage", eventID, "--since", "10m")
	if code != 0 || !strings.Contains(text, "dead-lettered") || !strings.Contains(text, "charge-card") || !strings.Contains(text, "billing-dlq") {
		t.Fatalf("lineage text (%d):\n%s", code, text)
	}
	js, _, _ := runCLI(t, env, "lineage", msg.MessageID, "-o", "json", "--since", "10m")
	var l struct {
		ID   string `json:"id"`
		Hops []struct {
			Kind string `json:"kind"`
		} `json:"hops"`
	}
	if err := json.Unmarshal([]byte(js), &l); err != nil || l.ID != eventID || len(l.Hops) < 4 {
		t.Fatalf("lineage json by message ID: %v %+v", err, l)
	}
	dot, _, _ := runCLI(t, env, "lineage", eventID, "-o", "dot", "--since", "10m")
	if !strings.HasPrefix(dot, "digraph lineage {") {
		t.Fatalf("dot: %q", dot)
	}
	if path, ok := lookTool(t, "dot", "graphviz"); ok {
		cmd := exec.Command(path, "-Tsvg")
		cmd.Stdin = strings.NewReader(dot)
		svg, err := cmd.Output()
		if err != nil || !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("graphviz could not render the dot output: %v", err)
		}
	}
	mm, _, _ := runCLI(t, env, "lineage", eventID, "-o", "mermaid", "--since", "10m")
	if !strings.HasPrefix(mm, "flowchart LR") {
		t.Errorf("mermaid: %q", mm)
	}
	// cost as CSV: one row per function.
	csvOut, _, code := runCLI(t, env, "cost", "-o", "csv", "--since", "10m")
	recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if code != 0 || err != nil || len(recs) != 1+6 || recs[0][0] != "function" { // a header and the world's six functions (partner-intake: world_partner.go)
		t.Fatalf("cost csv (%d, %v): %q", code, err, csvOut)
	}
	// replay: the DLQ copy, edited by $EDITOR, back on its bus with its source and detail-type.
	env["EDITOR"] = "sed -i s/declined/visa-fixed/"
	rp, errOut, code := runCLI(t, env, "replay", eventID, "--to", "events:orders", "--edit", "--dry-run")
	if code != 0 || !strings.Contains(rp, `source "orders.api", detail-type "OrderPlaced"`) || !strings.Contains(rp, "dry run: nothing was sent") {
		t.Fatalf("replay dry run (%d): %s %s", code, rp, errOut)
	}
	rp, errOut, code = runCLI(t, env, "replay", eventID, "--to", "events:orders", "--edit", "--yes")
	if code != 0 || !strings.Contains(rp, "sent; new ID ") {
		t.Fatalf("replay (%d): %s %s", code, rp, errOut)
	}
	if _, errOut, code := runCLI(t, env, "replay", eventID, "--to", "kinesis:x"); code != exitUsage || !strings.Contains(errOut, "kind must be") {
		t.Errorf("bad target: %d %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, env, "replay", eventID, "--to", "events:orders", "--read-only", "--yes"); code != exitUsage || !strings.Contains(errOut, "read-only") {
		t.Errorf("read-only replay: %d %q", code, errOut)
	}
	// redrive: the dry run prints the plan and changes nothing; read-only refuses; --yes moves.
	env["XDG_STATE_HOME"] = t.TempDir()
	plan, _, code := runCLI(t, env, "dlq", "redrive", "billing-dlq", "--dry-run")
	if code != 0 || !strings.Contains(plan, "redrive ") || !strings.Contains(plan, "from billing-dlq") || !strings.Contains(plan, "dry run: nothing was changed") {
		t.Fatalf("dry run (%d):\n%s", code, plan)
	}
	if _, errOut, code := runCLI(t, env, "dlq", "redrive", "billing-dlq", "--read-only", "--yes"); code != exitUsage || !strings.Contains(errOut, "read-only") {
		t.Errorf("read-only redrive: %d %q", code, errOut)
	}
	moved, errOut, code := runCLI(t, env, "dlq", "redrive", "billing-dlq", "--yes")
	if code != 0 || !strings.Contains(moved, "moved ") {
		t.Fatalf("redrive (%d): %s %s", code, moved, errOut)
	}
	// tail, piped: NDJSON hops of the event, ending when it is final.
	nd, _, code := runCLI(t, env, "tail", eventID, "--since", "10m", "--until-final", "--timeout", "20s", "--otlp-http", "off", "--otlp-grpc", "off")
	if code != 0 {
		t.Fatalf("tail exit %d: %s", code, nd)
	}
	lines := strings.Split(strings.TrimSpace(nd), "\n")
	hops := 0
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("tail line is not JSON: %q", line)
		}
		if rec["record"] == "hop" {
			hops++
		}
	}
	if hops < 4 {
		t.Errorf("tail printed %d hops:\n%s", hops, nd)
	}
	if jq, ok := lookTool(t, "jq", "jq"); ok {
		cmd := exec.Command(jq, "-r", "select(.record==\"hop\") | .hop.component")
		cmd.Stdin = strings.NewReader(nd)
		if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "charge-card") {
			t.Errorf("jq over tail output: %v %q", err, out)
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "config.yaml")
	_ = os.WriteFile(broken, []byte("region: eu-west-1\nsources:\n  lookback: soon\n"), 0o600)
	empty := filepath.Join(dir, "empty.yaml")
	_ = os.WriteFile(empty, nil, 0o600)
	noCreds := map[string]string{"FLOWTOP_CONFIG": empty}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-aws-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "us-east-1")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		{"bad flag", noCreds, []string{"cost", "--nope"}, exitUsage, "unknown flag"},
		{"bad output", noCreds, []string{"cost", "-o", "xml"}, exitUsage, "use table, json or csv"},
		{"missing argument", noCreds, []string{"lineage"}, exitUsage, "want an event ID"},
		{"broken config", map[string]string{"FLOWTOP_CONFIG": broken}, []string{"cost"}, exitUsage, "config.yaml:3: sources.lookback"},
		{"bad env", map[string]string{"FLOWTOP_CONFIG": empty, "FLOWTOP_MAX_EVENTS": "lots"}, []string{"cost"}, exitUsage, "FLOWTOP_MAX_EVENTS"},
		{"no credentials", noCreds, []string{"dlq", "ls"}, exitUsage, "no credentials found"},
		{"version", noCreds, []string{"version"}, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, tt.env, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.msg) {
				t.Errorf("exit %d (want %d), stderr %q (want %q), stdout %q", code, tt.code, errOut, tt.msg, out)
			}
			if code != 0 && strings.Count(strings.TrimSpace(errOut), "\n") > 2 {
				t.Errorf("error should be short: %q", errOut)
			}
		})
	}
}

func TestUnknownEventIsExit3(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sandbox world")
	}
	env, _ := sandboxEnv(t)
	_, errOut, code := runCLI(t, env, "lineage", "no-such-event-id", "--since", "1m")
	if code != exitNotFound || !strings.Contains(errOut, "no event with ID") {
		t.Errorf("exit %d, %q", code, errOut)
	}
	_, errOut, code = runCLI(t, env, "dlq", "peek", "no-such-queue")
	if code != exitNotFound || !strings.Contains(errOut, "no queue named") {
		t.Errorf("peek unknown queue: exit %d, %q", code, errOut)
	}
}
