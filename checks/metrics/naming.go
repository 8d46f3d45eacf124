package metrics

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint/validations"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"

	"github.com/obslint/obslint/checks"
)

// Naming checks metric and label names against the Prometheus conventions.
var Naming = &checks.Rule{
	ID:       "metrics/naming",
	Severity: checks.Warning,
	Summary:  "snake_case names, no reserved suffixes, labels or names",
	Doc: `Names are the API of a metric: dashboards, alerts and recording rules are written
against them, and renaming later breaks all of them. The checks are promlint's
(` + "`metric names should be written in 'snake_case' not 'camelCase'`" + `, the same for label
names, ` + "`metric names should not contain ':'`" + ` — colons are for recording rules —,
` + "`metric name should not include type '…'`" + `, and ` + "`_bucket`/`_count`/`_sum`" + ` suffixes or
` + "`le`/`quantile`" + ` labels on the wrong types), plus:

- label names starting with ` + "`__`" + ` are reserved for Prometheus itself;
- a family named ` + "`up`" + ` (express-prom-bundle's default gauge) or like one of the
  ` + "`scrape_*`" + ` series collides with the series Prometheus writes for every target
  (tdeekens/promster#1087: "Error on ingesting samples with different value but same timestamp");
- names that are not valid under the legacy (pre-UTF-8) scheme are escaped by every legacy
  consumer, so queries written against the original name find nothing.

**Node (prom-client).**

    // bad
    new Histogram({ name: 'httpLatency', labelNames: ['statusCode'], help: '…' });
    promBundle({ includeUp: true });
    // good
    new Histogram({ name: 'http_request_duration_seconds', labelNames: ['status_code'], help: '…' });
    promBundle({ includeUp: false });

**Python (prometheus_client).**

    # bad
    Gauge("workerCount", "…"); Counter("api:calls", "…")
    # good
    Gauge("worker_count", "…"); Counter("api_calls", "…")

**Fix.** Use snake_case ASCII names with a unit and, for counters, ` + "`_total`" + ` at the end;
keep the type out of the name and leave ` + "`up`" + `, ` + "`scrape_*`" + ` and ` + "`__*`" + ` to Prometheus.`,
	Fix: checks.Fix{
		Node:   "rename the metric/label to snake_case ASCII; with express-prom-bundle set includeUp: false",
		Python: "rename the metric/label to snake_case ASCII without ':' or the type in the name",
	},
	Needs:   []checks.Need{checks.NeedFamilies},
	Scrapes: lintEach(namingProblems),
}

// syntheticNames are the series Prometheus itself adds to every target.
var syntheticNames = []string{
	"up", "scrape_duration_seconds", "scrape_samples_scraped",
	"scrape_samples_post_metric_relabeling", "scrape_series_added",
}

func namingProblems(mf *dto.MetricFamily) []string {
	// promlint reads the label names of every series; their distinct names
	// in first-seen order tell the same, at a fraction of the cost.
	shape := labelShape(mf)
	msgs := errTexts(
		validations.LintCamelCase(shape),
		validations.LintReservedChars(shape),
		validations.LintMetricTypeInName(shape),
		validations.LintHistogramSummaryReserved(shape),
	)
	name := mf.GetName()
	if slices.Contains(syntheticNames, name) {
		msgs = append(msgs, fmt.Sprintf("metric name %q collides with the series Prometheus writes for every target; the target's own sample is overwritten or rejected", name))
	}
	if !model.LegacyValidation.IsValidMetricName(name) {
		msgs = append(msgs, fmt.Sprintf("metric name %q is not valid under legacy name validation: legacy consumers escape it (e.g. to %q)", name, model.EscapeName(name, model.UnderscoreEscaping)))
	}
	for _, ln := range familyLabels(mf) {
		if strings.HasPrefix(ln, "__") {
			msgs = append(msgs, fmt.Sprintf("label name %q: names starting with \"__\" are reserved for Prometheus", ln))
		} else if !model.LegacyValidation.IsValidLabelName(ln) {
			msgs = append(msgs, fmt.Sprintf("label name %q is not valid under legacy name validation", ln))
		}
	}
	return msgs
}
