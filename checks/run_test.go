package checks

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testRule is a valid rule whose check is given.
func testRule(id string, sev Severity, check func(*Pass)) *Rule {
	return &Rule{ID: id, Severity: sev, Summary: "a test rule", Doc: "Why it matters.", Check: check}
}

// parsedScrape is a scrape that answered and yielded one family.
func parsedScrape(t *testing.T) Scrape {
	t.Helper()
	fams, err := ParseExposition([]byte("up 1\n"), "")
	require.NoError(t, err)
	return Scrape{Status: 200, Families: fams}
}

// ruleResult returns the result of one rule by ID.
func ruleResult(t *testing.T, res Result, id string) RuleResult {
	t.Helper()
	for _, r := range res.Rules {
		if r.ID == id {
			return r
		}
	}
	require.Failf(t, "rule not in result", "%s", id)
	return RuleResult{}
}

func TestRunNeeds(t *testing.T) {
	traced := Probe{Method: "GET", Path: "/", TraceID: "0af7651916cd43dd8448eb211c80319c", ParentSpanID: "b7ad6b7169203331"}
	untraced := Probe{Method: "GET", Path: "/"}
	tests := []struct {
		name   string
		need   Need
		ev     func(t *testing.T) *Evidence
		reason string // "" means the rule runs
	}{
		{"scrape/none", NeedScrape, func(*testing.T) *Evidence { return &Evidence{} }, "no metrics were scraped"},
		{"scrape/captured but empty", NeedScrape, func(*testing.T) *Evidence { return &Evidence{Captured: Captured{Metrics: true}} }, "no metrics were scraped"},
		{"scrape/failed scrape counts", NeedScrape, func(*testing.T) *Evidence {
			return &Evidence{Captured: Captured{Metrics: true}, Scrapes: []Scrape{{Err: "connection refused"}}}
		}, ""},
		{"families/none", NeedFamilies, func(*testing.T) *Evidence { return &Evidence{} }, "no metrics were scraped"},
		{"families/unparsed", NeedFamilies, func(*testing.T) *Evidence {
			return &Evidence{Captured: Captured{Metrics: true}, Scrapes: []Scrape{{Err: "connection refused"}, {Status: 200}}}
		}, "no scrape yielded any metric family (see metrics/endpoint and metrics/parse)"},
		{"families/parsed", NeedFamilies, func(t *testing.T) *Evidence {
			return &Evidence{Captured: Captured{Metrics: true}, Scrapes: []Scrape{parsedScrape(t)}}
		}, ""},
		{"two-scrapes/none", NeedTwoScrapes, func(*testing.T) *Evidence { return &Evidence{} }, "no metrics were scraped"},
		{"two-scrapes/one parsed", NeedTwoScrapes, func(t *testing.T) *Evidence {
			return &Evidence{Captured: Captured{Metrics: true}, Scrapes: []Scrape{parsedScrape(t), {Err: "timeout"}}}
		}, "needs two parsed scrapes (before and after probing); got 1"},
		{"two-scrapes/two parsed", NeedTwoScrapes, func(t *testing.T) *Evidence {
			return &Evidence{Captured: Captured{Metrics: true}, Scrapes: []Scrape{parsedScrape(t), parsedScrape(t)}}
		}, ""},
		{"logs/not captured", NeedLogs, func(*testing.T) *Evidence { return &Evidence{} }, "no log stream was captured"},
		{"logs/captured empty", NeedLogs, func(*testing.T) *Evidence { return &Evidence{Captured: Captured{Logs: true}} }, ""},
		{"traces/not attached", NeedTraces, func(*testing.T) *Evidence { return &Evidence{Spans: []Span{{Name: "x"}}} }, "no trace source was attached"},
		{"traces/attached empty", NeedTraces, func(*testing.T) *Evidence { return &Evidence{Captured: Captured{Traces: true}} }, ""},
		{"spans/not attached", NeedSpans, func(*testing.T) *Evidence { return &Evidence{} }, "no trace source was attached"},
		{"spans/unreadable", NeedSpans, func(*testing.T) *Evidence {
			return &Evidence{Captured: Captured{TraceSource: "Jaeger at 127.0.0.1:16685"}}
		}, "Jaeger at 127.0.0.1:16685 could not be read (see problems)"},
		{"spans/none received", NeedSpans, func(*testing.T) *Evidence { return &Evidence{Captured: Captured{Traces: true}} }, "no spans were received (see traces/received)"},
		{"spans/received", NeedSpans, func(*testing.T) *Evidence {
			return &Evidence{Captured: Captured{Traces: true}, Spans: []Span{{Name: "x"}}}
		}, ""},
		{"probes/offline", NeedProbes, func(*testing.T) *Evidence { return &Evidence{Probes: []Probe{untraced}} }, "no probe requests were sent (offline lint)"},
		{"probes/captured empty", NeedProbes, func(*testing.T) *Evidence { return &Evidence{Captured: Captured{Probes: true}} }, "no probe requests were sent (offline lint)"},
		{"probes/sent", NeedProbes, func(*testing.T) *Evidence {
			return &Evidence{Captured: Captured{Probes: true}, Probes: []Probe{untraced}}
		}, ""},
		{"traced-probes/offline", NeedTracedProbes, func(*testing.T) *Evidence { return &Evidence{} }, "no probe requests were sent (offline lint)"},
		{"traced-probes/untraced", NeedTracedProbes, func(*testing.T) *Evidence {
			return &Evidence{Captured: Captured{Probes: true}, Probes: []Probe{untraced, untraced}}
		}, "no probe carried a traceparent"},
		{"traced-probes/one traced", NeedTracedProbes, func(*testing.T) *Evidence {
			return &Evidence{Captured: Captured{Probes: true}, Probes: []Probe{untraced, traced}}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			r := testRule("metrics/needy", Error, func(*Pass) { ran = true })
			r.Needs = []Need{tt.need}
			rr := Run(tt.ev(t), []*Rule{r}, Options{}).Rules[0]
			if tt.reason == "" {
				assert.True(t, ran, "the check must run when its need is met")
				assert.Equal(t, StatusPass, rr.Status)
				assert.Empty(t, rr.Reason)
				return
			}
			assert.False(t, ran, "the check must not run when a need is missing")
			assert.Equal(t, StatusNotEvaluated, rr.Status)
			assert.Equal(t, tt.reason, rr.Reason)
		})
	}
}

