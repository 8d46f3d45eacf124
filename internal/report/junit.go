package report

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/obslint/obslint/checks"
)

// JUnit XML as GitLab and Jenkins read it (reference ci-integration.md §4).
// One testsuite per signal, one testcase per rule, so GitLab can compare
// branches rule by rule ("resolved failures"):
//
//   - classname "obslint.<service>.<signal>" and name the rule ID: unique,
//     as GitLab keeps only the first of two testcases with the same pair;
//   - a rule with findings at or above --fail-on fails, the findings in the
//     failure's body; findings below it, notes and baselined findings go to
//     system-out of a passing testcase, so the test report and the exit
//     code agree;
//   - not evaluated and disabled rules are skipped, with the reason;
//   - capture problems are errors in a "capture" suite; stale baseline
//     entries are failures in a "baseline" suite, as they fail the run.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *junitOutcome `xml:"failure"`
	Error     *junitOutcome `xml:"error"`
	Skipped   *junitOutcome `xml:"skipped"`
	SystemOut *junitText    `xml:"system-out"`
}

// junitOutcome's body and junitText are CDATA, so a multi-line body reads
// as lines in the file, not as "&#xA;" entities. Go splits a "]]>" in
// CDATA but passes control characters through: xmlSafe removes those.
type junitOutcome struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",cdata"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

func writeJUnit(w io.Writer, res checks.Result, opt Options) error {
	out, err := xml.MarshalIndent(toJUnit(res, opt), "", "  ")
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, xml.Header+string(out)+"\n")
	return err
}

