package checks

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"time"
)

// Bounds of the span index: past them spans are still fed to every rule,
// but not indexed, and the result says so (SpanIndex.Problems).
const (
	// MaxIndexedSpans bounds the (trace, span) pairs and traces indexed:
	// about 40 bytes each.
	MaxIndexedSpans = 1 << 20
	// maxProbeTraceSpans bounds the spans kept of one probe's trace.
	maxProbeTraceSpans = 4096
	// maxTimeCandidates bounds, per probe, the SERVER spans of other traces
	// that started while it was in flight.
	maxTimeCandidates = 64
	// maxServiceNames bounds the distinct service.name values counted.
	maxServiceNames = 64
)

// SpanIndex is what the judge keeps of the spans it is fed for the rules
// that look spans up rather than judge each one: which (trace, span) pairs
// exist, the spans of the probes' own traces, the SERVER spans that may
// have served a probe by time, the first SERVER span of every other trace,
// the service names and the SDK language. Its size is bounded
// (MaxIndexedSpans and the caps above), never the number of spans judged.
//
// Indexes merge: one fed the spans that follow another's folds into it
// with Merge, giving the index of one pass (below the bounds).
type SpanIndex struct {
	probes []Probe
	// probeTrace says which trace ids the probes injected.
	probeTrace map[string]bool
	// n counts the spans fed; unindexed those past MaxIndexedSpans.
	n, unindexed int
	pairs        map[spanKey]struct{}
	traces       map[traceKey]struct{}
	// byTrace holds the spans of each probe trace, in arrival order.
	byTrace map[string][]Span
	// candidates holds, per probe (by index in probes), the SERVER spans
	// of other traces that started in its window and serve its method and
	// path or route, in arrival order.
	candidates [][]Span
	// serverStart is when the first SERVER span of each trace no probe
	// injected started (not for a shared target, nor without probes: it
	// attributes log lines to probes).
	serverStart map[traceKey]time.Time
	shared      bool
	// names counts the service.name resource attribute, in order of first
	// appearance ("" for spans without one).
	names []NameCount
	// lang is the first SDK language that names a stack, and why.
	lang [2]string
	// records counts the OTLP log records fed, recordNames their
	// service.name values like names.
	records     int
	recordNames []NameCount
}

// NameCount is a value and how many spans carry it.
type NameCount struct {
	Name  string
	Count int
}

type spanKey [24]byte
type traceKey [16]byte

// newSpanIndex prepares an index for spans about ev's probes.
func newSpanIndex(ev *Evidence) *SpanIndex {
	x := &SpanIndex{
		probes:      ev.Probes,
		probeTrace:  map[string]bool{},
		pairs:       map[spanKey]struct{}{},
		traces:      map[traceKey]struct{}{},
		byTrace:     map[string][]Span{},
		candidates:  make([][]Span, len(ev.Probes)),
		serverStart: map[traceKey]time.Time{},
		shared:      ev.Target.Shared,
	}
	for _, p := range ev.Probes {
		if p.Traced() {
			x.probeTrace[p.TraceID] = true
		}
	}
	return x
}

// add indexes one span (borrowed: what is kept is copied).
func (x *SpanIndex) add(s *Span) {
	x.n++
	x.addName(s.ResourceAttr("service.name"), 1)
	if x.lang[0] == "" {
		x.lang = spanLanguage(s)
	}
	if len(x.pairs) < MaxIndexedSpans {
		t := idKey(s.TraceID)
		x.pairs[pairOf(t, s.SpanID)] = struct{}{}
		x.traces[t] = struct{}{}
	} else {
		x.unindexed++
	}
	if x.probeTrace[s.TraceID] {
		if t := x.byTrace[s.TraceID]; len(t) < maxProbeTraceSpans {
			x.byTrace[s.TraceID] = append(t, *s)
		}
		return
	}
	if s.Kind != KindServer {
		return
	}
	for i, p := range x.probes {
		if len(x.candidates[i]) < maxTimeCandidates && startedDuring(s, p) && servesProbe(s, p) {
			x.candidates[i] = append(x.candidates[i], *s)
		}
	}
	if s.TraceID != "" && !x.shared && len(x.probes) > 0 && len(x.serverStart) < MaxIndexedSpans {
		if t := idKey(s.TraceID); !hasKey(x.serverStart, t) {
			x.serverStart[t] = s.Start
		}
	}
}

