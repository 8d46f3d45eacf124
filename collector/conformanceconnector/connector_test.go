package conformanceconnector

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/collector/conformance"
)

const casesDir = "../../fixtures/cases"

func traces(t *testing.T, fixture string) []ptrace.Traces {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(casesDir, fixture, "traces.json"))
	require.NoError(t, err)
	var u ptrace.JSONUnmarshaler
	var out []ptrace.Traces
	for _, line := range bytes.Split(body, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		td, err := u.UnmarshalTraces(line)
		if err != nil { // one pretty-printed request
			td, err = u.UnmarshalTraces(body)
			require.NoError(t, err)
			return []ptrace.Traces{td}
		}
		out = append(out, td)
	}
	return out
}

type pair struct {
	logs    *consumertest.LogsSink
	metrics *consumertest.MetricsSink
	comps   []component.Component
	traces  connector.Traces
}

// start creates traces→logs and traces→metrics instances of one connector,
// as the collector does for `exporters: [conformance]` in a traces pipeline
// and `receivers: [conformance]` in a logs and a metrics pipeline.
func start(t *testing.T, cfg *conformance.Config) *pair {
	t.Helper()
	f := NewFactory()
	set := connectortest.NewNopSettings(f.Type())
	p := &pair{logs: new(consumertest.LogsSink), metrics: new(consumertest.MetricsSink)}
	tl, err := f.CreateTracesToLogs(context.Background(), set, cfg, p.logs)
	require.NoError(t, err)
	tm, err := f.CreateTracesToMetrics(context.Background(), set, cfg, p.metrics)
	require.NoError(t, err)
	ll, err := f.CreateLogsToLogs(context.Background(), set, cfg, p.logs)
	require.NoError(t, err)
	p.comps = []component.Component{tl, tm, ll}
	p.traces = tl
	for _, c := range p.comps {
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	}
	t.Cleanup(func() {
		for _, c := range p.comps {
			require.NoError(t, c.Shutdown(context.Background()))
		}
	})
	assert.False(t, tl.Capabilities().MutatesData)
	return p
}

func testConfig(t *testing.T) *conformance.Config {
	cfg := conformance.NewDefaultConfig()
	cfg.Engine = t.Name()
	cfg.EvaluateEvery = time.Hour // evaluations are forced with EvaluateNow
	cfg.Window = time.Hour
	return cfg
}

func TestFindingsAsLogRecords(t *testing.T) {
	cfg := testConfig(t)
	p := start(t, cfg)
	for _, td := range traces(t, "traces-status-fail") {
		require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
	}
	e := conformance.EngineFor(cfg.Engine)
	require.NotNil(t, e)
	res := e.EvaluateNow()
	require.Len(t, res, 1)
	var service string
	var r *checks.Result
	for service, r = range res {
	}
	require.NotEmpty(t, r.Findings)

	// Both traces→logs and logs→logs instances exist; findings leave once.
	require.Len(t, p.logs.AllLogs(), 1)
	ld := p.logs.AllLogs()[0]
	require.Equal(t, 1, ld.ResourceLogs().Len())
	rl := ld.ResourceLogs().At(0)
	sn, _ := rl.Resource().Attributes().Get("service.name")
	assert.Equal(t, service, sn.Str())
	assert.Equal(t, conformance.Scope, rl.ScopeLogs().At(0).Scope().Name())

	// One record per distinct rule+subject, carrying the finding.
	type key struct{ rule, subject string }
	want := map[key]checks.Finding{}
	for _, f := range r.Findings {
		if _, ok := want[key{f.Rule, f.Subject}]; !ok {
			want[key{f.Rule, f.Subject}] = f
		}
	}
	lrs := rl.ScopeLogs().At(0).LogRecords()
	require.Equal(t, len(want), lrs.Len())
	for i := 0; i < lrs.Len(); i++ {
		lr := lrs.At(i)
		a := lr.Attributes().AsRaw()
		f, ok := want[key{a[AttrRule].(string), a[AttrSubject].(string)}]
		require.True(t, ok, "unexpected record %v", a)
		assert.Equal(t, EventName, lr.EventName())
		assert.Equal(t, f.Message, lr.Body().Str())
		assert.Equal(t, f.Severity.String(), a[AttrSeverity])
		assert.Equal(t, f.Severity.String(), lr.SeverityText())
		want := map[checks.Severity]plog.SeverityNumber{checks.Error: plog.SeverityNumberError, checks.Warning: plog.SeverityNumberWarn, checks.Info: plog.SeverityNumberInfo}[f.Severity]
		assert.Equal(t, want, lr.SeverityNumber())
		status := StatusFail
		if f.Severity == checks.Info {
			status = StatusInfo
		}
		assert.Equal(t, status, a[AttrStatus])
		assert.NotZero(t, lr.Timestamp())
	}

	// The same findings on the next evaluation are not emitted again.
	e.EvaluateNow()
	assert.Len(t, p.logs.AllLogs(), 1)
}

