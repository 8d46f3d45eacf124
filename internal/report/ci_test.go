package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

// ciSample is sample() as a CI run sees it: a baseline accepted one finding
// and has one entry that no longer occurs.
func ciSample() checks.Result {
	res := sample()
	res.Baselined = []checks.Finding{{Rule: "metrics/counter-suffix", Severity: checks.Warning, Subject: "jobs_processed",
		Message: `counter "jobs_processed" should have "_total" suffix`}}
	res.StaleBaseline = []checks.StaleEntry{{Rule: "logs/json", Subject: "stdout", Count: 2, Severity: checks.Error}}
	return res
}

// ciOptions is what the CLI passes: the catalogue, the config file with the
// line of a severity override, --fail-on.
func ciOptions() Options {
	return Options{Rules: sampleRules, Location: "services/checkout/obslint.yaml", FailOn: checks.Warning,
		Line: func(rule string) int {
			if rule == "metrics/counter-suffix" {
				return 7
			}
			return 0
		}}
}

func TestCIFormatsGolden(t *testing.T) {
	for _, f := range []Format{SARIF, JUnit, Markdown, GitHub} {
		for name, tc := range map[string]struct {
			res checks.Result
			opt Options
		}{"sample": {ciSample(), ciOptions()}, "empty": {checks.Result{}, Options{}}} {
			t.Run(name+"."+f.String(), func(t *testing.T) {
				var buf bytes.Buffer
				require.NoError(t, Write(&buf, f, tc.res, tc.opt))
				golden(t, name+"."+f.String(), buf.Bytes())
			})
		}
	}
}

// decodeSARIF reads a SARIF report back into the wire structs.
func decodeSARIF(t *testing.T, res checks.Result, opt Options) sarifLog {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, SARIF, res, opt))
	var log sarifLog
	require.NoError(t, json.Unmarshal(buf.Bytes(), &log))
	return log
}

// TestSARIFForGitHub asserts what GitHub needs and the validator does not
// check (ci-integration.md §2 "Conclusion"): a non-empty, scheme-less,
// repo-relative uri and a fingerprint on every result, non-empty rule texts.
func TestSARIFForGitHub(t *testing.T) {
	for name, opt := range map[string]Options{"with config": ciOptions(), "no options": {}} {
		t.Run(name, func(t *testing.T) {
			log := decodeSARIF(t, ciSample(), opt)
			require.Len(t, log.Runs, 1)
			run := log.Runs[0]
			assert.Equal(t, "2.1.0", log.Version)
			assert.Equal(t, "obslint/checkout/", run.AutomationDetails.ID)
			require.Len(t, run.Results, len(ciSample().Findings), "baselined findings are left out")
			fingerprints := map[string]bool{}
			for _, r := range run.Results {
				require.Len(t, r.Locations, 1)
				uri := r.Locations[0].PhysicalLocation.ArtifactLocation.URI
				assert.Equal(t, opt.location(), uri)
				assert.NotContains(t, uri, ":", "no scheme")
				assert.False(t, filepath.IsAbs(uri))
				wantLine := 1
				if opt.Line != nil && r.RuleID == "metrics/counter-suffix" {
					wantLine = 7
				}
				assert.Equal(t, wantLine, r.Locations[0].PhysicalLocation.Region.StartLine, r.RuleID)
				fp := r.PartialFingerprints["primaryLocationLineHash"]
				assert.Regexp(t, `^[0-9a-f]{16}:\d+$`, fp)
				assert.False(t, fingerprints[fp], "fingerprint %s repeats", fp)
				fingerprints[fp] = true
				require.Less(t, r.RuleIndex, len(run.Tool.Driver.Rules))
				assert.Equal(t, r.RuleID, run.Tool.Driver.Rules[r.RuleIndex].ID)
				assert.NotEmpty(t, r.Message.Text)
			}
			for _, d := range run.Tool.Driver.Rules {
				for _, text := range []string{d.ShortDescription.Text, d.FullDescription.Text, d.Help.Text, d.Help.Markdown} {
					assert.NotEmpty(t, text, d.ID)
				}
				assert.LessOrEqual(t, len(d.ShortDescription.Text), maxDescription)
				assert.LessOrEqual(t, len(d.FullDescription.Text), maxDescription)
				assert.Regexp(t, `^https://`, d.HelpURI)
			}
		})
	}
}

