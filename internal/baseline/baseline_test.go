package baseline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

func finding(rule, subject string, sev checks.Severity) checks.Finding {
	return checks.Finding{Rule: rule, Subject: subject, Severity: sev, Message: "m " + subject}
}

func entry(rule, subject string) Entry { return Entry{Rule: rule, Subject: subject} }

func TestApply(t *testing.T) {
	rules := []checks.RuleResult{
		{ID: "metrics/help", Status: checks.StatusFail},
		{ID: "logs/level", Status: checks.StatusPass},
		{ID: "traces/status", Status: checks.StatusNotEvaluated},
		{ID: "logs/json", Status: checks.StatusDisabled},
	}
	tests := []struct {
		name      string
		findings  []checks.Finding
		entries   []Entry
		kept      []string // rule subject of findings left
		baselined []string
		stale     []checks.StaleEntry
	}{
		{name: "no baseline", findings: []checks.Finding{finding("metrics/help", "a", checks.Warning)},
			kept: []string{"metrics/help a"}},
		{name: "matched by rule and subject, not message",
			findings: []checks.Finding{finding("metrics/help", "a", checks.Warning), finding("metrics/help", "b", checks.Warning)},
			entries:  []Entry{{Rule: "metrics/help", Subject: "a", Message: "old wording"}},
			kept:     []string{"metrics/help b"}, baselined: []string{"metrics/help a"}},
		{name: "counts: two entries tolerate two, the third is new",
			findings: []checks.Finding{finding("metrics/help", "a", checks.Warning), finding("metrics/help", "a", checks.Warning), finding("metrics/help", "a", checks.Warning)},
			entries:  []Entry{entry("metrics/help", "a"), entry("metrics/help", "a")},
			kept:     []string{"metrics/help a"}, baselined: []string{"metrics/help a", "metrics/help a"}},
		{name: "same subject, other rule is new",
			findings: []checks.Finding{finding("logs/level", "a", checks.Error)},
			entries:  []Entry{entry("metrics/help", "a")},
			kept:     []string{"logs/level a"},
			stale:    []checks.StaleEntry{{Rule: "metrics/help", Subject: "a", Count: 1, Severity: checks.Error}}},
		{name: "stale entries, counted, for evaluated and unknown rules only",
			entries: []Entry{entry("metrics/help", "gone"), entry("metrics/help", "gone"), entry("logs/level", "x"),
				entry("traces/status", "unjudged"), entry("logs/json", "disabled"), entry("metrics/retired", "y")},
			stale: []checks.StaleEntry{
				{Rule: "logs/level", Subject: "x", Count: 1, Severity: checks.Error},
				{Rule: "metrics/help", Subject: "gone", Count: 2, Severity: checks.Error},
				{Rule: "metrics/retired", Subject: "y", Count: 1, Severity: checks.Error},
			}},
		{name: "partly used entry is stale by the rest",
			findings:  []checks.Finding{finding("metrics/help", "a", checks.Warning)},
			entries:   []Entry{entry("metrics/help", "a"), entry("metrics/help", "a"), entry("metrics/help", "a")},
			baselined: []string{"metrics/help a"},
			stale:     []checks.StaleEntry{{Rule: "metrics/help", Subject: "a", Count: 2, Severity: checks.Error}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := checks.Result{Rules: rules, Findings: tt.findings, Summary: checks.Summary{Errors: 9, Score: 40, Failed: 1}}
			Apply(&res, File{SchemaVersion: SchemaVersion, Entries: tt.entries}, checks.Error)
			assert.Equal(t, tt.kept, ids(res.Findings), "findings")
			assert.Equal(t, tt.baselined, ids(res.Baselined), "baselined")
			assert.Equal(t, tt.stale, res.StaleBaseline)
			assert.Equal(t, 40, res.Summary.Score, "the score tells the truth")
			assert.Equal(t, 1, res.Summary.Failed)
			assert.Equal(t, count(tt.findings, tt.baselined), res.Summary.Errors+res.Summary.Warnings+res.Summary.Infos,
				"summary counts follow the findings kept")
		})
	}
}

func ids(fs []checks.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+" "+f.Subject)
	}
	return out
}

func count(all []checks.Finding, baselined []string) int { return len(all) - len(baselined) }

