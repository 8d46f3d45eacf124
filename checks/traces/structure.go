package traces

import (
	"regexp"

	"github.com/obslint/obslint/checks"
)

// Structure: spans form well-made trees.
var Structure = &checks.Rule{
	ID:       "traces/structure",
	Severity: checks.Error,
	Summary:  "valid ids, end after start, no orphan parents, exception events",
	Needs:    []checks.Need{checks.NeedSpans},
	Doc: `A trace is a tree: every span has non-zero ids, ends after it starts, and its
parent is a span of the same trace (or, for the probe's server span, the
injected remote parent). A parent id that never arrived means a span was never
ended or never exported, and backends show the trace broken in two. A server
span whose request failed with a thrown error (status Error with a message,
or an ` + "`error.type`" + ` naming an exception) needs an ` + "`exception`" + ` event with the
stack somewhere in its subtree: express records it on its ` + "`request handler`" + `
child, FastAPI on the server span itself.

On a shared target (` + "`obslint audit`" + `) orphans are looked for only in the probes'
traces: another request's trace may have begun before obslint was listening, so
its early spans were never there to be received.

Bad (Node): a manual span never ended, so its children are orphans:

    const span = tracer.startSpan('load user');   // no span.end() on the error path

Good (Node):

    tracer.startActiveSpan('load user', async span => {
      try { return await load(id); }
      catch (err) { span.recordException(err); span.setStatus({ code: SpanStatusCode.ERROR }); throw err; }
      finally { span.end(); } });

Bad (Python): ` + "`start_span`" + ` without ` + "`end()`" + `, or ` + "`start_as_current_span(..., record_exception=False)`" + `.

Good (Python): ` + "`with tracer.start_as_current_span(\"load user\"):`" + ` records exceptions and
ends the span on every path.

Fix: end every span in a finally block (or a with/startActiveSpan scope) and
record exceptions before setting Error.`,
	Fix: checks.Fix{
		Node:   "end every manual span in finally; call span.recordException(err) before setStatus(ERROR)",
		Python: "use with tracer.start_as_current_span(...) so spans end and exceptions are recorded",
	},
	Check: checkStructure,
}

func checkStructure(p *checks.Pass) {
	byTrace := map[string][]checks.Span{}
	for _, s := range p.Spans {
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	traces := map[string]map[string]bool{} // trace id -> span ids
	for id, spans := range byTrace {
		traces[id] = spanIDs(spans)
	}
	injected := map[string]map[string]bool{} // trace id -> injected parent ids
	for _, pr := range p.Probes {
		if pr.Traced() {
			if injected[pr.TraceID] == nil {
				injected[pr.TraceID] = map[string]bool{}
			}
			injected[pr.TraceID][pr.ParentSpanID] = true
		}
	}
	seen := once{}
	report := func(s checks.Span, kind, format string, args ...any) {
		if seen.first(s.Subject(), kind) {
			p.Reportf(s.Subject(), format, args...)
		}
	}
	for _, s := range p.Spans {
		switch {
		case s.TraceID == "":
			report(s, "trace-id", "all-zero trace id (span %s)", orNone(s.SpanID))
		case s.SpanID == "":
			report(s, "span-id", "all-zero span id in trace %s", s.TraceID)
		}
		if s.End.Before(s.Start) {
			report(s, "time", "ends %s before it starts (trace %s): the span was never ended or its clock is broken", s.Start.Sub(s.End), s.TraceID)
		}
		if (!p.Target.Shared || injected[s.TraceID] != nil) && orphan(s, traces[s.TraceID], injected[s.TraceID]) {
			report(s, "orphan", "parent %s is not a span of trace %s: the parent span was never ended or exported", s.ParentSpanID, s.TraceID)
		}
	}
	for _, s := range p.ServerSpans() {
		if s.StatusCode != checks.StatusError || s.TraceID == "" {
			continue
		}
		sub := subtree(byTrace[s.TraceID], s.SpanID)
		if why, thrown := thrownError(sub); thrown && !hasException(sub) {
			report(s, "exception", "failed with a thrown error (%s) but no span of its subtree has an exception event (trace %s)", why, s.TraceID)
		}
	}
}

// orphan reports whether s names a parent that is neither a span of its
// trace nor a parent obslint injected. Entry spans (SERVER, CONSUMER) may
// continue a remote parent: an upstream caller that was not captured or,
// for a probe's server span, what traces/propagation judges.
func orphan(s checks.Span, local, injected map[string]bool) bool {
	if s.ParentSpanID == "" || local[s.ParentSpanID] || injected[s.ParentSpanID] {
		return false
	}
	return s.Kind != checks.KindServer && s.Kind != checks.KindConsumer
}

// subtree returns the span with this id and its descendants within one
// trace. It tolerates cycles and duplicate ids in hostile input.
func subtree(trace []checks.Span, root string) []checks.Span {
	children := map[string][]int{}
	var out []checks.Span
	for i, s := range trace {
		children[s.ParentSpanID] = append(children[s.ParentSpanID], i)
		if s.SpanID == root {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	visited := map[string]bool{root: true}
	queue := []string{root}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, i := range children[id] {
			c := trace[i]
			if c.SpanID == "" || visited[c.SpanID] {
				continue
			}
			visited[c.SpanID] = true
			out = append(out, c)
			queue = append(queue, c.SpanID)
		}
	}
	return out
}

// statusCodeRE matches an error.type that is an HTTP status code, which the
// instrumentation sets from the response alone (no exception involved).
var statusCodeRE = regexp.MustCompile(`^[1-5][0-9][0-9]$`)

// thrownError reports whether a failed request came from a thrown error:
// a span with status Error and a description (what instrumentations record
// from the exception), or an error.type naming an exception class. A 500
// returned on purpose has neither and needs no exception event.
func thrownError(spans []checks.Span) (string, bool) {
	for _, s := range spans {
		if s.StatusCode == checks.StatusError && s.StatusMessage != "" {
			return "span " + s.Name + ": " + checks.Excerpt(s.StatusMessage, 80), true
		}
		if et := s.Attr(attrErrorType); et != "" && et != "_OTHER" && !statusCodeRE.MatchString(et) {
			return "error.type " + et, true
		}
	}
	return "", false
}

func hasException(spans []checks.Span) bool {
	for _, s := range spans {
		for _, e := range s.Events {
			if e.Name == "exception" {
				return true
			}
		}
	}
	return false
}
