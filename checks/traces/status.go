package traces

import (
	"fmt"

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
explicitly; instrumentation must never set it, because Ok overrides later
Error.

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
	Check: checkStatus,
}

func checkStatus(p *checks.Pass) {
	seen := once{}
	report := func(s checks.Span, kind, format string, args ...any) {
		if seen.first(s.Subject(), kind) {
			p.Reportf(s.Subject(), "%s (trace %s)", fmt.Sprintf(format, args...), s.TraceID)
		}
	}
	for _, s := range p.Spans {
		if s.StatusCode == checks.StatusOk && fromInstrumentation(s) {
			report(s, "ok", "status Ok set by instrumentation %s: Ok is for the application to assert", s.Scope)
		}
		if !isHTTPServer(s) {
			continue
		}
		code, ok := spanStatusCode(s)
		switch {
		case !ok:
		case code >= 500:
			if s.StatusCode != checks.StatusError {
				report(s, "5xx-status", "status %s for a %d response, want Error", s.StatusCode, code)
			}
			if s.Attr(attrErrorType) == "" {
				report(s, "error.type", "no error.type on a %d response; %s", code, errorTypeHint(s))
			}
		case code >= 400:
			if s.StatusCode != checks.StatusUnset {
				report(s, "4xx-status", "status %s for a %d response, want Unset: a 4xx is the client's error on a SERVER span", s.StatusCode, code)
			}
		}
	}
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
