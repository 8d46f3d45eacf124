package logs

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/obslint/obslint/checks"
)

// TraceContext is logs/trace-context.
var TraceContext = &checks.Rule{
	ID:       "logs/trace-context",
	Severity: checks.Error,
	Summary:  "lines logged while serving a request carry its trace and span id",
	Doc: `Trace context in logs is what lets you jump from a slow span to what the handler
logged, and from an error line to the whole request. It only works if the ids are exactly the
ones the tracer used: 32 and 16 lowercase hex, the trace id of the request, and the span id of
a span in that trace.

obslint sends each probe with its own ` + "`traceparent`" + `, one after another, and attributes every
JSON line to the probe being served when it was written (offline, to the probe whose trace id it
carries). Each such line must carry ` + "`trace_id`" + ` and ` + "`span_id`" + ` (also accepted: ` + "`span.trace_id`" + `/` + "`span.span_id`" + `,
` + "`trace.id`/`span.id`, `traceId`/`spanId`, `otelTraceID`/`otelSpanID`" + `) with the probe's trace id, and,
when spans were received, a span id of some span of that trace (a handler's child span is fine).
Start-up lines and plain access-log lines without context are exempt; Python's ` + "`\"0\"`" + ` sentinel
means absent. Any trace id present must be well-formed. A probe during which the service logged
nothing is not a finding.

On a shared target (` + "`obslint audit`" + ` of a service that serves other traffic too) a line with a trace
id of no probe belongs to another request, and a line without context written during a probe is
taken for the probe's only when no line carries that probe's trace id: other requests and
background work log in the same windows.

**Node (winston)**

Bad: the logger is created before the SDK starts, so instrumentation-winston never patches it:

    {"level":"info","message":"get user","timestamp":"2026-11-25T19:10:53.986Z"}

Good: start the SDK first (` + "`node --require ./tracing.js server.js`" + `) with ` + "`@opentelemetry/instrumentation-winston`" + `:

    {"level":"info","message":"get user","span_id":"5598b5431561f1ab","timestamp":"2026-11-25T19:10:53.986Z","trace_flags":"01","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}

**Python (structlog)**

Bad: no processor adds the current span context (structlog has no built-in correlation):

    {"event": "get user", "level": "info", "timestamp": "2026-11-25T19:10:42.123456Z"}

Good: a processor that adds the ids from ` + "`trace.get_current_span().get_span_context()`" + `:

    {"event": "get user", "level": "info", "timestamp": "2026-11-25T19:10:42.123456Z", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}

**Fix**: inject the active span context into every log record, formatted as lowercase hex.`,
	Fix: checks.Fix{
		Node:   "Install @opentelemetry/instrumentation-winston and start the SDK before winston is required (node --require ./tracing.js); it adds trace_id, span_id and trace_flags.",
		Python: "Add a structlog processor that sets trace_id = format(ctx.trace_id, \"032x\") and span_id = format(ctx.span_id, \"016x\") from trace.get_current_span().get_span_context() when it is valid.",
	},
	Needs: []checks.Need{checks.NeedLogs, checks.NeedTracedProbes},
	Logs:  newTraceContextJudge,
}

// lateLogGrace is how long after a probe's response its lines are still
// attributed to it: loggers write on response completion, and obslint reads
// the pipe a moment later. Probes are sent at least this far apart, and the
// runner leaves the same quiet time before any other request (the scrape).
const lateLogGrace = 50 * time.Millisecond

// Problems of logs/trace-context, one finding per subject and problem.
const (
	problemMalformed = "malformed"
	problemNoContext = "no context"
	problemNoSpan    = "no span id"
	problemOther     = "other trace"
	problemSpan      = "unknown span"
)

type traceContextJudge struct {
	probes []checks.Probe // sorted by start
	spans  *checks.SpanIndex
	attr   attribution
	totals counts
	t      tally
	// carried holds the probes (by index) whose trace id some line carries.
	carried map[int]bool
	// tentative holds, per probe, the context-less lines of a shared target
	// written in its window: they are the probe's only if no line carries
	// its trace id, which is known once every line was seen.
	tentative map[int]*tentativeLines
}

