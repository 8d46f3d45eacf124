package runner

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/jaeger"
	"github.com/obslint/obslint/internal/launch"
	"github.com/obslint/obslint/internal/limits"
	"github.com/obslint/obslint/internal/logsrc"
	"github.com/obslint/obslint/internal/receiver"
	"github.com/obslint/obslint/internal/scrape"
)

func joinCommand(c []string) string { return strings.Join(c, " ") }

// run and audit are one driver (capture) over three parts: the target (a
// service obslint launches, or one already running), a trace source (the
// embedded receiver, Jaeger) and a log source (the launched service's
// output, a followed file, standard input). Run and Audit only choose the
// parts from their settings.

// target is the service being captured.
type target interface {
	// start gets it ready to probe; an error means it cannot be judged.
	start(ctx context.Context, ph *phases) error
	// answered checks, once probed and scraped, that there is something to
	// judge.
	answered(ev *checks.Evidence) error
	// stop ends what start began, after the span wait, and reports whether
	// the service was stopped (its SDKs flush on shutdown).
	stop(ev *checks.Evidence, ph *phases) bool
}

// traceSource is where the probes' spans come from.
type traceSource interface {
	// describe names it in the report.
	describe() string
	// wait waits up to d for a server span of every probe trace id in ids
	// (answered probes) and returns how many are still missing.
	wait(ctx context.Context, ev *checks.Evidence, ids []string, answered int, d time.Duration) int
	// take returns what the judge reads once the capture is over, moving
	// what else the source holds into ev; missing is what the last wait
	// returned. With service set, only that service's data is kept.
	take(ev *checks.Evidence, missing, ids int, d time.Duration, service string) OTLPSource
	close()
}

// logSource is where the service's log lines come from.
type logSource interface {
	LogSource
	describe() string
	// stop ends the capture of lines and says what went wrong in it.
	stop() []checks.Problem
}

// driver is one capture.
type driver struct {
	cfg              config.Config
	lim              limits.Limits
	base, metricsURL string
	ev               *checks.Evidence
	ph               *phases
	target           target
	traces           traceSource // nil: no trace source
	logs             logSource   // nil: no log stream
	// logSettle is how long lines may still come after the span wait;
	// stopPhase names the phase that ends with the logs stopped.
	logSettle time.Duration
	stopPhase string
	service   string
}

// capture probes, scrapes, waits for the spans, stops, and returns the
// evidence with the spans and lines waiting for the judge.
func (d *driver) capture(ctx context.Context) (*Capture, error) {
	if d.traces != nil {
		defer d.traces.close()
		d.ev.Captured.Traces = true
		d.ev.Captured.TraceSource = d.traces.describe()
	}
	logsStopped := false
	stopLogs := func() {
		if d.logs != nil && !logsStopped {
			logsStopped = true
			d.ev.Problems = append(d.ev.Problems, d.logs.stop()...)
		}
	}
	defer stopLogs()
	if err := d.target.start(ctx, d.ph); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCapture, err)
	}
	if d.logs != nil {
		d.ev.Captured.Logs = true
		d.ev.Captured.LogSource = d.logs.describe()
	}
	d.ph.done("start")

	t := d.cfg.Timeouts
	spanWait := cmp.Or(t.Spans.Duration, config.DefaultSpanWait)
	probeTimeout := cmp.Or(t.Probe.Duration, config.DefaultProbeTimeout)
	sopt := scrape.Options{Timeout: probeTimeout, MaxBytes: d.lim.MaxScrapeBytes, Bodies: scrape.NewBodies()}
	if err := probeAndScrape(ctx, d.ev, d.cfg, d.base, d.metricsURL, sopt, probeTimeout, d.ph); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCapture, err)
	}
	if err := d.target.answered(d.ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCapture, err)
	}
	ids, answered := answeredTraceIDs(d.ev.Probes)
	missing := 0
	if d.traces != nil {
		d.ph.say("waiting for spans of %d probes", len(ids))
		missing = d.traces.wait(ctx, d.ev, ids, answered, spanWait)
	}
	d.ph.done("span-wait")

	if d.target.stop(d.ev, d.ph) && d.traces != nil && missing > 0 {
		// The SDKs flush on shutdown: give late spans and records a moment.
		missing = d.traces.wait(ctx, d.ev, ids, answered, time.Second)
	}
	if d.logs != nil && d.logSettle > 0 {
		d.ph.say("reading the last log lines")
		sleepCtx(ctx, d.logSettle)
	}
	stopLogs()
	d.ph.done(d.stopPhase)

	c := &Capture{Evidence: d.ev, Timings: d.ph.timings}
	if d.logs != nil {
		c.Logs = d.logs
	}
	if d.traces != nil {
		c.OTLP = d.traces.take(d.ev, missing, len(ids), spanWait, d.service)
	}
	return c, nil
}

