package traces

import (
	"slices"
	"strings"

	"github.com/obslint/obslint/checks"
)

// ExpectedRoutes checks that every declared route produced a SERVER span
// carrying it as http.route.
var ExpectedRoutes = &checks.Rule{
	ID:       "traces/expected-routes",
	Severity: checks.Error,
	Summary:  "every route in expect.routes has a SERVER span with that http.route",
	Doc: `Per-route latency and error views in a tracing backend group server spans by
` + "`http.route`" + `. A route the instrumentation never sees (a handler mounted outside the
instrumented app, a router the instrumentation does not patch) or reports without a route
template is invisible there. Declaring the routes that matter in obslint.yaml (` + "`expect.routes`" + `,
or ` + "`--expect-route`" + `) checks that each one produced at least one SERVER span whose ` + "`http.route`" + `
equals the template exactly. Probe those routes in the probe plan, or nothing will serve them.
The rule is not evaluated when nothing is declared.

**Node (@opentelemetry/sdk-node).** ` + "`http.route`" + ` comes from ` + "`@opentelemetry/instrumentation-express`" + `,
which must be loaded before express is required:

    // bad: express required before the SDK started; spans say "GET" with no http.route
    const express = require('express'); require('./tracing');
    // good: node --require ./tracing.js server.js, with express instrumentation enabled
    instrumentations: [getNodeAutoInstrumentations()]

**Python (opentelemetry-sdk).** ` + "`FastAPIInstrumentor`" + ` sets ` + "`http.route`" + ` from the matched route:

    # bad: routes on a sub-application mounted after instrumenting
    FastAPIInstrumentor.instrument_app(app); app.mount("/api", api)
    # good
    app.mount("/api", api); FastAPIInstrumentor.instrument_app(app)

**Fix.** Instrument the framework so the route's spans carry ` + "`http.route`" + `, and probe the route.`,
	Fix: checks.Fix{
		Node:   "load the SDK before express and enable @opentelemetry/instrumentation-express so server spans carry http.route",
		Python: "instrument the FastAPI/Flask app after all routes are mounted so server spans carry http.route",
	},
	Needs: []checks.Need{checks.NeedSpans},
	Spans: newRoutesJudge,
}

// maxRoutes bounds the distinct http.route values kept.
const maxRoutes = 4096

// routesJudge keeps the http.route values of the SERVER spans.
type routesJudge struct{ seen map[string]bool }

func newRoutesJudge(*checks.Evidence) checks.SpanJudge { return &routesJudge{seen: map[string]bool{}} }

func (j *routesJudge) Span(s *checks.Span) {
	if s.Kind != checks.KindServer {
		return
	}
	if r := s.Attr(attrRoute); !j.seen[r] && len(j.seen) < maxRoutes {
		j.seen[r] = true
	}
}

func (j *routesJudge) Merge(later checks.SpanJudge) {
	for r := range later.(*routesJudge).seen {
		if len(j.seen) < maxRoutes {
			j.seen[r] = true
		}
	}
}

func (j *routesJudge) Finish(p *checks.Pass) {
	if len(p.Expect.Routes) == 0 {
		p.Skip("no route declared in expect.routes (or --expect-route)")
		return
	}
	seen := j.seen
	for _, route := range p.Expect.Routes {
		if seen[route] {
			continue
		}
		msg := "no SERVER span has http.route " + route
		if near := similarRoutes(seen, route); len(near) > 0 {
			msg += "; server spans have http.route " + strings.Join(near, ", ")
		}
		p.Reportf("route "+route, "%s", msg)
	}
}

// similarRoutes lists the routes seen that share the declared route's first
// segment, to show a template written in the other framework's syntax.
func similarRoutes(seen map[string]bool, route string) []string {
	prefix := firstSegment(route)
	var out []string
	for r := range seen {
		if r != "" && firstSegment(r) == prefix {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

func firstSegment(route string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(route, "/"), "/")
	return seg
}
