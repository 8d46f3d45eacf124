package traces

import (
	"strings"

	"github.com/obslint/obslint/checks"
)

// Propagation: the server span continues the injected trace context.
var Propagation = &checks.Rule{
	ID:       "traces/propagation",
	Severity: checks.Error,
	Summary:  "the server span continues the injected traceparent and tracestate",
	Needs:    []checks.Need{checks.NeedSpans, checks.NeedTracedProbes},
	Doc: `Each probe carries ` + "`traceparent: 00-<trace id>-<parent id>-01`" + ` and
` + "`tracestate`" + `. A service that propagates context continues that trace: its SERVER
span has the injected trace id, its parent is the injected span id, and it
keeps the tracestate members (it may add its own). A service that ignores the
header starts a fresh trace per request, so a caller's trace stops at its door.

The probe's server span is found by trace id first; a server span found only
by time and path (another trace id) is reported as "fresh trace per request".

Bad (Node): propagation switched off, or a custom propagator without W3C:

    OTEL_PROPAGATORS=none   # or b3 only, while callers send traceparent

Good (Node): the default ` + "`OTEL_PROPAGATORS=tracecontext,baggage`" + `; sdk-node registers
the W3C propagator unless told otherwise.

Bad (Python): ` + "`set_global_textmap(B3MultiFormat())`" + ` alone, or an ASGI server
instrumented by hand with spans started without ` + "`extract(request.headers)`" + `.

Good (Python): keep the default propagators (or list
` + "`tracecontext,baggage`" + ` first) and use FastAPIInstrumentor, which extracts
the context.

Fix: keep the W3C ` + "`tracecontext`" + ` propagator, and start server spans from the
extracted context.`,
	Fix: checks.Fix{
		Node:   "keep OTEL_PROPAGATORS=tracecontext,baggage (the default) and let instrumentation-http start the server span",
		Python: "keep OTEL_PROPAGATORS=tracecontext,baggage and start server spans with context=extract(request.headers) (FastAPIInstrumentor does)",
	},
	Check: checkPropagation,
}

func checkPropagation(p *checks.Pass) {
	matched := matchedProbes(p.Evidence)
	if len(matched) == 0 {
		p.Skip("no traced probe left a server span (see traces/received)")
		return
	}
	for _, m := range matched {
		pr, s := m.Probe, m.Span
		switch m.How {
		case ByTime:
			p.Reportf(pr.Subject(), "fresh trace per request: the server span %q is in trace %s, not the injected %s; the traceparent header was not extracted",
				s.Name, s.TraceID, pr.TraceID)
		case ByTrace:
			p.Reportf(pr.Subject(), "the server span %q is in trace %s but its parent is %s, not the injected span id %s",
				s.Name, s.TraceID, orNone(s.ParentSpanID), pr.ParentSpanID)
		case ByParent:
			if s.SpanID == pr.ParentSpanID {
				p.Reportf(pr.Subject(), "the server span reuses the injected span id %s as its own (trace %s)", s.SpanID, s.TraceID)
			}
			if lost := lostTraceState(pr.TraceState, s.TraceState); len(lost) > 0 {
				p.Reportf(pr.Subject(), "tracestate %q was not kept: the server span has %q (trace %s)",
					strings.Join(lost, ","), s.TraceState, s.TraceID)
			}
		}
	}
}

// lostTraceState returns the members of the injected tracestate missing from
// the span's. Order may change (a vendor moves its own entry to the front),
// members may be added; none may be dropped.
func lostTraceState(injected, got string) []string {
	have := map[string]bool{}
	for _, m := range traceStateMembers(got) {
		have[m] = true
	}
	var lost []string
	for _, m := range traceStateMembers(injected) {
		if !have[m] {
			lost = append(lost, m)
		}
	}
	return lost
}

// traceStateMembers splits a W3C tracestate into its key=value members,
// dropping the optional whitespace and empty members the spec allows.
func traceStateMembers(ts string) []string {
	var out []string
	for m := range strings.SplitSeq(ts, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

func orNone(id string) string {
	if id == "" {
		return "none (a root span)"
	}
	return id
}
