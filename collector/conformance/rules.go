package conformance

import (
	"slices"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
)

// NoProbesReason is why probe-dependent rules are not evaluated here.
const NoProbesReason = "collector mode sees no probes: obslint sent no requests, so this rule needs `obslint run` or `obslint audit`"

// collectorRules is the catalogue with every rule that needs probes made to
// skip with NoProbesReason: the collector never sends requests, and a rule
// must not pass for lack of them.
func collectorRules() []*checks.Rule {
	all := catalogue.All()
	out := make([]*checks.Rule, 0, len(all))
	for _, r := range all {
		if slices.Contains(r.Needs, checks.NeedProbes) || slices.Contains(r.Needs, checks.NeedTracedProbes) {
			c := *r
			c.Needs, c.Logs, c.Scrapes, c.Spans = nil, nil, nil, nil
			c.Check = func(p *checks.Pass) { p.Skip("%s", NoProbesReason) }
			r = &c
		}
		out = append(out, r)
	}
	return out
}
