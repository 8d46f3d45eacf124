package checks

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var (
	traceA  = pcommon.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c}
	spanA   = pcommon.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31}
	spanB   = pcommon.SpanID{0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}
	startAt = time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
)

// testTraces builds two resources: one with a SERVER span and its INTERNAL
// child in two scopes, one with a span of every other kind.
func testTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "users")
	rs.Resource().Attributes().PutStr("telemetry.sdk.language", "nodejs")

	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("@opentelemetry/instrumentation-http")
	srv := ss.Spans().AppendEmpty()
	srv.SetTraceID(traceA)
	srv.SetSpanID(spanA)
	srv.SetName("GET /users/:id")
	srv.SetKind(ptrace.SpanKindServer)
	srv.SetStartTimestamp(pcommon.NewTimestampFromTime(startAt))
	srv.SetEndTimestamp(pcommon.NewTimestampFromTime(startAt.Add(time.Millisecond)))
	srv.TraceState().FromRaw("vendor=1")
	srv.Status().SetCode(ptrace.StatusCodeError)
	srv.Status().SetMessage("boom")
	srv.Attributes().PutStr("http.route", "/users/:id")
	srv.Attributes().PutInt("http.response.status_code", 500)
	ev := srv.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.type", "Error")

	ss2 := rs.ScopeSpans().AppendEmpty()
	ss2.Scope().SetName("app")
	child := ss2.Spans().AppendEmpty()
	child.SetTraceID(traceA)
	child.SetSpanID(spanB)
	child.SetParentSpanID(spanA)
	child.SetName("load user")
	child.SetKind(ptrace.SpanKindInternal)
	child.Status().SetCode(ptrace.StatusCodeOk)

	rs2 := td.ResourceSpans().AppendEmpty()
	rs2.Resource().Attributes().PutStr("service.name", "worker")
	ss3 := rs2.ScopeSpans().AppendEmpty()
	for _, k := range []ptrace.SpanKind{ptrace.SpanKindClient, ptrace.SpanKindProducer, ptrace.SpanKindConsumer, ptrace.SpanKindUnspecified} {
		s := ss3.Spans().AppendEmpty()
		s.SetName(k.String())
		s.SetKind(k)
	}
	return td
}

func TestSpansFromTraces(t *testing.T) {
	spans := SpansFromTraces(testTraces())
	require.Len(t, spans, 6)

	srv := spans[0]
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", srv.TraceID)
	assert.Equal(t, "b7ad6b7169203331", srv.SpanID)
	assert.Equal(t, "", srv.ParentSpanID, "an all-zero parent is empty")
	assert.Equal(t, "vendor=1", srv.TraceState)
	assert.Equal(t, "GET /users/:id", srv.Name)
	assert.Equal(t, KindServer, srv.Kind)
	assert.Equal(t, startAt, srv.Start.UTC())
	assert.Equal(t, startAt.Add(time.Millisecond), srv.End.UTC())
	assert.Equal(t, StatusError, srv.StatusCode)
	assert.Equal(t, "boom", srv.StatusMessage)
	assert.Equal(t, map[string]any{"http.route": "/users/:id", "http.response.status_code": int64(500)}, srv.Attrs)
	assert.Equal(t, []SpanEvent{{Name: "exception", Attrs: map[string]any{"exception.type": "Error"}}}, srv.Events)
	assert.Equal(t, "@opentelemetry/instrumentation-http", srv.Scope)
	assert.Equal(t, "/users/:id", srv.Attr("http.route"))
	assert.Equal(t, "500", srv.Attr("http.response.status_code"), "non-string attributes read as strings")
	assert.Equal(t, "", srv.Attr("missing"))
	assert.Equal(t, "span GET /users/:id", srv.Subject())

	child := spans[1]
	assert.Equal(t, "b7ad6b7169203331", child.ParentSpanID)
	assert.Equal(t, "0000000000000001", child.SpanID, "ids keep their leading zeros")
	assert.Equal(t, KindInternal, child.Kind)
	assert.Equal(t, StatusOk, child.StatusCode)
	assert.Equal(t, "app", child.Scope)
	assert.Empty(t, child.Events)
	assert.Equal(t, srv.Resource, child.Resource, "spans of one resource share it")
	assert.Equal(t, "users", child.ResourceAttr("service.name"))

	var kinds []string
	for _, s := range spans[2:] {
		kinds = append(kinds, s.Kind)
		assert.Equal(t, "worker", s.ResourceAttr("service.name"))
		assert.Equal(t, StatusUnset, s.StatusCode)
		assert.Equal(t, "", s.TraceID, "an all-zero trace id is empty")
		assert.Equal(t, "", s.SpanID)
	}
	assert.Equal(t, []string{KindClient, KindProducer, KindConsumer, "UNSPECIFIED"}, kinds)

	assert.Empty(t, SpansFromTraces(ptrace.NewTraces()))
}

func TestEvidenceSpanLookups(t *testing.T) {
	probe := Probe{Method: "GET", Path: "/users/42?x=1", TraceID: "0af7651916cd43dd8448eb211c80319c"}
	ev := &Evidence{Probes: []Probe{probe}, Spans: SpansFromTraces(testTraces())}
	Run(ev, nil, Options{})
	assert.Len(t, ev.TraceSpans("0af7651916cd43dd8448eb211c80319c"), 2)
	assert.Empty(t, ev.TraceSpans("ffffffffffffffffffffffffffffffff"))
	assert.Equal(t, len(ev.Spans), ev.SpanCount())
	assert.True(t, ev.SpanIndex().HasTrace("0af7651916cd43dd8448eb211c80319c"))
	assert.False(t, ev.SpanIndex().HasTrace("ffffffffffffffffffffffffffffffff"))
	assert.True(t, ev.SpanIndex().HasSpan("0af7651916cd43dd8448eb211c80319c", ev.Spans[0].SpanID))
	assert.False(t, ev.SpanIndex().HasSpan("0af7651916cd43dd8448eb211c80319c", "1111111111111111"))
	assert.Equal(t, []NameCount{{"users", 2}, {"worker", len(ev.Spans) - 2}}, ev.SpanIndex().ServiceNames())

	trace := ev.TraceSpans(probe.TraceID)
	require.NotEmpty(t, trace)
	assert.Equal(t, "GET /users/:id", trace[0].Name, "the probe's trace is kept whole, in arrival order")
	assert.Equal(t, "GET /users/42", probe.Subject(), "the query string stays out of subjects")
}

