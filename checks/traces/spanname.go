package traces

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/obslint/obslint/checks"
)

// SpanName: server span names are low-cardinality.
var SpanName = &checks.Rule{
	ID:       "traces/span-name",
	Severity: checks.Warning,
	Summary:  "server span names are {METHOD} {route}, never the raw path",
	Needs:    []checks.Need{checks.NeedSpans},
	Doc: `A server span's name is ` + "`{METHOD} {http.route}`" + `, or just ` + "`{METHOD}`" + ` when the
framework has no route (an unknown path, a bare ` + "`http.createServer`" + `). Span names
are indexed and grouped on: a name carrying the concrete path (` + "`GET /users/42`" + `)
makes one operation per user and explodes cardinality, and the semantic
conventions forbid defaulting to the URI path. The pre-v1.18 form ` + "`HTTP GET`" + ` is
reported too.

Bad (Node): a middleware renames the span after the URL:

    trace.getActiveSpan()?.updateName(` + "`${req.method} ${req.originalUrl}`" + `);

Good (Node): leave it to instrumentation-http and instrumentation-express,
which name the span ` + "`GET /users/:id`" + ` from the matched route.

Bad (Python): bare ` + "`OpenTelemetryMiddleware`" + ` (ASGI) around the app names spans
` + "`GET /users/42`" + `.

Good (Python): ` + "`FastAPIInstrumentor.instrument_app(app)`" + ` names them
` + "`GET /users/{user_id}`" + ` from the route template.

Fix: use the framework instrumentation, which knows the route; never build a
span name from the request path.`,
	Fix: checks.Fix{
		Node:   "let instrumentation-http/express name server spans from the route; do not updateName() with req.url",
		Python: "use FastAPIInstrumentor (route templates) instead of the bare ASGI middleware; do not name spans after request.url.path",
	},
	Spans: newSpanNameJudge,
}

// spanNameRE is the shape of an HTTP server span name (reference §4.6 TR-010).
var spanNameRE = regexp.MustCompile(`^(GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|QUERY|HTTP)( .+)?$`)

// legacyNameRE is the old `HTTP GET` form: the method where the route goes.
var legacyNameRE = regexp.MustCompile(`^HTTP (GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|QUERY)$`)

// spanNameJudge keeps the first badly named HTTP server span per name.
type spanNameJudge struct {
	probes []checks.Probe
	httpFindings
}

func newSpanNameJudge(ev *checks.Evidence) checks.SpanJudge {
	return &spanNameJudge{probes: ev.Probes}
}

func (j *spanNameJudge) Span(s *checks.Span) {
	if !j.counts(s) || j.found.has(s.Subject(), "name") {
		return // an earlier span of this name is the one reported
	}
	if msg := spanNameProblem(*s, j.probes); msg != "" {
		j.found.add(s.Seq, s.Subject(), "name", finding("%s (trace %s)", msg, s.TraceID))
	}
}

func (j *spanNameJudge) Merge(later checks.SpanJudge) { j.merge(&later.(*spanNameJudge).httpFindings) }

func (j *spanNameJudge) Finish(p *checks.Pass) {
	if !j.none(p) {
		j.found.report(p)
	}
}

// spanNameProblem judges one server span name against its attributes and
// the probes' declared routes; "" when the name is fine.
func spanNameProblem(s checks.Span, probes []checks.Probe) string {
	if !spanNameRE.MatchString(s.Name) {
		return fmt.Sprintf("name %q is not {METHOD} {route}", s.Name)
	}
	if m := legacyNameRE.FindStringSubmatch(s.Name); m != nil {
		return fmt.Sprintf("name %q is the pre-v1.18 form; want %q or %q", s.Name, m[1], m[1]+" {http.route}")
	}
	if pr, ok := concretePathIn(s.Name, probes); ok {
		return fmt.Sprintf("name %q contains the concrete path %s of probe %s %s; name it after the route %s",
			s.Name, probePath(pr), pr.Method, probePath(pr), pr.Route)
	}
	method := nameMethod(spanMethod(s))
	if method == "" {
		method, _, _ = strings.Cut(s.Name, " ")
	}
	if route := s.Attr(attrRoute); route != "" {
		if want := method + " " + route; s.Name != want {
			return fmt.Sprintf("name %q, want %q from http.route", s.Name, want)
		}
		return ""
	}
	if _, target, ok := strings.Cut(s.Name, " "); ok && target == spanPath(s) {
		return fmt.Sprintf("name %q carries the raw path; without http.route the name is just %q", s.Name, method)
	}
	return ""
}

// nameMethod is the method part of a span name: unknown methods are "HTTP".
func nameMethod(m string) string {
	if m == "_OTHER" {
		return "HTTP"
	}
	return m
}

// concretePathIn finds a probe with a route template whose concrete path
// (/users/42, not /users/:id) appears in the name as a whole path.
func concretePathIn(name string, probes []checks.Probe) (checks.Probe, bool) {
	for _, pr := range probes {
		path := probePath(pr)
		if pr.Route == "" || path == pr.Route || path == "/" {
			continue
		}
		for i := strings.Index(name, path); i >= 0; {
			end := i + len(path)
			if end == len(name) || strings.ContainsRune("/? ", rune(name[end])) {
				return pr, true
			}
			next := strings.Index(name[i+1:], path)
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	return checks.Probe{}, false
}
