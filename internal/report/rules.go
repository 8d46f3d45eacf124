package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/obslint/obslint/checks"
)

// jsonRuleDoc is one row of `obslint rules --format json`.
type jsonRuleDoc struct {
	ID       string   `json:"id"`
	Signal   string   `json:"signal"`
	Severity string   `json:"severity"`
	Profiles []string `json:"profiles"`
	Summary  string   `json:"summary"`
	Needs    []string `json:"needs"`
}

// WriteRules lists the catalogue for `obslint rules`: a table in text, an
// array in JSON, the rule reference (docs/rules.md) in markdown.
func WriteRules(w io.Writer, f Format, rules []*checks.Rule) error {
	switch f {
	case Text:
		return writeRulesText(w, rules)
	case JSON:
		return encodeJSON(w, rulesJSON(rules))
	case Markdown:
		return writeRulesMarkdown(w, rules)
	}
	return fmt.Errorf("report: format %v cannot list rules", f)
}

func writeRulesText(w io.Writer, rules []*checks.Rule) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tSUMMARY")
	for _, r := range rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, r.Summary)
	}
	return tw.Flush()
}

func rulesJSON(rules []*checks.Rule) []jsonRuleDoc {
	out := make([]jsonRuleDoc, 0, len(rules))
	for _, r := range rules {
		d := jsonRuleDoc{ID: r.ID, Signal: string(r.Signal()), Severity: r.Severity.String(),
			Profiles: append([]string{}, r.Profiles...), Summary: r.Summary, Needs: []string{}}
		for _, n := range r.Needs {
			d.Needs = append(d.Needs, string(n))
		}
		out = append(out, d)
	}
	return out
}

// Explain prints one rule for `obslint explain`: what it checks, why, and
// how to fix it on each stack.
func Explain(w io.Writer, r *checks.Rule) error {
	var b strings.Builder
	profiles := "all profiles"
	if len(r.Profiles) > 0 {
		profiles = strings.Join(r.Profiles, ", ") + " only"
	}
	fmt.Fprintf(&b, "%s (%s, %s)\n%s\n", r.ID, r.Severity, profiles, r.Summary)
	if doc := strings.TrimSpace(r.Doc); doc != "" {
		fmt.Fprintf(&b, "\n%s\n", doc)
	}
	var fixes []string
	for _, h := range []struct{ label, text string }{
		{"Node", r.Fix.Node}, {"Python", r.Fix.Python}, {"any stack", r.Fix.Generic},
	} {
		if h.text != "" {
			fixes = append(fixes, fmt.Sprintf("  %s: %s", h.label, h.text))
		}
	}
	if len(fixes) > 0 {
		fmt.Fprintf(&b, "\nFix:\n%s\n", strings.Join(fixes, "\n"))
	}
	b.WriteString("\n")
	if len(r.Needs) > 0 {
		needs := make([]string, len(r.Needs))
		for i, n := range r.Needs {
			needs[i] = string(n)
		}
		fmt.Fprintf(&b, "Needs: %s (not evaluated without it)\n", strings.Join(needs, ", "))
	}
	fmt.Fprintf(&b, "Docs: %s\n", r.Anchor())
	_, err := io.WriteString(w, b.String())
	return err
}
