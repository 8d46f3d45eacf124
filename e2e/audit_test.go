package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/checktest"
	"github.com/obslint/obslint/internal/launch"
)

// auditOnlyDiffers are the rules whose status audit cannot share with run,
// and why: audit never stops the service, so when its lines would arrive
// at exit is unknown.
var auditOnlyDiffers = map[string]string{"logs/flushed": string(checks.StatusNotEvaluated)}

// fullReport is the JSON report with everything the round trips compare.
type fullReport struct {
	report
	Captured checks.Captured     `json:"captured"`
	Problems []checks.Problem    `json:"problems"`
	Rules    []checks.RuleResult `json:"rules"`
	Finds    []checks.Finding    `json:"findings"`
}

func parseFull(t *testing.T, stdout, stderr string) fullReport {
	t.Helper()
	var r fullReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &r), "report is not JSON:\n%s\nstderr:\n%s", stdout, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &r.report))
	return r
}

// otlpPorts picks two free loopback ports for --otlp-listen.
func otlpPorts(t *testing.T) (grpc, http int) {
	t.Helper()
	grpc, err := launch.FreePort()
	require.NoError(t, err)
	for {
		http, err = launch.FreePort()
		require.NoError(t, err)
		if http != grpc {
			return grpc, http
		}
	}
}

// closedOTLP points the service's exporter at a port nobody listens on: the
// SDK stays on (its trace context goes into the logs) and its spans go
// nowhere.
func closedOTLP(t *testing.T) string {
	t.Helper()
	port, err := launch.FreePort()
	require.NoError(t, err)
	return fmt.Sprintf("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d", port)
}

// audit runs `obslint audit` in dir with args and parses its JSON report.
func audit(t *testing.T, dir string, args ...string) (int, fullReport, string, time.Duration) {
	t.Helper()
	args = append([]string{"audit", "--format", "json", "--no-progress"}, args...)
	code, stdout, stderr, took := obslintRaw(t, dir, 2*time.Minute, args...)
	t.Logf("obslint audit took %s (exit %d)", took.Round(time.Millisecond), code)
	require.Contains(t, []int{0, 1}, code, "stderr:\n%s\nstdout:\n%s", stderr, stdout)
	r := parseFull(t, stdout, stderr)
	t.Logf("audit timings: %v", r.Timings)
	return code, r, stderr, took
}

// lintEvidence replays a bundle.
func lintEvidence(t *testing.T, dir, bundle string) fullReport {
	t.Helper()
	code, stdout, stderr, _ := obslintRaw(t, dir, time.Minute, "lint", "--evidence", bundle, "--format", "json")
	require.Contains(t, []int{0, 1}, code, "stderr:\n%s", stderr)
	return parseFull(t, stdout, stderr)
}

// assertSameVerdict compares what a replay must reproduce: every rule's
// status and reason, and every finding.
func assertSameVerdict(t *testing.T, want, got fullReport) {
	t.Helper()
	assert.Equal(t, want.Rules, got.Rules)
	assert.Equal(t, want.Finds, got.Finds)
	assert.Equal(t, want.Target, got.Target)
}

func statuses(rules []checks.RuleResult) map[string]string {
	out := map[string]string{}
	for _, r := range rules {
		out[r.ID] = string(r.Status)
	}
	return out
}

