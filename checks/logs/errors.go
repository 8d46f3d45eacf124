package logs

import (
	"strings"

	"github.com/obslint/obslint/checks"
)

// ErrorStructure is logs/error-structure.
var ErrorStructure = &checks.Rule{
	ID:       "logs/error-structure",
	Severity: checks.Warning,
	Summary:  "errors carry their stack as a JSON field, not as multi-line text",
	Doc: `A stack trace is what turns an error line into a fix. Written as text, it is split by
the log pipeline into one entry per frame, none of them with a level, a trace id or the error
message; serialised badly, it is simply gone.

The rule reports, per stream:

- stack-trace text outside JSON (Node ` + "`    at …`" + ` frames, Python ` + "`Traceback (most recent call last):`" + `);
- an ` + "`err`" + ` or ` + "`error`" + ` field whose value is ` + "`{}`" + ` (an Error object passed as winston meta);
- structlog's ` + "`\"exc_info\": true`" + ` (` + "`log.exception()`" + ` with no exception processor: the traceback is lost);
- a stack trace inside the message instead of a field.

The stack is accepted under ` + "`stack`, `exception`, `error.stack_trace`, `exception.stacktrace`, `err.stack`" + `.

**Node (winston)**

Bad: an Error in meta, and an uncaught exception printed by Node:

    {"err":{},"level":"error","message":"payment failed","timestamp":"2026-11-25T19:10:19.878Z"}
        at charge (/app/payments.js:41:11)

Good: ` + "`format.errors({ stack: true })`" + ` and the Error passed directly:

    {"level":"error","message":"payment failed: card declined","stack":"Error: card declined\n    at charge (/app/payments.js:41:11)","timestamp":"2026-11-25T19:10:19.878Z"}

**Python (structlog)**

Bad: ` + "`log.exception(\"payment failed\")`" + ` without an exception processor:

    {"exc_info": true, "event": "payment failed", "level": "error", "timestamp": "2026-11-25T19:10:42.123456Z"}

Good: ` + "`structlog.processors.format_exc_info`" + ` (or ` + "`dict_tracebacks`" + `) before the renderer:

    {"event": "payment failed", "level": "error", "timestamp": "2026-11-25T19:10:42.123456Z", "exception": "Traceback (most recent call last):\n  File \"/app/pay.py\", line 12, in charge\nValueError: card declined"}

**Fix**: render exceptions into one JSON field, and catch uncaught exceptions with the logger.`,
	Fix: checks.Fix{
		Node:   "Use format.errors({ stack: true }), pass the Error itself (logger.error(err) or logger.error('msg', err)), and register winston exceptionHandlers/rejectionHandlers.",
		Python: "Add structlog.processors.format_exc_info or dict_tracebacks before JSONRenderer, and route uncaught exceptions and uvicorn errors through structlog.",
	},
	Needs: []checks.Need{checks.NeedLogs},
	Logs:  newErrorJudge,
}

// Problems the rule reports, one finding per stream and problem.
const (
	problemStrayStack  = "stack-trace text outside JSON"
	problemEmptyError  = "empty error object"
	problemExcInfoTrue = "exc_info without a traceback"
	problemStackInMsg  = "stack trace inside the message"
	problemBareError   = "error line without message or stack"
)

type errorJudge struct {
	t      tally
	totals counts
	runs   textRuns
}

func newErrorJudge(*checks.Evidence) checks.LogJudge {
	j := &errorJudge{totals: counts{}}
	j.runs = newTextRuns(func(l *checks.LogLine, kind string) {
		if kind == kindNodeStack || kind == kindPyTraceback {
			j.t.add(l.Source, problemStrayStack, kind, l, func() string { return excerpt(l.Raw) })
		}
	})
	return j
}

func (j *errorJudge) Line(l *checks.LogLine) {
	j.runs.line(l)
	if isBlank(*l) {
		return
	}
	j.totals[l.Source]++
	if l.Fields != nil {
		for _, problem := range errorFieldProblems(l.Fields) {
			j.t.add(l.Source, problem, "", l, func() string { return excerpt(l.Raw) })
		}
	}
}

func (j *errorJudge) Merge(later checks.LogJudge) {
	o := later.(*errorJudge)
	j.t.merge(&o.t)
	j.totals.merge(o.totals)
	j.runs.merge(&o.runs)
}

func (j *errorJudge) Finish(p *checks.Pass) {
	j.runs.finish()
	j.t.report(p, func(g *group) string {
		n := share(g.N, j.totals[g.Source], "lines on "+g.Source)
		switch g.Problem {
		case problemStrayStack:
			return n + " are stack-trace text outside JSON, which a log pipeline splits into unrelated entries"
		case problemEmptyError:
			return n + ` carry an "err" or "error" field that is {}: the Error object was lost when serialised`
		case problemExcInfoTrue:
			return n + ` carry "exc_info": true but no traceback: no exception processor rendered it`
		case problemBareError:
			return n + " are error lines with neither a message nor a stack: an Error object was serialised without format.errors()"
		}
		return n + " carry a stack trace inside the message instead of a stack field"
	})
}

// errorFieldProblems lists what is wrong with the error detail of one line.
// Whether the line carries a stack is only looked up when a problem hangs
// on it: most lines have no error detail at all.
func errorFieldProblems(fields map[string]any) []string {
	var out []string
	for _, k := range []string{"err", "error"} {
		if m, ok := fields[k].(map[string]any); ok && len(m) == 0 {
			out = append(out, problemEmptyError)
			break
		}
	}
	excInfo, _ := fields["exc_info"].(bool)
	msg, hasMsg := "", false
	for _, k := range allMessageKeys {
		if s, ok := fields[k].(string); ok && strings.TrimSpace(s) != "" {
			msg, hasMsg = s, true
			break
		}
	}
	stackInMsg := hasMsg && looksLikeStack(msg)
	bare := !hasMsg && isErrorLevel(fields)
	if !excInfo && !stackInMsg && !bare || hasStack(fields) {
		return out
	}
	if excInfo {
		out = append(out, problemExcInfoTrue)
	}
	switch {
	case stackInMsg:
		out = append(out, problemStackInMsg)
	case bare:
		out = append(out, problemBareError)
	}
	return out
}

// hasStack reports whether a line carries a stack under a known key;
// python-json-logger writes the formatted traceback as an exc_info string.
func hasStack(fields map[string]any) bool {
	if _, v, ok := first(fields, stackKeys); ok && !isEmptyValue(v) {
		return true
	}
	s, ok := fields["exc_info"].(string)
	return ok && strings.TrimSpace(s) != ""
}

func isEmptyValue(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v) == ""
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	case bool:
		return !v
	}
	return false
}

// looksLikeStack recognises a Node or Python stack trace inside a string.
func looksLikeStack(s string) bool {
	return strings.Contains(s, "\n    at ") || strings.Contains(s, "Traceback (most recent call last):")
}
