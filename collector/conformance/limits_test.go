package conformance

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obslint/obslint/checks"
)

func problemsOf(res *checks.Result) string {
	var sb strings.Builder
	for _, p := range res.Problems {
		sb.WriteString(p.Phase + ": " + p.Message + "\n")
	}
	return sb.String()
}

func TestManyServicesEvictLeastRecentlySeen(t *testing.T) {
	e := testEngine(t, func(c *Config) { c.MaxServices = 10 })
	for i := 0; i < 1000; i++ {
		e.ConsumeTraces(spanBatch(fmt.Sprintf("svc-%d", i), 1, 0))
		// svc-0 keeps sending, so it is never the least recently seen.
		e.ConsumeTraces(spanBatch("svc-0", 1, 0))
	}
	st := e.Stats()
	assert.Equal(t, 10, st.Services)
	assert.Equal(t, int64(990), st.Evicted)
	res := e.EvaluateNow()
	assert.Len(t, res, 10)
	assert.Contains(t, res, "svc-0")
	assert.Contains(t, res, "svc-999")
	assert.NotContains(t, res, "svc-1")
}

func TestWindowCapCountsDrops(t *testing.T) {
	e := testEngine(t, func(c *Config) { c.MaxSpansPerService = 60 })
	e.ConsumeTraces(spanBatch("a", 100, 0))
	e.ConsumeTraces(spanBatch("a", 100, 0))
	st := e.Stats()
	// 6 buckets of 10: the current one takes 10 spans.
	assert.Equal(t, int64(190), st.Dropped)
	res := e.EvaluateNow()["a"]
	assert.Contains(t, problemsOf(res), "190 spans in this window were not kept (max_spans_per_service=60")
}

func TestWindowRotates(t *testing.T) {
	e := testEngine(t, func(c *Config) { c.Window = 30e9; c.EvaluateEvery = 10e9; c.MaxSpansPerService = 30 })
	e.ConsumeTraces(spanBatch("a", 5, 0))
	e.rotate()
	e.ConsumeTraces(spanBatch("a", 5, 0))
	e.rotate()
	e.rotate()
	assert.Equal(t, 5, e.Stats().Spans, "the first bucket left the window")
	e.rotate()
	assert.Equal(t, int64(0), e.Stats().Bytes)
	assert.Equal(t, 0, e.Stats().Services, "a service with nothing in its window expires")
	assert.Empty(t, e.EvaluateNow())
}

func TestUnchangedWindowIsNotJudgedAgain(t *testing.T) {
	e := testEngine(t, nil)
	e.ConsumeTraces(spanBatch("a", 5, 0))
	e.ConsumeTraces(spanBatch("b", 5, 0))
	first := e.EvaluateNow()
	e.rotate() // drops no bucket that held anything: still the same window
	second := e.EvaluateNow()
	assert.Same(t, first["a"], second["a"])
	e.ConsumeTraces(spanBatch("b", 1, 0))
	third := e.EvaluateNow()
	assert.Same(t, first["a"], third["a"])
	assert.NotSame(t, first["b"], third["b"])
}

func TestTenThousandAttributeSpan(t *testing.T) {
	e := testEngine(t, nil)
	e.ConsumeTraces(spanBatch("wide", 1, 10_000))
	st := e.Stats()
	assert.Equal(t, int64(10_003-defaultMaxAttributes), st.DroppedAttributes)
	e.mu.Lock()
	v := e.services["wide"].view()
	e.mu.Unlock()
	require.Len(t, v.parts, 1)
	require.Len(t, v.parts[0].spans, 1)
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(v.parts[0].spans[0])
	require.NoError(t, err)
	spans := checks.SpansFromTraces(td)
	require.Len(t, spans, 1)
	assert.Len(t, spans[0].Attrs, defaultMaxAttributes)
	assert.Less(t, st.Bytes, int64(64<<10))
	res := e.EvaluateNow()["wide"]
	assert.Contains(t, problemsOf(res), "9875 attributes beyond max_attributes were not kept")
}

func TestHugeBatchIsCappedBeforeConversion(t *testing.T) {
	td := spanBatch("big", 100_000, 4)
	e := testEngine(t, nil)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	e.ConsumeTraces(td)
	runtime.ReadMemStats(&after)
	st := e.Stats()
	assert.Equal(t, int64(100_000-334), st.Dropped)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "only the kept spans are converted")
	runtime.KeepAlive(td)
}

