// Package runner captures the evidence of `run` and `audit`: one driver
// (driver.go) probes, scrapes, waits for the probes' spans and stops, over a
// target (a service it launches with its OTel SDK pointed at the embedded
// receiver, or one already running), a trace source (the receiver, Jaeger)
// and a log source (the service's output, a file, stdin). Run and Audit
// only choose the parts.
package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/launch"
	"github.com/obslint/obslint/internal/limits"
	"github.com/obslint/obslint/internal/probe"
	"github.com/obslint/obslint/internal/receiver"
	"github.com/obslint/obslint/internal/scrape"
)

// Settings is one `obslint run`.
type Settings struct {
	Config  config.Config
	Command []string // the command to launch (after --)
	Dir     string   // its working directory
	Limits  limits.Limits
	// Progress is told each phase ("starting", "probing 3/7", …); may be nil.
	Progress func(phase string)
}

// Timing is how long one phase took.
type Timing struct {
	Phase    string
	Duration time.Duration
}

// Capture is what a run gathered.
type Capture struct {
	// Evidence holds everything but the log lines, which wait in Logs.
	Evidence *checks.Evidence
	Timings  []Timing
	// Logs holds the captured log lines until they are judged; nil when no
	// log stream was captured.
	Logs LogSource
	// OTLP holds the spans and OTLP log records until they are judged: the
	// embedded receiver's spool, or Jaeger's answer; nil when no trace
	// source was attached.
	OTLP OTLPSource
}

// heldSpans is a trace source whose spans are in memory already: those
// Jaeger answered a bounded query with.
type heldSpans []checks.Span

func (h heldSpans) Judge(j *checks.Judge) (int, error) {
	j.Spans(h)
	return len(h), nil
}

func (h heldSpans) Kept(max int) []checks.Span       { return h[:min(max, len(h))] }
func (heldSpans) KeptRecords(int) []checks.LogRecord { return nil }

// OTLPSource is where a capture's spans and OTLP log records wait for the
// judge, which reads them before the lines (checks.Judge): the embedded
// receiver's spool, or the spans Jaeger answered with.
type OTLPSource interface {
	// Judge feeds every record and span to j, in order, and says how many
	// spans.
	Judge(j *checks.Judge) (int, error)
	// Kept and KeptRecords return the first max: what a bundle saves.
	Kept(max int) []checks.Span
	KeptRecords(max int) []checks.LogRecord
}

// LogSource is where a capture's log lines wait for the judge, which can
// only read them once the spans and probes they are judged against are in:
// the service's stdout and stderr, a followed file, standard input.
type LogSource interface {
	// Judge feeds every line to j, in order, and says how many.
	Judge(j *checks.Judge) (int, error)
	// Kept returns the first max lines, parsed: what a bundle saves.
	Kept(max int) []checks.LogLine
}

// ErrCapture marks errors that mean the service could not be judged at all
// (it did not start, never got ready): exit code 2.
var ErrCapture = errors.New("capture failed")

// quietAfterSpans is how long the span wait lets the stream settle once
// every probe's server span is in, so that child spans batched later arrive.
const quietAfterSpans = 300 * time.Millisecond

// probeSettle separates the probes from obslint's own scrapes before and
// after them, so a scrape's log line is not taken for a probe's (log lines are
// attributed to probes by time; see logs/trace-context).
const probeSettle = 100 * time.Millisecond

// afterScrapes is the series of scrapes after probing ("after", "after-2"
// …). One is enough for rules that compare the first and the last scrape;
// the others are there to catch several worker processes that each serve
// their own registry (gunicorn -w N without prometheus_client's
// multiprocess mode, Node's cluster without an aggregator): every scrape
// gets a new connection (internal/scrape) and so whichever worker wins the
// accept, and the fault shows as soon as two scrapes reach two workers
// (process_start_time_seconds differs, counters go down).
//
// How many: the service is missed only if the before scrape and all N after
// scrapes land on one worker, which takes N "same worker again" steps in a
// row. Measured on fixtures/services/python-multiworker with Go's client, a
// new connection per scrape and 25 ms between scrapes: with 4 workers the
// next scrape went to the same worker in 11% of steps (curl, slower: up to
// 37%), with 2 workers in 35–43%. Back to back (1 ms apart) the worker that
// just answered wins again 80–90% of the time with 2 workers, hence the
// gap. With N = 12 and the conservative rates (0.37 for 4 workers, 0.5 for
// 2), a miss takes 0.37^12 ≈ 6e-6 or 0.5^12 ≈ 2.4e-4; with the measured
// ones 0.11^12 ≈ 3e-12 and 0.43^12 ≈ 4e-5. Each scrape of a small service
// takes a few milliseconds, so the series costs about 12 × 27 ms ≈ 0.35 s.
// The bodies wait on disk (scrape.Bodies) and the judge parses one at a
// time, so a huge exposition costs one parse, not thirteen.
var afterScrapes = scrape.Series{N: 12, Gap: 25 * time.Millisecond}

