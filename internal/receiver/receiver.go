// Package receiver is the embedded OTLP receiver the `run` and `audit`
// front doors point a service's SDK at: the collector's own otlpreceiver
// (gRPC and HTTP, protobuf and JSON, gzip) on loopback, feeding a store
// that spools spans to disk for the judge and keeps OTLP log records and
// metrics within caps. The collector components (collector/) live apart.
package receiver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	otelreceiver "go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	nooptrace "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/obslint/obslint/checks"
)

// Defaults for Options fields left zero.
const (
	DefaultGRPCAddr        = "127.0.0.1:4317"
	DefaultHTTPAddr        = "127.0.0.1:4318"
	DefaultMaxSpoolBytes   = 1 << 30
	DefaultMaxMetrics      = 100_000
	DefaultMaxRequestBytes = 20 << 20 // the collector's own HTTP default
)

// startAttempts bounds the retries when an automatically chosen port is
// taken between choosing it and binding it.
const startAttempts = 5

// Options configures Start. Zero fields take the defaults above.
type Options struct {
	// GRPCAddr and HTTPAddr are host:port to listen on. "" means the
	// conventional 127.0.0.1:4317 / :4318 when free, else a free loopback
	// port. An address given explicitly is used as is: failing to bind it is
	// an error.
	GRPCAddr, HTTPAddr string
	// MaxSpoolBytes bounds the spans and OTLP log records spooled
	// (protobuf, on disk); MaxMetrics the OTLP metric names kept in memory.
	// More is counted as dropped and reported by Problems.
	MaxSpoolBytes int64
	MaxMetrics    int
	// MaxRequestBytes bounds one OTLP request: the HTTP body size (compressed
	// and decompressed) and the gRPC message size (rounded up to whole MiB,
	// the unit the collector takes).
	MaxRequestBytes int
}

// Receiver is a running embedded OTLP receiver.
type Receiver struct {
	grpcAddr, httpAddr string
	comp               component.Component
	store              *store
	shutdownOnce       sync.Once
	shutdownErr        error
}

