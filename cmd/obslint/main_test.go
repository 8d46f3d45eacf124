package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/bundle"
	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
	"github.com/obslint/obslint/checks/checktest"
	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/limits"
	"github.com/obslint/obslint/internal/runner"
)

// The tiny exposition the lint tests read. Rules are written elsewhere and
// may or may not find something in it, so these tests assert the wiring.
const exposition = "# TYPE x counter\nx 1\n"

type outcome struct {
	code           int
	stdout, stderr string
}

// obslint runs the CLI in process, in a fresh working directory so no
// obslint.yaml is picked up by accident.
func obslint(t *testing.T, a *app, stdin string, args ...string) outcome {
	t.Helper()
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	if a == nil {
		a = newApp(nil, nil, nil)
	}
	a.stdin, a.stdout, a.stderr = strings.NewReader(stdin), &stdout, &stderr
	a.now = func() time.Time { return time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC) }
	code := a.execute(args)
	return outcome{code, stdout.String(), stderr.String()}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	return path
}

// decode parses a JSON report and checks the contract's version.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var r map[string]any
	require.NoError(t, json.Unmarshal(b, &r), "not JSON:\n%s", b)
	require.Equal(t, "1", r["schema_version"])
	return r
}

func TestLintWithTheRealCatalogue(t *testing.T) {
	prom := writeFile(t, "x.prom", exposition)

	t.Run("text", func(t *testing.T) {
		o := obslint(t, nil, "", "lint", "--metrics", prom)
		assert.Contains(t, []int{exitOK, exitFindings}, o.code, o.stderr)
		assert.Contains(t, o.stdout, "summary:")
		assert.Empty(t, o.stderr)
	})
	t.Run("json from stdin", func(t *testing.T) {
		o := obslint(t, nil, exposition, "lint", "--metrics", "-", "--format", "json")
		assert.Contains(t, []int{exitOK, exitFindings}, o.code, o.stderr)
		r := decode(t, []byte(o.stdout))
		assert.Equal(t, true, r["captured"].(map[string]any)["metrics"])
		assert.IsType(t, []any{}, r["findings"])
	})
	t.Run("output file only", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "report.json")
		o := obslint(t, nil, "", "lint", "--metrics", prom, "--output", "json="+out)
		assert.Contains(t, []int{exitOK, exitFindings}, o.code, o.stderr)
		assert.Empty(t, o.stdout, "--output without --format writes nothing to stdout")
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		decode(t, b)
	})
	t.Run("output file and explicit stdout format", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "report.json")
		o := obslint(t, nil, "", "lint", "--metrics", prom, "--format", "text", "--output", "json="+out)
		assert.Contains(t, []int{exitOK, exitFindings}, o.code, o.stderr)
		assert.Contains(t, o.stdout, "summary:")
		assert.FileExists(t, out)
	})
}

func TestLintUsageErrors(t *testing.T) {
	prom := writeFile(t, "x.prom", exposition)
	missing := filepath.Join(t.TempDir(), "nope.prom")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"--metrics", missing}, missing},
		{"missing second scrape", []string{"--metrics", prom, "--metrics", missing}, missing},
		{"missing log file", []string{"--logs", missing}, missing},
		{"unknown format", []string{"--metrics", prom, "--format", "xml"}, `unknown format "xml" (valid: text, json, sarif, junit, markdown, github)`},
		{"unknown output format", []string{"--metrics", prom, "--output", "xml=r.xml"}, `unknown format "xml"`},
		{"output without path", []string{"--metrics", prom, "--output", "json"}, "want FORMAT=PATH"},
		{"unwritable output", []string{"--metrics", prom, "--output", "json=" + filepath.Join(missing, "r.json")}, "r.json"},
		{"bad fail-on", []string{"--metrics", prom, "--fail-on", "fatal"}, `unknown severity "fatal"`},
		{"bad profile", []string{"--metrics", prom, "--profile", "ruby"}, `"ruby" is not one of auto, node, python`},
		{"nothing to lint", nil, "nothing to lint"},
		{"two stdin inputs", []string{"--metrics", "-", "--logs", "-"}, "at most one input may be -"},
		{"evidence with files", []string{"--evidence", ".", "--metrics", prom}, "--evidence cannot be combined"},
		{"probes from stdin", []string{"--probes", "-"}, "--probes reads a file"},
		{"unknown flag", []string{"--metric", prom}, "unknown flag: --metric"},
		{"missing config", []string{"--metrics", prom, "--config", missing}, missing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := obslint(t, nil, exposition, append([]string{"lint"}, tc.args...)...)
			assert.Equal(t, exitError, o.code)
			assert.Contains(t, o.stderr, "obslint: ")
			assert.Contains(t, o.stderr, tc.want)
			for _, line := range strings.Split(strings.TrimSpace(o.stderr), "\n") {
				assert.True(t, strings.HasPrefix(line, "obslint: "), "every error line is marked: %q", line)
			}
		})
	}
}

