package traces

import (
	"github.com/obslint/obslint/checks"
)

// Received: spans arrived for every traced probe.
var Received = &checks.Rule{
	ID:       "traces/received",
	Severity: checks.Error,
	Summary:  "spans arrived for every probe request",
	Needs:    []checks.Need{checks.NeedTraces},
	Doc: `Every request the service answers must leave a trace. obslint sends each probe
with a sampled W3C ` + "`traceparent`" + ` and waits, bounded, for spans of that trace. A
probe is covered when any span of its trace arrived, or when a SERVER span for
its method and path started while it was in flight (a service that ignores
` + "`traceparent`" + ` is blamed once, by traces/propagation). Without probes (offline
lint) the rule asks only that some span exists. Probes that got no response
are not expected to leave a span.

Why it matters: no spans means no traces in production either. The usual causes
are an SDK that is never started, ` + "`OTEL_TRACES_EXPORTER=none`" + `, an exporter hard-coded
to another endpoint or protocol, a process killed before the batch processor
flushed, or a sampler that drops everything.

Bad (Node): the tracing bootstrap is imported after express, so nothing is patched:

    const express = require('express');
    require('./tracing');            // too late

Good (Node): load the SDK first:

    node --require ./tracing.js server.js
    // or: node --require @opentelemetry/auto-instrumentations-node/register server.js

Bad (Python): FastAPI is never instrumented, or the TracerProvider has no exporter.

Good (Python):

    opentelemetry-instrument uvicorn app:app
    # or in code:
    provider = TracerProvider(resource=Resource.create())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    FastAPIInstrumentor.instrument_app(app)

Fix: start the SDK before the web framework is imported, let the exporter read
` + "`OTEL_EXPORTER_OTLP_ENDPOINT`" + ` and ` + "`OTEL_EXPORTER_OTLP_PROTOCOL`" + `, and shut the SDK down
on SIGTERM so the last batch is flushed.`,
	Fix: checks.Fix{
		Node:   "load @opentelemetry/sdk-node before express (node --require ./tracing.js) and let the OTLP exporter read OTEL_EXPORTER_OTLP_ENDPOINT",
		Python: "run under opentelemetry-instrument or add a BatchSpanProcessor(OTLPSpanExporter()) and FastAPIInstrumentor.instrument_app(app)",
	},
	Check: checkReceived,
}

func checkReceived(p *checks.Pass) {
	if p.SpanCount() == 0 {
		p.Reportf("traces", "no spans were received from %s%s", traceSource(p.Evidence), probeNote(p.Evidence))
		return
	}
	for _, pr := range p.Probes {
		if !pr.Traced() || pr.Status == 0 {
			continue // a probe without a response is the capture problem, not a missing span
		}
		if _, _, ok := ProbeServerSpan(p.Evidence, pr); ok || len(p.TraceSpans(pr.TraceID)) > 0 {
			continue
		}
		p.Reportf(pr.Subject(), "no span arrived for trace %s (the request was answered with %d); "+
			"%d spans from other requests did: check the sampler and that the request is not excluded from instrumentation",
			pr.TraceID, pr.Status, p.SpanCount())
	}
}

func traceSource(ev *checks.Evidence) string {
	if ev.Captured.TraceSource != "" {
		return ev.Captured.TraceSource
	}
	return "the trace source"
}

func probeNote(ev *checks.Evidence) string {
	n := 0
	for _, p := range ev.Probes {
		if p.Traced() && p.Status != 0 {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return " although the service answered " + plural(n, "traced probe request")
}
