package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/jaeger"
	"github.com/obslint/obslint/internal/limits"
	"github.com/obslint/obslint/internal/logsrc"
	"github.com/obslint/obslint/internal/receiver"
)

// AuditSettings is one `obslint audit` of a service that is already running.
type AuditSettings struct {
	// Config gives the URL (required), the metrics URL or path, the probe
	// plan, expectations and timeouts.
	Config config.Config
	Limits limits.Limits
	// Progress is told each phase; may be nil.
	Progress func(phase string)

	// Logs is a file to follow, "-" for Stdin, "" for no log stream.
	Logs string
	// LogsFromStart reads the whole file, not only what is written during
	// the audit.
	LogsFromStart bool
	Stdin         io.Reader

	// OTLP starts the embedded receiver on OTLPGRPC and OTLPHTTP (host:port;
	// "" takes the conventional port when free, else a free one).
	OTLP               bool
	OTLPGRPC, OTLPHTTP string
	// Jaeger is a Jaeger query address to pull the probes' traces from.
	Jaeger    string
	JaegerAPI jaeger.API
	// Service keeps only OTLP data (and Jaeger spans) whose resource
	// service.name is this, for a collector or a trace that carries several
	// services.
	Service string
}

// logSettle is how long the audit keeps reading logs after the span wait,
// for lines the service or its log shipper writes a moment late.
const logSettle = 300 * time.Millisecond

// Audit probes and scrapes a running service and gathers its logs and
// traces. It sends nothing to the service but the probe plan and the
// metrics scrapes, and never stops it. What cannot be had (Jaeger down, a
// trace that never arrives, a rotated log file) is a Problem, and the rest
// is still judged; only a service that is not there at all, or a source
// that cannot be opened, is an ErrCapture.
func Audit(ctx context.Context, s AuditSettings) (*Capture, error) {
	cfg := s.Config
	if s.Limits == (limits.Limits{}) {
		s.Limits = limits.Default
	}
	probeTimeout := cmp.Or(cfg.Timeouts.Probe.Duration, config.DefaultProbeTimeout)
	ph := newPhases(s.Progress)

	if cfg.URL == "" {
		return nil, fmt.Errorf("%w: no URL to audit: give --url or url: in %s", ErrCapture, config.FileName)
	}
	base, _, err := serviceURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCapture, err)
	}
	metricsURL := metricsURLFor(cfg, base)
	if s.OTLP && s.Jaeger != "" {
		return nil, fmt.Errorf("%w: give one trace source: --otlp-listen or --jaeger", ErrCapture)
	}
	d := &driver{
		cfg: cfg, lim: s.Limits, base: base, metricsURL: metricsURL, ph: ph,
		ev: &checks.Evidence{
			Target:   checks.Target{URL: base, MetricsURL: metricsURL, Service: s.Service, Shared: true},
			Expect:   cfg.Expect.Expectations(),
			Captured: checks.Captured{Probes: true, Metrics: true},
		},
		target:    running{base: base, timeout: probeTimeout},
		logSettle: logSettle, stopPhase: "logs", service: s.Service,
	}

	// Sources first: bad input fails before anything is sent to the service.
	logs, err := openLogs(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCapture, err)
	}
	if logs != nil {
		d.logs = followed{logs}
	}
	switch {
	case s.OTLP:
		ph.say("starting OTLP receiver")
		recv, err := receiver.Start(ctx, receiver.Options{GRPCAddr: s.OTLPGRPC, HTTPAddr: s.OTLPHTTP})
		if err != nil {
			if logs != nil {
				logs.Stop()
			}
			return nil, fmt.Errorf("%w: --otlp-listen: %v", ErrCapture, err)
		}
		d.traces = received{recv: recv, hint: true}
	case s.Jaeger != "":
		ph.say("connecting to Jaeger %s", s.Jaeger)
		jc, err := jaeger.New(s.Jaeger, jaeger.Options{API: s.JaegerAPI, DialTimeout: probeTimeout})
		if err != nil {
			// Judge everything else: the trace rules come out not evaluated.
			d.ev.Problems = append(d.ev.Problems, checks.Problem{Phase: "traces", Message: fmt.Sprintf("Jaeger at %s: %v; trace and correlation rules that need spans are not evaluated", s.Jaeger, err)})
			d.ev.Captured.TraceSource = "Jaeger at " + s.Jaeger // attached but not readable: see checks.Run
			break
		}
		d.traces = &fetched{jc: jc, addr: s.Jaeger, maxSpan: s.Limits.MaxSpans}
	}
	return d.capture(ctx)
}

func openLogs(s AuditSettings) (*logsrc.Reader, error) {
	opt := logsrc.Options{MaxLineBytes: s.Limits.MaxLineBytes, MaxLines: s.Limits.MaxLines, FromStart: s.LogsFromStart}
	switch s.Logs {
	case "":
		return nil, nil
	case "-":
		if s.Stdin == nil {
			return nil, errors.New("--logs -: no standard input")
		}
		return logsrc.Stdin(s.Stdin, opt), nil
	}
	return logsrc.File(s.Logs, opt)
}

// reachable connects to the service's port once, sending nothing: a service
// that is not there at all is a clear error in a second, not a report of
// failed probes.
func reachable(ctx context.Context, base string, timeout time.Duration) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	d := net.Dialer{Timeout: min(timeout, 5*time.Second)}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("connection refused on %s", host)
		}
		return err
	}
	return c.Close()
}

// judgeable fails when neither a probe nor a scrape got an answer: the
// service went away between the connect and the probes.
func judgeable(ev *checks.Evidence, base string) error {
	for _, p := range ev.Probes {
		if p.Status != 0 {
			return nil
		}
	}
	for _, s := range ev.Scrapes {
		if s.Err == "" {
			return nil
		}
	}
	var why []string
	for _, p := range ev.Probes {
		why = append(why, p.Subject()+": "+p.Err)
	}
	return fmt.Errorf("%s answered no probe and no scrape:\n  %s", base, strings.Join(why, "\n  "))
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
