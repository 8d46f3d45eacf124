package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// collectorBinary is the collector distribution's own binary (see
// cmd/obslint-collector): obslint stays small, and `obslint collector`
// hands over to it.
const collectorBinary = "obslint-collector"

// collectorCommand runs the collector distribution: `obslint collector ARGS`
// replaces this process with obslint-collector ARGS, found next to obslint or
// on PATH, so its signals and exit code are the collector's own.
func (a *app) collectorCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "collector [--config FILE | validate --config FILE | components]",
		Short: "Run an OpenTelemetry Collector that judges the telemetry passing through it",
		Long: "obslint collector runs obslint-collector, an OpenTelemetry Collector distribution with\n" +
			"obslint's conformance processor and connector (see docs/collector.md). It is installed\n" +
			"beside obslint: go install github.com/obslint/obslint/cmd/obslint-collector@VERSION, or\n" +
			"make build-collector. All arguments go to it; obslint collector --help shows its own.",
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			bin, err := findCollector()
			if err != nil {
				return err
			}
			return syscall.Exec(bin, append([]string{bin}, args...), os.Environ())
		},
	}
}

// findCollector looks beside the running obslint first, then on PATH.
func findCollector() (string, error) {
	if self, err := os.Executable(); err == nil {
		sibling := filepath.Join(filepath.Dir(self), collectorBinary)
		if fi, err := os.Stat(sibling); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return sibling, nil
		}
	}
	if bin, err := exec.LookPath(collectorBinary); err == nil {
		return bin, nil
	}
	return "", errors.New("obslint collector needs the " + collectorBinary + " binary beside obslint or on PATH: " +
		"go install github.com/obslint/obslint/cmd/obslint-collector@VERSION (the version of obslint), or make build-collector")
}