func TestRunFirstMissingNeedWins(t *testing.T) {
	r := testRule("traces/needy", Error, func(*Pass) {})
	r.Needs = []Need{NeedLogs, NeedSpans}
	rr := Run(&Evidence{Captured: Captured{Logs: true}}, []*Rule{r}, Options{}).Rules[0]
	assert.Equal(t, "no trace source was attached", rr.Reason)
}

func TestRunSkip(t *testing.T) {
	r := testRule("logs/skippy", Error, func(p *Pass) {
		p.Reportf("stdout:1", "reported before the skip")
		p.Notef("stdout:2", "a note before the skip")
		p.Skip("no probe declared %s", "a route template")
	})
	res := Run(&Evidence{}, []*Rule{r}, Options{})
	rr := res.Rules[0]
	assert.Equal(t, StatusNotEvaluated, rr.Status)
	assert.Equal(t, "no probe declared a route template", rr.Reason)
	assert.Zero(t, rr.Findings)
	assert.Empty(t, res.Findings, "findings reported before Skip are dropped")
	assert.Equal(t, 1, res.Summary.NotEvaluated)
}

func TestRunDisabled(t *testing.T) {
	tests := []struct {
		name     string
		disabled map[string]string
		id       string
		reason   string // "" means the rule runs
	}{
		{"by id", map[string]string{"logs/json": "we log text on purpose"}, "logs/json", "we log text on purpose"},
		{"by signal pattern", map[string]string{"logs/*": "no logs in this service"}, "logs/json", "no logs in this service"},
		{"other id", map[string]string{"logs/json": "x"}, "logs/level", ""},
		{"other signal pattern", map[string]string{"metrics/*": "x"}, "logs/json", ""},
		{"pattern is not a prefix match", map[string]string{"log/*": "x"}, "logs/json", ""},
		{"bare star is not a pattern", map[string]string{"*": "x"}, "logs/json", ""},
		{"id wins over pattern", map[string]string{"logs/*": "pattern", "logs/json": "exact"}, "logs/json", "exact"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			r := testRule(tt.id, Error, func(p *Pass) { ran = true; p.Reportf("x", "bad") })
			res := Run(&Evidence{}, []*Rule{r}, Options{Disabled: tt.disabled})
			rr := res.Rules[0]
			if tt.reason == "" {
				assert.True(t, ran)
				assert.Equal(t, StatusFail, rr.Status)
				return
			}
			assert.False(t, ran, "a disabled rule's check must not run")
			assert.Equal(t, StatusDisabled, rr.Status)
			assert.Equal(t, tt.reason, rr.Reason)
			assert.Empty(t, res.Findings)
			assert.Equal(t, 1, res.Summary.Disabled)
		})
	}
}

func TestRunSeverityOverride(t *testing.T) {
	r := testRule("metrics/loud", Warning, func(p *Pass) {
		p.Reportf("a", "finding")
		p.Notef("b", "note")
	})
	res := Run(&Evidence{}, []*Rule{r}, Options{Severity: map[string]Severity{"metrics/loud": Error, "metrics/other": Info}})
	assert.Equal(t, Error, res.Rules[0].Severity)
	require.Len(t, res.Findings, 2)
	assert.Equal(t, Error, res.Findings[0].Severity, "the override applies to findings")
	assert.Equal(t, Info, res.Findings[1].Severity, "notes stay info")
	assert.Equal(t, Summary{Errors: 1, Infos: 1, Failed: 1}, res.Summary)
}

func TestRunProfiles(t *testing.T) {
	tests := []struct {
		profile string
		status  Status
		reason  string
	}{
		{ProfilePython, StatusPass, ""},
		{ProfileNode, StatusNotEvaluated, "applies to the python profile only"},
		{"", StatusPass, ""}, // unknown stack: every rule runs
	}
	for _, tt := range tests {
		t.Run("profile="+tt.profile, func(t *testing.T) {
			r := testRule("logs/structlog", Error, func(*Pass) {})
			r.Profiles = []string{ProfilePython}
			rr := Run(&Evidence{Target: Target{Profile: tt.profile}}, []*Rule{r}, Options{}).Rules[0]
			assert.Equal(t, tt.status, rr.Status)
			assert.Equal(t, tt.reason, rr.Reason)
		})
	}
	r := testRule("logs/both", Error, func(*Pass) {})
	r.Profiles = []string{ProfileNode, ProfilePython}
	rr := Run(&Evidence{Target: Target{Profile: "go"}}, []*Rule{r}, Options{}).Rules[0]
	assert.Equal(t, "applies to the node, python profile only", rr.Reason)
}

func TestRunNotes(t *testing.T) {
	r := testRule("metrics/library", Error, func(p *Pass) {
		p.Notef("nodejs_gc_duration_seconds", "owned by %s", "prom-client")
	})
	res := Run(&Evidence{}, []*Rule{r}, Options{})
	rr := res.Rules[0]
	assert.Equal(t, StatusPass, rr.Status, "notes do not fail the rule")
	assert.Zero(t, rr.Findings)
	require.Len(t, res.Findings, 1)
	f := res.Findings[0]
	assert.Equal(t, Info, f.Severity)
	assert.Equal(t, "metrics/library", f.Rule)
	assert.Equal(t, "owned by prom-client", f.Message)
	assert.Equal(t, 100, res.Summary.Score)
	assert.False(t, res.Failed(Warning))
	assert.True(t, res.Failed(Info))
}

func TestFixFor(t *testing.T) {
	all := Fix{Node: "node fix", Python: "python fix", Generic: "generic fix"}
	stacks := Fix{Node: "node fix", Python: "python fix"}
	tests := []struct {
		name    string
		fix     Fix
		profile string
		want    string
	}{
		{"node", all, ProfileNode, "node fix"},
		{"python", all, ProfilePython, "python fix"},
		{"unknown profile takes generic", all, "", "generic fix"},
		{"node without node hint takes generic", Fix{Python: "python fix", Generic: "generic fix"}, ProfileNode, "generic fix"},
		{"only node", Fix{Node: "node fix"}, "", "node fix"},
		{"only python", Fix{Python: "python fix"}, "", "python fix"},
		{"both without generic", stacks, "", "Node: node fix; Python: python fix"},
		{"empty", Fix{}, ProfileNode, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.fix.For(tt.profile))
		})
	}
}

func TestRunFillsFixAndDocs(t *testing.T) {
	r := testRule("logs/no-secrets", Error, func(p *Pass) {
		p.Reportf("a", "default fix and docs")
		p.Report(Finding{Subject: "b", Message: "own fix and docs", Fix: "rotate the key", Docs: "https://example.com/x"})
	})
	r.Fix = Fix{Node: "use a winston redact format", Python: "add a structlog processor"}
	for _, tt := range []struct{ profile, fix string }{
		{ProfileNode, "use a winston redact format"},
		{ProfilePython, "add a structlog processor"},
	} {
		res := Run(&Evidence{Target: Target{Profile: tt.profile}}, []*Rule{r}, Options{})
		require.Len(t, res.Findings, 2)
		assert.Equal(t, tt.fix, res.Findings[0].Fix, tt.profile)
		assert.Equal(t, "docs/rules.md#logsno-secrets", res.Findings[0].Docs)
		assert.Equal(t, "rotate the key", res.Findings[1].Fix, "a finding's own fix is kept")
		assert.Equal(t, "https://example.com/x", res.Findings[1].Docs)
	}
}

func TestRuleSignalAndAnchor(t *testing.T) {
	r := Rule{ID: "traces/http.route-set"}
	assert.Equal(t, Traces, r.Signal())
	assert.Equal(t, "docs/rules.md#traceshttproute-set", r.Anchor())
}

func TestRunPanicInCheck(t *testing.T) {
	ranAfter := false
	rules := []*Rule{
		testRule("metrics/a-crash", Error, func(p *Pass) {
			p.Reportf("x", "reported before the panic")
			var m map[string]int
			m["boom"]++ //lint:ignore SA5000 the nil map write is the point: a real runtime panic
		}),
		testRule("metrics/b-after", Warning, func(p *Pass) { ranAfter = true; p.Reportf("y", "still judged") }),
	}
	var res Result
	require.NotPanics(t, func() { res = Run(&Evidence{}, rules, Options{}) })
	crash := ruleResult(t, res, "metrics/a-crash")
	assert.Equal(t, StatusNotEvaluated, crash.Status)
	assert.True(t, strings.HasPrefix(crash.Reason, "internal error in rule metrics/a-crash: assignment to entry in nil map"), crash.Reason)
	assert.True(t, strings.HasSuffix(crash.Reason, "(please report it)"), crash.Reason)
	assert.True(t, ranAfter, "the rules after a panic still run")
	assert.Equal(t, StatusFail, ruleResult(t, res, "metrics/b-after").Status)
	require.Len(t, res.Findings, 1, "the panicking rule's findings are dropped")
	assert.Equal(t, "metrics/b-after", res.Findings[0].Rule)
}

func TestRunSortsAndDeduplicates(t *testing.T) {
	rules := []*Rule{
		testRule("metrics/zeta", Error, func(p *Pass) {
			p.Reportf("b", "second")
			p.Reportf("a", "first")
			p.Reportf("b", "second") // the same finding twice
			p.Reportf("a", "another message")
		}),
		testRule("logs/alpha", Warning, func(p *Pass) { p.Reportf("stdout:1", "x") }),
	}
	res := Run(&Evidence{}, rules, Options{})
	var ids []string
	for _, r := range res.Rules {
		ids = append(ids, r.ID)
	}
	assert.Equal(t, []string{"logs/alpha", "metrics/zeta"}, ids)
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Rule+" "+f.Subject+" "+f.Message)
	}
	assert.Equal(t, []string{
		"logs/alpha stdout:1 x",
		"metrics/zeta a another message",
		"metrics/zeta a first",
		"metrics/zeta b second",
	}, got)
	assert.Equal(t, 3, ruleResult(t, res, "metrics/zeta").Findings, "the count matches the findings listed")
	assert.Equal(t, 3, res.Summary.Errors)
}

// TestRunDeterministic reports findings in map order, which changes from run
// to run; the JSON of the result must not.
func TestRunDeterministic(t *testing.T) {
	check := func(p *Pass) {
		for k, v := range map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6"} {
			p.Report(Finding{Subject: "same", Message: "same", Evidence: k + "=" + v})
			p.Reportf("subject-"+k, "message %s", v)
			p.Notef("same", "same")
		}
	}
	rules := []*Rule{testRule("logs/maps", Warning, check), testRule("metrics/maps", Error, check)}
	ev := &Evidence{Target: Target{Profile: ProfileNode}, Captured: Captured{Logs: true}}
	first, err := json.Marshal(Run(ev, rules, Options{Disabled: map[string]string{"traces/*": "x"}}))
	require.NoError(t, err)
	for range 20 {
		again, err := json.Marshal(Run(ev, rules, Options{Disabled: map[string]string{"traces/*": "x"}}))
		require.NoError(t, err)
		require.Equal(t, string(first), string(again))
	}
}

func TestRunMasksCanaries(t *testing.T) {
	const canary = "ocnry_4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
	const pat = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	r := testRule("logs/no-secrets", Error, func(p *Pass) {
		p.Report(Finding{
			Subject:  "GET /users?access_token=" + canary,
			Message:  "the canary " + canary + " was logged",
			Evidence: `{"authorization":"Bearer ` + canary + `","token":"` + pat + `"}`,
		})
		p.Notef("note "+canary, "note %s", canary)
	})
	ev := &Evidence{Canaries: []Canary{{Where: "Authorization header", Value: canary}, {Where: "unused", Value: ""}}}
	res := Run(ev, []*Rule{r}, Options{})
	require.Len(t, res.Findings, 2)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(b), canary)
	assert.NotContains(t, string(b), pat, "well-known secrets are masked too")
	f := res.Findings[0]
	assert.Equal(t, "GET /users?access_token=ocnr****(masked)", f.Subject)
	assert.Equal(t, "the canary ocnr****(masked) was logged", f.Message)
	assert.Equal(t, `{"authorization":"Bearer ocnr****(masked)","token":"ghp_****(masked)"}`, f.Evidence)
	assert.Equal(t, "note ocnr****(masked)", res.Findings[1].Subject)
}

func TestRunCutsLongEvidence(t *testing.T) {
	r := testRule("logs/long", Error, func(p *Pass) {
		p.Report(Finding{Subject: "s", Message: "m", Evidence: strings.Repeat("é", 400)})
	})
	ev := Run(&Evidence{}, []*Rule{r}, Options{}).Findings[0].Evidence
	assert.Equal(t, strings.Repeat("é", 150)+"…", ev)
}

func TestRunScore(t *testing.T) {
	pass := func(*Pass) {}
	fail := func(p *Pass) { p.Reportf("x", "bad") }
	skip := func(p *Pass) { p.Skip("cannot tell") }
	tests := []struct {
		name  string
		rules []*Rule
		opt   Options
		want  Summary
	}{
		{"nothing evaluated", []*Rule{testRule("logs/a", Error, skip)}, Options{}, Summary{NotEvaluated: 1}},
		{"no rules", nil, Options{}, Summary{}},
		{"all pass", []*Rule{testRule("logs/a", Error, pass), testRule("logs/b", Info, pass)}, Options{}, Summary{Score: 100, Passed: 2}},
		{
			"error passes, warning fails: 5 of 7",
			[]*Rule{testRule("logs/a", Error, pass), testRule("logs/b", Warning, fail)},
			Options{}, Summary{Warnings: 1, Score: 71, Passed: 1, Failed: 1},
		},
		{
			"warning passes, error fails: 2 of 7",
			[]*Rule{testRule("logs/a", Error, fail), testRule("logs/b", Warning, pass)},
			Options{}, Summary{Errors: 1, Score: 28, Passed: 1, Failed: 1},
		},
		{
			"info passes, warning fails: 1 of 3",
			[]*Rule{testRule("logs/a", Info, pass), testRule("logs/b", Warning, fail)},
			Options{}, Summary{Warnings: 1, Score: 33, Passed: 1, Failed: 1},
		},
		{
			"not evaluated and disabled do not count",
			[]*Rule{testRule("logs/a", Error, skip), testRule("metrics/b", Error, fail), testRule("traces/c", Warning, pass)},
			Options{Disabled: map[string]string{"metrics/*": "not ours"}},
			Summary{Score: 100, Passed: 1, NotEvaluated: 1, Disabled: 1},
		},
		{
			"the overridden severity weighs",
			[]*Rule{testRule("logs/a", Error, fail), testRule("logs/b", Warning, pass)},
			Options{Severity: map[string]Severity{"logs/a": Info}},
			Summary{Infos: 1, Score: 66, Passed: 1, Failed: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Run(&Evidence{}, tt.rules, tt.opt).Summary)
		})
	}
}

