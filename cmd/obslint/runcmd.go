package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/obslint/obslint/bundle"
	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/probe"
	"github.com/obslint/obslint/internal/progress"
	"github.com/obslint/obslint/internal/runner"
)

type runFlags struct {
	judgeFlags
	url, metricsPath, metricsURL, ready  string
	probes                               []string
	timeout                              time.Duration
	readyTimeout, spanWait, probeTimeout time.Duration
	grace                                time.Duration
	noProgress                           bool
	saveEvidence                         string
}

func (a *app) runCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [flags] -- CMD [ARGS...]",
		Short: "Launch a service, probe it, scrape it, collect its logs and traces, and judge them",
		Example: "  obslint run -- node server.js\n" +
			"  obslint run --probe 'GET /users/42 route=/users/:id status=200' -- uvicorn app:app --port 8000",
		RunE: func(cmd *cobra.Command, args []string) error { return a.run(cmd, &f, args) },
	}
	fs := cmd.Flags()
	// Everything after the command's first word belongs to the command.
	fs.SetInterspersed(false)
	f.registerCapture(cmd, "the service's base URL (default http://127.0.0.1:$PORT with a free port)",
		"bound on the whole run", "how long to wait for the probes' spans to arrive")
	fs.StringVar(&f.ready, "ready", "", "path or URL that answers 2xx once the service is ready (default: the metrics URL)")
	fs.DurationVar(&f.readyTimeout, "ready-timeout", config.DefaultReadyTimeout, "how long the service may take to get ready")
	fs.DurationVar(&f.grace, "grace", config.DefaultGrace, "how long the service may take to exit after SIGTERM before SIGKILL")
	return cmd
}

// registerCapture registers the flags run and audit share (and the judging
// flags); the wording of --url, --timeout and --span-wait differs.
func (f *runFlags) registerCapture(cmd *cobra.Command, urlUsage, timeoutUsage, spanWaitUsage string) {
	fs := cmd.Flags()
	fs.StringVar(&f.url, "url", "", urlUsage)
	fs.StringVar(&f.metricsPath, "metrics-path", config.DefaultMetricsPath, "metrics path under --url")
	fs.StringVar(&f.metricsURL, "metrics-url", "", "full metrics URL, when not under --url")
	fs.StringArrayVar(&f.probes, "probe", nil, "extra probe: 'METHOD /path [route=/template] [status=N] [header=Name:Value] [body=REST]' (repeatable)")
	fs.DurationVar(&f.timeout, "timeout", config.DefaultTimeout, timeoutUsage)
	fs.DurationVar(&f.probeTimeout, "probe-timeout", config.DefaultProbeTimeout, "bound on each probe request and scrape")
	fs.DurationVar(&f.spanWait, "span-wait", config.DefaultSpanWait, spanWaitUsage)
	fs.BoolVar(&f.noProgress, "no-progress", false, "do not show the phase display on standard error")
	fs.StringVar(&f.saveEvidence, "save-evidence", "", "also save what was captured in DIR, for obslint lint --evidence DIR (see docs/audit.md)")
	f.register(cmd)
}

func (a *app) run(cmd *cobra.Command, f *runFlags, args []string) error {
	p, err := a.resolve(cmd, &f.judgeFlags)
	if err != nil {
		return err
	}
	cfg, err := f.merge(cmd, p.cfg, args)
	if err != nil {
		return err
	}
	cfg.Profile = p.profile
	p.cfg = cfg
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	return a.captureAndJudge(f, p, "run", func(ctx context.Context, progress func(string)) (*runner.Capture, error) {
		return a.capture(ctx, runner.Settings{Config: cfg, Command: cfg.Command, Dir: dir, Limits: p.limits, Progress: progress})
	})
}

// captureAndJudge runs one capture (run or audit) under the phase display,
// SIGINT/SIGTERM and --timeout, then judges and reports it.
func (a *app) captureAndJudge(f *runFlags, p plan, what string, capture func(context.Context, func(string)) (*runner.Capture, error)) error {
	started := a.now()
	var display *progress.Display
	if !f.noProgress {
		display = progress.New(a.stderr, progress.IsTerminal(a.stderr))
	}
	total := p.cfg.Timeouts.Total.Duration
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()
	c, err := capture(ctx, display.Phase)
	display.Done()
	switch {
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w (--timeout %s)", err, total)
	case err != nil:
		return err
	case c == nil || c.Evidence == nil:
		return fmt.Errorf("the %s gathered no evidence", what)
	}
	return a.verdict(c, p, started, f.saveEvidence)
}

