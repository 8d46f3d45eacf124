package conformance

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obslint/obslint/bundle"
	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
	"github.com/obslint/obslint/internal/limits"
)

const casesDir = "../../fixtures/cases"

func testEngine(t testing.TB, mod func(*Config)) *Engine {
	t.Helper()
	cfg := NewDefaultConfig()
	if mod != nil {
		mod(cfg)
	}
	require.NoError(t, cfg.Validate())
	return newEngine(cfg.engineName(), cfg, nil, "test")
}

// tracesOf reads a fixture's OTLP JSON traces: one request per line, or one
// in the whole file.
func tracesOf(t testing.TB, path string) []ptrace.Traces {
	t.Helper()
	body, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var u ptrace.JSONUnmarshaler
	var out []ptrace.Traces
	for _, line := range bytes.Split(body, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		td, err := u.UnmarshalTraces(line)
		if err != nil {
			td, err = u.UnmarshalTraces(body)
			require.NoError(t, err)
			return []ptrace.Traces{td}
		}
		out = append(out, td)
	}
	return out
}

// logsOf turns captured log lines into what the filelog receiver delivers:
// one record per line, the line as a string body, the source in
// log.file.name, and the service's resource.
func logsOf(lines []checks.LogLine, service string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	if service != "" {
		rl.Resource().Attributes().PutStr("service.name", service)
	}
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, l := range lines {
		lr := lrs.AppendEmpty()
		lr.Body().SetStr(l.Raw)
		lr.Attributes().PutStr("log.file.name", l.Source)
	}
	return ld
}

func wantProfile(t testing.TB, dir string) string {
	f, err := os.Open(filepath.Join(dir, "want.txt"))
	if err != nil {
		return checks.ProfileAuto
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "profile "); ok {
			return strings.TrimSpace(p)
		}
	}
	return checks.ProfileAuto
}