// tentativeLines is what the context-less lines of one probe's window add
// up to, either way.
type tentativeLines struct {
	fields counts // lines per field subject, if they are not the probe's
	n      int    // lines, if they are
	t      tally  // their findings under the probe, if they are
}

func newTraceContextJudge(ev *checks.Evidence) checks.LogJudge {
	probes := slices.Clone(ev.Probes)
	slices.SortStableFunc(probes, func(a, b checks.Probe) int { return a.Start.Compare(b.Start) })
	return &traceContextJudge{
		probes:    probes,
		spans:     ev.SpanIndex(),
		attr:      newAttribution(probes, ev.SpanIndex(), ev.Target.Shared),
		totals:    counts{},
		carried:   map[int]bool{},
		tentative: map[int]*tentativeLines{},
	}
}

// Fresh shares the probes and span indexes with a fork: they are built once
// per run, not once per batch of lines.
func (j *traceContextJudge) Fresh() checks.LogJudge {
	return &traceContextJudge{probes: j.probes, spans: j.spans, attr: j.attr,
		totals: counts{}, carried: map[int]bool{}, tentative: map[int]*tentativeLines{}}
}

func (j *traceContextJudge) Line(l *checks.LogLine) {
	if l.Fields == nil {
		return
	}
	tc := readTraceContext(l.Fields)
	if i, ok := j.attr.lookup(tc.traceID); ok && tc.traceID != "" && i >= 0 {
		j.carried[i] = true
	}
	i, attributed := j.attr.attribute(l, tc)
	var pr checks.Probe
	if attributed {
		pr = j.probes[i]
	}
	if attributed && j.attr.shared && tc.traceID == "" && len(tc.problems) == 0 {
		// A shared target: if the service put this probe's context on its
		// lines, a line without any in the same window is most likely
		// another request's or background work's, not this probe's.
		tv := j.tentative[i]
		if tv == nil {
			tv = &tentativeLines{fields: counts{}}
			j.tentative[i] = tv
		}
		tv.fields[fieldSubject(l.Source, cmp.Or(tc.traceKey, tc.spanKey, "trace_id"))]++
		tv.n++
		if pr.Traced() {
			if problem := requestProblem(l, tc, pr, j.attr, j.spans); problem != "" {
				tv.t.add(pr.Subject(), problem, "", l, func() string { return tc.evidence(l) })
			}
		}
		return
	}
	subject := pr.Subject()
	if !attributed {
		// Outside the probes only well-formedness is judged: name the field.
		subject = fieldSubject(l.Source, cmp.Or(tc.traceKey, tc.spanKey, "trace_id"))
	}
	j.totals[subject]++
	if len(tc.problems) > 0 {
		for _, problem := range tc.problems {
			j.t.add(subject, problemMalformed, problem, l, func() string { return tc.evidence(l) })
		}
		return
	}
	if !attributed || !pr.Traced() {
		return
	}
	if problem := requestProblem(l, tc, pr, j.attr, j.spans); problem != "" {
		j.t.add(subject, problem, "", l, func() string { return tc.evidence(l) })
	}
}

func (j *traceContextJudge) Merge(later checks.LogJudge) {
	o := later.(*traceContextJudge)
	j.totals.merge(o.totals)
	j.t.merge(&o.t)
	for i := range o.carried {
		j.carried[i] = true
	}
	for i, otv := range o.tentative {
		tv := j.tentative[i]
		if tv == nil {
			j.tentative[i] = otv
			continue
		}
		tv.fields.merge(otv.fields)
		tv.n += otv.n
		tv.t.merge(&otv.t)
	}
}

