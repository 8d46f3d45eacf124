package logs

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/obslint/obslint/checks"
)

// Flushed is logs/flushed.
var Flushed = &checks.Rule{
	ID:       "logs/flushed",
	Severity: checks.Warning,
	Summary:  "request log lines arrive while the service runs, not at exit",
	Doc: `A log line is only useful if it leaves the process when it is written. A stream that is
block-buffered holds lines back until a few kilobytes have piled up or the process exits: on a
quiet service, request logs show up minutes late and in bursts, their arrival time says nothing,
and when the process crashes or is killed (an OOM kill, SIGKILL after a shutdown grace period)
the buffer is lost with it.

obslint records when each line arrives and when it asked the service to stop. The rule takes,
per stream, the lines written while serving the probes — lines carrying a probe's trace id, and
request-completed (access-log) lines — and reports the stream when none of them arrived before
the stop request: everything the service said while serving came out at exit. A stream on
which some of them arrived in time passes. The rule is not evaluated offline (nobody stopped
the service) or when no line can be tied to a probe.

**Python (structlog)**

Python block-buffers ` + "`sys.stdout`" + ` when it is a pipe, as it is under a container runtime or
a process manager. ` + "`print()`" + ` and ` + "`sys.stdout.write`" + ` (and structlog's ` + "`WriteLogger`" + ` on a file
object that is never flushed) sit in an 8 KiB buffer; ` + "`logging.StreamHandler`" + ` and structlog's
` + "`PrintLogger`" + ` flush every record.

Bad: the app prints its JSON lines, and nothing flushes:

    print(json.dumps({"event": "get user", "level": "info"}))

Good: ` + "`ENV PYTHONUNBUFFERED=1`" + ` in the image (or ` + "`python -u`" + `), or line buffering at start-up:

    sys.stdout.reconfigure(line_buffering=True)

or log through a handler that flushes (` + "`logging.StreamHandler`" + `, structlog's ` + "`PrintLogger`" + `).

**Node (winston)**

Not normally an issue: on Linux, ` + "`process.stdout`" + ` writes to a pipe synchronously, and
winston's Console transport writes each line at once. Lines are lost when the process ends with
` + "`process.exit()`" + ` while an asynchronous destination (a file stream, pino's
` + "`sonic-boom`" + ` destination with ` + "`minLength`" + `) still holds data.

Bad:

    logger.error('fatal'); process.exit(1);

Good: let the stream drain first:

    logger.on('finish', () => process.exit(1)); logger.error('fatal'); logger.end();

**Fix**: make every log stream line-buffered or flushed per record.`,
	Fix: checks.Fix{
		Node:   "Do not end the process with process.exit() while a logger still holds data: end the logger and exit on its 'finish' event; write logs to stdout synchronously.",
		Python: "Set PYTHONUNBUFFERED=1 in the image (or run python -u), or call sys.stdout.reconfigure(line_buffering=True) at start-up, or log through a handler that flushes every record.",
	},
	Needs: []checks.Need{checks.NeedLogs, checks.NeedProbes},
	Logs:  newFlushedJudge,
}

// servedStream counts, for one stream, the lines written while serving the
// probes and how many of them arrived before the stop request.
type servedStream struct {
	served int
	inTime int
	first  firstLine // the first served line that arrived late
}

type flushedJudge struct {
	traceIDs map[string]bool
	stopped  time.Time
	streams  map[string]*servedStream
}

func newFlushedJudge(ev *checks.Evidence) checks.LogJudge {
	return &flushedJudge{traceIDs: probeTraceIDs(ev.Probes), stopped: ev.Stopped, streams: map[string]*servedStream{}}
}

// Line counts, per stream, the lines written while serving the probes.
// Untimed lines (offline files) are left out.
func (j *flushedJudge) Line(l *checks.LogLine) {
	if l.Time.IsZero() || j.stopped.IsZero() || !servedProbe(*l, j.traceIDs) {
		return
	}
	s := j.streams[l.Source]
	if s == nil {
		s = &servedStream{}
		j.streams[l.Source] = s
	}
	s.served++
	if l.Time.Before(j.stopped) {
		s.inTime++
	} else {
		s.first.offer(l)
	}
}

func (j *flushedJudge) Merge(later checks.LogJudge) {
	for src, os := range later.(*flushedJudge).streams {
		s := j.streams[src]
		if s == nil {
			j.streams[src] = os
			continue
		}
		s.served += os.served
		s.inTime += os.inTime
		s.first.merge(os.first)
	}
}

func (j *flushedJudge) Finish(p *checks.Pass) {
	if p.Stopped.IsZero() {
		p.Skip("obslint did not stop the service (audit or offline evidence): whether lines are held back until exit is unknown")
		return
	}
	if len(j.streams) == 0 {
		p.Skip("no log line carries a probe's trace id or reads as a request log, so none can be tied to the probes")
		return
	}
	for src, s := range j.streams {
		if s.inTime > 0 {
			continue
		}
		first := s.first.line
		p.Report(checks.Finding{
			Subject: src,
			Message: fmt.Sprintf("none of the %d lines written while serving the probes arrived before obslint asked the service to stop "+
				"(the first came %s after): %s looks block-buffered, so its lines arrive late, in bursts, and are lost on a crash; e.g. line %d",
				s.served, first.Time.Sub(p.Stopped).Round(time.Millisecond), src, first.N),
			Evidence: fmt.Sprintf("%s:%d: %s", src, first.N, excerpt(first.Raw)),
		})
	}
}

func probeTraceIDs(probes []checks.Probe) map[string]bool {
	out := map[string]bool{}
	for _, pr := range probes {
		if pr.Traced() {
			out[pr.TraceID] = true
		}
	}
	return out
}

// requestDoneRE recognises the "request completed" lines of request loggers
// (pino-http, express-winston and the like).
var requestDoneRE = regexp.MustCompile(`(?i)\brequest (?:completed|finished|handled)\b`)

// servedProbe reports whether a line was written while serving a request:
// it carries a probe's trace id (anywhere, so text lines count too), or it
// is an access-log or request-completed line.
func servedProbe(l checks.LogLine, traceIDs map[string]bool) bool {
	if hasTraceID(l.Raw, traceIDs) {
		return true
	}
	if l.Fields != nil {
		if isAccessLog(l.Fields) {
			return true
		}
		for _, k := range allMessageKeys {
			if s, ok := l.Fields[k].(string); ok && requestDone(s) {
				return true
			}
		}
		return false
	}
	return accessLog(l.Raw) || requestDone(l.Raw)
}

// requestDone is requestDoneRE with a prefilter: every match holds a q.
func requestDone(s string) bool {
	return strings.ContainsAny(s, "qQ") && requestDoneRE.MatchString(s)
}

// hasTraceID reports whether s holds one of ids as a run of exactly 32
// lowercase hex digits, in one pass whatever the number of probes.
func hasTraceID(s string, ids map[string]bool) bool {
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isLowerHex(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start == 32 && ids[s[start:i]] {
			return true
		}
		start = -1
	}
	return false
}

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