// serviceNames lists the distinct service.name values of the traces.
func serviceNames(tds []ptrace.Traces) []string {
	var names []string
	for _, td := range tds {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			v, ok := td.ResourceSpans().At(i).Resource().Attributes().Get("service.name")
			n := ""
			if ok {
				n = v.AsString()
			}
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

type verdict struct {
	status   checks.Status
	findings []string
}

func verdicts(res checks.Result) map[string]verdict {
	out := map[string]verdict{}
	for _, r := range res.Rules {
		if r.Status != checks.StatusPass && r.Status != checks.StatusFail {
			continue
		}
		v := verdict{status: r.Status}
		for _, f := range res.Findings {
			if f.Rule == r.ID {
				v.findings = append(v.findings, fmt.Sprintf("%s %s: %s", f.Severity, f.Subject, f.Message))
			}
		}
		slices.Sort(v.findings)
		out[r.ID] = v
	}
	return out
}

// TestSameVerdictAsOffline feeds every fixture's spans and log lines through
// the engine as pdata and compares its verdict, rule by rule, with
// checks.Run over the same evidence loaded offline (without the probes the
// collector never has). Metrics go through the real prometheus receiver in
// TestMetricsSameVerdictThroughPrometheusReceiver.
func TestSameVerdictAsOffline(t *testing.T) {
	dirs, err := os.ReadDir(casesDir)
	require.NoError(t, err)
	compared := 0
	for _, d := range dirs {
		dir := filepath.Join(casesDir, d.Name())
		tds := tracesOf(t, filepath.Join(dir, "traces.json"))
		names := serviceNames(tds)
		if len(names) > 1 {
			continue // the engine judges each service apart; offline sees one mix
		}
		ev, err := bundle.LoadDir(dir, limits.Default)
		if err != nil {
			continue // fixtures of bad input files
		}
		if len(ev.Spans) == 0 && len(ev.Logs) == 0 && len(ev.LogRecords) == 0 {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			profile := wantProfile(t, dir)
			service := UnknownService
			if len(names) == 1 && names[0] != "" {
				service = names[0]
			}
			e := testEngine(t, func(c *Config) {
				c.Profile = profile
				c.MaxSpansPerService = 100000
				c.MaxLogRecordsPerService = 100000
			})
			for _, td := range tds {
				e.ConsumeTraces(td)
			}
			if len(ev.Logs) > 0 {
				svc := service
				if svc == UnknownService {
					svc = ""
				}
				e.ConsumeLogs(logsOf(ev.Logs, svc))
			}
			if len(ev.LogRecords) > 0 {
				e.ConsumeLogs(recordsOf(ev.LogRecords))
			}
			got := e.EvaluateNow()
			require.Contains(t, got, service)
			assert.Equal(t, len(ev.LogRecords), got[service].Judged.LogRecords, "every OTLP log record is judged")

			// The same evidence, offline: no probes, no scrapes.
			ev.Probes, ev.Canaries, ev.Scrapes, ev.Problems = nil, nil, nil, nil
			ev.Captured.Probes, ev.Captured.Metrics = false, false
			ev.Expect = checks.Expectations{}
			ev.Target = checks.Target{Service: service}
			want := checks.Run(ev, catalogue.All(), checks.Options{ResolveProfile: true, Profile: profile})

			gv, wv := verdicts(*got[service]), verdicts(want)
			both := 0
			for id, w := range wv {
				g, ok := gv[id]
				if !ok {
					continue
				}
				both++
				assert.Equal(t, w, g, "rule %s", id)
			}
			assert.Positive(t, both, "no rule evaluated by both")
			for _, r := range got[service].Rules {
				if r.Status == checks.StatusNotEvaluated && slices.Contains([]string{"traces/propagation", "correlation/no-canary-leak", "metrics/http-traffic"}, r.ID) {
					assert.Equal(t, NoProbesReason, r.Reason, r.ID)
				}
			}
			compared++
		})
	}
	assert.Greater(t, compared, 30)
}

// recordsOf makes SDK log records (telemetry.sdk.name on the resource, so
// the engine does not take them for raw lines) of recorded ones.
func recordsOf(recs []checks.LogRecord) plog.Logs {
	ld := plog.NewLogs()
	for _, r := range recs {
		rl := ld.ResourceLogs().AppendEmpty()
		_ = rl.Resource().Attributes().FromRaw(r.Resource)
		rl.Resource().Attributes().PutStr("telemetry.sdk.name", "opentelemetry")
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Body().SetStr(r.Body)
		lr.SetSeverityText(r.SeverityText)
		_ = lr.Attributes().FromRaw(r.Attrs)
	}
	return ld
}

// TestProbeRulesNotEvaluated: rules that need probes never pass in
// collector mode, they are not evaluated with a reason.
func TestProbeRulesNotEvaluated(t *testing.T) {
	e := testEngine(t, nil)
	for _, td := range tracesOf(t, filepath.Join(casesDir, "traces-clean-pass-node", "traces.json")) {
		e.ConsumeTraces(td)
	}
	res := e.EvaluateNow()
	require.Len(t, res, 1)
	for _, r := range res[serviceNames(tracesOf(t, filepath.Join(casesDir, "traces-clean-pass-node", "traces.json")))[0]].Rules {
		switch r.ID {
		case "traces/propagation", "correlation/no-canary-leak", "metrics/http-traffic", "logs/flushed":
			assert.Equal(t, checks.StatusNotEvaluated, r.Status, r.ID)
			assert.Equal(t, NoProbesReason, r.Reason, r.ID)
		case "traces/status", "traces/span-name":
			assert.Contains(t, []checks.Status{checks.StatusPass, checks.StatusFail}, r.Status, r.ID)
		case "logs/json":
			assert.Equal(t, checks.StatusNotEvaluated, r.Status)
			assert.Equal(t, "no log stream was captured", r.Reason)
		case "metrics/naming":
			assert.Equal(t, "no metrics were scraped", r.Reason)
		}
	}
}

func spanBatch(service string, n, attrs int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	if service != "" {
		rs.Resource().Attributes().PutStr("service.name", service)
	}
	rs.Resource().Attributes().PutStr("telemetry.sdk.language", "nodejs")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < n; i++ {
		sp := spans.AppendEmpty()
		sp.SetName("GET /users/:id")
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetTraceID(pcommon.TraceID{1, byte(i), byte(i >> 8), byte(i >> 16)})
		sp.SetSpanID(pcommon.SpanID{2, byte(i), byte(i >> 8), byte(i >> 16)})
		sp.Attributes().PutStr("http.request.method", "GET")
		sp.Attributes().PutStr("http.route", "/users/:id")
		sp.Attributes().PutInt("http.response.status_code", 200)
		for a := 0; a < attrs; a++ {
			sp.Attributes().PutStr(fmt.Sprintf("extra.%d", a), strings.Repeat("x", 16))
		}
	}
	return td
}

// TestEachSpanJudgedOnce feeds the spans of every single-service trace
// fixture case one span per batch, evaluating every third span and rotating
// every seventh: each evaluation feeds the rules only the spans no earlier
// one fed and merges the buckets' states, so the final verdict must be that
// of an engine that saw the same batches and rotations and evaluated once,
// and every span must be judged exactly once.
func TestEachSpanJudgedOnce(t *testing.T) {
	dirs, err := os.ReadDir(casesDir)
	require.NoError(t, err)
	compared := 0
	for _, d := range dirs {
		tds := tracesOf(t, filepath.Join(casesDir, d.Name(), "traces.json"))
		if len(serviceNames(tds)) != 1 {
			continue
		}
		var one []ptrace.Traces // one span per batch
		for _, td := range tds {
			for i := 0; i < td.ResourceSpans().Len(); i++ {
				rs := td.ResourceSpans().At(i)
				for k := 0; k < rs.ScopeSpans().Len(); k++ {
					ss := rs.ScopeSpans().At(k)
					for m := 0; m < ss.Spans().Len(); m++ {
						b := ptrace.NewTraces()
						brs := b.ResourceSpans().AppendEmpty()
						rs.Resource().CopyTo(brs.Resource())
						bss := brs.ScopeSpans().AppendEmpty()
						ss.Scope().CopyTo(bss.Scope())
						ss.Spans().At(m).CopyTo(bss.Spans().AppendEmpty())
						one = append(one, b)
					}
				}
			}
		}
		if len(one) < 3 {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			profile := wantProfile(t, filepath.Join(casesDir, d.Name()))
			engine := func() *Engine {
				return testEngine(t, func(c *Config) {
					c.Profile, c.EvaluateEvery, c.Window = profile, time.Second, time.Minute
					c.MaxSpansPerService = 100000
				})
			}
			often, once := engine(), engine()
			for i, td := range one {
				often.ConsumeTraces(td)
				once.ConsumeTraces(td)
				if i%3 == 2 {
					often.EvaluateNow()
				}
				if i%7 == 6 {
					often.rotate()
					once.rotate()
				}
			}
			got, want := often.EvaluateNow(), once.EvaluateNow()
			require.Len(t, got, 1)
			for name, w := range want {
				g := got[name]
				require.NotNil(t, g)
				assert.Equal(t, [2]any{w.Rules, w.Findings}, [2]any{g.Rules, g.Findings})
				assert.Equal(t, w.Judged, g.Judged)
				assert.Equal(t, len(one), g.Judged.Spans)
			}
			assert.Equal(t, int64(len(one)), often.Stats().SpansJudged, "each span judged once")
			assert.Equal(t, int64(len(one)), once.Stats().SpansJudged)
			compared++
		})
	}
	assert.Greater(t, compared, 10)
}
