package metrics

import (
	"fmt"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// CounterMonotonic checks that no counter goes down between scrapes.
var CounterMonotonic = &checks.Rule{
	ID:       "metrics/counter-monotonic",
	Severity: checks.Error,
	Summary:  "no counter decreases between scrapes",
	Doc: `Prometheus reads any decrease of a counter as a reset, so ` + "`rate()`" + ` and ` + "`increase()`" + `
add the whole new value: a counter that goes 120 → 3 → 118 → 4 produces huge false spikes.
The usual cause is several worker processes answering ` + "`/metrics`" + ` in turn, each with its
own registry: gunicorn or uvicorn ` + "`--workers N`" + ` without prometheus_client's multiprocess
mode, or Node's ` + "`cluster`" + ` without an aggregating registry. A restart between scrapes
does the same (then ` + "`process_start_time_seconds`" + ` changes too, which the finding says).
Counters, histogram and summary ` + "`_count`" + ` and ` + "`_sum`" + ` are compared per series between
consecutive scrapes. Library-owned counters such as ` + "`process_cpu_seconds_total`" + ` count too:
when they go down the deployment is at fault, not the library.

**Node (prom-client).**

    // bad: every worker serves its own registry
    if (cluster.isWorker) app.get('/metrics', async (_, res) => res.end(await register.metrics()));
    // good: the primary aggregates (ClusterRegistry in @prometheus-io/client)
    const aggregator = new AggregatorRegistry();
    metricsServer.get('/metrics', async (_, res) => {
      res.set('Content-Type', aggregator.contentType);
      res.end(await aggregator.clusterMetrics());
    });

**Python (prometheus_client).**

    # bad
    gunicorn app:app --workers 4          # each scrape hits one worker's registry
    # good
    PROMETHEUS_MULTIPROC_DIR=/tmp/prom gunicorn app:app --workers 4
    # and expose: registry = CollectorRegistry(); multiprocess.MultiProcessCollector(registry)

**Fix.** Aggregate the workers' metrics behind one endpoint, or scrape each worker on its
own port as a separate target.`,
	Fix: checks.Fix{
		Node:   "aggregate cluster workers with AggregatorRegistry.clusterMetrics() (ClusterRegistry in @prometheus-io/client)",
		Python: "set PROMETHEUS_MULTIPROC_DIR and expose a MultiProcessCollector registry when running several workers",
	},
	Needs: []checks.Need{checks.NeedTwoScrapes},
	Check: checkMonotonic,
}

func checkMonotonic(p *checks.Pass) {
	scrapes := p.ParsedScrapes()
	for i := 1; i < len(scrapes); i++ {
		before, after := scrapes[i-1], scrapes[i]
		restart := restartNote(before, after)
		for _, mf := range after.Families {
			prev := before.Family(mf.GetName())
			if prev == nil || prev.GetType() != mf.GetType() {
				continue
			}
			if msg := firstDecrease(prev, mf); msg != "" {
				p.Reportf(mf.GetName(), "%s between scrape %d (%s) and scrape %d (%s)%s",
					msg, i, phase(before), i+1, phase(after), restart)
			}
		}
	}
}

func phase(s checks.Scrape) string {
	if s.Phase != "" {
		return s.Phase
	}
	return "unnamed"
}

// counterValues lists the values of a series that must never decrease.
func counterValues(t dto.MetricType, m *dto.Metric) map[string]float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return map[string]float64{"": m.GetCounter().GetValue()}
	case dto.MetricType_HISTOGRAM:
		return map[string]float64{"_count": sampleCount(m.GetHistogram()), "_sum": m.GetHistogram().GetSampleSum()}
	case dto.MetricType_SUMMARY:
		return map[string]float64{"_count": float64(m.GetSummary().GetSampleCount()), "_sum": m.GetSummary().GetSampleSum()}
	}
	return nil
}

// firstDecrease describes the first series of a family that went down, with
// the number of other series that did too.
func firstDecrease(before, after *dto.MetricFamily) string {
	prev := make(map[string]*dto.Metric, len(before.GetMetric()))
	for _, m := range before.GetMetric() {
		prev[seriesKey(m)] = m
	}
	var first string
	n := 0
	for _, m := range after.GetMetric() {
		key := seriesKey(m)
		old, ok := prev[key]
		if !ok {
			continue
		}
		was, now := counterValues(before.GetType(), old), counterValues(after.GetType(), m)
		for _, suffix := range []string{"", "_count", "_sum"} {
			w, okW := was[suffix]
			v, okV := now[suffix]
			if okW && okV && v < w {
				if n == 0 {
					first = fmt.Sprintf("%s%s%s went down from %g to %g", after.GetName(), suffix, strings.TrimSuffix(key, "{}"), w, v)
				}
				n++
				break
			}
		}
	}
	if n > 1 {
		first += fmt.Sprintf(" (and %d more series)", n-1)
	}
	return first
}

// restartNote explains a decrease when process_start_time_seconds changed:
// the process restarted, or another worker answered.
func restartNote(before, after checks.Scrape) string {
	b, okB := startTime(before)
	a, okA := startTime(after)
	if !okB || !okA || a == b {
		return ""
	}
	return fmt.Sprintf("; process_start_time_seconds changed from %.0f to %.0f: the process restarted, or several workers answer /metrics without aggregation", b, a)
}

func startTime(s checks.Scrape) (float64, bool) {
	for _, mf := range s.Families {
		if strings.HasSuffix(mf.GetName(), "process_start_time_seconds") && len(mf.GetMetric()) > 0 {
			return gaugeValue(mf.GetMetric()[0]), true
		}
	}
	return 0, false
}

// gaugeValue reads a gauge or untyped sample.
func gaugeValue(m *dto.Metric) float64 {
	if m.Untyped != nil {
		return m.GetUntyped().GetValue()
	}
	return m.GetGauge().GetValue()
}
