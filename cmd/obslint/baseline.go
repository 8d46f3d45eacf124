package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/obslint/obslint/internal/baseline"
)

// DefaultBaselineFile is where `obslint baseline write` writes by default.
const DefaultBaselineFile = "obslint-baseline.json"

func (a *app) baselineCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "baseline",
		Short: "Record the current findings as accepted debt, so CI fails only on new ones",
		Long: "A baseline lists findings by rule and subject. With --baseline FILE, run and lint report\n" +
			"findings in it as baselined (they do not fail the run) and entries no longer found as\n" +
			"stale (they do, at --stale-baseline severity), so the file can only shrink.",
	}
	cmd.AddCommand(a.baselineWriteCommand())
	return cmd
}

func (a *app) baselineWriteCommand() *cobra.Command {
	var from, out string
	cmd := &cobra.Command{
		Use:   "write --from REPORT.json [--output FILE]",
		Short: "Write a baseline from a JSON report (run or lint with --output json=FILE)",
		Example: "  obslint run --output json=report.json -- node server.js\n" +
			"  obslint baseline write --from report.json\n" +
			"  obslint run --baseline " + DefaultBaselineFile + " -- node server.js",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return a.baselineWrite(from, out) },
	}
	cmd.Flags().StringVar(&from, "from", "", "JSON report to record, - for standard input (required)")
	cmd.Flags().StringVarP(&out, "output", "o", DefaultBaselineFile, "baseline file to write, - for standard output")
	return cmd
}

func (a *app) baselineWrite(from, out string) error {
	if from == "" {
		return errors.New("--from: give the JSON report to record, e.g. --from report.json (write one with --output json=report.json)")
	}
	var r io.Reader = a.stdin
	name := "standard input"
	if from != "-" {
		f, err := os.Open(from)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		defer f.Close()
		r, name = f, from
	}
	b, err := baseline.FromReport(name, r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := baseline.Write(&buf, b); err != nil {
		return err
	}
	if out == "-" {
		_, err := a.stdout.Write(buf.Bytes())
		return err
	}
	if err := writeFileAtomic(out, buf.Bytes()); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	fmt.Fprintf(a.stderr, "obslint: wrote %d baseline entries to %s\n", len(b.Entries), out)
	return nil
}

// writeFileAtomic writes through a temporary file in the same directory, so
// an interrupted write never leaves half a file that a later run reads.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