func TestMemoryLimitEvictsOldestAndReports(t *testing.T) {
	e := testEngine(t, func(c *Config) { c.MemoryLimitMiB = 1; c.MaxServices = 100000; c.MaxSpansPerService = 100000 })
	for i := 0; i < 200; i++ {
		e.ConsumeTraces(spanBatch(fmt.Sprintf("svc-%d", i%20), 50, 8))
		assert.LessOrEqual(t, e.Stats().Bytes, int64(1<<20))
	}
	st := e.Stats()
	assert.Positive(t, st.Dropped)
	var reported bool
	for _, res := range e.EvaluateNow() {
		reported = reported || strings.Contains(problemsOf(res), "memory_limit_mib")
	}
	assert.True(t, reported)
}

func TestMalformedDataNeverPanics(t *testing.T) {
	e := testEngine(t, nil)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutInt("service.name", 42) // not a string
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Spans().AppendEmpty() // no ids, no name, no times
	sp := ss.Spans().AppendEmpty()
	sp.Attributes().PutEmptyBytes("b").FromRaw(make([]byte, 1<<20))
	nested := sp.Attributes().PutEmptyMap("m")
	for d := 0; d < 50; d++ {
		nested = nested.PutEmptyMap("m")
	}
	sp.Attributes().PutEmptySlice("s").AppendEmpty().SetDouble(math.NaN())
	sp.Events().AppendEmpty()
	td.ResourceSpans().AppendEmpty() // empty resource
	e.ConsumeTraces(td)

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty()                                           // empty body
	lrs.AppendEmpty().Body().SetStr(strings.Repeat("{", 2<<20)) // huge, broken
	lrs.AppendEmpty().Body().SetEmptyMap().PutStr("k", "v")
	e.ConsumeLogs(ld)

	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(PrometheusReceiverScope)
	g := sm.Metrics().AppendEmpty()
	g.SetName("nan_gauge")
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(math.NaN())
	sm.Metrics().AppendEmpty() // no name, no type
	bad := sm.Metrics().AppendEmpty()
	bad.SetName("bad name{")
	bad.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(1)
	h := sm.Metrics().AppendEmpty()
	h.SetName("h")
	dp := h.SetEmptyHistogram().DataPoints().AppendEmpty()
	dp.ExplicitBounds().FromRaw([]float64{1, 2, 3})
	dp.BucketCounts().FromRaw([]uint64{1}) // fewer counts than bounds
	dp.Attributes().PutStr("quote", "a\"b\\c\nd")
	e.ConsumeMetrics(md)
	e.ConsumeMetrics(md)

	res := e.EvaluateNow()
	require.Contains(t, res, UnknownService)
	assert.Zero(t, e.Stats().Panics)
	body := exposition(md)
	fams, err := checks.ParseExposition(body, "text/plain; version=0.0.4")
	require.NoError(t, err, string(body))
	assert.Len(t, fams, 2)
}

func TestRulePanicIsAProblem(t *testing.T) {
	e := testEngine(t, nil)
	e.rules = append(e.rules, &checks.Rule{ID: "traces/boom", Severity: checks.Error, Summary: "boom",
		Needs: []checks.Need{checks.NeedSpans}, Check: func(*checks.Pass) { panic("boom") }})
	e.ConsumeTraces(spanBatch("a", 1, 0))
	res := e.EvaluateNow()["a"]
	require.NotNil(t, res)
	var boom checks.RuleResult
	for _, r := range res.Rules {
		if r.ID == "traces/boom" {
			boom = r
		}
	}
	assert.Equal(t, checks.StatusNotEvaluated, boom.Status)
	assert.Contains(t, boom.Reason, "internal error in rule traces/boom: boom")

	// A panic outside the rules (here: a broken snapshot reaching
	// evidence assembly: a zero snapshot) is a problem of the window,
	// never a crash.
	e.services["a"].buckets[0].firstScrape = &snapshot{}
	e.services["a"].version++
	res = e.EvaluateNow()["a"]
	require.NotNil(t, res)
	assert.Contains(t, problemsOf(res), "evaluating this window panicked")
	assert.Equal(t, int64(1), e.Stats().Panics)
}

func TestFindingsOfTheConnectorAreIgnored(t *testing.T) {
	e := testEngine(t, nil)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "obslint")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(Scope)
	sl.LogRecords().AppendEmpty().Body().SetStr("finding")
	e.ConsumeLogs(ld)
	assert.Empty(t, e.EvaluateNow())
}

// Run with -race: batches from many goroutines while the ticker evaluates
// and rotates, and the memory limit evicts.
func TestConcurrentConsumeEvaluateRotate(t *testing.T) {
	e := testEngine(t, func(c *Config) { c.MemoryLimitMiB = 1; c.MaxServices = 8 })
	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				e.ConsumeTraces(spanBatch(fmt.Sprintf("svc-%d", (g*7+i)%12), 20, 4))
				e.ConsumeLogs(logsOf([]checks.LogLine{{Source: "stdout", Raw: `{"level":"info","message":"m"}`}}, fmt.Sprintf("svc-%d", i%12)))
			}
		}()
	}
	go func() {
		defer close(done)
		for i := 0; i < 30; i++ {
			e.EvaluateNow()
			e.rotate()
		}
	}()
	wg.Wait()
	<-done
	st := e.Stats()
	assert.LessOrEqual(t, st.Services, 8)
	assert.LessOrEqual(t, st.Bytes, int64(1<<20))
	assert.GreaterOrEqual(t, st.Bytes, int64(0))
	// The accounting adds up: once every bucket left the window, nothing is held.
	for i := 0; i <= e.nBuckets; i++ {
		e.rotate()
	}
	assert.Equal(t, int64(0), e.Stats().Bytes)
}

