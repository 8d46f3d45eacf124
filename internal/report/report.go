// Package report renders a checks.Result (and the rule catalogue) for people
// and for machines. Every writer reads only the Result: one Format enum, one
// switch, and wire structs kept apart from the model.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/obslint/obslint/checks"
)

// Format is an output format.
type Format int

// The formats obslint writes. sarif, junit and markdown are planned.
const (
	Text Format = iota
	JSON
)

var formatNames = []string{Text: "text", JSON: "json"}

// String is the name users type.
func (f Format) String() string {
	if f >= 0 && int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat reads a format name; an unknown name is an error that quotes
// it and lists the valid ones.
func ParseFormat(s string) (Format, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for i, n := range formatNames {
		if n == name {
			return Format(i), nil
		}
	}
	return Text, fmt.Errorf("unknown format %q (valid: %s)", s, strings.Join(formatNames, ", "))
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
	}
	return fmt.Errorf("report: unsupported format %v", f)
}
