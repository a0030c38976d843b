package sandbox

import (
	"os"
	"os/exec"
	"testing"
)

// lookTool finds an outside program that a test drives (the AWS CLI, Graphviz's
// dot, jq). When it is missing, outside CI the test logs why and carries on
// without the check it serves (ok is false); under CI=true the test fails, so
// that CI never skips a check silently. make test-deps installs them.
func lookTool(t *testing.T, name, pkg string) (path string, ok bool) {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path, true
	}
	switch os.Getenv("CI") {
	case "", "false", "FALSE", "0":
		t.Logf("%s is not installed: its checks are skipped (make test-deps installs Debian's %s)", name, pkg)
		return "", false
	}
	t.Fatalf("CI=true but %s is not installed (make test-deps installs Debian's %s)", name, pkg)
	return "", false
}