// The node example, already running and exporting to the embedded receiver,
// audited with its log file: the same verdict as `obslint run`, and the
// saved bundle replays to the same result. The time from audit start to
// verdict is logged: it is what users wait.
func TestAuditNodeExampleMatchesRun(t *testing.T) {
	dir := filepath.Join(repoRoot(), "examples", "node-express")
	requireInstalled(t, dir)
	grpcPort, httpPort := otlpPorts(t)
	// The service's batch delay is left at the SDK default (5 s): a real
	// deployment's, which the span wait must cover.
	base, logFile := startAuditTarget(t, dir, []string{"node", "server.js"}, []string{
		fmt.Sprintf("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d", httpPort),
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
	})
	bundle := filepath.Join(t.TempDir(), "evidence")
	code, a, stderr, took := audit(t, dir, "--url", base, "--logs", logFile,
		"--otlp-listen", fmt.Sprintf("grpc=127.0.0.1:%d,http=127.0.0.1:%d", grpcPort, httpPort), "--save-evidence", bundle)
	t.Logf("MEASURE audit start to verdict, node example, embedded receiver: %s", took.Round(time.Millisecond))
	require.Equal(t, 0, code, "stderr:\n%s\nreport:\n%s", stderr, dump(a.report))
	assert.True(t, a.Captured.Logs && a.Captured.Traces, "%+v", a.Captured)
	assert.Equal(t, "node-express-example", a.Target.Service)

	runCode, run, runStderr := obslintRun(t, dir, "node", "server.js")
	require.Equal(t, 0, runCode, "stderr:\n%s", runStderr)
	want := map[string]string{}
	for _, rr := range run.Rules {
		want[rr.ID] = rr.Status
		if s, ok := auditOnlyDiffers[rr.ID]; ok {
			want[rr.ID] = s
		}
	}
	assert.Equal(t, want, statuses(a.Rules), "audit:\n%s\nrun:\n%s", dump(a.report), dump(run))

	assertSameVerdict(t, a, lintEvidence(t, dir, bundle))
}

// `obslint run --save-evidence` on the node example replays to the same
// verdict with `obslint lint --evidence`.
func TestRunSaveEvidenceReplays(t *testing.T) {
	dir := filepath.Join(repoRoot(), "examples", "node-express")
	requireInstalled(t, dir)
	bundle := filepath.Join(t.TempDir(), "evidence")
	code, stdout, stderr, _ := obslintRaw(t, dir, 3*time.Minute, "run", "--format", "json", "--no-progress", "--save-evidence", bundle, "--", "node", "server.js")
	require.Equal(t, 0, code, "stderr:\n%s", stderr)
	live := parseFull(t, stdout, stderr)
	for _, name := range []string{"README.txt", "evidence.json", "probes.json", "traces.json", "logs.capture.jsonl", "scrapes.json", "metrics-1.prom"} {
		assert.FileExists(t, filepath.Join(bundle, name))
	}
	replay := lintEvidence(t, dir, bundle)
	assertSameVerdict(t, live, replay)
	assert.Equal(t, "pass", statuses(replay.Rules)["logs/flushed"], "the stop time is part of the bundle")
}

// The broken node service, audited: every failure expected.txt lists for a
// rule audit can evaluate, with its log file as the log source.
func TestAuditNodeBroken(t *testing.T) {
	dir := filepath.Join(repoRoot(), "fixtures", "services", "node-broken")
	requireInstalled(t, dir)
	want, err := checktest.ParseWant(filepath.Join(dir, "expected.txt"))
	require.NoError(t, err)
	// Lines come from the log file, not from a pipe named stdout.
	for id, subjects := range want.Subjects {
		for i, s := range subjects {
			s = strings.ReplaceAll(s, "stdout", "service.log")
			want.Subjects[id][i] = s
		}
	}
	grpcPort, httpPort := otlpPorts(t)
	base, logFile := startAuditTarget(t, dir, []string{"node", "server.js"}, []string{
		fmt.Sprintf("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d", httpPort),
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "OTEL_BSP_SCHEDULE_DELAY=500",
	})
	code, a, stderr, _ := audit(t, dir, "--url", base, "--logs", logFile,
		"--otlp-listen", fmt.Sprintf("grpc=127.0.0.1:%d,http=127.0.0.1:%d", grpcPort, httpPort))
	require.Equal(t, 1, code, "stderr:\n%s", stderr)
	assertExpected(t, a.report, want)
}

