// Package conformanceconnector is the obslint conformance connector for the
// OpenTelemetry Collector: it feeds traces, logs and metrics to the shared
// conformance engine (see package conformance) and emits the engine's
// findings as OTLP log records and as obslint_findings gauges, so findings
// go wherever the pipelines already send data. See ../conformance/README.md.
package conformanceconnector

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/obslint/obslint/collector/conformance"
)

// NewFactory returns the conformance connector's factory: traces, logs and
// metrics in; findings out as logs and as metrics.
func NewFactory() connector.Factory {
	st := conformance.Stability
	return connector.NewFactory(conformance.Type, createDefaultConfig,
		connector.WithTracesToLogs(createTracesToLogs, st),
		connector.WithTracesToMetrics(createTracesToMetrics, st),
		connector.WithLogsToLogs(createLogsToLogs, st),
		connector.WithLogsToMetrics(createLogsToMetrics, st),
		connector.WithMetricsToLogs(createMetricsToLogs, st),
		connector.WithMetricsToMetrics(createMetricsToMetrics, st))
}

func createDefaultConfig() component.Config { return conformance.NewDefaultConfig() }

func newLogsOut(set connector.Settings, cfg component.Config, next consumer.Logs, in conformance.Signal) (*findingsConnector, error) {
	c, err := newConnector(set, cfg, in)
	if err != nil {
		return nil, err
	}
	c.logsOut = &logEmitter{next: next, logger: c.logger, seen: map[string]map[findingKey]string{}}
	c.key = set.ID.String() + "/logs"
	return c, nil
}

func newMetricsOut(set connector.Settings, cfg component.Config, next consumer.Metrics, in conformance.Signal) (*findingsConnector, error) {
	c, err := newConnector(set, cfg, in)
	if err != nil {
		return nil, err
	}
	c.metricsOut = &metricEmitter{next: next, logger: c.logger}
	c.key = set.ID.String() + "/metrics"
	return c, nil
}

func newConnector(set connector.Settings, cfg component.Config, in conformance.Signal) (*findingsConnector, error) {
	c, ok := cfg.(*conformance.Config)
	if !ok {
		return nil, fmt.Errorf("conformance connector: config is %T, want *conformance.Config", cfg)
	}
	return &findingsConnector{handle: conformance.NewHandle(c, set.TelemetrySettings, set.BuildInfo), in: in, logger: set.Logger}, nil
}

func createTracesToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Traces, error) {
	return newLogsOut(set, cfg, next, conformance.SignalTraces)
}

func createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	return newMetricsOut(set, cfg, next, conformance.SignalTraces)
}

func createLogsToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Logs, error) {
	return newLogsOut(set, cfg, next, conformance.SignalLogs)
}

func createLogsToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Logs, error) {
	return newMetricsOut(set, cfg, next, conformance.SignalLogs)
}

func createMetricsToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Metrics, error) {
	return newLogsOut(set, cfg, next, conformance.SignalMetrics)
}

func createMetricsToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Metrics, error) {
	return newMetricsOut(set, cfg, next, conformance.SignalMetrics)
}
