package conformanceconnector

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/obslint/obslint/collector/conformance"
)

// findingsConnector is one connector instance: it feeds its input signal to
// the engine (unless a conformance processor of the same engine already
// does) and, on every evaluation, emits findings to its output.
type findingsConnector struct {
	handle     *conformance.Handle
	in         conformance.Signal
	logger     *zap.Logger
	key        string
	logsOut    *logEmitter
	metricsOut *metricEmitter
}

func (c *findingsConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// Start acquires the engine and subscribes to its evaluations. Instances of
// one connector ID with the same output feed the same pipelines, so only one
// subscription per ID and output emits.
func (c *findingsConnector) Start(ctx context.Context, host component.Host) error {
	if err := c.handle.Start(ctx, host); err != nil {
		return err
	}
	e := c.handle.Engine()
	switch {
	case c.logsOut != nil:
		e.Subscribe(c.key, c.logsOut.emit)
	case c.metricsOut != nil:
		e.Subscribe(c.key, c.metricsOut.emit)
	}
	return nil
}

func (c *findingsConnector) Shutdown(ctx context.Context) error {
	if e := c.handle.Engine(); e != nil {
		e.Unsubscribe(c.key)
	}
	return c.handle.Shutdown(ctx)
}

func (c *findingsConnector) engine() *conformance.Engine {
	e := c.handle.Engine()
	if e == nil || e.ProcessorFeeds(c.in) {
		return nil
	}
	return e
}

func (c *findingsConnector) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	if e := c.engine(); e != nil {
		e.ConsumeTraces(td)
	}
	return nil
}

func (c *findingsConnector) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	if e := c.engine(); e != nil {
		e.ConsumeLogs(ld)
	}
	return nil
}

func (c *findingsConnector) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	if e := c.engine(); e != nil {
		e.ConsumeMetrics(md)
	}
	return nil
}