// Logs piped in on standard input, as from `kubectl logs -f`, and no trace
// source: the logs rules are judged, the trace rules are not evaluated with
// a reason, and an input that stays open does not hold the audit.
func TestAuditLogsFromStdin(t *testing.T) {
	dir := filepath.Join(repoRoot(), "examples", "node-express")
	requireInstalled(t, dir)
	port, err := launch.FreePort()
	require.NoError(t, err)
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { _ = pr.Close() }) // after the service is stopped (cleanups run last first)
	exited := startProcess(t, dir, []string{"node", "server.js"}, []string{fmt.Sprintf("PORT=%d", port), closedOTLP(t)}, pw, pw)
	require.NoError(t, pw.Close()) // the service holds the write end: it stays open while it runs
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base+"/healthz", 30*time.Second, exited, func() string { return "" })

	c := exec.Command(obslintBin, "audit", "--url", base, "--logs", "-", "--format", "json", "--no-progress")
	c.Dir = dir
	c.Stdin = pr
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	start := time.Now()
	err = c.Run()
	t.Logf("audit with logs on stdin took %s", time.Since(start).Round(time.Millisecond))
	r := parseFull(t, stdout.String(), stderr.String())
	require.NoError(t, err, "stderr:\n%s\nreport:\n%s", stderr.String(), dump(r.report))
	assert.Equal(t, "standard input", r.Captured.LogSource)
	st := statuses(r.Rules)
	assert.Equal(t, "pass", st["logs/json"], dump(r.report))
	assert.Equal(t, "pass", st["logs/trace-context"], dump(r.report))
	assert.Equal(t, "not_evaluated", st["traces/received"])
	for _, rr := range r.Rules {
		if rr.ID == "traces/received" {
			assert.Equal(t, "no trace source was attached", rr.Reason)
		}
	}
}

// The log file is truncated while the audit waits for spans that never
// come (the service exports elsewhere): both are problems in the report,
// everything else is still judged, and the audit ends at its span wait.
func TestAuditLogTruncatedAndSpansMissing(t *testing.T) {
	dir := filepath.Join(repoRoot(), "examples", "node-express")
	requireInstalled(t, dir)
	grpcPort, httpPort := otlpPorts(t)
	base, logFile := startAuditTarget(t, dir, []string{"node", "server.js"}, []string{closedOTLP(t)})
	go func() {
		time.Sleep(2500 * time.Millisecond) // within the 3 s span wait
		_ = os.Truncate(logFile, 0)
	}()
	_, r, stderr, took := audit(t, dir, "--url", base, "--logs", logFile, "--span-wait", "3s",
		"--otlp-listen", fmt.Sprintf("grpc=127.0.0.1:%d,http=127.0.0.1:%d", grpcPort, httpPort))
	assert.Less(t, took, 15*time.Second, stderr)
	var msgs []string
	for _, p := range r.Problems {
		msgs = append(msgs, p.Phase+": "+p.Message)
	}
	all := strings.Join(msgs, "\n")
	assert.Contains(t, all, "logs: file "+logFile+" was truncated during the audit")
	assert.Contains(t, all, "traces: no SERVER span arrived within 3s")
	st := statuses(r.Rules)
	assert.Equal(t, "pass", st["logs/json"], dump(r.report))
	assert.Equal(t, "pass", st["metrics/http-traffic"], dump(r.report))
	assert.Equal(t, "fail", st["traces/received"], "no span arrived from the receiver the user pointed the service at")
}

// A port nobody listens on: exit 2 at once, saying so.
func TestAuditNothingListening(t *testing.T) {
	port, err := launch.FreePort()
	require.NoError(t, err)
	code, stdout, stderr, took := obslintRaw(t, t.TempDir(), 30*time.Second, "audit", "--url", fmt.Sprintf("http://127.0.0.1:%d", port), "--no-progress")
	assert.Equal(t, 2, code, stdout)
	assert.Less(t, took, 5*time.Second)
	assert.Contains(t, stderr, fmt.Sprintf("nothing answers at http://127.0.0.1:%d: connection refused", port))
	assert.Empty(t, stdout)
}
