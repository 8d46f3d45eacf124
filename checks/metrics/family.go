package metrics

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// lintFamilies returns the families a per-family rule judges: those of the
// last parsed scrape, then any that only an earlier scrape exposed (a family
// can vanish, e.g. when a worker without it answers the second scrape).
// Nameless families, which no parser should build, are left out.
func lintFamilies(e *checks.Evidence) []*dto.MetricFamily {
	scrapes := e.ParsedScrapes()
	seen := map[string]bool{}
	var out []*dto.MetricFamily
	for i := len(scrapes) - 1; i >= 0; i-- {
		for _, mf := range scrapes[i].Families {
			if mf.GetName() != "" && !seen[mf.GetName()] {
				seen[mf.GetName()] = true
				out = append(out, mf)
			}
		}
	}
	return out
}

// byName indexes families by name.
func byName(fams []*dto.MetricFamily) map[string]*dto.MetricFamily {
	m := make(map[string]*dto.MetricFamily, len(fams))
	for _, mf := range fams {
		m[mf.GetName()] = mf
	}
	return m
}

// processDefaults are the process collector families of prom-client and
// prometheus_client. A configured prefix (prom-client `prefix`,
// prometheus_client `namespace`) may precede them.
var processDefaults = []string{
	"process_cpu_user_seconds_total", "process_cpu_system_seconds_total", "process_cpu_seconds_total",
	"process_start_time_seconds", "process_resident_memory_bytes", "process_virtual_memory_bytes",
	"process_heap_bytes", "process_open_fds", "process_max_fds",
}

// Library names the client library that exposes a family by default, or ""
// when the family is the service's own. fams is the scrape the family came
// from: prometheus_client's `<name>_created` gauges are recognised by their
// `<name>_total` counter (or `<name>` histogram or summary) partner.
//
// Library-owned families break conventions the service cannot fix (prom-client's
// `nodejs_active_handles_total` is a gauge), so rules note them instead of
// failing.
func Library(mf *dto.MetricFamily, fams map[string]*dto.MetricFamily, profile string) string {
	name := mf.GetName()
	switch {
	case strings.Contains(name, "nodejs_eventloop_utilization_"):
		return "@prometheus-io/client's collectDefaultMetrics"
	case strings.Contains(name, "nodejs_"):
		return "prom-client's collectDefaultMetrics"
	case strings.HasPrefix(name, "python_gc_") || name == "python_info":
		return "prometheus_client's default collectors"
	case isProcessDefault(name):
		switch profile {
		case checks.ProfileNode:
			return "prom-client's collectDefaultMetrics"
		case checks.ProfilePython:
			return "prometheus_client's process collector"
		}
		return "the client library's process collector"
	}
	if base, ok := createdPartner(mf, fams); ok {
		return fmt.Sprintf("prometheus_client, as the _created series of %s", base)
	}
	return ""
}

func isProcessDefault(name string) bool {
	if strings.HasPrefix(name, "process_") {
		return true
	}
	return slices.ContainsFunc(processDefaults, func(d string) bool { return strings.HasSuffix(name, d) })
}

// createdPartner reports whether mf is a `<name>_created` gauge that
// prometheus_client writes beside a counter, histogram or summary, and
// returns the partner's name.
func createdPartner(mf *dto.MetricFamily, fams map[string]*dto.MetricFamily) (string, bool) {
	name := mf.GetName()
	t := mf.GetType()
	if !strings.HasSuffix(name, "_created") || (t != dto.MetricType_GAUGE && t != dto.MetricType_UNTYPED) {
		return "", false
	}
	base := strings.TrimSuffix(name, "_created")
	if c, ok := fams[base+"_total"]; ok && (c.GetType() == dto.MetricType_COUNTER || c.GetType() == dto.MetricType_UNTYPED) {
		return base + "_total", true
	}
	if h, ok := fams[base]; ok && (h.GetType() == dto.MetricType_HISTOGRAM || h.GetType() == dto.MetricType_SUMMARY) {
		return base, true
	}
	return "", false
}

// reportFamily reports a problem of a family: a finding for the service's
// own families, an info note naming the library for library-owned ones.
func reportFamily(p *checks.Pass, lib, family, msg string) {
	if lib != "" {
		p.Notef(family, "%s (exposed by %s, not the service's own metric)", msg, lib)
		return
	}
	p.Reportf(family, "%s", msg)
}

// lintEach runs a per-family validation over every family to lint and
// reports each distinct message once per family.
func lintEach(p *checks.Pass, validate func(mf *dto.MetricFamily) []string) {
	fams := lintFamilies(p.Evidence)
	idx := byName(fams)
	for _, mf := range fams {
		lib := Library(mf, idx, p.Target.Profile)
		seen := map[string]bool{}
		for _, msg := range validate(mf) {
			if !seen[msg] {
				seen[msg] = true
				reportFamily(p, lib, mf.GetName(), msg)
			}
		}
	}
}

// errTexts turns validation errors into their messages.
func errTexts(errs ...[]error) []string {
	var out []string
	for _, es := range errs {
		for _, e := range es {
			out = append(out, e.Error())
		}
	}
	return out
}

// seriesKey renders a series' labels, sorted by name and without the skipped
// ones, the way users read them: {method="GET",route="/"}. It runs for every
// series of large expositions, so it avoids fmt.
func seriesKey(m *dto.Metric, skip ...string) string {
	labels := make([]*dto.LabelPair, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		if !slices.Contains(skip, l.GetName()) {
			labels = append(labels, l)
		}
	}
	slices.SortFunc(labels, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	var sb strings.Builder
	sb.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(l.GetName())
		sb.WriteByte('=')
		sb.WriteString(strconv.Quote(l.GetValue()))
	}
	sb.WriteByte('}')
	return sb.String()
}

// labelValue returns the value of a label of a series, "" when absent.
func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// familyLabels lists the label names any series of a family carries, in
// first-seen order.
func familyLabels(mf *dto.MetricFamily) []string {
	var out []string
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if !slices.Contains(out, l.GetName()) {
				out = append(out, l.GetName())
			}
		}
	}
	return out
}