func TestSARIFNotEvaluatedAndDisabled(t *testing.T) {
	res := ciSample()
	opt := ciOptions()
	// logs/level is disabled in the sample; give metrics/counter-suffix a
	// severity other than its catalogue default.
	res.Rules[2].Severity = checks.Error
	run := decodeSARIF(t, res, opt).Runs[0]
	inv := run.Invocations[0]
	assert.True(t, inv.ExecutionSuccessful)

	var notEvaluated []string
	for _, n := range inv.ToolExecutionNotifications {
		if n.AssociatedRule != nil {
			notEvaluated = append(notEvaluated, n.AssociatedRule.ID)
			assert.Equal(t, n.AssociatedRule.ID, run.Tool.Driver.Rules[n.AssociatedRule.Index].ID)
			assert.Contains(t, n.Message.Text, "was not evaluated")
		}
	}
	assert.Equal(t, []string{"traces/propagation", "traces/span-name", "traces/status"}, notEvaluated)
	assert.Equal(t, notEvaluated, run.Properties.NotEvaluated)
	assert.Equal(t, []string{"logs/level"}, run.Properties.Disabled)

	overrides := map[string]sarifConfiguration{}
	for _, o := range inv.RuleConfigurationOverrides {
		overrides[o.Descriptor.ID] = o.Configuration
	}
	require.Contains(t, overrides, "logs/level")
	require.NotNil(t, overrides["logs/level"].Enabled)
	assert.False(t, *overrides["logs/level"].Enabled)
	assert.Equal(t, "error", overrides["metrics/counter-suffix"].Level)
	assert.Len(t, overrides, 2, "rules at their default severity need no override")
}

func TestSARIFLevels(t *testing.T) {
	run := decodeSARIF(t, ciSample(), ciOptions()).Runs[0]
	levels := map[string]string{}
	for _, r := range run.Results {
		levels[r.RuleID] = r.Level
	}
	assert.Equal(t, map[string]string{"correlation/no-canary-leak": "error", "logs/json": "error",
		"metrics/counter-suffix": "warning", "metrics/runtime-defaults": "note"}, levels)
	for _, d := range run.Tool.Driver.Rules {
		assert.NotContains(t, d.Properties.Tags, "security", "obslint rules are not security rules")
	}
}

func TestSARIFCapsResults(t *testing.T) {
	res := checks.Result{Rules: []checks.RuleResult{{ID: "logs/json", Status: checks.StatusFail, Severity: checks.Error}}}
	for i := range maxSARIFResults + 500 {
		sev := checks.Info
		if i%3 == 0 {
			sev = checks.Error
		}
		res.Findings = append(res.Findings, checks.Finding{Rule: "logs/json", Severity: sev, Subject: fmt.Sprintf("stdout:%05d", i), Message: "x"})
	}
	run := decodeSARIF(t, res, Options{}).Runs[0]
	require.Len(t, run.Results, maxSARIFResults)
	errs := 0
	for _, r := range run.Results {
		if r.Level == "error" {
			errs++
		}
	}
	assert.Equal(t, (maxSARIFResults+500+2)/3, errs, "every error is kept")
	assert.Equal(t, 500, run.Properties.OmittedResults)
	assert.Contains(t, run.Invocations[0].ToolExecutionNotifications[0].Message.Text, "500 less severe findings")
	assert.Less(t, run.Results[0].Properties.Subject, run.Results[1].Properties.Subject, "report order kept")
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint("metrics/counter-suffix", "http_requests")
	assert.Regexp(t, `^[0-9a-f]{16}$`, a)
	assert.Equal(t, a, Fingerprint("metrics/counter-suffix", "http_requests"), "stable")
	assert.NotEqual(t, a, Fingerprint("metrics/counter-suffix", "http_requests_total"))
	assert.NotEqual(t, a, Fingerprint("metrics/help", "http_requests"))
	assert.NotEqual(t, Fingerprint("a", "bc"), Fingerprint("ab", "c"), "fields are separated")

	// The message is not part of a finding's identity: a reworded message
	// keeps the alert open rather than closing it and opening another.
	res := checks.Result{Findings: []checks.Finding{{Rule: "logs/json", Subject: "stderr:12", Message: "old wording"}}}
	before := decodeSARIF(t, res, Options{}).Runs[0].Results[0].PartialFingerprints
	res.Findings[0].Message = "new wording"
	after := decodeSARIF(t, res, Options{}).Runs[0].Results[0].PartialFingerprints
	assert.Equal(t, before, after)
}

