package metrics

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// Parse checks that the exposition parses, has no duplicate series and
// consistent HELP/TYPE metadata.
var Parse = &checks.Rule{
	ID:       "metrics/parse",
	Severity: checks.Error,
	Summary:  "the exposition parses, without duplicate series or stray metadata",
	Doc: `Prometheus drops a whole scrape when it cannot parse it ("text format parsing error in
line N"), so one bad line hides every metric of the service. Duplicate series (the same name
and labels twice) are rejected at ingestion ("duplicate sample for timestamp"), and
metadata that does not match its samples leaves the samples untyped and without help.

What is checked, per scrape: the parser's first error (with its line number), a body cut at
the size limit, duplicate series in a family (as promlint's "metric not unique", but label
order does not matter), and a HELP or TYPE line whose family has no samples while samples
exist under that name plus a suffix (an OpenMetrics-style ` + "`# TYPE foo counter`" + ` with
` + "`foo_total`" + ` samples served as classic text).

**Node (prom-client).** Duplicates come from two registries merged by hand, or
` + "`collectDefaultMetrics()`" + ` on a registry that is also concatenated with the global one:

    // bad
    res.end((await register.metrics()) + (await other.metrics()));
    // good
    const merged = Registry.merge([register, other]);
    res.end(await merged.metrics());

**Python (prometheus_client).** A custom collector that yields the same family as a
registered metric, or a metric registered on the registry that the
` + "`MultiProcessCollector`" + ` also reads, writes the family twice ("second HELP line"):

    # bad
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    REQUESTS = Counter("requests", "…", registry=registry)
    # good
    REQUESTS = Counter("requests", "…")          # default registry, files in PROMETHEUS_MULTIPROC_DIR
    registry = CollectorRegistry(); MultiProcessCollector(registry)

**Fix.** Expose one registry per process, each family once, and let the library write the
exposition.`,
	Fix: checks.Fix{
		Node:   "expose one registry (or Registry.merge) with register.metrics(); never concatenate expositions",
		Python: "expose one CollectorRegistry with generate_latest(); in multiprocess mode register metrics only on the default registry",
	},
	Needs:   []checks.Need{checks.NeedScrape},
	Scrapes: newParseJudge,
}

// parseJudge keeps the problems of every scrape with a body, in order.
type parseJudge struct {
	bodies   bool
	findings []metadataProblem
}

func newParseJudge(*checks.Evidence) checks.ScrapeJudge { return &parseJudge{} }

func (j *parseJudge) Scrape(s *checks.Scrape) {
	if len(s.Body) == 0 {
		return
	}
	j.bodies = true
	if s.ParseErr != "" {
		j.findings = append(j.findings, metadataProblem{parseErrSubject(s.ParseErr), s.ParseErr})
	}
	if s.Truncated {
		j.findings = append(j.findings, metadataProblem{"exposition", fmt.Sprintf("the exposition was cut at the size limit (%d bytes): the end of it was not judged", len(s.Body))})
	}
	for _, mf := range s.Families {
		if msg := duplicateSeries(mf); msg != "" {
			j.findings = append(j.findings, metadataProblem{mf.GetName(), msg})
		}
	}
	j.findings = append(j.findings, strayMetadata(*s)...)
}

func (j *parseJudge) Merge(later checks.ScrapeJudge) {
	l := later.(*parseJudge)
	j.bodies = j.bodies || l.bodies
	j.findings = append(j.findings, l.findings...)
}

func (j *parseJudge) Finish(p *checks.Pass) {
	if !j.bodies {
		p.Skip("no scrape returned a body (see metrics/endpoint)")
		return
	}
	for _, f := range j.findings {
		p.Reportf(f.name, "%s", f.msg)
	}
}

// parseErrNameRE finds the metric a parser error names, e.g. `second HELP
// line for metric name "x"` or `counter "x" missing _total value`.
var parseErrNameRE = regexp.MustCompile(`(?:metric name|metric|family|histogram|summary|counter|sample) "([^"]+)"`)

// parseErrSubject is the metric named by a parse error, else "exposition".
func parseErrSubject(err string) string {
	if m := parseErrNameRE.FindStringSubmatch(err); m != nil {
		return m[1]
	}
	return "exposition"
}

