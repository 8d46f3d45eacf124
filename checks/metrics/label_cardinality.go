package metrics

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// LabelCardinality checks that no label carries unbounded values.
var LabelCardinality = &checks.Rule{
	ID:       "metrics/label-cardinality",
	Severity: checks.Error,
	Summary:  "no label carries raw ids, raw paths, uuids or emails",
	Doc: `Every distinct label value is a new time series, kept in memory by the service (client
registries never forget a series) and by Prometheus. A label holding a user id, a raw URL
path (` + "`/users/42`" + `), a uuid or an email grows with traffic until the service or
Prometheus runs out of memory, and the metric becomes useless for aggregation.

Flagged: label names that name an unbounded dimension (` + "`user_id`" + `, ` + "`userId`" + `, ` + "`email`" + `,
` + "`session_id`" + `, ` + "`request_id`" + `, ` + "`trace_id`" + `, ` + "`url`" + `…); label values that are uuids, emails, long
numbers or hex ids, paths with id segments, or the concrete value of a probed path parameter
(a probe of ` + "`/users/:id`" + ` sent as ` + "`/users/42`" + ` must not leave ` + "`42`" + ` or
` + "`/users/42`" + ` in a label). The finding says when the family also grew while probing.
` + "`le`" + `, ` + "`quantile`" + `, method and status labels, version-like labels, ` + "`*_info`" + ` families
and library-owned families are not judged.

**Node (prom-client).**

    // bad: req.path is the raw path
    h.observe({ method: req.method, route: req.path, status_code: res.statusCode }, s);
    // good: the matched template, with a fixed value for unmatched requests
    h.observe({ method: req.method, route: req.route?.path ?? 'unmatched', status_code: res.statusCode }, s);

**Python (prometheus_client).**

    # bad
    H.labels(request.method, request.url.path, str(status)).observe(s)
    # good
    route = request.scope.get("route")
    H.labels(request.method, route.path if route else "unmatched", str(status)).observe(s)

**Fix.** Label with the route template and small enumerations only; put ids in logs and
span attributes, where they belong.`,
	Fix: checks.Fix{
		Node:   "label with req.route.path (the template) and move ids to logs/span attributes",
		Python: "label with request.scope['route'].path (the template) and move ids to logs/span attributes",
	},
	Needs:   []checks.Need{checks.NeedFamilies},
	Scrapes: newCardinalityJudge,
}

// deniedLabels are label names (lower case, without '_' and '-') that name
// an unbounded dimension.
var deniedLabels = []string{"userid", "email", "sessionid", "requestid", "traceid", "spanid", "url", "uri"}

// labelFinding is one unbounded label of a family: why ("" for a denied
// name) and an example value.
type labelFinding struct{ label, why, value string }

// cardinalityJudge keeps, per family, its unbounded labels, and the series
// counts of the first and the last parsed scrape to say how much it grew.
type cardinalityJudge struct {
	probed      map[string]string
	fams        latest[[]labelFinding]
	first, last map[string]int
}

func newCardinalityJudge(ev *checks.Evidence) checks.ScrapeJudge {
	return &cardinalityJudge{probed: probedValues(ev.Probes)}
}

func (j *cardinalityJudge) Scrape(s *checks.Scrape) {
	if !s.Parsed() {
		return
	}
	j.fams.see(s, j.unbounded)
	counts := make(map[string]int, len(s.Families))
	for _, mf := range s.Families {
		if _, ok := counts[mf.GetName()]; !ok {
			counts[mf.GetName()] = len(mf.GetMetric())
		}
	}
	if j.first == nil {
		j.first = counts
	}
	j.last = counts
}

func (j *cardinalityJudge) Merge(later checks.ScrapeJudge) {
	l := later.(*cardinalityJudge)
	j.fams.merge(&l.fams)
	if j.first == nil {
		j.first = l.first
	}
	if l.last != nil {
		j.last = l.last
	}
}

func (j *cardinalityJudge) unbounded(mf *dto.MetricFamily) []labelFinding {
	var out []labelFinding
	roles := Roles(mf)
	for _, ln := range familyLabels(mf) {
		if deniedLabel(ln) {
			out = append(out, labelFinding{label: ln})
			continue
		}
		if !judgedLabel(mf.GetName(), ln, roles) {
			continue
		}
		if v, why := firstIDValue(mf, ln, j.probed); why != "" {
			out = append(out, labelFinding{label: ln, why: why, value: v})
		}
	}
	return out
}

