package logs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/obslint/obslint/checks"
)

// maxExamples is how many example lines a finding quotes.
const maxExamples = 3

// tally gathers the lines that share one problem under one subject, so that
// a stream of 10,000 bad lines makes one finding with a count and a few
// examples rather than 10,000 findings. Its state is bounded by the number
// of distinct (subject, problem) pairs: the examples are the first lines of
// the stream (by LogLine.Seq), so tallies of consecutive parts of a stream
// merge into the tally of the whole.
type tally struct {
	groups map[string]*group
}

// group is one future finding.
type group struct {
	Subject string
	Problem string
	Source  string
	N       int
	kinds   []kindCount // by first appearance
	ex      []example   // the first maxExamples lines, by Seq
}

type kindCount struct {
	kind  string
	n     int
	first int // Seq of its first line
}

type example struct {
	seq, line int
	text      string
}

// add counts line l under (subject, problem); kind breaks the problem down
// ("uvicorn access log", "Python traceback") and may be empty; detail makes
// the example text quoted in the evidence, only for lines kept as examples.
func (t *tally) add(subject, problem, kind string, l *checks.LogLine, detail func() string) {
	key := subject + "\x00" + problem
	if t.groups == nil {
		t.groups = map[string]*group{}
	}
	g, ok := t.groups[key]
	if !ok {
		g = &group{Subject: subject, Problem: problem, Source: l.Source}
		t.groups[key] = g
	}
	g.N++
	if kind != "" {
		g.count(kind, 1, l.Seq)
	}
	if len(g.ex) < maxExamples || l.Seq < g.ex[len(g.ex)-1].seq {
		g.keep(example{seq: l.Seq, line: l.N, text: fmt.Sprintf("%s:%d: %s", l.Source, l.N, detail())})
	}
}

func (g *group) count(kind string, n, first int) {
	for i := range g.kinds {
		if g.kinds[i].kind == kind {
			g.kinds[i].n += n
			g.kinds[i].first = min(g.kinds[i].first, first)
			return
		}
	}
	g.kinds = append(g.kinds, kindCount{kind: kind, n: n, first: first})
}

// keep inserts an example in Seq order and drops the one past maxExamples.
func (g *group) keep(e example) {
	i, _ := slices.BinarySearchFunc(g.ex, e.seq, func(x example, seq int) int { return x.seq - seq })
	g.ex = slices.Insert(g.ex, i, e)
	if len(g.ex) > maxExamples {
		g.ex = g.ex[:maxExamples]
	}
}

// merge folds in the tally of another part of the stream.
func (t *tally) merge(o *tally) {
	for key, og := range o.groups {
		if t.groups == nil {
			t.groups = map[string]*group{}
		}
		g, ok := t.groups[key]
		if !ok {
			t.groups[key] = og
			continue
		}
		g.N += og.N
		for _, k := range og.kinds {
			g.count(k.kind, k.n, k.first)
		}
		for _, e := range og.ex {
			if len(g.ex) < maxExamples || e.seq < g.ex[len(g.ex)-1].seq {
				g.keep(e)
			}
		}
	}
}

// report turns every group into one finding. head writes the start of the
// message (what is wrong, on how many lines); report appends the kinds seen
// and the example line numbers, and puts the excerpts in Evidence.
func (t *tally) report(p *checks.Pass, head func(g *group) string) {
	for _, g := range t.groups {
		var b strings.Builder
		b.WriteString(head(g))
		if len(g.kinds) > 0 {
			kinds := slices.Clone(g.kinds)
			slices.SortFunc(kinds, func(a, b kindCount) int { return a.first - b.first })
			parts := make([]string, len(kinds))
			for i, k := range kinds {
				parts[i] = fmt.Sprintf("%s ×%d", k.kind, k.n)
				if h := kindHints[k.kind]; h != "" {
					parts[i] += " (" + h + ")"
				}
			}
			b.WriteString(": " + strings.Join(parts, "; "))
		}
		lines := make([]int, len(g.ex))
		texts := make([]string, len(g.ex))
		for i, e := range g.ex {
			lines[i], texts[i] = e.line, e.text
		}
		b.WriteString("; e.g. " + lineList(lines))
		p.Report(checks.Finding{Subject: g.Subject, Message: b.String(), Evidence: strings.Join(texts, "\n")})
	}
}

// counts counts lines per key (a source, a subject); merge adds another
// part's counts.
type counts map[string]int

func (c counts) merge(o counts) {
	for k, n := range o {
		c[k] += n
	}
}

// firstLine is the earliest line (by Seq) of a kind: a finding's "first on
// stdout:12".
type firstLine struct {
	seq  int
	set  bool
	line checks.LogLine
}

// offer keeps l when it comes before the line held.
func (f *firstLine) offer(l *checks.LogLine) {
	if !f.set || l.Seq < f.seq {
		f.seq, f.set, f.line = l.Seq, true, keepLine(l)
	}
}

func (f *firstLine) merge(o firstLine) {
	if o.set && (!f.set || o.seq < f.seq) {
		*f = o
	}
}

// keepLine copies what a judge may keep of a borrowed line: no fields.
func keepLine(l *checks.LogLine) checks.LogLine {
	c := *l
	c.Fields = nil
	return c
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