// launched is a service obslint starts, with its output as the log source.
type launched struct {
	opt          launch.Options
	ready        string
	readyTimeout time.Duration
	grace        time.Duration
	proc         *launch.Process
}

func (l *launched) start(ctx context.Context, ph *phases) error {
	ph.say("starting %s", joinCommand(l.opt.Command))
	proc, err := launch.Start(ctx, l.opt)
	if err != nil {
		return fmt.Errorf("start %q: %v", l.opt.Command[0], err)
	}
	l.proc = proc
	ph.say("waiting for %s", l.ready)
	rctx, cancel := context.WithTimeout(ctx, l.readyTimeout)
	err = launch.WaitReady(rctx, l.ready, proc.Done())
	cancel()
	if err != nil {
		_ = proc.Stop(l.grace)
		return fmt.Errorf("the service did not get ready (%s): %v%s", l.ready, err, lastLines(proc))
	}
	ph.say("ready")
	return nil
}

func (*launched) answered(*checks.Evidence) error { return nil }

func (l *launched) stop(ev *checks.Evidence, ph *phases) bool {
	ph.say("stopping the service")
	exitedEarly := isClosed(l.proc.Done())
	ev.Stopped = time.Now() // logs/flushed: lines arriving after this were held back until exit
	if err := l.proc.Stop(l.grace); err != nil {
		ev.Problems = append(ev.Problems, checks.Problem{Phase: "stop", Message: err.Error()})
	}
	if exitedEarly {
		ev.Problems = append(ev.Problems, checks.Problem{Phase: "probe", Message: fmt.Sprintf("the service exited with code %d while being probed", l.proc.ExitCode())})
	}
	return true
}

// launchedLogs is the launched service's stdout and stderr as its log
// source: stopping it leaves the process alone (launched.stop did that)
// and reports what its output lost.
type launchedLogs struct{ *launched }

func (l launchedLogs) describe() string                   { return "stdout/stderr of " + joinCommand(l.opt.Command) }
func (l launchedLogs) Judge(j *checks.Judge) (int, error) { return l.proc.Judge(j) }
func (l launchedLogs) Kept(max int) []checks.LogLine      { return l.proc.Kept(max) }

func (l launchedLogs) stop() []checks.Problem {
	if l.proc == nil {
		return nil
	}
	return l.proc.Problems()
}

// running is a service already up, which an audit never stops.
type running struct {
	base    string
	timeout time.Duration
}

func (r running) start(ctx context.Context, ph *phases) error {
	ph.say("connecting to %s", r.base)
	if err := reachable(ctx, r.base, r.timeout); err != nil {
		return fmt.Errorf("nothing answers at %s: %v", r.base, err)
	}
	return nil
}

func (r running) answered(ev *checks.Evidence) error { return judgeable(ev, r.base) }
func (running) stop(*checks.Evidence, *phases) bool  { return false }

// followed is a log file or standard input read during an audit.
type followed struct{ *logsrc.Reader }

