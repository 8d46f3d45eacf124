package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/launch"
)

type ctxKey struct{}

func TestProcessorPassesDataThroughUnchanged(t *testing.T) {
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	f := NewFactory()
	cfg := NewDefaultConfig()
	cfg.Engine = t.Name()
	set := processortest.NewNopSettings(f.Type())

	tracesSink, logsSink, metricsSink := new(consumertest.TracesSink), new(consumertest.LogsSink), new(consumertest.MetricsSink)
	tp, err := f.CreateTraces(ctx, set, cfg, tracesSink)
	require.NoError(t, err)
	lp, err := f.CreateLogs(ctx, set, cfg, logsSink)
	require.NoError(t, err)
	mp, err := f.CreateMetrics(ctx, set, cfg, metricsSink)
	require.NoError(t, err)
	for _, c := range []component.Component{tp, lp, mp} {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	}
	assert.False(t, tp.Capabilities().MutatesData)
	assert.False(t, lp.Capabilities().MutatesData)
	assert.False(t, mp.Capabilities().MutatesData)
	e := EngineFor(cfg.Engine)
	require.NotNil(t, e, "a started processor registers its engine")

	var sent []ptrace.Traces
	for _, td := range tracesOf(t, filepath.Join(casesDir, "traces-structure-fail", "traces.json")) {
		want := ptrace.NewTraces()
		td.CopyTo(want)
		sent = append(sent, want)
		require.NoError(t, tp.ConsumeTraces(ctx, td))
	}
	sent = append(sent, spanBatch("", 3, 0), ptrace.NewTraces())
	require.NoError(t, tp.ConsumeTraces(ctx, sent[len(sent)-2]))
	require.NoError(t, tp.ConsumeTraces(ctx, sent[len(sent)-1]))
	assert.Equal(t, sent, tracesSink.AllTraces())

	ld := logsOf([]checks.LogLine{{Source: "stdout", Raw: `{"level":"info","message":"hi"}`}, {Source: "stdout", Raw: "not json"}}, "svc")
	wantLogs := plog.NewLogs()
	ld.CopyTo(wantLogs)
	require.NoError(t, lp.ConsumeLogs(ctx, ld))
	assert.Equal(t, []plog.Logs{wantLogs}, logsSink.AllLogs())

	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("requests")
	m.SetEmptySum().DataPoints().AppendEmpty().SetDoubleValue(1)
	wantMetrics := pmetric.NewMetrics()
	md.CopyTo(wantMetrics)
	require.NoError(t, mp.ConsumeMetrics(ctx, md))
	assert.Equal(t, []pmetric.Metrics{wantMetrics}, metricsSink.AllMetrics())

	// The context reaches the next consumer.
	assert.Equal(t, "v", tracesSink.Contexts()[0].Value(ctxKey{}))
	assert.Equal(t, "v", logsSink.Contexts()[0].Value(ctxKey{}))

	res := e.EvaluateNow()
	assert.Contains(t, res, "svc")
	assert.Contains(t, res, UnknownService)
	assert.True(t, e.ProcessorFeeds(SignalTraces))

	for _, c := range []component.Component{tp, lp, mp} {
		require.NoError(t, c.Shutdown(ctx))
	}
	assert.Nil(t, EngineFor(cfg.Engine), "the last shutdown releases the engine")
}

func TestProcessorBeforeStartAndAfterShutdownPassesThrough(t *testing.T) {
	f := NewFactory()
	sink := new(consumertest.TracesSink)
	tp, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), NewDefaultConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, tp.ConsumeTraces(context.Background(), spanBatch("a", 1, 0)))
	require.NoError(t, tp.Shutdown(context.Background()))
	assert.Equal(t, 1, sink.SpanCount())
}

