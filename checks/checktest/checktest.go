// Package checktest runs rules over recorded fixture cases and compares the
// outcome with the expectation written beside each case, the way analysistest
// compares diagnostics with `// want` comments.
//
// A case is a directory under fixtures/cases holding recorded evidence (see
// package bundle) and a want.txt. Each line of want.txt is
//
//	RULE-ID STATUS [SUBJECT]
//
// STATUS is pass, fail, not_evaluated or disabled. For a failing rule, one
// `fail SUBJECT` line per expected finding: the multiset of subjects must
// equal the findings' subjects exactly. Rules the file does not mention are
// not checked, so a case can focus on one rule. `#` starts a comment.
// A line `profile NAME` sets the evidence profile (default: detected).
package checktest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/obslint/obslint/bundle"
	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/limits"
)

// Want is the parsed want.txt of a case.
type Want struct {
	Profile  string
	Status   map[string]checks.Status
	Subjects map[string][]string
}

// ParseWant reads a want.txt.
func ParseWant(path string) (Want, error) {
	w := Want{Status: map[string]checks.Status{}, Subjects: map[string][]string{}}
	f, err := os.Open(path)
	if err != nil {
		return w, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 && (i == 0 || line[i-1] == ' ') {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, " ", 3)
		if parts[0] == "profile" && len(parts) == 2 {
			w.Profile = parts[1]
			continue
		}
		if len(parts) < 2 {
			return w, fmt.Errorf("%s:%d: want RULE STATUS [SUBJECT]", path, n)
		}
		id, st := parts[0], checks.Status(parts[1])
		if !slices.Contains([]checks.Status{checks.StatusPass, checks.StatusFail, checks.StatusNotEvaluated, checks.StatusDisabled}, st) {
			return w, fmt.Errorf("%s:%d: unknown status %q", path, n, st)
		}
		if prev, ok := w.Status[id]; ok && prev != st {
			return w, fmt.Errorf("%s:%d: %s is both %s and %s", path, n, id, prev, st)
		}
		w.Status[id] = st
		if len(parts) == 3 {
			if st != checks.StatusFail {
				return w, fmt.Errorf("%s:%d: only a fail line takes a subject", path, n)
			}
			w.Subjects[id] = append(w.Subjects[id], parts[2])
		}
	}
	return w, sc.Err()
}

// Cases lists the case directories under root whose want.txt mentions any of
// the rules.
func Cases(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("read cases: %v", err)
	}
	for _, e := range entries {
		if e.IsDir() && fileExists(filepath.Join(root, e.Name(), "want.txt")) {
			out = append(out, filepath.Join(root, e.Name()))
		}
	}
	return out
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Run judges every case under root with rules, and checks each rule the
// case's want.txt names. Cases naming none of the rules are skipped.
func Run(t *testing.T, root string, rules []*checks.Rule) {
	t.Helper()
	byID := map[string]*checks.Rule{}
	for _, r := range rules {
		byID[r.ID] = r
	}
	for _, dir := range Cases(t, root) {
		want, err := ParseWant(filepath.Join(dir, "want.txt"))
		if err != nil {
			t.Fatal(err)
		}
		var mine []*checks.Rule
		for id := range want.Status {
			if r, ok := byID[id]; ok {
				mine = append(mine, r)
			}
		}
		if len(mine) == 0 {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			res := RunCase(t, dir, want, mine)
			Compare(t, res, want, mine)
		})
	}
}

// RunCase loads a case and runs rules on it.
func RunCase(t testing.TB, dir string, want Want, rules []*checks.Rule) checks.Result {
	t.Helper()
	ev, err := bundle.LoadDir(dir, limits.Default)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return checks.Run(ev, rules, checks.Options{ResolveProfile: true, Profile: want.Profile})
}

// Compare checks the result against want for the given rules.
func Compare(t testing.TB, res checks.Result, want Want, rules []*checks.Rule) {
	t.Helper()
	for _, r := range rules {
		wantSt, ok := want.Status[r.ID]
		if !ok {
			continue
		}
		var got checks.RuleResult
		for _, rr := range res.Rules {
			if rr.ID == r.ID {
				got = rr
			}
		}
		var subjects, details []string
		for _, f := range res.Findings {
			if f.Rule == r.ID {
				subjects = append(subjects, f.Subject)
				details = append(details, fmt.Sprintf("  %s: %s", f.Subject, f.Message))
			}
		}
		if got.Status != wantSt {
			t.Errorf("%s: status %s (reason %q), want %s; findings:\n%s", r.ID, got.Status, got.Reason, wantSt, strings.Join(details, "\n"))
			continue
		}
		if wantSt == checks.StatusFail && len(want.Subjects[r.ID]) > 0 {
			w := slices.Clone(want.Subjects[r.ID])
			sort.Strings(w)
			sort.Strings(subjects)
			if !slices.Equal(w, subjects) {
				t.Errorf("%s: finding subjects\n  got  %q\n  want %q\nfindings:\n%s", r.ID, subjects, w, strings.Join(details, "\n"))
			}
		}
	}
}
