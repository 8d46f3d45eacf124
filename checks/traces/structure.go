package traces

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"

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
	Spans: newStructureJudge,
}

// structureJudge judges each span's ids and times as it arrives, and keeps
// a compact graph of every trace (ids, parent, kind, what its subtree
// needs) for what only the whole trace tells: orphan parents and errors
// thrown without an exception event, judged in Finish.
type structureJudge struct {
	shared bool
	// injected holds, per probe trace id, the injected parent span ids.
	injected map[string]map[spanID]bool
	found    firsts
	traces   map[string]*traceGraph
	nodes    int
	// maxNodes bounds the spans graphed (checks.MaxIndexedSpans); ungraphed
	// counts those past it.
	maxNodes, ungraphed int
	names               map[string]string // span names, each kept once
}

// traceGraph is one trace as the structure rule needs it, in arrival order.
// incomplete marks a trace some of whose spans came past the bound: its
// graph cannot tell an orphan, so it is not judged for one.
type traceGraph struct {
	nodes      []node
	incomplete bool
}

// node is one span of a trace graph, compact: a graph holds up to
// checks.MaxIndexedSpans of them.
type node struct {
	id, parent spanID
	name       string
	// rawParent is the parent id as received when it is not 16 hex digits
	// (it is then hashed into parent), for the finding's words.
	rawParent string
	// thrown is why the span counts as a thrown error ("" when it does not).
	thrown string
	seq    int
	kind   kind
	// serverError marks a SERVER span whose status is Error.
	serverError bool
	exception   bool
}

// spanID is a span id in binary, 0 for none.
type spanID uint64

// idOf is the binary form of a hex span id; an id that is not 16 hex
// digits is hashed (ok false).
func idOf(s string) (id spanID, ok bool) {
	if s == "" {
		return 0, true
	}
	if len(s) == 16 {
		if v, err := strconv.ParseUint(s, 16, 64); err == nil && v != 0 {
			return spanID(v), true
		}
	}
	h := fnv.New64a()
	h.Write([]byte(s))
	return spanID(h.Sum64() | 1), false
}

// parentText is the parent id for a finding.
func (n node) parentText() string {
	if n.rawParent != "" {
		return n.rawParent
	}
	return fmt.Sprintf("%016x", uint64(n.parent))
}

// kind is a span kind in one byte.
type kind uint8

const (
	kindOther kind = iota
	kindServer
	kindConsumer
)

func kindOf(k string) kind {
	switch k {
	case checks.KindServer:
		return kindServer
	case checks.KindConsumer:
		return kindConsumer
	}
	return kindOther
}

func newStructureJudge(ev *checks.Evidence) checks.SpanJudge {
	j := &structureJudge{maxNodes: checks.MaxIndexedSpans, shared: ev.Target.Shared, injected: map[string]map[spanID]bool{}, traces: map[string]*traceGraph{}, names: map[string]string{}}
	for _, pr := range ev.Probes {
		if pr.Traced() {
			if j.injected[pr.TraceID] == nil {
				j.injected[pr.TraceID] = map[spanID]bool{}
			}
			id, _ := idOf(pr.ParentSpanID)
			j.injected[pr.TraceID][id] = true
		}
	}
	return j
}

func (j *structureJudge) Span(s *checks.Span) {
	report := func(kind, format string, args ...any) {
		j.found.add(s.Seq, s.Subject(), kind, finding(format, args...))
	}
	switch {
	case s.TraceID == "":
		report("trace-id", "all-zero trace id (span %s)", orNone(s.SpanID))
	case s.SpanID == "":
		report("span-id", "all-zero span id in trace %s", s.TraceID)
	}
	if s.End.Before(s.Start) {
		report("time", "ends %s before it starts (trace %s): the span was never ended or its clock is broken", s.Start.Sub(s.End), s.TraceID)
	}
	if j.nodes >= j.maxNodes {
		j.ungraphed++
		if t := j.traces[s.TraceID]; t != nil {
			t.incomplete = true
		}
		return
	}
	j.nodes++
	name, ok := j.names[s.Name]
	if !ok {
		name = strings.Clone(s.Name)
		if len(j.names) < maxFirsts {
			j.names[name] = name
		}
	}
	n := newNode(s)
	n.name = name
	t := j.traces[s.TraceID]
	if t == nil {
		t = &traceGraph{}
		j.traces[s.TraceID] = t
	}
	t.nodes = append(t.nodes, n)
}

