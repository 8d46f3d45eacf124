// Package checks holds obslint's rule model: the Evidence every front door
// produces, the Rule values that judge it, and the Result every report writer
// reads. Rules never do I/O and never know which front door captured the
// evidence.
package checks

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Severity is how bad a finding is. The zero value is Info.
type Severity int

const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// MarshalText writes the severity as its lower-case name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// ParseSeverity reads "error", "warning" (or "warn") and "info".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "error":
		return Error, nil
	case "warning", "warn":
		return Warning, nil
	case "info":
		return Info, nil
	}
	return Info, fmt.Errorf("unknown severity %q (want error, warning or info)", s)
}

// Signal is the kind of telemetry a rule judges.
type Signal string

const (
	Metrics     Signal = "metrics"
	Logs        Signal = "logs"
	Traces      Signal = "traces"
	Correlation Signal = "correlation"
)

// Signals lists the signals in report order.
var Signals = []Signal{Metrics, Logs, Traces, Correlation}

// Need names a piece of evidence a rule cannot be judged without. Run marks a
// rule not_evaluated, with the reason, when one of its needs is missing.
type Need string

const (
	NeedScrape       Need = "scrape"        // at least one metrics scrape, answered or not
	NeedFamilies     Need = "families"      // at least one scrape that parsed into metric families
	NeedTwoScrapes   Need = "two-scrapes"   // two or more parsed scrapes
	NeedLogs         Need = "logs"          // a log stream was captured (it may be empty)
	NeedTraces       Need = "traces"        // a trace source was attached (spans may be missing)
	NeedSpans        Need = "spans"         // at least one span was received
	NeedProbes       Need = "probes"        // requests were sent to the service
	NeedTracedProbes Need = "traced-probes" // probes that carried a traceparent
)

// Fix is the remedy for a finding, in the words of each stack.
type Fix struct {
	Node    string
	Python  string
	Generic string
}

// For returns the hint for a profile, falling back to Generic.
func (f Fix) For(profile string) string {
	switch {
	case profile == ProfileNode && f.Node != "":
		return f.Node
	case profile == ProfilePython && f.Python != "":
		return f.Python
	case f.Generic != "":
		return f.Generic
	case f.Node != "" && f.Python == "":
		return f.Node
	case f.Python != "" && f.Node == "":
		return f.Python
	}
	if f.Node != "" {
		return "Node: " + f.Node + "; Python: " + f.Python
	}
	return ""
}

// Rule is one conformance check. It is a value, like an analysis.Analyzer:
// the registry is a plain slice.
type Rule struct {
	// ID is stable and never changes meaning: "signal/kebab-name".
	ID string
	// Severity is the default severity of the rule's findings.
	Severity Severity
	// Profiles limits the rule to some stacks; empty means every profile.
	Profiles []string
	// Summary is one line, no capital, no period, about 60 letters at most.
	Summary string
	// Doc is markdown: why it matters, bad and good for Node and Python, how to fix.
	Doc string
	// Fix is the default remedy attached to findings that carry none.
	Fix Fix
	// Needs lists the evidence without which the rule is not evaluated.
	Needs []Need
	// Check judges the evidence. It reports findings, or calls Skip to say
	// that it could not be evaluated, through the Pass.
	Check func(*Pass)
	// Logs, for a rule that reads log lines, makes the state the lines are
	// fed to (see LogJudge), from the rest of the evidence; its Finish
	// takes the place of Check.
	Logs func(*Evidence) LogJudge
	// Scrapes, for a rule that reads parsed scrapes, makes the state each
	// scrape is fed to (see ScrapeJudge); its Finish takes the place of
	// Check.
	Scrapes func(*Evidence) ScrapeJudge
	// Spans, for a rule that reads spans, makes the state every span is
	// fed to (see SpanJudge); its Finish takes the place of Check.
	//
	// A rule with Logs may have Spans and Scrapes too, for the signals it
	// reads besides the lines: its LogJudge's Finish reports, and finds
	// their state in Pass.SpanState and Pass.ScrapeState.
	Spans func(*Evidence) SpanJudge
}

