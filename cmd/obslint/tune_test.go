package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/runner"
)

// The baseline loop a team follows: record today's findings, gate on new
// ones, and notice when a recorded one is gone.
func TestBaselineLoop(t *testing.T) {
	prom := writeFile(t, "x.prom", exposition)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	base := filepath.Join(dir, "obslint-baseline.json")

	o := obslint(t, fakeApp(), "", "lint", "--metrics", prom, "--fail-on", "warning", "--output", "json="+report)
	require.Equal(t, exitFindings, o.code, o.stderr)

	o = obslint(t, fakeApp(), "", "baseline", "write", "--from", report, "-o", base)
	require.Equal(t, exitOK, o.code, o.stderr)
	assert.Contains(t, o.stderr, "wrote 1 baseline entries to "+base)
	b, err := os.ReadFile(base)
	require.NoError(t, err)
	assert.JSONEq(t, `{"schema_version":"1","tool":{"name":"obslint","version":"`+toolVersion()+`"},
		"entries":[{"rule":"metrics/always-fails","subject":"x","severity":"warning","message":"x is wrong"}]}`, string(b))

	o = obslint(t, fakeApp(), "", "lint", "--metrics", prom, "--fail-on", "warning", "--baseline", base, "--format", "json")
	require.Equal(t, exitOK, o.code, "a baselined finding does not fail: %s", o.stderr)
	r := decode(t, []byte(o.stdout))
	assert.Empty(t, r["findings"])
	require.Len(t, r["baselined"], 1)
	assert.Equal(t, "x", r["baselined"].([]any)[0].(map[string]any)["subject"])
	assert.Nil(t, r["stale_baseline"])

	o = obslint(t, fakeApp(), "", "lint", "--metrics", prom, "--fail-on", "warning", "--baseline", base)
	require.Equal(t, exitOK, o.code, o.stderr)
	assert.Contains(t, o.stdout, "baseline: 1 finding accepted as known debt")

	// A baseline written from a baselined report keeps the accepted debt.
	o = obslint(t, fakeApp(), "", "lint", "--metrics", prom, "--baseline", base, "--output", "json="+report)
	require.Equal(t, exitOK, o.code, o.stderr)
	o = obslint(t, fakeApp(), "", "baseline", "write", "--from", report, "-o", "-")
	require.Equal(t, exitOK, o.code, o.stderr)
	assert.Contains(t, o.stdout, `"subject": "x"`)
}

func TestBaselineStaleEntries(t *testing.T) {
	prom := writeFile(t, "x.prom", exposition)
	base := writeFile(t, "b.json", `{"schema_version":"1","entries":[
		{"rule":"metrics/always-fails","subject":"x"},
		{"rule":"metrics/always-fails","subject":"gone"},
		{"rule":"logs/needs-logs","subject":"stdout"}]}`)
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"stale entries fail by default", nil, exitFindings},
		{"at warning they pass --fail-on error", []string{"--stale-baseline", "warning"}, exitOK},
		{"and fail --fail-on warning", []string{"--stale-baseline", "warning", "--fail-on", "warning"}, exitFindings},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := obslint(t, fakeApp(), "", append([]string{"lint", "--metrics", prom, "--baseline", base, "--format", "json"}, tc.args...)...)
			require.Equal(t, tc.want, o.code, o.stderr)
			r := decode(t, []byte(o.stdout))
			// logs/needs-logs was not evaluated (no logs): its entry is not stale.
			require.Len(t, r["stale_baseline"], 1)
			assert.Equal(t, "gone", r["stale_baseline"].([]any)[0].(map[string]any)["subject"])
		})
	}
}

// A bad baseline is a usage error (exit 2) that names the file, before
// anything is launched.
func TestBaselineErrors(t *testing.T) {
	newer := writeFile(t, "newer.json", `{"schema_version":"2","entries":[]}`)
	launched := false
	a := fakeApp()
	a.capture = func(context.Context, runner.Settings) (*runner.Capture, error) {
		launched = true
		return &runner.Capture{Evidence: &checks.Evidence{}}, nil
	}
	o := obslint(t, a, "", "run", "--no-progress", "--baseline", newer, "--", "node", "server.js")
	assert.Equal(t, exitError, o.code)
	assert.Contains(t, o.stderr, newer+": baseline schema_version 2 is newer than this obslint reads (1)")
	assert.False(t, launched)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lint", "--metrics", "-", "--baseline", "/nonexistent/b.json"}, "/nonexistent/b.json"},
		{[]string{"lint", "--metrics", "-", "--stale-baseline", "fatal"}, `--stale-baseline: unknown severity "fatal"`},
		{[]string{"baseline", "write"}, "--from: give the JSON report"},
		{[]string{"baseline", "write", "--from", "/nonexistent/r.json"}, "/nonexistent/r.json"},
		{[]string{"baseline", "write", "--from", newer}, newer + ": report schema_version 2 is newer"},
		{[]string{"baseline", "write", "--from", writeFile(t, "r.json", `{"schema_version":"1","findings":[]}`), "-o", "/nonexistent/dir/b.json"}, "--output: "},
	} {
		o := obslint(t, fakeApp(), "", tc.args...)
		assert.Equal(t, exitError, o.code, tc.args)
		assert.Contains(t, o.stderr, tc.want, tc.args)
	}
}

