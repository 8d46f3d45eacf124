package traces

import (
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
		trace := ev.TraceSpans(p.TraceID)
		local := spanIDs(trace)
		for _, s := range trace {
			if s.Kind != checks.KindServer {
				continue
			}
			switch {
			case s.ParentSpanID == p.ParentSpanID:
				byParent = append(byParent, s)
			case !local[s.ParentSpanID]:
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
	if byTime := ev.TimeCandidates(p); len(byTime) > 0 {
		return byTime, ByTime
	}
	return nil, ""
}

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

// probeServerSpans returns the server span of every probe, traced or
// not, once per span id: with the last probe that produced it.
func probeServerSpans(ev *checks.Evidence) []probeSpan {
	var out []probeSpan
	at := map[string]int{}
	for _, p := range ev.Probes {
		s, how, ok := ProbeServerSpan(ev, p)
		if !ok || s.SpanID == "" {
			continue
		}
		if i, seen := at[s.SpanID]; seen {
			out[i] = probeSpan{p, s, how}
			continue
		}
		at[s.SpanID] = len(out)
		out = append(out, probeSpan{p, s, how})
	}
	return out
}