// duplicateSeries reports series that occur twice in a family with the same
// labels in any order; for histograms and summaries also a bucket or
// quantile written twice (the parser merges such series into one).
func duplicateSeries(mf *dto.MetricFamily) string {
	metrics := mf.GetMetric()
	seen := make(map[uint64]int, min(len(metrics), 1024)) // hash of the sorted labels → series
	var scratch []*dto.LabelPair
	for i, m := range metrics {
		var h uint64
		h, scratch = labelHash(m, scratch)
		if j, ok := seen[h]; ok {
			if k := seriesKey(m); k == seriesKey(metrics[j]) {
				return fmt.Sprintf("metric not unique: series %s appears more than once", k)
			}
			return duplicateSeriesByKey(mf) // two label sets with one hash
		}
		seen[h] = i
		if b := repeatedBound(m); b != "" {
			return fmt.Sprintf("metric not unique: series %s has %s more than once", seriesKey(m), b)
		}
	}
	return ""
}

// duplicateSeriesByKey is duplicateSeries keyed by the rendered labels.
func duplicateSeriesByKey(mf *dto.MetricFamily) string {
	seen := make(map[string]bool, len(mf.GetMetric()))
	for _, m := range mf.GetMetric() {
		k := seriesKey(m)
		if seen[k] {
			return fmt.Sprintf("metric not unique: series %s appears more than once", k)
		}
		seen[k] = true
		if b := repeatedBound(m); b != "" {
			return fmt.Sprintf("metric not unique: series %s has %s more than once", k, b)
		}
	}
	return ""
}

// labelHash is an FNV-1a hash of a series' labels sorted by name, without
// building the key; scratch is reused between calls.
func labelHash(m *dto.Metric, scratch []*dto.LabelPair) (uint64, []*dto.LabelPair) {
	scratch = append(scratch[:0], m.GetLabel()...)
	slices.SortFunc(scratch, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	h := uint64(14695981039346656037)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	for _, l := range scratch {
		add(l.GetName())
		add(l.GetValue())
	}
	return h, scratch
}

func repeatedBound(m *dto.Metric) string {
	buckets := m.GetHistogram().GetBucket()
	for i, b := range buckets {
		for _, prev := range buckets[:i] {
			if prev.GetUpperBound() == b.GetUpperBound() {
				return fmt.Sprintf("bucket le=%q", formatBound(b.GetUpperBound()))
			}
		}
	}
	qs := m.GetSummary().GetQuantile()
	for i, q := range qs {
		for _, prev := range qs[:i] {
			if prev.GetQuantile() == q.GetQuantile() {
				return fmt.Sprintf("quantile=%q", formatBound(q.GetQuantile()))
			}
		}
	}
	return ""
}

func formatBound(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return fmt.Sprint(v)
}

type metadataProblem struct{ name, msg string }

// strayMetadata finds HELP/TYPE lines for a name that has no samples while
// samples exist under that name plus a suffix: the parser then keeps the
// samples as an untyped family without help and drops the metadata. Only
// classic text is scanned: the OpenMetrics parser maps suffixes itself.
func strayMetadata(s checks.Scrape) []metadataProblem {
	if strings.HasPrefix(strings.TrimSpace(s.ContentType), "application/") {
		return nil
	}
	declared := map[string]string{} // name → TYPE ("" when only HELP)
	var order []string
	sampled := map[string]bool{}
	for raw := range bytes.Lines(s.Body) {
		b := bytes.TrimSpace(raw)
		if len(b) == 0 {
			continue
		}
		if b[0] == '#' {
			f := strings.Fields(string(b))
			if len(f) >= 3 && (f[1] == "HELP" || f[1] == "TYPE") {
				if _, ok := declared[f[2]]; !ok {
					order = append(order, f[2])
					declared[f[2]] = ""
				}
				if f[1] == "TYPE" && len(f) >= 4 {
					declared[f[2]] = f[3]
				}
			}
			continue
		}
		if i := bytes.IndexAny(b, "{ \t"); i > 0 && !sampled[string(b[:i])] {
			sampled[string(b[:i])] = true
		}
	}
	var out []metadataProblem
	for _, name := range order {
		if sampledUnder(sampled, name, declared[name]) {
			continue
		}
		for _, suf := range []string{"_total", "_created", "_info"} {
			if _, own := declared[name+suf]; sampled[name+suf] && !own {
				out = append(out, metadataProblem{name + suf, fmt.Sprintf(
					"HELP/TYPE are declared for %q but the samples are named %q: in the classic text format the TYPE line must name the samples (OpenMetrics-style output served as text/plain?), so they are read as untyped without help",
					name, name+suf)})
				break
			}
		}
	}
	return out
}

// sampledUnder reports whether a declared family has samples of its own.
func sampledUnder(sampled map[string]bool, name, typ string) bool {
	if sampled[name] {
		return true
	}
	if typ == "histogram" || typ == "summary" || typ == "gaugehistogram" {
		for _, suf := range []string{"_bucket", "_count", "_sum"} {
			if sampled[name+suf] {
				return true
			}
		}
	}
	return false
}
