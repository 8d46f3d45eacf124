package bundle

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/limits"
)

// write creates dir/name with content and returns its path.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestLoadMetrics(t *testing.T) {
	dir := t.TempDir()
	second := write(t, dir, "b.prom", "b_total 1\n")
	first := write(t, dir, "a.prom", "a 1\n")
	om := write(t, dir, "c.om", "# TYPE c counter\nc_total 2 # {trace_id=\"abc\"} 1\n# EOF\n")

	ev, err := Load(Files{Metrics: []string{second, first, om}}, limits.Default, nil)
	require.NoError(t, err)
	require.Len(t, ev.Scrapes, 3)
	assert.True(t, ev.Captured.Metrics)
	for i, want := range []struct{ url, phase, ct, family string }{
		{second, "scrape-1", TextContentType, "b_total"},
		{first, "scrape-2", TextContentType, "a"},
		{om, "scrape-3", OpenMetricsContentType, "c_total"},
	} {
		s := &ev.Scrapes[i]
		s.Parse()
		assert.Equal(t, want.url, s.URL, "scrapes keep the order given")
		assert.Equal(t, want.phase, s.Phase)
		assert.Equal(t, 200, s.Status)
		assert.Equal(t, want.ct, s.ContentType)
		assert.Empty(t, s.ParseErr)
		require.Len(t, s.Families, 1)
		assert.Equal(t, want.family, s.Families[0].GetName())
	}
	// As text, `# TYPE c counter` + c_total would be an untyped c_total.
	assert.Equal(t, "COUNTER", ev.Scrapes[2].Families[0].GetType().String(), "OpenMetrics is parsed as such")
}

func TestLoadStdin(t *testing.T) {
	ev, err := Load(Files{Metrics: []string{"-"}}, limits.Default, strings.NewReader("up 1\n"))
	require.NoError(t, err)
	require.Len(t, ev.Scrapes, 1)
	assert.Equal(t, "stdin", ev.Scrapes[0].URL)
	ev.Scrapes[0].Parse()
	assert.True(t, ev.Scrapes[0].Parsed())

	ev, err = Load(Files{Logs: "-"}, limits.Default, strings.NewReader("{\"message\":\"hi\"}\nplain\n"))
	require.NoError(t, err)
	require.Len(t, ev.Logs, 2)
	assert.Equal(t, "stdin:2", ev.Logs[1].Subject())
	assert.Equal(t, "file stdin", ev.Captured.LogSource)

	for _, f := range []Files{{Metrics: []string{"-"}}, {Logs: "-"}, {Traces: "-"}} {
		_, err := Load(f, limits.Default, nil)
		assert.EqualError(t, err, "stdin: no standard input", "%+v", f)
	}
}

func TestLoadMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.prom")
	for _, f := range []Files{{Metrics: []string{missing}}, {Logs: missing}, {Traces: missing}, {Probes: missing}} {
		_, err := Load(f, limits.Default, nil)
		require.Error(t, err, "%+v", f)
		assert.Contains(t, err.Error(), missing)
		assert.ErrorIs(t, err, os.ErrNotExist)
	}
}

func TestLoadScrapeTruncated(t *testing.T) {
	p := write(t, t.TempDir(), "m.prom", "first_metric 1\nsecond_metric 2\n")
	lim := limits.Default
	lim.MaxScrapeBytes = 20
	ev, err := Load(Files{Metrics: []string{p}}, lim, nil)
	require.NoError(t, err)
	s := ev.Scrapes[0]
	assert.True(t, s.Truncated)
	assert.Equal(t, 20, s.Size)
	assert.Equal(t, "first_metric 1\nsecon", string(s.Body))
	assert.Equal(t, []checks.Problem{{Phase: "limit", Message: p + ": exposition larger than 20 bytes, truncated"}}, ev.Problems)

	lim.MaxScrapeBytes = 31 // exactly the body: not truncated
	ev, err = Load(Files{Metrics: []string{p}}, lim, nil)
	require.NoError(t, err)
	assert.False(t, ev.Scrapes[0].Truncated)
	assert.Empty(t, ev.Problems)
}