func (j *cardinalityJudge) Finish(p *checks.Pass) {
	grew := seriesGrowth(j.first, j.last)
	for _, e := range j.fams.ordered() {
		if len(e.v) == 0 || j.fams.lib(e, p.Target.Profile) != "" {
			continue
		}
		for _, f := range e.v {
			if f.why == "" {
				p.Reportf(e.name, "label %q names an unbounded dimension: one series per value%s", f.label, grew[e.name])
			} else {
				p.Reportf(e.name, "label %q carries %s (e.g. %q): one series per value%s", f.label, f.why, f.value, grew[e.name])
			}
		}
	}
}

func deniedLabel(ln string) bool {
	n := strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(ln))
	return slices.Contains(deniedLabels, n)
}

// versionLabelRE matches labels whose values are build identifiers: few
// values per process, even when they look like hex ids.
var versionLabelRE = regexp.MustCompile(`(?i)version|revision|commit|sha|build`)

// judgedLabel says whether the values of a label are judged: not the
// histogram and summary labels, method and status, build identifiers, or
// *_info families, whose single series carries build data.
func judgedLabel(family, ln string, roles LabelRoles) bool {
	switch {
	case ln == "le" || ln == "quantile" || ln == roles.Method || ln == roles.Status:
		return false
	case versionLabelRE.MatchString(ln) || strings.HasSuffix(family, "_info"):
		return false
	}
	return true
}

func firstIDValue(mf *dto.MetricFamily, ln string, probed map[string]string) (string, string) {
	for _, m := range mf.GetMetric() {
		v := labelValue(m, ln)
		if why := idLike(v, probed); why != "" {
			return v, why
		}
	}
	return "", ""
}

var (
	uuidRE   = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	emailRE  = regexp.MustCompile(`^[^@\s/]+@[^@\s/]+\.[A-Za-z]{2,}$`)
	numberRE = regexp.MustCompile(`^[0-9]{6,}$`)
	hexIDRE  = regexp.MustCompile(`(?i)^[0-9a-f]{16,}$`)
)

// idLike says what kind of unbounded value v is, "" when it looks bounded.
// probed maps concrete values of probed paths to what they were.
func idLike(v string, probed map[string]string) string {
	if v == "" {
		return ""
	}
	if what, ok := probed[v]; ok {
		return what
	}
	switch {
	case uuidRE.MatchString(v):
		return "a uuid"
	case emailRE.MatchString(v):
		return "an email address"
	case numberRE.MatchString(v):
		return "a numeric id"
	case hexIDRE.MatchString(v) && strings.ContainsAny(v, "0123456789"):
		return "a hex id"
	case strings.HasPrefix(v, "/") && pathHasID(v):
		return "a raw path with an id in it"
	}
	return ""
}

func pathHasID(path string) bool {
	path, _, _ = strings.Cut(path, "?")
	for seg := range strings.SplitSeq(path, "/") {
		if seg != "" && isIDSegment(seg) {
			return true
		}
	}
	return false
}

func isIDSegment(seg string) bool {
	if routeParamRE.MatchString(seg) || seg == "*" {
		return false // a template parameter, e.g. :id or {user_id}
	}
	return numericRE.MatchString(seg) || uuidRE.MatchString(seg) || hexIDRE.MatchString(seg) && strings.ContainsAny(seg, "0123456789")
}

var numericRE = regexp.MustCompile(`^[0-9]+$`)

// probedValues maps the concrete values the probes put in path parameters,
// and the raw probed paths of templated routes, to a description.
func probedValues(probes []checks.Probe) map[string]string {
	out := map[string]string{}
	for _, pr := range probes {
		if pr.Route == "" {
			continue
		}
		path, _, _ := strings.Cut(pr.Path, "?")
		if path == pr.Route {
			continue
		}
		out[path] = fmt.Sprintf("the raw probed path of route %s", pr.Route)
		rs, ps := strings.Split(pr.Route, "/"), strings.Split(path, "/")
		if len(rs) != len(ps) {
			continue
		}
		for i, seg := range rs {
			if (routeParamRE.MatchString(seg) || seg == "*") && len(ps[i]) >= 2 && ps[i] != seg {
				out[ps[i]] = fmt.Sprintf("the value of path parameter %s of probed route %s", seg, pr.Route)
			}
		}
	}
	return out
}

// seriesGrowth describes, per family, how much it grew from the first to
// the last parsed scrape (series counts per family); empty when it did not.
func seriesGrowth(first, last map[string]int) map[string]string {
	out := map[string]string{}
	for name, after := range last {
		if before := first[name]; after > before {
			out[name] = fmt.Sprintf("; the family grew from %d to %d series while probing", before, after)
		}
	}
	return out
}
