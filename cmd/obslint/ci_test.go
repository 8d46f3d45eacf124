package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/internal/runner"
)

// envApp is fakeApp with a fixed environment, as a CI runner sets it.
func envApp(env map[string]string) *app {
	a := fakeApp()
	a.getenv = func(k string) string { return env[k] }
	return a
}

// TestCIOutputs writes every CI format in one lint and reads each back:
// SARIF points at the config file, relative to the workspace, at the line
// of the rule's severity override.
func TestCIOutputs(t *testing.T) {
	workspace := t.TempDir()
	svc := filepath.Join(workspace, "services", "api")
	require.NoError(t, os.MkdirAll(svc, 0o755))
	cfg := filepath.Join(svc, "obslint.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("profile: node\nrules:\n  severity:\n    metrics/always-fails: error\n"), 0o644))
	prom := writeFile(t, "x.prom", exposition)
	out := t.TempDir()

	a := envApp(map[string]string{"GITHUB_WORKSPACE": workspace})
	o := obslint(t, a, "", "lint", "--metrics", prom, "--config", cfg,
		"--output", "sarif="+filepath.Join(out, "r.sarif"), "--output", "junit="+filepath.Join(out, "r.xml"),
		"--output", "markdown="+filepath.Join(out, "r.md"), "--output", "json="+filepath.Join(out, "r.json"))
	require.Equal(t, exitFindings, o.code, o.stderr)
	assert.Empty(t, o.stdout, "--output without --format writes nothing to stdout")
	assert.NotContains(t, o.stdout+o.stderr, "::", "no annotations outside GitHub Actions")

	var sarif struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID   string `json:"id"`
						Help struct {
							Text string `json:"text"`
						} `json:"help"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(mustRead(t, out, "r.sarif"), &sarif))
	require.Len(t, sarif.Runs, 1)
	require.Len(t, sarif.Runs[0].Results, 1)
	r := sarif.Runs[0].Results[0]
	assert.Equal(t, "metrics/always-fails", r.RuleID)
	assert.Equal(t, "error", r.Level, "the override, not the rule's default")
	assert.Equal(t, "services/api/obslint.yaml", r.Locations[0].PhysicalLocation.ArtifactLocation.URI)
	assert.Equal(t, 4, r.Locations[0].PhysicalLocation.Region.StartLine, "the line of the override")
	var help []string
	for _, d := range sarif.Runs[0].Tool.Driver.Rules {
		help = append(help, d.Help.Text)
	}
	assert.Contains(t, help, "fails on every scrape.\n\nFails.", "rule help comes from the catalogue")

	var junit struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
	}
	require.NoError(t, xml.Unmarshal(mustRead(t, out, "r.xml"), &junit))
	assert.Equal(t, []int{3, 1, 1}, []int{junit.Tests, junit.Failures, junit.Skipped}, "fails, passes, needs logs")

	md := string(mustRead(t, out, "r.md"))
	assert.Contains(t, md, "| [metrics/always-fails](")
	assert.Contains(t, md, "| logs/needs-logs | no log stream was captured |")
	decode(t, mustRead(t, out, "r.json"))
}

func mustRead(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return b
}

func TestGitHubAnnotationsInActions(t *testing.T) {
	prom := writeFile(t, "x.prom", exposition)
	actions := map[string]string{"GITHUB_ACTIONS": "true",
		"GITHUB_WORKFLOW_REF": "octo/svc/.github/workflows/obslint.yml@refs/heads/main"}
	// Without a config file, annotations point at the workflow file in
	// Actions, and at obslint.yaml elsewhere.
	const annotation = ",line=1,title=obslint metrics/always-fails::x: x is wrong.%0ADocs: "
	cases := []struct {
		name           string
		env            map[string]string
		args           []string
		stdout, stderr int // annotations expected on each
	}{
		{"outside actions", nil, nil, 0, 0},
		{"text report", actions, nil, 1, 0},
		{"json on stdout keeps stdout JSON", actions, []string{"--format", "json"}, 0, 1},
		{"asked for explicitly", actions, []string{"--output", "github=-"}, 1, 0},
		{"explicitly outside actions", nil, []string{"--output", "github=-"}, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := obslint(t, envApp(tc.env), "", append([]string{"lint", "--metrics", prom}, tc.args...)...)
			require.Equal(t, exitOK, o.code, o.stderr)
			assert.Equal(t, tc.stdout, strings.Count(o.stdout, annotation), o.stdout)
			assert.Equal(t, tc.stderr, strings.Count(o.stderr, annotation), o.stderr)
			if slices.Contains(tc.args, "json") {
				decode(t, []byte(o.stdout))
			}
			file := "::warning file=obslint.yaml,"
			if tc.env != nil {
				file = "::warning file=.github/workflows/obslint.yml,"
			}
			assert.Equal(t, tc.stdout+tc.stderr, strings.Count(o.stdout+o.stderr, file+annotation[1:]))
		})
	}
}

// TestOutputPathErrors: a report that cannot be written is a usage error
// found before the service is launched, naming the path.
func TestOutputPathErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("old report"), 0o644))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing directory", []string{"--output", "sarif=" + filepath.Join(dir, "no", "r.sarif")},
			"--output sarif=" + filepath.Join(dir, "no", "r.sarif") + ": directory " + filepath.Join(dir, "no") + " does not exist"},
		{"a directory", []string{"--output", "junit=" + dir}, "--output junit=" + dir + ": is a directory"},
		{"parent is a file", []string{"--output", "json=" + filepath.Join(file, "r.json")},
			"--output json=" + filepath.Join(file, "r.json") + ": " + file + " is not a directory"},
		{"same file twice", []string{"--output", "json=" + file, "--output", "sarif=" + file},
			"--output sarif=" + file + ": another --output writes this file too"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			launched := false
			a := fakeApp()
			a.capture = func(context.Context, runner.Settings) (*runner.Capture, error) {
				launched = true
				return nil, runner.ErrCapture
			}
			o := obslint(t, a, "", append(append([]string{"run", "--no-progress"}, tc.args...), "--", "true")...)
			assert.Equal(t, exitError, o.code)
			assert.Contains(t, o.stderr, tc.want)
			assert.False(t, launched, "checked before anything is launched")
		})
	}
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "old report", string(b), "checking does not truncate an existing report")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no probe file left behind")
}

func TestWritable(t *testing.T) {
	dir := t.TempDir()
	assert.NoError(t, writable(filepath.Join(dir, "new.sarif")))
	assert.NoError(t, writable(os.DevNull), "a device is written, not probed")
	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		require.NoError(t, os.Mkdir(ro, 0o555))
		assert.ErrorContains(t, writable(filepath.Join(ro, "r.sarif")), "is not writable")
	}
}

func TestReportLocation(t *testing.T) {
	root := t.TempDir()
	cases := []struct {
		name string
		env  map[string]string
		path string
		want string
	}{
		{"in the workspace", map[string]string{"GITHUB_WORKSPACE": root}, filepath.Join(root, "a", "obslint.yaml"), "a/obslint.yaml"},
		{"GitLab project dir", map[string]string{"CI_PROJECT_DIR": root}, filepath.Join(root, "obslint.yaml"), "obslint.yaml"},
		{"outside the workspace", map[string]string{"GITHUB_WORKSPACE": filepath.Join(root, "a")}, filepath.Join(root, "obslint.yaml"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, envApp(tc.env).repoRelative(tc.path))
		})
	}
	t.Run("working directory", func(t *testing.T) {
		t.Chdir(root)
		assert.Equal(t, "obslint.yaml", envApp(nil).repoRelative("obslint.yaml"))
	})

	for ref, want := range map[string]string{
		"octo/svc/.github/workflows/ci.yml@refs/heads/main": ".github/workflows/ci.yml",
		"octo/svc/.github/workflows/sub/x.yaml@refs/pull/1": ".github/workflows/sub/x.yaml",
		"": "", "garbage": "",
	} {
		assert.Equal(t, want, envApp(map[string]string{"GITHUB_WORKFLOW_REF": ref}).workflowFile(), ref)
	}
}