// The gate: baselined findings never fail the run, stale entries fail it at
// their severity.
func TestApplyAndFailed(t *testing.T) {
	res := checks.Result{Rules: []checks.RuleResult{{ID: "metrics/help", Status: checks.StatusFail}},
		Findings: []checks.Finding{finding("metrics/help", "a", checks.Error)}}
	require.True(t, res.Failed(checks.Error))
	Apply(&res, File{Entries: []Entry{entry("metrics/help", "a")}}, checks.Error)
	assert.False(t, res.Failed(checks.Error), "accepted debt does not fail")

	res = checks.Result{Rules: []checks.RuleResult{{ID: "metrics/help", Status: checks.StatusPass}}}
	Apply(&res, File{Entries: []Entry{entry("metrics/help", "fixed")}}, checks.Warning)
	assert.False(t, res.Failed(checks.Error), "a warning-level stale entry passes --fail-on error")
	assert.True(t, res.Failed(checks.Warning))
}

func TestFromReportRoundTrip(t *testing.T) {
	rep := `{"schema_version":"1","tool":{"name":"obslint","version":"v1.2.0"},
	  "findings":[{"rule":"metrics/help","severity":"warning","message":"no help text","subject":"jobs_total","evidence":"x"},
	              {"rule":"logs/json","severity":"error","message":"12 of 40 lines","subject":"stdout"}],
	  "baselined":[{"rule":"logs/level","severity":"error","message":"old","subject":"stderr field level"}],
	  "rules":[], "summary":{}}`
	f, err := FromReport("report.json", strings.NewReader(rep))
	require.NoError(t, err)
	assert.Equal(t, File{SchemaVersion: "1", Tool: checks.Tool{Name: "obslint", Version: "v1.2.0"}, Entries: []Entry{
		{Rule: "logs/json", Subject: "stdout", Severity: "error", Message: "12 of 40 lines"},
		{Rule: "logs/level", Subject: "stderr field level", Severity: "error", Message: "old"},
		{Rule: "metrics/help", Subject: "jobs_total", Severity: "warning", Message: "no help text"},
	}}, f)

	var buf bytes.Buffer
	require.NoError(t, Write(&buf, f))
	path := filepath.Join(t.TempDir(), "baseline.json")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	back, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, f, back)
	assert.True(t, strings.HasSuffix(buf.String(), "}\n"))

	buf.Reset()
	require.NoError(t, Write(&buf, FromFindings(checks.Tool{}, nil)))
	assert.Contains(t, buf.String(), `"entries": []`, "an empty baseline still lists its entries")
}

func TestFromReportErrors(t *testing.T) {
	tests := map[string]string{
		"not JSON":                             "report.json: not a JSON report",
		`{"findings":[]}`:                      "report.json: not an obslint JSON report (no schema_version)",
		`{"schema_version":"2","findings":[]}`: "report.json: report schema_version 2 is newer than this obslint reads (1); upgrade obslint",
		`{"schema_version":"1","findings":[{"subject":"x"}]}`:                   "report.json: a finding without a rule",
		`{"schema_version":"1","findings":[{"rule":"a/b","severity":"fatal"}]}`: "report.json: not a JSON report",
	}
	for in, want := range tests {
		_, err := FromReport("report.json", strings.NewReader(in))
		assert.ErrorContains(t, err, want, in)
	}
	_, err := FromReport("big.json", strings.NewReader(strings.Repeat(" ", maxFileBytes+1)))
	assert.ErrorContains(t, err, "big.json: larger than")
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]string{
		`{"schema_version":"2","entries":[]}`:   "schema_version 2 is newer than this obslint reads (1); upgrade obslint",
		`{"schema_version":"v1","entries":[]}`:  `baseline schema_version "v1" is not a version obslint writes`,
		`{"entries":[]}`:                        "not an obslint baseline (no schema_version)",
		`{"schema_version":"1","entires":[]}`:   `not an obslint baseline: json: unknown field "entires"`,
		`{"schema_version":"1","entries":[{}]}`: "entries[0]: rule is required",
		`[1,2]`:                                 "not an obslint baseline",
	}
	i := 0
	for in, want := range tests {
		i++
		path := filepath.Join(dir, "b"+string(rune('a'+i))+".json")
		require.NoError(t, os.WriteFile(path, []byte(in), 0o644))
		_, err := Read(path)
		require.Error(t, err, in)
		assert.True(t, strings.HasPrefix(err.Error(), path+": "), "names the file: %v", err)
		assert.Contains(t, err.Error(), want, in)
	}
	_, err := Read(filepath.Join(dir, "missing.json"))
	assert.ErrorContains(t, err, "missing.json")
}
