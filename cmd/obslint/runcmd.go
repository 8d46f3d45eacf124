package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/offline"
	"github.com/obslint/obslint/internal/progress"
	"github.com/obslint/obslint/internal/runner"
)

type runFlags struct {
	judgeFlags
	url, metricsPath, metricsURL, ready string
	probes                              []string
	timeout                             time.Duration
	noProgress                          bool
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
	fs.StringVar(&f.url, "url", "", "the service's base URL (default http://127.0.0.1:$PORT with a free port)")
	fs.StringVar(&f.metricsPath, "metrics-path", config.DefaultMetricsPath, "metrics path under --url")
	fs.StringVar(&f.metricsURL, "metrics-url", "", "full metrics URL, when not under --url")
	fs.StringVar(&f.ready, "ready", "", "path or URL that answers 2xx once the service is ready (default: the metrics URL)")
	fs.StringArrayVar(&f.probes, "probe", nil, "extra probe: 'METHOD /path [route=/template] [status=N] [header=Name:Value]' (repeatable)")
	fs.DurationVar(&f.timeout, "timeout", config.DefaultTimeout, "bound on the whole run")
	fs.BoolVar(&f.noProgress, "no-progress", false, "do not show the phase display on standard error")
	f.register(cmd)
	return cmd
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

	started := a.now()
	var display *progress.Display
	if !f.noProgress {
		display = progress.New(a.stderr, progress.IsTerminal(a.stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeouts.Total.Duration)
	defer cancel()
	capture, err := a.capture(ctx, runner.Settings{
		Config: cfg, Command: cfg.Command, Dir: dir, Limits: offline.DefaultLimits, Progress: display.Phase,
	})
	display.Done()
	switch {
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w (--timeout %s)", err, cfg.Timeouts.Total.Duration)
	case err != nil:
		return err
	case capture == nil || capture.Evidence == nil:
		return errors.New("the run gathered no evidence")
	}
	return a.report(a.judge(capture.Evidence, p, started, capture.Timings), p)
}

// merge lays the flags the user gave over the config file and checks the
// result as a whole.
func (f *runFlags) merge(cmd *cobra.Command, cfg config.Config, args []string) (config.Config, error) {
	changed := cmd.Flags().Changed
	if len(args) > 0 {
		cfg.Command = args
	}
	if len(cfg.Command) == 0 {
		return cfg, errors.New("no command to run: give it after --, e.g. obslint run -- node server.js, or set command in " + config.FileName)
	}
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

// parseProbe reads a --probe value: `GET /users/42 route=/users/:id
// status=200`. The method may be left out (GET), the keys come in any order.
func parseProbe(s string) (config.Probe, error) {
	bad := func(format string, args ...any) (config.Probe, error) {
		return config.Probe{}, fmt.Errorf("--probe %q: %s", s, fmt.Sprintf(format, args...))
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return bad("empty; want 'METHOD /path [route=/template] [status=N]'")
	}
	p := config.Probe{Method: "GET"}
	if !strings.HasPrefix(fields[0], "/") {
		if !isToken(fields[0]) {
			return bad("%q is not an HTTP method", fields[0])
		}
		p.Method, fields = strings.ToUpper(fields[0]), fields[1:]
	}
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "/") {
		return bad("the path must follow the method and start with /")
	}
	p.Path = fields[0]
	for _, kv := range fields[1:] {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok || v == "":
			return bad("%q: want key=value", kv)
		case k == "route":
			if !strings.HasPrefix(v, "/") {
				return bad("route %q must start with /", v)
			}
			p.Route = v
		case k == "status":
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 || n > 599 {
				return bad("status %q is not an HTTP status", v)
			}
			p.Status = n
		case k == "header":
			name, val, ok := strings.Cut(v, ":")
			if !ok || !isToken(name) {
				return bad("header %q: want Name:Value", v)
			}
			if p.Headers == nil {
				p.Headers = map[string]string{}
			}
			p.Headers[name] = val
		default:
			return bad("unknown key %q (want route=, status= or header=)", k)
		}
	}
	return p, nil
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), as methods
// and header names are.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}
