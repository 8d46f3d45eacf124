package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint/validations"
	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// Help checks that every family has HELP text.
var Help = &checks.Rule{
	ID:       "metrics/help",
	Severity: checks.Warning,
	Summary:  "every metric family has non-empty HELP text",
	Doc: `HELP is the only documentation a metric carries into Prometheus, Grafana's metric
browser and every alert written on it. A family without it (promlint: "no help text") makes
whoever is on call guess what it counts.

**Node (prom-client).** ` + "`help`" + ` is mandatory in prom-client, so missing HELP usually
means a hand-built exposition or an OpenMetrics-style counter served as text:

    // bad: concatenated by hand
    res.end(` + "`jobs_total ${n}\\n`" + `);
    // good
    const jobs = new Counter({ name: 'jobs_total', help: 'Jobs processed.' });

**Python (prometheus_client).** The documentation argument is required but can be blank:

    # bad
    JOBS = Counter("jobs", "")
    # good
    JOBS = Counter("jobs", "Jobs processed.")

**Fix.** Give every metric a one-sentence help text saying what it counts and in which unit.`,
	Fix: checks.Fix{
		Node:   "pass a help text to every new Counter/Gauge/Histogram/Summary({ name, help })",
		Python: "pass a non-empty documentation string to every Counter/Gauge/Histogram/Summary",
	},
	Needs:   []checks.Need{checks.NeedFamilies},
	Scrapes: lintEach(helpProblems),
}

func helpProblems(mf *dto.MetricFamily) []string {
	msgs := errTexts(validations.LintHelp(mf))
	if mf.Help != nil && strings.TrimSpace(mf.GetHelp()) == "" {
		msgs = append(msgs, "no help text")
	}
	return msgs
}