func TestSARIFCategory(t *testing.T) {
	cases := []struct{ service, category, want string }{
		{"checkout", "", "obslint/checkout/"},
		{"", "", "obslint/"},
		{"my svc/../x", "", "obslint/my-svc-..-x/"},
		{"checkout", "obslint/staging/", "obslint/staging/"},
	}
	for _, tc := range cases {
		res := checks.Result{Target: checks.Target{Service: tc.service}}
		got := decodeSARIF(t, res, Options{Category: tc.category}).Runs[0].AutomationDetails.ID
		assert.Equal(t, tc.want, got, tc.service)
	}
}

func TestSemanticVersion(t *testing.T) {
	for in, want := range map[string]string{"v1.2.3": "1.2.3", "0.4.0-rc.1": "0.4.0-rc.1", "dev": "",
		"v0.0.0-20260101000000-abcdef123456": "0.0.0-20260101000000-abcdef123456", "": ""} {
		assert.Equal(t, want, semanticVersion(in), in)
	}
}

// multitool is the validator `npm ci` in tools/sarif installs. The test
// calls the binary, not the npm shim: the shim runs it through /bin/sh, and
// the ";" in "Sarif;Gh" would end the command (ci-integration.md §2).
const multitool = "../../tools/sarif/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"

// TestSARIFValidator runs Microsoft's SARIF validator with the SARIF and
// GitHub ingestion rules on a realistic report. The validator exits 0 even
// when it finds errors, so its output log is read instead; a broken report
// shows the harness does see errors.
func TestSARIFValidator(t *testing.T) {
	if _, err := os.Stat(multitool); err != nil {
		t.Fatalf("SARIF validator missing (%v): run make test-deps (npm ci in tools/sarif)", err)
	}
	res := ciSample()
	res.Rules[2].Severity = checks.Error // a severity override
	for name, opt := range map[string]Options{"full": ciOptions(), "bare": {}} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, SARIF, res, opt))
			for _, d := range validateSARIF(t, buf.Bytes()) {
				t.Errorf("validator: %s", d)
			}
		})
	}
	t.Run("broken", func(t *testing.T) {
		log := toSARIF(res, ciOptions())
		log.Runs[0].Results[0].Locations = nil
		broken, err := json.Marshal(log)
		require.NoError(t, err)
		diags := validateSARIF(t, broken)
		assert.Contains(t, strings.Join(diags, "\n"), "error GH1015", "the validator must catch a result without a location")
	})
}

