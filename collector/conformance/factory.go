// Package conformance is the obslint conformance processor for the
// OpenTelemetry Collector: it passes traces, logs and metrics through
// unchanged and feeds an Engine that keeps bounded per-service windows of
// evidence and judges them with the same rule catalogue as the CLI. The
// conformanceconnector package turns the engine's findings into OTLP logs
// and metrics. See README.md.
package conformance

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
)

// Type is the component type of the processor and the connector.
var Type = component.MustNewType("conformance")

// Stability of every signal.
const Stability = component.StabilityLevelDevelopment

// NewFactory returns the conformance processor's factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(Type, createDefaultConfig,
		processor.WithTraces(createTraces, Stability),
		processor.WithLogs(createLogs, Stability),
		processor.WithMetrics(createMetrics, Stability))
}

func createDefaultConfig() component.Config { return NewDefaultConfig() }

// passThrough never mutates, drops or fails: the engine's troubles stay in
// the engine.
var passThrough = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: false})

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	h, err := newHandle(set, cfg, SignalTraces)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next,
		func(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
			if e := h.Engine(); e != nil {
				e.ConsumeTraces(td)
			}
			return td, nil
		}, passThrough, processorhelper.WithStart(h.Start), processorhelper.WithShutdown(h.Shutdown))
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	h, err := newHandle(set, cfg, SignalLogs)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next,
		func(_ context.Context, ld plog.Logs) (plog.Logs, error) {
			if e := h.Engine(); e != nil {
				e.ConsumeLogs(ld)
			}
			return ld, nil
		}, passThrough, processorhelper.WithStart(h.Start), processorhelper.WithShutdown(h.Shutdown))
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	h, err := newHandle(set, cfg, SignalMetrics)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, next,
		func(_ context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
			if e := h.Engine(); e != nil {
				e.ConsumeMetrics(md)
			}
			return md, nil
		}, passThrough, processorhelper.WithStart(h.Start), processorhelper.WithShutdown(h.Shutdown))
}

func newHandle(set processor.Settings, cfg component.Config, feeds Signal) (*Handle, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("conformance: config is %T, want *conformance.Config", cfg)
	}
	h := NewHandle(c, set.TelemetrySettings, set.BuildInfo)
	h.feeds = feeds
	return h, nil
}
