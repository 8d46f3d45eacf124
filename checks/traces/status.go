package traces

import (
	"fmt"
	"strings"

	"github.com/obslint/obslint/checks"
)

// Status: span status follows the HTTP status matrix.
var Status = &checks.Rule{
	ID:       "traces/status",
	Severity: checks.Error,
	Summary:  "5xx server spans are Error with error.type, 4xx are Unset, none Ok",
	Needs:    []checks.Need{checks.NeedSpans},
	Doc: `Error rates and alerts on traces read the span status. The HTTP conventions fix
it for server spans: a 5xx response is status Error and sets ` + "`error.type`" + ` (the
status code as a string, or the exception type); a 4xx response is the
client's mistake and stays Unset (only CLIENT spans mark 4xx as Error); 1xx–3xx
stay Unset. Status Ok is reserved for the application to assert success
explicitly; instrumentation never sets it, and Ok is final: a later Error is
ignored. A span's instrumentation scope only says who created it, not who set
its status, so Ok on an instrumentation span is reported without blame: it may be
application code calling ` + "`setStatus`/`set_status`" + ` on the active span. Each
span gets one finding with everything wrong with its status.

Node: instrumentation-http 0.30x sets Error and ` + "`error.type=\"500\"`" + ` on a 500; the
0.223 line that npm resolves on Node 20 sets no ` + "`error.type`" + `.

Python: the ASGI/FastAPI instrumentation sets Error on 5xx; in the default (old)
semconv mode it sets no ` + "`error.type`" + ` at all.

Bad (Node): a middleware marks every finished request Ok, or marks 404s Error:

    res.on('finish', () => span.setStatus({ code: res.statusCode < 400 ? SpanStatusCode.OK : SpanStatusCode.ERROR }));

Good (Node): leave the status to instrumentation-http; pin the 0.30x line.

Bad (Python): ` + "`span.set_status(StatusCode.ERROR)`" + ` in an HTTPException handler for 404s.

Good (Python): ` + "`OTEL_SEMCONV_STABILITY_OPT_IN=http`" + ` and no manual status on 4xx.

Fix: remove manual status handling on server spans; upgrade the HTTP
instrumentation so 5xx responses carry ` + "`error.type`" + `.`,
	Fix: checks.Fix{
		Node:   "leave span status to @opentelemetry/instrumentation-http (pin the 0.30x line for error.type); never set Ok or mark 4xx as Error",
		Python: "set OTEL_SEMCONV_STABILITY_OPT_IN=http for error.type; never set Ok or mark 4xx server spans as Error",
	},
	Spans: newStatusJudge,
}

// statusJudge keeps the first span per name with each status problem.
type statusJudge struct{ found firsts }

func newStatusJudge(*checks.Evidence) checks.SpanJudge { return &statusJudge{} }

func (j *statusJudge) Span(s *checks.Span) {
	if kind, problems := statusProblems(*s); len(problems) > 0 {
		j.found.add(s.Seq, s.Subject(), kind, finding("%s (trace %s)", strings.Join(problems, "; "), s.TraceID))
	}
}

func (j *statusJudge) Merge(later checks.SpanJudge) { j.found.merge(&later.(*statusJudge).found) }

func (j *statusJudge) Finish(p *checks.Pass) { j.found.report(p) }

// statusProblems judges one span. Everything wrong with it goes into one
// finding: a 500 with status Ok is one mistake, not a status problem and an
// Ok problem. kind groups findings so a span name is reported once per kind.
func statusProblems(s checks.Span) (kind string, problems []string) {
	code, ok := 0, false
	if isHTTPServer(s) {
		code, ok = spanStatusCode(s)
	}
	switch {
	case ok && code >= 500:
		if s.StatusCode != checks.StatusError {
			msg := fmt.Sprintf("status %s for a %d response, want Error", s.StatusCode, code)
			if s.StatusCode == checks.StatusOk {
				msg += " (Ok is final: once set, the failure can no longer be marked)"
			}
			problems = append(problems, msg)
		}
		if s.Attr(attrErrorType) == "" {
			problems = append(problems, fmt.Sprintf("no error.type on a %d response; %s", code, errorTypeHint(s)))
		}
		return "5xx", problems
	case ok && code >= 400 && s.StatusCode != checks.StatusUnset:
		return "4xx", []string{fmt.Sprintf("status %s for a %d response, want Unset: a 4xx is the client's error on a SERVER span", s.StatusCode, code)}
	case s.StatusCode == checks.StatusOk && fromInstrumentation(s):
		// The scope says who created the span, not who set its status: an
		// application calling setStatus on the active span looks the same.
		return "ok", []string{fmt.Sprintf("status Ok on a span created by instrumentation %s: Ok is reserved for the application to assert; "+
			"instrumentation leaves it Unset — if your code sets it, do so only where success is certain: Ok is final and hides a later Error", s.Scope)}
	}
	return "", nil
}

// errorTypeHint says why error.type is missing: Python's old semconv mode
// never sets it; on Node it is the 0.223 instrumentation line.
func errorTypeHint(s checks.Span) string {
	if hasAttr(s, legacyStatusCode) && !hasAttr(s, attrStatus) {
		return "the legacy semconv mode sets none: set OTEL_SEMCONV_STABILITY_OPT_IN=http"
	}
	if s.ResourceAttr("telemetry.sdk.language") == "nodejs" {
		return "@opentelemetry/instrumentation-http before the 0.30x line sets none: upgrade it"
	}
	return "set error.type to the status code or the exception type"
}