// validateSARIF returns the validator's errors and warnings as
// "level RULE: message". Its notes are style advice that does not fit
// runtime findings (a source snippet, message IDs) and are ignored.
func validateSARIF(t *testing.T, sarif []byte) []string {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.sarif"), filepath.Join(dir, "out.sarif")
	require.NoError(t, os.WriteFile(in, sarif, 0o644))
	// --log takes a list and swallows a file name right after it, so it
	// must not come last before the input.
	cmd := exec.Command(multitool, "validate", "-o", out, "--log", "ForceOverwrite", "--rule-kind", "Sarif;Gh", in)
	// Validation needs no culture data; in invariant mode .NET starts
	// without libicu on the machine.
	cmd.Env = append(os.Environ(), "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1")
	console, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", console)

	var log struct {
		Runs []struct {
			Results []struct {
				RuleID  string `json:"ruleId"`
				Level   string `json:"level"`
				Message struct {
					Text      string   `json:"text"`
					Arguments []string `json:"arguments"`
				} `json:"message"`
			} `json:"results"`
		} `json:"runs"`
	}
	raw, err := os.ReadFile(out)
	require.NoError(t, err, "validator wrote no log; console:\n%s", console)
	require.NoError(t, json.Unmarshal(raw, &log))
	require.NotEmpty(t, log.Runs, "console:\n%s", console)
	var diags []string
	for _, r := range log.Runs[0].Results {
		// SARIF leaves out a level that is the default, "warning".
		level := cmp.Or(r.Level, "warning")
		if level == "error" || level == "warning" {
			diags = append(diags, fmt.Sprintf("%s %s: %s %v", level, r.RuleID, r.Message.Text, r.Message.Arguments))
		}
	}
	return diags
}

func decodeJUnit(t *testing.T, res checks.Result, opt Options) junitSuites {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, JUnit, res, opt))
	require.True(t, strings.HasPrefix(buf.String(), `<?xml version="1.0" encoding="UTF-8"?>`))
	var got junitSuites
	require.NoError(t, xml.Unmarshal(buf.Bytes(), &got))
	return got
}

func TestJUnitShape(t *testing.T) {
	got := decodeJUnit(t, ciSample(), ciOptions())
	type key struct{ classname, name string }
	seen := map[key]bool{}
	outcome := map[string]string{}
	tests, failures, errs, skipped := 0, 0, 0, 0
	for _, s := range got.Suites {
		assert.Equal(t, len(s.Cases), s.Tests, s.Name)
		tests += s.Tests
		failures += s.Failures
		errs += s.Errors
		skipped += s.Skipped
		for _, c := range s.Cases {
			k := key{c.Classname, c.Name}
			assert.False(t, seen[k], "GitLab keeps only the first of %v", k)
			seen[k] = true
			assert.Equal(t, "services/checkout/obslint.yaml", c.File)
			switch {
			case c.Failure != nil:
				outcome[c.Name] = "failure"
			case c.Error != nil:
				outcome[c.Name] = "error"
			case c.Skipped != nil:
				outcome[c.Name] = "skipped: " + c.Skipped.Message
			default:
				outcome[c.Name] = "pass"
			}
		}
	}
	assert.Equal(t, map[string]string{
		"correlation/no-canary-leak": "failure",
		"logs/json":                  "failure",
		"logs/level":                 "skipped: disabled: legacy logger, see #12",
		"metrics/counter-suffix":     "failure",
		"metrics/help":               "pass",
		"metrics/runtime-defaults":   "pass",
		"traces/propagation":         "skipped: not evaluated: no spans were received (see traces/received)",
		"traces/span-name":           "skipped: not evaluated: no spans were received (see traces/received)",
		"traces/status":              "skipped: not evaluated: applies to the python profile only",
		"traces":                     "error",
		"stale logs/json stdout":     "failure",
	}, outcome)
	assert.Equal(t, []int{11, 4, 1, 4}, []int{got.Tests, got.Failures, got.Errors, got.Skipped})
	assert.Equal(t, []int{tests, failures, errs, skipped}, []int{got.Tests, got.Failures, got.Errors, got.Skipped})
	assert.Equal(t, []string{"checkout/metrics", "checkout/logs", "checkout/traces", "checkout/correlation",
		"checkout/capture", "checkout/baseline"}, suiteNames(got))
}

func suiteNames(s junitSuites) []string {
	var names []string
	for _, suite := range s.Suites {
		names = append(names, suite.Name)
	}
	return names
}

