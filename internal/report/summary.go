package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/obslint/obslint/checks"
)

// The Markdown report is a CI step summary ($GITHUB_STEP_SUMMARY, a GitLab
// MR note): short, and GitHub-renderable. GitHub drops a step summary over
// 1 MiB whole, so every list in it is capped and says what it left out.
const (
	// maxSummaryRows caps each table of the summary.
	maxSummaryRows = 50
	// maxSummaryFindings caps the collapsed list of all findings.
	maxSummaryFindings = 100
	// maxCellRunes caps one table cell; a subject or message can be long.
	maxCellRunes = 200
)

func writeMarkdown(w io.Writer, res checks.Result) error {
	var b strings.Builder
	writeSummaryHead(&b, res)
	writeFailingRules(&b, res)
	writeSkippedRules(&b, res)
	writeAllFindings(&b, res)
	writeBaselineNotes(&b, res)
	if len(res.Problems) > 0 {
		b.WriteString("\n**Capture problems**\n\n")
		for _, p := range capped(res.Problems, maxSummaryRows) {
			fmt.Fprintf(&b, "- %s: %s\n", cell(p.Phase), cell(p.Message))
		}
		writeLeftOut(&b, len(res.Problems), maxSummaryRows, "problems")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSummaryHead(b *strings.Builder, res checks.Result) {
	s := res.Summary
	verdict := ":white_check_mark:"
	switch {
	case s.Errors > 0:
		verdict = ":x:"
	case s.Warnings > 0:
		verdict = ":warning:"
	}
	title := cmp.Or(res.Tool.Name, "obslint")
	if res.Target.Service != "" {
		title += ": " + cell(res.Target.Service)
	}
	fmt.Fprintf(b, "## %s %s\n\n", verdict, title)
	score := "n/a (no rule evaluated)"
	if s.Passed+s.Failed > 0 {
		score = fmt.Sprintf("%d/100", s.Score)
	}
	fmt.Fprintf(b, "**Score %s** · %s, %s, %s\n\n", score,
		plural(s.Errors, "error"), plural(s.Warnings, "warning"), plural(s.Infos, "info"))
	fmt.Fprintf(b, "Rules: %d passed, %d failed, %d not evaluated, %d disabled", s.Passed, s.Failed, s.NotEvaluated, s.Disabled)
	if p := res.Target.Profile; p != "" {
		fmt.Fprintf(b, " · profile `%s`", strings.ReplaceAll(p, "`", ""))
	}
	b.WriteString(" · captured " + describeCaptured(res.Captured) + "\n")
	if s.NotEvaluated > 0 && s.NotEvaluated >= s.Passed+s.Failed {
		b.WriteString("\n> [!NOTE]\n> Most rules were not evaluated, so a good score here says little: see below for what was missing.\n")
	}
}

// failingRule is one row of the failing rules table.
type failingRule struct {
	id       string
	severity checks.Severity
	findings []checks.Finding
}

// failingRules are the rules with findings that failed them, most severe
// first. A finding whose rule row is missing still makes its rule fail.
func failingRules(res checks.Result) []failingRule {
	status := map[string]checks.RuleResult{}
	for _, r := range res.Rules {
		status[r.ID] = r
	}
	var out []failingRule
	index := map[string]int{}
	for _, f := range res.Findings {
		r, known := status[f.Rule]
		if known && r.Status != checks.StatusFail {
			continue // info notes on a passing rule
		}
		i, ok := index[f.Rule]
		if !ok {
			i = len(out)
			index[f.Rule] = i
			out = append(out, failingRule{id: f.Rule, severity: cmp.Or(r.Severity, f.Severity)})
		}
		out[i].findings = append(out[i].findings, f)
	}
	slices.SortStableFunc(out, func(a, b failingRule) int {
		return cmp.Or(cmp.Compare(b.severity, a.severity), cmp.Compare(a.id, b.id))
	})
	return out
}

func writeFailingRules(b *strings.Builder, res checks.Result) {
	rules := failingRules(res)
	if len(rules) == 0 {
		b.WriteString("\nNo rule failed.\n")
		return
	}
	b.WriteString("\n### Failing rules\n\n| Rule | Severity | Findings | First subject |\n|---|---|---|---|\n")
	for _, r := range capped(rules, maxSummaryRows) {
		fmt.Fprintf(b, "| [%s](%s) | %s | %d | %s |\n", cell(r.id), docsURL(docsAnchor(r.id)), r.severity,
			len(r.findings), cell(r.findings[0].Subject))
	}
	writeLeftOut(b, len(rules), maxSummaryRows, "failing rules")
}

// writeSkippedRules lists rules that were not evaluated, then disabled
// ones, one row per reason: "not evaluated is not passed", so a reader must
// see what the score does not cover.
func writeSkippedRules(b *strings.Builder, res checks.Result) {
	for _, s := range []struct {
		status checks.Status
		title  string
	}{{checks.StatusNotEvaluated, "Not evaluated"}, {checks.StatusDisabled, "Disabled"}} {
		var reasons []string
		ids := map[string][]string{}
		for _, r := range res.Rules {
			if r.Status != s.status {
				continue
			}
			reason := cmp.Or(r.Reason, "no reason given")
			if _, seen := ids[reason]; !seen {
				reasons = append(reasons, reason)
			}
			ids[reason] = append(ids[reason], r.ID)
		}
		if len(reasons) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n### %s\n\n| Rules | Reason |\n|---|---|\n", s.title)
		for _, reason := range capped(reasons, maxSummaryRows) {
			fmt.Fprintf(b, "| %s | %s |\n", cell(strings.Join(ids[reason], ", ")), cell(reason))
		}
		writeLeftOut(b, len(reasons), maxSummaryRows, "reasons")
	}
}

// writeAllFindings lists findings in a collapsed section: annotations show
// at most ten per level, so this is where the rest can be read.
func writeAllFindings(b *strings.Builder, res checks.Result) {
	if len(res.Findings) == 0 {
		return
	}
	fmt.Fprintf(b, "\n<details><summary>All findings (%d)</summary>\n\n", len(res.Findings))
	b.WriteString("| Rule | Severity | Subject | Message | Fix |\n|---|---|---|---|---|\n")
	for _, f := range capped(res.Findings, maxSummaryFindings) {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", cell(f.Rule), f.Severity, cell(f.Subject), cell(f.Message), cell(f.Fix))
	}
	writeLeftOut(b, len(res.Findings), maxSummaryFindings, "findings")
	b.WriteString("\n</details>\n")
}

func writeBaselineNotes(b *strings.Builder, res checks.Result) {
	if n := len(res.Baselined); n > 0 {
		fmt.Fprintf(b, "\nBaseline: %s accepted as known debt, not counted above.\n", plural(n, "finding"))
	}
	if len(res.StaleBaseline) == 0 {
		return
	}
	b.WriteString("\n### Stale baseline entries\n\nThese no longer occur: remove them from the baseline.\n\n| Rule | Subject | Count |\n|---|---|---|\n")
	for _, e := range capped(res.StaleBaseline, maxSummaryRows) {
		fmt.Fprintf(b, "| %s | %s | %d |\n", cell(e.Rule), cell(e.Subject), e.Count)
	}
	writeLeftOut(b, len(res.StaleBaseline), maxSummaryRows, "stale entries")
}

// writeLeftOut says how many rows a capped table left out.
func writeLeftOut(b *strings.Builder, total, shown int, what string) {
	if total > shown {
		fmt.Fprintf(b, "\n… and %d more %s; the JSON report has them all.\n", total-shown, what)
	}
}

func capped[T any](xs []T, n int) []T {
	return xs[:min(len(xs), n)]
}

// cell makes text safe in a table cell: one line, "|" and markdown
// escaped, capped in length.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxCellRunes {
		s = string(r[:maxCellRunes-1]) + "…"
	}
	return escapeText(s)
}
