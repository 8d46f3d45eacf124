// Package report renders a checks.Result (and the rule catalogue) for people
// and for machines. Every writer reads only the Result: one Format enum, one
// switch, and wire structs kept apart from the model.
package report

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/obslint/obslint/checks"
)

// Format is an output format.
type Format int

// The formats obslint writes. Markdown renders only the rule catalogue
// (docs/rules.md) for now; sarif, junit and a markdown report are planned.
const (
	Text Format = iota
	JSON
	Markdown
)

var formatNames = []string{Text: "text", JSON: "json", Markdown: "markdown"}

// reportFormats are the formats Write renders a Result in; ruleFormats are
// those WriteRules lists the catalogue in.
var (
	reportFormats = []Format{Text, JSON}
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
		return Text, fmt.Errorf("format %q is not supported for %s yet (valid: %s)", s, use, strings.Join(names, ", "))
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

// Options tune how a report looks, never what it says.
type Options struct {
	// Color enables ANSI colour in text; the CLI sets it only for a TTY
	// with NO_COLOR unset.
	Color bool
}

// Write renders the result in the format.
func Write(w io.Writer, f Format, res checks.Result, opt Options) error {
	switch f {
	case Text:
		return writeText(w, res, opt)
	case JSON:
		return writeJSON(w, res)
	case Markdown:
		return errors.New("report: markdown reports are not supported yet (markdown lists only the rules)")
	}
	return fmt.Errorf("report: unsupported format %v", f)
}
