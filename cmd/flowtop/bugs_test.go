package main

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/flowtop/flowtop/sandbox"
)

// TestDevNullIsNoTerminal: `flowtop tail ID > /dev/null` opened the console,
// because a character device was taken for a terminal.
func TestDevNullIsNoTerminal(t *testing.T) {
	t.Parallel()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Errorf("%s is taken for a terminal", os.DevNull)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(w) || isTerminal(r) {
		t.Error("a pipe is taken for a terminal")
	}
	if isTerminal(&strings.Builder{}) {
		t.Error("a buffer is taken for a terminal")
	}
}

// TestVersion: `flowtop version` printed only "flowtop dev"; it prints the
// module, commit, build time and Go version, and linker values win.
func TestVersion(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "none.yaml")
	_ = os.WriteFile(cfg, nil, 0o600)
	out, _, code := runCLI(t, map[string]string{"FLOWTOP_CONFIG": cfg}, "version")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"flowtop ", "module  github.com/flowtop/flowtop", "commit  ", "built   ", "go      " + runtime.Version()} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
	v := buildVersion{Version: "v1.2.3", Module: "github.com/flowtop/flowtop", Commit: "0123abc", Date: "2026-12-03T10:00:00Z", Go: "go1.26.0", Modified: true}
	want := "flowtop v1.2.3\n  module  github.com/flowtop/flowtop\n  commit  0123abc (with local changes)\n  built   2026-12-03T10:00:00Z\n  go      go1.26.0\n"
	if got := versionText(v); got != want {
		t.Errorf("versionText:\n%s\nwant:\n%s", got, want)
	}
	version, commit, date = "v9.9.9", "feedbeef", "2026-01-01"
	defer func() { version, commit, date = "", "", "" }()
	if b := buildInfo(); b.Version != "v9.9.9" || b.Commit != "feedbeef" || b.Date != "2026-01-01" {
		t.Errorf("linker overrides lost: %+v", b)
	}
}

func TestStateDir(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := stateDir(env(map[string]string{"XDG_STATE_HOME": "/x", "HOME": "/h"})); got != filepath.Join("/x", "flowtop") {
		t.Errorf("XDG_STATE_HOME: %s", got)
	}
	if got := stateDir(env(map[string]string{"HOME": "/h"})); got != filepath.Join("/h", ".local", "state", "flowtop") {
		t.Errorf("HOME: %s", got)
	}
}

// emptySandbox is an AWS-compatible endpoint with nothing in it.
func emptySandbox(t *testing.T) map[string]string {
	t.Helper()
	srv := sandbox.NewServer(sandbox.Options{Seed: 1})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return endpointEnv(t, url)
}

func endpointEnv(t *testing.T, url string) map[string]string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "none.yaml")
	_ = os.WriteFile(cfg, nil, 0o600)
	env := map[string]string{"FLOWTOP_CONFIG": cfg}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test",
		"AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
	} {
		env[k] = v
		t.Setenv(k, v) // the SDK's default chain reads the real environment
	}
	return env
}

// TestLogFileRecordsTheSession: --log-file stayed empty during a whole
// session; it records the start, the sources and their states, and errors.
func TestLogFileRecordsTheSession(t *testing.T) {
	env := emptySandbox(t)
	log := filepath.Join(t.TempDir(), "flowtop.log")
	_, _, code := runCLI(t, env, "tail", "no-such-id", "--timeout", "2500ms", "--log-file", log, "--otlp-http", "off", "--otlp-grpc", "off")
	if code != exitNotFound {
		t.Errorf("exit %d, want %d", code, exitNotFound)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"flowtop start", "command=\"tail no-such-id", "engine start", "source state", "source=cwlogs", "source=dlq", "state=", "command failed", "no event with ID"} {
		if !strings.Contains(text, want) {
			t.Errorf("the log lacks %q:\n%s", want, text)
		}
	}
}

// TestFailedSourcesExit4: with the endpoint unreachable, lineage and tail say
// which sources failed and why (exit 4), not "not found" (exit 3).
func TestFailedSourcesExit4(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	_ = l.Close()
	env := endpointEnv(t, url)
	_, errOut, code := runCLI(t, env, "lineage", "some-event-id", "--since", "5m")
	if code != exitPartial || !strings.Contains(errOut, "some sources failed") || !strings.Contains(errOut, "lambda: ") || !strings.Contains(errOut, "cannot reach the endpoint") {
		t.Errorf("lineage: exit %d (want %d), %q", code, exitPartial, errOut)
	}
	_, errOut, code = runCLI(t, env, "tail", "some-event-id", "--timeout", "2500ms", "--otlp-http", "off", "--otlp-grpc", "off")
	if code != exitPartial || !strings.Contains(errOut, "dlq: ") || !strings.Contains(errOut, "cannot reach the endpoint") {
		t.Errorf("tail: exit %d (want %d), %q", code, exitPartial, errOut)
	}
}