func TestTuningFlags(t *testing.T) {
	prom := writeFile(t, "x.prom", exposition)
	cfg := writeFile(t, "obslint.yaml", "expect:\n  required_metrics: [a_total]\n  routes: [/a]\nrules:\n  severity:\n    metrics/always-fails: info\n"+
		"limits:\n  max_log_lines: 7\n  max_spans: 9\n")
	var got runner.Settings
	a := fakeApp()
	a.capture = func(_ context.Context, s runner.Settings) (*runner.Capture, error) {
		got = s
		return &runner.Capture{Evidence: &checks.Evidence{Expect: checks.Expectations{LogFields: []string{"recorded"}}}}, nil
	}
	var judged checks.Expectations
	a.rules = func() []*checks.Rule {
		return append(fakeRules(), &checks.Rule{ID: "correlation/spy", Summary: "spy", Doc: "spy",
			Check: func(p *checks.Pass) { judged = p.Expect }})
	}
	o := obslint(t, a, "", "run", "--no-progress", "--config", cfg, "--expect-metric", "b_total", "--expect-metric", "a_total",
		"--expect-route", "/b", "--expect-log-field", "service", "--expect-duration-metric", "api_seconds",
		"--max-spans", "11", "--disable", "logs/*=no logs here", "--severity", "metrics/always-fails=error", "--", "node", "s.js")
	require.Equal(t, exitOK, o.code, o.stderr)
	assert.Equal(t, []string{"a_total", "b_total"}, got.Config.Expect.RequiredMetrics, "flags add to the file's list")
	assert.Equal(t, []string{"/a", "/b"}, got.Config.Expect.Routes)
	assert.Equal(t, "api_seconds", got.Config.Expect.DurationMetric)
	assert.Equal(t, 7, got.Limits.MaxLines, "the file's limit")
	assert.Equal(t, 11, got.Limits.MaxSpans, "the flag wins over the file")
	assert.Equal(t, 1<<20, got.Limits.MaxLineBytes, "neither: the default")
	assert.Equal(t, checks.Expectations{DurationMetric: "api_seconds", RequiredMetrics: []string{"a_total", "b_total"},
		Routes: []string{"/a", "/b"}, LogFields: []string{"recorded", "service"}}, judged, "the evidence's and the config's are merged")

	o = obslint(t, fakeApp(), "", "lint", "--metrics", prom, "--format", "json", "--disable", "logs/*=no logs here",
		"--severity", "metrics/always-fails=error")
	assert.Equal(t, exitFindings, o.code, "--severity raised the finding to error: %s", o.stderr)
	r := decode(t, []byte(o.stdout))
	for _, rr := range r["rules"].([]any) {
		if m := rr.(map[string]any); m["id"] == "logs/needs-logs" {
			assert.Equal(t, "disabled", m["status"])
			assert.Equal(t, "no logs here", m["reason"])
		}
	}

	o = obslint(t, fakeApp(), "", "lint", "--metrics", prom, "--disable", "logs/needs-log=x", "--disable", "metrics/always-fails",
		"--severity", "metrics/always-fails=fatal", "--severity", "nope", "--expect-metric", "bad-name", "--expect-route", "users",
		"--max-spans", "0")
	assert.Equal(t, exitError, o.code)
	for _, want := range []string{
		"--disable logs/needs-log: unknown rule logs/needs-log; did you mean logs/needs-logs?",
		`--disable "metrics/always-fails": want 'ID=reason'`,
		`--severity metrics/always-fails: unknown severity "fatal"`,
		`--severity "nope": want 'ID=error|warning|info'`,
		`--expect-metric: "bad-name" is not a Prometheus metric name`,
		`--expect-route: "users" must start with /`,
		"--max-spans must be positive",
	} {
		assert.Contains(t, o.stderr, want)
	}
}

func TestParseProbeBody(t *testing.T) {
	got, err := parseProbe(`POST /orders status=201 header=Content-Type:application/json body={"sku": "A-1", "n": 2}`)
	require.NoError(t, err)
	assert.Equal(t, `{"sku": "A-1", "n": 2}`, got.Body)
	assert.Equal(t, "POST", got.Method)
	assert.Equal(t, 201, got.Status)
	_, err = parseProbe("POST /orders body=")
	assert.ErrorContains(t, err, "want body=CONTENT")
}

// Every key of obslint.yaml is also a flag: the flag each key names in
// internal/config (and so in docs/config.md) exists on run, and the judging
// ones on lint too.
func TestEveryConfigKeyHasItsFlag(t *testing.T) {
	a := newApp(nil, nil, nil)
	run, lint := a.runCommand(), a.lintCommand()
	judging := map[string]bool{"profile": true}
	for _, f := range config.Keys() {
		switch f.Flag {
		case "--":
			continue
		case "":
			assert.Contains(t, []reflect.Kind{reflect.Struct, reflect.Slice, reflect.Map, reflect.String, reflect.Int},
				f.Type.Kind(), "%s has no flag", f.Path)
			assert.True(t, strings.HasPrefix(f.Path, "probes::") || f.Type.Kind() == reflect.Struct,
				"%s has no flag; only sections and probe fields (inside --probe) may go without", f.Path)
			continue
		}
		assert.NotNil(t, run.Flags().Lookup(f.Flag), "%s: run has no --%s", f.Path, f.Flag)
		if strings.HasPrefix(f.Path, "expect::") || strings.HasPrefix(f.Path, "rules::") || strings.HasPrefix(f.Path, "limits::") || judging[f.Path] {
			assert.NotNil(t, lint.Flags().Lookup(f.Flag), "%s: lint has no --%s", f.Path, f.Flag)
		}
	}
}
