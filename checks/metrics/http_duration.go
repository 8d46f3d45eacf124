package metrics

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// HTTPServerDuration checks that an HTTP server duration histogram with
// method, route and status labels exists.
var HTTPServerDuration = &checks.Rule{
	ID:       "metrics/http-server-duration",
	Severity: checks.Error,
	Summary:  "an HTTP server duration histogram with method, route, status",
	Doc: `Request rate, errors and latency per route (the RED method) all come from one histogram:
` + "`_count`" + ` gives the rate, the status label the errors, the buckets the latency. It must be
a histogram (summaries cannot be aggregated across instances) and carry a method, a route
template and a status label. Accepted names: ` + "`http_request_duration_seconds`" + ` (prom-client,
express-prom-bundle, prometheus-fastapi-instrumentator), ` + "`http_server_request_duration_seconds`" + `
(OpenTelemetry semantic conventions through a Prometheus exporter), or the name declared in
obslint.yaml (` + "`expect.duration_metric`" + `). Accepted labels: method ` + "`method`|`http_request_method`" + `;
route ` + "`route`|`path`|`handler`|`http_route`" + `; status ` + "`status`|`code`|`status_code`|`http_response_status_code`" + `.

**Node (prom-client).**

    // bad: milliseconds, a summary, no route
    new Summary({ name: 'http_request_duration_ms', help: '…', labelNames: ['method'] });
    // good
    const h = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP server request duration.',
      labelNames: ['method', 'route', 'status_code'] });
    app.use((req, res, next) => {
      const end = h.startTimer();
      res.on('finish', () => end({ method: req.method, route: req.route?.path ?? 'unmatched', status_code: res.statusCode }));
      next();
    });

**Python (prometheus_client).**

    # bad: prometheus-fastapi-instrumentator's duration histogram has no status label
    Instrumentator().instrument(app).expose(app)
    # good
    H = Histogram("http_request_duration_seconds", "HTTP server request duration.", ["method", "route", "status_code"])
    # observe in a middleware with request.scope["route"].path as the route

**Fix.** Add (or rename to) a seconds histogram with method, route template and status labels.`,
	Fix: checks.Fix{
		Node:   "add a prom-client Histogram http_request_duration_seconds with labelNames ['method','route','status_code'] observed in middleware",
		Python: "add a prometheus_client Histogram http_request_duration_seconds with labels method, route, status_code observed in middleware",
	},
	Needs:   []checks.Need{checks.NeedFamilies},
	Scrapes: newDurationJudge,
}

// DurationNames are the conventional names of the HTTP server duration
// histogram, in order of preference.
var DurationNames = []string{"http_request_duration_seconds", "http_server_request_duration_seconds"}

// Label names accepted for each role of the duration histogram's labels.
var (
	MethodLabels = []string{"method", "http_request_method"}
	RouteLabels  = []string{"route", "path", "handler", "http_route"}
	StatusLabels = []string{"status", "code", "status_code", "http_response_status_code"}
)

// DurationFamily finds the HTTP server duration family in a scrape: the
// declared name first, then the conventional ones. It returns the family
// whatever its type; judging the type is metrics/http-server-duration's job.
func DurationFamily(s checks.Scrape, declared string) (*dto.MetricFamily, bool) {
	names := DurationNames
	if declared != "" {
		names = append([]string{declared}, names...)
	}
	for _, n := range names {
		if mf := s.Family(n); mf != nil {
			return mf, true
		}
	}
	return nil, false
}

// LabelRoles names the labels of a family that carry the request method,
// route and status; an empty field means no such label.
type LabelRoles struct {
	Method, Route, Status string
}

// Roles finds the method, route and status labels of a family.
func Roles(mf *dto.MetricFamily) LabelRoles {
	labels := familyLabels(mf)
	pick := func(cands []string) string {
		for _, c := range cands {
			if slices.Contains(labels, c) {
				return c
			}
		}
		return ""
	}
	return LabelRoles{Method: pick(MethodLabels), Route: pick(RouteLabels), Status: pick(StatusLabels)}
}

// durationJudge keeps the duration family of the last parsed scrape, and
// the near misses of its other families.
type durationJudge struct {
	declared string
	last     checks.Scrape
	near     []string
	parsed   bool
}

func newDurationJudge(ev *checks.Evidence) checks.ScrapeJudge {
	return &durationJudge{declared: ev.Expect.DurationMetric}
}

func (j *durationJudge) Scrape(s *checks.Scrape) {
	if s.Parsed() {
		j.last, j.near, j.parsed = durationOnly(s, j.declared), nearMisses(s.Families), true
	}
}

func (j *durationJudge) Merge(later checks.ScrapeJudge) {
	if l := later.(*durationJudge); l.parsed {
		j.last, j.near, j.parsed = l.last, l.near, true
	}
}

func (j *durationJudge) Finish(p *checks.Pass) {
	mf, ok := DurationFamily(j.last, p.Expect.DurationMetric)
	if !ok {
		msg := "no HTTP server duration histogram: expected http_request_duration_seconds or http_server_request_duration_seconds"
		if p.Expect.DurationMetric != "" {
			msg = fmt.Sprintf("the declared duration metric %s is not exposed, nor http_request_duration_seconds or http_server_request_duration_seconds", p.Expect.DurationMetric)
		}
		if len(j.near) > 0 {
			msg += fmt.Sprintf("; found %s: rename it, or declare it as expect.duration_metric if it is one", strings.Join(j.near, ", "))
		}
		p.Reportf("http_request_duration_seconds", "%s", msg)
		return
	}
	name := mf.GetName()
	if mf.GetType() != dto.MetricType_HISTOGRAM {
		p.Reportf(name, "%s is a %s, want a histogram: only histogram buckets can be aggregated across instances into latency quantiles",
			name, strings.ToLower(mf.GetType().String()))
	}
	r := Roles(mf)
	for _, role := range []struct {
		label, what string
		accepted    []string
	}{
		{r.Method, "method", MethodLabels},
		{r.Route, "route", RouteLabels},
		{r.Status, "status", StatusLabels},
	} {
		if role.label == "" {
			p.Reportf(name, "%s has no %s label (one of %s); its labels are %s",
				name, role.what, strings.Join(role.accepted, ", "), labelList(mf))
		}
	}
}

func labelList(mf *dto.MetricFamily) string {
	ls := slices.DeleteFunc(familyLabels(mf), func(l string) bool { return l == "le" || l == "quantile" })
	if len(ls) == 0 {
		return "none"
	}
	return strings.Join(ls, ", ")
}

// nearMissRE finds families that look like an HTTP request duration under
// another name or unit, e.g. http_request_duration_ms.
var nearMissRE = regexp.MustCompile(`(?i)(http|request|response).*(duration|latency|time)|(duration|latency).*(http|request)`)

func nearMisses(fams []*dto.MetricFamily) []string {
	var out []string
	for _, mf := range fams {
		n := mf.GetName()
		if nearMissRE.MatchString(n) && !strings.HasSuffix(n, "_created") && !strings.Contains(n, "nodejs_") {
			out = append(out, n)
		}
	}
	return out
}
