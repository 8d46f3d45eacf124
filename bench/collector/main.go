// Command collector measures what the conformance components cost a
// collector: spans per second through otlp → conformance → nop against
// otlp → nop, each in its own `obslint collector` process driven by the same
// load (several concurrent raw OTLP/gRPC senders, many spans per request, a
// fixed duration), with the CPU time and peak RSS of each process read from
// /proc. A third run sends spans from many distinct services to show that
// the engine's memory stays bounded. Run it with bench/collector-throughput.sh.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/obslint/obslint/internal/launch"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	obslint         string
	duration        time.Duration
	senders         int
	spansPerRequest int
	services        int
	cardinality     int
	repeat          int
	collectorCPUs   string
	jsonOut         string
}

func run() error {
	var o options
	flag.StringVar(&o.obslint, "obslint", "bin/obslint", "obslint binary")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "load duration per run")
	flag.IntVar(&o.senders, "senders", 4, "concurrent OTLP/gRPC senders")
	flag.IntVar(&o.spansPerRequest, "spans-per-request", 500, "spans in one export request")
	flag.IntVar(&o.services, "services", 10, "distinct service.name values in the throughput runs")
	flag.IntVar(&o.cardinality, "cardinality", 10000, "distinct service.name values in the cardinality run (0: skip it)")
	flag.IntVar(&o.repeat, "repeat", 2, "runs of each scenario, alternating")
	flag.StringVar(&o.collectorCPUs, "collector-cpus", "", "run the collector under `taskset -c LIST` (e.g. 1), so its throughput is not the load generator's")
	flag.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	flag.Parse()
	if o.senders <= 0 || o.spansPerRequest <= 0 || o.services <= 0 || o.duration <= 0 || o.repeat <= 0 {
		return fmt.Errorf("-senders, -spans-per-request, -services, -repeat and -duration must be positive")
	}
	if _, err := os.Stat(o.obslint); err != nil {
		return fmt.Errorf("obslint binary: %w (build it with `make build`)", err)
	}
	fmt.Printf("load: %d senders x %d spans/request, %d services, %s per run, %d CPUs, collector on CPUs %q\n",
		o.senders, o.spansPerRequest, o.services, o.duration, numCPU(), cmp.Or(o.collectorCPUs, "all"))

	// Alternate the two scenarios so drift in the machine's load hits both.
	var results []result
	var base, conf result
	for range o.repeat {
		for _, sc := range []scenario{
			{name: "otlp -> nop", conformance: false, services: o.services},
			{name: "otlp -> conformance -> nop", conformance: true, services: o.services},
		} {
			r, err := measure(o, sc)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			results = append(results, r)
			fmt.Println(r)
			sum := &base
			if sc.conformance {
				sum = &conf
			}
			sum.add(r)
		}
	}
	fmt.Printf("throughput ratio conformance/baseline: %.3f (overhead %.1f%%) over %d runs each\n",
		conf.SpansPerSec/base.SpansPerSec, 100*(1-conf.SpansPerSec/base.SpansPerSec), o.repeat)
	fmt.Printf("collector CPU per million spans: baseline %.2fs, conformance %.2fs (%+.1f%%)\n",
		base.CPUPerMillion, conf.CPUPerMillion, 100*(conf.CPUPerMillion/base.CPUPerMillion-1))

	if o.cardinality > 0 {
		for _, sc := range []scenario{
			{name: fmt.Sprintf("otlp -> nop, %d services", o.cardinality), conformance: false, services: o.cardinality},
			{name: fmt.Sprintf("otlp -> conformance -> nop, %d services", o.cardinality), conformance: true, services: o.cardinality},
		} {
			r, err := measure(o, sc)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			results = append(results, r)
			fmt.Println(r)
		}
	}
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(o.jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}

type scenario struct {
	name        string
	conformance bool
	services    int
}

type result struct {
	Scenario      string  `json:"scenario"`
	Spans         int64   `json:"spans"`
	Seconds       float64 `json:"seconds"`
	SpansPerSec   float64 `json:"spans_per_sec"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPerMillion float64 `json:"cpu_seconds_per_million_spans"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
	Errors        int64   `json:"export_errors"`
	// Engine is what GET /report said after the run (conformance runs only).
	ReportedServices int `json:"reported_services,omitempty"`
}

// add accumulates r into a running total: spans, seconds and CPU add up,
// the rates are recomputed from the sums, and the peak RSS is the maximum.
func (r *result) add(o result) {
	r.Scenario = o.Scenario
	r.Spans += o.Spans
	r.Seconds += o.Seconds
	r.CPUSeconds += o.CPUSeconds
	r.Errors += o.Errors
	r.PeakRSSMiB = max(r.PeakRSSMiB, o.PeakRSSMiB)
	if r.Seconds > 0 {
		r.SpansPerSec = float64(r.Spans) / r.Seconds
	}
	if r.Spans > 0 {
		r.CPUPerMillion = r.CPUSeconds / (float64(r.Spans) / 1e6)
	}
}

