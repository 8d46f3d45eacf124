package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obslint/obslint/bundle"
)

type lintFlags struct {
	judgeFlags
	files    bundle.Files
	evidence string
}

func (a *app) lintCommand() *cobra.Command {
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint [--metrics FILE|-]... [--logs FILE|-] [--traces FILE|-] [--probes FILE] | --evidence DIR",
		Short: "Check recorded telemetry: expositions, log files, OTLP JSON traces or an evidence bundle",
		Example: "  curl -s localhost:3000/metrics | obslint lint --metrics -\n" +
			"  obslint lint --metrics before.prom --metrics after.prom --logs app.log --traces traces.json\n" +
			"  obslint lint --evidence ./evidence --format json --output json=report.json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.lint(cmd, &f) },
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&f.files.Metrics, "metrics", nil, "Prometheus or OpenMetrics exposition, - for stdin (repeatable: scrapes in order)")
	fs.StringVar(&f.files.Logs, "logs", "", "log lines as the service wrote them, - for stdin")
	fs.StringVar(&f.files.Traces, "traces", "", "OTLP JSON traces, - for stdin")
	fs.StringVar(&f.files.Probes, "probes", "", "probes.json recorded by a run")
	fs.StringVar(&f.evidence, "evidence", "", "directory of recorded evidence (run --save-evidence, or a fixture case)")
	f.register(cmd)
	return cmd
}

func (a *app) lint(cmd *cobra.Command, f *lintFlags) error {
	p, err := a.resolve(cmd, &f.judgeFlags)
	if err := errors.Join(err, f.checkInputs()); err != nil {
		return err
	}
	var in *bundle.Input
	if f.evidence != "" {
		in, err = bundle.OpenDir(f.evidence, p.limits)
	} else {
		in, err = bundle.Open(f.files, p.limits, a.stdin)
	}
	if err != nil {
		return fmt.Errorf("cannot read evidence: %w", err)
	}
	res, err := a.judge(in.Evidence, in.Spans, in.Judge, p, a.now(), nil)
	if err != nil {
		return err
	}
	return a.report(res, p)
}

// checkInputs rejects input combinations Load cannot honour.
func (f *lintFlags) checkInputs() error {
	named := f.files.Logs != "" || f.files.Traces != "" || f.files.Probes != "" || len(f.files.Metrics) > 0
	switch {
	case f.evidence != "" && named:
		return errors.New("--evidence cannot be combined with --metrics, --logs, --traces or --probes")
	case f.evidence == "" && !named:
		return errors.New("nothing to lint: give --metrics, --logs, --traces, --probes or --evidence")
	case f.files.Probes == "-":
		return errors.New("--probes reads a file, not standard input")
	}
	var stdin []string
	for _, m := range f.files.Metrics {
		if m == "-" {
			stdin = append(stdin, "--metrics")
		}
	}
	if f.files.Logs == "-" {
		stdin = append(stdin, "--logs")
	}
	if f.files.Traces == "-" {
		stdin = append(stdin, "--traces")
	}
	if len(stdin) > 1 {
		return fmt.Errorf("at most one input may be - (standard input); got %s", strings.Join(stdin, ", "))
	}
	return nil
}
