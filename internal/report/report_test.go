package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// sample is a result with every section a report can have: failures in two
// signals, a passing rule with notes, not-evaluated and disabled rules, a
// finding whose rule row is missing, problems and timings.
func sample() checks.Result {
	return checks.Result{
		SchemaVersion: checks.SchemaVersion,
		Tool:          checks.Tool{Name: "obslint", Version: "v0.1.0"},
		Target: checks.Target{Service: "checkout", Profile: "node",
			ProfileReason: `spans carry telemetry.sdk.language="nodejs"`, URL: "http://127.0.0.1:3000",
			Command: []string{"node", "server.js"}},
		Captured: checks.Captured{Probes: true, Metrics: true, Logs: true, Traces: true,
			LogSource: "stdout/stderr of node server.js", TraceSource: "embedded OTLP receiver"},
		Started: time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC),
		Timings: map[string]string{"ready": "1.2s", "probing": "350ms"},
		Summary: checks.Summary{Errors: 2, Warnings: 1, Infos: 1, Score: 61, Passed: 2, Failed: 2, NotEvaluated: 3, Disabled: 1},
		Rules: []checks.RuleResult{
			{ID: "logs/json", Signal: checks.Logs, Status: checks.StatusFail, Severity: checks.Error,
				Summary: "every line the service writes is one JSON object", Findings: 1},
			{ID: "logs/level", Signal: checks.Logs, Status: checks.StatusDisabled, Severity: checks.Warning,
				Summary: "levels are lower-case names", Reason: "legacy logger, see #12"},
			{ID: "metrics/counter-suffix", Signal: checks.Metrics, Status: checks.StatusFail, Severity: checks.Warning,
				Summary: "counters end in _total, non-counters do not", Findings: 1},
			{ID: "metrics/help", Signal: checks.Metrics, Status: checks.StatusPass, Severity: checks.Info,
				Summary: "every family has HELP text"},
			{ID: "metrics/runtime-defaults", Signal: checks.Metrics, Status: checks.StatusPass, Severity: checks.Warning,
				Summary: "the runtime's default metrics are exposed"},
			{ID: "traces/propagation", Signal: checks.Traces, Status: checks.StatusNotEvaluated, Severity: checks.Error,
				Summary: "server spans continue the injected trace", Reason: "no spans were received (see traces/received)"},
			{ID: "traces/span-name", Signal: checks.Traces, Status: checks.StatusNotEvaluated, Severity: checks.Warning,
				Summary: "span names are low-cardinality", Reason: "no spans were received (see traces/received)"},
			{ID: "traces/status", Signal: checks.Traces, Status: checks.StatusNotEvaluated, Severity: checks.Warning,
				Summary: "server spans set an error status on 5xx", Reason: "applies to the python profile only"},
		},
		Findings: []checks.Finding{
			{Rule: "correlation/no-canary-leak", Severity: checks.Error, Subject: "stdout:3",
				Message: "canary secret from the Authorization header appears in a log line", Evidence: `{"auth":"Bearer ****"}`},
			{Rule: "logs/json", Severity: checks.Error, Subject: "stderr:12", Message: "line is not a JSON object",
				Evidence: "Error: boom\n    at handler (server.js:10:5)", Fix: "Log errors through winston with format.errors({stack: true}).",
				Docs: "docs/rules.md#logsjson"},
			{Rule: "metrics/counter-suffix", Severity: checks.Warning, Subject: "http_requests",
				Message: `counter "http_requests" should have "_total" suffix`, Evidence: "# TYPE http_requests counter",
				Fix: "Rename the counter to http_requests_total.", Docs: "docs/rules.md#metricscounter-suffix"},
			{Rule: "metrics/runtime-defaults", Severity: checks.Info, Subject: "nodejs_active_handles_total",
				Message: "library-owned gauge ends in _total; not the service's to fix"},
		},
		Problems: []checks.Problem{{Phase: "traces", Message: "timeout waiting for spans of 3 probes"}},
		Judged:   checks.Judged{LogLines: 1_234_567, Spans: 1, Scrapes: 14},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/report -update to create it")
	assert.Equal(t, string(want), string(got))
}

func TestWriteGolden(t *testing.T) {
	cases := []struct {
		name   string
		format Format
		res    checks.Result
		opt    Options
	}{
		{"sample.txt", Text, sample(), Options{}},
		{"sample.color.txt", Text, sample(), Options{Color: true}},
		{"sample.json", JSON, sample(), Options{}},
		{"empty.txt", Text, checks.Result{}, Options{}},
		{"empty.json", JSON, checks.Result{}, Options{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, tc.format, tc.res, tc.opt))
			golden(t, tc.name, buf.Bytes())
		})
	}
}

