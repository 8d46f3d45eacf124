package correlation

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"unsafe"

	"github.com/obslint/obslint/checks"
)

// NoCanaryLeak: the fake secrets sent with the probes appear nowhere.
var NoCanaryLeak = &checks.Rule{
	ID:       "correlation/no-canary-leak",
	Severity: checks.Error,
	Summary:  "canary secrets sent with the probes appear in no signal",
	Needs:    []checks.Need{checks.NeedProbes},
	Doc: `obslint sends every probe with fake secrets ("canaries"): an
` + "`Authorization: Bearer`" + ` token and an ` + "`access_token`" + ` query parameter. Telemetry
is copied to log stores, trace backends and metric databases that many people
can read and that keep data for months; a credential that reaches them has
leaked. The rule looks for each canary in every log line, OTLP log record, span
name, span and span-event attribute, resource attribute, metric label value and
the raw exposition. Reports name where it was found and never print the value.

Where it usually leaks:
- Node: @opentelemetry/instrumentation-http records ` + "`url.query`" + ` verbatim (it masks
  only cloud signature parameters); a request logger dumps ` + "`req.headers`" + ` or
  ` + "`req.url`" + `; a metrics middleware labels by ` + "`req.originalUrl`" + `.
- Python: ` + "`url.query`" + `/` + "`http.target`" + `/` + "`http.url`" + ` on ASGI spans; captured headers
  (` + "`OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST=.*`" + `); structlog binding
  ` + "`request.headers`" + `; ` + "`dict_tracebacks`" + ` locals.

Bad (Node):

    logger.info('request', { headers: req.headers, url: req.originalUrl });

Good (Node):

    new HttpInstrumentation({ redactedQueryParamsServer: ['access_token', 'api_key'] });
    logger.info('request', { route: req.route?.path, method: req.method });

Bad (Python): ` + "`log.info(\"request\", url=str(request.url), headers=dict(request.headers))`" + `.

Good (Python): log the route and method only; keep captured headers to an
allow-list and scrub query strings in a SpanProcessor before export.

Fix: never log or record headers, full URLs or query strings wholesale; redact
secret query parameters in the HTTP instrumentation; label metrics by route.`,
	Fix: checks.Fix{
		Node:   "redact secret query parameters (new HttpInstrumentation({ redactedQueryParamsServer: [...] })), never log req.headers/req.url, label metrics by route",
		Python: "do not capture Authorization headers or raw URLs; scrub url.query in a SpanProcessor, never bind request.headers/url in structlog, label metrics by route",
	},
	Logs:    newCanaryJudge,
	Spans:   newCanarySpans,
	Scrapes: newCanaryScrapes,
}

// canaryJudge finds the canaries in the log lines.
type canaryJudge struct {
	canaries []checks.Canary
	found    leaks
}

func newCanaryJudge(ev *checks.Evidence) checks.LogJudge {
	return &canaryJudge{canaries: sentCanaries(ev)}
}

func (j *canaryJudge) Line(l *checks.LogLine) {
	for _, c := range j.canaries {
		if strings.Contains(l.Raw, c.Value) {
			j.found.add("log "+l.Source, c, l.Seq, l.Subject(), l.Raw)
		}
	}
}

func (j *canaryJudge) Merge(later checks.LogJudge) { j.found.merge(&later.(*canaryJudge).found) }

func (j *canaryJudge) Finish(p *checks.Pass) {
	spans, _ := p.SpanState().(*canaryOTLP)
	var metrics *leaks
	if m, ok := p.ScrapeState().(*canaryScrapes); ok {
		metrics = &m.found
	}
	checkNoCanaryLeak(p, &j.found, spans, metrics)
}

// canaryScrapes finds the canaries in the scrapes: their labels and raw
// bodies. canaryJudge reports what it found.
type canaryScrapes struct {
	canaries []checks.Canary
	found    leaks
}

func newCanaryScrapes(ev *checks.Evidence) checks.ScrapeJudge {
	return &canaryScrapes{canaries: sentCanaries(ev)}
}

func (j *canaryScrapes) Scrape(sc *checks.Scrape) { scanMetrics(sc, j.canaries, &j.found) }

func (j *canaryScrapes) Merge(later checks.ScrapeJudge) {
	j.found.merge(&later.(*canaryScrapes).found)
}

// Finish is the rule's LogJudge's (canaryJudge).
func (*canaryScrapes) Finish(*checks.Pass) {}

// maxDepth bounds recursion into nested attribute values.
const maxDepth = 16

