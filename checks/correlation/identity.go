package correlation

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// ServiceIdentity: every signal names the service the same way.
var ServiceIdentity = &checks.Rule{
	ID:       "correlation/service-identity",
	Severity: checks.Warning,
	Summary:  "one service name across traces, logs and metrics",
	Doc: `Jumping from a dashboard to the logs and traces of the same service only works
when every signal names it the same way: the resource ` + "`service.name`" + ` of spans
(and of OTLP logs and metrics), the service field of JSON log lines
(` + "`service`" + `, ` + "`service.name`" + ` or ` + "`service_name`" + `), and ` + "`target_info`" + `'s ` + "`service_name`" + ` or
` + "`job`" + ` label in the metrics. The rule is not evaluated when fewer than two
signals name the service.

Bad (Node): ` + "`OTEL_SERVICE_NAME=users-api`" + ` for the SDK, but winston still says
` + "`defaultMeta: { service: 'user-service' }`" + ` from the project template.

Good (Node): one source of truth:

    const service = process.env.OTEL_SERVICE_NAME ?? 'users-api';
    winston.createLogger({ defaultMeta: { service }, ... });

Bad (Python): structlog binds ` + "`service=\"users\"`" + ` while the resource says
` + "`users-api`" + `.

Good (Python): bind the resource's name:

    structlog.contextvars.bind_contextvars(
        service=trace.get_tracer_provider().resource.attributes["service.name"])

Fix: derive the log field from ` + "`OTEL_SERVICE_NAME`" + ` (or the resource) instead of a
second hard-coded name.`,
	Fix: checks.Fix{
		Node:   "derive winston's defaultMeta.service from OTEL_SERVICE_NAME instead of a second hard-coded name",
		Python: "bind structlog's service field from OTEL_SERVICE_NAME / the resource's service.name",
	},
	Logs:    newIdentityJudge,
	Scrapes: newIdentityScrapes,
}

// maxNames bounds the distinct service names a stream of lines is counted
// under; more are counted as one.
const maxNames = 1000

// identityJudge counts the service names of the log lines.
type identityJudge struct{ lines names }

func newIdentityJudge(*checks.Evidence) checks.LogJudge { return &identityJudge{lines: names{}} }

// identityScrapes keeps the service names of target_info in the last
// parsed scrape; identityJudge reports.
type identityScrapes struct {
	scraped names
	parsed  bool
}

func newIdentityScrapes(*checks.Evidence) checks.ScrapeJudge { return &identityScrapes{} }

func (j *identityScrapes) Scrape(sc *checks.Scrape) {
	if !sc.Parsed() {
		return
	}
	j.scraped, j.parsed = names{}, true
	if f := sc.Family("target_info"); f != nil {
		for _, m := range f.GetMetric() {
			j.scraped.add(targetInfoName(m.GetLabel()))
		}
	}
}

func (j *identityScrapes) Merge(later checks.ScrapeJudge) {
	if l := later.(*identityScrapes); l.parsed {
		j.scraped, j.parsed = l.scraped, true
	}
}

// Finish is the rule's LogJudge's (identityJudge).
func (*identityScrapes) Finish(*checks.Pass) {}

func (j *identityJudge) Line(l *checks.LogLine) {
	if l.Fields == nil {
		return
	}
	if v := logServiceName(l.Fields); v != "" {
		if _, ok := j.lines[v]; !ok {
			// A new name outlives its line: copy it out.
			v = strings.Clone(v)
			if len(j.lines) >= maxNames {
				v = "(more service names)"
			}
		}
		j.lines.add(v)
	}
}

func (j *identityJudge) Merge(later checks.LogJudge) {
	for v, n := range later.(*identityJudge).lines {
		j.lines[v] += n
	}
}

func (j *identityJudge) Finish(p *checks.Pass) {
	var scraped names
	if s, ok := p.ScrapeState().(*identityScrapes); ok {
		scraped = s.scraped
	}
	checkServiceIdentity(p, j.lines, scraped)
}

// logServiceKeys are the log fields that name the service, in preference
// order (winston defaultMeta, ECS, structlog habits, Python log correlation).
var logServiceKeys = []string{"service.name", "service_name", "service", "otelServiceName"}

// names counts the service names one signal uses.
type names map[string]int

func (n names) add(v string) { n.addN(v, 1) }

// addN counts k occurrences of v.
func (n names) addN(v string, k int) {
	if v = strings.TrimSpace(v); v != "" && !strings.HasPrefix(v, "unknown_service") {
		n[v] += k
	}
}

func checkServiceIdentity(p *checks.Pass, lines, scraped names) {
	signals := []struct {
		name  string
		names names
	}{
		{"traces", traceNames(p.Evidence)},
		{"logs", logNames(p.Evidence, lines)},
		{"metrics", metricNames(p.Evidence, scraped)},
	}
	var parts, present []string
	all := map[string]bool{}
	for _, s := range signals {
		if len(s.names) == 0 {
			continue
		}
		present = append(present, s.name)
		var vals []string
		for _, v := range slices.Sorted(maps.Keys(s.names)) {
			all[v] = true
			vals = append(vals, fmt.Sprintf("%q (%d)", v, s.names[v]))
		}
		parts = append(parts, s.name+" say "+strings.Join(vals, ", "))
	}
	if len(present) < 2 {
		p.Skip("fewer than two signals name the service (only: %s)", orNothing(present))
		return
	}
	if len(all) > 1 {
		p.Reportf("service", "the signals name the service differently: %s", strings.Join(parts, "; "))
	}
}

func traceNames(ev *checks.Evidence) names {
	n := names{}
	for _, nc := range ev.SpanIndex().ServiceNames() {
		n.addN(nc.Name, nc.Count)
	}
	return n
}

// logNames adds the service names of the OTLP log records to those of the
// lines.
func logNames(ev *checks.Evidence, lines names) names {
	n := names{}
	for v, c := range lines {
		n[v] = c
	}
	for _, nc := range ev.SpanIndex().RecordServiceNames() {
		n.addN(nc.Name, nc.Count)
	}
	return n
}

// logServiceName reads the service name of one parsed log line: a dotted
// key, a flat key, or ECS's nested {"service": {"name": …}}.
func logServiceName(fields map[string]any) string {
	for _, k := range logServiceKeys {
		switch v := fields[k].(type) {
		case string:
			return v
		case map[string]any:
			if name, ok := v["name"].(string); ok {
				return name
			}
		}
	}
	return ""
}

// metricNames joins the names of target_info in the last parsed scrape
// and the resources of the OTLP metrics.
func metricNames(ev *checks.Evidence, scraped names) names {
	n := names{}
	for v, c := range scraped {
		n[v] += c
	}
	for _, m := range ev.OTLPMetrics {
		n.add(stringAttr(m.Resource, "service.name"))
	}
	return n
}

// targetInfoName reads service_name, or else the job label, whose
// service.namespace prefix ("shop/users-api") is dropped.
func targetInfoName(labels []*dto.LabelPair) string {
	var job string
	for _, l := range labels {
		switch l.GetName() {
		case "service_name":
			return l.GetValue()
		case "job":
			job = l.GetValue()
		}
	}
	if i := strings.LastIndex(job, "/"); i >= 0 {
		job = job[i+1:]
	}
	return job
}

func stringAttr(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func orNothing(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