// TestJUnitFailOn: a rule fails its testcase only for findings at or above
// --fail-on, so the test report agrees with obslint's exit code.
func TestJUnitFailOn(t *testing.T) {
	cases := []struct {
		failOn checks.Severity
		want   map[string]bool // rule → failed
	}{
		{checks.Info, map[string]bool{"logs/json": true, "metrics/counter-suffix": true, "metrics/runtime-defaults": true}},
		{checks.Warning, map[string]bool{"logs/json": true, "metrics/counter-suffix": true}},
		{checks.Error, map[string]bool{"logs/json": true}},
	}
	for _, tc := range cases {
		t.Run(tc.failOn.String(), func(t *testing.T) {
			got := decodeJUnit(t, sample(), Options{FailOn: tc.failOn})
			failed := map[string]bool{}
			out := map[string]string{}
			for _, s := range got.Suites {
				for _, c := range s.Cases {
					if c.Failure != nil && c.Name != "correlation/no-canary-leak" {
						failed[c.Name] = true
					}
					if c.SystemOut != nil {
						out[c.Name] = c.SystemOut.Text
					}
				}
			}
			assert.Equal(t, tc.want, failed)
			if tc.failOn == checks.Error {
				assert.Contains(t, out["metrics/counter-suffix"], `below --fail-on error:`)
				assert.Contains(t, out["metrics/counter-suffix"], `http_requests: counter "http_requests" should have "_total" suffix.`)
			}
		})
	}
}

func TestJUnitEscapes(t *testing.T) {
	res := checks.Result{
		Target: checks.Target{Service: "a.b c"},
		Rules:  []checks.RuleResult{{ID: "logs/json", Signal: checks.Logs, Status: checks.StatusFail, Severity: checks.Error, Findings: 1}},
		Findings: []checks.Finding{{Rule: "logs/json", Severity: checks.Error, Subject: `stdout:"1"`,
			Message: "bad <xml> & \x00control\x1b chars ]]>", Evidence: "\x07bell\xff"}},
	}
	got := decodeJUnit(t, res, Options{})
	c := got.Suites[0].Cases[0]
	assert.Equal(t, "obslint.a_b_c.logs", c.Classname)
	require.NotNil(t, c.Failure)
	assert.Contains(t, c.Failure.Message, "bad <xml> & ")
	assert.Contains(t, c.Failure.Body, "]]>")
	assert.Contains(t, c.Failure.Body, "\uFFFDcontrol\uFFFD chars")
	assert.Contains(t, c.Failure.Body, "\uFFFDbell")
}

func TestJUnitEmpty(t *testing.T) {
	got := decodeJUnit(t, checks.Result{}, Options{})
	assert.Equal(t, "obslint", got.Name)
	assert.Zero(t, got.Tests)
}

var commandRE = regexp.MustCompile(`^::(error|warning|notice) file=([^,:]*),line=(\d+),title=([^,:]*)::([^\r\n]*)$`)

func TestGitHubAnnotations(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, GitHub, ciSample(), ciOptions()))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	var levels []string
	for _, l := range lines {
		m := commandRE.FindStringSubmatch(l)
		require.NotNil(t, m, "not a workflow command: %q", l)
		assert.Equal(t, "services/checkout/obslint.yaml", m[2])
		levels = append(levels, m[1])
	}
	assert.Equal(t, []string{"error", "error", "error", "warning", "notice", "notice"}, levels, "most severe first, totals last")
	assert.Contains(t, lines[0], "title=obslint correlation/no-canary-leak::stdout:3: canary secret")
	assert.Contains(t, lines[1], "%0AFix: Log errors through winston")
	assert.Contains(t, lines[3], "line=7,title=obslint metrics/counter-suffix::", "at the rule's override")
	assert.Contains(t, lines[5], "title=obslint summary::2 errors, 1 warning, 1 info; score 61/100")
	assert.NotContains(t, lines[5], "not shown")
}

