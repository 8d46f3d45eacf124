package ocbtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"gopkg.in/yaml.v3"

	"github.com/obslint/obslint/internal/launch"
)

// ocbVersion must match the collector modules in go.mod and in
// collector/builder-config.yaml.
const ocbVersion = "v0.165.0"

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// builderBinary returns ocb: $OBSLINT_OCB if set, else the copy cached in
// $OBSLINT_CACHE (default the user cache directory's obslint/), installed there with `go install` when missing.
func builderBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OBSLINT_OCB"); p != "" {
		return p
	}
	cache := os.Getenv("OBSLINT_CACHE") // as tools/jaeger/build.sh
	if cache == "" {
		home, err := os.UserCacheDir()
		require.NoError(t, err)
		cache = filepath.Join(home, "obslint")
	}
	dir := filepath.Join(cache, "ocb-"+ocbVersion)
	bin := filepath.Join(dir, "builder")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, "go", "install", "go.opentelemetry.io/collector/cmd/builder@"+ocbVersion)
	install.Env = append(os.Environ(), "GOBIN="+dir)
	out, err := install.CombinedOutput()
	require.NoError(t, err, "installing ocb:\n%s", out)
	return bin
}

// TestBuilderConfigBuildsAndRuns builds the distribution from
// collector/builder-config.yaml exactly as a user would (ocb run from
// collector/, the obslint module taken from this checkout by `path:`),
// then checks that the binary lists the conformance components and runs a
// pipeline through them: spans in over OTLP, the service in /report.
func TestBuilderConfigBuildsAndRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a collector distribution with ocb")
	}
	builder := builderBinary(t)
	out := t.TempDir()
	manifest := buildManifest(t, out, os.Getenv("OBSLINT_OCB_FULL") == "")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	start := time.Now()
	build := exec.CommandContext(ctx, builder, "--config", manifest)
	build.Dir = filepath.Join(repoRoot(), "collector")
	var buildLog bytes.Buffer
	build.Stdout, build.Stderr = &buildLog, &buildLog
	require.NoError(t, build.Run(), "ocb:\n%s", buildLog.String())
	t.Logf("ocb build took %s", time.Since(start).Round(time.Second))

	bin := filepath.Join(out, "otelcol-obslint")
	gomod, err := os.ReadFile(filepath.Join(out, "go.mod"))
	require.NoError(t, err)
	require.Contains(t, string(gomod), "replace github.com/obslint/obslint v0.0.0 => ", "the local module must be used through a replace")

	components, err := exec.Command(bin, "components").CombinedOutput()
	require.NoError(t, err, "%s", components)
	for _, want := range []string{"name: conformance", "name: otlp", "name: otlp_http", "name: batch", "module: github.com/obslint/obslint v0.0.0"} {
		require.Contains(t, string(components), want)
	}
	require.Equal(t, 2, strings.Count(string(components), "name: conformance"), "a processor and a connector:\n%s", components)

	grpcPort, httpPort, reportPort := freePort(t), freePort(t), freePort(t)
	cfg := fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:%d"}
      http: {endpoint: "127.0.0.1:%d"}
processors:
  conformance:
    window: 2s
    evaluate_every: 200ms
    report: {endpoint: "127.0.0.1:%d"}
connectors:
  conformance:
exporters:
  nop:
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], processors: [conformance], exporters: [conformance]}
    logs/findings: {receivers: [conformance], exporters: [nop]}
    metrics/findings: {receivers: [conformance], exporters: [nop]}