// addRecord counts one OTLP log record.
func (x *SpanIndex) addRecord(r *LogRecord) {
	x.records++
	name, _ := r.Resource["service.name"].(string)
	x.recordNames = addName(x.recordNames, name, 1)
}

func (x *SpanIndex) addName(name string, n int) { x.names = addName(x.names, name, n) }

// addName counts n more of name, in order of first appearance, up to
// maxServiceNames names.
func addName(names []NameCount, name string, n int) []NameCount {
	for i := range names {
		if names[i].Name == name {
			names[i].Count += n
			return names
		}
	}
	if len(names) < maxServiceNames {
		names = append(names, NameCount{name, n})
	}
	return names
}

// merge folds in the index of the spans fed after x's. later is only read.
func (x *SpanIndex) merge(later *SpanIndex) {
	x.n += later.n
	x.unindexed += later.unindexed
	for _, nc := range later.names {
		x.addName(nc.Name, nc.Count)
	}
	x.records += later.records
	for _, nc := range later.recordNames {
		x.recordNames = addName(x.recordNames, nc.Name, nc.Count)
	}
	if x.lang[0] == "" {
		x.lang = later.lang
	}
	for k := range later.pairs {
		if len(x.pairs) >= MaxIndexedSpans {
			x.unindexed++
			continue
		}
		x.pairs[k] = struct{}{}
	}
	for k := range later.traces {
		if len(x.traces) < MaxIndexedSpans {
			x.traces[k] = struct{}{}
		}
	}
	for id, spans := range later.byTrace {
		t := x.byTrace[id]
		x.byTrace[id] = append(t, spans[:min(len(spans), maxProbeTraceSpans-len(t))]...)
	}
	for i, c := range later.candidates {
		x.candidates[i] = append(x.candidates[i], c[:min(len(c), maxTimeCandidates-len(x.candidates[i]))]...)
	}
	for k, t := range later.serverStart {
		if _, ok := x.serverStart[k]; !ok && len(x.serverStart) < MaxIndexedSpans {
			x.serverStart[k] = t
		}
	}
}

// Problems says what the index could not hold.
func (x *SpanIndex) Problems() []Problem {
	if x == nil || x.unindexed == 0 {
		return nil
	}
	return []Problem{{Phase: "limit", Message: fmt.Sprintf("%d spans past the first %d were judged by every span rule but not indexed: "+
		"log lines, exemplars and parents that refer to them are looked up in the first %d only", x.unindexed, MaxIndexedSpans, MaxIndexedSpans)}}
}

// Count is the number of spans fed.
func (x *SpanIndex) Count() int {
	if x == nil {
		return 0
	}
	return x.n
}

// HasSpan reports whether a span with this id arrived in this trace.
func (x *SpanIndex) HasSpan(traceID, spanID string) bool {
	if x == nil {
		return false
	}
	_, ok := x.pairs[pairKey(traceID, spanID)]
	return ok
}

// HasTrace reports whether any span of this trace arrived.
func (x *SpanIndex) HasTrace(traceID string) bool {
	if x == nil {
		return false
	}
	_, ok := x.traces[idKey(traceID)]
	return ok
}

// ServerStart returns when the first SERVER span of a trace that no probe
// injected started; ok is false for a probe's trace, a trace without one,
// and for a shared target (which the index does not track).
func (x *SpanIndex) ServerStart(traceID string) (time.Time, bool) {
	if x == nil || traceID == "" {
		return time.Time{}, false
	}
	t, ok := x.serverStart[idKey(traceID)]
	return t, ok
}

// ServiceNames lists the service.name values of the spans ("" for none),
// in order of first appearance, with how many spans carry each.
func (x *SpanIndex) ServiceNames() []NameCount {
	if x == nil {
		return nil
	}
	return x.names
}

// RecordServiceNames lists the service.name values of the OTLP log records
// ("" for none) like ServiceNames.
func (x *SpanIndex) RecordServiceNames() []NameCount {
	if x == nil {
		return nil
	}
	return x.recordNames
}

// SpanIndex returns the index of the spans the judge was fed (nil before
// the judge has seen the spans, or for evidence no judge read).
func (e *Evidence) SpanIndex() *SpanIndex { return e.index }

// SpanCount is the number of spans the judge was fed.
func (e *Evidence) SpanCount() int { return e.index.Count() }

