// Command obslint-collector is obslint's OpenTelemetry Collector
// distribution: the otlp, prometheus and filelog receivers, the batch
// processor, the debug, nop, otlp and otlphttp exporters, and the
// conformance processor and connector. `obslint collector ARGS` runs it.
//
// It is a binary of its own so that obslint, which CI jobs build and start
// on every run, does not carry the collector, the Prometheus scrape stack and
// their cloud SDKs (a 5x larger binary and minutes more of cold compile).
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/otelcol"

	"github.com/obslint/obslint/collector/distro"
)

// version is set at release time: -ldflags "-X main.version=v1.2.3".
var version = ""

func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the collector command with args and returns the exit code:
// 0, or 2 for any error (a bad config, a port in use), as obslint's own.
func run(args []string, stdout, stderr io.Writer) int {
	c := command()
	c.SetArgs(args)
	c.SetOut(stdout)
	c.SetErr(stderr)
	if err := c.Execute(); err != nil {
		for line := range strings.SplitSeq(err.Error(), "\n") {
			if line != "" {
				fmt.Fprintf(stderr, "obslint collector: %s\n", line)
			}
		}
		return 2
	}
	return 0
}

// command is otelcol's own command (--config, --set, --feature-gates and the
// validate, components, featuregate and print-config subcommands) under
// obslint's name. The process is a collector, so SIGINT and SIGTERM shut it
// down gracefully.
func command() *cobra.Command {
	c := otelcol.NewCommand(distro.Settings(toolVersion()))
	c.Use = "obslint collector"
	c.Short = "Run an OpenTelemetry Collector that judges the telemetry passing through it"
	c.Long = collectorLong
	c.Example = ""
	c.Version = ""
	c.SilenceUsage = true
	c.SilenceErrors = true
	return c
}

const collectorLong = "obslint collector is an OpenTelemetry Collector distribution: the otlp, prometheus and filelog\n" +
	"receivers, the batch processor, the debug, nop, otlp and otlphttp exporters, and obslint's\n" +
	"conformance processor and connector, which judge each service's telemetry with the same rules\n" +
	"as `obslint run` and export the findings as log records, as the obslint_findings metric and on\n" +
	"an HTTP /report endpoint. See docs/collector.md.\n\n" +
	"  obslint collector --config obslint-collector.yaml\n" +
	"  obslint collector validate --config obslint-collector.yaml\n" +
	"  obslint collector components"
