package logs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

func parse(t *testing.T, raw string) map[string]any {
	t.Helper()
	l := checks.ParseLogLine("stdout", 1, raw)
	require.NotNil(t, l.Fields, "fixture line must parse: %s", l.ParseErr)
	return l.Fields
}

func textLines(raw ...string) []checks.LogLine {
	out := make([]checks.LogLine, len(raw))
	for i, r := range raw {
		out[i] = checks.ParseLogLine("stderr", i+1, r)
	}
	return out
}

func TestClassifyNonJSON(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"json is not classified", []string{`{"level":"info","message":"x"}`}, []string{""}},
		{"uvicorn access and default", []string{`INFO:     127.0.0.1:5000 - "GET / HTTP/1.1" 200 OK`, "WARNING:  Invalid HTTP request received."}, []string{kindUvicorn, kindUvicorn}},
		{"basicConfig default and otel format", []string{"INFO:root:started", "2026-11-25 19:10:19,123 WARNING [app] [app.py:3] [trace_id=0 span_id=0 resource.service.name= trace_sampled=False] - slow"}, []string{kindBasicConfig, kindBasicConfig}},
		{"structlog console renderer, coloured", []string{"\x1b[2m2026-11-25 19:10:19\x1b[0m [\x1b[32m\x1b[1minfo     \x1b[0m] \x1b[1mhello\x1b[0m"}, []string{kindConsole}},
		{"python traceback run", []string{"Traceback (most recent call last):", `  File "/app/x.py", line 3, in f`, "    raise ValueError('boom')", "ValueError: boom"}, []string{kindPyTraceback, kindPyTraceback, kindPyTraceback, kindPyTraceback}},
		{"node crash run with blank line", []string{"/app/server.js:12", "    throw err;", "", "Error: boom", "    at f (/app/x.js:1:1)"}, []string{kindNodeStack, kindNodeStack, "", kindNodeStack, kindNodeStack}},
		{"otel diag", []string{"@opentelemetry/api: Registered a global for trace v1.10.0."}, []string{kindOTelDiag}},
		{"pretty JSON with nested object", []string{"{", `  "a": {`, `    "b": 1`, "  }", "}"}, []string{kindPrettyJSON, kindPrettyJSON, kindPrettyJSON, kindPrettyJSON, kindPrettyJSON}},
		{"util.inspect multi-line", []string{"{", "  level: 'info',", "  message: 'x'", "}"}, []string{kindMultiObject, kindMultiObject, kindMultiObject, kindMultiObject}},
		{"console.log one line", []string{"{ level: 'info', message: 'x' }"}, []string{kindConsoleLog}},
		{"broken object", []string{`{"level":"info",`}, []string{kindInvalidJSON}},
		{"JSON array", []string{`[1,2]`}, []string{kindNotObject}},
		{"plain text", []string{"Server listening on 3000"}, []string{kindPlainText}},
		{"unclosed brace does not run away", []string{"{", "plain"}, []string{kindInvalidJSON, kindPlainText}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, classifyNonJSON(textLines(tt.lines...)))
		})
	}
}

// classifyNonJSON names, for each line of one source, why it is not one
// JSON object ("" for JSON and blank lines), through textRuns as lines flow.
func classifyNonJSON(lines []checks.LogLine) []string {
	kinds := make([]string, len(lines))
	r := newTextRuns(func(l *checks.LogLine, kind string) { kinds[l.Seq] = kind })
	for i := range lines {
		l := lines[i]
		l.Seq = i
		r.line(&l)
	}
	r.finish()
	return kinds
}

func TestTimestampProblem(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{"2026-11-25T19:10:19.878Z", ""},
		{"2026-11-25T19:10:42.123456Z", ""},
		{"2026-11-25T19:10:42+00:00", ""},
		{json.Number("1795634642.123456"), ""},
		{json.Number("1795634642123"), ""},
		{"2026-11-25 19:10:19", "no time zone (naive local time)"},
		{"2026-11-25T19:10:42.123456", "no time zone (naive local time)"},
		{"2026-11-25 19:10:19,123", "no time zone (naive local time)"},
		{"2026-11-25 19:10:19Z", "space instead of T between date and time"},
		{"yesterday", "not an RFC 3339 date-time"},
		{json.Number("-1"), "number that is not a positive epoch"},
		{true, "value that is neither a string nor a number"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, timestampProblem(tt.v), "%v", tt.v)
	}
}

