package conformance

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"
)

// registry holds the engines of this process by name.
var registry = struct {
	sync.Mutex
	engines map[string]*Engine
}{engines: map[string]*Engine{}}

// EngineFor returns the running engine with this name ("" means "default"),
// or nil if no started component uses it.
func EngineFor(name string) *Engine {
	if name == "" {
		name = defaultEngine
	}
	registry.Lock()
	defer registry.Unlock()
	return registry.engines[name]
}

// Handle is one component's claim on a shared engine: Start acquires the
// engine named in the config (creating and starting it on first use),
// Shutdown releases it (stopping it on last use). The connector uses it too.
type Handle struct {
	cfg     *Config
	logger  *zap.Logger
	version string
	engine  atomic.Pointer[Engine]
	// feeds is the signal a processor feeds, -1 for a connector.
	feeds Signal
}

// NewHandle makes a handle for a component with this config.
func NewHandle(cfg *Config, tel component.TelemetrySettings, build component.BuildInfo) *Handle {
	logger := tel.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Handle{cfg: cfg, logger: logger, version: build.Version, feeds: -1}
}

// Engine returns the engine once started, else nil.
func (h *Handle) Engine() *Engine { return h.engine.Load() }

// Start acquires the engine. The first component of an engine creates it
// with its own config; later ones share it, and a differing config is
// logged, not merged.
func (h *Handle) Start(_ context.Context, _ component.Host) error {
	if h.engine.Load() != nil {
		return nil
	}
	name := h.cfg.engineName()
	registry.Lock()
	defer registry.Unlock()
	e, ok := registry.engines[name]
	if !ok {
		e = newEngine(name, h.cfg, h.logger, h.version)
		if err := e.start(); err != nil {
			return err
		}
		registry.engines[name] = e
	} else {
		if err := e.serveReport(h.cfg.Report.Endpoint); err != nil {
			return err
		}
		switch {
		case isDefault(&e.cfg) && !isDefault(h.cfg):
			// Settings someone wrote win over defaults, whichever component
			// the collector happened to start first.
			e.reconfigure(h.cfg)
		case !sameEngineConfig(&e.cfg, h.cfg) && !isDefault(h.cfg):
			h.logger.Warn("conformance components share an engine but differ in its settings; the first one's settings apply",
				zap.String("engine", name))
		}
	}
	e.refs++
	if h.feeds >= 0 {
		e.processors[h.feeds].Add(1)
	}
	h.engine.Store(e)
	return nil
}

// Shutdown releases the engine; the last release stops it.
func (h *Handle) Shutdown(ctx context.Context) error {
	e := h.engine.Swap(nil)
	if e == nil {
		return nil
	}
	if h.feeds >= 0 {
		e.processors[h.feeds].Add(-1)
	}
	registry.Lock()
	e.refs--
	last := e.refs <= 0
	if last && registry.engines[e.name] == e {
		delete(registry.engines, e.name)
	}
	registry.Unlock()
	if last {
		return e.shutdown(ctx)
	}
	return nil
}

// isDefault reports whether a config is the defaults but for the engine
// name and the report endpoint.
func isDefault(c *Config) bool {
	d := NewDefaultConfig()
	d.Engine, d.Report = c.Engine, c.Report
	return reflect.DeepEqual(c, d)
}

func sameEngineConfig(a, b *Config) bool {
	return a.Window == b.Window && a.EvaluateEvery == b.EvaluateEvery && a.MaxServices == b.MaxServices &&
		a.MaxSpansPerService == b.MaxSpansPerService && a.MaxLogRecordsPerService == b.MaxLogRecordsPerService &&
		a.MaxAttributes == b.MaxAttributes && a.MemoryLimitMiB == b.MemoryLimitMiB && a.Profile == b.Profile &&
		(b.Report.Endpoint == "" || a.Report.Endpoint == b.Report.Endpoint)
}
