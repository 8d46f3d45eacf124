// Package report renders a checks.Result (and the rule catalogue) for people
// and for machines. Every writer reads only the Result: one Format enum, one
// switch, and wire structs kept apart from the model.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/jsonreport"
)

// Format is an output format.
type Format int

// The formats obslint writes. Markdown is a CI step summary for a Result and
// the rule reference (docs/rules.md) for the catalogue. GitHub is workflow
// commands (::error …::) that a GitHub Actions runner turns into
// annotations; the CLI adds them to standard output by itself when
// GITHUB_ACTIONS=true, and `--output github=PATH` asks for them anywhere.
const (
	Text Format = iota
	JSON
	Markdown
	SARIF
	JUnit
	GitHub
)

var formatNames = []string{Text: "text", JSON: "json", Markdown: "markdown", SARIF: "sarif", JUnit: "junit", GitHub: "github"}

// reportFormats are the formats Write renders a Result in; ruleFormats are
// those WriteRules lists the catalogue in.
var (
	reportFormats = []Format{Text, JSON, SARIF, JUnit, Markdown, GitHub}
	ruleFormats   = []Format{Text, JSON, Markdown}
)

// String is the name users type.
func (f Format) String() string {
	if f >= 0 && int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat reads the name of a report format, for lint and run; an
// unknown name is an error that quotes it and lists the valid ones.
func ParseFormat(s string) (Format, error) {
	return parseFormat(s, reportFormats, "reports")
}

// ParseRulesFormat reads the name of a format `obslint rules` can list the
// catalogue in.
func ParseRulesFormat(s string) (Format, error) {
	return parseFormat(s, ruleFormats, "rules")
}

// parseFormat reads a name among valid. A format obslint knows but cannot
// write for this use gets its own message, so "markdown" is not called
// unknown.
func parseFormat(s string, valid []Format, use string) (Format, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	names := make([]string, len(valid))
	for i, f := range valid {
		if f.String() == name {
			return f, nil
		}
		names[i] = f.String()
	}
	if slices.Contains(formatNames, name) {
		return Text, fmt.Errorf("format %q is not available for %s (valid: %s)", s, use, strings.Join(names, ", "))
	}
	return Text, fmt.Errorf("unknown format %q (valid: %s)", s, strings.Join(names, ", "))
}

// Output is one `--output FORMAT=PATH`.
type Output struct {
	Format Format
	Path   string // "-" is standard output
}

// ParseOutput reads "FORMAT=PATH", as golangci-lint's output formats do.
func ParseOutput(s string) (Output, error) {
	name, path, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(path) == "" {
		return Output{}, fmt.Errorf("output %q: want FORMAT=PATH, e.g. json=report.json", s)
	}
	f, err := ParseFormat(name)
	if err != nil {
		return Output{}, fmt.Errorf("output %q: %w", s, err)
	}
	return Output{Format: f, Path: path}, nil
}

// Options tune how a report looks and where it points; what it says comes
// from the Result alone.
type Options struct {
	// Color enables ANSI colour in text; the CLI sets it only for a TTY
	// with NO_COLOR unset.
	Color bool
	// Rules is the catalogue. SARIF takes each rule's help (Doc, Fix) from
	// it; a rule missing here still gets a descriptor, from its summary.
	Rules []*checks.Rule
	// Location is the repo-relative file that SARIF results, annotations and
	// JUnit testcases point at: runtime findings have no source line, and
	// GitHub rejects a whole SARIF upload if one result has no file. The CLI
	// passes the config file; empty means DefaultLocation.
	Location string
	// Line, if set, gives the line of Location that a rule's findings point
	// at, such as the rule's severity override, so an alert lands on the
	// line a PR changed; 0 (or no Line) means line 1.
	Line func(rule string) int
	// FailOn is the --fail-on threshold: JUnit fails a rule's testcase only
	// for findings at or above it, so the test report agrees with the exit
	// code. The zero value, Info, fails on every finding.
	FailOn checks.Severity
	// Category is the SARIF runAutomationDetails.id, "obslint/<target>/";
	// empty means "obslint/<service>/" from the Result.
	Category string
}

// DefaultLocation is where findings point when no config file is known.
const DefaultLocation = "obslint.yaml"

func (o Options) location() string {
	if o.Location == "" {
		return DefaultLocation
	}
	return o.Location
}

func (o Options) line(rule string) int {
	if o.Line == nil {
		return 1
	}
	return max(o.Line(rule), 1)
}

// Write renders the result in the format.
func Write(w io.Writer, f Format, res checks.Result, opt Options) error {
	switch f {
	case Text:
		return writeText(w, res, opt)
	case JSON:
		return jsonreport.Write(w, res)
	case Markdown:
		return writeMarkdown(w, res)
	case SARIF:
		return writeSARIF(w, res, opt)
	case JUnit:
		return writeJUnit(w, res, opt)
	case GitHub:
		return writeGitHub(w, res, opt)
	}
	return fmt.Errorf("report: unsupported format %v", f)
}