func TestGitHubAnnotationsCapped(t *testing.T) {
	res := checks.Result{Summary: checks.Summary{Errors: 25, Warnings: 15, Infos: 15}}
	// Infos first: the order must not decide which annotations survive.
	for _, group := range []struct {
		sev checks.Severity
		n   int
	}{{checks.Info, 15}, {checks.Warning, 15}, {checks.Error, 25}} {
		for j := range group.n {
			res.Findings = append(res.Findings, checks.Finding{Rule: "logs/json", Severity: group.sev, Subject: fmt.Sprint(j), Message: "m"})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, GitHub, res, Options{}))
	count := map[string]int{}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	for _, l := range lines {
		level, _, _ := strings.Cut(strings.TrimPrefix(l, "::"), " ")
		count[level]++
	}
	assert.Equal(t, map[string]int{"error": 10, "warning": 10, "notice": 10}, count, "GitHub keeps 10 per level")
	assert.Contains(t, lines[len(lines)-1], "26 of 55 annotations are not shown")
}

func TestGitHubEscaping(t *testing.T) {
	cases := []struct{ in, data, property string }{
		{"plain", "plain", "plain"},
		{"100%", "100%25", "100%25"},
		{"a\nb\r\nc", "a%0Ab%0D%0Ac", "a%0Ab%0D%0Ac"},
		{"k:v,w", "k:v,w", "k%3Av%2Cw"},
		{"::stop-commands::x", "::stop-commands::x", "%3A%3Astop-commands%3A%3Ax"},
		{"%0A", "%250A", "%250A"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.data, escapeData(tc.in), tc.in)
		assert.Equal(t, tc.property, escapeProperty(tc.in), tc.in)
	}
	// A finding cannot inject a workflow command of its own: whatever it
	// holds stays on its annotation's line.
	res := checks.Result{Findings: []checks.Finding{{Rule: "logs/json", Severity: checks.Error, Subject: "a,b:c",
		Message: "x\n::error::injected", Evidence: "y"}}}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, GitHub, res, Options{}))
	assert.Equal(t, 2, strings.Count(buf.String(), "\n"))
	assert.Contains(t, buf.String(), "::a,b:c: x%0A::error::injected.")
}

func TestMarkdownCaps(t *testing.T) {
	res := checks.Result{}
	for i := range 600 {
		id := fmt.Sprintf("logs/rule-%03d", i)
		res.Rules = append(res.Rules, checks.RuleResult{ID: id, Signal: checks.Logs, Status: checks.StatusFail, Severity: checks.Error, Findings: 1})
		res.Findings = append(res.Findings, checks.Finding{Rule: id, Severity: checks.Error,
			Subject: strings.Repeat("s|", 400), Message: strings.Repeat("m", 5000)})
	}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, Markdown, res, Options{}))
	out := buf.String()
	assert.Less(t, len(out), 200_000, "far under GitHub's 1 MiB step summary limit")
	assert.Contains(t, out, "… and 550 more failing rules")
	assert.Contains(t, out, "… and 500 more findings")
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| [logs/") {
			assert.Equal(t, 5, strings.Count(line, "|")-strings.Count(line, `\|`), "a | in a subject must not add a column: %s", line)
		}
	}
}

func TestMarkdownNotEvaluatedWarning(t *testing.T) {
	res := checks.Result{Summary: checks.Summary{Passed: 1, NotEvaluated: 5},
		Rules: []checks.RuleResult{{ID: "traces/propagation", Status: checks.StatusNotEvaluated, Reason: "no trace source was attached"}}}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, Markdown, res, Options{}))
	assert.Contains(t, buf.String(), "Most rules were not evaluated")
	assert.Contains(t, buf.String(), "| traces/propagation | no trace source was attached |")
}

func TestNumericVersion(t *testing.T) {
	for in, want := range map[string]string{"v1.2.3": "1.2.3", "1.2": "1.2", "dev": "", "": "", "v": "", "vnext": ""} {
		assert.Equal(t, want, numericVersion(in), in)
	}
}
