package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/obslint/obslint/checks"
)

// ANSI styles, used only when Options.Color is set.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// painter wraps text in ANSI styles, or leaves it alone.
type painter bool

func (p painter) paint(style, s string) string {
	if !p || s == "" {
		return s
	}
	return style + s + ansiReset
}

func (p painter) severity(s checks.Severity) string {
	switch s {
	case checks.Error:
		return p.paint(ansiRed+ansiBold, s.String())
	case checks.Warning:
		return p.paint(ansiYellow, s.String())
	}
	return p.paint(ansiCyan, s.String())
}

// group is one signal's section of the text report.
type group struct {
	signal   checks.Signal
	rules    []checks.RuleResult
	findings map[string][]checks.Finding
}

// writeText renders the report grouped by signal. It is built in memory and
// written once, so a failing writer yields one error, not a torn report.
func writeText(w io.Writer, res checks.Result, opt Options) error {
	var b strings.Builder
	p := painter(opt.Color)
	writeHeader(&b, p, res)
	for _, g := range groupBySignal(res) {
		writeGroup(&b, p, g)
	}
	writeSummary(&b, p, res)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeHeader(b *strings.Builder, p painter, res checks.Result) {
	b.WriteString(p.paint(ansiBold, cmp.Or(res.Tool.Name, "obslint")))
	if res.Tool.Version != "" {
		b.WriteString(" " + res.Tool.Version)
	}
	b.WriteString("\n")
	t := res.Target
	profile := "profile undetermined"
	if t.Profile != "" {
		profile = "profile " + t.Profile
	}
	if t.ProfileReason != "" {
		profile += " (" + t.ProfileReason + ")"
	}
	fmt.Fprintf(b, "target:   %s, %s\n", cmp.Or(t.Service, "unnamed service"), profile)
	fmt.Fprintf(b, "captured: %s\n", describeCaptured(res.Captured))
	if j := describeJudged(res.Judged); j != "" {
		fmt.Fprintf(b, "judged:   %s\n", j)
	}
}

func describeCaptured(c checks.Captured) string {
	var got, missing []string
	add := func(ok bool, name, source string) {
		switch {
		case !ok:
			missing = append(missing, name)
		case source != "":
			got = append(got, name+" from "+source)
		default:
			got = append(got, name)
		}
	}
	add(c.Probes, "probes", "")
	add(c.Metrics, "metrics", "")
	add(c.Logs, "logs", c.LogSource)
	add(c.Traces, "traces", c.TraceSource)
	switch {
	case len(got) == 0:
		return "nothing"
	case len(missing) == 0:
		return strings.Join(got, ", ")
	}
	return strings.Join(got, ", ") + "; no " + strings.Join(missing, ", ")
}

// describeJudged says how much the rules were fed: "500,000 log lines,
// 12 spans, 14 scrapes".
func describeJudged(j checks.Judged) string {
	var parts []string
	for _, c := range []struct {
		n    int
		unit string
	}{{j.LogLines, "log line"}, {j.LogRecords, "OTLP log record"}, {j.Spans, "span"}, {j.Scrapes, "scrape"}} {
		switch {
		case c.n == 1:
			parts = append(parts, "1 "+c.unit)
		case c.n > 1:
			parts = append(parts, thousands(c.n)+" "+c.unit+"s")
		}
	}
	return strings.Join(parts, ", ")
}

// thousands writes n with commas: 500,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// groupBySignal sorts rules and findings into signal sections in report
// order. A finding whose rule is missing from res.Rules still gets shown,
// under a rule row made up from the finding, rather than dropped.
func groupBySignal(res checks.Result) []group {
	byRule := map[string][]checks.Finding{}
	for _, f := range res.Findings {
		byRule[f.Rule] = append(byRule[f.Rule], f)
	}
	rules := slices.Clone(res.Rules)
	known := map[string]bool{}
	for _, r := range rules {
		known[r.ID] = true
	}
	for _, f := range res.Findings {
		if !known[f.Rule] {
			known[f.Rule] = true
			rules = append(rules, checks.RuleResult{ID: f.Rule, Signal: signalOf(f.Rule), Status: checks.StatusFail, Severity: f.Severity})
		}
	}
	var order []checks.Signal
	bySignal := map[checks.Signal]*group{}
	for _, r := range rules {
		sig := r.Signal
		if sig == "" {
			sig = signalOf(r.ID)
		}
		g, ok := bySignal[sig]
		if !ok {
			g = &group{signal: sig, findings: byRule}
			bySignal[sig] = g
			order = append(order, sig)
		}
		g.rules = append(g.rules, r)
	}
	slices.SortFunc(order, func(a, b checks.Signal) int {
		ia, ib := signalRank(a), signalRank(b)
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(string(a), string(b))
	})
	out := make([]group, 0, len(order))
	for _, s := range order {
		g := bySignal[s]
		slices.SortStableFunc(g.rules, func(a, b checks.RuleResult) int { return strings.Compare(a.ID, b.ID) })
		out = append(out, *g)
	}
	return out
}

func signalOf(id string) checks.Signal {
	s, _, _ := strings.Cut(id, "/")
	return checks.Signal(s)
}

// signalRank puts the known signals first, in checks.Signals order.
func signalRank(s checks.Signal) int {
	if i := slices.Index(checks.Signals, s); i >= 0 {
		return i
	}
	return len(checks.Signals)
}

func writeGroup(b *strings.Builder, p painter, g group) {
	counts := map[checks.Status]int{}
	for _, r := range g.rules {
		counts[r.Status]++
	}
	fmt.Fprintf(b, "\n%s: %s\n", p.paint(ansiBold, string(g.signal)), statusCounts(counts))
	for _, r := range g.rules {
		if fs := g.findings[r.ID]; len(fs) > 0 {
			writeRule(b, p, r, fs)
		}
	}
	writeSkipped(b, p, "not evaluated", g.rules, checks.StatusNotEvaluated)
	writeSkipped(b, p, "disabled", g.rules, checks.StatusDisabled)
}

func statusCounts(c map[checks.Status]int) string {
	var parts []string
	for _, s := range []struct {
		status checks.Status
		label  string
	}{
		{checks.StatusFail, "failed"},
		{checks.StatusPass, "passed"},
		{checks.StatusNotEvaluated, "not evaluated"},
		{checks.StatusDisabled, "disabled"},
	} {
		if c[s.status] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s.status], s.label))
		}
	}
	return strings.Join(parts, ", ")
}