func (f followed) describe() string       { return f.Describe() }
func (f followed) stop() []checks.Problem { return f.Stop() }

// received is the embedded OTLP receiver as a trace source.
type received struct {
	recv *receiver.Receiver
	// hint is told with the spans that never came: where they should go.
	hint bool
}

func (r received) describe() string { return receiverSource(r.recv) }

func (r received) wait(ctx context.Context, _ *checks.Evidence, ids []string, answered int, d time.Duration) int {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return len(r.recv.WaitForSpans(wctx, ids, answered, quietAfterSpans))
}

func (r received) take(ev *checks.Evidence, missing, ids int, d time.Duration, service string) OTLPSource {
	ev.OTLPMetrics = r.recv.Metrics()
	ev.Problems = append(ev.Problems, r.recv.Problems()...)
	got := r.recv.Received()
	if missing > 0 {
		msg := fmt.Sprintf("no SERVER span arrived within %s for %d of %d probe trace ids", d, missing, ids)
		if r.hint {
			msg += fmt.Sprintf(": is the service's OTLP exporter pointed at %s (or gRPC %s)? (its batch delay must be shorter than --span-wait)", r.recv.HTTPEndpoint(), r.recv.GRPCEndpoint())
		}
		ev.Problems = append(ev.Problems, checks.Problem{Phase: "traces", Message: msg})
	}
	if service != "" {
		ev.OTLPMetrics = keepMetrics(ev.OTLPMetrics, service)
		got = got.Only(service)
		if n := got.Others(); n > 0 {
			ev.Problems = append(ev.Problems, checks.Problem{Phase: "traces", Message: fmt.Sprintf("--service %s: %d spans of other services were left out", service, n)})
		}
	}
	if ev.Target.Service == "" {
		ev.Target.Service = r.recv.Service()
	}
	return got
}

func (r received) close() { shutdown(r.recv) }

// fetched is a Jaeger query service as a trace source: the probes' traces
// are asked for once the probes are done.
type fetched struct {
	jc      *jaeger.Client
	addr    string
	maxSpan int
	spans   []checks.Span
}

func (f *fetched) describe() string { return "Jaeger " + f.addr }

func (f *fetched) wait(ctx context.Context, ev *checks.Evidence, ids []string, _ int, d time.Duration) int {
	parents := map[string]string{}
	for _, p := range ev.Probes {
		if p.TraceID != "" && p.ParentSpanID != "" {
			parents[p.TraceID] = p.ParentSpanID
		}
	}
	res := f.jc.Fetch(ctx, ids, jaeger.FetchOptions{Timeout: d, MaxSpans: f.maxSpan, InjectedParents: parents})
	f.spans = res.Spans
	ev.Problems = append(ev.Problems, res.Problems...)
	ev.Captured.TraceSource = cmp.Or(res.Source, f.describe())
	return 0
}

func (f *fetched) take(ev *checks.Evidence, _, _ int, _ time.Duration, service string) OTLPSource {
	spans := f.spans
	if service != "" {
		kept := spans[:0]
		for _, s := range spans {
			if s.ResourceAttr("service.name") == service {
				kept = append(kept, s)
			}
		}
		if dropped := len(spans) - len(kept); dropped > 0 {
			ev.Problems = append(ev.Problems, checks.Problem{Phase: "traces", Message: fmt.Sprintf("--service %s: %d spans of other services were left out", service, dropped)})
		}
		spans = kept
	}
	if ev.Target.Service == "" {
		ev.Target.Service = serviceName(spans)
	}
	return heldSpans(spans)
}

func (f *fetched) close() { _ = f.jc.Close() }

// keepMetrics keeps the OTLP metric streams of one service.
func keepMetrics(ms []checks.OTLPMetric, service string) []checks.OTLPMetric {
	var out []checks.OTLPMetric
	for _, m := range ms {
		if s, _ := m.Resource["service.name"].(string); s == service {
			out = append(out, m)
		}
	}
	return out
}
