package traces

import (
	"fmt"
	"strings"

	"github.com/obslint/obslint/checks"
)

// HTTPSemconv: server spans carry the stable HTTP attribute names.
var HTTPSemconv = &checks.Rule{
	ID:       "traces/http-semconv",
	Severity: checks.Warning,
	Summary:  "server spans carry the stable HTTP semantic convention attributes",
	Needs:    []checks.Need{checks.NeedSpans},
	Doc: `HTTP semantic conventions are stable since v1.23: a server span carries
` + "`http.request.method`" + `, ` + "`url.path`" + `, ` + "`url.scheme`" + `, ` + "`http.response.status_code`" + ` (an int)
and ` + "`http.route`" + ` when the framework knows the route. Dashboards, the span metrics
connector and backends key on these names. The old names (` + "`http.method`" + `,
` + "`http.status_code`" + `, ` + "`http.target`" + `, ` + "`http.url`" + `, ` + "`http.scheme`" + `, ` + "`http.host`" + `, ` + "`http.flavor`" + `,
` + "`http.user_agent`" + `, ` + "`http.server_name`" + `, ` + "`net.host.name`" + `, ` + "`net.host.port`" + `, ` + "`net.peer.ip`" + `,
` + "`net.peer.port`" + `) are reported; both sets together is "dup mode", a migration
step that doubles attribute volume.

Node: @opentelemetry/instrumentation-http emits only the stable names from
0.221.0; versions 0.54–0.220 emit the old names unless
` + "`OTEL_SEMCONV_STABILITY_OPT_IN=http`" + `.

Python: the ASGI/FastAPI/Flask instrumentations still default to the old names
(late 2026); ` + "`OTEL_SEMCONV_STABILITY_OPT_IN=http`" + ` switches to the stable ones,
` + "`http/dup`" + ` emits both.

Bad (Python, default mode):

    http.method=GET http.target=/users/42 http.status_code=200 net.peer.ip=127.0.0.1

Good (Python with ` + "`OTEL_SEMCONV_STABILITY_OPT_IN=http`" + `, Node ≥ 0.221):

    http.request.method=GET url.path=/users/42 url.scheme=http
    http.response.status_code=200 http.route=/users/{user_id}

Fix: Python: set ` + "`OTEL_SEMCONV_STABILITY_OPT_IN=http`" + `. Node: upgrade
@opentelemetry/instrumentation-http (or sdk-node / auto-instrumentations-node) to
a release ≥ 0.221.`,
	Fix: checks.Fix{
		Node:   "upgrade @opentelemetry/instrumentation-http to ≥ 0.221 (sdk-node 0.30x), which emits only the stable names",
		Python: "set OTEL_SEMCONV_STABILITY_OPT_IN=http",
	},
	Spans: newSemconvJudge,
}

// semconvJudge keeps the first span with each problem per span name. The
// route problem needs the probe a span served, known once every span was
// fed: Finish looks for it among the probes' server spans.
type semconvJudge struct{ httpFindings }

func newSemconvJudge(*checks.Evidence) checks.SpanJudge { return &semconvJudge{} }

func (j *semconvJudge) Span(s *checks.Span) {
	if !j.counts(s) {
		return
	}
	for _, f := range semconvProblems(*s, checks.Probe{}) {
		j.found.addFix(s.Seq, s.Subject(), f.kind, f.fix, finding("%s (trace %s)", f.msg, s.TraceID))
	}
}

func (j *semconvJudge) Merge(later checks.SpanJudge) { j.merge(&later.(*semconvJudge).httpFindings) }

func (j *semconvJudge) Finish(p *checks.Pass) {
	if j.none(p) {
		return
	}
	for _, m := range probeServerSpans(p.Evidence) {
		if f, ok := routeProblem(m.Span, m.Probe); ok && isHTTPServer(m.Span) {
			j.found.addFix(m.Span.Seq, m.Span.Subject(), f.kind, f.fix, finding("%s (trace %s)", f.msg, m.Span.TraceID))
		}
	}
	j.found.report(p)
}

// problem is one semconv problem of a span; fix is empty when the rule's
// default remedy (switch to the stable names) applies.
type problem struct {
	kind, msg string
	fix       checks.Fix
}

// handMadeFix is the remedy when stable attributes are missing or mistyped
// although the span is not in legacy mode: a span built by hand.
var handMadeFix = checks.Fix{
	Node:   "let @opentelemetry/instrumentation-http create the server span (and instrumentation-express set http.route) instead of building it by hand",
	Python: "let the FastAPI/ASGI instrumentation create the server span, with OTEL_SEMCONV_STABILITY_OPT_IN=http",
}

// semconvProblems judges one HTTP server span. pr is the probe that produced
// it, zero when unknown; a probe with a route template says the framework
// knows the route, so http.route is due.
func semconvProblems(s checks.Span, pr checks.Probe) []problem {
	var legacy, missing []string
	for _, k := range legacyHTTPAttrs {
		if hasAttr(s, k) {
			legacy = append(legacy, k)
		}
	}
	for _, k := range stableHTTPAttrs {
		if !hasAttr(s, k) {
			missing = append(missing, k)
		}
	}
	var out []problem
	legacyOnly := len(legacy) > 0 && len(missing) == len(stableHTTPAttrs)
	switch {
	case legacyOnly:
		out = append(out, problem{kind: "legacy", msg: fmt.Sprintf("legacy HTTP semconv: %s instead of %s; %s",
			strings.Join(legacy, ", "), strings.Join(stableHTTPAttrs, ", "), optInHint)})
	case len(legacy) > 0:
		out = append(out, problem{kind: "dup", msg: fmt.Sprintf("dup mode: both the legacy (%s) and the stable HTTP attributes are set; %s",
			strings.Join(legacy, ", "), optInHint)})
	}
	if !legacyOnly && len(missing) > 0 {
		out = append(out, problem{kind: "missing", msg: "missing stable HTTP attributes: " + strings.Join(missing, ", "), fix: handMadeFix})
	}
	if v, ok := s.Attrs[attrStatus]; ok && !isInt(v) {
		out = append(out, problem{kind: "type", msg: fmt.Sprintf("%s is %T %v, want an int", attrStatus, v, v), fix: handMadeFix})
	}
	if f, ok := routeProblem(s, pr); ok {
		out = append(out, f)
	}
	return out
}

// optInHint is the remedy for old and dup mode in both stacks' words.
const optInHint = "Python: set OTEL_SEMCONV_STABILITY_OPT_IN=http; Node: upgrade @opentelemetry/instrumentation-http to ≥ 0.221"

// routeProblem is the problem of a span that served a probe whose route
// template the framework knows, yet carries no http.route.
func routeProblem(s checks.Span, pr checks.Probe) (problem, bool) {
	if pr.Route == "" || hasAttr(s, attrRoute) {
		return problem{}, false
	}
	return problem{kind: "route", msg: fmt.Sprintf("no %s although the probe's route %s is known to the framework", attrRoute, pr.Route), fix: handMadeFix}, true
}