func (j *traceContextJudge) Finish(p *checks.Pass) {
	for i, tv := range j.tentative {
		if j.carried[i] {
			j.totals.merge(tv.fields)
			continue
		}
		j.totals[j.probes[i].Subject()] += tv.n
		j.t.merge(&tv.t)
	}
	j.tentative = nil
	j.t.report(p, func(g *group) string {
		unit := "JSON lines written while serving " + g.Subject
		if strings.Contains(g.Subject, " field ") {
			unit = "JSON lines on " + g.Source + " outside the probes"
		}
		n := share(g.N, j.totals[g.Subject], unit)
		switch g.Problem {
		case problemMalformed:
			return n + " carry malformed trace context"
		case problemNoContext:
			return n + " carry no trace context (trace_id, span_id)"
		case problemNoSpan:
			return n + " carry a trace_id but no span_id"
		case problemOther:
			return fmt.Sprintf("%s carry a trace_id other than the injected %s", n, probeTraceID(j.probes, g.Subject))
		}
		return n + " carry a span_id that is no span of the probe's trace"
	})
}

// requestProblem judges the context of a line written while serving a
// traced probe, "" when it is right.
func requestProblem(l *checks.LogLine, tc traceCtx, pr checks.Probe, attr attribution, spans *checks.SpanIndex) string {
	switch {
	case tc.traceID == "":
		if isAccessLog(l.Fields) {
			return ""
		}
		return problemNoContext
	case !attr.served(pr, tc.traceID):
		return problemOther
	case tc.spanID == "":
		return problemNoSpan
	case spans.HasTrace(tc.traceID) && !spans.HasSpan(tc.traceID, tc.spanID):
		// No spans for the trace at all is traces/received's finding, not ours.
		return problemSpan
	}
	return ""
}

func probeTraceID(probes []checks.Probe, subject string) string {
	for _, pr := range probes {
		if pr.Subject() == subject && pr.Traced() {
			return pr.TraceID
		}
	}
	return "trace id"
}

// attribution finds the probe a line was written for.
type attribution struct {
	probes []checks.Probe // sorted by start
	// shared: the target serves other traffic too (audit), so a line with a
	// trace id of no probe is another request's, never a probe's by time.
	shared bool
	// byTrace maps the trace id a probe injected to the probe's index; the
	// other traces are looked up in spans (see lookup).
	byTrace map[string]int
	spans   *checks.SpanIndex
}

// newAttribution indexes the probes' injected trace ids and, from the
// received SERVER spans, the traces that served a probe without continuing
// its traceparent (broken propagation is traces/propagation's finding, not a
// logging fault) and the traces of other traffic.
//
// On a shared target other requests overlap the probes, so a SERVER span
// that started during a probe proves nothing: only the injected ids count.
func newAttribution(probes []checks.Probe, spans *checks.SpanIndex, shared bool) attribution {
	a := attribution{probes: probes, shared: shared, spans: spans, byTrace: map[string]int{}}
	for i, pr := range probes {
		if pr.Traced() {
			a.byTrace[pr.TraceID] = i
		}
	}
	return a
}

// lookup finds the probe a trace served: the probe that injected it, or,
// for a target that serves only obslint, the last probe in flight when
// the trace's first SERVER span started (-1 if none was). ok is false for
// a trace obslint knows nothing of.
func (a attribution) lookup(traceID string) (int, bool) {
	if i, ok := a.byTrace[traceID]; ok {
		return i, true
	}
	if a.shared {
		return 0, false
	}
	start, ok := a.spans.ServerStart(traceID)
	if !ok {
		return 0, false
	}
	i := -1
	for k, pr := range a.probes {
		if !start.Before(pr.Start) && !start.After(pr.End) {
			i = k
		}
	}
	return i, true
}

// attribute finds the probe a line was written for: first by the trace id
// it carries, then, for a timed line, by time — the probe that started last
// before it, until that probe's end plus a grace. Lines before the first
// probe are start-up lines; lines outside every window (a scrape, shutdown)
// and untimed lines (an offline file) with no known trace id belong to none.
func (a attribution) attribute(l *checks.LogLine, tc traceCtx) (int, bool) {
	if i, ok := a.lookup(tc.traceID); ok && tc.traceID != "" {
		return i, i >= 0
	}
	if l.Time.IsZero() || (a.shared && tc.traceID != "") {
		return -1, false
	}
	i := -1
	for j, pr := range a.probes {
		if !pr.Start.After(l.Time) {
			i = j
		}
	}
	if i < 0 || !l.Time.Before(a.probes[i].End.Add(lateLogGrace)) {
		return -1, false
	}
	return i, true
}

