package metrics

import (
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
In prometheus_client's multiprocess mode (recognised by a ` + "`pid`" + ` label on gauges and no
` + "`process_*`" + ` families) these collectors cannot work; that is noted, not failed.

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
	Needs: []checks.Need{checks.NeedFamilies},
	Check: checkRuntimeDefaults,
}

// runtimeDefaults are the families each profile's library exposes by default.
var runtimeDefaults = map[string][]string{
	checks.ProfileNode: {
		"process_cpu_user_seconds_total", "process_resident_memory_bytes",
		"nodejs_heap_size_used_bytes", "nodejs_eventloop_lag_seconds", "nodejs_version_info",
	},
	checks.ProfilePython: {"process_cpu_seconds_total", "python_gc_objects_collected_total", "python_info"},
}

func checkRuntimeDefaults(p *checks.Pass) {
	want, ok := runtimeDefaults[p.Target.Profile]
	if !ok {
		p.Skip("the profile is unknown (%s), so its default metrics are unknown; set --profile", orNone(p.Target.ProfileReason))
		return
	}
	fams := lintFamilies(p.Evidence)
	var missing []string
	for _, name := range want {
		if !slices.ContainsFunc(fams, func(mf *dto.MetricFamily) bool { return strings.HasSuffix(mf.GetName(), name) }) {
			missing = append(missing, name)
		}
	}
	none := !slices.ContainsFunc(fams, func(mf *dto.MetricFamily) bool { return isRuntimeDefault(mf.GetName()) })
	multiproc := p.Target.Profile == checks.ProfilePython && multiprocessMode(fams)
	for _, name := range missing {
		switch {
		case multiproc:
			p.Notef(name, "%s is missing, but prometheus_client's multiprocess mode is in use (a pid label on gauges, no process_* families): its process, gc and platform collectors do not work there", name)
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

// multiprocessMode recognises prometheus_client's MultiProcessCollector
// output: no process_* families, and gauges labelled with the worker pid.
func multiprocessMode(fams []*dto.MetricFamily) bool {
	hasPid := false
	for _, mf := range fams {
		if isProcessDefault(mf.GetName()) {
			return false
		}
		if mf.GetType() == dto.MetricType_GAUGE && slices.Contains(familyLabels(mf), "pid") {
			hasPid = true
		}
	}
	return hasPid
}

func orNone(s string) string {
	if s == "" {
		return "nothing told it"
	}
	return s
}