// verdict judges a capture, saves it as an evidence bundle when asked
// (after judging, so the bundle records the resolved profile), and reports.
// A bundle that cannot be written fails the command once the report is out.
func (a *app) verdict(c *runner.Capture, p plan, started time.Time, saveDir string) error {
	var otlp, lines feed
	if c.OTLP != nil {
		otlp = c.OTLP.Judge
	}
	if c.Logs != nil {
		lines = c.Logs.Judge
	}
	res, err := a.judge(c.Evidence, otlp, lines, p, started, c.Timings)
	if err != nil {
		return err
	}
	var saveErr error
	if saveDir != "" {
		if c.Logs != nil {
			c.Evidence.Logs = c.Logs.Kept(p.limits.MaxLines)
		}
		if c.OTLP != nil {
			c.Evidence.Spans = c.OTLP.Kept(p.limits.MaxSpans)
			c.Evidence.LogRecords = c.OTLP.KeptRecords(p.limits.MaxLines)
		}
		if err := bundle.WriteDir(saveDir, c.Evidence); err != nil {
			saveErr = fmt.Errorf("--save-evidence: %w", err)
		}
	}
	reportErr := a.report(res, p)
	switch {
	case saveErr == nil:
		return reportErr
	case reportErr != nil && !errors.Is(reportErr, errFindings):
		return errors.Join(reportErr, saveErr)
	}
	return saveErr // exit 2 wins over findings: the bundle asked for is missing
}

// merge lays the flags the user gave over the config file and checks the
// result as a whole.
func (f *runFlags) merge(cmd *cobra.Command, cfg config.Config, args []string) (config.Config, error) {
	if len(args) > 0 {
		cfg.Command = args
	}
	if len(cfg.Command) == 0 {
		return cfg, errors.New("no command to run: give it after --, e.g. obslint run -- node server.js, or set command in " + config.FileName)
	}
	return f.mergeCapture(cmd, cfg)
}

// mergeCapture lays the flags run and audit share over the config file;
// flags a command does not define count as not given.
func (f *runFlags) mergeCapture(cmd *cobra.Command, cfg config.Config) (config.Config, error) {
	changed := cmd.Flags().Changed
	for flag, dst := range map[string]*string{"url": &cfg.URL, "metrics-url": &cfg.MetricsURL, "ready": &cfg.Ready} {
		if changed(flag) {
			*dst = cmd.Flags().Lookup(flag).Value.String()
		}
	}
	if changed("metrics-path") || cfg.MetricsPath == "" {
		cfg.MetricsPath = f.metricsPath
	}
	if changed("timeout") || cfg.Timeouts.Total.Duration <= 0 {
		cfg.Timeouts.Total.Duration = f.timeout
	}
	for flag, t := range map[string]struct {
		dst *time.Duration
		v   time.Duration
	}{
		"ready-timeout": {&cfg.Timeouts.Ready.Duration, f.readyTimeout},
		"probe-timeout": {&cfg.Timeouts.Probe.Duration, f.probeTimeout},
		"span-wait":     {&cfg.Timeouts.Spans.Duration, f.spanWait},
		"grace":         {&cfg.Timeouts.Grace.Duration, f.grace},
	} {
		if changed(flag) {
			*t.dst = t.v
		}
	}
	if cfg.Timeouts.Total.Duration <= 0 {
		return cfg, fmt.Errorf("--timeout: must be positive (got %s)", f.timeout)
	}
	var errs []error
	for _, s := range f.probes {
		pr, err := parseProbe(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cfg.Probes = append(cfg.Probes, pr)
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// parseProbe reads a --probe value with the prober's own parser:
// `GET /users/42 route=/users/:id status=200`. A body, which may hold
// spaces, comes last and takes the rest: `POST /orders body={"sku": "A-1"}`.
func parseProbe(s string) (config.Probe, error) {
	spec, body := s, ""
	if i := strings.Index(s, " body="); i >= 0 {
		spec, body = s[:i], s[i+len(" body="):]
		if body == "" {
			return config.Probe{}, fmt.Errorf("--probe %q: option \"body\": want body=CONTENT", s)
		}
	}
	sp, err := probe.ParseSpec(spec)
	if err != nil {
		return config.Probe{}, errors.New("--" + err.Error())
	}
	return config.Probe{Method: sp.Method, Path: sp.Path, Route: sp.Route, Status: sp.Status, Headers: sp.Headers, Body: body}, nil
}