func TestJSONContract(t *testing.T) {
	for name, res := range map[string]checks.Result{"sample": sample(), "empty": {}} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, JSON, res, Options{}))
			var got map[string]any
			require.NoError(t, json.Unmarshal(buf.Bytes(), &got))

			assert.Equal(t, "1", got["schema_version"])
			assert.Subset(t, keys(got["tool"]), []string{"name", "version"})
			assert.Subset(t, keys(got["target"]), []string{"service", "profile"})
			assert.Subset(t, keys(got["summary"]), []string{"errors", "warnings", "infos", "score"})
			for _, k := range []string{"rules", "findings", "problems"} {
				assert.IsType(t, []any{}, got[k], "%s must be an array, never null", k)
			}
			for _, r := range got["rules"].([]any) {
				assert.Subset(t, keys(r), []string{"id", "status", "severity", "reason"})
			}
			for _, f := range got["findings"].([]any) {
				assert.Subset(t, keys(f), []string{"rule", "severity", "message", "subject", "evidence", "fix"})
			}
		})
	}
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestTextColorOnlyWhenAsked(t *testing.T) {
	var plain, color bytes.Buffer
	require.NoError(t, Write(&plain, Text, sample(), Options{}))
	require.NoError(t, Write(&color, Text, sample(), Options{Color: true}))
	assert.NotContains(t, plain.String(), "\x1b[")
	assert.Contains(t, color.String(), "\x1b[")
}

func TestParseFormat(t *testing.T) {
	cases := []struct {
		in      string
		want    Format
		wantErr string
	}{
		{"text", Text, ""},
		{"json", JSON, ""},
		{" JSON ", JSON, ""},
		{"sarif", SARIF, ""},
		{"junit", JUnit, ""},
		{"Markdown", Markdown, ""},
		{"github", GitHub, ""},
		{"", 0, `unknown format "" (valid: text, json, sarif, junit, markdown, github)`},
		{"xml", 0, `unknown format "xml" (valid: text, json, sarif, junit, markdown, github)`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFormat(tc.in)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, got, must(ParseFormat(got.String())), "String round-trips")
		})
	}
}

func TestParseRulesFormat(t *testing.T) {
	cases := []struct {
		in      string
		want    Format
		wantErr string
	}{
		{"text", Text, ""},
		{"json", JSON, ""},
		{" Markdown", Markdown, ""},
		{"md", 0, `unknown format "md" (valid: text, json, markdown)`},
		{"sarif", 0, `format "sarif" is not available for rules (valid: text, json, markdown)`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRulesFormat(tc.in)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, got, must(ParseRulesFormat(got.String())), "String round-trips")
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestParseOutput(t *testing.T) {
	cases := []struct {
		in      string
		want    Output
		wantErr string
	}{
		{"json=out/report.json", Output{JSON, "out/report.json"}, ""},
		{"text=-", Output{Text, "-"}, ""},
		{"json=a=b.json", Output{JSON, "a=b.json"}, ""},
		{"report.json", Output{}, `output "report.json": want FORMAT=PATH, e.g. json=report.json`},
		{"json=", Output{}, `output "json=": want FORMAT=PATH, e.g. json=report.json`},
		{"sarif=out/obslint.sarif", Output{SARIF, "out/obslint.sarif"}, ""},
		{"xml=r.xml", Output{}, `output "xml=r.xml": unknown format "xml" (valid: text, json, sarif, junit, markdown, github)`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseOutput(tc.in)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	var buf bytes.Buffer
	assert.Error(t, Write(&buf, Format(99), sample(), Options{}))
	assert.Error(t, WriteRules(&buf, Format(99), nil))
	assert.EqualError(t, WriteRules(&buf, SARIF, nil), "report: format sarif cannot list rules")
	assert.Empty(t, buf.String())
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteReportsWriterErrors(t *testing.T) {
	for _, f := range reportFormats {
		assert.EqualError(t, Write(failingWriter{}, f, sample(), Options{}), "disk full", f.String())
	}
	for _, f := range ruleFormats {
		assert.EqualError(t, WriteRules(failingWriter{}, f, sampleRules), "disk full", f.String())
	}
}

var sampleRules = []*checks.Rule{
	{ID: "metrics/counter-suffix", Severity: checks.Warning, Summary: "counters end in _total, non-counters do not",
		Doc:   "Counters are recognised by their suffix.\n\nBad: `http_requests`. Good: `http_requests_total`.",
		Fix:   checks.Fix{Node: "Name the prom-client Counter with _total.", Python: "Drop _total: prometheus_client adds it."},
		Needs: []checks.Need{checks.NeedFamilies}},
	{ID: "logs/level", Severity: checks.Error, Profiles: []string{checks.ProfilePython}, Summary: "levels are lower-case names",
		Doc: "structlog's add_log_level writes lower-case names.", Fix: checks.Fix{Generic: "Add structlog.processors.add_log_level."}},
}

func TestWriteRulesGolden(t *testing.T) {
	for _, f := range ruleFormats {
		t.Run(f.String(), func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, WriteRules(&buf, f, sampleRules))
			golden(t, "rules."+f.String(), buf.Bytes())
		})
	}
}

func TestWriteRulesJSONEmptyIsArray(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteRules(&buf, JSON, nil))
	assert.JSONEq(t, "[]", buf.String())
}

func TestExplainGolden(t *testing.T) {
	for _, r := range sampleRules {
		t.Run(r.ID, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Explain(&buf, r))
			golden(t, "explain."+string(r.Signal()), buf.Bytes())
		})
	}
}
