package metrics

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

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
	return library(mf.GetName(), mf.GetType(), func(name string) (dto.MetricType, bool) {
		f, ok := fams[name]
		return f.GetType(), ok
	}, profile)
}

// typeOf says the type of a family by name, and whether there is one.
type typeOf func(name string) (dto.MetricType, bool)

// library is Library for a family known by name and type, its partners
// looked up with types.
func library(name string, t dto.MetricType, types typeOf, profile string) string {
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
	if base, ok := createdBase(name, t, types); ok {
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
	return createdBase(mf.GetName(), mf.GetType(), func(name string) (dto.MetricType, bool) {
		f, ok := fams[name]
		return f.GetType(), ok
	})
}

// createdBase is createdPartner for a family known by name and type.
func createdBase(name string, t dto.MetricType, types typeOf) (string, bool) {
	if !strings.HasSuffix(name, "_created") || (t != dto.MetricType_GAUGE && t != dto.MetricType_UNTYPED) {
		return "", false
	}
	base := strings.TrimSuffix(name, "_created")
	if ct, ok := types(base + "_total"); ok && (ct == dto.MetricType_COUNTER || ct == dto.MetricType_UNTYPED) {
		return base + "_total", true
	}
	if ht, ok := types(base); ok && (ht == dto.MetricType_HISTOGRAM || ht == dto.MetricType_SUMMARY) {
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

// labelShape is a family with one series that carries each label name of
// mf once, in first-seen order, and no values: what name checks read.
func labelShape(mf *dto.MetricFamily) *dto.MetricFamily {
	m := &dto.Metric{}
	for _, ln := range familyLabels(mf) {
		m.Label = append(m.Label, &dto.LabelPair{Name: &ln})
	}
	return &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type, Unit: mf.Unit, Metric: []*dto.Metric{m}}
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
