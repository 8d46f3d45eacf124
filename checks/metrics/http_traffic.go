package metrics

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// HTTPTraffic checks that the duration histogram counted the probes.
var HTTPTraffic = &checks.Rule{
	ID:       "metrics/http-traffic",
	Severity: checks.Error,
	Summary:  "the duration histogram counts every probe, per route and status",
	Doc: `A duration histogram that exists but does not count the requests it claims to is worse
than none: dashboards look healthy while the service is not. obslint counts the probe
requests that got an answer, per route template and status, and expects the histogram's
` + "`_count`" + ` to have grown by at least as many between the scrape before and the scrape after
probing. Typical causes: the middleware is registered after the routes (Express runs it only
for unmatched paths), errors bypass it (an error handler answers before ` + "`finish`" + `), the
route label holds something else than the route template, or the 404 handler is not
instrumented. A status label with classes (` + "`2xx`" + `) matches too; probes of the metrics path
itself are not counted. This rule is not evaluated when the histogram is missing
(see metrics/http-server-duration), or when ` + "`process_start_time_seconds`" + ` changes between
scrapes: several worker processes, or a restart, make the counts incomparable (see
metrics/counter-monotonic).

**Node (prom-client).**

    // bad: registered after the routes, sees only what falls through
    app.get('/users/:id', handler);
    app.use(metricsMiddleware);
    // good
    app.use(metricsMiddleware);               // first, records on res 'finish'
    app.get('/users/:id', handler);

**Python (prometheus_client).**

    # bad: observed only on success
    @app.get("/users/{user_id}")
    def get_user(user_id: int):
        with H.labels("GET", "/users/{user_id}", "200").time():
            return load(user_id)
    # good: a middleware observes every response, errors included
    @app.middleware("http")
    async def observe(request, call_next): ...

**Fix.** Instrument in a middleware that runs first and records on response completion,
with the route template and the final status.`,
	Fix: checks.Fix{
		Node:   "register the metrics middleware before the routes and observe on res.on('finish') with req.route.path and res.statusCode",
		Python: "observe the histogram in an HTTP middleware (after call_next, including exceptions) with the route template and final status",
	},
	Needs:   []checks.Need{checks.NeedTwoScrapes, checks.NeedProbes},
	Scrapes: newTrafficJudge,
}

// probeGroup is the probes of one route template and status.
type probeGroup struct {
	Route  string
	Status int
	N      int
}

func (g probeGroup) subject() string {
	return strings.TrimSpace(g.Route + " " + strconv.Itoa(g.Status))
}

// trafficJudge keeps the duration family of the first and the last parsed
// scrape, and the start times of every scrape.
type trafficJudge struct {
	declared    string
	first, last checks.Scrape // holding the duration families only
	n           int
	start       tells
}

func newTrafficJudge(ev *checks.Evidence) checks.ScrapeJudge {
	return &trafficJudge{declared: ev.Expect.DurationMetric, start: newTells()}
}

func (j *trafficJudge) Scrape(s *checks.Scrape) {
	if !s.Parsed() {
		return
	}
	kept := durationOnly(s, j.declared)
	if j.n == 0 {
		j.first = kept
	}
	j.last = kept
	j.start.seeStart(j.n, s)
	j.n++
}

// durationOnly is the scrape with only the families DurationFamily may pick.
func durationOnly(s *checks.Scrape, declared string) checks.Scrape {
	out := *s
	out.Families, out.Body = nil, nil
	for _, mf := range s.Families {
		if mf.GetName() == declared || slices.Contains(DurationNames, mf.GetName()) {
			out.Families = append(out.Families, mf)
		}
	}
	return out
}

func (j *trafficJudge) Merge(later checks.ScrapeJudge) {
	l := later.(*trafficJudge)
	if l.n == 0 {
		return
	}
	if j.n == 0 {
		j.first = l.first
	}
	j.last = l.last
	j.start.merge(&l.start, j.n)
	j.n += l.n
}

func (j *trafficJudge) Finish(p *checks.Pass) {
	first, last := j.first, j.last
	mf, ok := DurationFamily(last, p.Expect.DurationMetric)
	if !ok {
		p.Skip("no HTTP server duration histogram is exposed (see metrics/http-server-duration)")
		return
	}
	groups := groupProbes(p.Probes, metricsPath(p.Target.MetricsURL))
	if len(groups) == 0 {
		p.Skip("no probe request other than the metrics path got a response")
		return
	}
	// Counts from different processes cannot be compared: with several
	// workers each serving its own registry, the probes spread over workers
	// and each scrape shows one of them. metrics/counter-monotonic reports
	// that fault; counting here too would only add noise.
	if id, ok := j.start.startTimes(); ok {
		if n := distinctValues(id); n > 1 {
			p.Skip("%s took %d values over the scrapes: several processes (or restarts) answered the metrics endpoint, so the counts before and after probing are not comparable (see metrics/counter-monotonic)", id.subject, n)
			return
		}
	}
	roles := Roles(mf)
	before := countsBySeries(first.Family(mf.GetName()))
	after := countsBySeries(mf)
	// Groups that match the same series (e.g. probes without a route when the
	// family has no route label) share one count: pool them.
	type pool struct {
		want, grew int
		groups     []probeGroup
		series     []string
	}
	pools := map[string]*pool{}
	var order []string
	for _, g := range groups {
		keys := matchingSeries(mf, roles, g)
		id := strings.Join(keys, "\x00")
		if len(keys) == 0 {
			id = "none:" + g.subject()
		}
		pl, ok := pools[id]
		if !ok {
			pl = &pool{series: keys}
			for _, k := range keys {
				pl.grew += int(after[k] - before[k])
			}
			pools[id] = pl
			order = append(order, id)
		}
		pl.want += g.N
		pl.groups = append(pl.groups, g)
	}
	for _, id := range order {
		pl := pools[id]
		if pl.grew >= pl.want {
			continue
		}
		for _, g := range pl.groups {
			p.Reportf(g.subject(), "%d probe request(s) %s answered %d, but %s_count grew by %d%s",
				pl.want, probedWhere(g), g.Status, mf.GetName(), pl.grew, seriesHint(pl.series, roles, g))
		}
	}
}