func TestLoadLogs(t *testing.T) {
	p := write(t, t.TempDir(), "app.log", "{\"message\":\"one\"}\n"+strings.Repeat("y", 50)+"\nthree\nfour\r\nfive")
	lim := limits.Default
	lim.MaxLineBytes, lim.MaxLines = 20, 3
	ev, err := Load(Files{Logs: p}, lim, nil)
	require.NoError(t, err)
	assert.True(t, ev.Captured.Logs)
	assert.Equal(t, "file "+p, ev.Captured.LogSource)
	require.Len(t, ev.Logs, 3)
	assert.Equal(t, "app.log:1", ev.Logs[0].Subject(), "a file's lines are named by its base name")
	assert.Equal(t, map[string]any{"message": "one"}, ev.Logs[0].Fields)
	assert.True(t, ev.Logs[1].Truncated)
	assert.Equal(t, strings.Repeat("y", 20), ev.Logs[1].Raw)
	assert.Equal(t, "app.log:3", ev.Logs[2].Subject())
	assert.True(t, ev.Logs[2].Time.IsZero(), "offline lines have no read time")
	assert.Equal(t, []checks.Problem{{Phase: "limit", Message: p + ": 2 log lines past the limit of 3 were not kept"}}, ev.Problems)
}

func TestLoadLogsInvalidUTF8(t *testing.T) {
	// Line 1 is Latin-1 JSON; line 3 is cut at the limit inside "€", which
	// is the cut's doing and not the service's.
	p := write(t, t.TempDir(), "app.log", "{\"m\":\"caf\xe9\"}\n{\"m\":\"café\"}\nabcdefghijklmno\xe2\x82\xac\n")
	lim := limits.Default
	lim.MaxLineBytes = 16
	ev, err := Load(Files{Logs: p}, lim, nil)
	require.NoError(t, err)
	require.Len(t, ev.Logs, 3)
	assert.True(t, ev.Logs[0].InvalidUTF8)
	assert.True(t, utf8.ValidString(ev.Logs[0].Raw), "Raw is made valid: %q", ev.Logs[0].Raw)
	assert.False(t, ev.Logs[1].InvalidUTF8)
	assert.Equal(t, "abcdefghijklmno", ev.Logs[2].Raw)
	assert.True(t, ev.Logs[2].Truncated)
	assert.False(t, ev.Logs[2].InvalidUTF8)
}

func TestLoadCapturedLogsInvalidUTF8(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "logs.capture.jsonl", `{"time":"2026-11-25T19:10:19Z","source":"stdout","raw":"{\"m\":\"caf\ufffd\"}","invalid_utf8":true}
{"time":"2026-11-25T19:10:19Z","source":"stdout","raw":"{\"m\":\"caf`+"\xe9"+`\"}"}
{"time":"2026-11-25T19:10:19Z","source":"stdout","raw":"{\"m\":\"café\"}"}
`)
	ev, err := LoadDir(dir, limits.Default)
	require.NoError(t, err)
	require.Len(t, ev.Logs, 3)
	assert.True(t, ev.Logs[0].InvalidUTF8, "recorded as invalid")
	assert.True(t, ev.Logs[1].InvalidUTF8, "a raw invalid byte in the record")
	assert.False(t, ev.Logs[2].InvalidUTF8)
}

func TestLoadCapturedLogs(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "logs.capture.jsonl", `{"time":"2026-11-25T19:10:19.5Z","source":"stdout","raw":"{\"message\":\"a\"}"}
{"time":"2026-11-25T19:10:20Z","source":"stderr","raw":"Traceback (most recent call last):"}
{"time":"2026-11-25T19:10:21Z","source":"stdout","raw":"{\"message\":\"b\"}"}
`)
	write(t, dir, "logs.jsonl", "ignored: the capture wins\n")
	ev, err := LoadDir(dir, limits.Default)
	require.NoError(t, err)
	require.Len(t, ev.Logs, 3)
	var subjects []string
	for _, l := range ev.Logs {
		subjects = append(subjects, l.Subject())
	}
	assert.Equal(t, []string{"stdout:1", "stderr:1", "stdout:2"}, subjects, "lines are numbered per source")
	assert.Equal(t, time.Date(2026, 11, 25, 19, 10, 19, 500_000_000, time.UTC), ev.Logs[0].Time)
	assert.Equal(t, map[string]any{"message": "b"}, ev.Logs[2].Fields)
	assert.Equal(t, "not a JSON object", ev.Logs[1].ParseErr)

	bad := write(t, t.TempDir(), "x.capture.jsonl", "{\"source\":\"stdout\",\"raw\":\"a\"}\nnot a record\n")
	_, err = Load(Files{Logs: bad}, limits.Default, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), bad+": line 2: not a captured log record")
}

