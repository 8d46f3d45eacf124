package main

import (
	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/otelcol"

	"github.com/obslint/obslint/collector/distro"
)

// collectorCommand is the `obslint collector` distribution: otelcol's own
// command (--config, --set, --feature-gates and the validate, components,
// featuregate and print-config subcommands) under obslint's name. The process
// is a collector, so SIGINT and SIGTERM shut it down gracefully.
func (a *app) collectorCommand() *cobra.Command {
	c := otelcol.NewCommand(distro.Settings(toolVersion()))
	c.Use = "collector"
	c.Short = "Run an OpenTelemetry Collector that judges the telemetry passing through it"
	c.Long = "obslint collector is an OpenTelemetry Collector distribution: the otlp, prometheus and filelog\n" +
		"receivers, the batch processor, the debug, nop, otlp and otlphttp exporters, and obslint's\n" +
		"conformance processor and connector, which judge each service's telemetry with the same rules\n" +
		"as `obslint run` and export the findings as log records, as the obslint_findings metric and on\n" +
		"an HTTP /report endpoint. See docs/collector.md.\n\n" +
		"  obslint collector --config obslint-collector.yaml\n" +
		"  obslint collector validate --config obslint-collector.yaml\n" +
		"  obslint collector components"
	c.Example = ""
	c.Version = ""
	return c
}