// TestSpanIndexMerges: indexes of consecutive parts merged in order equal
// the index of one pass, and the part merged in is left as it was.
func TestSpanIndexMerges(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 19, 10, 0, 0, time.UTC)
	probe := Probe{Method: "GET", Path: "/users/42", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", ParentSpanID: "00f067aa0ba902b7", Start: t0, End: t0.Add(time.Second)}
	spans := SpansFromTraces(testTraces())
	for i := range spans {
		spans[i].Start = t0.Add(time.Duration(i) * time.Millisecond)
	}
	spans = append(spans,
		Span{TraceID: probe.TraceID, SpanID: "a000000000000001", ParentSpanID: probe.ParentSpanID, Kind: KindServer, Name: "GET /users/:id", Start: t0},
		Span{TraceID: "5bf92f3577b34da6a3ce929d0e0e4736", SpanID: "a000000000000002", Kind: KindServer, Name: "GET", Start: t0.Add(time.Millisecond),
			Attrs: map[string]any{"http.request.method": "GET", "url.path": "/users/42"}})
	ev := func() *Evidence { return &Evidence{Probes: []Probe{probe}} }
	whole := newSpanIndex(ev())
	for i := range spans {
		whole.add(&spans[i])
	}
	for cut := 0; cut <= len(spans); cut++ {
		a, b, again := newSpanIndex(ev()), newSpanIndex(ev()), newSpanIndex(ev())
		for i := range spans {
			if i < cut {
				a.add(&spans[i])
			} else {
				b.add(&spans[i])
				again.add(&spans[i])
			}
		}
		a.merge(b)
		require.Equal(t, whole, a, "cut at %d", cut)
		require.Equal(t, again, b, "the later part is only read")
	}
	got := &Evidence{Probes: []Probe{probe}, index: whole}
	require.Len(t, got.TimeCandidates(probe), 1)
	assert.Equal(t, "a000000000000002", got.TimeCandidates(probe)[0].SpanID)
}

func TestLogRecordsFromLogs(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "users")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("winston")
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(startAt))
	lr.SetTraceID(traceA)
	lr.SetSpanID(spanA)
	lr.SetSeverityText("ERROR")
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.Body().SetStr("user not found")
	lr.Attributes().PutInt("user.id", 42)
	bare := sl.LogRecords().AppendEmpty()
	bare.Body().SetEmptyMap().PutStr("k", "v")

	recs := LogRecordsFromLogs(ld)
	require.Len(t, recs, 2)
	recs[0].Time = recs[0].Time.UTC()
	assert.Equal(t, LogRecord{
		Time:         startAt,
		TraceID:      "0af7651916cd43dd8448eb211c80319c",
		SpanID:       "b7ad6b7169203331",
		SeverityText: "ERROR",
		SeverityNum:  17,
		Body:         "user not found",
		Attrs:        map[string]any{"user.id": int64(42)},
		Resource:     map[string]any{"service.name": "users"},
		Scope:        "winston",
	}, recs[0])
	assert.Equal(t, "", recs[1].TraceID)
	assert.Equal(t, "", recs[1].SpanID)
	assert.Equal(t, `{"k":"v"}`, recs[1].Body, "a structured body is flattened to JSON")
}

func TestOTLPMetricsFromMetrics(t *testing.T) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "users")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("@opentelemetry/instrumentation-http")
	m := sm.Metrics().AppendEmpty()
	m.SetName("http.server.request.duration")
	m.SetUnit("s")
	m.SetEmptyHistogram()
	sum := sm.Metrics().AppendEmpty()
	sum.SetName("requests")
	sum.SetEmptySum()

	got := OTLPMetricsFromMetrics(md)
	assert.Equal(t, []OTLPMetric{
		{Name: "http.server.request.duration", Type: "Histogram", Unit: "s", Resource: map[string]any{"service.name": "users"}, Scope: "@opentelemetry/instrumentation-http"},
		{Name: "requests", Type: "Sum", Resource: map[string]any{"service.name": "users"}, Scope: "@opentelemetry/instrumentation-http"},
	}, got)
}

// TestValuesNestedDeepAreBounded: a span attribute nested far deeper than
// any real one is flattened to MaxValueDepth levels and a marker, not to
// its whole depth.
func TestValuesNestedDeepAreBounded(t *testing.T) {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	v := sp.Attributes().PutEmptySlice("deep").AppendEmpty()
	for range 10_000 {
		v = v.SetEmptyMap().PutEmptySlice("x").AppendEmpty()
	}
	v.SetStr("bottom")
	spans := SpansFromTraces(td)
	require.Len(t, spans, 1)
	depth := 0
	var walk func(x any)
	walk = func(x any) {
		switch y := x.(type) {
		case map[string]any:
			depth++
			for _, e := range y {
				walk(e)
			}
		case []any:
			depth++
			for _, e := range y {
				walk(e)
			}
		case string:
			assert.Equal(t, deepValue, y)
		}
	}
	walk(spans[0].Attrs)
	assert.LessOrEqual(t, depth, MaxValueDepth+1)
}
