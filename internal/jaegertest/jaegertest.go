// Package jaegertest runs a real Jaeger all-in-one (v1.76.0, in-memory
// storage) on loopback for tests. The binary is built once by `make jaeger`
// (tools/jaeger/build.sh) into the obslint cache; OBSLINT_JAEGER overrides
// its path.
package jaegertest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obslint/obslint/internal/launch"
)

// Version is the Jaeger release tools/jaeger builds.
const Version = "v1.76.0"

const (
	// readyTimeout bounds the wait for the health endpoint; Jaeger is
	// usually ready in about a second.
	readyTimeout = 30 * time.Second
	// startAttempts: free ports are picked before Jaeger binds them, so
	// another process can take one in between; then we try again.
	startAttempts = 3
	stopGrace     = 5 * time.Second
)

// Jaeger is a running Jaeger. Every address is 127.0.0.1:port.
type Jaeger struct {
	OTLPHTTP  string // OTLP/HTTP receiver, host:port (the SDK wants http://host:port)
	OTLPGRPC  string // OTLP/gRPC receiver
	QueryGRPC string // api_v2 / api_v3 gRPC query service
	QueryHTTP string // api_v3 HTTP gateway and UI
	Health    string // healthcheckv2 HTTP
	// StartupTime is how long Jaeger took from exec to healthy.
	StartupTime time.Duration

	proc *launch.Process
	dir  string
}

// BinaryPath is where the Jaeger binary is expected: $OBSLINT_JAEGER, else
// ${OBSLINT_CACHE:-$HOME/.cache/obslint}/jaeger-v1.76.0/jaeger, as written by
// tools/jaeger/build.sh.
func BinaryPath() string {
	if p := os.Getenv("OBSLINT_JAEGER"); p != "" {
		return p
	}
	cache := os.Getenv("OBSLINT_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		cache = filepath.Join(home, ".cache", "obslint")
	}
	return filepath.Join(cache, "jaeger-"+Version, "jaeger")
}

// Start launches Jaeger for the test and stops it in t.Cleanup. A missing
// binary fails the test with how to build it.
func Start(t testing.TB) *Jaeger {
	t.Helper()
	j, err := Launch(context.Background())
	if err != nil {
		t.Fatalf("jaegertest: %v", err)
	}
	t.Cleanup(func() {
		if err := j.Stop(); err != nil {
			t.Logf("jaegertest: stopping Jaeger: %v", err)
		}
	})
	return j
}

// Launch starts Jaeger and waits until it is healthy; Stop it when done.
// For a TestMain, where there is no testing.TB.
func Launch(ctx context.Context) (*Jaeger, error) {
	bin := BinaryPath()
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return nil, fmt.Errorf("no Jaeger binary at %s: run `make jaeger` (builds it once, ~5 min) or set OBSLINT_JAEGER", bin)
	}
	var errs []error
	for range startAttempts {
		j, err := launchOnce(ctx, bin)
		if err == nil {
			return j, nil
		}
		errs = append(errs, err)
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func launchOnce(ctx context.Context, bin string) (*Jaeger, error) {
	ports := make([]int, 5)
	for i := range ports {
		p, err := launch.FreePort()
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ports[i] = p
	}
	addr := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }
	j := &Jaeger{
		OTLPGRPC:  addr(ports[0]),
		OTLPHTTP:  addr(ports[1]),
		QueryGRPC: addr(ports[2]),
		QueryHTTP: addr(ports[3]),
		Health:    addr(ports[4]),
	}
	dir, err := os.MkdirTemp("", "obslint-jaeger")
	if err != nil {
		return nil, err
	}
	j.dir = dir
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(j.config()), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	start := time.Now()
	p, err := launch.Start(ctx, launch.Options{
		Command: []string{bin, "--config", cfg},
		Dir:     dir,
		Env: []string{
			// Receivers and extensions we do not configure would bind all
			// interfaces without this.
			"JAEGER_LISTEN_HOST=127.0.0.1",
			// Should any self-tracing be left on, it goes to this Jaeger
			// (where a test can see it) rather than to localhost:4317.
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + j.OTLPGRPC,
			"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
			"OTEL_BSP_SCHEDULE_DELAY=100",
		},
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	j.proc = p
	if err := j.waitHealthy(ctx); err != nil {
		_ = j.Stop()
		return nil, fmt.Errorf("%w\nlast Jaeger output:\n%s", err, strings.Join(p.Tail(30), "\n"))
	}
	j.StartupTime = time.Since(start)
	return j, nil
}

// config is a loopback-only Jaeger v2 config: in-memory storage, OTLP in,
// both query APIs, a health check, no self-metrics port and no self-tracing
// (jaeger_query traces its own HTTP handlers by default and exports them to
// localhost:4317, where a test's obslint receiver may be listening). The
// batch processor flushes quickly so tests see spans soon.
func (j *Jaeger) config() string {
	return fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    traces:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    enable_tracing: false
    storage:
      traces: memstore
    http:
      endpoint: %q
    grpc:
      endpoint: %q
  healthcheckv2:
    use_v2: true
    http:
      endpoint: %q
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %q
      http:
        endpoint: %q
processors:
  batch:
    timeout: 50ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`, j.QueryHTTP, j.QueryGRPC, j.Health, j.OTLPGRPC, j.OTLPHTTP)
}

func (j *Jaeger) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	url := "http://" + j.Health + "/status"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-j.proc.Done():
			return fmt.Errorf("jaeger exited with code %d before it was healthy", j.proc.ExitCode())
		case <-ctx.Done():
			return fmt.Errorf("jaeger not healthy at %s within %s", url, readyTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop stops Jaeger (SIGTERM, then SIGKILL) and removes its config.
func (j *Jaeger) Stop() error {
	var err error
	if j.proc != nil {
		err = j.proc.Stop(stopGrace)
	}
	if j.dir != "" {
		os.RemoveAll(j.dir)
	}
	return err
}

// Output is the last n lines Jaeger wrote, for failure messages.
func (j *Jaeger) Output(n int) []string { return j.proc.Tail(n) }
