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
	"github.com/obslint/obslint/internal/scrape"
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
	t := cfg.Timeouts
	spanWait := cmp.Or(t.Spans.Duration, config.DefaultSpanWait)
	probeTimeout := cmp.Or(t.Probe.Duration, config.DefaultProbeTimeout)
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

	ev := &checks.Evidence{
		Target:   checks.Target{URL: base, MetricsURL: metricsURL, Service: s.Service, Shared: true},
		Expect:   cfg.Expect.Expectations(),
		Captured: checks.Captured{Probes: true, Metrics: true},
	}

	// Sources first: bad input fails before anything is sent to the service.
	logs, err := openLogs(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCapture, err)
	}
	if logs != nil {
		ev.Captured.Logs = true
		ev.Captured.LogSource = logs.Describe()
	}
	var stopped LogSource
	stopLogs := func() {
		if logs == nil {
			return
		}
		ev.Problems = append(ev.Problems, logs.Stop()...)
		stopped, logs = logs, nil
	}
	defer stopLogs()

	var recv *receiver.Receiver
	if s.OTLP {
		ph.say("starting OTLP receiver")
		recv, err = receiver.Start(ctx, receiver.Options{
			GRPCAddr: s.OTLPGRPC, HTTPAddr: s.OTLPHTTP,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: --otlp-listen: %v", ErrCapture, err)
		}
		defer shutdown(recv)
		ev.Captured.Traces = true
		ev.Captured.TraceSource = receiverSource(recv)
	}

	ph.say("connecting to %s", base)
	if err := reachable(ctx, base, probeTimeout); err != nil {
		return nil, fmt.Errorf("%w: nothing answers at %s: %v", ErrCapture, base, err)
	}

	var jc *jaeger.Client
	if s.Jaeger != "" {
		ph.say("connecting to Jaeger %s", s.Jaeger)
		jc, err = jaeger.New(s.Jaeger, jaeger.Options{API: s.JaegerAPI, DialTimeout: probeTimeout})
		if err != nil {
			// Judge everything else: the trace rules come out not evaluated.
			ev.Problems = append(ev.Problems, checks.Problem{Phase: "traces", Message: fmt.Sprintf("Jaeger at %s: %v; trace and correlation rules that need spans are not evaluated", s.Jaeger, err)})
			ev.Captured.TraceSource = "Jaeger at " + s.Jaeger // attached but not readable: see checks.Run
			jc = nil
		} else {
			defer func() { _ = jc.Close() }()
		}
	}
	ph.done("start")

	sopt := scrape.Options{Timeout: probeTimeout, MaxBytes: s.Limits.MaxScrapeBytes, Bodies: scrape.NewBodies()}
	if err := probeAndScrape(ctx, ev, cfg, base, metricsURL, sopt, probeTimeout, ph); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCapture, err)
	}
	if err := judgeable(ev, base); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCapture, err)
	}
	ids, answered := answeredTraceIDs(ev.Probes)

	var otlp *receiver.Received
	switch {
	case recv != nil:
		ph.say("waiting for spans of %d probes", len(ids))
		wctx, cancel := context.WithTimeout(ctx, spanWait)
		missing := recv.WaitForSpans(wctx, ids, answered, quietAfterSpans)
		cancel()
		otlp = takeReceived(ev, recv)
		if len(missing) > 0 {
			ev.Problems = append(ev.Problems, checks.Problem{Phase: "traces", Message: fmt.Sprintf("no SERVER span arrived within %s for %d of %d probe trace ids: is the service's OTLP exporter pointed at %s (or gRPC %s)? (its batch delay must be shorter than --span-wait)", spanWait, len(missing), len(ids), recv.HTTPEndpoint(), recv.GRPCEndpoint())})
		}
	case jc != nil:
		ph.say("fetching %d traces from Jaeger", len(ids))
		parents := map[string]string{}
		for _, p := range ev.Probes {
			if p.TraceID != "" && p.ParentSpanID != "" {
				parents[p.TraceID] = p.ParentSpanID
			}
		}
		res := jc.Fetch(ctx, ids, jaeger.FetchOptions{Timeout: spanWait, MaxSpans: s.Limits.MaxSpans, InjectedParents: parents})
		ev.Spans = res.Spans
		ev.Problems = append(ev.Problems, res.Problems...)
		ev.Captured.Traces = true
		ev.Captured.TraceSource = cmp.Or(res.Source, "Jaeger "+s.Jaeger)
	}
	ph.done("span-wait")

	if logs != nil {
		ph.say("reading the last log lines")
		sleepCtx(ctx, logSettle)
		stopLogs()
	}
	ph.done("logs")

	if s.Service != "" {
		keepService(ev, s.Service)
		if otlp != nil {
			otlp = otlp.Only(s.Service)
			if n := otlp.Others(); n > 0 {
				ev.Problems = append(ev.Problems, checks.Problem{Phase: "traces", Message: fmt.Sprintf("--service %s: %d spans of other services were left out", s.Service, n)})
			}
		}
	}
	if ev.Target.Service == "" && recv != nil {
		ev.Target.Service = recv.Service()
	}
	if ev.Target.Service == "" {
		ev.Target.Service = serviceName(ev)
	}
	c := &Capture{Evidence: ev, Timings: ph.timings, Logs: stopped}
	switch {
	case otlp != nil:
		c.OTLP = otlp
	case ev.Captured.Traces:
		// Jaeger answered a bounded query: its spans are in memory already.
		c.OTLP, ev.Spans = heldSpans(ev.Spans), nil
	}
	return c, nil
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

// keepService drops OTLP data and spans of other services.
func keepService(ev *checks.Evidence, service string) {
	kept := ev.Spans[:0]
	for _, s := range ev.Spans {
		if s.ResourceAttr("service.name") == service {
			kept = append(kept, s)
		}
	}
	dropped := len(ev.Spans) - len(kept)
	ev.Spans = kept
	var recs []checks.LogRecord
	for _, r := range ev.LogRecords {
		if attrString(r.Resource, "service.name") == service {
			recs = append(recs, r)
		}
	}
	var ms []checks.OTLPMetric
	for _, m := range ev.OTLPMetrics {
		if attrString(m.Resource, "service.name") == service {
			ms = append(ms, m)
		}
	}
	ev.LogRecords, ev.OTLPMetrics = recs, ms
	if dropped > 0 {
		ev.Problems = append(ev.Problems, checks.Problem{Phase: "traces", Message: fmt.Sprintf("--service %s: %d spans of other services were left out", service, dropped)})
	}
}

func attrString(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
