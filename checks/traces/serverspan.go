package traces

import (
	"slices"
	"strings"

	"github.com/obslint/obslint/checks"
)

// ServerSpan: each probe produced exactly one SERVER span.
var ServerSpan = &checks.Rule{
	ID:       "traces/server-span",
	Severity: checks.Error,
	Summary:  "each probe produced exactly one SERVER span",
	Needs:    []checks.Need{checks.NeedSpans, checks.NeedTracedProbes},
	Doc: `An incoming HTTP request is one SERVER span: the span whose duration is the
request's latency, whose status is the request's outcome, and from which
RED metrics and service maps are derived. Framework spans below it (express's
` + "`middleware - …`" + ` and ` + "`request handler`" + `, the ASGI ` + "`http send`" + `/` + "`http receive`" + ` children) are
INTERNAL. obslint selects the server span by kind, never by count.

Two SERVER spans under the injected parent mean the request is counted twice,
usually because two instrumentations wrap the same server (instrumentation-http
plus a hand-made ` + "`SpanKind.SERVER`" + ` span in a middleware, or
` + "`FastAPIInstrumentor.instrument_app`" + ` and ` + "`opentelemetry-instrument`" + ` together). A trace
with spans but no SERVER span means the HTTP server instrumentation is missing.
A route that calls the service itself has a second SERVER span under a CLIENT
span of the same trace; that one is fine. Probes whose trace left no span at
all are reported by traces/received.

Bad (Node): a middleware opens its own server span:

    app.use((req, res, next) => tracer.startActiveSpan('request',
      { kind: SpanKind.SERVER }, span => { res.on('finish', () => span.end()); next(); }));

Good (Node): let @opentelemetry/instrumentation-http create the server span and
enrich it: ` + "`trace.getActiveSpan()?.setAttribute('app.user_id', id)`" + `.

Bad (Python): ` + "`FastAPIInstrumentor.instrument_app(app)`" + ` in code while also running
under ` + "`opentelemetry-instrument`" + `, or a manual ` + "`SpanKind.SERVER`" + ` span in a dependency.

Good (Python): instrument once; use INTERNAL spans for work inside a request.

Fix: keep exactly one server instrumentation and make your own spans INTERNAL.`,
	Fix: checks.Fix{
		Node:   "let instrumentation-http create the only SERVER span; make hand-made spans SpanKind.INTERNAL",
		Python: "instrument FastAPI once (instrument_app or opentelemetry-instrument, not both); make hand-made spans INTERNAL",
	},
	Check: checkServerSpan,
}

func checkServerSpan(p *checks.Pass) {
	judged := 0
	for _, pr := range p.Probes {
		if !pr.Traced() {
			continue
		}
		c, how := serverCandidates(p.Evidence, pr)
		trace := p.TraceSpans(pr.TraceID)
		if len(c) == 0 && len(trace) == 0 {
			continue // nothing arrived: traces/received's finding
		}
		judged++
		switch {
		case len(c) == 0:
			p.Reportf(pr.Subject(), "trace %s has %s (%s) but no SERVER span: the HTTP server is not instrumented",
				pr.TraceID, plural(len(trace), "span"), kindList(trace))
		case len(c) > 1:
			p.Reportf(pr.Subject(), "%d SERVER spans (%s) %s: the request is counted twice", len(c), nameList(c), howPhrase(how, pr))
		}
	}
	if judged == 0 {
		p.Skip("no traced probe left any span (see traces/received)")
	}
}

func howPhrase(how How, pr checks.Probe) string {
	switch how {
	case ByParent:
		return "share the injected parent " + pr.ParentSpanID + " in trace " + pr.TraceID
	case ByTrace:
		return "enter trace " + pr.TraceID
	}
	return "started while the probe was in flight"
}

// kindList names the kinds present among spans: "INTERNAL, CLIENT".
func kindList(spans []checks.Span) string {
	var kinds []string
	for _, s := range spans {
		if !slices.Contains(kinds, s.Kind) {
			kinds = append(kinds, s.Kind)
		}
	}
	return strings.Join(kinds, ", ")
}

// nameList quotes span names: `"GET /users/:id", "request"`.
func nameList(spans []checks.Span) string {
	names := make([]string, len(spans))
	for i, s := range spans {
		names[i] = `"` + s.Name + `"`
	}
	return strings.Join(names, ", ")
}