`, grpcPort, httpPort, reportPort)
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))

	validate, err := exec.Command(bin, "validate", "--config", cfgPath).CombinedOutput()
	require.NoError(t, err, "%s", validate)

	var colLog bytes.Buffer
	col := exec.Command(bin, "--config", cfgPath)
	col.Stdout, col.Stderr = &colLog, &colLog
	require.NoError(t, col.Start())
	exited := make(chan error, 1)
	go func() { exited <- col.Wait() }()
	defer func() {
		_ = col.Process.Kill()
	}()

	sendSpans(t, fmt.Sprintf("127.0.0.1:%d", httpPort), "ocb-smoke-service")

	reportURL := fmt.Sprintf("http://127.0.0.1:%d/report/ocb-smoke-service", reportPort)
	var result struct {
		Rules []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"rules"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, code, err := get(reportURL)
		if err == nil && code == http.StatusOK {
			require.NoError(t, json.Unmarshal(body, &result), "%s", body)
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the collector exited: %v\n%s", err, colLog.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "no report for the service (last: %d %v %s)\n%s", code, err, body, colLog.String())
		time.Sleep(200 * time.Millisecond)
	}
	statuses := map[string]string{}
	for _, r := range result.Rules {
		statuses[r.ID] = r.Status
	}
	require.Equal(t, "pass", statuses["traces/received"], "%+v", result.Rules)

	require.NoError(t, col.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		require.NoError(t, err, "the collector must stop cleanly on SIGTERM:\n%s", colLog.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("the collector did not stop within 20s of SIGTERM:\n%s", colLog.String())
	}
}

// buildManifest writes collector/builder-config.yaml to dir with its
// output_path set to dir. With lean, the contrib receivers are left out:
// they are unchanged upstream modules (TestBuilderConfigMatchesGoMod checks
// their versions, and `obslint collector` compiles them in every test run)
// and pull in Prometheus service discovery and client-go, which would
// triple a cold ocb build on CI. OBSLINT_OCB_FULL=1 builds the manifest as is.
func buildManifest(t *testing.T, dir string, lean bool) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(), "collector", "builder-config.yaml"))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &m))
	dist, ok := m["dist"].(map[string]any)
	require.True(t, ok, "builder-config.yaml has no dist section")
	dist["output_path"] = dir
	if lean {
		var keep []any
		for _, r := range m["receivers"].([]any) {
			if !strings.HasPrefix(r.(map[string]any)["gomod"].(string), "github.com/open-telemetry/opentelemetry-collector-contrib/") {
				keep = append(keep, r)
			}
		}
		m["receivers"] = keep
	}
	out, err := yaml.Marshal(m)
	require.NoError(t, err)
	path := filepath.Join(dir, "builder-config.yaml")
	require.NoError(t, os.WriteFile(path, out, 0o644))
	return path
}

// Every module the manifest names is at the version go.mod requires, so
// the ocb distribution is built from the same code as `obslint collector`;
// the obslint module itself comes from the checkout by path.
func TestBuilderConfigMatchesGoMod(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(), "collector", "builder-config.yaml"))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &m))
	gomod, err := os.ReadFile(filepath.Join(repoRoot(), "go.mod"))
	require.NoError(t, err)
	required := map[string]string{}
	for line := range strings.SplitSeq(string(gomod), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && strings.HasPrefix(f[1], "v") {
			required[f[0]] = f[1]
		}
	}
	n := 0
	for _, kind := range []string{"receivers", "processors", "exporters", "connectors", "providers"} {
		entries, _ := m[kind].([]any)
		for _, e := range entries {
			entry := e.(map[string]any)
			mod, version, ok := strings.Cut(entry["gomod"].(string), " ")
			require.True(t, ok, "%s: gomod %q has no version", kind, entry["gomod"])
			n++
			if mod == "github.com/obslint/obslint" {
				require.Equal(t, "..", entry["path"], "the obslint module must come from this checkout")
				require.Contains(t, []string{"github.com/obslint/obslint/collector/conformance", "github.com/obslint/obslint/collector/conformanceconnector"}, entry["import"])
				continue
			}
			require.Equal(t, required[mod], version, "%s: %s is %s in go.mod", kind, mod, required[mod])
		}
	}
	require.Equal(t, 13, n, "the manifest lists every component of collector/distro")
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := launch.FreePort()
	require.NoError(t, err)
	return p
}

// sendSpans exports a server span for service over OTLP/HTTP, retrying
// until the collector accepts it.
func sendSpans(t *testing.T, endpoint, service string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", service),
			attribute.String("telemetry.sdk.language", "go"))))
	_, span := tp.Tracer("ocbtest").Start(ctx, "GET /", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("http.route", "/"),
			attribute.Int("http.response.status_code", 200)))
	span.End()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure())
	require.NoError(t, err)
	defer func() { _ = exp.Shutdown(context.Background()) }()
	for {
		err := exp.ExportSpans(ctx, rec.Ended())
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("exporting spans: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func get(url string) ([]byte, int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	return body, resp.StatusCode, nil
}