// Fake rules make the exit code predictable whatever the real catalogue holds.
func fakeRules() []*checks.Rule {
	return []*checks.Rule{
		{ID: "metrics/always-fails", Severity: checks.Warning, Summary: "fails on every scrape", Doc: "Fails.",
			Needs: []checks.Need{checks.NeedFamilies},
			Check: func(p *checks.Pass) { p.Reportf("x", "x is wrong") }},
		{ID: "metrics/always-passes", Severity: checks.Error, Summary: "passes", Doc: "Passes.", Check: func(*checks.Pass) {}},
		{ID: "logs/needs-logs", Severity: checks.Error, Summary: "needs logs", Doc: "Needs logs.",
			Needs: []checks.Need{checks.NeedLogs}, Check: func(p *checks.Pass) { p.Reportf("l", "bad line") }},
	}
}

func fakeApp() *app {
	a := newApp(nil, nil, nil)
	a.rules = fakeRules
	return a
}

func TestLintExitCodes(t *testing.T) {
	prom := writeFile(t, "x.prom", exposition)
	cfg := writeFile(t, "obslint.yaml", "rules:\n  disable:\n    metrics/*: measured elsewhere\n")
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"warning below the default threshold", nil, exitOK},
		{"warning at --fail-on warning", []string{"--fail-on", "warning"}, exitFindings},
		{"warning at --fail-on info", []string{"--fail-on", "info"}, exitFindings},
		{"severity raised by config", []string{"--config", writeFile(t, "obslint.yaml", "rules:\n  severity:\n    metrics/always-fails: error\n")}, exitFindings},
		{"disabled by config", []string{"--fail-on", "info", "--config", cfg}, exitOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := obslint(t, fakeApp(), "", append([]string{"lint", "--metrics", prom, "--format", "json"}, tc.args...)...)
			assert.Equal(t, tc.want, o.code, o.stderr)
			decode(t, []byte(o.stdout))
		})
	}
}

func TestLintReportContents(t *testing.T) {
	prom := writeFile(t, "x.prom", exposition)
	o := obslint(t, fakeApp(), "", "lint", "--metrics", prom, "--format", "json", "--profile", "python")
	require.Equal(t, exitOK, o.code, o.stderr)
	r := decode(t, []byte(o.stdout))
	assert.Equal(t, "python", r["target"].(map[string]any)["profile"])
	assert.Equal(t, "obslint", r["tool"].(map[string]any)["name"])
	assert.Equal(t, "2026-11-25T21:00:00Z", r["started"])
	status := map[string]string{}
	for _, rr := range r["rules"].([]any) {
		m := rr.(map[string]any)
		status[m["id"].(string)] = m["status"].(string)
	}
	assert.Equal(t, map[string]string{
		"metrics/always-fails": "fail", "metrics/always-passes": "pass", "logs/needs-logs": "not_evaluated",
	}, status)
}

func TestLintEvidenceDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.prom"), []byte(exposition), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "evidence.json"), []byte(`{"target":{"service":"svc","profile":"node"}}`), 0o644))
	o := obslint(t, fakeApp(), "", "lint", "--evidence", dir, "--format", "json")
	require.Equal(t, exitOK, o.code, o.stderr)
	target := decode(t, []byte(o.stdout))["target"].(map[string]any)
	assert.Equal(t, "svc", target["service"])
	assert.Equal(t, "node", target["profile"], "a recorded profile stands unless --profile is given")

	o = obslint(t, fakeApp(), "", "lint", "--evidence", filepath.Join(dir, "nope"))
	assert.Equal(t, exitError, o.code)
	assert.Contains(t, o.stderr, filepath.Join(dir, "nope"))
}

func TestConfigNamingUnknownRule(t *testing.T) {
	prom := writeFile(t, "x.prom", exposition)
	cfg := writeFile(t, "obslint.yaml", "rules:\n  disable:\n    metrics/always-fail: flaky\n    bogus/*: x\n  severity:\n    logs/needs-logs: fatal\n")
	o := obslint(t, fakeApp(), "", "lint", "--metrics", prom, "--config", cfg)
	assert.Equal(t, exitError, o.code)
	assert.Contains(t, o.stderr, "rules::disable::metrics/always-fail: unknown rule metrics/always-fail at "+cfg+":3; did you mean metrics/always-fails?")
	assert.Contains(t, o.stderr, `rules::disable::bogus/*: unknown signal "bogus" at `+cfg+":4")
	assert.Contains(t, o.stderr, `rules::severity::logs/needs-logs: unknown severity "fatal" (want error, warning or info) at `+cfg+":6")
}

func TestRulesAndExplain(t *testing.T) {
	o := obslint(t, fakeApp(), "", "rules")
	require.Equal(t, exitOK, o.code, o.stderr)
	assert.Contains(t, o.stdout, "metrics/always-fails")

	o = obslint(t, fakeApp(), "", "rules", "--format", "json")
	require.Equal(t, exitOK, o.code, o.stderr)
	var rules []map[string]any
	require.NoError(t, json.Unmarshal([]byte(o.stdout), &rules))
	assert.Len(t, rules, 3)

	o = obslint(t, fakeApp(), "", "rules", "--format", "yaml")
	assert.Equal(t, exitError, o.code)

	o = obslint(t, fakeApp(), "", "explain", "logs/needs-logs")
	require.Equal(t, exitOK, o.code, o.stderr)
	assert.Contains(t, o.stdout, "Needs logs.")

	o = obslint(t, fakeApp(), "", "explain", "needs-log")
	assert.Equal(t, exitError, o.code)
	assert.Equal(t, "obslint: unknown rule needs-log; did you mean logs/needs-logs?\n", o.stderr)

	o = obslint(t, fakeApp(), "", "explain")
	assert.Equal(t, exitError, o.code)
}

func TestVersion(t *testing.T) {
	o := obslint(t, nil, "", "version")
	require.Equal(t, exitOK, o.code)
	assert.Regexp(t, `^obslint \S+\n$`, o.stdout)
}

func TestRunPassesSettingsAndJudges(t *testing.T) {
	var got runner.Settings
	a := fakeApp()
	a.capture = func(ctx context.Context, s runner.Settings) (*runner.Capture, error) {
		got = s
		deadline, ok := ctx.Deadline()
		require.True(t, ok, "the run is bounded")
		assert.WithinDuration(t, time.Now().Add(90*time.Second), deadline, 10*time.Second)
		s.Progress("probing 1/1")
		ev := &checks.Evidence{Captured: checks.Captured{Metrics: true}}
		ev.Scrapes = []checks.Scrape{{Status: 200, Families: parseFamilies(t)}}
		return &runner.Capture{Evidence: ev, Timings: []runner.Timing{
			{Phase: "ready", Duration: 1500 * time.Millisecond}, {Phase: "scrape", Duration: 10 * time.Millisecond},
			{Phase: "scrape", Duration: 20 * time.Millisecond},
		}}, nil
	}
	o := obslint(t, a, "", "run", "--format", "json", "--fail-on", "warning", "--timeout", "90s",
		"--url", "http://127.0.0.1:9000", "--probe", "GET /users/42 route=/users/:id status=200",
		"--", "node", "server.js", "--port", "9000")
	assert.Equal(t, exitFindings, o.code, o.stderr)
	assert.Equal(t, []string{"node", "server.js", "--port", "9000"}, got.Command, "flags after the command are the command's")
	assert.Equal(t, "http://127.0.0.1:9000", got.Config.URL)
	assert.Equal(t, config.DefaultMetricsPath, got.Config.MetricsPath)
	assert.Equal(t, []config.Probe{{Method: "GET", Path: "/users/42", Route: "/users/:id", Status: 200}}, got.Config.Probes)
	assert.Equal(t, 90*time.Second, got.Config.Timeouts.Total.Duration)
	assert.NotEmpty(t, got.Dir)
	assert.Contains(t, o.stderr, "obslint: probing 1/1", "progress goes to stderr")
	r := decode(t, []byte(o.stdout))
	assert.Equal(t, map[string]any{"ready": "1.5s", "scrape": "30ms", "judge": "0s"}, r["timings"])
}

