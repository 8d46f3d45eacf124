package metrics

import (
	"cmp"
	"slices"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// Per-family rules judge each family as the scrape it came in is fed, and
// keep what they concluded about its latest version: a family is judged as
// the last scrape that exposed it showed it (a family can vanish, e.g. when
// a worker without it answers the second scrape), and reported in the
// order of that scrape, the families of the last scrape first.

// famEntry is what a rule keeps of one family: where its latest version
// was, its type, and what the rule made of it.
type famEntry[T any] struct {
	name   string
	scrape int // index of the scrape in Evidence.Scrapes
	pos    int // position among that scrape's families
	typ    dto.MetricType
	v      T
}

// latest holds one entry per family name, from the last scrape that
// exposed it: bounded by the families of a scrape, not their series or the
// number of scrapes.
type latest[T any] struct {
	m map[string]*famEntry[T]
}

// see judges the families of a parsed scrape with judge, replacing what
// earlier scrapes said of them. Nameless families, which no parser should
// build, and a name written twice in one body (the first counts) are left
// out.
func (l *latest[T]) see(s *checks.Scrape, judge func(mf *dto.MetricFamily) T) {
	if !s.Parsed() {
		return
	}
	if l.m == nil {
		l.m = map[string]*famEntry[T]{}
	}
	for pos, mf := range s.Families {
		name := mf.GetName()
		e, ok := l.m[name]
		if name == "" || ok && e.scrape == s.Index {
			continue
		}
		if !ok {
			e = &famEntry[T]{name: name}
			l.m[name] = e
		}
		e.scrape, e.pos, e.typ, e.v = s.Index, pos, mf.GetType(), judge(mf)
	}
}

// merge folds in what a judge of the later scrapes kept: their version of
// a family replaces this one's, as a later scrape does.
func (l *latest[T]) merge(later *latest[T]) {
	if len(later.m) == 0 {
		return
	}
	if l.m == nil {
		l.m = make(map[string]*famEntry[T], len(later.m))
	}
	for name, e := range later.m {
		l.m[name] = e
	}
}

// ordered lists the entries: the last scrape's families in its order, then
// those only earlier scrapes exposed, latest scrape first.
func (l *latest[T]) ordered() []*famEntry[T] {
	out := make([]*famEntry[T], 0, len(l.m))
	for _, e := range l.m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *famEntry[T]) int { return cmp.Or(cmp.Compare(b.scrape, a.scrape), cmp.Compare(a.pos, b.pos)) })
	return out
}

// types looks a family's type up among the entries.
func (l *latest[T]) types(name string) (dto.MetricType, bool) {
	e, ok := l.m[name]
	if !ok {
		return 0, false
	}
	return e.typ, true
}

// lib names the library that exposes a family (Library).
func (l *latest[T]) lib(e *famEntry[T], profile string) string {
	return library(e.name, e.typ, l.types, profile)
}

// lintJudge is the judge of a rule that validates each family on its own:
// it keeps each family's distinct messages and reports them as findings
// for the service's own families, notes for the libraries'.
type lintJudge struct {
	validate func(mf *dto.MetricFamily) []string
	fams     latest[[]string]
}

// lintEach makes the judge of a per-family validation.
func lintEach(validate func(mf *dto.MetricFamily) []string) func(*checks.Evidence) checks.ScrapeJudge {
	return func(*checks.Evidence) checks.ScrapeJudge { return &lintJudge{validate: validate} }
}

func (j *lintJudge) Scrape(s *checks.Scrape) {
	j.fams.see(s, func(mf *dto.MetricFamily) []string {
		var out []string
		for _, msg := range j.validate(mf) {
			if !slices.Contains(out, msg) {
				out = append(out, msg)
			}
		}
		return out
	})
}

func (j *lintJudge) Merge(later checks.ScrapeJudge) { j.fams.merge(&later.(*lintJudge).fams) }

func (j *lintJudge) Finish(p *checks.Pass) {
	for _, e := range j.fams.ordered() {
		if len(e.v) == 0 {
			continue
		}
		lib := j.fams.lib(e, p.Target.Profile)
		for _, msg := range e.v {
			reportFamily(p, lib, e.name, msg)
		}
	}
}
