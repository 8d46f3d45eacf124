package metrics

import (
	"bytes"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// RuntimeDefaults checks that the profile's client library exposes its
// default process and runtime metrics.
var RuntimeDefaults = &checks.Rule{
	ID:       "metrics/runtime-defaults",
	Severity: checks.Warning,
	Summary:  "the client library's default process and runtime metrics are exposed",
	Doc: `CPU, memory, event-loop lag, garbage collection and the runtime version are the first
things looked at when a service misbehaves, and both client libraries expose them for free.
Without them, dashboards built for every service show holes for this one.

Expected for ` + "`node`" + ` (prom-client ` + "`collectDefaultMetrics()`" + `, a configured ` + "`prefix`" + ` is
accepted): ` + "`process_cpu_user_seconds_total`" + `, ` + "`process_resident_memory_bytes`" + `,
` + "`nodejs_heap_size_used_bytes`" + `, ` + "`nodejs_eventloop_lag_seconds`" + `, ` + "`nodejs_version_info`" + `.
Expected for ` + "`python`" + ` (prometheus_client's default collectors):
` + "`process_cpu_seconds_total`" + ` (Linux only), ` + "`python_gc_objects_collected_total`, `python_info`" + `.
In prometheus_client's multiprocess mode these collectors cannot work: ` + "`/metrics`" + ` is built by
a ` + "`MultiProcessCollector`" + ` that only reads the workers' value files. With the ` + "`python`" + `
profile, an exposition with no ` + "`process_*`" + ` or ` + "`python_*`" + ` family and either a ` + "`pid`" + ` label on
a gauge or counters and histograms without any ` + "`_created`" + ` series is taken for multiprocess
mode, and the missing defaults are noted (info), not failed.

**Node (prom-client).**

    // bad: a private registry without the defaults
    const register = new Registry();
    // good
    const register = new Registry();
    collectDefaultMetrics({ register });

**Python (prometheus_client).**

    # bad: a fresh registry drops the default collectors
    registry = CollectorRegistry()
    # good: serve the default REGISTRY (process, gc and platform collectors are registered on import)
    app.mount("/metrics", make_asgi_app())

**Fix.** Call ` + "`collectDefaultMetrics()`" + ` once on the registry you serve (Node), or serve the
default ` + "`REGISTRY`" + ` (Python).`,
	Fix: checks.Fix{
		Node:   "call collectDefaultMetrics({ register }) once on the registry served at /metrics",
		Python: "serve prometheus_client's default REGISTRY (make_asgi_app() / generate_latest()), which carries the process, gc and platform collectors",
	},
	Needs:   []checks.Need{checks.NeedFamilies},
	Scrapes: newDefaultsJudge,
}

// runtimeDefaults are the families each profile's library exposes by default.
var runtimeDefaults = map[string][]string{
	checks.ProfileNode: {
		"process_cpu_user_seconds_total", "process_resident_memory_bytes",
		"nodejs_heap_size_used_bytes", "nodejs_eventloop_lag_seconds", "nodejs_version_info",
	},
	checks.ProfilePython: {"process_cpu_seconds_total", "python_gc_objects_collected_total", "python_info"},
}

// defaultsJudge keeps, per family, what multiprocess mode is recognised by
// (famTraits), and whether any OpenMetrics body had a _created sample.
type defaultsJudge struct {
	fams      latest[famTraits]
	omCreated bool
}

// famTraits is what multiprocessMode reads of a family.
type famTraits struct {
	pidGauge bool // a gauge with a pid label
	created  bool // a parser put _created samples into its series
}

func newDefaultsJudge(*checks.Evidence) checks.ScrapeJudge { return &defaultsJudge{} }

func (j *defaultsJudge) Scrape(s *checks.Scrape) {
	j.fams.see(s, func(mf *dto.MetricFamily) famTraits {
		return famTraits{
			pidGauge: mf.GetType() == dto.MetricType_GAUGE && slices.Contains(familyLabels(mf), "pid"),
			created:  hasCreatedTimestamp(mf),
		}
	})
	j.omCreated = j.omCreated || s.Parsed() && openMetricsCreated(*s)
}

func (j *defaultsJudge) Merge(later checks.ScrapeJudge) {
	l := later.(*defaultsJudge)
	j.fams.merge(&l.fams)
	j.omCreated = j.omCreated || l.omCreated
}

func (j *defaultsJudge) Finish(p *checks.Pass) {
	want, ok := runtimeDefaults[p.Target.Profile]
	if !ok {
		p.Skip("the profile is unknown (%s), so its default metrics are unknown; set --profile", orNone(p.Target.ProfileReason))
		return
	}
	fams := j.fams.ordered()
	var missing []string
	for _, name := range want {
		if !slices.ContainsFunc(fams, func(e *famEntry[famTraits]) bool { return strings.HasSuffix(e.name, name) }) {
			missing = append(missing, name)
		}
	}
	none := !slices.ContainsFunc(fams, func(e *famEntry[famTraits]) bool { return isRuntimeDefault(e.name) })
	if none && len(missing) > 0 && p.Target.Profile == checks.ProfilePython {
		if why := j.multiprocessMode(fams); why != "" {
			p.Notef(missing[0], "%s missing: this looks like prometheus_client's multiprocess mode (%s), where /metrics is built from the workers' value files "+
				"and the process, gc and platform collectors cannot run, so the defaults cannot be served; nothing to fix if so "+
				"(if it is not multiprocess mode, serve the default REGISTRY)", strings.Join(missing, ", "), why)
			return
		}
	}
	for _, name := range missing {
		switch {
		case none && p.Target.Profile == checks.ProfileNode:
			p.Reportf(name, "no prom-client default metric is exposed: collectDefaultMetrics() is not called on the registry served here (%s missing)", name)
		case none:
			p.Reportf(name, "no prometheus_client default metric is exposed: the served registry is not the default REGISTRY (%s missing)", name)
		case name == "process_cpu_seconds_total":
			p.Reportf(name, "%s is missing: prometheus_client's process collector only works where /proc is readable (Linux), or the served registry lacks it", name)
		default:
			p.Reportf(name, "default metric %s is missing although other defaults are exposed", name)
		}
	}
}

// isRuntimeDefault reports whether a family is one of the runtime or process
// defaults of either library.
func isRuntimeDefault(name string) bool {
	return isProcessDefault(name) || strings.Contains(name, "nodejs_") || strings.HasPrefix(name, "python_gc_") || name == "python_info"
}

// multiprocessMode recognises what prometheus_client's MultiProcessCollector
// serves, given that no process_* or python_* family is exposed, and says
// why: a gauge with a pid label (multiprocess_mode="all", the default), or
// counters and histograms without a single _created series (the value files
// hold no creation time; every other prometheus_client registry writes one
// per series unless PROMETHEUS_DISABLE_CREATED_SERIES is set). It returns ""
// when neither holds. OpenMetrics bodies are read for _created samples,
// which the parsed families do not keep (checks.ParseExposition).
func (j *defaultsJudge) multiprocessMode(fams []*famEntry[famTraits]) string {
	counted, created := false, false
	for _, e := range fams {
		if e.v.pidGauge {
			return "a pid label on the gauge " + e.name
		}
		switch e.typ {
		case dto.MetricType_COUNTER, dto.MetricType_HISTOGRAM, dto.MetricType_SUMMARY:
			counted = true
			created = created || e.v.created
		}
		if _, ok := createdBase(e.name, e.typ, j.fams.types); ok {
			created = true
		}
	}
	if counted && !created && !j.omCreated {
		return "counters and histograms without any _created series"
	}
	return ""
}

// openMetricsCreated reports whether an OpenMetrics body has a _created
// sample. Only OpenMetrics: in classic text the families keep them.
func openMetricsCreated(s checks.Scrape) bool {
	if !strings.HasPrefix(strings.TrimSpace(s.ContentType), "application/openmetrics-text") {
		return false
	}
	for line := range bytes.Lines(s.Body) {
		name, _, _ := bytes.Cut(line, []byte(" "))
		name, _, _ = bytes.Cut(name, []byte("{"))
		if bytes.HasSuffix(name, []byte("_created")) {
			return true
		}
	}
	return false
}

// hasCreatedTimestamp reports whether a parser put a _created sample into
// the series themselves (OpenMetrics) rather than into a family of its own.
func hasCreatedTimestamp(mf *dto.MetricFamily) bool {
	return slices.ContainsFunc(mf.GetMetric(), func(m *dto.Metric) bool {
		return m.GetCounter().GetCreatedTimestamp() != nil || m.GetHistogram().GetCreatedTimestamp() != nil ||
			m.GetSummary().GetCreatedTimestamp() != nil
	})
}

func orNone(s string) string {
	if s == "" {
		return "nothing told it"
	}
	return s
}