// writeRule prints a rule that has findings: a failing rule, or a passing
// one with info notes.
func writeRule(b *strings.Builder, p painter, r checks.RuleResult, fs []checks.Finding) {
	label := p.paint(ansiRed+ansiBold, "FAIL")
	if r.Status != checks.StatusFail {
		label = p.paint(ansiGreen, "PASS")
	}
	fmt.Fprintf(b, "  %s %s [%s]", label, p.paint(ansiBold, r.ID), p.severity(r.Severity))
	if r.Summary != "" {
		fmt.Fprintf(b, " %s", r.Summary)
	}
	b.WriteString("\n")
	for _, f := range fs {
		writeFinding(b, p, f)
	}
}

func writeFinding(b *strings.Builder, p painter, f checks.Finding) {
	subject := ""
	if f.Subject != "" {
		subject = " " + p.paint(ansiBold, f.Subject) + ":"
	}
	fmt.Fprintf(b, "    %s%s %s\n", p.severity(f.Severity), subject, f.Message)
	if ev := strings.TrimRight(f.Evidence, "\n"); ev != "" {
		for line := range strings.SplitSeq(ev, "\n") {
			fmt.Fprintf(b, "      %s %s\n", p.paint(ansiDim, "|"), line)
		}
	}
	if f.Fix != "" {
		fmt.Fprintf(b, "      %s %s\n", p.paint(ansiGreen, "fix:"), f.Fix)
	}
	if f.Docs != "" {
		fmt.Fprintf(b, "      %s\n", p.paint(ansiDim, "docs: "+f.Docs))
	}
}

// writeSkipped lists rules that did not run, one line per reason: when a
// whole signal was not captured, seven rules share one reason and one line.
func writeSkipped(b *strings.Builder, p painter, title string, rules []checks.RuleResult, status checks.Status) {
	var reasons []string
	ids := map[string][]string{}
	for _, r := range rules {
		if r.Status != status {
			continue
		}
		reason := cmp.Or(r.Reason, "no reason given")
		if _, seen := ids[reason]; !seen {
			reasons = append(reasons, reason)
		}
		ids[reason] = append(ids[reason], r.ID)
	}
	if len(reasons) == 0 {
		return
	}
	fmt.Fprintf(b, "  %s:\n", p.paint(ansiDim, title))
	for _, reason := range reasons {
		fmt.Fprintf(b, "    %s: %s\n", strings.Join(ids[reason], ", "), reason)
	}
}

func writeSummary(b *strings.Builder, p painter, res checks.Result) {
	s := res.Summary
	score := "score n/a, no rule evaluated"
	if s.Passed+s.Failed > 0 {
		score = fmt.Sprintf("score %d/100", s.Score)
	}
	counts := fmt.Sprintf("%s, %s, %s",
		plural(s.Errors, "error"), plural(s.Warnings, "warning"), plural(s.Infos, "info"))
	if s.Errors > 0 {
		counts = p.paint(ansiRed+ansiBold, counts)
	} else if s.Warnings == 0 {
		counts = p.paint(ansiGreen, counts)
	}
	fmt.Fprintf(b, "\nsummary: %s; %s; %d passed, %d failed, %d not evaluated, %d disabled\n",
		counts, score, s.Passed, s.Failed, s.NotEvaluated, s.Disabled)
	writeBaseline(b, p, res)
	if len(res.Problems) > 0 {
		fmt.Fprintf(b, "%s\n", p.paint(ansiYellow, "problems:"))
		for _, pr := range res.Problems {
			fmt.Fprintf(b, "  %s: %s\n", pr.Phase, pr.Message)
		}
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