func parseFamilies(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	fams, err := checks.ParseExposition([]byte(exposition), "text/plain; version=0.0.4")
	require.NoError(t, err)
	return fams
}

func TestRunConfigAndFlags(t *testing.T) {
	var got runner.Settings
	a := fakeApp()
	a.capture = func(_ context.Context, s runner.Settings) (*runner.Capture, error) {
		got = s
		return &runner.Capture{Evidence: &checks.Evidence{}}, nil
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "obslint.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("command: [python, app.py]\nurl: http://file\nready: /healthz\nprofile: python\n"+
		"probes:\n  - {method: GET, path: /}\ntimeouts:\n  total: 30s\n  ready: 7s\n  spans: 3s\n"), 0o644))
	o := obslint(t, a, "", "run", "--no-progress", "--config", cfg, "--ready", "/ready", "--probe", "/items",
		"--span-wait", "4s", "--max-log-lines", "10")
	require.Equal(t, exitOK, o.code, o.stderr)
	assert.Empty(t, o.stderr, "--no-progress")
	assert.Equal(t, []string{"python", "app.py"}, got.Command)
	assert.Equal(t, "http://file", got.Config.URL, "the file's value stands when the flag is not given")
	assert.Equal(t, "/ready", got.Config.Ready, "flags win over the file")
	assert.Equal(t, "python", got.Config.Profile)
	assert.Equal(t, 30*time.Second, got.Config.Timeouts.Total.Duration)
	assert.Equal(t, 7*time.Second, got.Config.Timeouts.Ready.Duration, "the file's value stands")
	assert.Equal(t, 4*time.Second, got.Config.Timeouts.Spans.Duration, "--span-wait wins over the file")
	assert.Equal(t, 10, got.Limits.MaxLines)
	assert.Equal(t, 1<<20, got.Limits.MaxLineBytes, "unchanged limits keep their defaults")
	assert.Equal(t, []config.Probe{{Method: "GET", Path: "/"}, {Method: "GET", Path: "/items"}}, got.Config.Probes)
}

func TestRunErrors(t *testing.T) {
	launched := false
	capture := func(context.Context, runner.Settings) (*runner.Capture, error) {
		launched = true
		return nil, errors.Join(runner.ErrCapture, errors.New("service exited with code 3"))
	}
	cases := []struct {
		name     string
		args     []string
		want     string
		launched bool
	}{
		{"capture error", []string{"--", "node", "server.js"}, "service exited with code 3", true},
		{"no command", nil, "no command to run", false},
		{"bad format", []string{"--format", "xml", "--", "true"}, `unknown format "xml"`, false},
		{"bad probe", []string{"--probe", "GET users", "--", "true"}, `--probe "GET users"`, false},
		{"bad timeout", []string{"--timeout", "0s", "--", "true"}, "--timeout: must be positive", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			launched = false
			a := fakeApp()
			a.capture = capture
			o := obslint(t, a, "", append([]string{"run", "--no-progress"}, tc.args...)...)
			assert.Equal(t, exitError, o.code)
			assert.Contains(t, o.stderr, tc.want)
			assert.Equal(t, tc.launched, launched)
		})
	}
}

