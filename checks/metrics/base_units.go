package metrics

import (
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint/validations"
	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// BaseUnits checks that names use base units, unabbreviated, and that
// durations carry one.
var BaseUnits = &checks.Rule{
	ID:       "metrics/base-units",
	Severity: checks.Warning,
	Summary:  "base units, no abbreviations, durations carry a unit",
	Doc: `Prometheus uses base units throughout (seconds, bytes, meters, grams…): PromQL
functions, Grafana units and other exporters all assume them, and a dashboard that mixes
` + "`_milliseconds`" + ` with ` + "`_seconds`" + ` is off by a factor of a thousand. promlint's
messages are kept (` + "`use base unit \"seconds\" instead of \"milliseconds\"`" + `,
` + "`metric names should not contain abbreviated units`" + ` for ` + "`_ms`, `_kb`, `_s`" + `…), and a
name about a duration (` + "`duration`, `latency`, `elapsed`" + `) must carry its unit.

**Node (prom-client).** Measure in seconds, not ` + "`Date.now()`" + ` milliseconds:

    // bad
    new Histogram({ name: 'http_request_duration_ms', help: '…' });
    // good
    const h = new Histogram({ name: 'http_request_duration_seconds', help: '…' });
    const end = h.startTimer(); /* … */ end();

**Python (prometheus_client).**

    # bad
    Histogram("job_latency", "…")            # unit unknown
    Gauge("cache_size_kb", "…")
    # good
    Histogram("job_latency_seconds", "…")     # time.perf_counter() differences are seconds
    Gauge("cache_size_bytes", "…")

**Fix.** Convert to the base unit before observing and put the unit, spelled out and plural,
at the end of the name (before ` + "`_total`" + `).`,
	Fix: checks.Fix{
		Node:   "observe seconds (histogram.startTimer()) and bytes; name the metric ..._seconds / ..._bytes",
		Python: "observe seconds (Histogram.time()) and bytes; name the metric ..._seconds / ..._bytes",
	},
	Needs:   []checks.Need{checks.NeedFamilies},
	Scrapes: lintEach(unitProblems),
}

// durationWordRE finds a name about time, and timeUnitRE a time unit in it
// (base or not: a wrong unit is promlint's finding, not a missing one).
var (
	durationWordRE = regexp.MustCompile(`(^|_)(duration|latency|elapsed)(_|$)`)
	timeUnitRE     = regexp.MustCompile(`(^|_)((pico|nano|micro|milli)?seconds|minutes|hours|days|weeks|s|ms|us|ns|sec|m|h|d)(_|$)`)
)

func unitProblems(mf *dto.MetricFamily) []string {
	msgs := errTexts(validations.LintMetricUnits(mf), validations.LintUnitAbbreviations(mf))
	if name := strings.ToLower(mf.GetName()); durationWordRE.MatchString(name) && !timeUnitRE.MatchString(name) {
		msgs = append(msgs, `duration metric without a unit: name it "…_seconds" and observe seconds`)
	}
	return msgs
}