func TestReportEndpoint(t *testing.T) {
	port, err := launch.FreePort()
	require.NoError(t, err)
	cfg := NewDefaultConfig()
	cfg.Engine = t.Name()
	cfg.Report.Endpoint = fmt.Sprintf("127.0.0.1:%d", port)
	f := NewFactory()
	tp, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, tp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, tp.Shutdown(context.Background())) }()
	e := EngineFor(cfg.Engine)
	require.Equal(t, cfg.Report.Endpoint, e.ReportAddr())

	for _, td := range tracesOf(t, filepath.Join(casesDir, "traces-status-fail", "traces.json")) {
		require.NoError(t, tp.ConsumeTraces(context.Background(), td))
	}
	results := e.EvaluateNow()
	require.Len(t, results, 1)
	var name string
	for name = range results {
	}

	get := func(path string) (int, []byte) {
		resp, err := http.Get("http://" + cfg.Report.Endpoint + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		return resp.StatusCode, b
	}
	code, body := get("/report")
	require.Equal(t, http.StatusOK, code)
	var all struct {
		SchemaVersion string                     `json:"schema_version"`
		Services      map[string]json.RawMessage `json:"services"`
	}
	require.NoError(t, json.Unmarshal(body, &all), string(body))
	assert.Equal(t, "1", all.SchemaVersion)
	require.Contains(t, all.Services, name)

	code, one := get("/report/" + name)
	require.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, string(all.Services[name]), string(one))
	var rep struct {
		SchemaVersion string `json:"schema_version"`
		Target        struct {
			Service string `json:"service"`
		} `json:"target"`
		Captured struct {
			Probes bool `json:"probes"`
			Traces bool `json:"traces"`
		} `json:"captured"`
		Summary struct {
			Errors int `json:"errors"`
		} `json:"summary"`
		Rules []struct {
			ID, Status, Reason string
		} `json:"rules"`
		Findings []struct {
			Rule string `json:"rule"`
		} `json:"findings"`
		Problems []any `json:"problems"`
	}
	require.NoError(t, json.Unmarshal(one, &rep))
	assert.Equal(t, name, rep.Target.Service)
	assert.True(t, rep.Captured.Traces)
	assert.False(t, rep.Captured.Probes)
	assert.NotEmpty(t, rep.Findings)
	assert.NotNil(t, rep.Problems)

	code, body = get("/report/nobody")
	assert.Equal(t, http.StatusNotFound, code)
	var e404 map[string]string
	require.NoError(t, json.Unmarshal(body, &e404))
	assert.Contains(t, e404["error"], `"nobody"`)
}

func TestReportEndpointInUseIsAStartError(t *testing.T) {
	port, err := launch.FreePort()
	require.NoError(t, err)
	f := NewFactory()
	start := func(engine string) error {
		cfg := NewDefaultConfig()
		cfg.Engine = engine
		cfg.Report.Endpoint = fmt.Sprintf("127.0.0.1:%d", port)
		tp, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
		require.NoError(t, err)
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		return tp.Start(context.Background(), componenttest.NewNopHost())
	}
	require.NoError(t, start(t.Name()+"1"))
	err = start(t.Name() + "2")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "conformance report endpoint")
	assert.Nil(t, EngineFor(t.Name()+"2"))
}

// The collector may start a connector with default settings before the
// processor that carries the user's: the written settings win.
func TestWrittenSettingsWinOverDefaults(t *testing.T) {
	f := NewFactory()
	create := func(cfg *Config) component.Component {
		tp, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, tp.Start(context.Background(), componenttest.NewNopHost()))
		t.Cleanup(func() { require.NoError(t, tp.Shutdown(context.Background())) })
		return tp
	}
	defaults := NewDefaultConfig()
	defaults.Engine = t.Name()
	create(defaults)
	written := NewDefaultConfig()
	written.Engine = t.Name()
	written.MaxServices = 2
	written.Disable = []string{"traces/*"}
	create(written)
	e := EngineFor(t.Name())
	for i := 0; i < 5; i++ {
		e.ConsumeTraces(spanBatch(fmt.Sprintf("s%d", i), 1, 0))
	}
	assert.Equal(t, 2, e.Stats().Services)
	for _, r := range e.EvaluateNow()["s4"].Rules {
		if r.Signal == checks.Traces {
			assert.Equal(t, checks.StatusDisabled, r.Status, r.ID)
		}
	}
	// A third, default, component changes nothing.
	create(defaults)
	assert.Equal(t, 2, EngineFor(t.Name()).cfg.MaxServices)
}