// leak is where one canary was found, aggregated by subject.
type leak struct {
	canary   checks.Canary
	count    int
	seq      int    // the position of the first occurrence in its stream
	first    string // where the first occurrence is, e.g. "stdout:12"
	evidence string
}

// leaks collects findings in first-seen order, one per subject and canary.
type leaks struct {
	by    map[string]*leak
	order []string
}

// add counts one occurrence; seq orders the occurrences of a stream of
// lines (later ones are passed with a larger seq).
func (l *leaks) add(subject string, c checks.Canary, seq int, first, evidence string) {
	l.put(subject+"\x00"+c.Value, &leak{canary: c, count: 1, seq: seq, first: first, evidence: evidence})
}

func (l *leaks) put(key string, n *leak) {
	if l.by == nil {
		l.by = map[string]*leak{}
	}
	x := l.by[key]
	if x == nil {
		c := *n // n may belong to the leaks merged in, which are only read
		l.by[key] = &c
		l.order = append(l.order, key)
		return
	}
	x.count += n.count
	if n.seq < x.seq {
		x.seq, x.first, x.evidence = n.seq, n.first, n.evidence
	}
}

// merge folds in the leaks found in the lines that follow.
func (l *leaks) merge(o *leaks) {
	for _, key := range o.order {
		l.put(key, o.by[key])
	}
}

// checkNoCanaryLeak reports the leaks found in the log lines and those in
// the rest of the evidence.
func checkNoCanaryLeak(p *checks.Pass, found *leaks, spans *canaryOTLP, metrics *leaks) {
	canaries := sentCanaries(p.Evidence)
	if len(canaries) == 0 {
		p.Skip("no canary secrets were sent with the probes")
		return
	}
	resources := map[string]bool{}
	if spans != nil {
		found.merge(&spans.found)
		for _, key := range spans.resOrder {
			if !resources[key] {
				resources[key] = true
				found.merge(spans.resources[key])
			}
		}
	}
	if metrics != nil {
		found.merge(metrics)
	}
	for _, key := range found.order {
		subject, _, _ := strings.Cut(key, "\x00")
		l := found.by[key]
		msg := fmt.Sprintf("the canary sent as %s (%s) appears here", orUnknown(l.canary.Where), checks.Mask(l.canary.Value))
		if l.count > 1 {
			msg += fmt.Sprintf(" %d times", l.count)
		}
		if l.first != "" {
			msg += ", first at " + l.first
		}
		p.Report(checks.Finding{Subject: subject, Message: msg, Evidence: checks.Redact(l.evidence, values(canaries))})
	}
}

// sentCanaries returns the canaries with a value, when some probe carried
// them.
func sentCanaries(ev *checks.Evidence) []checks.Canary {
	if !slices.ContainsFunc(ev.Probes, func(p checks.Probe) bool { return p.Canaries }) {
		return nil
	}
	var out []checks.Canary
	for _, c := range ev.Canaries {
		if c.Value != "" {
			out = append(out, c)
		}
	}
	return out
}

// maxResources bounds the distinct resources whose leaks are kept apart.
const maxResources = 1024

// canaryOTLP is the OTLP half of no-canary-leak: the leaks in the bodies
// and attributes of OTLP log records, in span names and attributes, and,
// once per distinct resource, in the resource.
type canaryOTLP struct {
	canaries  []checks.Canary
	found     leaks
	resources map[string]*leaks
	resOrder  []string
	// last is the resource map seen last: the spans and records of one
	// batch share theirs, so it is printed once per batch, not per span.
	last unsafe.Pointer
}

func newCanarySpans(ev *checks.Evidence) checks.SpanJudge {
	return &canaryOTLP{canaries: sentCanaries(ev), resources: map[string]*leaks{}}
}

// Record scans one OTLP log record.
func (j *canaryOTLP) Record(r *checks.LogRecord) {
	if len(j.canaries) == 0 {
		return
	}
	for _, c := range j.canaries {
		if strings.Contains(r.Body, c.Value) {
			j.found.add("log otlp body", c, math.MaxInt, "", r.Body)
		}
		scanAttrs(r.Attrs, c, "log otlp attribute ", "", &j.found)
	}
	j.resource(r.Resource)
}

func (j *canaryOTLP) Span(s *checks.Span) {
	if len(j.canaries) == 0 {
		return
	}
	where := "trace " + s.TraceID
	for _, c := range j.canaries {
		if strings.Contains(s.Name, c.Value) {
			j.found.add("span "+strings.ToLower(s.Kind)+" name", c, math.MaxInt, where, s.Name)
		}
		scanAttrs(s.Attrs, c, "span "+s.Name+" attribute ", where, &j.found)
		for _, e := range s.Events {
			scanAttrs(e.Attrs, c, "span "+s.Name+" event "+e.Name+" attribute ", where, &j.found)
		}
	}
	j.resource(s.Resource)
}