// Run launches, probes, scrapes and stops the service.
func Run(ctx context.Context, s Settings) (*Capture, error) {
	cfg := s.Config
	if len(s.Command) == 0 {
		s.Command = cfg.Command
	}
	if len(s.Command) == 0 {
		return nil, fmt.Errorf("%w: no command to run: give one after -- or as command: in %s", ErrCapture, config.FileName)
	}
	if s.Limits == (limits.Limits{}) {
		s.Limits = limits.Default
	}
	t := cfg.Timeouts
	ph := newPhases(s.Progress)

	base, env, err := serviceURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCapture, err)
	}
	metricsURL := metricsURLFor(cfg, base)

	ph.say("starting OTLP receiver")
	recv, err := receiver.Start(ctx, receiver.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w: embedded OTLP receiver: %v", ErrCapture, err)
	}
	env = append(env,
		"OTEL_EXPORTER_OTLP_ENDPOINT="+recv.HTTPEndpoint(),
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_BSP_SCHEDULE_DELAY=200",
		"OTEL_BLRP_SCHEDULE_DELAY=200",
		"OTEL_METRIC_EXPORT_INTERVAL=1000",
	)
	svc := &launched{
		opt: launch.Options{
			Command: s.Command, Dir: s.Dir, Env: env,
			MaxLineBytes: s.Limits.MaxLineBytes, MaxLines: s.Limits.MaxLines,
		},
		ready:        readyTarget(cfg.Ready, base, metricsURL),
		readyTimeout: cmp.Or(t.Ready.Duration, config.DefaultReadyTimeout),
		grace:        cmp.Or(t.Grace.Duration, config.DefaultGrace),
	}
	defer func() {
		if svc.proc != nil {
			_ = svc.proc.Stop(svc.grace)
		}
	}()
	d := &driver{
		cfg: cfg, lim: s.Limits, base: base, metricsURL: metricsURL, ph: ph,
		ev: &checks.Evidence{
			Target:   checks.Target{URL: base, MetricsURL: metricsURL, Command: s.Command},
			Expect:   cfg.Expect.Expectations(),
			Captured: checks.Captured{Probes: true, Metrics: true},
		},
		target: svc, traces: received{recv: recv}, logs: launchedLogs{svc},
		stopPhase: "stop",
	}
	return d.capture(ctx)
}

// metricsURLFor is the configured metrics URL, or the metrics path under base.
func metricsURLFor(cfg config.Config, base string) string {
	if cfg.MetricsURL != "" {
		return cfg.MetricsURL
	}
	return base + cmp.Or(cfg.MetricsPath, config.DefaultMetricsPath)
}

// receiverSource describes the embedded receiver as a trace source.
func receiverSource(recv *receiver.Receiver) string {
	return "embedded OTLP receiver " + recv.HTTPEndpoint() + " (gRPC " + recv.GRPCEndpoint() + ")"
}

// shutdown stops the receiver, bounded.
func shutdown(recv *receiver.Receiver) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = recv.Shutdown(ctx)
}

// serviceURL returns the base URL to probe and the environment that tells
// the service where to listen: with no URL configured, a free loopback port
// passed as PORT.
func serviceURL(configured string) (string, []string, error) {
	if configured != "" {
		u, err := url.Parse(configured)
		if err != nil || u.Host == "" {
			return "", nil, fmt.Errorf("url: %q is not an absolute URL", configured)
		}
		env := []string{}
		if p := u.Port(); p != "" {
			env = append(env, "PORT="+p)
		}
		return strings.TrimSuffix(configured, "/"), env, nil
	}
	port, err := launch.FreePort()
	if err != nil {
		return "", nil, fmt.Errorf("pick a free port: %v", err)
	}
	return "http://127.0.0.1:" + strconv.Itoa(port), []string{"PORT=" + strconv.Itoa(port)}, nil
}

