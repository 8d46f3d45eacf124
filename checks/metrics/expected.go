package metrics

import (
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// Expected checks that every metric the user declared is exposed.
var Expected = &checks.Rule{
	ID:       "metrics/expected",
	Severity: checks.Error,
	Summary:  "every metric declared in expect.required_metrics is exposed",
	Doc: `Dashboards, alerts and SLOs are written against metric names. A rename, a registry that
is never exposed, or a metric only created on first use breaks them silently: the query returns
nothing and the alert never fires. Declaring the names a service promises in obslint.yaml
(` + "`expect.required_metrics`" + `, or ` + "`--expect-metric`" + `) turns that contract into a check on the last
scrape. A counter may be declared with or without its ` + "`_total`" + ` suffix (OpenMetrics names the
family without it). The rule is not evaluated when nothing is declared.

**Node (prom-client).** A metric registered on a second ` + "`Registry`" + ` that ` + "`/metrics`" + ` does not
serve, or a label set only created on first use, is missing from the scrape:

    // bad: registered on a registry nobody exposes
    const reg = new Registry();
    new Counter({ name: 'orders_created_total', help: 'Orders created.', registers: [reg] });
    // good: the default registry (or merge registries in the /metrics handler)
    new Counter({ name: 'orders_created_total', help: 'Orders created.' });

**Python (prometheus_client).** A metric on a ` + "`CollectorRegistry()`" + ` that ` + "`make_asgi_app()`" + `
does not serve is missing the same way:

    # bad
    ORDERS = Counter("orders_created", "Orders created.", registry=CollectorRegistry())
    # good: the default REGISTRY
    ORDERS = Counter("orders_created", "Orders created.")

**Fix.** Expose the metric under the declared name, or correct the declaration.`,
	Fix: checks.Fix{
		Node:   "register the metric on the registry /metrics serves (prom-client's default register) under the declared name",
		Python: "create the metric on the registry the metrics endpoint serves (prometheus_client.REGISTRY) under the declared name",
	},
	Needs:   []checks.Need{checks.NeedFamilies},
	Scrapes: newExpectedJudge,
}

// expectedJudge keeps which declared metrics the last parsed scrape exposed.
type expectedJudge struct {
	want    []string
	url     string
	exposed []bool
}

func newExpectedJudge(ev *checks.Evidence) checks.ScrapeJudge {
	return &expectedJudge{want: ev.Expect.RequiredMetrics}
}

func (j *expectedJudge) Scrape(s *checks.Scrape) {
	if !s.Parsed() {
		return
	}
	j.url = s.URL
	j.exposed = make([]bool, len(j.want))
	for i, name := range j.want {
		j.exposed[i] = exposes(s.Families, name)
	}
}

func (j *expectedJudge) Merge(later checks.ScrapeJudge) {
	if l := later.(*expectedJudge); l.exposed != nil {
		j.url, j.exposed = l.url, l.exposed
	}
}

func (j *expectedJudge) Finish(p *checks.Pass) {
	if len(j.want) == 0 {
		p.Skip("no metric declared in expect.required_metrics (or --expect-metric)")
		return
	}
	for i, name := range j.want {
		if !j.exposed[i] {
			p.Reportf(name, "declared metric %s is not in the last scrape (%s)", name, j.url)
		}
	}
}

// exposes reports whether a family answers to name. A counter answers to its
// name with and without _total, since text and OpenMetrics disagree on
// whether the suffix belongs to the family.
func exposes(families []*dto.MetricFamily, name string) bool {
	for _, mf := range families {
		fam := mf.GetName()
		if fam == name {
			return true
		}
		if mf.GetType() == dto.MetricType_COUNTER &&
			(fam+"_total" == name || strings.TrimSuffix(fam, "_total") == name) {
			return true
		}
	}
	return false
}