// tracesJSON is one OTLP JSON export request with n SERVER spans.
func tracesJSON(t *testing.T, service string, n int) string {
	t.Helper()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	for i := range n {
		s := ss.Spans().AppendEmpty()
		s.SetName("GET /")
		s.SetKind(ptrace.SpanKindServer)
		s.SetTraceID(pcommon.TraceID{1, byte(i)})
		s.SetSpanID(pcommon.SpanID{2, byte(i)})
	}
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(td)
	require.NoError(t, err)
	return string(b)
}

func TestLoadTraces(t *testing.T) {
	dir := t.TempDir()
	whole := write(t, dir, "whole.json", tracesJSON(t, "users", 2))
	perLine := write(t, dir, "lines.json", tracesJSON(t, "users", 1)+"\n\n"+tracesJSON(t, "worker", 2)+"\n")

	ev, err := Load(Files{Traces: whole}, limits.Default, nil)
	require.NoError(t, err)
	assert.True(t, ev.Captured.Traces)
	assert.Equal(t, "file "+whole, ev.Captured.TraceSource)
	require.Len(t, ev.Spans, 2)
	assert.Equal(t, "01000000000000000000000000000000", ev.Spans[0].TraceID)
	assert.Equal(t, "users", ev.Spans[0].ResourceAttr("service.name"))

	ev, err = Load(Files{Traces: perLine}, limits.Default, nil)
	require.NoError(t, err)
	require.Len(t, ev.Spans, 3, "one request per line, as the file exporter writes")
	assert.Equal(t, "worker", ev.Spans[2].ResourceAttr("service.name"))

	// --max-spans bounds what is kept, never what is judged: Open leaves
	// the spans to the judge, one request at a time.
	lim := limits.Default
	lim.MaxSpans = 2
	in, err := Open(Files{Traces: perLine}, lim, nil)
	require.NoError(t, err)
	assert.Empty(t, in.Evidence.Spans)
	j := checks.NewJudge(in.Evidence, nil, checks.Options{})
	n, err := in.Spans(j)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, 3, j.Result().Judged.Spans)
	assert.Empty(t, in.Evidence.Problems)

	empty := write(t, dir, "empty.json", "")
	ev, err = Load(Files{Traces: empty}, limits.Default, nil)
	require.NoError(t, err)
	assert.True(t, ev.Captured.Traces, "an empty trace file is a source that sent nothing")
	assert.Empty(t, ev.Spans)
}

func TestLoadTracesErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"not JSON", "this is not json", ": not OTLP JSON traces: "},
		{"pretty-printed and cut", "{\n  \"resourceSpans\": [\n", ": not OTLP JSON traces: "},
		{"a bad line after good ones", tracesJSON(t, "users", 1) + "\n{oops\n", ": line 2: not OTLP JSON traces: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, dir, strings.ReplaceAll(tt.name, " ", "-")+".json", tt.content)
			_, err := Load(Files{Traces: p}, limits.Default, nil)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), p+tt.want), err.Error())
		})
	}
}

func TestLoadProbes(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "probes.json", `{"probes":[{"method":"GET","path":"/users/42?access_token=c2","route":"/users/:id",
"trace_id":"0af7651916cd43dd8448eb211c80319c","parent_span_id":"b7ad6b7169203331","status":200,
"start":"2026-11-25T19:10:21Z","end":"2026-11-25T19:10:21.01Z"}],
"canaries":[{"where":"Authorization header","value":"c1"},{"where":"query parameter access_token","value":"c2"}]}`)
	ev, err := Load(Files{Probes: good}, limits.Default, nil)
	require.NoError(t, err)
	assert.True(t, ev.Captured.Probes)
	require.Len(t, ev.Probes, 1)
	p := ev.Probes[0]
	assert.Equal(t, "GET /users/42", p.Subject())
	assert.Equal(t, "/users/:id", p.Route)
	assert.True(t, p.Traced())
	assert.Equal(t, 10*time.Millisecond, p.End.Sub(p.Start))
	assert.Equal(t, []string{"c1", "c2"}, ev.CanaryValues())

	bad := write(t, dir, "bad.json", `{"probes":[{"method":"GET","path":"/","color":"red"}]}`)
	_, err = Load(Files{Probes: bad}, limits.Default, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), bad)
	assert.Contains(t, err.Error(), `unknown field "color"`)
}