// resource scans a resource the first time it is seen: thousands of spans
// and records share a handful of resources.
func (j *canaryOTLP) resource(res map[string]any) {
	p := reflect.ValueOf(res).UnsafePointer()
	if p != nil && p == j.last {
		return
	}
	j.last = p
	key := fmt.Sprint(res) // fmt prints maps in key order
	if _, seen := j.resources[key]; seen || len(j.resources) >= maxResources {
		return
	}
	l := &leaks{}
	for _, c := range j.canaries {
		scanAttrs(res, c, "resource attribute ", "", l)
	}
	j.resources[key] = l
	j.resOrder = append(j.resOrder, key)
}

func (j *canaryOTLP) Merge(later checks.SpanJudge) {
	o := later.(*canaryOTLP)
	j.found.merge(&o.found)
	for _, key := range o.resOrder {
		if _, seen := j.resources[key]; !seen && len(j.resources) < maxResources {
			j.resources[key] = o.resources[key]
			j.resOrder = append(j.resOrder, key)
		}
	}
}

// Finish is the LogJudge's: the rule reports once, from every signal.
func (j *canaryOTLP) Finish(*checks.Pass) {}

// scanAttrs reports each attribute whose value, at any depth, holds the
// canary. Keys are visited in order so findings are stable.
func scanAttrs(attrs map[string]any, c checks.Canary, prefix, where string, found *leaks) {
	// Most attributes hold no canary: look before sorting the keys.
	if !anyContaining(attrs, c.Value) {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if s, ok := containing(attrs[k], c.Value, 0); ok {
			found.add(prefix+k, c, math.MaxInt, where, k+"="+s)
		}
	}
}

// anyContaining reports whether a value of attrs holds needle.
func anyContaining(attrs map[string]any, needle string) bool {
	for _, v := range attrs {
		if _, ok := containing(v, needle, 0); ok {
			return true
		}
	}
	return false
}

// containing returns the string value holding needle inside v.
func containing(v any, needle string, depth int) (string, bool) {
	if depth > maxDepth {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, strings.Contains(x, needle)
	case []byte:
		return string(x), bytes.Contains(x, []byte(needle))
	case []any:
		for _, e := range x {
			if s, ok := containing(e, needle, depth+1); ok {
				return s, true
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if strings.Contains(k, needle) {
				return k, true
			}
			if s, ok := containing(x[k], needle, depth+1); ok {
				return s, true
			}
		}
	}
	return "", false
}

// scanMetrics reports label values holding a canary, per family and label,
// then any other exposition line that holds one (HELP text, exemplar labels,
// lines the parser did not keep).
func scanMetrics(sc *checks.Scrape, canaries []checks.Canary, found *leaks) {
	{
		labelled := map[string]bool{}
		for _, f := range sc.Families {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					for _, c := range canaries {
						if strings.Contains(l.GetValue(), c.Value) {
							labelled[f.GetName()+"\x00"+c.Value] = true
							found.add("metric "+f.GetName()+" label "+l.GetName(), c, math.MaxInt, sc.URL, l.GetName()+"="+l.GetValue())
						}
					}
				}
			}
		}
		n := 0
		for line := range bytes.Lines(sc.Body) {
			n++
			for _, c := range canaries {
				if !bytes.Contains(line, []byte(c.Value)) {
					continue
				}
				fam := lineFamily(string(line))
				if labelled[fam+"\x00"+c.Value] || labelled[exemplarFamily(fam)+"\x00"+c.Value] {
					continue
				}
				subject := "metrics exposition"
				if fam != "" {
					subject = "metric " + exemplarFamily(fam)
				}
				found.add(subject, c, math.MaxInt, fmt.Sprintf("%s line %d", sc.URL, n), string(line))
			}
		}
	}
}

// lineFamily names the metric an exposition line is about: the sample name,
// or the name a HELP/TYPE/UNIT comment describes.
func lineFamily(line string) string {
	s := strings.TrimSpace(line)
	if strings.HasPrefix(s, "#") {
		f := strings.Fields(s)
		if len(f) >= 3 && (f[1] == "HELP" || f[1] == "TYPE" || f[1] == "UNIT") {
			return f[2]
		}
		return ""
	}
	if i := strings.IndexAny(s, "{ \t"); i > 0 {
		return s[:i]
	}
	return ""
}

func values(cs []checks.Canary) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Value
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "an unnamed canary"
	}
	return s
}
