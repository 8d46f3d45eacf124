package conformance

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/obslint/obslint/checks"
)

// scrapeMetrics are what the prometheus receiver adds about the scrape
// itself; the service never exposed them, so the rules must not see them.
var scrapeMetrics = map[string]bool{
	"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true,
	"scrape_samples_post_metric_relabeling": true, "scrape_series_added": true,
	"scrape_timeout_seconds": true, "scrape_sample_limit": true, "scrape_body_size_bytes": true,
}

// scrapeOf turns a snapshot back into the exposition the service served
// (classic text format) and parses it like a scrape, so the metrics rules
// run unchanged. See README.md, "Metric translation".
func scrapeOf(s *snapshot, phase string) checks.Scrape {
	body := exposition(s.md)
	const ct = "text/plain; version=0.0.4; charset=utf-8"
	sc := checks.Scrape{URL: "prometheus receiver: " + s.job, Phase: phase, Time: s.time, Status: 200,
		ContentType: ct, Size: len(body), Body: body}
	fams, err := checks.ParseExposition(body, ct)
	sc.Families = fams
	if err != nil {
		sc.ParseErr = err.Error()
	}
	return sc
}

// exposition writes pdata metrics as Prometheus text, families sorted by
// name (the receiver does not keep the exposed order): a monotonic Sum is a
// counter, any other Sum or Gauge a gauge, a Histogram the _bucket/_sum/
// _count series, a Summary its quantiles. Names are written as they arrived
// (the prometheus receiver keeps the exposed names, see README.md).
func exposition(md pmetric.Metrics) []byte {
	var buf bytes.Buffer
	var all []pmetric.Metric
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				all = append(all, ms.At(k))
			}
		}
	}
	slices.SortStableFunc(all, func(a, b pmetric.Metric) int { return strings.Compare(a.Name(), b.Name()) })
	for _, m := range all {
		writeMetric(&buf, m)
	}
	return buf.Bytes()
}

func writeMetric(buf *bytes.Buffer, m pmetric.Metric) {
	name := m.Name()
	if name == "" || scrapeMetrics[name] || !validName(name) {
		return
	}
	typ := ""
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		typ = "gauge"
	case pmetric.MetricTypeSum:
		typ = "gauge"
		if m.Sum().IsMonotonic() {
			typ = "counter"
		}
	case pmetric.MetricTypeHistogram:
		typ = "histogram"
	case pmetric.MetricTypeSummary:
		typ = "summary"
	default:
		return
	}
	// An untyped family in the exposition arrives as a gauge with this
	// metadata; write it back untyped.
	if v, ok := m.Metadata().Get("prometheus.type"); ok && v.Str() == "unknown" {
		typ = "untyped"
	}
	if d := m.Description(); d != "" {
		buf.WriteString("# HELP " + name + " " + escapeHelp(d) + "\n")
	}
	buf.WriteString("# TYPE " + name + " " + typ + "\n")
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		writeNumbers(buf, name, m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		writeNumbers(buf, name, m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			if dp.Flags().NoRecordedValue() {
				continue
			}
			labels := labelPairs(dp.Attributes())
			bounds, counts := dp.ExplicitBounds(), dp.BucketCounts()
			var cum uint64
			for b := 0; b < bounds.Len() && b < counts.Len(); b++ {
				cum += counts.At(b)
				writeSample(buf, name+"_bucket", with(labels, "le", formatFloat(bounds.At(b))), float64(cum))
			}
			writeSample(buf, name+"_bucket", with(labels, "le", "+Inf"), float64(dp.Count()))
			if dp.HasSum() {
				writeSample(buf, name+"_sum", labels, dp.Sum())
			}
			writeSample(buf, name+"_count", labels, float64(dp.Count()))
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			if dp.Flags().NoRecordedValue() {
				continue
			}
			labels := labelPairs(dp.Attributes())
			qs := dp.QuantileValues()
			for q := 0; q < qs.Len(); q++ {
				writeSample(buf, name, with(labels, "quantile", formatFloat(qs.At(q).Quantile())), qs.At(q).Value())
			}
			writeSample(buf, name+"_sum", labels, dp.Sum())
			writeSample(buf, name+"_count", labels, float64(dp.Count()))
		}
	}
}

func writeNumbers(buf *bytes.Buffer, name string, dps pmetric.NumberDataPointSlice) {
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		if dp.Flags().NoRecordedValue() {
			continue
		}
		v := dp.DoubleValue()
		if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
			v = float64(dp.IntValue())
		}
		writeSample(buf, name, labelPairs(dp.Attributes()), v)
	}
}

type labelPair struct{ name, value string }

func labelPairs(attrs pcommon.Map) []labelPair {
	out := make([]labelPair, 0, attrs.Len())
	for k, v := range attrs.All() {
		if validName(k) {
			out = append(out, labelPair{k, v.AsString()})
		}
	}
	slices.SortFunc(out, func(a, b labelPair) int { return strings.Compare(a.name, b.name) })
	return out
}

func with(labels []labelPair, name, value string) []labelPair {
	return append(slices.Clip(labels), labelPair{name, value})
}

func writeSample(buf *bytes.Buffer, name string, labels []labelPair, v float64) {
	buf.WriteString(name)
	if len(labels) > 0 {
		buf.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(l.name + `="` + escapeLabel(l.value) + `"`)
		}
		buf.WriteByte('}')
	}
	buf.WriteByte(' ')
	buf.WriteString(formatFloat(v))
	buf.WriteByte('\n')
}

func formatFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }

// validName reports whether a metric or label name is legal in the classic
// text format; others would only break the parse of everything else.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}
