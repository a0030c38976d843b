// Command flowtop is `top` for event-driven systems on AWS: a live console over
// CloudWatch Logs, X-Ray, OTLP and SQS dead-letter queues, and the commands to
// follow one event, print its lineage, cost out functions and redrive DLQs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// Set by the linker for releases (-ldflags "-X main.version=v1.2.3 -X
// main.commit=… -X main.date=…"); empty ones are read from the build info.
var (
	version = ""
	commit  = ""
	date    = ""
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// app holds what every subcommand shares: the resolved configuration and the
// process's streams and environment (never read from os directly below main).
type app struct {
	cfg     Config
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	getenv  func(string) string
	isTTY   bool
	args    []string // the command line, for the log
	cfgPath string
	flags   *pflag.FlagSet
	record  string // --record: the flight recorder's file
	render  string // --render: the svg renderer (picture.go)
}

// run is main without os.Exit, for tests.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The console needs a terminal on both sides: `tail ID > /dev/null` or
	// `< /dev/null` prints NDJSON instead (a character device is no terminal).
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, isTTY: isTerminal(stdout) && isTerminal(stdin), args: args}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		slog.Error("command failed", tracing.LogKeyError, err.Error())
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return exitOK // Ctrl-C on a live command is how users stop it
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "flowtop: ") {
			msg = "flowtop: " + msg
		}
		fmt.Fprintln(stderr, tracing.Sanitize(msg, true)) // errors quote IDs and bodies from AWS
		return exitCode(err)
	}
	return exitOK
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "flowtop",
		Short: "top for event-driven systems on AWS",
		Long: `flowtop watches events move through producers, brokers (EventBridge, SNS, SQS) and
consumers (Lambda): which failed, where, how slow, what they cost. Follow one event
hop by hop with its logs and spans; redrive what died in a dead-letter queue.

With no arguments it opens the live console over your configured AWS account and
region (the SDK's default chain: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, SSO).
Try it without AWS: flowtop demo.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.resolveConfig(cmd)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runConsole(cmd.Context())
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageErrorf("%v (see --help)", err)
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.cfgPath, "config", "", "config file (default "+DefaultConfigPath()+")")
	pf.String("profile", "", "AWS shared config profile (default: AWS_PROFILE or the default profile); a,b watches several at once")
	pf.String("region", "", "AWS region (default: AWS_REGION or the profile's region); x,y watches several at once")
	pf.String("endpoint-url", "", "AWS-compatible endpoint (LocalStack, moto, flowtop sandbox); default AWS_ENDPOINT_URL")
	pf.Bool("read-only", false, "refuse every action that changes anything (redrive, replay)")
	pf.String("log-file", "", "write flowtop's own logs here (the console owns the terminal)")
	pf.Bool("debug", false, "log more detail to --log-file")
	pf.String("otlp-grpc", "", "OTLP/gRPC listen address, or off (default 127.0.0.1:4317)")
	pf.String("otlp-http", "", "OTLP/HTTP listen address, or off (default 127.0.0.1:4318)")
	pf.StringSlice("log-group", nil, "log groups to watch (default: the Lambda functions' own)")
	pf.StringSlice("correlation", nil, "extra event keys in app logs and bodies, e.g. order_id or detail.orderId")
	pf.Int("max-events", 0, "events held in memory before the oldest are evicted (default 200000)")
	pf.String("memory", "", "memory budget for everything flowtop holds, e.g. 512MiB or 2GiB (default 512MiB)")
	pf.StringVar(&a.record, "record", "", "record every observation to this file, to open later (flowtop open FILE)")
	a.flags = pf

	root.AddCommand(
		a.demoCommand(),
		a.sandboxCommand(),
		a.tailCommand(),
		a.lineageCommand(),
		a.costCommand(),
		a.dlqCommand(),
		a.sfnCommand(),
		a.replayCommand(),
		a.versionCommand(),
		a.openCommand(),
		a.mapCommand(),
	)
	root.InitDefaultCompletionCmd()
	return root
}

// resolveConfig applies file < environment < flags, validates, and opens the log.
func (a *app) resolveConfig(cmd *cobra.Command) error {
	cfg := NewDefaultConfig()
	path, optional := a.cfgPath, false
	if path == "" {
		path = a.getenv("FLOWTOP_CONFIG")
	}
	if path == "" {
		path, optional = DefaultConfigPath(), true
	}
	if path != "" {
		if err := LoadConfigFile(&cfg, path, optional); err != nil {
			return err
		}
	}
	if err := ApplyEnv(&cfg, a.getenv); err != nil {
		return err
	}
	f := cmd.Flags()
	if f.Changed("profile") || f.Changed("region") {
		cfg.Contexts = nil // what the command line names beats the file's contexts
	}
	if f.Changed("profile") {
		cfg.Profile, _ = f.GetString("profile")
	}
	if f.Changed("region") {
		cfg.Region, _ = f.GetString("region")
	}
	if f.Changed("endpoint-url") {
		cfg.EndpointURL, _ = f.GetString("endpoint-url")
	}
	if f.Changed("read-only") {
		cfg.ReadOnly, _ = f.GetBool("read-only")
	}
	if f.Changed("log-file") {
		cfg.LogFile, _ = f.GetString("log-file")
	}
	if f.Changed("debug") {
		cfg.Debug, _ = f.GetBool("debug")
	}
	if f.Changed("otlp-grpc") {
		cfg.Sources.OTLPGRPC, _ = f.GetString("otlp-grpc")
	}
	if f.Changed("otlp-http") {
		cfg.Sources.OTLPHTTP, _ = f.GetString("otlp-http")
	}
	if f.Changed("log-group") {
		cfg.Sources.LogGroups, _ = f.GetStringSlice("log-group")
	}
	if f.Changed("correlation") {
		cfg.Correlation, _ = f.GetStringSlice("correlation")
	}
	if f.Changed("max-events") {
		cfg.MaxEvents, _ = f.GetInt("max-events")
	}
	if f.Changed("memory") {
		v, _ := f.GetString("memory")
		b, err := graph.ParseBudget(v)
		if err != nil {
			return usageErrorf("--memory: %v", err)
		}
		cfg.Memory = b
	}
	for _, addr := range []*string{&cfg.Sources.OTLPGRPC, &cfg.Sources.OTLPHTTP} {
		if *addr == "off" {
			*addr = ""
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	a.cfg = cfg
	if a.getenv("GOMEMLIMIT") == "" {
		// The collector keeps the heap inside the budget too, not only the
		// counted bytes at the door; GOMEMLIMIT still wins when set.
		debug.SetMemoryLimit(cfg.Memory.Bytes())
	}
	return a.openLog()
}

// openLog sends slog to --log-file; without one, logs are discarded, because
// the console owns the terminal and the CLI's stderr is for errors only.
func (a *app) openLog() error {
	level := slog.LevelInfo
	if a.cfg.Debug {
		level = slog.LevelDebug
	}
	if a.cfg.LogFile == "" {
		slog.SetDefault(slog.New(slog.DiscardHandler))
		return nil
	}
	f, err := os.OpenFile(a.cfg.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return usageErrorf("log file: %v", err)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: level})))
	slog.Info("flowtop start", tracing.LogKeyVersion, versionLine(), tracing.LogKeyCommand, strings.Join(a.args, " "))
	return nil
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print flowtop's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.WriteString(a.stdout, versionText(buildInfo()))
			return err
		},
	}
}

// buildVersion is what `flowtop version` prints: the module version, the VCS
// commit and time the binary was built from, and the Go version.
type buildVersion struct {
	Version, Module, Commit, Date, Go string
	Modified                          bool
}

// buildInfo reads the build info; linker overrides win.
func buildInfo() buildVersion {
	v := buildVersion{Version: version, Commit: commit, Date: date, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v.Module = bi.Main.Path
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			v.Go = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				if v.Date == "" {
					v.Date = s.Value
				}
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	if v.Module == "" {
		v.Module = "github.com/flowtop/flowtop"
	}
	return v
}

func versionText(v buildVersion) string {
	unknown := func(s string) string {
		if s == "" {
			return "unknown (built without VCS information)"
		}
		return s
	}
	c := unknown(v.Commit)
	if v.Modified {
		c += " (with local changes)"
	}
	return fmt.Sprintf("flowtop %s\n  module  %s\n  commit  %s\n  built   %s\n  go      %s\n", v.Version, v.Module, c, unknown(v.Date), v.Go)
}

// versionLine is the version in one line, for the log.
func versionLine() string {
	v := buildInfo()
	return strings.TrimSpace(v.Version + " " + v.Commit + " " + v.Go)
}

// isTerminal reports whether v is a terminal: an *os.File (or anything with a
// file descriptor) for which isatty holds. A character device such as
// /dev/null is not one.
func isTerminal(v any) bool {
	f, ok := v.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(f.Fd())
}
