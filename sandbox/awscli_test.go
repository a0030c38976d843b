package sandbox

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAWSCLI drives the sandbox with the AWS CLI, as a user pointing their own
// tools at `flowtop sandbox` would: list queues and log groups, filter REPORT
// lines, get trace summaries. make test-deps installs Debian's awscli.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sandbox world and the AWS CLI")
	}
	aws, ok := lookTool(t, "aws", "awscli")
	if !ok {
		t.Skip("the AWS CLI is not installed (make test-deps installs Debian's awscli)")
	}
	ctx := context.Background()
	sb, err := Start(ctx, Config{World: WorldConfig{Rate: 20, Seed: 4}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	env := append(os.Environ(), sb.Env()...)
	env = append(env, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, aws, append([]string{"--endpoint-url", sb.URL(), "--region", Region, "--output", "json"}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	time.Sleep(3 * time.Second) // let the world write some logs and traces
	if out := cli("sqs", "list-queues"); !strings.Contains(out, "billing-dlq") || !strings.Contains(out, "email-queue") {
		t.Errorf("list-queues: %s", out)
	}
	if out := cli("logs", "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/"); !strings.Contains(out, "/aws/lambda/charge-card") {
		t.Errorf("describe-log-groups: %s", out)
	}
	if out := cli("logs", "filter-log-events", "--log-group-name", "/aws/lambda/orders-api", "--filter-pattern", "REPORT"); !strings.Contains(out, "Billed Duration") {
		t.Errorf("filter-log-events: %s", out)
	}
	now := time.Now().Unix()
	if out := cli("xray", "get-trace-summaries", "--start-time", strconv.FormatInt(now-60, 10), "--end-time", strconv.FormatInt(now+5, 10)); !strings.Contains(out, `"Id": "1-`) {
		t.Errorf("get-trace-summaries: %s", out)
	}
}