func TestParseProbe(t *testing.T) {
	cases := []struct {
		in      string
		want    config.Probe
		wantErr string
	}{
		{"GET /users/42 route=/users/:id status=200", config.Probe{Method: "GET", Path: "/users/42", Route: "/users/:id", Status: 200}, ""},
		{"post /orders status=201", config.Probe{Method: "POST", Path: "/orders", Status: 201}, ""},
		{"/health", config.Probe{Method: "GET", Path: "/health"}, ""},
		{"GET /x?q=1 header=X-Tenant:acme", config.Probe{Method: "GET", Path: "/x?q=1", Headers: map[string]string{"X-Tenant": "acme"}}, ""},
		{"", config.Probe{}, "want METHOD /path"},
		{"GET", config.Probe{}, "want METHOD /path"},
		{"GET users", config.Probe{}, `path "users" must start with /`},
		{"G(T /x", config.Probe{}, `"G(T" is not an HTTP method`},
		{"GET /x status=abc", config.Probe{}, `status "abc"`},
		{"GET /x status=99", config.Probe{}, `status "99"`},
		{"GET /x route=users", config.Probe{}, `route "users" must start with /`},
		{"GET /x stauts=200", config.Probe{}, `unknown option "stauts"`},
		{"GET /x route", config.Probe{}, `"route": want key=value`},
		{"GET /x header=novalue", config.Probe{}, `header "novalue"`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseProbe(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				assert.ErrorContains(t, err, "--probe")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestClosest(t *testing.T) {
	ids := []string{"metrics/counter-suffix", "metrics/help", "logs/json", "logs/level"}
	cases := map[string]string{
		"metrics/counter-sufix": "metrics/counter-suffix",
		"counter-suffix":        "metrics/counter-suffix",
		"logs/jsn":              "logs/json",
		"level":                 "logs/level",
		"metrics/hlp":           "metrics/help",
	}
	for in, want := range cases {
		assert.Equal(t, want, closest(in, ids), in)
	}
	assert.Empty(t, closest("x", nil))
}

// obslint collector hands over to obslint-collector; without it, a clear
// error that says how to install it, not a crash.
func TestCollectorNeedsItsBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	out := obslint(t, nil, "", "collector", "--config", "x.yaml")
	require.Equal(t, exitError, out.code, out.stdout)
	assert.Contains(t, out.stderr, "obslint: obslint collector needs the obslint-collector binary beside obslint or on PATH")
	assert.Contains(t, out.stderr, "go install github.com/obslint/obslint/cmd/obslint-collector@")
	top := obslint(t, nil, "", "--help")
	assert.Contains(t, top.stdout, "collector")
}

// TestLintEveryFixtureCaseAsRun: `obslint lint --evidence` streams a case's
// spans, records and lines through the judge as the front doors do; its
// verdict must be the one checks.Run gives on the same evidence held in
// memory (what the fixture tests assert), case by case.
func TestLintEveryFixtureCaseAsRun(t *testing.T) {
	root, err := filepath.Abs("../../fixtures/cases")
	require.NoError(t, err)
	for _, dir := range checktest.Cases(t, root) {
		want, err := checktest.ParseWant(filepath.Join(dir, "want.txt"))
		require.NoError(t, err)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			ev, err := bundle.LoadDir(dir, limits.Default)
			require.NoError(t, err)
			// As the CLI does: a profile recorded with the evidence stands
			// unless one is asked for.
			opt := checks.Options{ResolveProfile: want.Profile != "" || ev.Target.Profile == "", Profile: cmp.Or(want.Profile, checks.ProfileAuto)}
			held := checks.Run(ev, catalogue.All(), opt)
			args := []string{"lint", "--evidence", dir, "--format", "json"}
			if want.Profile != "" {
				args = append(args, "--profile", want.Profile)
			}
			o := obslint(t, nil, "", args...)
			require.Contains(t, []int{exitOK, exitFindings}, o.code, o.stderr)
			var got checks.Result
			require.NoError(t, json.Unmarshal([]byte(o.stdout), &got))
			require.Equal(t, held.Rules, got.Rules)
			require.Equal(t, held.Findings, got.Findings)
			require.Equal(t, held.Judged, got.Judged)
		})
	}
}