func toJUnit(res checks.Result, opt Options) junitSuites {
	prefix := junitPrefix(res.Target.Service)
	props := junitProperties(res)
	var suites []junitSuite
	for _, g := range groupBySignal(res) {
		s := junitSuite{Name: suiteName(res.Target.Service, string(g.signal)), Properties: props}
		for _, r := range g.rules {
			s.Cases = append(s.Cases, ruleCase(prefix+"."+string(g.signal), r, g.findings[r.ID], opt))
		}
		suites = append(suites, s)
	}
	if len(res.Problems) > 0 {
		suites = append(suites, problemSuite(res, prefix, props, opt))
	}
	if len(res.StaleBaseline) > 0 {
		suites = append(suites, staleSuite(res, prefix, props, opt))
	}
	top := junitSuites{Name: cmp.Or(res.Tool.Name, "obslint"), Suites: suites}
	for i := range top.Suites {
		s := &top.Suites[i]
		if !res.Started.IsZero() {
			s.Timestamp = res.Started.UTC().Format("2006-01-02T15:04:05")
		}
		for _, c := range s.Cases {
			s.Tests++
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Error != nil:
				s.Errors++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		top.Tests += s.Tests
		top.Failures += s.Failures
		top.Errors += s.Errors
		top.Skipped += s.Skipped
	}
	return top
}

// ruleCase is one rule's testcase. Baselined findings are not in fs: they
// are listed apart in res.Baselined and never fail a rule.
func ruleCase(classname string, r checks.RuleResult, fs []checks.Finding, opt Options) junitCase {
	c := junitCase{Name: r.ID, Classname: classname, File: opt.location()}
	switch r.Status {
	case checks.StatusNotEvaluated:
		c.Skipped = &junitOutcome{Message: "not evaluated: " + cmp.Or(r.Reason, "no reason given")}
		return c
	case checks.StatusDisabled:
		c.Skipped = &junitOutcome{Message: "disabled: " + cmp.Or(r.Reason, "no reason given")}
		return c
	}
	var failing, other []checks.Finding
	for _, f := range fs {
		if f.Severity >= opt.FailOn {
			failing = append(failing, f)
		} else {
			other = append(other, f)
		}
	}
	if len(failing) > 0 {
		c.Failure = &junitOutcome{
			Type:    failing[0].Severity.String(),
			Message: fmt.Sprintf("%s; first: %s", plural(len(failing), "finding"), findingMessage(failing[0])),
			Body:    xmlSafe(findingsText(failing)),
		}
	}
	if len(other) > 0 {
		c.SystemOut = &junitText{Text: xmlSafe(fmt.Sprintf("below --fail-on %s:\n%s", opt.FailOn, findingsText(other)))}
	}
	return c
}

func problemSuite(res checks.Result, prefix string, props []junitProperty, opt Options) junitSuite {
	s := junitSuite{Name: suiteName(res.Target.Service, "capture"), Properties: props}
	// One testcase per phase: names must be unique, and a phase may have
	// several problems.
	var phases []string
	byPhase := map[string][]string{}
	for _, p := range res.Problems {
		if _, seen := byPhase[p.Phase]; !seen {
			phases = append(phases, p.Phase)
		}
		byPhase[p.Phase] = append(byPhase[p.Phase], p.Message)
	}
	for _, ph := range phases {
		msgs := byPhase[ph]
		s.Cases = append(s.Cases, junitCase{Name: cmp.Or(ph, "capture"), Classname: prefix + ".capture", File: opt.location(),
			Error: &junitOutcome{Type: "capture", Message: msgs[0], Body: xmlSafe(strings.Join(msgs, "\n") + "\n")}})
	}
	return s
}

func staleSuite(res checks.Result, prefix string, props []junitProperty, opt Options) junitSuite {
	s := junitSuite{Name: suiteName(res.Target.Service, "baseline"), Properties: props}
	seen := map[string]bool{}
	for _, e := range res.StaleBaseline {
		name := "stale " + e.Rule + " " + e.Subject
		if seen[name] {
			continue
		}
		seen[name] = true
		c := junitCase{Name: name, Classname: prefix + ".baseline", File: opt.location()}
		msg := fmt.Sprintf("baseline entry %s %q no longer occurs (%d times); remove it from the baseline", e.Rule, e.Subject, e.Count)
		if e.Severity >= opt.FailOn {
			c.Failure = &junitOutcome{Type: e.Severity.String(), Message: msg}
		} else {
			c.SystemOut = &junitText{Text: msg}
		}
		s.Cases = append(s.Cases, c)
	}
	return s
}

// findingsText is the body of a failure: each finding with its evidence,
// fix and docs, as the text report prints them.
func findingsText(fs []checks.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %s\n", f.Severity, findingMessage(f))
		if ev := strings.TrimRight(f.Evidence, "\n"); ev != "" {
			for line := range strings.SplitSeq(ev, "\n") {
				fmt.Fprintf(&b, "  | %s\n", line)
			}
		}
		if f.Fix != "" {
			fmt.Fprintf(&b, "  fix: %s\n", f.Fix)
		}
		if f.Docs != "" {
			fmt.Fprintf(&b, "  docs: %s\n", docsURL(f.Docs))
		}
	}
	return b.String()
}

func junitProperties(res checks.Result) []junitProperty {
	var props []junitProperty
	add := func(name, value string) {
		if value != "" {
			props = append(props, junitProperty{Name: name, Value: value})
		}
	}
	add("obslint.version", res.Tool.Version)
	add("service", res.Target.Service)
	add("profile", res.Target.Profile)
	add("url", res.Target.URL)
	if res.Summary.Passed+res.Summary.Failed > 0 {
		add("score", fmt.Sprint(res.Summary.Score))
	}
	return props
}

var classUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// junitPrefix is the classname stem. Dots separate packages in JUnit
// viewers, so a service name's own dots become "_".
func junitPrefix(service string) string {
	s := strings.Trim(classUnsafe.ReplaceAllString(service, "_"), "_")
	if s == "" {
		return "obslint"
	}
	return "obslint." + s
}

func suiteName(service, part string) string {
	if service == "" {
		return part
	}
	return service + "/" + part
}

// xmlSafe replaces what XML 1.0 cannot hold (NUL, most control
// characters, invalid UTF-8) with U+FFFD: log lines carry such bytes, and
// one of them would make GitLab reject the whole report.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