func TestLevelProblem(t *testing.T) {
	tests := []struct {
		profile string
		v       any
		want    string
	}{
		{checks.ProfileNode, "http", ""},
		{checks.ProfileNode, "silly", ""},
		{checks.ProfileNode, json.Number("30"), ""},
		{checks.ProfileNode, "warning", "Python-style level name"},
		{checks.ProfileNode, "notice", "level name outside the set"},
		{checks.ProfileNode, "\x1b[32minfo\x1b[39m", "value with ANSI colour escapes (format.colorize())"},
		{checks.ProfilePython, "WARNING", ""},
		{checks.ProfilePython, "critical", ""},
		{checks.ProfilePython, "exception", ""},
		{checks.ProfilePython, "warn", "level name outside the set"},
		{checks.ProfilePython, json.Number("30"), "level name outside the set"},
		{"", "notice", ""},
		{"", "emerg", ""},
		{"", "verbose", ""},
		{"", "loud", "level name outside the set"},
		{"", map[string]any{}, "value that is not a string"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, levelProblem(tt.v, knownLevels(tt.profile), tt.profile), "%s %v", tt.profile, tt.v)
	}
}

func TestMessageProblem(t *testing.T) {
	tests := []struct {
		v    any
		want bool
	}{
		{"user logged in", false},
		{"", true},
		{"   ", true},
		{"[object Object]", true},
		{"got [object Object] back", true},
		{"undefined", true},
		{json.Number("42"), true},
		{map[string]any{"a": 1.0}, true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, messageProblem(tt.v) != "", "%v", tt.v)
	}
}

func TestReadTraceContext(t *testing.T) {
	const trace, span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tests := []struct {
		name         string
		line         string
		trace, span  string
		problemMatch string
	}{
		{"winston flat", `{"trace_id":"` + trace + `","span_id":"` + span + `","trace_flags":"01"}`, trace, span, ""},
		{"structlog nested span", `{"span":{"trace_id":"` + trace + `","span_id":"` + span + `"}}`, trace, span, ""},
		{"structlog unsampled span null", `{"span":null}`, "", "", ""},
		{"ECS", `{"trace.id":"` + trace + `","span.id":"` + span + `"}`, trace, span, ""},
		{"ECS nested", `{"trace":{"id":"` + trace + `"},"span":{"id":"` + span + `"}}`, trace, span, ""},
		{"stdlib sentinel", `{"otelTraceID":"0","otelSpanID":"0","otelTraceSampled":false}`, "", "", ""},
		{"stdlib ids", `{"otelTraceID":"` + trace + `","otelSpanID":"` + span + `"}`, trace, span, ""},
		{"uppercase", `{"trace_id":"` + strings.ToUpper(trace) + `"}`, "", "", "uppercase"},
		{"all zeros", `{"trace_id":"00000000000000000000000000000000"}`, "", "", "all zeros"},
		{"short", `{"trace_id":"4bf92f35"}`, "", "", "not 32 lowercase hex"},
		{"number", `{"trace_id":12}`, "", "", "not a string"},
		{"span without trace", `{"span_id":"` + span + `"}`, "", span, "span_id without trace_id"},
		{"bad flags", `{"trace_id":"` + trace + `","span_id":"` + span + `","trace_flags":"1"}`, trace, span, "trace_flags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := readTraceContext(parse(t, tt.line))
			assert.Equal(t, tt.trace, tc.traceID)
			assert.Equal(t, tt.span, tc.spanID)
			if tt.problemMatch == "" {
				assert.Empty(t, tc.problems)
			} else {
				require.Len(t, tc.problems, 1)
				assert.Contains(t, tc.problems[0], tt.problemMatch)
			}
		})
	}
}

func TestAttribute(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 19, 10, 0, 0, time.UTC)
	probes := []checks.Probe{
		{Method: "GET", Path: "/a", TraceID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Start: t0, End: t0.Add(10 * time.Millisecond)},
		{Method: "GET", Path: "/b", TraceID: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Start: t0.Add(100 * time.Millisecond), End: t0.Add(110 * time.Millisecond)},
	}
	tests := []struct {
		name    string
		at      time.Time
		traceID string
		want    string // probe path, "" for none
	}{
		{"start-up line", t0.Add(-time.Millisecond), "", ""},
		{"at the first probe's start", t0, "", "/a"},
		{"within the grace after the first probe", t0.Add(10*time.Millisecond + lateLogGrace - time.Millisecond), "", "/a"},
		{"after the first probe's grace, before the next", t0.Add(10*time.Millisecond + lateLogGrace), "", ""},
		{"during the last probe", t0.Add(105 * time.Millisecond), "", "/b"},
		{"within the grace after the last", t0.Add(110*time.Millisecond + lateLogGrace - time.Millisecond), "", "/b"},
		{"after the grace", t0.Add(110*time.Millisecond + lateLogGrace), "", ""},
		{"untimed, by trace id", time.Time{}, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "/b"},
		{"untimed, unknown trace id", time.Time{}, "cccccccccccccccccccccccccccccccc", ""},
		{"untimed, no trace id", time.Time{}, "", ""},
		{"late line of an earlier probe, by its trace id", t0.Add(105 * time.Millisecond), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/a"},
		{"during a probe, a trace of other traffic", t0.Add(105 * time.Millisecond), "dddddddddddddddddddddddddddddddd", ""},
		{"a fresh trace that served a probe", t0.Add(105 * time.Millisecond), "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "/b"},
	}
	spans := []checks.Span{
		// obslint's own scrape between the probes: not a probe's request.
		{TraceID: "dddddddddddddddddddddddddddddddd", Kind: checks.KindServer, Start: t0.Add(50 * time.Millisecond)},
		// the second probe served in a fresh trace (propagation broken).
		{TraceID: "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", Kind: checks.KindServer, Start: t0.Add(101 * time.Millisecond)},
	}
	a := newAttribution(probes, checks.IndexSpans(&checks.Evidence{Probes: probes, Spans: spans}), false)
	assert.True(t, a.served(probes[1], "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"))
	assert.False(t, a.served(probes[0], "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"))
	assert.False(t, a.served(probes[1], "dddddddddddddddddddddddddddddddd"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, ok := a.attribute(&checks.LogLine{Time: tt.at}, traceCtx{traceID: tt.traceID})
			assert.Equal(t, tt.want != "", ok)
			if ok {
				assert.Equal(t, tt.want, probes[i].Path)
			}
		})
	}
}