// Signal is the part of the ID before the slash.
func (r *Rule) Signal() Signal {
	s, _, _ := strings.Cut(r.ID, "/")
	return Signal(s)
}

// Anchor is the docs anchor of the rule in docs/rules.md.
func (r *Rule) Anchor() string {
	return "docs/rules.md#" + anchorReplacer.Replace(r.ID)
}

// anchorReplacer turns a rule ID into its heading's anchor; made once, as a
// judgement names it for every finding.
var anchorReplacer = strings.NewReplacer("/", "", ".", "")

var idRE = regexp.MustCompile(`^(metrics|logs|traces|correlation)/[a-z0-9]+(-[a-z0-9]+)*$`)

// Validate checks a catalogue: well-formed unique IDs, a summary, a doc, a check.
func Validate(rules []*Rule) error {
	var errs []string
	seen := map[string]bool{}
	for i, r := range rules {
		if r == nil {
			errs = append(errs, fmt.Sprintf("rule %d is nil", i))
			continue
		}
		if !idRE.MatchString(r.ID) {
			errs = append(errs, fmt.Sprintf("rule %q: ID must be signal/kebab-name", r.ID))
		}
		if seen[r.ID] {
			errs = append(errs, fmt.Sprintf("rule %q: duplicate ID", r.ID))
		}
		seen[r.ID] = true
		if r.Summary == "" || strings.HasSuffix(r.Summary, ".") || len(r.Summary) > 80 {
			errs = append(errs, fmt.Sprintf("rule %q: summary must be one short line without a final period", r.ID))
		}
		if strings.TrimSpace(r.Doc) == "" {
			errs = append(errs, fmt.Sprintf("rule %q: empty doc", r.ID))
		}
		if n := btoi(r.Check != nil) + btoi(r.Logs != nil) + btoi(r.Scrapes != nil && r.Logs == nil) + btoi(r.Spans != nil && r.Logs == nil); n != 1 {
			errs = append(errs, fmt.Sprintf("rule %q: needs exactly one of Check, Logs, Scrapes and Spans (or Logs with Spans and Scrapes)", r.ID))
		}
		for _, p := range r.Profiles {
			if !slices.Contains([]string{ProfileNode, ProfilePython}, p) {
				errs = append(errs, fmt.Sprintf("rule %q: unknown profile %q", r.ID, p))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid rule catalogue:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// Pass is what a rule's Check sees: the evidence, and a way to report.
type Pass struct {
	*Evidence
	Rule     *Rule
	findings []Finding
	notes    []Finding
	skip     string
	// spanState and scrapeState are the rule's SpanJudge and ScrapeJudge,
	// for a LogJudge that reads spans or scrapes too.
	spanState   SpanJudge
	scrapeState ScrapeJudge
}

// SpanState is the rule's SpanJudge, fed every span, for the Finish of a
// rule with both Logs and Spans (nil otherwise).
func (p *Pass) SpanState() SpanJudge { return p.spanState }

// ScrapeState is the rule's ScrapeJudge, fed every scrape, for the Finish
// of a rule with both Logs and Scrapes (nil otherwise).
func (p *Pass) ScrapeState() ScrapeJudge { return p.scrapeState }

// Report records a finding. Empty Rule and Severity are filled from the rule.
func (p *Pass) Report(f Finding) {
	p.findings = append(p.findings, f)
}

// Reportf records a finding about subject with a formatted message.
func (p *Pass) Reportf(subject, format string, args ...any) {
	p.Report(Finding{Subject: subject, Message: fmt.Sprintf(format, args...)})
}

// Notef records an info-level note that does not fail the rule, e.g. a
// library-owned metric that breaks a convention the service cannot fix.
func (p *Pass) Notef(subject, format string, args ...any) {
	p.notes = append(p.notes, Finding{Subject: subject, Message: fmt.Sprintf(format, args...)})
}

// Skip marks the rule not evaluated with a reason, e.g. "no probe declared a
// route template". Findings reported before Skip are dropped.
func (p *Pass) Skip(format string, args ...any) {
	p.skip = fmt.Sprintf(format, args...)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