func TestFindingsAsMetrics(t *testing.T) {
	cfg := testConfig(t)
	p := start(t, cfg)
	for _, td := range traces(t, "traces-status-fail") {
		require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
	}
	e := conformance.EngineFor(cfg.Engine)
	res := e.EvaluateNow()
	require.Len(t, p.metrics.AllMetrics(), 1)
	md := p.metrics.AllMetrics()[0]
	rm := md.ResourceMetrics().At(0)
	sn, _ := rm.Resource().Attributes().Get("service.name")
	assert.Equal(t, "obslint", sn.Str())

	var findings pmetric.Metric
	ms := rm.ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Name() == FindingsMetric {
			findings = ms.At(i)
		}
	}
	require.Equal(t, pmetric.MetricTypeGauge, findings.Type())
	got := map[string]int64{}
	dps := findings.Gauge().DataPoints()
	for i := 0; i < dps.Len(); i++ {
		a := dps.At(i).Attributes().AsRaw()
		got[a["service"].(string)+" "+a["rule"].(string)+" "+a["severity"].(string)] = dps.At(i).IntValue()
	}
	for service, r := range res {
		for _, rr := range r.Rules {
			switch rr.Status {
			case checks.StatusPass:
				assert.Equal(t, int64(0), got[service+" "+rr.ID+" "+rr.Severity.String()], rr.ID)
			case checks.StatusFail:
				assert.Equal(t, int64(rr.Findings), got[service+" "+rr.ID+" "+rr.Severity.String()], rr.ID)
			default:
				for k := range got {
					assert.NotContains(t, k, " "+rr.ID+" ", "no series for a rule not evaluated")
				}
			}
		}
	}
	assert.Positive(t, got[func() string {
		for s := range res {
			return s + " traces/status error"
		}
		return ""
	}()])
}

func TestCleanInputFailsNothing(t *testing.T) {
	cfg := testConfig(t)
	p := start(t, cfg)
	for _, td := range traces(t, "traces-clean-pass-node") {
		require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
	}
	res := conformance.EngineFor(cfg.Engine).EvaluateNow()
	require.Len(t, res, 1)
	for _, r := range res {
		for _, rr := range r.Rules {
			assert.NotEqual(t, checks.StatusFail, rr.Status, rr.ID)
		}
	}
	for _, ld := range p.logs.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			lrs := ld.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords()
			for j := 0; j < lrs.Len(); j++ {
				st, _ := lrs.At(j).Attributes().Get(AttrStatus)
				assert.NotEqual(t, StatusFail, st.Str())
			}
		}
	}
}

func TestStatusChangeIsEmittedAgain(t *testing.T) {
	seen := map[string]map[findingKey]string{}
	f := checks.Finding{Rule: "traces/status", Severity: checks.Error, Subject: "span GET", Message: "m1"}
	res := map[string]*checks.Result{"a": {Findings: []checks.Finding{f}}}
	now := time.Now()
	assert.Equal(t, 1, findingLogs(res, seen, now).LogRecordCount())
	f.Message = "m2 (another trace id)"
	res["a"].Findings[0] = f
	assert.Equal(t, 0, findingLogs(res, seen, now).LogRecordCount(), "same rule and subject, same status")
	f.Severity = checks.Info
	res["a"].Findings[0] = f
	assert.Equal(t, 1, findingLogs(res, seen, now).LogRecordCount(), "status changed to info")
	res["a"].Findings = nil
	assert.Equal(t, 0, findingLogs(res, seen, now).LogRecordCount())
	res["a"].Findings = []checks.Finding{f}
	assert.Equal(t, 1, findingLogs(res, seen, now).LogRecordCount(), "a finding that went away and came back")
	assert.Equal(t, 0, findingLogs(map[string]*checks.Result{}, seen, now).LogRecordCount())
	assert.Empty(t, seen, "services no longer evaluated are forgotten")
}

// A conformance processor and connector sharing an engine: the processor
// feeds it, the connector does not count the same spans twice.
func TestProcessorAndConnectorShareAnEngine(t *testing.T) {
	cfg := testConfig(t)
	pf := conformance.NewFactory()
	proc, err := pf.CreateTraces(context.Background(), processortest.NewNopSettings(pf.Type()), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, proc.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, proc.Shutdown(context.Background())) }()
	p := start(t, cfg)
	tds := traces(t, "traces-status-fail")
	spans := 0
	for _, td := range tds {
		spans += td.SpanCount()
		require.NoError(t, proc.ConsumeTraces(context.Background(), td))
		require.NoError(t, p.traces.ConsumeTraces(context.Background(), td))
	}
	e := conformance.EngineFor(cfg.Engine)
	e.EvaluateNow()
	assert.Len(t, p.logs.AllLogs(), 1, "the connector reports what the processor fed")
	var n int
	for _, r := range e.Results() {
		_ = r
		n++
	}
	assert.Equal(t, 1, n)
	assert.Equal(t, spans, e.Stats().Spans, "each span counted once")
}

func TestFactoryAndLifecycle(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, conformance.Type, f.Type())
	cfg := f.CreateDefaultConfig().(*conformance.Config)
	assert.NoError(t, cfg.Validate())
	set := connectortest.NewNopSettings(f.Type())
	ctx := context.Background()
	cfg.Engine = t.Name()
	ml, err := f.CreateMetricsToLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	mm, err := f.CreateMetricsToMetrics(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	lm, err := f.CreateLogsToMetrics(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	for _, c := range []component.Component{ml, mm, lm} {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	}
	require.NoError(t, ml.ConsumeMetrics(ctx, pmetric.NewMetrics()))
	require.NoError(t, lm.ConsumeLogs(ctx, plog.NewLogs()))
	for _, c := range []component.Component{ml, mm, lm} {
		require.NoError(t, c.Shutdown(ctx))
	}
	assert.Nil(t, conformance.EngineFor(cfg.Engine))
}
