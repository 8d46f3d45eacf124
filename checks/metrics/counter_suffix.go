package metrics

import (
	"github.com/prometheus/client_golang/prometheus/testutil/promlint/validations"
	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// CounterSuffix checks that counters, and only counters, end in _total.
var CounterSuffix = &checks.Rule{
	ID:       "metrics/counter-suffix",
	Severity: checks.Warning,
	Summary:  "counters end in _total and nothing else does",
	Doc: `The ` + "`_total`" + ` suffix is how a reader of PromQL knows that ` + "`rate()`" + ` applies, and
OpenMetrics requires it on every counter sample. A gauge named ` + "`*_total`" + ` invites a
` + "`rate()`" + ` that silently produces nonsense. promlint's messages are kept:
` + "`counter metrics should have \"_total\" suffix`" + ` and
` + "`non-counter metrics should not have \"_total\" suffix`" + `.

Library defaults that break the convention are known and reported as info, not as the
service's fault: prom-client's ` + "`nodejs_active_handles_total`" + `,
` + "`nodejs_active_requests_total`" + ` and ` + "`nodejs_active_resources_total`" + ` are gauges
(prometheus/client_js#283).

**Node (prom-client).** prom-client writes a counter's name as given in the text format:

    // bad
    new Counter({ name: 'http_requests', help: 'Requests.' });
    new Gauge({ name: 'queue_jobs_total', help: 'Jobs waiting.' });
    // good
    new Counter({ name: 'http_requests_total', help: 'Requests.' });
    new Gauge({ name: 'queue_jobs', help: 'Jobs waiting.' });

**Python (prometheus_client).** Counters get ` + "`_total`" + ` appended; gauges do not:

    # bad
    Gauge("queue_jobs_total", "Jobs waiting.")
    # good
    Counter("http_requests", "Requests.")   # exposed as http_requests_total
    Gauge("queue_jobs", "Jobs waiting.")

**Fix.** Name counters ` + "`<thing>_total`" + `; if the value can go down it is a gauge and loses
the suffix.`,
	Fix: checks.Fix{
		Node:   "name Counters <name>_total; rename gauges that end in _total",
		Python: "use Counter for things that only go up (it adds _total); rename Gauges that end in _total",
	},
	Needs:   []checks.Need{checks.NeedFamilies},
	Scrapes: lintEach(func(mf *dto.MetricFamily) []string { return errTexts(validations.LintCounter(mf)) }),
}