func TestLoadDirMetricsOrder(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "metrics-10.prom", "ten 1\n")
	write(t, dir, "metrics-2.prom", "two 1\n")
	write(t, dir, "metrics-1.prom", "one 1\n")
	write(t, dir, "other.prom", "ignored 1\n")
	ev, err := LoadDir(dir, limits.Default)
	require.NoError(t, err)
	var names []string
	for _, s := range ev.Scrapes {
		s.Parse()
		names = append(names, s.Families[0].GetName())
	}
	assert.Equal(t, []string{"one", "two", "ten"}, names, "numbered scrapes sort by number")
	assert.False(t, ev.Captured.Logs)
	assert.False(t, ev.Captured.Traces)
	assert.False(t, ev.Captured.Probes)
}

func TestLoadDirScrapeOverrides(t *testing.T) {
	om := "# TYPE c counter\nc_total 1\n# EOF\n"
	dir := t.TempDir()
	write(t, dir, "metrics-1.prom", om)
	write(t, dir, "metrics-2.prom", "up 1\n")
	write(t, dir, "scrapes.json", `[
  {"file":"metrics-1.prom","phase":"before","content_type":"application/openmetrics-text; version=1.0.0"},
  {"file":"metrics-2.prom","phase":"after","status":503},
  {"phase":"late","error":"dial tcp 127.0.0.1:3000: connect: connection refused"}
]`)
	ev, err := LoadDir(dir, limits.Default)
	require.NoError(t, err)
	require.Len(t, ev.Scrapes, 3)

	for i := range ev.Scrapes {
		ev.Scrapes[i].Parse()
	}
	before := ev.Scrapes[0]
	assert.Equal(t, "before", before.Phase)
	assert.Equal(t, "application/openmetrics-text; version=1.0.0", before.ContentType)
	assert.Empty(t, before.ParseErr, "the body is parsed again as OpenMetrics")
	assert.Equal(t, "c_total", before.Families[0].GetName())
	assert.Equal(t, filepath.Join(dir, "metrics-1.prom"), before.URL)

	after := ev.Scrapes[1]
	assert.Equal(t, "after", after.Phase)
	assert.Equal(t, 503, after.Status)
	assert.Equal(t, TextContentType, after.ContentType, "no content type keeps the recorded one")
	assert.True(t, after.Parsed())

	late := ev.Scrapes[2]
	assert.Equal(t, checks.Scrape{Phase: "late", Err: "dial tcp 127.0.0.1:3000: connect: connection refused"}, late)
	assert.Len(t, ev.ParsedScrapes(), 2)

	// An error on a recorded file drops its body.
	dir2 := t.TempDir()
	write(t, dir2, "metrics.prom", "up 1\n")
	write(t, dir2, "scrapes.json", `[{"file":"metrics.prom","error":"timeout"}]`)
	ev, err = LoadDir(dir2, limits.Default)
	require.NoError(t, err)
	require.Len(t, ev.Scrapes, 1)
	ev.Scrapes[0].Parse()
	assert.Equal(t, "timeout", ev.Scrapes[0].Err)
	assert.Nil(t, ev.Scrapes[0].Body)
	assert.False(t, ev.Scrapes[0].Parsed())

	// Only overrides, no files: error-only scrapes still mean metrics were tried.
	dir3 := t.TempDir()
	write(t, dir3, "scrapes.json", `[{"phase":"before","error":"refused"}]`)
	ev, err = LoadDir(dir3, limits.Default)
	require.NoError(t, err)
	assert.True(t, ev.Captured.Metrics)
	assert.Equal(t, "refused", ev.Scrapes[0].Err)
}

