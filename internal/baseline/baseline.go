// Package baseline records the findings a team accepts as known debt and
// holds later runs to "no new findings": `obslint baseline write` makes the
// file, `--baseline FILE` on run and lint applies it.
//
// A finding is matched by rule + subject only: subjects are stable across
// runs (a metric family, "stdout field level", "span GET /users/:id"), while
// messages change wording between releases. Entries count: a baseline with
// two findings for one rule + subject tolerates two, and a third is new
// (ESLint's bulk suppressions work the same way). Entries no finding matched
// any more are reported as stale, so a baseline only ever shrinks.
package baseline

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/obslint/obslint/checks"
)

// SchemaVersion is the version of the baseline file this obslint writes
// and the newest it reads.
const SchemaVersion = "1"

// maxFileBytes caps what is read: a baseline or report larger than this is
// the wrong file, not a baseline.
const maxFileBytes = 64 << 20

// File is a baseline file.
type File struct {
	SchemaVersion string      `json:"schema_version"`
	Tool          checks.Tool `json:"tool"`
	Entries       []Entry     `json:"entries"`
}

// Entry is one accepted finding. Rule and Subject are its identity;
// Severity and Message are for the people reviewing the file.
type Entry struct {
	Rule     string `json:"rule"`
	Subject  string `json:"subject"`
	Severity string `json:"severity,omitempty"`
	Message  string `json:"message,omitempty"`
}

type key struct{ rule, subject string }

// FromFindings makes a baseline of findings, sorted so the same findings
// give the same bytes.
func FromFindings(tool checks.Tool, findings []checks.Finding) File {
	f := File{SchemaVersion: SchemaVersion, Tool: tool, Entries: make([]Entry, 0, len(findings))}
	for _, fd := range findings {
		f.Entries = append(f.Entries, Entry{Rule: fd.Rule, Subject: fd.Subject, Severity: fd.Severity.String(), Message: fd.Message})
	}
	slices.SortFunc(f.Entries, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Message, b.Message))
	})
	return f
}

// report is the part of the JSON report (docs/report-json.md) a baseline is
// made from.
type report struct {
	SchemaVersion string           `json:"schema_version"`
	Tool          checks.Tool      `json:"tool"`
	Findings      []checks.Finding `json:"findings"`
	Baselined     []checks.Finding `json:"baselined"`
}

// FromReport makes a baseline of a JSON report: its findings and the ones an
// earlier baseline already accepted, which are still current debt.
func FromReport(name string, r io.Reader) (File, error) {
	b, err := readCapped(name, r)
	if err != nil {
		return File{}, err
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return File{}, fmt.Errorf("%s: not a JSON report: %w", name, err)
	}
	if rep.SchemaVersion == "" {
		return File{}, fmt.Errorf("%s: not an obslint JSON report (no schema_version); write one with --format json or --output json=FILE", name)
	}
	if err := supported(name, "report", rep.SchemaVersion, checks.SchemaVersion); err != nil {
		return File{}, err
	}
	for _, f := range append(slices.Clone(rep.Findings), rep.Baselined...) {
		if f.Rule == "" {
			return File{}, fmt.Errorf("%s: a finding without a rule: not an obslint report", name)
		}
	}
	return FromFindings(rep.Tool, append(rep.Findings, rep.Baselined...)), nil
}

// Read loads a baseline file. A file from a newer obslint is an error, not
// a guess: its entries may mean something this version cannot honour.
func Read(path string) (File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return File{}, fmt.Errorf("--baseline: %w", err)
	}
	defer fh.Close()
	b, err := readCapped(path, fh)
	if err != nil {
		return File{}, err
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return File{}, fmt.Errorf("%s: not an obslint baseline: %w", path, err)
	}
	if f.SchemaVersion == "" {
		return File{}, fmt.Errorf("%s: not an obslint baseline (no schema_version); write one with obslint baseline write", path)
	}
	if err := supported(path, "baseline", f.SchemaVersion, SchemaVersion); err != nil {
		return File{}, err
	}
	for i, e := range f.Entries {
		if e.Rule == "" {
			return File{}, fmt.Errorf("%s: entries[%d]: rule is required", path, i)
		}
	}
	return f, nil
}

// supported rejects a schema version newer than this obslint knows (or one
// that is not a number at all).
func supported(name, what, got, known string) error {
	g, err := strconv.Atoi(got)
	k, _ := strconv.Atoi(known)
	if err != nil || g < 1 {
		return fmt.Errorf("%s: %s schema_version %q is not a version obslint writes", name, what, got)
	}
	if g > k {
		return fmt.Errorf("%s: %s schema_version %s is newer than this obslint reads (%s); upgrade obslint", name, what, got, known)
	}
	return nil
}

func readCapped(name string, r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxFileBytes)
	}
	return b, nil
}

// Write writes the file, indented and ending in a newline, for review in a
// diff.
func Write(w io.Writer, f File) error {
	if f.Entries == nil {
		f.Entries = []Entry{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(f)
}

// Apply moves the findings the baseline accepts from res.Findings to
// res.Baselined and lists the entries nothing matched in res.StaleBaseline,
// at severity stale. Summary counts follow the findings that remain; rule
// statuses and the score do not change: a baseline hides debt from the gate,
// it does not pay it.
//
// An entry is stale only if its rule was evaluated (pass or fail) or is no
// longer in the catalogue: a rule that was not evaluated or is disabled in
// this run says nothing about whether the problem is gone.
func Apply(res *checks.Result, f File, stale checks.Severity) {
	budget := map[key]int{}
	var order []key
	for _, e := range f.Entries {
		k := key{e.Rule, e.Subject}
		if budget[k] == 0 {
			order = append(order, k)
		}
		budget[k]++
	}
	kept := res.Findings[:0:0]
	for _, fd := range res.Findings {
		k := key{fd.Rule, fd.Subject}
		if budget[k] > 0 {
			budget[k]--
			res.Baselined = append(res.Baselined, fd)
			continue
		}
		kept = append(kept, fd)
	}
	res.Findings = kept
	status := map[string]checks.Status{}
	for _, r := range res.Rules {
		status[r.ID] = r.Status
	}
	for _, k := range order {
		st, known := status[k.rule]
		if budget[k] == 0 || (known && st != checks.StatusPass && st != checks.StatusFail) {
			continue
		}
		res.StaleBaseline = append(res.StaleBaseline, checks.StaleEntry{Rule: k.rule, Subject: k.subject, Count: budget[k], Severity: stale})
	}
	slices.SortFunc(res.StaleBaseline, func(a, b checks.StaleEntry) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Subject, b.Subject))
	})
	recount(&res.Summary, res.Findings)
}

// recount sets the finding counts of the summary from the findings kept.
func recount(s *checks.Summary, findings []checks.Finding) {
	s.Errors, s.Warnings, s.Infos = 0, 0, 0
	for _, f := range findings {
		switch f.Severity {
		case checks.Error:
			s.Errors++
		case checks.Warning:
			s.Warnings++
		default:
			s.Infos++
		}
	}
}
