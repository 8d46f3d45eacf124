package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/internal/jaegertest"
	"github.com/obslint/obslint/internal/launch"
)

// Auditing an example that is already running, with its traces pulled back
// from a real Jaeger, must reach the same verdict as `obslint run` on it:
// every rule the same status (but logs/flushed, which needs obslint to stop
// the service), the trace rules evaluated.
func TestAuditNodeExampleWithJaeger(t *testing.T) {
	dir := filepath.Join(repoRoot(), "examples", "node-express")
	auditMatchesRun(t, dir, []string{"node", "server.js"}, false, nil)
}

// The Python SDK exports over gRPC by default: send it to Jaeger's OTLP/gRPC
// port, and read back over api_v3 HTTP, so both paths are covered.
func TestAuditPythonExampleWithJaeger(t *testing.T) {
	dir := filepath.Join(repoRoot(), "examples", "python-fastapi")
	auditMatchesRun(t, dir, []string{".venv/bin/python", "app.py"}, true, []string{"--jaeger-api", "http"})
}

// auditMatchesRun starts Jaeger and the service (exporting to Jaeger over
// OTLP/HTTP, or OTLP/gRPC with otlpGRPC; read back over api_v2 gRPC, or
// api_v3 HTTP with otlpGRPC), audits it, then compares with `obslint run` of
// the same service.
func auditMatchesRun(t *testing.T, dir string, cmd []string, otlpGRPC bool, auditArgs []string) {
	requireInstalled(t, dir)
	j := jaegertest.Start(t)
	t.Logf("Jaeger ready in %s", j.StartupTime.Round(time.Millisecond))

	env := []string{
		// A running service exports on its batch schedule (5 s by default);
		// keep the audit's span wait short.
		"OTEL_BSP_SCHEDULE_DELAY=200",
	}
	jaegerAddr, wantSource := j.QueryGRPC, "Jaeger api_v2 gRPC "+j.QueryGRPC
	if otlpGRPC {
		env = append(env, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+j.OTLPGRPC)
		jaegerAddr, wantSource = j.QueryHTTP, "Jaeger api_v3 HTTP http://"+j.QueryHTTP
	} else {
		env = append(env, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+j.OTLPHTTP)
	}
	base, logFile := startAuditTarget(t, dir, cmd, env)

	args := append([]string{"audit", "--url", base, "--jaeger", jaegerAddr, "--logs", logFile,
		"--format", "json", "--no-progress"}, auditArgs...)
	code, stdout, stderr, took := obslintRaw(t, dir, 3*time.Minute, args...)
	t.Logf("obslint audit with traces from Jaeger took %s (exit %d)", took.Round(time.Millisecond), code)
	require.Contains(t, []int{0, 1}, code, "stderr:\n%s\nstdout:\n%s", stderr, stdout)
	var audit report
	require.NoError(t, json.Unmarshal([]byte(stdout), &audit), "report is not JSON:\n%s\nstderr:\n%s", stdout, stderr)
	t.Logf("audit timings: %v", audit.Timings)
	var extra struct {
		Captured struct {
			TraceSource string `json:"trace_source"`
		} `json:"captured"`
		Problems []struct{ Phase, Message string } `json:"problems"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &extra))
	assert.Equal(t, wantSource, extra.Captured.TraceSource)
	for _, p := range extra.Problems { // every probe's trace came back whole
		assert.NotEqual(t, "traces", p.Phase, p.Message)
	}

	runCode, run, runStderr := obslintRun(t, dir, cmd...)
	require.Equal(t, 0, runCode, "stderr:\n%s\nreport:\n%s", runStderr, dump(run))

	want := map[string]string{}
	for _, rr := range run.Rules {
		want[rr.ID] = rr.Status
	}
	// The one rule an audit cannot judge: it never stops the service, so
	// it cannot see lines held back until exit.
	want["logs/flushed"] = "not_evaluated"
	got := map[string]string{}
	for _, rr := range audit.Rules {
		got[rr.ID] = rr.Status
		if strings.HasPrefix(rr.ID, "traces/") {
			assert.NotEqual(t, "not_evaluated", rr.Status, "%s not evaluated: %s", rr.ID, rr.Reason)
		}
		if rr.ID == "logs/flushed" {
			assert.Contains(t, rr.Reason, "did not stop the service")
		}
	}
	assert.Equal(t, want, got, "audit:\n%s\nrun:\n%s", dump(audit), dump(run))
	assert.Equal(t, code, runCode, "audit:\n%s", dump(audit))
	assert.Equal(t, run.Target.Service, audit.Target.Service)
	assert.Equal(t, run.Target.Profile, audit.Target.Profile)
}

// startAuditTarget runs the service on a free port with env added, its output
// going to a log file, waits until /healthz answers, and stops it at cleanup.
// It returns the base URL and the log file.
func startAuditTarget(t *testing.T, dir string, cmd, env []string) (string, string) {
	t.Helper()
	port, err := launch.FreePort()
	require.NoError(t, err)
	logFile := filepath.Join(t.TempDir(), "service.log")
	out, err := os.Create(logFile)
	require.NoError(t, err)
	defer out.Close()
	exited := startProcess(t, dir, cmd, append(env, fmt.Sprintf("PORT=%d", port)), out, out)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base+"/healthz", 30*time.Second, exited, func() string { return auditTargetLog(logFile) })
	return base, logFile
}

func auditTargetLog(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
