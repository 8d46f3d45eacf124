// Command obslint checks that a Node.js or Python service's metrics, logs and
// traces follow the conventions of its stack. This package is flags and
// wiring only: capture, judging and reporting live in the packages it calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
	"github.com/obslint/obslint/internal/runner"
)

// Exit codes (DESIGN.md, "Contracts users rely on").
const (
	exitOK       = 0 // no finding at or above --fail-on
	exitFindings = 1 // findings at or above --fail-on
	exitError    = 2 // usage, configuration or capture error
)

// version is set at release time: -ldflags "-X main.version=v1.2.3".
var version = ""

// errFindings ends a command that ran fine but found problems at or above
// --fail-on; it maps to exitFindings and prints nothing more.
var errFindings = errors.New("findings at or above --fail-on")

// app is one invocation: its streams, clock, catalogue and capture, so
// tests can drive it whole.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
	getenv         func(string) string
	rules          func() []*checks.Rule
	capture        func(context.Context, runner.Settings) (*runner.Capture, error)
	auditCapture   func(context.Context, runner.AuditSettings) (*runner.Capture, error)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now, getenv: os.Getenv,
		rules: catalogue.All, capture: runner.Run, auditCapture: runner.Audit}
}

// memoryLimit is the heap size past which the garbage collector works
// harder rather than let the heap double (GOGC): a huge scrape or log
// stream then peaks near it instead of at twice its live data. GOMEMLIMIT
// overrides it.
const memoryLimit = 384 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes obslint with args and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newApp(stdin, stdout, stderr).execute(args)
}

func (a *app) execute(args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.Execute()
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errFindings):
		return exitFindings
	}
	// Joined errors print one per line, each marked as obslint's.
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(a.stderr, "obslint: %s\n", line)
	}
	return exitError
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "obslint",
		Short: "Check a service's metrics, logs and traces against the conventions of its stack",
		Long: "obslint probes a Node.js or Python web service (or reads recorded telemetry) and reports,\n" +
			"like a linter, whether its Prometheus metrics, JSON logs and OpenTelemetry traces follow\n" +
			"the conventions of its stack, and whether the three signals agree.\n\n" +
			"Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage, config or capture error.",
		SilenceErrors: true,
		SilenceUsage:  true,
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true,
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nrun '%s --help' for usage", err, c.CommandPath())
	})
	root.AddCommand(a.versionCommand(), a.rulesCommand(), a.explainCommand(), a.lintCommand(), a.runCommand())
	root.AddCommand(a.initCommand(), a.baselineCommand())
	root.AddCommand(a.auditCommand())
	root.AddCommand(a.collectorCommand())
	return root
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the obslint version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(a.stdout, "obslint %s\n", toolVersion())
			return err
		},
	}
}

// toolVersion is the release version, else the module version `go install`
// recorded, else "dev".
func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