// TraceSpans returns the spans of a trace a probe injected, in arrival
// order (the index keeps no other trace whole).
func (e *Evidence) TraceSpans(traceID string) []Span {
	if e.index == nil {
		return nil
	}
	return e.index.byTrace[traceID]
}

// TimeCandidates returns the SERVER spans of traces no probe injected that
// started while probe p was in flight (with a little slack) and serve its
// method and path or route, in arrival order, leaving out those whose
// parent is a span of their own trace (a call nested in the service).
func (e *Evidence) TimeCandidates(p Probe) []Span {
	x := e.index
	if x == nil || p.Start.IsZero() || p.End.IsZero() {
		return nil
	}
	for i, q := range x.probes {
		if q != p {
			continue
		}
		var out []Span
		for _, s := range x.candidates[i] {
			if s.ParentSpanID == "" || !x.HasSpan(s.TraceID, s.ParentSpanID) {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// matchSlack widens a probe's window for matching spans by time: clocks
// of the service and of obslint are read at slightly different moments.
const matchSlack = 5 * time.Millisecond

func startedDuring(s *Span, p Probe) bool {
	if p.Start.IsZero() || p.End.IsZero() {
		return false
	}
	return !s.Start.Before(p.Start.Add(-matchSlack)) && !s.Start.After(p.End.Add(matchSlack))
}

// servesProbe reports whether a SERVER span is for the probe's request: the
// same method (when the span says) and the same path, or the probe's route.
func servesProbe(s *Span, p Probe) bool {
	if m := SpanMethod(s); m != "" && m != p.Method {
		return false
	}
	if path := SpanPath(s); path != "" && path == StripQuery(p.Path) {
		return true
	}
	return p.Route != "" && s.Attr("http.route") == p.Route
}

// SpanMethod is the HTTP method of a span, by the stable or the legacy name.
func SpanMethod(s *Span) string {
	if m := s.Attr("http.request.method"); m != "" {
		return m
	}
	return s.Attr("http.method")
}

// SpanPath is the path of a span's request, by the stable or legacy name.
func SpanPath(s *Span) string {
	if p := s.Attr("url.path"); p != "" {
		return p
	}
	return StripQuery(s.Attr("http.target"))
}

// StripQuery cuts the query string and fragment off a path.
func StripQuery(path string) string {
	for i := 0; i < len(path); i++ {
		if path[i] == '?' || path[i] == '#' {
			return path[:i]
		}
	}
	return path
}

// spanLanguage names the stack a span's telemetry.sdk.language tells.
func spanLanguage(s *Span) [2]string {
	switch lang := s.ResourceAttr("telemetry.sdk.language"); lang {
	case "nodejs", "javascript", "webjs":
		return [2]string{ProfileNode, fmt.Sprintf("spans carry telemetry.sdk.language=%q", lang)}
	case "python":
		return [2]string{ProfilePython, fmt.Sprintf("spans carry telemetry.sdk.language=%q", lang)}
	}
	return [2]string{}
}

// idKey is the binary form of a hex trace id; an id that is not 32 hex
// digits is hashed instead.
func idKey(id string) traceKey {
	var k traceKey
	if len(id) == 32 {
		if _, err := hex.Decode(k[:], []byte(id)); err == nil {
			return k
		}
	}
	h := fnv.New128a()
	h.Write([]byte(id))
	h.Sum(k[:0])
	return k
}

func pairKey(traceID, spanID string) spanKey { return pairOf(idKey(traceID), spanID) }

func pairOf(t traceKey, spanID string) spanKey {
	var k spanKey
	copy(k[:16], t[:])
	if len(spanID) == 16 {
		if _, err := hex.Decode(k[16:], []byte(spanID)); err == nil {
			return k
		}
	}
	h := fnv.New64a()
	h.Write([]byte(spanID))
	sum := h.Sum(nil)
	copy(k[16:], sum)
	return k
}

// IndexSpans builds the index of the spans ev holds, about its probes, as
// the judge does while they flow past: for a tool or a test that looks
// spans up without judging.
func IndexSpans(ev *Evidence) *SpanIndex {
	x := newSpanIndex(ev)
	for i := range ev.Spans {
		s := ev.Spans[i]
		s.Seq = i
		x.add(&s)
	}
	return x
}

func hasKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}