func (r result) String() string {
	s := fmt.Sprintf("%-50s %10.0f spans/s  cpu %6.2fs (%5.2fs/M spans)  peak RSS %6.1f MiB  errors %d",
		r.Scenario, r.SpansPerSec, r.CPUSeconds, r.CPUPerMillion, r.PeakRSSMiB, r.Errors)
	if r.ReportedServices > 0 {
		s += fmt.Sprintf("  services in /report %d", r.ReportedServices)
	}
	return s
}

// collectorConfig is the configuration of one run: the conformance
// components (processor in the traces pipeline, connector turning findings
// into logs and metrics for nop) or nothing between receiver and exporter.
func collectorConfig(grpcPort, reportPort int, conformance bool) string {
	head := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:%d", max_recv_msg_size_mib: 64}
exporters:
  nop:
`, grpcPort)
	if !conformance {
		return head + `service:
  telemetry: {metrics: {level: none}, logs: {level: warn}}
  pipelines:
    traces: {receivers: [otlp], exporters: [nop]}
`
	}
	return head + fmt.Sprintf(`processors:
  conformance:
    evaluate_every: 5s
    window: 30s
    report: {endpoint: "127.0.0.1:%d"}
connectors:
  conformance:
service:
  telemetry: {metrics: {level: none}, logs: {level: warn}}
  pipelines:
    traces: {receivers: [otlp], processors: [conformance], exporters: [nop, conformance]}
    logs/findings: {receivers: [conformance], exporters: [nop]}
    metrics/findings: {receivers: [conformance], exporters: [nop]}
`, reportPort)
}

func measure(o options, sc scenario) (result, error) {
	grpcPort, err := launch.FreePort()
	if err != nil {
		return result{}, err
	}
	reportPort, err := launch.FreePort()
	if err != nil {
		return result{}, err
	}
	dir, err := os.MkdirTemp("", "obslint-bench-collector")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(collectorConfig(grpcPort, reportPort, sc.conformance)), 0o644); err != nil {
		return result{}, err
	}
	logFile, err := os.Create(filepath.Join(dir, "collector.log"))
	if err != nil {
		return result{}, err
	}
	defer logFile.Close()
	args := []string{o.obslint, "collector", "--config", cfg}
	if o.collectorCPUs != "" {
		args = append([]string{"taskset", "-c", o.collectorCPUs}, args...)
	}
	col := exec.Command(args[0], args[1:]...)
	col.Stdout, col.Stderr = logFile, logFile
	if err := col.Start(); err != nil {
		return result{}, err
	}
	done := make(chan struct{})
	go func() { _ = col.Wait(); close(done) }()
	defer func() {
		_ = col.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = col.Process.Kill()
			<-done
		}
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", grpcPort)
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = launch.WaitReady(rctx, "tcp://"+addr, done)
	cancel()
	if err != nil {
		return result{}, fmt.Errorf("collector not ready: %w\n%s", err, tail(logFile.Name()))
	}

	requests := buildRequests(sc.services, o.spansPerRequest)
	before, err := readProc(col.Process.Pid)
	if err != nil {
		return result{}, err
	}
	spans, errs, took, err := load(addr, requests, o.senders, o.duration)
	if err != nil {
		return result{}, err
	}
	after, err := readProc(col.Process.Pid)
	if err != nil {
		return result{}, fmt.Errorf("%w\n%s", err, tail(logFile.Name()))
	}
	cpu := after.cpu - before.cpu
	r := result{
		Scenario: sc.name, Spans: spans, Seconds: took.Seconds(),
		SpansPerSec: float64(spans) / took.Seconds(), CPUSeconds: cpu,
		PeakRSSMiB: float64(after.peakRSSKiB) / 1024, Errors: errs,
	}
	if spans > 0 {
		r.CPUPerMillion = cpu / (float64(spans) / 1e6)
	}
	if sc.conformance {
		r.ReportedServices, err = reportedServices(reportPort)
		if err != nil {
			return r, fmt.Errorf("report: %w\n%s", err, tail(logFile.Name()))
		}
	}
	return r, nil
}

// buildRequests makes the export requests the senders cycle through:
// HTTP server spans (method, route, status, an error now and then) with a
// client child each, services spread over the requests round-robin.
func buildRequests(services, spansPerRequest int) []ptraceotlp.ExportRequest {
	const maxRequests = 200
	n := max(1, min(maxRequests, services))
	var out []ptraceotlp.ExportRequest
	svc := 0
	var tid [16]byte
	var sid [8]byte
	now := time.Now()
	for range n {
		td := ptrace.NewTraces()
		// Each request carries spans of ceil(services/n) services.
		perReq := (services + n - 1) / n
		spansPerService := max(2, spansPerRequest/perReq)
		for range perReq {
			rs := td.ResourceSpans().AppendEmpty()
			res := rs.Resource().Attributes()
			res.PutStr("service.name", fmt.Sprintf("bench-service-%d", svc%services))
			res.PutStr("service.version", "1.0.0")
			res.PutStr("telemetry.sdk.language", "nodejs")
			res.PutStr("telemetry.sdk.name", "opentelemetry")
			svc++
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName("@opentelemetry/instrumentation-http")
			for i := 0; i < spansPerService; i += 2 {
				counter(tid[:])
				counter(sid[:])
				route := []string{"/", "/users/:id", "/orders/:orderId", "/healthz"}[i/2%4]
				status := int64(200)
				if i%40 == 0 {
					status = 500
				}
				server := ss.Spans().AppendEmpty()
				server.SetTraceID(pcommon.TraceID(tid))
				server.SetSpanID(pcommon.SpanID(sid))
				server.SetName("GET " + route)
				server.SetKind(ptrace.SpanKindServer)
				server.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
				server.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(3 * time.Millisecond)))
				a := server.Attributes()
				a.PutStr("http.request.method", "GET")
				a.PutStr("http.route", route)
				a.PutInt("http.response.status_code", status)
				a.PutStr("url.path", strings.ReplaceAll(route, ":id", "42"))
				a.PutStr("url.scheme", "http")
				a.PutStr("server.address", "127.0.0.1")
				a.PutInt("server.port", 3000)
				a.PutStr("network.protocol.version", "1.1")
				a.PutStr("user_agent.original", "bench/1.0")
				if status >= 500 {
					server.Status().SetCode(ptrace.StatusCodeError)
				}
				child := ss.Spans().AppendEmpty()
				parent := sid
				counter(sid[:])
				child.SetTraceID(pcommon.TraceID(tid))
				child.SetSpanID(pcommon.SpanID(sid))
				child.SetParentSpanID(pcommon.SpanID(parent))
				child.SetName("GET")
				child.SetKind(ptrace.SpanKindClient)
				child.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
				child.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(2 * time.Millisecond)))
				child.Attributes().PutStr("http.request.method", "GET")
				child.Attributes().PutStr("server.address", "backend")
				child.Attributes().PutInt("http.response.status_code", 200)
			}
		}
		out = append(out, ptraceotlp.NewExportRequestFromTraces(td))
	}
	return out
}

// counter increments b as a big-endian number, so every id is distinct and
// never all zero.
func counter(b []byte) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return
		}
	}
}

// load runs senders goroutines, each on its own gRPC connection, exporting
// requests round-robin until d has passed. It returns the spans accepted.
func load(addr string, requests []ptraceotlp.ExportRequest, senders int, d time.Duration) (int64, int64, time.Duration, error) {
	var spans, errs atomic.Int64
	var firstErr atomic.Value
	// Senders stop starting requests at end; the last ones finish, and the
	// rate is taken over the time until they did. A per-request timeout
	// (not one deadline for all) keeps a request cut off at the end from
	// counting as an error.
	const requestTimeout = 30 * time.Second
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for s := range senders {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
		if err != nil {
			return 0, 0, 0, err
		}
		defer conn.Close()
		client := ptraceotlp.NewGRPCClient(conn)
		wg.Go(func() {
			for i := s; time.Now().Before(end); i++ {
				req := requests[i%len(requests)]
				ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
				_, err := client.Export(ctx, req)
				cancel()
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					time.Sleep(10 * time.Millisecond)
					continue
				}
				spans.Add(int64(req.Traces().SpanCount()))
			}
		})
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(os.Stderr, "  %d export errors, the first: %s\n", errs.Load(), e)
	}
	return spans.Load(), errs.Load(), time.Since(start), nil
}

// procStats is what /proc says about a process: user+system CPU seconds and
// the peak resident set size.
type procStats struct {
	cpu        float64
	peakRSSKiB int64
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

func readProc(pid int) (procStats, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStats{}, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procStats{}, err
	}
	return parseProc(string(stat), string(status))
}

// parseProc reads utime and stime (fields 14 and 15 of /proc/PID/stat;
// the command in field 2 may hold spaces and parentheses, so count from the
// last ')') and VmHWM from /proc/PID/status.
func parseProc(stat, status string) (procStats, error) {
	var ps procStats
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return ps, fmt.Errorf("/proc stat: no command field")
	}
	fields := strings.Fields(stat[i+1:])
	// fields[0] is field 3 (state), so utime (14) is fields[11].
	if len(fields) < 13 {
		return ps, fmt.Errorf("/proc stat: %d fields after the command, want at least 13", len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return ps, fmt.Errorf("/proc stat: utime %q, stime %q", fields[11], fields[12])
	}
	ps.cpu = float64(utime+stime) / clockTicks
	for line := range strings.SplitSeq(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kib, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return ps, fmt.Errorf("/proc status VmHWM %q: %w", rest, err)
			}
			ps.peakRSSKiB = kib
			return ps, nil
		}
	}
	return ps, fmt.Errorf("/proc status: no VmHWM line")
}

// reportedServices counts the services in GET /report.
func reportedServices(port int) (int, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/report", port))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /report: %s: %.200s", resp.Status, body)
	}
	var rep struct {
		Services map[string]json.RawMessage `json:"services"`
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		return 0, fmt.Errorf("GET /report: %w", err)
	}
	return len(rep.Services), nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\nprocessor") + 1
}