// Start starts the OTLP receiver on loopback. It returns once both
// listeners are bound, so a service launched afterwards can export at once.
func Start(ctx context.Context, opt Options) (*Receiver, error) {
	opt = withDefaults(opt)
	st := newStore(opt.MaxSpoolBytes, opt.MaxMetrics)
	var lastErr error
	for attempt := range startAttempts {
		grpcAddr, err := chooseAddr(opt.GRPCAddr, DefaultGRPCAddr, attempt)
		if err != nil {
			return nil, err
		}
		httpAddr, err := chooseAddr(opt.HTTPAddr, DefaultHTTPAddr, attempt)
		if err != nil {
			return nil, err
		}
		comp, err := startOTLP(ctx, grpcAddr, httpAddr, opt.MaxRequestBytes, st)
		if err == nil {
			return &Receiver{grpcAddr: grpcAddr, httpAddr: httpAddr, comp: comp, store: st}, nil
		}
		lastErr = err
		// Only a port we picked ourselves may be swapped for another one.
		auto := opt.GRPCAddr == "" || opt.HTTPAddr == ""
		if !auto || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	return nil, fmt.Errorf("starting the OTLP receiver: %w", lastErr)
}

func withDefaults(opt Options) Options {
	if opt.MaxSpoolBytes <= 0 {
		opt.MaxSpoolBytes = DefaultMaxSpoolBytes
	}
	if opt.MaxMetrics <= 0 {
		opt.MaxMetrics = DefaultMaxMetrics
	}
	if opt.MaxRequestBytes <= 0 {
		opt.MaxRequestBytes = DefaultMaxRequestBytes
	}
	return opt
}

// chooseAddr returns the address to try: the one given, else the
// conventional one when it is free (first attempt only), else a free port.
// otlpreceiver cannot report the port it bound, so ":0" is no option.
func chooseAddr(given, conventional string, attempt int) (string, error) {
	if given != "" {
		return given, nil
	}
	if attempt == 0 && portFree(conventional) {
		return conventional, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func portFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// startOTLP creates the traces, logs and metrics receivers on one shared
// *Config (otlpreceiver keeps one server per config pointer) and starts it.
func startOTLP(ctx context.Context, grpcAddr, httpAddr string, maxBytes int, st *store) (component.Component, error) {
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	// From code no protocol is enabled until GetOrInsertDefault is called.
	g := cfg.Protocols.GRPC.GetOrInsertDefault()
	g.NetAddr.Endpoint = grpcAddr
	g.MaxRecvMsgSizeMiB = (maxBytes + (1<<20 - 1)) >> 20
	h := cfg.Protocols.HTTP.GetOrInsertDefault()
	h.ServerConfig.NetAddr.Endpoint = httpAddr
	h.ServerConfig.MaxRequestBodySize = int64(maxBytes)

	set := otelreceiver.Settings{
		ID: component.NewIDWithName(f.Type(), "obslint"), // the type must be the factory's
		TelemetrySettings: component.TelemetrySettings{
			Logger:         zap.NewNop(),
			TracerProvider: nooptrace.NewTracerProvider(),
			MeterProvider:  noopmetric.NewMeterProvider(),
			Resource:       pcommon.NewResource(),
		},
		BuildInfo: component.NewDefaultBuildInfo(),
	}
	tc, lc, mc, err := consumers(st)
	if err != nil {
		return nil, err
	}
	tr, err := f.CreateTraces(ctx, set, cfg, tc)
	if err != nil {
		return nil, err
	}
	if _, err := f.CreateLogs(ctx, set, cfg, lc); err != nil {
		return nil, err
	}
	if _, err := f.CreateMetrics(ctx, set, cfg, mc); err != nil {
		return nil, err
	}
	// All three are the same shared component: one Start binds both servers.
	if err := tr.Start(ctx, host{}); err != nil {
		// Shutdown also drops it from otlpreceiver's shared map, so a retry
		// with a new config starts clean.
		return nil, errors.Join(err, tr.Shutdown(context.WithoutCancel(ctx)))
	}
	return tr, nil
}

// consumers spool spans (marshaled) and flatten the rest into checks types
// before returning: pdata is only valid during the call. They never return
// an error, so the SDK never retries into a full store; drops are counted
// instead.
func consumers(st *store) (consumer.Traces, consumer.Logs, consumer.Metrics, error) {
	tc, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
		st.addTraces(td)
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	lc, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		st.addLogs(ld)
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	mc, err := consumer.NewMetrics(func(_ context.Context, md pmetric.Metrics) error {
		st.addMetrics(checks.OTLPMetricsFromMetrics(md))
		return nil
	})
	return tc, lc, mc, err
}

// host is the minimal component.Host; importing componenttest would drag
// "testing" into the binary.
type host struct{}

func (host) GetExtensions() map[component.ID]component.Component { return nil }

// GRPCEndpoint is the gRPC listen address as host:port.
func (r *Receiver) GRPCEndpoint() string { return r.grpcAddr }

// HTTPEndpoint is the OTLP/HTTP base URL, e.g. "http://127.0.0.1:4318"; the
// SDKs append /v1/traces etc. to OTEL_EXPORTER_OTLP_ENDPOINT themselves.
func (r *Receiver) HTTPEndpoint() string { return "http://" + r.httpAddr }

// GRPCPort and HTTPPort are the bound ports, for building other URLs.
func (r *Receiver) GRPCPort() int { return port(r.grpcAddr) }

// HTTPPort is the bound OTLP/HTTP port.
func (r *Receiver) HTTPPort() int { return port(r.httpAddr) }

func port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// Received returns the spans and OTLP log records received so far, in
// arrival order, to be read back from the spool.
func (r *Receiver) Received() *Received { return r.store.received() }

// Service is the service.name of the first span received ("" if none).
func (r *Receiver) Service() string { return r.store.firstService() }

// Metrics returns the OTLP metric streams received so far.
func (r *Receiver) Metrics() []checks.OTLPMetric { return r.store.snapshotMetrics() }

// Problems reports the limits hit, e.g. "12 spans dropped past the limit of 1000".
func (r *Receiver) Problems() []checks.Problem { return r.store.problems() }

// WaitForSpans returns when every trace id has at least one SERVER span, or
// when at least minServer SERVER spans arrived in total and no new span
// arrived for quiet (counted from the later of the last arrival and the
// call), or when ctx is done, or when the receiver shuts down. It returns
// the ids still missing a SERVER span. quiet <= 0 disables the quiet exit;
// with no trace ids only the quiet exit or ctx end the wait.
func (r *Receiver) WaitForSpans(ctx context.Context, traceIDs []string, minServer int, quiet time.Duration) []string {
	return r.store.waitForSpans(ctx, traceIDs, minServer, quiet)
}

// Shutdown stops both servers and wakes any waiter. It is idempotent;
// spans received stay readable.
func (r *Receiver) Shutdown(ctx context.Context) error {
	r.shutdownOnce.Do(func() {
		r.shutdownErr = r.comp.Shutdown(ctx)
		r.store.close()
	})
	return r.shutdownErr
}
