// Package e2e runs the real obslint binary against the real example and
// fixture services: real processes, real libraries, real sockets on loopback.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/bundle"
	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/checktest"
	"github.com/obslint/obslint/internal/limits"
)

var obslintBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "obslint-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	obslintBin = filepath.Join(dir, "obslint")
	// obslint-collector beside obslint: `obslint collector` runs it.
	build := exec.Command("go", "build", "-o", dir, "./cmd/obslint", "./cmd/obslint-collector")
	build.Dir = repoRoot()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build obslint:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// report is the part of the JSON contract the tests read.
type report struct {
	SchemaVersion string `json:"schema_version"`
	Target        struct {
		Service       string `json:"service"`
		Profile       string `json:"profile"`
		ProfileReason string `json:"profile_reason"`
	} `json:"target"`
	Summary struct {
		Errors   int `json:"errors"`
		Warnings int `json:"warnings"`
		Score    int `json:"score"`
	} `json:"summary"`
	Rules []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"rules"`
	Findings []struct {
		Rule     string `json:"rule"`
		Severity string `json:"severity"`
		Subject  string `json:"subject"`
		Message  string `json:"message"`
		Evidence string `json:"evidence"`
	} `json:"findings"`
	Timings map[string]string `json:"timings"`
}

// obslintRun runs `obslint run --format json -- CMD…` in dir and returns the
// exit code, the parsed report and stderr.
func obslintRun(t *testing.T, dir string, cmd ...string) (int, report, string) {
	t.Helper()
	requireInstalled(t, dir)
	args := append([]string{"run", "--format", "json", "--no-progress", "--"}, cmd...)
	code, stdout, stderr, took := obslintRaw(t, dir, 3*time.Minute, args...)
	t.Logf("obslint run in %s took %s (exit %d)", filepath.Base(dir), took.Round(time.Millisecond), code)
	var r report
	if code == 0 || code == 1 {
		require.NoError(t, json.Unmarshal([]byte(stdout), &r), "report is not JSON:\n%s\nstderr:\n%s", stdout, stderr)
		require.Equal(t, "1", r.SchemaVersion)
		t.Logf("timings: %v", r.Timings)
	}
	return code, r, stderr
}

// requireInstalled fails early, with the command that fixes it, when a
// service's packages are not installed: node_modules beside a package.json,
// a .venv beside a requirements.txt.
func requireInstalled(t *testing.T, dir string) {
	t.Helper()
	if exists(filepath.Join(dir, "package.json")) {
		if _, err := exec.LookPath("node"); err != nil {
			t.Fatalf("node is not installed: the end-to-end tests need Node 20")
		}
		if !exists(filepath.Join(dir, "node_modules")) {
			t.Fatalf("%s has no node_modules: run `make test-deps` first", dir)
		}
	}
	if exists(filepath.Join(dir, "requirements.txt")) && !exists(filepath.Join(dir, ".venv", ".installed")) {
		t.Fatalf("%s has no installed .venv: run `make test-deps` first", dir)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func dump(r report) string {
	var b strings.Builder
	for _, rr := range r.Rules {
		if rr.Status != "pass" {
			fmt.Fprintf(&b, "  %-32s %-14s %s\n", rr.ID, rr.Status, rr.Reason)
		}
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "  [%s] %s %q: %s\n", f.Severity, f.Rule, f.Subject, f.Message)
	}
	return b.String()
}

// An example must pass every rule: exit 0, no error or warning finding,
// nothing not evaluated except what needs OpenMetrics exemplars; and its
// stack must be detected from what it sends, with the reason in the report.
func assertClean(t *testing.T, dir, service, profile string, cmd ...string) {
	t.Helper()
	code, r, stderr := obslintRun(t, dir, cmd...)
	require.Equal(t, 0, code, "stderr:\n%s\nreport:\n%s", stderr, dump(r))
	require.Equal(t, profile, r.Target.Profile)
	require.Contains(t, r.Target.ProfileReason, "telemetry.sdk.language")
	require.Equal(t, service, r.Target.Service)
	for _, f := range r.Findings {
		require.Equal(t, "info", f.Severity, "unexpected finding:\n%s", dump(r))
	}
	allowedNotEvaluated := []string{"correlation/exemplars"}
	for _, rr := range r.Rules {
		if rr.Status == "not_evaluated" {
			require.Contains(t, allowedNotEvaluated, rr.ID, "rule not evaluated: %s (%s)\n%s", rr.ID, rr.Reason, dump(r))
		}
		require.NotEqual(t, "fail", rr.Status, dump(r))
	}
	require.Equal(t, 100, r.Summary.Score)
}

func TestNodeExampleIsClean(t *testing.T) {
	assertClean(t, filepath.Join(repoRoot(), "examples", "node-express"), "node-express-example", "node", "node", "server.js")
}

func TestPythonExampleIsClean(t *testing.T) {
	assertClean(t, filepath.Join(repoRoot(), "examples", "python-fastapi"), "python-fastapi-example", "python", ".venv/bin/python", "app.py")
}

// A broken service must fail exactly the rules its FAULTS.md promises, each
// with the right subject, and nothing else may be blamed.
func assertBroken(t *testing.T, dir string, cmd ...string) {
	t.Helper()
	want, err := checktest.ParseWant(filepath.Join(dir, "expected.txt"))
	require.NoError(t, err)
	code, r, stderr := obslintRun(t, dir, cmd...)
	require.Equal(t, 1, code, "stderr:\n%s\nreport:\n%s", stderr, dump(r))
	assertExpected(t, r, want)
}

func TestNodeBrokenFindings(t *testing.T) {
	assertBroken(t, filepath.Join(repoRoot(), "fixtures", "services", "node-broken"), "node", "server.js")
}

func TestPythonBrokenFindings(t *testing.T) {
	assertBroken(t, filepath.Join(repoRoot(), "fixtures", "services", "python-broken"), ".venv/bin/python", "app.py")
}

// assertExpected checks every rule named in want: its status, and for
// failing rules that each wanted subject is among the findings. A rule not
// named must not fail: nothing else is blamed.
func assertExpected(t *testing.T, r report, want checktest.Want) {
	t.Helper()
	assertExpectedIn(t, r, want, otherMode{})
}

// otherMode says how a front door that sees less than `obslint run` may
// differ from expected.txt, which records what run finds.
type otherMode struct {
	// name is the mode in messages ("collector mode"); "" for run itself.
	name string
	// notEvaluated, when set, is the one reason a rule named in want may
	// come out not evaluated instead.
	notEvaluated string
	// subject maps a subject of expected.txt to this mode's (nil: as is).
	subject func(string) string
}

func assertExpectedIn(t *testing.T, r report, want checktest.Want, m otherMode) {
	t.Helper()
	subjects := map[string][]string{}
	for _, f := range r.Findings {
		if f.Severity != "info" {
			subjects[f.Rule] = append(subjects[f.Rule], f.Subject)
		}
	}
	in := ""
	if m.name != "" {
		in = " in " + m.name
	}
	for _, rr := range r.Rules {
		st, named := want.Status[rr.ID]
		if m.notEvaluated != "" && named && rr.Status == string(checks.StatusNotEvaluated) && st != checks.StatusNotEvaluated {
			if rr.Reason != m.notEvaluated {
				t.Errorf("%s: not evaluated%s (%s), want %s or %q", rr.ID, in, rr.Reason, st, m.notEvaluated)
			} else {
				t.Logf("%s: %s under obslint run, not evaluated%s: %s", rr.ID, st, in, rr.Reason)
			}
			continue
		}
		if !named {
			if rr.Status == string(checks.StatusFail) {
				t.Errorf("%s fails%s but the fixture does not expect it: %q", rr.ID, in, subjects[rr.ID])
			}
			continue
		}
		if rr.Status != string(st) {
			t.Errorf("%s: status %s%s (%s), want %s; subjects %q", rr.ID, rr.Status, in, rr.Reason, st, subjects[rr.ID])
			continue
		}
		for _, s := range want.Subjects[rr.ID] {
			if m.subject != nil {
				s = m.subject(s)
			}
			if !slices.Contains(subjects[rr.ID], s) {
				got := slices.Clone(subjects[rr.ID])
				sort.Strings(got)
				t.Errorf("%s: no finding with subject %q; got %q", rr.ID, s, got)
			}
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", dump(r))
	}
}

// obslintRaw runs obslint with args in dir, without the node checks.
func obslintRaw(t *testing.T, dir string, timeout time.Duration, args ...string) (int, string, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, obslintBin, args...)
	c.Dir = dir
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	start := time.Now()
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("obslint: %v", err)
	}
	return code, stdout.String(), stderr.String(), time.Since(start)
}

// A service that crashes at start-up is a capture error (exit 2) that shows
// its last lines, quickly.
func TestRunServiceExitsAtStart(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr, took := obslintRaw(t, dir, time.Minute, "run", "--no-progress", "--", "sh", "-c", "echo 'Error: Cannot find module express'; exit 3")
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "exited with code 3")
	require.Contains(t, stderr, "Cannot find module express")
	require.Less(t, took, 20*time.Second)
}

// A service that never gets ready is a capture error within the readiness
// timeout, and its process group is gone afterwards.
func TestRunServiceNeverReady(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "obslint.yaml"), []byte("timeouts:\n  ready: 2s\n"), 0o644))
	code, _, stderr, took := obslintRaw(t, dir, time.Minute, "run", "--no-progress", "--", "sh", "-c", "echo starting; exec sleep 300")
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "did not get ready")
	require.Contains(t, stderr, "starting")
	require.Less(t, took, 15*time.Second)
}

// A config file with an unknown key is an error naming the key, before
// anything is launched.
func TestRunConfigUnknownKey(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "obslint.yaml"), []byte("probes:\n  - {method: GET, path: /, stauts: 200}\n"), 0o644))
	code, _, stderr, _ := obslintRaw(t, dir, time.Minute, "run", "--no-progress", "--", "sh", "-c", "touch launched")
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "stauts")
	_, err := os.Stat(filepath.Join(dir, "launched"))
	require.True(t, os.IsNotExist(err), "the service was launched despite a bad config")
}

// TestRunJudgesEveryLineOfAChattyService: a service that writes 300,000 log
// lines is judged on every one of them, although --max-log-lines keeps only
// 1,000: the lines past the first few thousand wait on disk, not in memory.
func TestRunJudgesEveryLineOfAChattyService(t *testing.T) {
	dir := filepath.Join(repoRoot(), "fixtures", "services", "python-chatty")
	code, stdout, stderr, took := obslintRaw(t, dir, 3*time.Minute,
		"run", "--format", "json", "--no-progress", "--span-wait", "1s", "--max-log-lines", "1000", "--", "python3", "server.py")
	t.Logf("obslint run took %s (exit %d)", took.Round(time.Millisecond), code)
	require.Contains(t, []int{0, 1}, code, "stderr:\n%s", stderr)
	var r struct {
		Judged struct {
			LogLines int `json:"log_lines"`
		} `json:"judged"`
		Rules []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"rules"`
		Problems []struct {
			Message string `json:"message"`
		} `json:"problems"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &r), stdout)
	require.GreaterOrEqual(t, r.Judged.LogLines, 300_000, "every line written is judged")
	for _, p := range r.Problems {
		require.NotContains(t, p.Message, "not kept")
		require.NotContains(t, p.Message, "not judged")
	}
	status := map[string]string{}
	for _, rr := range r.Rules {
		status[rr.ID] = rr.Status
	}
	for _, id := range []string{"logs/json", "logs/timestamp", "logs/level", "logs/message"} {
		require.Equal(t, "pass", status[id], id)
	}
}

// TestRunJudgesEverySpan: --max-spans bounds what a bundle saves, never
// what is judged. The conformant Node example, run with --max-spans 3,
// passes every trace rule on all its spans (spooled by the receiver and
// read back one batch at a time), and the bundle holds the first three.
func TestRunJudgesEverySpan(t *testing.T) {
	dir := filepath.Join(repoRoot(), "examples", "node-express")
	requireInstalled(t, dir)
	bundleDir := t.TempDir()
	code, stdout, stderr, _ := obslintRaw(t, dir, 3*time.Minute,
		"run", "--format", "json", "--no-progress", "--max-spans", "3", "--save-evidence", bundleDir, "--", "node", "server.js")
	require.Equal(t, 0, code, "stderr:\n%s\n%s", stderr, stdout)
	var r struct {
		Judged struct {
			Spans int `json:"spans"`
		} `json:"judged"`
		Rules []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"rules"`
		Problems []struct {
			Message string `json:"message"`
		} `json:"problems"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &r), stdout)
	require.Greater(t, r.Judged.Spans, 3, "every span received is judged")
	for _, p := range r.Problems {
		require.NotContains(t, p.Message, "spans dropped")
	}
	for _, rr := range r.Rules {
		if strings.HasPrefix(rr.ID, "traces/") {
			require.Equal(t, "pass", rr.Status, rr.ID)
		}
	}
	saved, err := bundle.LoadDir(bundleDir, limits.Default)
	require.NoError(t, err)
	require.Len(t, saved.Spans, 3, "the bundle keeps --max-spans spans")
}