func TestLoadDirScrapeOverrideErrors(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"unknown file", `[{"file":"metrics-9.prom"}]`, `entry 0: no file "metrics-9.prom"`},
		{"unknown field", `[{"file":"metrics.prom","colour":"red"}]`, `unknown field "colour"`},
		{"not a list", `{"file":"metrics.prom"}`, "cannot unmarshal object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "metrics.prom", "up 1\n")
			p := write(t, dir, "scrapes.json", tt.json)
			_, err := LoadDir(dir, limits.Default)
			require.Error(t, err)
			assert.Contains(t, err.Error(), p)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestLoadDirEvidenceFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "metrics.prom", "up 1\n")
	write(t, dir, "evidence.json", `{
  "target": {"service": "users-api", "profile": "node", "url": "http://127.0.0.1:3000"},
  "expect": {"duration_metric": "api_request_duration_seconds", "required_metrics": ["up"]},
  "captured": {"probes": true, "metrics": true, "logs": true, "traces": false, "log_source": "stdout/stderr of node server.js"},
  "problems": [{"phase": "launch", "message": "exited with code 1"}],
  "stopped": "2026-11-25T19:10:30.5Z"
}`)
	lim := limits.Default
	lim.MaxScrapeBytes = 2
	ev, err := LoadDir(dir, lim)
	require.NoError(t, err)
	assert.Equal(t, checks.Target{Service: "users-api", Profile: "node", URL: "http://127.0.0.1:3000"}, ev.Target)
	assert.Equal(t, checks.Expectations{DurationMetric: "api_request_duration_seconds", RequiredMetrics: []string{"up"}}, ev.Expect)
	assert.Equal(t, checks.Captured{Probes: true, Metrics: true, Logs: true, LogSource: "stdout/stderr of node server.js"}, ev.Captured)
	require.Len(t, ev.Problems, 2, "recorded problems are added to the loader's own")
	assert.Equal(t, "limit", ev.Problems[0].Phase)
	assert.Equal(t, checks.Problem{Phase: "launch", Message: "exited with code 1"}, ev.Problems[1])
	assert.Equal(t, time.Date(2026, 11, 25, 19, 10, 30, 500_000_000, time.UTC), ev.Stopped)

	write(t, dir, "evidence.json", `{"target": {"service": "x"}, "extra": 1}`)
	_, err = LoadDir(dir, limits.Default)
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "evidence.json"))
	assert.Contains(t, err.Error(), `unknown field "extra"`)
}

func TestLoadDirMissing(t *testing.T) {
	_, err := LoadDir(filepath.Join(t.TempDir(), "nope"), limits.Default)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestReadLineIsBounded(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader(strings.Repeat("x", 100)+"\nshort\n"+strings.Repeat("y", 5000)), 16)
	line, err := readLine(br, 1000)
	require.NoError(t, err)
	assert.Len(t, line, 100)
	line, err = readLine(br, 1000)
	require.NoError(t, err)
	assert.Equal(t, "short", string(line))
	_, err = readLine(br, 1000)
	require.Error(t, err, "a line past the bound is an error, not an allocation")
}

func TestJSONDepth(t *testing.T) {
	assert.Equal(t, 0, jsonDepth([]byte(`"x"`)))
	assert.Equal(t, 2, jsonDepth([]byte(`{"a":[1,2]}`)))
	assert.Equal(t, 1, jsonDepth([]byte(`{"a":"[[[{\"x"}`)), "brackets in strings, escaped quotes, do not count")
	assert.Greater(t, jsonDepth([]byte(strings.Repeat("[", 1_000_000))), maxJSONDepth)
}

// TestLoadTracesTooDeep: a trace file nested a million levels deep is
// refused with the line, before the decoder builds it.
func TestLoadTracesTooDeep(t *testing.T) {
	deep := `{"resourceSpans":[{"resource":{"attributes":[{"key":"a","value":` +
		strings.Repeat(`{"arrayValue":{"values":[`, 1_000_000) + strings.Repeat(`]}}`, 1_000_000) + `}]}}]}`
	path := write(t, t.TempDir(), "deep.json", tracesJSON(t, "users", 1)+"\n"+deep+"\n")
	_, err := Load(Files{Traces: path}, limits.Default, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 2: JSON nested more than 256 levels deep")
}