func TestFailedScrapeIsAProblem(t *testing.T) {
	e := testEngine(t, nil)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "job")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(PrometheusReceiverScope)
	up := sm.Metrics().AppendEmpty()
	up.SetName("up")
	up.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(0)
	e.ConsumeMetrics(md)
	res := e.EvaluateNow()["job"]
	require.NotNil(t, res)
	assert.Contains(t, problemsOf(res), "up=0 for 1 scrapes")
	assert.False(t, res.Captured.Metrics)
}

func TestEvaluationTimeBudget(t *testing.T) {
	e := testEngine(t, nil)
	for i := 0; i < 20; i++ {
		e.ConsumeTraces(spanBatch(fmt.Sprintf("s%02d", i), 200, 2))
	}
	// A deadline already passed: nothing is judged, all are behind.
	res := e.evaluate(time.Now().Add(-time.Second))
	assert.Empty(t, res)
	assert.Equal(t, int64(20), e.Stats().Behind)
	// Without one, everything is judged; then nothing is behind.
	assert.Len(t, e.evaluate(time.Time{}), 20)
	assert.Zero(t, e.Stats().Behind)
	// The windows judged longest ago come first.
	e.ConsumeTraces(spanBatch("s00", 1, 0))
	e.ConsumeTraces(spanBatch("s01", 1, 0))
	e.judgedAt["s01"] = time.Time{}
	before := e.Results()
	deadline := time.Now().Add(-time.Nanosecond)
	e.evaluate(deadline) // the first check of the deadline happens before any judging
	after := e.Results()
	assert.Same(t, before["s00"], after["s00"])
	assert.Equal(t, int64(2), e.Stats().Behind)
}

// Series with otel_scope_name labels arrive under that scope; the resource
// the receiver made still marks them as a scrape, not as OTLP.
func TestScrapeUnderAnotherScope(t *testing.T) {
	e := testEngine(t, nil)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	for k, v := range map[string]string{"service.name": "job", "service.instance.id": "127.0.0.1:9", "url.scheme": "http"} {
		rm.Resource().Attributes().PutStr(k, v)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("my.instrumentation")
	m := sm.Metrics().AppendEmpty()
	m.SetName("jobs_total")
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.DataPoints().AppendEmpty().SetIntValue(3)
	e.ConsumeMetrics(md)
	res := e.EvaluateNow()["job"]
	require.NotNil(t, res)
	assert.True(t, res.Captured.Metrics)

	// An SDK's push is OTLP evidence, not a scrape.
	rm.Resource().Attributes().PutStr("telemetry.sdk.name", "opentelemetry")
	rm.Resource().Attributes().PutStr("service.name", "sdk")
	e.ConsumeMetrics(md)
	res = e.EvaluateNow()["sdk"]
	require.NotNil(t, res)
	assert.False(t, res.Captured.Metrics)
}

// Thousands of services each sending a little would fill no per-service cap:
// the copy budget bounds what the engine copies across all of them.
func TestCopyBudgetBoundsWorkAcrossServices(t *testing.T) {
	e := testEngine(t, func(c *Config) { c.MaxCopyPerSecond = 50 })
	for i := range 20 {
		e.ConsumeTraces(spanBatch(fmt.Sprintf("svc-%d", i), 5, 0))
	}
	st := e.Stats()
	// A one-second burst of 50 (plus the trickle refilled while the test ran).
	assert.GreaterOrEqual(t, st.Spans, 50)
	assert.Less(t, st.Spans, 60)
	assert.Equal(t, int64(100), int64(st.Spans)+st.Dropped)
	res := e.EvaluateNow()["svc-19"]
	assert.Contains(t, problemsOf(res), "5 spans in this window were not kept (max_spans_per_service=")
	assert.Contains(t, problemsOf(res), "max_copy_per_second")

	unlimited := testEngine(t, func(c *Config) { c.MaxCopyPerSecond = 0 })
	for i := range 20 {
		unlimited.ConsumeTraces(spanBatch(fmt.Sprintf("svc-%d", i), 5, 0))
	}
	assert.Equal(t, 100, unlimited.Stats().Spans)
	assert.Zero(t, unlimited.Stats().Dropped)
}