func probedWhere(g probeGroup) string {
	if g.Route == "" {
		return "without a declared route"
	}
	return "to " + g.Route
}

func seriesHint(series []string, roles LabelRoles, g probeGroup) string {
	if len(series) == 0 {
		var want []string
		if roles.Route != "" && g.Route != "" {
			want = append(want, fmt.Sprintf("%s=%q", roles.Route, g.Route))
		}
		if roles.Status != "" {
			want = append(want, fmt.Sprintf("%s=%q", roles.Status, strconv.Itoa(g.Status)))
		}
		return fmt.Sprintf(" (no series with %s)", strings.Join(want, ", "))
	}
	return fmt.Sprintf(" (series %s)", strings.Join(series, " "))
}

// metricsPath is the path of the metrics URL, /metrics by default.
func metricsPath(metricsURL string) string {
	if u, err := url.Parse(metricsURL); err == nil && u.Path != "" {
		return u.Path
	}
	return "/metrics"
}

// groupProbes groups the answered probes by route and status, in first-seen
// order, leaving out probes of the metrics path.
func groupProbes(probes []checks.Probe, mpath string) []probeGroup {
	var out []probeGroup
	for _, pr := range probes {
		path, _, _ := strings.Cut(pr.Path, "?")
		if pr.Status == 0 || path == mpath {
			continue
		}
		i := slices.IndexFunc(out, func(g probeGroup) bool { return g.Route == pr.Route && g.Status == pr.Status })
		if i < 0 {
			out = append(out, probeGroup{Route: pr.Route, Status: pr.Status})
			i = len(out) - 1
		}
		out[i].N++
	}
	return out
}

// countsBySeries maps each series (labels without le) to its _count.
func countsBySeries(mf *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	if mf == nil {
		return out
	}
	for _, m := range mf.GetMetric() {
		switch {
		case m.Histogram != nil:
			out[seriesKey(m, "le", "quantile")] += sampleCount(m.GetHistogram())
		case m.Summary != nil:
			out[seriesKey(m, "le", "quantile")] += float64(m.GetSummary().GetSampleCount())
		}
	}
	return out
}

// matchingSeries lists the series of the family a probe group is counted
// in: same route template (when both sides have one) and same status or
// status class (when the family has a status label).
func matchingSeries(mf *dto.MetricFamily, roles LabelRoles, g probeGroup) []string {
	var out []string
	for _, m := range mf.GetMetric() {
		if roles.Route != "" && g.Route != "" && !sameRoute(labelValue(m, roles.Route), g.Route) {
			continue
		}
		if roles.Status != "" && !statusMatches(labelValue(m, roles.Status), g.Status) {
			continue
		}
		k := seriesKey(m, "le", "quantile")
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// routeParamRE finds a path parameter in any framework's syntax: Express
// `:id`, FastAPI/OpenAPI `{id}`, Flask `<int:id>`, and express-prom-bundle's
// normalised `#val`.
var routeParamRE = regexp.MustCompile(`:[A-Za-z_][A-Za-z0-9_]*|\{[^}/]*\}|<[^>/]*>|#[A-Za-z_]+`)

// sameRoute compares route templates whatever their parameter syntax, so
// that a probe declared as /users/:id matches a FastAPI /users/{user_id}.
func sameRoute(a, b string) bool {
	if a == b {
		return true
	}
	norm := func(s string) string { return strings.TrimSuffix(routeParamRE.ReplaceAllString(s, "*"), "/") }
	return norm(a) == norm(b)
}

// statusMatches accepts the exact code or its class ("2xx", "2XX").
func statusMatches(label string, status int) bool {
	code := strconv.Itoa(status)
	if label == code {
		return true
	}
	return len(label) == 3 && strings.EqualFold(label[1:], "xx") && label[0] == code[0]
}

// distinctValues counts the different values an identity took.
func distinctValues(id identity) int {
	seen := map[string]bool{}
	for _, o := range id.obs {
		seen[o.text] = true
	}
	return len(seen)
}
