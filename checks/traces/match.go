package traces

import (
	"time"

	"github.com/obslint/obslint/checks"
)

// How says how a probe's server span was found.
type How string

const (
	// ByParent: the SERVER span of the probe's trace whose parent is the
	// injected span id. Propagation worked.
	ByParent How = "parent"
	// ByTrace: a SERVER span of the probe's trace entered from outside the
	// trace, but under another parent than the injected one.
	ByTrace How = "trace"
	// ByTime: a SERVER span of some other trace that started while the probe
	// was in flight and served its path: the service started a fresh trace.
	ByTime How = "time"
)

// windowSlack widens a probe's time window for clock granularity; probes
// run one after another, so it must stay far below the gap between them.
const windowSlack = 5 * time.Millisecond

// ProbeServerSpan finds the server span a probe produced, in one way shared
// by every per-probe rule: first by the injected trace context, then, so a
// service that ignores traceparent is blamed once (by traces/propagation)
// and not by every rule, by start time and path. ok is false when the probe
// left no server span at all.
func ProbeServerSpan(ev *checks.Evidence, p checks.Probe) (span checks.Span, how How, ok bool) {
	c, how := serverCandidates(ev, p)
	if len(c) == 0 {
		return checks.Span{}, "", false
	}
	return c[0], how, true
}

// serverCandidates returns every span the matcher accepts for the probe,
// found by the first method that finds any. More than one is a
// traces/server-span finding.
func serverCandidates(ev *checks.Evidence, p checks.Probe) ([]checks.Span, How) {
	if p.Traced() {
		var byParent, byTrace []checks.Span
		local := spanIDs(ev.TraceSpans(p.TraceID))
		for _, s := range ev.Spans {
			if s.TraceID != p.TraceID || s.Kind != checks.KindServer {
				continue
			}
			switch {
			case s.ParentSpanID == p.ParentSpanID:
				byParent = append(byParent, s)
			case !local[s.ParentSpanID]:
				// Entered from outside the trace; a SERVER span under a local
				// CLIENT span is a call the service made to itself.
				byTrace = append(byTrace, s)
			}
		}
		if len(byParent) > 0 {
			return byParent, ByParent
		}
		if len(byTrace) > 0 {
			return byTrace, ByTrace
		}
	}
	if byTime := timeCandidates(ev, p); len(byTime) > 0 {
		return byTime, ByTime
	}
	return nil, ""
}

// timeCandidates are entry SERVER spans outside every probe's trace that
// started within the probe's window and served its method and path.
func timeCandidates(ev *checks.Evidence, p checks.Probe) []checks.Span {
	if p.Start.IsZero() || p.End.IsZero() {
		return nil // offline evidence without timings: nothing to match on
	}
	probeTraces := map[string]bool{}
	for _, q := range ev.Probes {
		if q.Traced() {
			probeTraces[q.TraceID] = true
		}
	}
	from, to := p.Start.Add(-windowSlack), p.End.Add(windowSlack)
	var out []checks.Span
	for _, s := range ev.Spans {
		if s.Kind != checks.KindServer || probeTraces[s.TraceID] {
			continue
		}
		if s.Start.Before(from) || s.Start.After(to) || !servesProbe(s, p) {
			continue
		}
		if s.ParentSpanID != "" && spanIDs(ev.TraceSpans(s.TraceID))[s.ParentSpanID] {
			continue // a nested call inside the service, not the probe's entry
		}
		out = append(out, s)
	}
	return out
}

// servesProbe reports whether the span's method and path (or route) are the
// probe's.
func servesProbe(s checks.Span, p checks.Probe) bool {
	if m := spanMethod(s); m != "" && m != p.Method {
		return false
	}
	if path := spanPath(s); path != "" && path == probePath(p) {
		return true
	}
	return p.Route != "" && s.Attr(attrRoute) == p.Route
}

// spanIDs is the set of span ids of some spans.
func spanIDs(spans []checks.Span) map[string]bool {
	ids := make(map[string]bool, len(spans))
	for _, s := range spans {
		if s.SpanID != "" {
			ids[s.SpanID] = true
		}
	}
	return ids
}

// probeSpan pairs a probe with the server span the matcher found for it.
type probeSpan struct {
	Probe checks.Probe
	Span  checks.Span
	How   How
}

// matchedProbes returns the traced probes that left a server span, with it.
func matchedProbes(ev *checks.Evidence) []probeSpan {
	var out []probeSpan
	for _, p := range ev.Probes {
		if !p.Traced() {
			continue
		}
		if s, how, ok := ProbeServerSpan(ev, p); ok {
			out = append(out, probeSpan{p, s, how})
		}
	}
	return out
}

// probeBySpan maps span ids of the server spans of every probe, traced or
// not, to their probe, for the rules that walk spans but want to know what
// the probe declared.
func probeBySpan(ev *checks.Evidence) map[string]checks.Probe {
	out := map[string]checks.Probe{}
	for _, p := range ev.Probes {
		if s, _, ok := ProbeServerSpan(ev, p); ok && s.SpanID != "" {
			out[s.SpanID] = p
		}
	}
	return out
}
