package metrics

import (
	"fmt"
	"math"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// HistogramValid checks the shape of every classic histogram series.
var HistogramValid = &checks.Rule{
	ID:       "metrics/histogram-valid",
	Severity: checks.Error,
	Summary:  "histogram buckets sorted and cumulative, +Inf equals _count",
	Doc: `` + "`histogram_quantile()`" + ` assumes buckets sorted by ` + "`le`" + `, cumulative counts that never
decrease, and a last ` + "`+Inf`" + ` bucket equal to ` + "`_count`" + `; without ` + "`+Inf`" + ` it returns NaN, and
with unsorted or non-cumulative buckets it returns wrong latencies without any error.
` + "`_sum`" + ` and ` + "`_count`" + ` are needed for averages and request rates. Neither promlint nor the
exposition parsers check any of this.

**Node (prom-client).** prom-client neither sorts nor validates custom buckets:

    // bad: rendered le="1", le="0.1", le="5" in that order, with wrong counts
    new Histogram({ name: 'job_duration_seconds', help: '…', buckets: [1, 0.1, 5] });
    // good
    new Histogram({ name: 'job_duration_seconds', help: '…', buckets: [0.1, 1, 5] });

**Python (prometheus_client).** The library sorts-checks and adds ` + "`+Inf`" + `; broken
histograms come from custom collectors:

    # bad
    h = HistogramMetricFamily("job_duration_seconds", "…", buckets=[("0.5", 3), ("0.1", 1)], sum_value=1.2)
    # good
    h = HistogramMetricFamily("job_duration_seconds", "…", buckets=[("0.1", 1), ("0.5", 3), ("+Inf", 3)], sum_value=1.2)

**Fix.** Declare buckets in increasing order and let the library render the histogram; in a
custom collector write cumulative counts, the ` + "`+Inf`" + ` bucket, ` + "`_sum`" + ` and ` + "`_count`" + `.`,
	Fix: checks.Fix{
		Node:   "declare Histogram buckets in increasing order (or use linearBuckets/exponentialBuckets)",
		Python: "use prometheus_client.Histogram, or give HistogramMetricFamily sorted cumulative buckets ending in +Inf, and sum_value",
	},
	Needs:   []checks.Need{checks.NeedFamilies},
	Scrapes: lintEach(brokenSeries),
}

// brokenSeries names the first broken series of a histogram family and
// counts the others; nothing for other families.
func brokenSeries(mf *dto.MetricFamily) []string {
	if t := mf.GetType(); t != dto.MetricType_HISTOGRAM && t != dto.MetricType_GAUGE_HISTOGRAM {
		return nil
	}
	var first string
	broken := 0
	for _, m := range mf.GetMetric() {
		if msg := histogramProblem(m.GetHistogram()); msg != "" {
			if broken == 0 {
				first = fmt.Sprintf("series %s: %s", describeSeries(m), msg)
			}
			broken++
		}
	}
	if broken > 1 {
		first += fmt.Sprintf(" (and %d more broken series)", broken-1)
	}
	if broken == 0 {
		return nil
	}
	return []string{first}
}

// histogramProblem says what is wrong with one classic histogram series, ""
// when nothing is. Native histograms without classic buckets are not judged.
func histogramProblem(h *dto.Histogram) string {
	if h == nil {
		return "no _bucket samples"
	}
	buckets := h.GetBucket()
	if len(buckets) == 0 && (h.Schema != nil || len(h.GetPositiveSpan()) > 0 || len(h.GetNegativeSpan()) > 0) {
		return ""
	}
	if len(buckets) == 0 {
		return "no _bucket samples"
	}
	for i := 1; i < len(buckets); i++ {
		prev, cur := buckets[i-1], buckets[i]
		if cur.GetUpperBound() <= prev.GetUpperBound() {
			return fmt.Sprintf("buckets not sorted by le: le=%q comes after le=%q", formatBound(cur.GetUpperBound()), formatBound(prev.GetUpperBound()))
		}
		if bucketCount(cur) < bucketCount(prev) {
			return fmt.Sprintf("bucket counts not cumulative: le=%q has %g, less than le=%q with %g",
				formatBound(cur.GetUpperBound()), bucketCount(cur), formatBound(prev.GetUpperBound()), bucketCount(prev))
		}
	}
	last := buckets[len(buckets)-1]
	if !math.IsInf(last.GetUpperBound(), 1) {
		return `no le="+Inf" bucket: histogram_quantile() returns NaN`
	}
	if h.SampleCount == nil && h.SampleCountFloat == nil {
		return "no _count sample"
	}
	if h.SampleSum == nil {
		return "no _sum sample"
	}
	if count := sampleCount(h); bucketCount(last) != count {
		return fmt.Sprintf(`le="+Inf" bucket is %g but _count is %g; they must be equal`, bucketCount(last), count)
	}
	return ""
}

// bucketCount reads an integer or float bucket count (the parser stores
// whichever the exposition wrote).
func bucketCount(b *dto.Bucket) float64 {
	if f := b.GetCumulativeCountFloat(); f != 0 {
		return f
	}
	return float64(b.GetCumulativeCount())
}

func sampleCount(h *dto.Histogram) float64 {
	if f := h.GetSampleCountFloat(); f != 0 {
		return f
	}
	return float64(h.GetSampleCount())
}

// describeSeries names a series in a message.
func describeSeries(m *dto.Metric) string {
	if k := seriesKey(m); k != "{}" {
		return k
	}
	return "without labels"
}