func TestIsAccessLog(t *testing.T) {
	assert.True(t, isAccessLog(parse(t, `{"event":"127.0.0.1:50312 - \"GET /users/42 HTTP/1.1\" 200","logger":"uvicorn.access"}`)))
	assert.True(t, isAccessLog(parse(t, `{"level":"http","message":"GET /users/42 200 4.1 ms"}`)))
	assert.False(t, isAccessLog(parse(t, `{"level":"info","message":"get user"}`)))
}

func TestExcerptMasksSecretKeys(t *testing.T) {
	got := excerpt(`{"password":"hunter2hunter2","token":"[REDACTED]","user":"ada"}`)
	assert.NotContains(t, got, "hunter2hunter2")
	assert.Contains(t, got, `"token":"[REDACTED]"`)
	assert.Contains(t, got, `"user":"ada"`)
}

func TestIsRedacted(t *testing.T) {
	for _, v := range []string{"[REDACTED]", "REDACTED", "***", "[Filtered]", "", "Bearer [REDACTED]", "Basic ***", "'[REDACTED]'"} {
		assert.True(t, isRedacted(v), v)
	}
	for _, v := range []string{"hunter2", "Bearer abc.def", "REDACTED-ish"} {
		assert.False(t, isRedacted(v), v)
	}
}

func TestErrorFieldProblems(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{`{"level":"error","message":"boom","stack":"Error: boom\n    at f (x.js:1:1)"}`, nil},
		{`{"level":"error","message":"declined"}`, nil},
		{`{"err":{},"level":"error","message":"charge failed"}`, []string{problemEmptyError}},
		{`{"level":"error"}`, []string{problemBareError}},
		{`{"level":"info"}`, nil},
		{`{"event":"failed","level":"error","exc_info":true}`, []string{problemExcInfoTrue}},
		{`{"message":"failed","levelname":"ERROR","exc_info":"Traceback (most recent call last):\n  File \"x.py\""}`, nil},
		{`{"level":"error","message":"Error: x\n    at f (x.js:1:1)"}`, []string{problemStackInMsg}},
		{`{"level":"error","message":"boom","error":{"stack_trace":"java.lang.X"}}`, nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, errorFieldProblems(parse(t, tt.line)), tt.line)
	}
}

func TestFlattenPaths(t *testing.T) {
	leaves := flatten(parse(t, `{"a":{"b":"x","c":[{"d":"y"}]},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","n":3,"ok":true}`), keyCache{})
	var paths []string
	for _, l := range leaves {
		paths = append(paths, l.path)
	}
	// Trace ids are never candidates for secrets.
	assert.Equal(t, []string{"a.b", "a.c[].d", "n", "ok"}, paths)
}

func TestByteSize(t *testing.T) {
	assert.Equal(t, "1 MiB", byteSize(1<<20))
	assert.Equal(t, "64 KiB", byteSize(64<<10))
	assert.Equal(t, "1000-byte", byteSize(1000))
}

// A secret that JSON escaping hides in the raw line is found in the value.
func TestLineLeaksSeesEscapedValues(t *testing.T) {
	const canary = "obslint/canary-5d1e08b7"
	l := checks.ParseLogLine("stdout", 1, `{"url":"\/users\/42?access_token=obslint\/canary-5d1e08b7"}`)
	require.NotContains(t, l.Raw, canary)
	leaks := lineLeaks(&l, []string{canary}, nil, keyCache{})
	require.Len(t, leaks, 1)
	assert.Equal(t, "url", leaks[0].path)
	assert.Equal(t, "canary", leaks[0].kind)
}
