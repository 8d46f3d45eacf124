package traces

import (
	"fmt"

	"github.com/obslint/obslint/checks"
)

// maxFirsts bounds the findings a span rule keeps: one per subject (a span
// name) and kind of problem. A service that names spans after raw paths
// has as many subjects as requests; past the bound they are counted.
const maxFirsts = 1000

// firsts keeps, for each subject and kind of problem, the finding of the
// first span (by Span.Seq) that has it: what a pass over the spans
// reporting each problem once per subject would report.
type firsts struct {
	by map[string]first
	// more counts the problems of subjects past maxFirsts.
	more int
}

type first struct {
	seq int
	f   checks.Finding
	// fix is the finding's own remedy, resolved for the profile (known
	// only once every span was fed) when reported.
	fix checks.Fix
}

// add records the finding make builds for the span at seq, unless an
// earlier span already had this problem. make runs only when needed.
func (o *firsts) add(seq int, subject, kind string, make func() checks.Finding) {
	o.addFix(seq, subject, kind, checks.Fix{}, make)
}

// addFix is add for a finding with a remedy of its own.
func (o *firsts) addFix(seq int, subject, kind string, fix checks.Fix, make func() checks.Finding) {
	key := subject + "\x00" + kind
	if cur, ok := o.by[key]; ok && cur.seq <= seq {
		return
	} else if !ok && len(o.by) >= maxFirsts {
		o.more++
		return
	}
	if o.by == nil {
		o.by = map[string]first{}
	}
	f := make()
	f.Subject = subject
	o.by[key] = first{seq, f, fix}
}

// has reports whether a span already had this problem: a later one
// cannot change what is reported.
func (o *firsts) has(subject, kind string) bool {
	_, ok := o.by[subject+"\x00"+kind]
	return ok
}

// merge folds in the findings of the spans that followed (only read).
func (o *firsts) merge(later *firsts) {
	o.more += later.more
	for key, lf := range later.by {
		cur, ok := o.by[key]
		switch {
		case ok && cur.seq <= lf.seq:
		case !ok && len(o.by) >= maxFirsts:
			o.more++
		default:
			if o.by == nil {
				o.by = map[string]first{}
			}
			o.by[key] = lf
		}
	}
}

// report hands the findings to the pass (Run sorts them).
func (o *firsts) report(p *checks.Pass) {
	for _, f := range o.by {
		if f.f.Fix == "" {
			f.f.Fix = f.fix.For(p.Target.Profile)
		}
		p.Report(f.f)
	}
	if o.more > 0 {
		p.Notef("spans", "%d more spans had a problem of this rule under another span name; only the first %d subjects are listed", o.more, maxFirsts)
	}
}

// finding is a Finding with a formatted message, for firsts.add.
func finding(format string, args ...any) func() checks.Finding {
	return func() checks.Finding { return checks.Finding{Message: fmt.Sprintf(format, args...)} }
}

// httpFindings is the state of a rule about HTTP SERVER spans: how many
// arrived, and the first span with each problem per span name.
type httpFindings struct {
	http  int
	found firsts
}

// counts reports whether s is an HTTP SERVER span, counting it if so.
func (h *httpFindings) counts(s *checks.Span) bool {
	if !isHTTPServer(*s) {
		return false
	}
	h.http++
	return true
}

func (h *httpFindings) merge(later *httpFindings) {
	h.http += later.http
	h.found.merge(&later.found)
}

// none skips the rule when no HTTP SERVER span arrived, and says so.
func (h *httpFindings) none(p *checks.Pass) bool {
	if h.http == 0 {
		p.Skip("no HTTP SERVER spans were received")
		return true
	}
	return false
}