func readyTarget(ready, base, metricsURL string) string {
	switch {
	case strings.HasPrefix(ready, "http://"), strings.HasPrefix(ready, "https://"), strings.HasPrefix(ready, "tcp://"):
		return ready
	case ready != "":
		return base + ready
	case metricsURL != "":
		return metricsURL
	}
	u, _ := url.Parse(base)
	return "tcp://" + u.Host
}

// phases tells progress and times the phases of a capture.
type phases struct {
	progress func(string)
	timings  []Timing
	mark     time.Time
}

func newPhases(progress func(string)) *phases {
	return &phases{progress: progress, mark: time.Now()}
}

func (p *phases) say(format string, args ...any) {
	if p.progress != nil {
		p.progress(fmt.Sprintf(format, args...))
	}
}

// done closes the phase that began at the last done (or at the start).
func (p *phases) done(name string) {
	now := time.Now()
	p.timings = append(p.timings, Timing{Phase: name, Duration: now.Sub(p.mark)})
	p.mark = now
}

// probeAndScrape is what run and audit share: a scrape before, the probe
// plan with fresh canaries, and the series of scrapes after. It records the
// "probe" phase; the scrapes after belong to the next one.
func probeAndScrape(ctx context.Context, ev *checks.Evidence, cfg config.Config, base, metricsURL string, sopt scrape.Options, probeTimeout time.Duration, ph *phases) error {
	specs, err := plan(cfg, metricsURL)
	if err != nil {
		return err
	}
	ph.say("scraping %s", metricsURL)
	ev.Scrapes = append(ev.Scrapes, scrape.Fetch(ctx, metricsURL, "before", sopt))
	time.Sleep(probeSettle) // the scrape's own log line must not fall in the first probe's window

	ev.Canaries = probe.NewCanaries()
	ev.Probes = probe.Run(ctx, specs, ev.Canaries, probe.Options{
		BaseURL: base, Timeout: probeTimeout, UserAgent: "obslint/probe",
		Progress: func(i, n int) { ph.say("probing %d/%d", i, n) },
	})
	// Let the last probe's log lines land before other traffic: lines are
	// attributed to a probe until shortly after its response.
	time.Sleep(probeSettle)
	ph.done("probe")

	ph.say("scraping %s %d times", metricsURL, afterScrapes.N)
	ev.Scrapes = append(ev.Scrapes, scrape.FetchSeries(ctx, metricsURL, "after", afterScrapes, sopt)...)
	return nil
}

// answeredTraceIDs lists the trace ids of the probes that got a response,
// the ones whose spans are worth waiting for.
func answeredTraceIDs(probes []checks.Probe) (ids []string, answered int) {
	for _, p := range probes {
		if p.Status != 0 {
			answered++
			ids = append(ids, p.TraceID)
		}
	}
	return ids, answered
}

// plan is the declared probe plan plus one unknown path for a 404, or the
// default plan when nothing is declared.
func plan(cfg config.Config, metricsURL string) ([]probe.Spec, error) {
	mpath := "/metrics"
	if u, err := url.Parse(metricsURL); err == nil && u.Path != "" {
		mpath = u.Path
	}
	if len(cfg.Probes) == 0 {
		return probe.DefaultPlan(mpath), nil
	}
	var specs []probe.Spec
	for _, p := range cfg.Probes {
		specs = append(specs, probe.Spec{Method: cmp.Or(strings.ToUpper(p.Method), "GET"), Path: p.Path, Route: p.Route, Status: p.Status, Headers: p.Headers, Body: p.Body})
	}
	for _, d := range probe.DefaultPlan(mpath) {
		if d.Status == 404 {
			specs = append(specs, d)
		}
	}
	return specs, nil
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func lastLines(p *launch.Process) string {
	tail := p.Tail(15)
	code := ""
	if isClosed(p.Done()) {
		code = fmt.Sprintf("\nthe service exited with code %d", p.ExitCode())
	}
	if len(tail) == 0 {
		return code + "\n(it wrote nothing)"
	}
	return code + "\nits last lines:\n  " + strings.Join(tail, "\n  ")
}

// serviceName is the service.name the spans report, if any.
func serviceName(spans []checks.Span) string {
	for _, s := range spans {
		if n := s.ResourceAttr("service.name"); n != "" {
			return n
		}
	}
	return ""
}
