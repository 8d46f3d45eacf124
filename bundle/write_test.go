package bundle

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
	"github.com/obslint/obslint/internal/limits"
)

// fullEvidence sets every field a capture can set, with values that make
// rules fail as well as pass.
func fullEvidence() *checks.Evidence {
	t0 := time.Date(2026, 11, 25, 19, 10, 21, 123456789, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	canaries := []checks.Canary{{Where: "Authorization header", Value: "ocnry_AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH"}, {Where: "query parameter access_token", Value: "ocnry_QQQQRRRRSSSSTTTTUUUUVVVVWWWWXXXX"}}
	before := checks.NewScrape("http://127.0.0.1:3000/metrics", "before", 200, TextContentType,
		[]byte("# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{route=\"/\"} 1\n"), false)
	before.Time, before.Duration = at(0), 3*time.Millisecond
	after := checks.NewScrape("http://127.0.0.1:3000/metrics", "after", 200, OpenMetricsContentType,
		[]byte("# TYPE http_requests counter\nhttp_requests_total{route=\"/\"} 3\n# EOF\n"), true)
	after.Time, after.Duration = at(500), 4*time.Millisecond
	failed := checks.NewScrape("http://127.0.0.1:3000/metrics", "after-2", 503, "text/html", []byte("<h1>busy</h1>"), false)
	failed.Families, failed.ParseErr = nil, "" // as internal/scrape leaves a non-2xx answer
	refused := checks.Scrape{URL: "http://127.0.0.1:3000/metrics", Phase: "after-3", Time: at(600), Err: "GET http://127.0.0.1:3000/metrics: no response: connection refused"}
	logLine := func(n, ms int, raw string) checks.LogLine {
		l := checks.ParseLogLine("app.log", n, raw)
		l.Time = at(ms)
		return l
	}
	cut := logLine(3, 20, `{"level":"info","message":"cut`)
	cut.Truncated = true
	bad := logLine(4, 30, "caf\uFFFD")
	bad.InvalidUTF8 = true
	return &checks.Evidence{
		Target: checks.Target{Service: "users-api", Profile: checks.ProfileNode, ProfileReason: "telemetry.sdk.language is nodejs",
			URL: "http://127.0.0.1:3000", MetricsURL: "http://127.0.0.1:3000/metrics", Command: []string{"node", "server.js"}, Shared: true},
		Probes: []checks.Probe{
			{Method: "GET", Path: "/?access_token=" + canaries[1].Value, Route: "/", ExpectStatus: 200, TraceID: trace, ParentSpanID: "00f067aa0ba902b7",
				TraceState: "obslint=1", Canaries: true, Start: at(10), End: at(15), Status: 200},
			{Method: "GET", Path: "/obslint-not-found", ExpectStatus: 404, TraceID: "0af7651916cd43dd8448eb211c80319c", ParentSpanID: "b7ad6b7169203331",
				Start: at(70), End: at(71), Err: "read: connection reset by peer"},
		},
		Canaries: canaries,
		Scrapes:  []checks.Scrape{before, after, failed, refused},
		Logs: []checks.LogLine{
			logLine(1, 12, `{"level":"info","message":"get user","trace_id":"`+trace+`","span_id":"1111111111111111"}`),
			logLine(2, 13, `plain text with `+canaries[0].Value),
			cut, bad,
		},
		LogRecords: []checks.LogRecord{{Time: at(12), TraceID: trace, SpanID: "1111111111111111", SeverityText: "info", SeverityNum: 9, Body: "get user",
			Attrs: map[string]any{"user": "42"}, Resource: map[string]any{"service.name": "users-api"}, Scope: "winston"}},
		Spans: []checks.Span{
			{TraceID: trace, SpanID: "1111111111111111", ParentSpanID: "00f067aa0ba902b7", TraceState: "obslint=1", Name: "GET /", Kind: checks.KindServer,
				Start: at(11), End: at(14), StatusCode: checks.StatusUnset,
				Attrs:    map[string]any{"http.request.method": "GET", "http.response.status_code": int64(200), "url.query": "access_token=" + canaries[1].Value, "ratio": 0.5, "ok": true, "list": []any{"a", int64(1)}},
				Resource: map[string]any{"service.name": "users-api", "telemetry.sdk.language": "nodejs"}, Scope: "@opentelemetry/instrumentation-http"},
			{TraceID: trace, SpanID: "2222222222222222", ParentSpanID: "9999999999999999", Name: "load user", Kind: checks.KindInternal,
				Start: at(12), End: at(11), StatusCode: checks.StatusError, StatusMessage: "boom", Attrs: map[string]any{},
				Events:   []checks.SpanEvent{{Name: "exception", Attrs: map[string]any{"exception.type": "Error"}}},
				Resource: map[string]any{"service.name": "users-api"}},
			{TraceID: "", SpanID: "3333333333333333", Name: "odd", Kind: "UNSPECIFIED", Start: at(1), End: at(2), StatusCode: checks.StatusOk,
				Attrs: map[string]any{}, Resource: map[string]any{}}, // pdata never gives nil maps
		},
		OTLPMetrics: []checks.OTLPMetric{{Name: "http.server.duration", Type: "Histogram", Unit: "ms", Resource: map[string]any{"service.name": "users-api"}, Scope: "meter"}},
		Captured:    checks.Captured{Probes: true, Metrics: true, Logs: true, Traces: true, LogSource: "file app.log", TraceSource: "embedded OTLP receiver http://127.0.0.1:4318"},
		Problems:    []checks.Problem{{Phase: "logs", Message: "file app.log was truncated during the audit"}},
		Expect:      checks.Expectations{DurationMetric: "http_request_duration_seconds", RequiredMetrics: []string{"up"}, Routes: []string{"/"}, LogFields: []string{"service"}},
		Stopped:     at(900),
	}
}

func TestBundleRoundTrip(t *testing.T) {
	ev := fullEvidence()
	dir := filepath.Join(t.TempDir(), "bundle")
	require.NoError(t, WriteDir(dir, ev))
	got, err := LoadDir(dir, limits.Default)
	require.NoError(t, err)

	assert.Equal(t, ev.Target, got.Target)
	assert.Equal(t, ev.Captured, got.Captured)
	assert.Equal(t, ev.Problems, got.Problems)
	assert.Equal(t, ev.Expect, got.Expect)
	assert.True(t, ev.Stopped.Equal(got.Stopped))
	assert.Equal(t, ev.Canaries, got.Canaries)
	require.Len(t, got.Probes, len(ev.Probes))
	for i, p := range ev.Probes {
		q := got.Probes[i]
		assert.True(t, p.Start.Equal(q.Start) && p.End.Equal(q.End))
		p.Start, p.End, q.Start, q.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		assert.Equal(t, p, q)
	}
	require.Len(t, got.Scrapes, len(ev.Scrapes))
	for i, s := range ev.Scrapes {
		g := got.Scrapes[i]
		assert.True(t, s.Time.Equal(g.Time), "scrape %d time", i)
		assert.Equal(t, []any{s.URL, s.Phase, s.Status, s.ContentType, s.Size, s.Truncated, s.Err, s.ParseErr, s.Duration, string(s.Body), len(s.Families)},
			[]any{g.URL, g.Phase, g.Status, g.ContentType, g.Size, g.Truncated, g.Err, g.ParseErr, g.Duration, string(g.Body), len(g.Families)}, "scrape %d", i)
	}
	require.Len(t, got.Logs, len(ev.Logs))
	for i, l := range ev.Logs {
		g := got.Logs[i]
		assert.True(t, l.Time.Equal(g.Time))
		assert.Equal(t, []any{l.Source, l.N, l.Raw, l.Truncated, l.InvalidUTF8, l.Fields, l.ParseErr}, []any{g.Source, g.N, g.Raw, g.Truncated, g.InvalidUTF8, g.Fields, g.ParseErr}, "line %d", i)
	}
	require.Len(t, got.Spans, len(ev.Spans))
	for i, s := range ev.Spans {
		g := got.Spans[i]
		assert.True(t, s.Start.Equal(g.Start) && s.End.Equal(g.End), "span %d times", i)
		s.Start, s.End, g.Start, g.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		assert.Equal(t, s, g, "span %d", i)
	}
	require.Len(t, got.LogRecords, 1)
	assert.True(t, ev.LogRecords[0].Time.Equal(got.LogRecords[0].Time))
	assert.Equal(t, ev.OTLPMetrics, got.OTLPMetrics)

	// What counts: the same verdict.
	want := checks.Run(ev, catalogue.All(), checks.Options{})
	have := checks.Run(got, catalogue.All(), checks.Options{})
	assert.Equal(t, want.Rules, have.Rules)
	assert.Equal(t, want.Findings, have.Findings)
	assert.NotEmpty(t, want.Findings, "the evidence is meant to make rules fail too")
}

func TestBundleRoundTripEmpty(t *testing.T) {
	ev := &checks.Evidence{Captured: checks.Captured{Probes: true, Metrics: true}, Target: checks.Target{Profile: checks.ProfilePython}}
	dir := t.TempDir()
	require.NoError(t, WriteDir(dir, ev))
	got, err := LoadDir(dir, limits.Default)
	require.NoError(t, err)
	want := checks.Run(ev, catalogue.All(), checks.Options{})
	have := checks.Run(got, catalogue.All(), checks.Options{})
	assert.Equal(t, want.Rules, have.Rules)
	assert.Equal(t, want.Findings, have.Findings)
}

func TestBundleDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, WriteDir(dir, fullEvidence()))
	readme, err := os.ReadFile(filepath.Join(dir, "README.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), "obslint lint --evidence DIR")
	assert.Contains(t, string(readme), "may include secrets")

	// A second save replaces the first bundle whole: no stale scrape files.
	ev := fullEvidence()
	ev.Scrapes = ev.Scrapes[:1]
	require.NoError(t, WriteDir(dir, ev))
	_, err = os.Stat(filepath.Join(dir, "metrics-2.om"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	got, err := LoadDir(dir, limits.Default)
	require.NoError(t, err)
	assert.Len(t, got.Scrapes, 1)

	// A directory with anything else in it is not overwritten.
	other := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(other, "main.go"), []byte("package main"), 0o644))
	err = WriteDir(other, fullEvidence())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "holds main.go, which is not part of a bundle")
	_, err = os.Stat(filepath.Join(other, "main.go"))
	assert.NoError(t, err)
}