// served reports whether traceID is the trace that served probe pr.
func (a attribution) served(pr checks.Probe, traceID string) bool {
	if traceID == pr.TraceID {
		return true
	}
	i, ok := a.lookup(traceID)
	return ok && i >= 0 && a.probes[i].Start.Equal(pr.Start) && a.probes[i].Path == pr.Path
}

// traceCtx is the trace context a line carries.
type traceCtx struct {
	traceKey, spanKey string
	traceID, spanID   string
	problems          []string
}

var (
	traceIDRE32 = regexp.MustCompile(`^[0-9a-f]{32}$`)
	spanIDRE16  = regexp.MustCompile(`^[0-9a-f]{16}$`)
	flagsRE     = regexp.MustCompile(`^[0-9a-f]{2}$`)
)

// readTraceContext reads and validates the ids of a line.
func readTraceContext(fields map[string]any) traceCtx {
	var tc traceCtx
	var tv, sv any
	tc.traceKey, tv, _ = first(fields, traceIDKeys)
	tc.spanKey, sv, _ = first(fields, spanIDKeys)
	tc.traceID = tc.check("trace_id", tv, 32, traceIDRE32)
	tc.spanID = tc.check("span_id", sv, 16, spanIDRE16)
	if tc.spanID != "" && tc.traceID == "" && len(tc.problems) == 0 {
		tc.problems = append(tc.problems, "span_id without trace_id")
	}
	if f, ok := fields["trace_flags"].(string); ok && !flagsRE.MatchString(f) {
		tc.problems = append(tc.problems, "trace_flags not 2 lowercase hex digits")
	}
	return tc
}

// check validates one id and returns it, "" when absent or malformed.
func (tc *traceCtx) check(name string, v any, digits int, re *regexp.Regexp) string {
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	switch {
	case !ok:
		tc.problems = append(tc.problems, name+" is not a string")
	case s == "" || s == "0": // Python's "no span" sentinel
		return ""
	case re.MatchString(s) && strings.Trim(s, "0") == "":
		tc.problems = append(tc.problems, name+" all zeros")
	case re.MatchString(s):
		return s
	case re.MatchString(strings.ToLower(s)):
		tc.problems = append(tc.problems, name+" in uppercase hex")
	default:
		tc.problems = append(tc.problems, fmt.Sprintf("%s not %d lowercase hex digits", name, digits))
	}
	return ""
}

func (tc traceCtx) evidence(l *checks.LogLine) string {
	var parts []string
	if tc.traceKey != "" {
		v, _ := lookup(l.Fields, tc.traceKey)
		parts = append(parts, tc.traceKey+"="+valueText(v))
	}
	if tc.spanKey != "" {
		v, _ := lookup(l.Fields, tc.spanKey)
		parts = append(parts, tc.spanKey+"="+valueText(v))
	}
	if len(parts) == 0 {
		return excerpt(l.Raw)
	}
	return strings.Join(parts, " ")
}

var accessLogRE = regexp.MustCompile(`"?(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /\S*(?: HTTP/[\d.]+)?"? \d{3}\b`)

// isAccessLog recognises a server access-log line (uvicorn.access through
// ProcessorFormatter, morgan through winston), which is written outside the
// request's context by design.
func isAccessLog(fields map[string]any) bool {
	for _, k := range []string{"logger", "logger_name", "name", "log.logger"} {
		if s, ok := fields[k].(string); ok && strings.Contains(strings.ToLower(s), "access") {
			return true
		}
	}
	for _, k := range allMessageKeys {
		if s, ok := fields[k].(string); ok {
			return accessLog(s)
		}
	}
	return false
}

// accessLog is accessLogRE with a prefilter: every match holds " /".
func accessLog(s string) bool {
	return strings.Contains(s, " /") && accessLogRE.MatchString(s)
}