func (j *structureJudge) Merge(later checks.SpanJudge) {
	o := later.(*structureJudge)
	j.found.merge(&o.found)
	j.ungraphed += o.ungraphed
	for id, ot := range o.traces {
		room := j.maxNodes - j.nodes
		take := min(room, len(ot.nodes))
		j.ungraphed += len(ot.nodes) - take
		t := j.traces[id]
		if take == 0 {
			if t != nil {
				t.incomplete = true
			}
			continue
		}
		if t == nil {
			t = &traceGraph{}
			j.traces[id] = t
		}
		t.nodes = append(t.nodes, ot.nodes[:take]...)
		t.incomplete = t.incomplete || ot.incomplete || take < len(ot.nodes)
		j.nodes += take
	}
}

func (j *structureJudge) Finish(p *checks.Pass) {
	for traceID, t := range j.traces {
		local := map[spanID]bool{}
		for _, n := range t.nodes {
			if n.id != 0 {
				local[n.id] = true
			}
		}
		injected := j.injected[traceID]
		for _, n := range t.nodes {
			if (!j.shared || injected != nil) && !t.incomplete && orphan(n, local, injected) {
				j.found.add(n.seq, "span "+n.name, "orphan", finding("parent %s is not a span of trace %s: the parent span was never ended or exported", n.parentText(), traceID))
			}
			if !n.serverError || traceID == "" || t.incomplete {
				continue
			}
			sub := subtree(t.nodes, n.id)
			if why, thrown := thrownError(sub); thrown && !anyException(sub) {
				j.found.add(n.seq, "span "+n.name, "exception", finding("failed with a thrown error (%s) but no span of its subtree has an exception event (trace %s)", why, traceID))
			}
		}
	}
	if j.ungraphed > 0 {
		p.Notef("spans", "%d spans past the first %d were judged for their ids and times, but not for orphan parents and exception events (nor the traces they belong to)", j.ungraphed, j.maxNodes)
	}
	j.found.report(p)
}

// newNode is what the graph keeps of a span.
func newNode(s *checks.Span) node {
	n := node{name: s.Name, seq: s.Seq, kind: kindOf(s.Kind),
		serverError: s.Kind == checks.KindServer && s.StatusCode == checks.StatusError,
		exception:   hasException(*s), thrown: thrownBy(*s)}
	n.id, _ = idOf(s.SpanID)
	var ok bool
	if n.parent, ok = idOf(s.ParentSpanID); !ok {
		n.rawParent = strings.Clone(s.ParentSpanID)
	}
	return n
}

// orphan reports whether a span's parent is neither a span of its trace nor
// the injected parent. SERVER and CONSUMER spans have remote parents.
func orphan(n node, local, injected map[spanID]bool) bool {
	if n.parent == 0 || local[n.parent] || injected[n.parent] {
		return false
	}
	return n.kind != kindServer && n.kind != kindConsumer
}

// subtree returns the spans with id root and all their descendants, in
// breadth-first order.
func subtree(trace []node, root spanID) []node {
	children := map[spanID][]int{}
	var out []node
	for i, n := range trace {
		children[n.parent] = append(children[n.parent], i)
		if n.id == root {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil
	}
	visited := map[spanID]bool{root: true}
	queue := []spanID{root}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, i := range children[id] {
			c := trace[i]
			if c.id == 0 || visited[c.id] {
				continue
			}
			visited[c.id] = true
			out = append(out, c)
			queue = append(queue, c.id)
		}
	}
	return out
}

var statusCodeRE = regexp.MustCompile(`^[1-5][0-9][0-9]$`)

// thrownError reports whether a failed request came from a thrown error:
// a span with status Error and a description (what instrumentations record
// from the exception), or an error.type naming an exception class. A 500
// returned on purpose has neither and needs no exception event.
func thrownError(nodes []node) (string, bool) {
	for _, n := range nodes {
		if n.thrown != "" {
			return n.thrown, true
		}
	}
	return "", false
}

// thrownBy says why a span counts as a thrown error: an Error status with a
// message (the exception's), or an error.type that names an exception
// rather than a status code. "" when it does not.
func thrownBy(s checks.Span) string {
	if s.StatusCode == checks.StatusError && s.StatusMessage != "" {
		return "span " + s.Name + ": " + checks.Excerpt(s.StatusMessage, 80)
	}
	if et := s.Attr(attrErrorType); et != "" && et != "_OTHER" && !statusCodeRE.MatchString(et) {
		return "error.type " + et
	}
	return ""
}

// hasException reports whether a span has an exception event.
func hasException(s checks.Span) bool {
	for _, e := range s.Events {
		if e.Name == "exception" {
			return true
		}
	}
	return false
}

func anyException(nodes []node) bool {
	for _, n := range nodes {
		if n.exception {
			return true
		}
	}
	return false
}
