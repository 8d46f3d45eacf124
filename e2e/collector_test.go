package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/checktest"
	"github.com/obslint/obslint/collector/conformance"
	"github.com/obslint/obslint/internal/launch"
)

// collectorService is one service the collector end-to-end test runs: where
// it lives, how to start it, and the service.name its SDK reports (the
// prometheus job and the filelog resource are given the same name, so all
// three signals land in one window).
type collectorService struct {
	name  string
	dir   string
	cmd   []string
	clean bool // an example: must get a clean bill

	port    int
	logPath string
	stderr  *syncBuffer
}

// clientToken is the bearer token the test's traffic carries: shaped like a
// real JWT, not obslint's canary.
const clientToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsIm5hbWUiOiJlMmUifQ.q0dU9tGzRTZ8uCj2w0hXqk1zXc3cN5xKk6fYb1o2p3A"

// TestCollectorJudgesRealServices runs a real `obslint collector` in front of
// the four real services (two clean examples, two broken fixtures). The
// collector scrapes their /metrics with the prometheus receiver, tails their
// stdout log files with filelog, and receives their spans over OTLP; the
// only traffic is ordinary requests the test sends. It then checks the
// verdicts against what `obslint run` finds (expected.txt), the clean bill
// of the examples, the findings exported as OTLP log records and as the
// obslint_findings metric, and the /report endpoint.
func TestCollectorJudgesRealServices(t *testing.T) {
	root := repoRoot()
	services := []*collectorService{
		{name: "node-express-example", dir: filepath.Join(root, "examples", "node-express"), cmd: []string{"node", "server.js"}, clean: true},
		{name: "python-fastapi-example", dir: filepath.Join(root, "examples", "python-fastapi"), cmd: []string{".venv/bin/python", "app.py"}, clean: true},
		{name: "node-broken", dir: filepath.Join(root, "fixtures", "services", "node-broken"), cmd: []string{"node", "server.js"}},
		{name: "python-broken", dir: filepath.Join(root, "fixtures", "services", "python-broken"), cmd: []string{".venv/bin/python", "app.py"}},
	}
	work := t.TempDir()
	for _, s := range services {
		requireInstalled(t, s.dir)
		s.port = freePort(t)
		s.logPath = filepath.Join(work, s.name+".log")
		require.NoError(t, os.WriteFile(s.logPath, nil, 0o644))
	}

	sink := newOTLPSink(t)
	grpcPort, httpPort, reportPort := freePort(t), freePort(t), freePort(t)
	cfgPath := filepath.Join(work, "collector.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(collectorE2EConfig(services, grpcPort, httpPort, reportPort, sink.URL)), 0o644))

	code, stdout, stderr, _ := obslintRaw(t, work, time.Minute, "collector", "validate", "--config", cfgPath)
	require.Equal(t, 0, code, "validate:\n%s%s", stdout, stderr)

	col := startCollector(t, cfgPath)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	require.NoError(t, launch.WaitReady(ctx, fmt.Sprintf("tcp://127.0.0.1:%d", httpPort), col.done), "collector:\n%s", col.log.String())
	require.NoError(t, launch.WaitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/report", reportPort), col.done), "collector:\n%s", col.log.String())
	cancel()

	for _, s := range services {
		startService(t, s, httpPort)
	}
	for _, s := range services {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := launch.WaitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", s.port), nil)
		cancel()
		require.NoError(t, err, "%s did not get ready; stderr:\n%s", s.name, s.stderr.String())
	}

	// Ordinary traffic, the same routes `obslint run` probes, several
	// times over a few scrape intervals.
	start := time.Now()
	client := &http.Client{Timeout: 10 * time.Second}
	for round := range 4 {
		for _, s := range services {
			for _, path := range []string{"/", "/healthz", "/users/42", "/boom"} {
				req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s?round=%d", s.port, path, round), nil)
				require.NoError(t, err)
				// Real clients send credentials; a service that logs them
				// leaks them whoever is watching.
				req.Header.Set("Authorization", "Bearer "+clientToken)
				resp, err := client.Do(req)
				require.NoError(t, err, "%s %s", s.name, path)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		time.Sleep(700 * time.Millisecond)
	}
	t.Logf("traffic sent in %s", time.Since(start).Round(time.Millisecond))

	// Wait until every service's window holds all three signals and an
	// evaluation has seen a few scrapes after the traffic.
	results := waitForResults(t, reportPort, services, col)

	// One service's result, in the CLI's JSON contract; an unknown one is a
	// 404 with a JSON error.
	body, code, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/report/node-broken", reportPort))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var one report
	require.NoError(t, json.Unmarshal(body, &one), "%s", body)
	require.Equal(t, "1", one.SchemaVersion)
	require.Equal(t, "node", one.Target.Profile, "detected from telemetry.sdk.language")
	require.NotEmpty(t, one.Rules)
	body, code, err = httpGet(fmt.Sprintf("http://127.0.0.1:%d/report/no-such-service", reportPort))
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, code, "%s", body)
	require.True(t, json.Valid(body), "%s", body)

	for _, s := range services {
		r := results[s.name]
		t.Run(s.name, func(t *testing.T) {
			if s.clean {
				assertCollectorClean(t, r)
				return
			}
			want, err := checktest.ParseWant(filepath.Join(s.dir, "expected.txt"))
			require.NoError(t, err)
			assertCollectorExpected(t, r, want, filepath.Base(s.logPath))
		})
	}

	// Findings leave the collector as OTLP log records and as the
	// obslint_findings gauge, through the user's own exporter.
	deadline := time.Now().Add(30 * time.Second)
	for {
		logs, metrics := sink.findings()
		missing := missingFindings(results, services, logs, metrics)
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("exported findings incomplete:\n%s\nlog findings: %d, metric points: %d\ncollector:\n%s",
				strings.Join(missing, "\n"), len(logs), len(metrics), col.log.String())
		}
		time.Sleep(300 * time.Millisecond)
	}

	// SIGTERM stops the collector cleanly.
	require.NoError(t, col.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-col.done:
		require.NoError(t, col.err, "collector:\n%s", col.log.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("the collector did not stop within 20s of SIGTERM:\n%s", col.log.String())
	}
}

func collectorE2EConfig(services []*collectorService, grpcPort, httpPort, reportPort int, sinkURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:%d"}
      http: {endpoint: "127.0.0.1:%d"}
  prometheus:
    config:
      scrape_configs:
`, grpcPort, httpPort)
	for _, s := range services {
		fmt.Fprintf(&b, `        - job_name: %s
          scrape_interval: 1s
          scrape_timeout: 1s
          static_configs: [{targets: ["127.0.0.1:%d"]}]
`, s.name, s.port)
	}
	var logReceivers []string
	for _, s := range services {
		// One filelog receiver per file, each naming its service in the
		// resource: the engine windows by service.name.
		fmt.Fprintf(&b, `  file_log/%s:
    include: [%q]
    start_at: beginning
    poll_interval: 200ms
    resource: {service.name: %s}
`, s.name, s.logPath, s.name)
		logReceivers = append(logReceivers, "file_log/"+s.name)
	}
	fmt.Fprintf(&b, `processors:
  conformance:
    window: 30s
    evaluate_every: 1s
    report: {endpoint: "127.0.0.1:%d"}
connectors:
  conformance:
exporters:
  otlp_http/findings:
    endpoint: %s
    compression: none
    retry_on_failure: {enabled: false}
service:
  telemetry: {metrics: {level: none}, logs: {level: info}}
  pipelines:
    traces: {receivers: [otlp], processors: [conformance], exporters: [conformance]}
    metrics: {receivers: [otlp, prometheus], processors: [conformance], exporters: [conformance]}
    logs: {receivers: [otlp, %s], processors: [conformance], exporters: [conformance]}
    logs/findings: {receivers: [conformance], exporters: [otlp_http/findings]}
    metrics/findings: {receivers: [conformance], exporters: [otlp_http/findings]}
`, reportPort, sinkURL, strings.Join(logReceivers, ", "))
	return b.String()
}

type collectorProc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	err  error
}

func startCollector(t *testing.T, cfgPath string) *collectorProc {
	t.Helper()
	c := &collectorProc{log: &syncBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(obslintBin, "collector", "--config", cfgPath)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	require.NoError(t, c.cmd.Start())
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// startService runs s in its own process group with stdout going to its log
// file (what filelog tails) and the SDK exporting to the collector.
func startService(t *testing.T, s *collectorService, otlpHTTPPort int) {
	t.Helper()
	logFile, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	s.stderr = &syncBuffer{}
	startProcess(t, s.dir, s.cmd, []string{
		fmt.Sprintf("PORT=%d", s.port),
		fmt.Sprintf("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d", otlpHTTPPort),
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_BSP_SCHEDULE_DELAY=200",
		"OTEL_BLRP_SCHEDULE_DELAY=200",
		"OTEL_METRIC_EXPORT_INTERVAL=1000",
	}, logFile, s.stderr)
	logFile.Close()
}

// waitForResults polls GET /report until every service has a result that
// saw metrics, logs and traces, then keeps polling for a few more
// evaluations so the window holds several scrapes after the traffic.
func waitForResults(t *testing.T, reportPort int, services []*collectorService, col *collectorProc) map[string]report {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/report", reportPort)
	deadline := time.Now().Add(90 * time.Second)
	var complete time.Time
	var last string
	for {
		select {
		case <-col.done:
			t.Fatalf("the collector exited: %v\n%s", col.err, col.log.String())
		default:
		}
		body, code, err := httpGet(url)
		if err == nil && code == http.StatusOK {
			var rep struct {
				SchemaVersion string                     `json:"schema_version"`
				Services      map[string]json.RawMessage `json:"services"`
			}
			require.NoError(t, json.Unmarshal(body, &rep), "%s", body)
			require.Equal(t, "1", rep.SchemaVersion)
			results := map[string]report{}
			ready := true
			last = ""
			for _, s := range services {
				raw, ok := rep.Services[s.name]
				if !ok {
					ready = false
					last += s.name + ": not in /report\n"
					continue
				}
				var r report
				require.NoError(t, json.Unmarshal(raw, &r), "%s", raw)
				var got struct {
					Captured checks.Captured `json:"captured"`
				}
				require.NoError(t, json.Unmarshal(raw, &got))
				if !got.Captured.Metrics || !got.Captured.Logs || !got.Captured.Traces {
					ready = false
					last += fmt.Sprintf("%s: captured %+v\n", s.name, got.Captured)
				}
				results[s.name] = r
			}
			if ready && complete.IsZero() {
				complete = time.Now()
			}
			// Three more evaluations (evaluate_every 1s) of complete windows.
			if ready && time.Since(complete) > 3500*time.Millisecond {
				return results
			}
		} else {
			last = fmt.Sprintf("GET /report: %d %v %s", code, err, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no complete report within 90s:\n%s\ncollector:\n%s", last, col.log.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// notEvaluatedInCollectorMode are the rules, besides those that need
// probes, that an example may leave unjudged in collector mode: exemplars
// (as under obslint run: the examples serve the classic text format), and the
// expect.* rules, whose expectations live in the service's obslint.yaml,
// which the collector does not read.
var notEvaluatedInCollectorMode = []string{"correlation/exemplars", "metrics/expected", "logs/expected-fields", "traces/expected-routes"}

// assertCollectorClean: an example gets no error or warning finding and
// fails no rule; rules it cannot judge say why.
func assertCollectorClean(t *testing.T, r report) {
	t.Helper()
	for _, f := range r.Findings {
		require.Equal(t, "info", f.Severity, "unexpected finding:\n%s", dump(r))
	}
	for _, rr := range r.Rules {
		require.NotEqual(t, "fail", rr.Status, dump(r))
		if rr.Status == "not_evaluated" && rr.Reason != conformance.NoProbesReason {
			require.Contains(t, notEvaluatedInCollectorMode, rr.ID, "rule not evaluated: %s (%s)\n%s", rr.ID, rr.Reason, dump(r))
		}
	}
}

// assertCollectorExpected compares collector mode with what `obslint run`
// finds (expected.txt): a rule collector mode does not evaluate must say it
// needs probes; every other rule named must have the same status and
// subjects; a rule not named must not fail.
//
// A subject naming the log stream differs by mode: `obslint run` reads the
// service's "stdout", the collector the file filelog tails (its
// log.file.name), so "stdout" in expected.txt stands for logName here.
func assertCollectorExpected(t *testing.T, r report, want checktest.Want, logName string) {
	t.Helper()
	assertExpectedIn(t, r, want, otherMode{name: "collector mode", notEvaluated: conformance.NoProbesReason,
		subject: func(s string) string {
			if rest, ok := strings.CutPrefix(s, "stdout"); ok && (rest == "" || rest[0] == ' ') {
				return logName + rest
			}
			return s
		}})
}

// missingFindings lists what the exported telemetry lacks: for each
// failing rule of each service, a log record (service.name, obslint.rule,
// obslint.severity) and an obslint_findings point with a positive value;
// for the examples, no point above zero at error or warning severity.
func missingFindings(results map[string]report, services []*collectorService, logs []exportedFinding, points []findingPoint) []string {
	var missing []string
	for _, s := range services {
		r := results[s.name]
		for _, rr := range r.Rules {
			if rr.Status != "fail" {
				continue
			}
			if !slices.ContainsFunc(logs, func(f exportedFinding) bool {
				return f.service == s.name && f.rule == rr.ID && f.status == "fail" && f.severity != "" && f.eventName == "obslint.finding"
			}) {
				missing = append(missing, fmt.Sprintf("%s %s: no finding log record", s.name, rr.ID))
			}
			if !slices.ContainsFunc(points, func(p findingPoint) bool {
				return p.service == s.name && p.rule == rr.ID && p.value > 0
			}) {
				missing = append(missing, fmt.Sprintf("%s %s: no obslint_findings point above 0", s.name, rr.ID))
			}
		}
		if s.clean {
			for _, p := range points {
				if p.service == s.name && p.value > 0 && p.severity != "info" {
					missing = append(missing, fmt.Sprintf("%s: unexpected obslint_findings{rule=%s,severity=%s} = %v", s.name, p.rule, p.severity, p.value))
				}
			}
		}
	}
	return missing
}

// otlpSink is the OTLP/HTTP endpoint the collector's otlphttp exporter
// sends findings to: what a user's backend would receive.
type otlpSink struct {
	*httptest.Server
	mu     sync.Mutex
	logs   []exportedFinding
	points []findingPoint
}

type exportedFinding struct {
	service, rule, severity, status, subject, eventName, body string
	severityNumber                                            plog.SeverityNumber
}

type findingPoint struct {
	service, rule, severity string
	value                   float64
}

// maxSinkItems bounds what the sink keeps.
const maxSinkItems = 100_000

func newOTLPSink(t *testing.T) *otlpSink {
	t.Helper()
	s := &otlpSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *otlpSink) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = io.LimitReader(r.Body, 64<<20)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var resp []byte
	switch r.URL.Path {
	case "/v1/logs":
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.addLogs(req.Logs())
		resp, _ = plogotlp.NewExportResponse().MarshalProto()
	case "/v1/metrics":
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.addMetrics(req.Metrics())
		resp, _ = pmetricotlp.NewExportResponse().MarshalProto()
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

func (s *otlpSink) addLogs(ld plog.Logs) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rl := range ld.ResourceLogs().All() {
		service := attrStr(rl.Resource().Attributes().AsRaw(), "service.name")
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if len(s.logs) >= maxSinkItems {
					return
				}
				a := lr.Attributes().AsRaw()
				s.logs = append(s.logs, exportedFinding{
					service: service, rule: attrStr(a, "obslint.rule"), severity: attrStr(a, "obslint.severity"),
					status: attrStr(a, "obslint.status"), subject: attrStr(a, "obslint.subject"),
					eventName: lr.EventName(), body: lr.Body().AsString(), severityNumber: lr.SeverityNumber(),
				})
			}
		}
	}
}

func (s *otlpSink) addMetrics(md pmetric.Metrics) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() != "obslint_findings" || m.Type() != pmetric.MetricTypeGauge {
					continue
				}
				for _, dp := range m.Gauge().DataPoints().All() {
					if len(s.points) >= maxSinkItems {
						return
					}
					a := dp.Attributes().AsRaw()
					v := dp.DoubleValue()
					if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
						v = float64(dp.IntValue())
					}
					s.points = append(s.points, findingPoint{service: attrStr(a, "service"), rule: attrStr(a, "rule"), severity: attrStr(a, "severity"), value: v})
				}
			}
		}
	}
}

func (s *otlpSink) findings() ([]exportedFinding, []findingPoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.logs), slices.Clone(s.points)
}

func attrStr(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := launch.FreePort()
	require.NoError(t, err)
	return p
}

func httpGet(url string) ([]byte, int, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	return body, resp.StatusCode, err
}

// syncBuffer is a bytes.Buffer safe for a process writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
