package logs

import (
	"fmt"
	"strings"

	"github.com/obslint/obslint/checks"
)

// maxExamples is how many example lines a finding quotes.
const maxExamples = 3

// tally gathers the lines that share one problem under one subject, so that
// a stream of 10,000 bad lines makes one finding with a count and a few
// examples rather than 10,000 findings.
type tally struct {
	order  []string
	groups map[string]*group
}

// group is one future finding.
type group struct {
	Subject string
	Problem string
	Source  string
	N       int
	kinds   []kindCount
	lines   []int
	ex      []string
}

type kindCount struct {
	kind string
	n    int
}

// add counts line l under (subject, problem); kind breaks the problem down
// ("uvicorn access log", "Python traceback") and may be empty; detail is the
// example text quoted in the evidence.
func (t *tally) add(subject, problem, kind string, l checks.LogLine, detail string) {
	key := subject + "\x00" + problem
	if t.groups == nil {
		t.groups = map[string]*group{}
	}
	g, ok := t.groups[key]
	if !ok {
		g = &group{Subject: subject, Problem: problem, Source: l.Source}
		t.groups[key] = g
		t.order = append(t.order, key)
	}
	g.N++
	if kind != "" {
		g.count(kind)
	}
	if len(g.lines) < maxExamples {
		g.lines = append(g.lines, l.N)
		g.ex = append(g.ex, fmt.Sprintf("%s:%d: %s", l.Source, l.N, detail))
	}
}

func (g *group) count(kind string) {
	for i := range g.kinds {
		if g.kinds[i].kind == kind {
			g.kinds[i].n++
			return
		}
	}
	g.kinds = append(g.kinds, kindCount{kind: kind, n: 1})
}

// report turns every group into one finding. head writes the start of the
// message (what is wrong, on how many lines); report appends the kinds seen
// and the example line numbers, and puts the excerpts in Evidence.
func (t *tally) report(p *checks.Pass, head func(g *group) string) {
	for _, key := range t.order {
		g := t.groups[key]
		var b strings.Builder
		b.WriteString(head(g))
		if len(g.kinds) > 0 {
			parts := make([]string, len(g.kinds))
			for i, k := range g.kinds {
				parts[i] = fmt.Sprintf("%s ×%d", k.kind, k.n)
				if h := kindHints[k.kind]; h != "" {
					parts[i] += " (" + h + ")"
				}
			}
			b.WriteString(": " + strings.Join(parts, "; "))
		}
		b.WriteString("; e.g. " + lineList(g.lines))
		p.Report(checks.Finding{Subject: g.Subject, Message: b.String(), Evidence: strings.Join(g.ex, "\n")})
	}
}

func lineList(lines []int) string {
	parts := make([]string, len(lines))
	for i, n := range lines {
		parts[i] = fmt.Sprint(n)
	}
	if len(lines) == 1 {
		return "line " + parts[0]
	}
	return "lines " + strings.Join(parts, ", ")
}

// share writes "3 of 40 lines (7.5%)".
func share(n, total int, unit string) string {
	if total <= 0 {
		total = n
	}
	pct := float64(n) * 100 / float64(total)
	return fmt.Sprintf("%d of %d %s (%s%%)", n, total, unit, trimFloat(pct))
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0")
}
