package correlation

import (
	"bytes"
	"regexp"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// Exemplars: exemplar trace ids point at received traces.
var Exemplars = &checks.Rule{
	ID:       "correlation/exemplars",
	Severity: checks.Info,
	Summary:  "exemplar trace ids in OpenMetrics scrapes point at received traces",
	Needs:    []checks.Need{checks.NeedScrape, checks.NeedTraces},
	Doc: `Exemplars link a histogram bucket or counter to one trace that landed in it,
so a latency spike on a dashboard opens the slow request's trace. They exist
only in the OpenMetrics format (the classic text format drops them), and they
are only useful when the trace id is the one the tracing SDK exported. The rule
reads every exemplar's ` + "`trace_id`" + ` (Python) or ` + "`traceId`" + ` (prom-client) label and looks
for spans of that trace. It is not evaluated when the scrapes carry no
exemplars or no spans arrived.

Bad (Node): exemplars with a made-up or unsampled id, or a request id:

    histogram.observe({ labels, value, exemplarLabels: { traceId: req.id } });

Good (Node): an OpenMetrics registry and the active span's context:

    const register = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
    const ctx = trace.getActiveSpan()?.spanContext();
    histogram.observe({ labels, value, exemplarLabels: ctx ? { traceId: ctx.traceId, spanId: ctx.spanId } : {} });

Bad (Python): ` + "`exemplar={\"trace_id\": str(uuid4())}`" + `.

Good (Python):

    ctx = trace.get_current_span().get_span_context()
    h.observe(dt, exemplar={"trace_id": format(ctx.trace_id, "032x")} if ctx.is_sampled else None)

Fix: take exemplar ids from the active, sampled span context, as 32 lowercase
hex digits, and serve OpenMetrics.`,
	Fix: checks.Fix{
		Node:   "set exemplarLabels from trace.getActiveSpan()?.spanContext() (traceId, spanId) on an OpenMetrics registry",
		Python: "pass exemplar={\"trace_id\": format(ctx.trace_id, \"032x\")} from the current, sampled span context and serve OpenMetrics",
	},
	Scrapes: newExemplarJudge,
}

// exemplarTraceKeys are the exemplar labels that carry a trace id:
// prometheus_client docs use trace_id, prom-client traceId.
var exemplarTraceKeys = []string{"trace_id", "traceId", "traceID", "trace.id"}

// maxExemplars bounds the work on a hostile exposition.
const maxExemplars = 10_000

var traceIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Exemplar is one exemplar trace id and the family exposing it.
type Exemplar struct {
	Family  string
	TraceID string
}

// exemplarJudge keeps the distinct exemplars of every scrape, in order.
type exemplarJudge struct {
	seen map[Exemplar]bool
	exs  []Exemplar
}

func newExemplarJudge(*checks.Evidence) checks.ScrapeJudge {
	return &exemplarJudge{seen: map[Exemplar]bool{}}
}

func (j *exemplarJudge) Scrape(sc *checks.Scrape) {
	for _, e := range ScrapeExemplars(*sc) {
		if !j.seen[e] {
			j.seen[e] = true
			j.exs = append(j.exs, e)
		}
	}
}

func (j *exemplarJudge) Merge(later checks.ScrapeJudge) {
	for _, e := range later.(*exemplarJudge).exs {
		if !j.seen[e] {
			j.seen[e] = true
			j.exs = append(j.exs, e)
		}
	}
}

func (j *exemplarJudge) Finish(p *checks.Pass) {
	exs := j.exs
	if len(exs) == 0 {
		p.Skip("no exemplar carries a trace id (the classic text format drops exemplars: serve OpenMetrics and attach exemplars)")
		return
	}
	if p.SpanCount() == 0 {
		p.Skip("no spans were received to match %d exemplar trace ids against", len(exs))
		return
	}
	spans := p.SpanIndex()
	type tally struct {
		total              int
		malformed, unknown []string
	}
	byFamily := map[string]*tally{}
	var order []string
	for _, e := range exs {
		t := byFamily[e.Family]
		if t == nil {
			t = &tally{}
			byFamily[e.Family] = t
			order = append(order, e.Family)
		}
		t.total++
		switch {
		case !traceIDRE.MatchString(e.TraceID) || strings.Trim(e.TraceID, "0") == "":
			t.malformed = append(t.malformed, e.TraceID)
		case !spans.HasTrace(e.TraceID):
			t.unknown = append(t.unknown, e.TraceID)
		}
	}
	for _, f := range order {
		t, subject := byFamily[f], "metric "+f
		if len(t.malformed) > 0 {
			p.Reportf(subject, "%d of %d exemplar trace ids are not 32 lowercase hex digits (e.g. %q)", len(t.malformed), t.total, checks.Excerpt(t.malformed[0], 64))
		}
		if len(t.unknown) > 0 {
			p.Reportf(subject, "%d of %d exemplar trace ids match no received span (e.g. %s): the id is not the active span's, or that span was not sampled", len(t.unknown), t.total, t.unknown[0])
		}
	}
}

// ScrapeExemplars returns the exemplar trace ids of one scrape: those the
// OpenMetrics parser kept in the families, and those found in the raw body
// (which also covers bodies the parser gave up on).
func ScrapeExemplars(sc checks.Scrape) []Exemplar {
	var out []Exemplar
	for _, f := range sc.Families {
		for _, m := range f.GetMetric() {
			for _, e := range metricExemplars(m) {
				if id := exemplarTraceID(labelMap(e.GetLabel())); id != "" {
					out = append(out, Exemplar{f.GetName(), id})
				}
			}
		}
	}
	for line := range bytes.Lines(sc.Body) {
		if len(out) >= maxExemplars {
			break
		}
		// An exemplar follows a '#' after the sample: most lines have none.
		if bytes.IndexByte(line, '#') <= 0 {
			continue
		}
		if name, labels, ok := parseExemplarLine(string(bytes.TrimSpace(line))); ok {
			if id := exemplarTraceID(labels); id != "" {
				out = append(out, Exemplar{exemplarFamily(name), id})
			}
		}
	}
	return out
}

func metricExemplars(m *dto.Metric) []*dto.Exemplar {
	var out []*dto.Exemplar
	if e := m.GetCounter().GetExemplar(); e != nil {
		out = append(out, e)
	}
	for _, b := range m.GetHistogram().GetBucket() {
		if e := b.GetExemplar(); e != nil {
			out = append(out, e)
		}
	}
	return append(out, m.GetHistogram().GetExemplars()...)
}

func labelMap(pairs []*dto.LabelPair) map[string]string {
	out := make(map[string]string, len(pairs))
	for _, l := range pairs {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func exemplarTraceID(labels map[string]string) string {
	for _, k := range exemplarTraceKeys {
		if v := labels[k]; v != "" {
			return v
		}
	}
	return ""
}

// exemplarFamily maps a sample name to the family the OpenMetrics parser
// reports: histogram buckets belong to the histogram, counters keep _total.
func exemplarFamily(sample string) string {
	for _, suf := range []string{"_bucket", "_count", "_sum"} {
		if s, ok := strings.CutSuffix(sample, suf); ok {
			return s
		}
	}
	return sample
}

// parseExemplarLine reads `name{labels} value [ts] # {exemplar labels} v [ts]`
// and returns the sample name and the exemplar's labels. Label values are
// skipped quote-aware, since they may hold '#' or '{'.
func parseExemplarLine(line string) (string, map[string]string, bool) {
	if line == "" || line[0] == '#' {
		return "", nil, false
	}
	end := strings.IndexAny(line, "{ \t")
	if end <= 0 {
		return "", nil, false
	}
	name, rest := line[:end], line[end:]
	if strings.HasPrefix(rest, "{") {
		_, after, ok := parseLabelSet(rest)
		if !ok {
			return "", nil, false
		}
		rest = after
	}
	i := strings.Index(rest, "#")
	if i < 0 {
		return "", nil, false
	}
	rest = strings.TrimLeft(rest[i+1:], " \t")
	if !strings.HasPrefix(rest, "{") {
		return "", nil, false
	}
	labels, _, ok := parseLabelSet(rest)
	if !ok {
		return "", nil, false
	}
	return name, labels, true
}

// parseLabelSet reads `{k="v",…}` at the start of s (names may be quoted, as
// UTF-8 names are) and returns the labels and what follows the set.
func parseLabelSet(s string) (map[string]string, string, bool) {
	labels := map[string]string{}
	i := 1 // past '{'
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			return nil, "", false
		}
		if s[i] == '}' {
			return labels, s[i+1:], true
		}
		var key string
		if s[i] == '"' {
			k, n, ok := quoted(s[i:])
			if !ok {
				return nil, "", false
			}
			key, i = k, i+n
		} else {
			j := strings.IndexByte(s[i:], '=')
			if j < 0 {
				return nil, "", false
			}
			key, i = strings.TrimSpace(s[i:i+j]), i+j
		}
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			return nil, "", false
		}
		i++
		for i < len(s) && s[i] == ' ' {
			i++
		}
		v, n, ok := quoted(s[i:])
		if !ok {
			return nil, "", false
		}
		labels[key] = v
		i += n
	}
}

// quoted reads a double-quoted, backslash-escaped string at the start of s
// and returns its value and the bytes consumed.
func quoted(s string) (string, int, bool) {
	if s == "" || s[0] != '"' {
		return "", 0, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) {
				return "", 0, false
			}
			i++
			if s[i] == 'n' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), i + 1, true
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

func dedupe(exs []Exemplar) []Exemplar {
	seen := map[Exemplar]bool{}
	var out []Exemplar
	for _, e := range exs {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}
