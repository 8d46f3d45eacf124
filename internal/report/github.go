package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/obslint/obslint/checks"
)

// GitHub Actions workflow commands (reference ci-integration.md §3.1): one
// ::error, ::warning or ::notice line per finding, which the runner turns
// into an annotation on the run and, when the line changed, on the PR diff.
//
// GitHub keeps 10 annotations of each level per step and drops the rest
// silently, in print order. So findings go most severe first, at most
// maxAnnotations per level, and a last ::notice gives the totals and says
// how many were not shown: the step summary (markdown) has them all.

// maxAnnotations is GitHub's per-step limit for each level.
const maxAnnotations = 10

// maxAnnotationBytes caps one message; evidence can be long, and the
// annotation is a pointer to the report, not the report.
const maxAnnotationBytes = 4000

// annotation is one workflow command before escaping.
type annotation struct {
	level   string // error, warning or notice
	rule    string // empty for annotations about no rule
	title   string
	message string
}

func writeGitHub(w io.Writer, res checks.Result, opt Options) error {
	var b strings.Builder
	shown := 0
	all := annotations(res)
	perLevel := map[string]int{}
	for _, a := range all {
		// One notice place is kept for the totals.
		limit := maxAnnotations
		if a.level == "notice" {
			limit--
		}
		if perLevel[a.level] >= limit {
			continue
		}
		perLevel[a.level]++
		shown++
		writeCommand(&b, a, opt)
	}
	writeCommand(&b, totals(res, shown, len(all)), opt)
	_, err := io.WriteString(w, b.String())
	return err
}

// annotations are the findings and stale baseline entries, most severe
// first, in report order within a severity.
func annotations(res checks.Result) []annotation {
	type ranked struct {
		sev checks.Severity
		a   annotation
	}
	var rs []ranked
	for _, f := range res.Findings {
		msg := findingMessage(f)
		if f.Fix != "" {
			msg += "\nFix: " + f.Fix
		}
		if f.Docs != "" {
			msg += "\nDocs: " + docsURL(f.Docs)
		}
		rs = append(rs, ranked{f.Severity, annotation{level: annotationLevel(f.Severity), rule: f.Rule, title: "obslint " + f.Rule, message: msg}})
	}
	for _, e := range res.StaleBaseline {
		msg := fmt.Sprintf("Baseline entry %s %q no longer occurs (%d times): remove it from the baseline.", e.Rule, e.Subject, e.Count)
		rs = append(rs, ranked{e.Severity, annotation{level: annotationLevel(e.Severity), rule: e.Rule, title: "obslint stale baseline", message: msg}})
	}
	slices.SortStableFunc(rs, func(a, b ranked) int { return int(b.sev) - int(a.sev) })
	out := make([]annotation, len(rs))
	for i, r := range rs {
		out[i] = r.a
	}
	return out
}

func annotationLevel(s checks.Severity) string {
	switch s {
	case checks.Error:
		return "error"
	case checks.Warning:
		return "warning"
	}
	return "notice"
}

// totals is the last annotation: the verdict in one line, and what the
// per-level limit hid.
func totals(res checks.Result, shown, total int) annotation {
	s := res.Summary
	msg := fmt.Sprintf("%s, %s, %s", plural(s.Errors, "error"), plural(s.Warnings, "warning"), plural(s.Infos, "info"))
	if s.Passed+s.Failed > 0 {
		msg += fmt.Sprintf("; score %d/100", s.Score)
	}
	msg += fmt.Sprintf("; rules: %d passed, %d failed, %d not evaluated, %d disabled.", s.Passed, s.Failed, s.NotEvaluated, s.Disabled)
	if shown < total {
		msg += fmt.Sprintf(" %d of %d annotations are not shown (GitHub shows %d per level); the Markdown report lists every finding.",
			total-shown, total, maxAnnotations)
	}
	return annotation{level: "notice", title: "obslint summary", message: msg}
}

// writeCommand writes "::level file=…,line=…,title=…::message", at the
// same place SARIF points. Escaping follows actions/toolkit: a message
// cannot end the line, a property cannot end the property list.
func writeCommand(b *strings.Builder, a annotation, opt Options) {
	line := 1
	if a.rule != "" {
		line = opt.line(a.rule)
	}
	fmt.Fprintf(b, "::%s file=%s,line=%d,title=%s::%s\n", a.level, escapeProperty(opt.location()), line,
		escapeProperty(a.title), escapeData(clip(a.message, maxAnnotationBytes)))
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func escapeData(s string) string     { return dataEscaper.Replace(s) }
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }
