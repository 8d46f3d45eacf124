package logs_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/checktest"
	"github.com/obslint/obslint/checks/logs"
)

func TestFixtures(t *testing.T) {
	checktest.Run(t, "../../fixtures/cases", logs.Rules)
}

func TestRulesValid(t *testing.T) {
	require.NoError(t, checks.Validate(logs.Rules))
	for _, r := range logs.Rules {
		assert.Contains(t, r.Doc, "**Node (winston)**", r.ID)
		assert.Contains(t, r.Doc, "**Python (structlog)**", r.ID)
		assert.NotEmpty(t, r.Fix.Node, r.ID)
		assert.NotEmpty(t, r.Fix.Python, r.ID)
	}
}

// evidence builds captured evidence from raw lines on stdout.
func evidence(profile string, raw ...string) *checks.Evidence {
	ev := &checks.Evidence{Target: checks.Target{Profile: profile}, Captured: checks.Captured{Logs: true}}
	for i, r := range raw {
		ev.Logs = append(ev.Logs, checks.ParseLogLine("stdout", i+1, r))
	}
	return ev
}

func run(ev *checks.Evidence, id string) (checks.RuleResult, []checks.Finding) {
	var rule *checks.Rule
	for _, r := range logs.Rules {
		if r.ID == id {
			rule = r
		}
	}
	res := checks.Run(ev, []*checks.Rule{rule}, checks.Options{})
	return res.Rules[0], res.Findings
}

func TestJSONReportsTruncatedLines(t *testing.T) {
	ev := evidence("", `{"level":"info","message":"ok"}`)
	long := checks.ParseLogLine("stdout", 2, `{"level":"info","message":"`+strings.Repeat("x", 1<<20-27))
	long.Truncated = true
	ev.Logs = append(ev.Logs, long)
	rr, fs := run(ev, "logs/json")
	assert.Equal(t, checks.StatusFail, rr.Status)
	require.Len(t, fs, 1, "a truncated line is reported once, as truncated, not also as invalid JSON")
	assert.Equal(t, "stdout", fs[0].Subject)
	assert.Contains(t, fs[0].Message, "1 MiB line limit")
	assert.Contains(t, fs[0].Message, "line 2")
}

func TestJSONReportsInvalidUTF8(t *testing.T) {
	ev := evidence("", `{"level":"info","message":"ok"}`, "{\"level\":\"info\",\"message\":\"caf\uFFFD\"}", "caf\uFFFD")
	ev.Logs[1].InvalidUTF8 = true
	ev.Logs[2].InvalidUTF8 = true
	rr, fs := run(ev, "logs/json")
	assert.Equal(t, checks.StatusFail, rr.Status)
	var msgs []string
	for _, f := range fs {
		assert.Equal(t, "stdout", f.Subject)
		msgs = append(msgs, f.Message)
	}
	require.Len(t, msgs, 2, "invalid UTF-8 and not-JSON are separate problems: %q", msgs)
	assert.Contains(t, msgs, "2 of 3 lines on stdout (66.7%) are not valid UTF-8 (JSON must be UTF-8); e.g. lines 2, 3")
	assert.Contains(t, msgs[0]+msgs[1], "1 of 3 lines on stdout (33.3%) are not one JSON object")
}

func TestJSONSkipsBlankLinesAndNeedsCapture(t *testing.T) {
	rr, _ := run(evidence("", `{"level":"info","message":"ok"}`, "", "   "), "logs/json")
	assert.Equal(t, checks.StatusPass, rr.Status)

	ev := evidence("")
	ev.Captured.Logs = false
	rr, _ = run(ev, "logs/json")
	assert.Equal(t, checks.StatusNotEvaluated, rr.Status)
}

// One finding per stream and problem, however many lines are bad.
func TestFindingsAreAggregated(t *testing.T) {
	var raw []string
	for i := range 500 {
		raw = append(raw, fmt.Sprintf(`INFO:     127.0.0.1:%d - "GET / HTTP/1.1" 200 OK`, 5000+i))
	}
	_, fs := run(evidence("python", raw...), "logs/json")
	require.Len(t, fs, 1)
	assert.Contains(t, fs[0].Message, "500 of 500 lines on stdout (100%)")
	assert.Contains(t, fs[0].Message, "uvicorn")
	assert.Equal(t, 3, strings.Count(fs[0].Evidence, "\n")+1, "three examples")
}

func TestNoSecretsNeverPrintsTheSecret(t *testing.T) {
	const (
		canary   = "obslint-canary-7f3a9c2e41b8d605"
		password = "hunter2hunter2"
		jwt      = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
		ghp      = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
	)
	ev := evidence("node",
		`{"headers":{"authorization":"Bearer `+canary+`"},"level":"info","message":"req","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`,
		`{"level":"warn","message":"login failed","password":"`+password+`"}`,
		`{"level":"info","message":"session `+jwt+`"}`,
		`cloning with `+ghp,
		`{"level":"info","message":"ok","password":"[REDACTED]","token":"***"}`,
	)
	ev.Canaries = []checks.Canary{{Where: "Authorization header", Value: canary}}
	rr, fs := run(ev, "logs/no-secrets")
	assert.Equal(t, checks.StatusFail, rr.Status)
	var subjects []string
	for _, f := range fs {
		subjects = append(subjects, f.Subject)
		for _, secret := range []string{canary, password, jwt, ghp} {
			assert.NotContains(t, f.Message, secret)
			assert.NotContains(t, f.Evidence, secret)
			assert.NotContains(t, f.Subject, secret)
		}
	}
	assert.ElementsMatch(t, []string{"stdout field headers.authorization", "stdout field password", "stdout field message", "stdout text"}, subjects)
}

func TestOtherRulesMaskSecretsInExamples(t *testing.T) {
	// logs/timestamp quotes the whole line as its example: the password
	// must not ride along.
	_, fs := run(evidence("node", `{"level":"info","message":"login","password":"hunter2hunter2"}`), "logs/timestamp")
	require.Len(t, fs, 1)
	assert.NotContains(t, fs[0].Evidence, "hunter2hunter2")
}

func TestTraceContextSkipsWithoutTracedProbes(t *testing.T) {
	ev := evidence("node", `{"level":"info","message":"x"}`)
	ev.Captured.Probes = true
	ev.Probes = []checks.Probe{{Method: "GET", Path: "/", Start: time.Now()}}
	rr, _ := run(ev, "logs/trace-context")
	assert.Equal(t, checks.StatusNotEvaluated, rr.Status)
	assert.Equal(t, "no probe carried a traceparent", rr.Reason)
}

// A probe during which the service logged nothing is not a finding, but any
// trace id that is present must be well-formed.
func TestTraceContextQuietProbe(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 19, 10, 0, 0, time.UTC)
	ev := evidence("node", `{"level":"info","message":"listening"}`)
	ev.Logs[0].Time = t0
	ev.Captured.Probes = true
	ev.Probes = []checks.Probe{{Method: "GET", Path: "/health", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", ParentSpanID: "00f067aa0ba902b7", Start: t0.Add(time.Second), End: t0.Add(time.Second + time.Millisecond)}}
	rr, _ := run(ev, "logs/trace-context")
	assert.Equal(t, checks.StatusPass, rr.Status)
}

func TestRulesDoNotPanicOnOddValues(t *testing.T) {
	ev := evidence("",
		`{}`,
		`{"level":null,"message":null,"timestamp":null,"trace_id":null,"span":{"trace_id":{"x":1}}}`,
		`{"level":["info"],"message":{"a":1},"timestamp":{},"err":"x","error":[],"exception":{}}`,
		`{"a":`+strings.Repeat(`{"a":`, 200)+`1`+strings.Repeat(`}`, 201),
		`{`, `}`, `"`, `[`, "\x1b[31m",
	)
	ev.Captured.Probes = true
	ev.Probes = []checks.Probe{{Method: "GET", Path: "/", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}}
	res := checks.Run(ev, logs.Rules, checks.Options{})
	for _, r := range res.Rules {
		assert.NotContains(t, r.Reason, "internal error", r.ID)
	}
}

// BenchmarkLogsRules judges 100k parsed winston lines captured during one
// probe: every rule together, then each rule alone, so that a slow rule
// shows; BenchmarkParseLogLine is the parsing the front door does first.
func BenchmarkLogsRules(b *testing.B) {
	const n = 100_000
	raw := benchLines(n)
	t0 := time.Date(2026, 11, 25, 19, 10, 19, 0, time.UTC)
	probes := []checks.Probe{{Method: "GET", Path: "/users/42", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", ParentSpanID: "00f067aa0ba902b7", Start: t0, End: t0.Add(n * time.Millisecond)}}
	lines := make([]checks.LogLine, n)
	for i, r := range raw {
		lines[i] = checks.ParseLogLine("stdout", i+1, r)
		lines[i].Time = t0.Add(time.Duration(i) * time.Millisecond)
	}
	ev := &checks.Evidence{
		Target:   checks.Target{Profile: checks.ProfileNode},
		Captured: checks.Captured{Logs: true, Probes: true},
		Probes:   probes,
		Canaries: []checks.Canary{{Where: "Authorization header", Value: "obslint-canary-7f3a9c2e41b8d605"}},
		Stopped:  t0.Add(2 * n * time.Millisecond),
	}
	judge := func(b *testing.B, rules []*checks.Rule) {
		b.ReportAllocs()
		b.ReportMetric(n, "lines/op")
		for b.Loop() {
			j := checks.NewJudge(ev, rules, checks.Options{})
			for i := range lines {
				j.Line(&lines[i])
			}
			j.Result()
		}
	}
	b.Run("all", func(b *testing.B) { judge(b, logs.Rules) })
	for _, r := range logs.Rules {
		b.Run(strings.TrimPrefix(r.ID, "logs/"), func(b *testing.B) { judge(b, []*checks.Rule{r}) })
	}
}

func BenchmarkParseLogLine(b *testing.B) {
	raw := benchLines(10_000)
	b.ReportAllocs()
	for b.Loop() {
		for i, r := range raw {
			checks.ParseLogLine("stdout", i+1, r)
		}
	}
}

func benchLines(n int) []string {
	raw := make([]string, n)
	t0 := time.Date(2026, 11, 25, 19, 10, 19, 0, time.UTC)
	for i := range raw {
		ts := t0.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		raw[i] = fmt.Sprintf(`{"level":"info","message":"get user","service":"users-api","span_id":"5598b5431561f1ab","timestamp":%q,"trace_flags":"01","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","userId":"%d"}`, ts, i)
	}
	return raw
}

// flushedEvidence: three traced probes, stopped at 10 s; lines are
// (source, arrival offset, raw).
func flushedEvidence(stopped time.Duration, lines ...[3]string) *checks.Evidence {
	t0 := time.Date(2026, 11, 25, 19, 10, 0, 0, time.UTC)
	ev := &checks.Evidence{Captured: checks.Captured{Logs: true, Probes: true}}
	if stopped > 0 {
		ev.Stopped = t0.Add(stopped)
	}
	for i, id := range []string{"4bf92f3577b34da6a3ce929d0e0e4736", "0af7651916cd43dd8448eb211c80319c"} {
		start := t0.Add(time.Duration(i+1) * time.Second)
		ev.Probes = append(ev.Probes, checks.Probe{Method: "GET", Path: fmt.Sprintf("/p%d", i), TraceID: id, Start: start, End: start.Add(10 * time.Millisecond), Status: 200})
	}
	n := map[string]int{}
	for _, l := range lines {
		n[l[0]]++
		line := checks.ParseLogLine(l[0], n[l[0]], l[2])
		if l[1] != "" {
			d, err := time.ParseDuration(l[1])
			if err != nil {
				panic(err)
			}
			line.Time = t0.Add(d)
		}
		ev.Logs = append(ev.Logs, line)
	}
	return ev
}

func TestFlushed(t *testing.T) {
	const (
		traced = `{"event":"get user","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`
		access = `INFO:     127.0.0.1:5000 - "GET /p1 HTTP/1.1" 200 OK`
		done   = `{"level":30,"msg":"request completed","res":{"statusCode":200}}`
		other  = `{"event":"startup"}`
		// A 48-digit hex run that merely contains a probe's trace id.
		longHex = `{"event":"hash 4bf92f3577b34da6a3ce929d0e0e47364bf92f3577b34da6"}`
	)
	tests := []struct {
		name     string
		ev       *checks.Evidence
		status   checks.Status
		subjects []string
	}{
		{"all request lines after the stop", flushedEvidence(10*time.Second,
			[3]string{"stdout", "10.01s", other}, [3]string{"stdout", "10.01s", traced}, [3]string{"stdout", "10.01s", done}),
			checks.StatusFail, []string{"stdout"}},
		{"one request line in time is enough", flushedEvidence(10*time.Second,
			[3]string{"stdout", "1.005s", traced}, [3]string{"stdout", "10.01s", done}),
			checks.StatusPass, nil},
		{"per stream: text access lines on stderr in time, stdout late", flushedEvidence(10*time.Second,
			[3]string{"stderr", "1.01s", access}, [3]string{"stdout", "10.5s", traced}),
			checks.StatusFail, []string{"stdout"}},
		{"only unrelated lines after the stop", flushedEvidence(10*time.Second,
			[3]string{"stdout", "10.01s", other}, [3]string{"stdout", "10.01s", longHex}),
			checks.StatusNotEvaluated, nil},
		{"untimed lines are not judged", flushedEvidence(10*time.Second, [3]string{"stdout", "", traced}),
			checks.StatusNotEvaluated, nil},
		{"not stopped by obslint", flushedEvidence(0, [3]string{"stdout", "10.01s", traced}),
			checks.StatusNotEvaluated, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr, fs := run(tt.ev, "logs/flushed")
			assert.Equal(t, tt.status, rr.Status, rr.Reason)
			var subjects []string
			for _, f := range fs {
				subjects = append(subjects, f.Subject)
			}
			assert.Equal(t, tt.subjects, subjects)
		})
	}
}

func TestFlushedMessage(t *testing.T) {
	ev := flushedEvidence(10*time.Second,
		[3]string{"stdout", "10.25s", `{"event":"a","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`},
		[3]string{"stdout", "10.25s", `{"event":"b","trace_id":"0af7651916cd43dd8448eb211c80319c"}`})
	_, fs := run(ev, "logs/flushed")
	require.Len(t, fs, 1)
	assert.Equal(t, "none of the 2 lines written while serving the probes arrived before obslint asked the service to stop "+
		"(the first came 250ms after): stdout looks block-buffered, so its lines arrive late, in bursts, and are lost on a crash; e.g. line 1", fs[0].Message)
	assert.Equal(t, checks.Warning, fs[0].Severity)
}