func TestResultFailed(t *testing.T) {
	withFindings := func(sevs ...Severity) Result {
		var r Result
		for _, s := range sevs {
			r.Findings = append(r.Findings, Finding{Severity: s})
		}
		return r
	}
	tests := []struct {
		name      string
		res       Result
		threshold Severity
		want      bool
	}{
		{"no findings", withFindings(), Info, false},
		{"info at info", withFindings(Info), Info, true},
		{"info below warning", withFindings(Info), Warning, false},
		{"warning at warning", withFindings(Info, Warning), Warning, true},
		{"warning below error", withFindings(Info, Warning), Error, false},
		{"error at error", withFindings(Error), Error, true},
		{"error above info", withFindings(Error), Info, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.res.Failed(tt.threshold))
		})
	}
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]Severity{"error": Error, " Warning ": Warning, "warn": Warning, "INFO": Info} {
		got, err := ParseSeverity(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := ParseSeverity("fatal")
	assert.EqualError(t, err, `unknown severity "fatal" (want error, warning or info)`)

	var s Severity
	require.NoError(t, json.Unmarshal([]byte(`"warning"`), &s))
	assert.Equal(t, Warning, s)
	b, err := json.Marshal(Error)
	require.NoError(t, err)
	assert.Equal(t, `"error"`, string(b))
	assert.Error(t, json.Unmarshal([]byte(`"loud"`), &s))
}

func TestValidate(t *testing.T) {
	valid := func(id string) *Rule { return testRule(id, Error, func(*Pass) {}) }
	with := func(r *Rule, change func(*Rule)) *Rule { change(r); return r }
	tests := []struct {
		name  string
		rules []*Rule
		want  []string // substrings of the error; none means valid
	}{
		{"valid", []*Rule{valid("metrics/a"), valid("logs/b-c-1"), valid("correlation/x")}, nil},
		{"nil rule", []*Rule{valid("metrics/a"), nil}, []string{"rule 1 is nil"}},
		{"unknown signal", []*Rule{valid("profiles/a")}, []string{`rule "profiles/a": ID must be signal/kebab-name`}},
		{"capital in id", []*Rule{valid("metrics/Bad")}, []string{`rule "metrics/Bad": ID must be signal/kebab-name`}},
		{"underscore in id", []*Rule{valid("metrics/a_b")}, []string{"ID must be signal/kebab-name"}},
		{"double dash", []*Rule{valid("metrics/a--b")}, []string{"ID must be signal/kebab-name"}},
		{"no name", []*Rule{valid("metrics/")}, []string{"ID must be signal/kebab-name"}},
		{"duplicate", []*Rule{valid("logs/json"), valid("logs/json")}, []string{`rule "logs/json": duplicate ID`}},
		{"summary with period", []*Rule{with(valid("logs/a"), func(r *Rule) { r.Summary = "log lines are json." })},
			[]string{`rule "logs/a": summary must be one short line without a final period`}},
		{"empty summary", []*Rule{with(valid("logs/a"), func(r *Rule) { r.Summary = "" })}, []string{"summary must be one short line"}},
		{"long summary", []*Rule{with(valid("logs/a"), func(r *Rule) { r.Summary = strings.Repeat("x", 81) })}, []string{"summary must be one short line"}},
		{"empty doc", []*Rule{with(valid("logs/a"), func(r *Rule) { r.Doc = " \n\t" })}, []string{`rule "logs/a": empty doc`}},
		{"nil check", []*Rule{with(valid("logs/a"), func(r *Rule) { r.Check = nil })}, []string{`rule "logs/a": needs exactly one of Check, Logs, Scrapes and Spans`}},
		{"unknown profile", []*Rule{with(valid("logs/a"), func(r *Rule) { r.Profiles = []string{ProfileNode, "ruby"} })},
			[]string{`rule "logs/a": unknown profile "ruby"`}},
		{"every problem at once", []*Rule{
			with(valid("logs/A"), func(r *Rule) { r.Doc = ""; r.Check = nil }),
			valid("logs/b"), valid("logs/b"),
		}, []string{"ID must be signal/kebab-name", "empty doc", "needs exactly one of Check, Logs, Scrapes and Spans", "duplicate ID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.rules)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "invalid rule catalogue:\n  "), err.Error())
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Equal(t, len(tt.want), strings.Count(err.Error(), "\n  "), "one line per problem:\n%s", err)
		})
	}
}

func ExampleFix_For() {
	fix := Fix{Node: "add winston.format.json()", Python: "end the chain with JSONRenderer()"}
	fmt.Println(fix.For(ProfilePython))
	fmt.Println(fix.For(""))
	// Output:
	// end the chain with JSONRenderer()
	// Node: add winston.format.json(); Python: end the chain with JSONRenderer()
}

// countJudge counts the lines it is fed, and panics on the line whose raw
// text is panicOn.
type countJudge struct {
	n       int
	panicOn string
}

func (c *countJudge) Line(l *LogLine) {
	if l.Raw == c.panicOn {
		panic("boom")
	}
	c.n++
}

func (c *countJudge) Merge(later LogJudge) { c.n += later.(*countJudge).n }

func (c *countJudge) Finish(p *Pass) { p.Reportf("lines", "%d lines", c.n) }

func TestLogJudgePanicStopsOnlyItsRule(t *testing.T) {
	rule := func(id, panicOn string) *Rule {
		return &Rule{ID: id, Summary: "s", Doc: "d", Needs: []Need{NeedLogs},
			Logs: func(*Evidence) LogJudge { return &countJudge{panicOn: panicOn} }}
	}
	ev := &Evidence{Captured: Captured{Logs: true}}
	for _, raw := range []string{"a", "b", "c"} {
		ev.Logs = append(ev.Logs, ParseLogLine("stdout", len(ev.Logs)+1, raw))
	}
	res := Run(ev, []*Rule{rule("logs/panics", "b"), rule("logs/counts", "")}, Options{})
	require.Len(t, res.Rules, 2)
	assert.Equal(t, StatusNotEvaluated, res.Rules[1].Status)
	assert.Contains(t, res.Rules[1].Reason, "internal error in rule logs/panics: boom")
	assert.Equal(t, StatusFail, res.Rules[0].Status)
	require.Len(t, res.Findings, 1)
	assert.Equal(t, "3 lines", res.Findings[0].Message, "the rule after the panicking one saw every line")
	assert.Equal(t, 3, res.Judged.LogLines)
}

// The judge parses each scrape once, from Body or Load, feeds its rules,
// and lets the families go: the evidence keeps how it parsed, not the parse.
func TestJudgeFeedsScrapesOnceAndLetsThemGo(t *testing.T) {
	loads := 0
	ev := &Evidence{Captured: Captured{Metrics: true}, Scrapes: []Scrape{
		NewScrape("u", "before", 200, "text/plain", []byte("# TYPE a counter\na_total 1\n"), false),
		{URL: "u", Phase: "after", Status: 200, ContentType: "text/plain", Load: func() ([]byte, error) {
			loads++
			return []byte("a_total 2\nb{ 3\n"), nil
		}},
		{URL: "u", Phase: "error page", Status: 503, NotParsed: true, Body: []byte("<html>")},
	}}
	var seen []string
	r := &Rule{ID: "metrics/x", Severity: Error, Summary: "s", Needs: []Need{NeedTwoScrapes}, Scrapes: func(*Evidence) ScrapeJudge {
		return scrapeFunc(func(s *Scrape) {
			seen = append(seen, fmt.Sprintf("%s:%d:%v", s.Phase, len(s.Families), s.ParseErr != ""))
		})
	}}
	res := Run(ev, []*Rule{r}, Options{})
	if want := []string{"before:1:false", "after:1:true", "error page:0:false"}; !slices.Equal(seen, want) {
		t.Fatalf("fed %v, want %v", seen, want)
	}
	if loads != 1 {
		t.Fatalf("the spooled body was read %d times", loads)
	}
	for i, s := range ev.Scrapes {
		if s.Families != nil {
			t.Fatalf("scrape %d still holds its families", i)
		}
	}
	if !ev.Scrapes[0].Parsed() || !ev.Scrapes[1].Parsed() || ev.Scrapes[2].Parsed() || ev.Scrapes[1].ParseErr == "" {
		t.Fatalf("parse outcome not kept: %+v", ev.Scrapes)
	}
	if res.Rules[0].Status != StatusPass {
		t.Fatalf("two parsed scrapes meet NeedTwoScrapes: %+v", res.Rules[0])
	}
}

// scrapeFunc is a ScrapeJudge that only watches.
type scrapeFunc func(*Scrape)

func (f scrapeFunc) Scrape(s *Scrape)  { f(s) }
func (f scrapeFunc) Merge(ScrapeJudge) {}
func (f scrapeFunc) Finish(*Pass)      {}
