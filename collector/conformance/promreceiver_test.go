package conformance

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/obslint/obslint/bundle"
	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
	"github.com/obslint/obslint/internal/limits"
)

// exposed is what a fake /metrics serves: the Nth scrape gets bodies[N]
// (the last one once they run out), as OpenMetrics when om is set and the
// scraper asks for it (prometheus_client negotiates; prom-client does not).
type exposed struct {
	bodies [][]byte
	om     [][]byte
	n      atomic.Int32
	accept atomic.Value
}

func (x *exposed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(x.n.Add(1)) - 1
	x.accept.Store(r.Header.Get("Accept"))
	if x.om != nil && strings.Contains(r.Header.Get("Accept"), "application/openmetrics-text") {
		w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
		_, _ = w.Write(x.om[min(i, len(x.om)-1)])
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(x.bodies[min(i, len(x.bodies)-1)])
}

// scrapeWithReceiver runs the real contrib prometheus receiver against each
// server (one job per name) until every job delivered `want` scrapes, and
// returns what it delivered. protocols "" keeps the receiver's default.
func scrapeWithReceiver(t *testing.T, servers map[string]*httptest.Server, want int, protocols []string) *consumertest.MetricsSink {
	t.Helper()
	var jobs []any
	for name, srv := range servers {
		job := map[string]any{
			"job_name":        name,
			"scrape_interval": "200ms",
			"scrape_timeout":  "150ms",
			"static_configs":  []any{map[string]any{"targets": []any{strings.TrimPrefix(srv.URL, "http://")}}},
		}
		if protocols != nil {
			job["scrape_protocols"] = protocols
		}
		jobs = append(jobs, job)
	}
	f := prometheusreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*prometheusreceiver.Config)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"config": map[string]any{"scrape_configs": jobs},
	}).Unmarshal(cfg))
	sink := new(consumertest.MetricsSink)
	r, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool {
		got := map[string]int{}
		for _, md := range sink.AllMetrics() {
			for i := 0; i < md.ResourceMetrics().Len(); i++ {
				got[serviceName(md.ResourceMetrics().At(i).Resource().Attributes())]++
			}
		}
		for name := range servers {
			if got[name] < want {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond)
	return sink
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func dumpMetrics(md pmetric.Metrics) string {
	var sb strings.Builder
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		sb.WriteString("resource " + strings.TrimSpace(strings.ReplaceAll(rm.Resource().Attributes().AsRaw()["service.name"].(string), "\n", " ")) + " ")
		for k, v := range rm.Resource().Attributes().All() {
			sb.WriteString(k + "=" + v.AsString() + " ")
		}
		sb.WriteString("\n")
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				mono := ""
				if m.Type() == pmetric.MetricTypeSum {
					mono = " monotonic=" + map[bool]string{true: "y", false: "n"}[m.Sum().IsMonotonic()]
				}
				sb.WriteString("  " + sm.Scope().Name() + " " + m.Name() + " " + m.Type().String() + mono + " unit=" + m.Unit() + " meta=")
				for mk, mv := range m.Metadata().All() {
					sb.WriteString(mk + ":" + mv.AsString() + ",")
				}
				sb.WriteString("\n")
			}
		}
	}
	return sb.String()
}

func TestDumpPromReceiver(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip("set DUMP=1 to print what the receiver delivers")
	}
	node := &exposed{bodies: [][]byte{readFile(t, "../../fixtures/cases/metrics-http-traffic-pass-node/metrics-1.prom")}}
	py := &exposed{bodies: [][]byte{readFile(t, "../../fixtures/cases/metrics-http-traffic-pass-python/metrics-1.prom")},
		om: [][]byte{readFile(t, "../../fixtures/cases/metrics-endpoint-pass-openmetrics/metrics.om")}}
	ns, ps := httptest.NewServer(node), httptest.NewServer(py)
	defer ns.Close()
	defer ps.Close()
	sink := scrapeWithReceiver(t, map[string]*httptest.Server{"node": ns, "py": ps}, 1, nil)
	for _, md := range sink.AllMetrics() {
		t.Log(dumpMetrics(md))
	}
	t.Log("accept:", py.accept.Load())
	t.Log(string(exposition(sink.AllMetrics()[0])))
}

// rulesJudgingTheTransport read what the collector cannot see: the HTTP
// exchange (status, Content-Type, raw bytes, exemplars) is the receiver's,
// and a body it cannot parse never reaches a pipeline.
var rulesJudgingTheTransport = map[string]string{
	"metrics/endpoint":      "judges the scrape's status and Content-Type, which the receiver keeps to itself",
	"metrics/parse":         "an exposition the receiver cannot parse arrives as up=0 and nothing else",
	"correlation/exemplars": "exemplars do not survive the translation to classic text",
}

// rulesTheReceiverRepairs see less than offline: the receiver sorts
// histogram buckets and supplies +Inf, and overwrites a service's own "up".
// Their findings in collector mode must be a subset of the offline ones.
var rulesTheReceiverRepairs = map[string]string{
	"metrics/histogram-valid": "the receiver sorts buckets by le and adds a missing +Inf bucket",
	"metrics/naming":          `the receiver overwrites a service's own "up" series with its own`,
}

// casesTheReceiverHides are fixture cases whose verdict rests on what the
// receiver's translation drops, with what it drops: collector mode cannot
// reach the offline verdict on them.
var casesTheReceiverHides = map[string]string{
	// An OpenMetrics _created sample becomes the points' start time, which
	// the receiver sets for every counter anyway; without it the engine
	// cannot tell a registry of its own from multiprocess mode, and notes
	// the missing defaults instead of warning.
	"metrics-runtime-defaults-fail-python-registry-openmetrics": "OpenMetrics _created samples",
}

type scrapeOverride struct {
	File        string `json:"file"`
	ContentType string `json:"content_type"`
	Status      int    `json:"status"`
}

// TestMetricsSameVerdictThroughPrometheusReceiver serves every fixture's
// recorded expositions on a real /metrics, scrapes them with the contrib
// prometheus receiver, feeds what it delivers to the engine, and compares
// the verdict of every metrics rule with checks.Run over the recorded
// scrapes bundle.
func TestMetricsSameVerdictThroughPrometheusReceiver(t *testing.T) {
	dirs, err := os.ReadDir(casesDir)
	require.NoError(t, err)
	type fixture struct {
		dir   string
		files []string
		srv   *httptest.Server
	}
	fixtures := map[string]*fixture{}
	servers := map[string]*httptest.Server{}
	for _, d := range dirs {
		dir := filepath.Join(casesDir, d.Name())
		files, _ := filepath.Glob(filepath.Join(dir, "metrics*"))
		if len(files) == 0 || strings.HasPrefix(d.Name(), "metrics-endpoint-") || strings.HasPrefix(d.Name(), "metrics-parse-") {
			continue // the HTTP exchange and the parse are the receiver's
		}
		if casesTheReceiverHides[d.Name()] != "" {
			continue
		}
		// In scrape order, as bundle.LoadDir reads them: metrics-2 before metrics-10.
		slices.SortFunc(files, func(a, b string) int { return cmp.Compare(scrapeNumber(a), scrapeNumber(b)) })
		var overrides []scrapeOverride
		if b, err := os.ReadFile(filepath.Join(dir, "scrapes.json")); err == nil {
			require.NoError(t, json.Unmarshal(b, &overrides))
		}
		var bodies [][]byte
		var types []string
		var statuses []int
		for _, f := range files {
			bodies = append(bodies, readFile(t, f))
			ct := "text/plain; version=0.0.4; charset=utf-8"
			if !strings.HasSuffix(f, ".prom") {
				ct = "application/openmetrics-text; version=1.0.0; charset=utf-8"
			}
			status := 200
			for _, o := range overrides {
				if o.File == filepath.Base(f) {
					ct = cmp.Or(o.ContentType, ct)
					status = cmp.Or(o.Status, status)
				}
			}
			types, statuses = append(types, ct), append(statuses, status)
		}
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			i := min(int(n.Add(1))-1, len(bodies)-1)
			w.Header().Set("Content-Type", types[i])
			w.WriteHeader(statuses[i])
			_, _ = w.Write(bodies[i])
		}))
		defer srv.Close()
		fixtures[d.Name()] = &fixture{dir: dir, files: files, srv: srv}
		servers[d.Name()] = srv
	}
	most := 2
	for _, fx := range fixtures {
		most = max(most, len(fx.files))
	}
	sink := scrapeWithReceiver(t, servers, most, nil)
	byJob := map[string][]pmetric.Metrics{}
	for _, md := range sink.AllMetrics() {
		for i := 0; i < md.ResourceMetrics().Len(); i++ {
			one := pmetric.NewMetrics()
			md.ResourceMetrics().At(i).CopyTo(one.ResourceMetrics().AppendEmpty())
			name := serviceName(md.ResourceMetrics().At(i).Resource().Attributes())
			byJob[name] = append(byJob[name], one)
		}
	}

	compared := 0
	for _, name := range slices.Sorted(maps.Keys(fixtures)) {
		fx := fixtures[name]
		t.Run(name, func(t *testing.T) {
			ev, err := bundle.LoadDir(fx.dir, limits.Default)
			require.NoError(t, err)
			profile := wantProfile(t, fx.dir)
			// One bucket per scrape, so the window keeps every one.
			e := testEngine(t, func(c *Config) { c.Profile = profile; c.EvaluateEvery = time.Second })
			for i := range fx.files {
				if i > 0 {
					e.rotate()
				}
				e.ConsumeMetrics(byJob[name][i])
			}
			got := e.EvaluateNow()[name]
			require.NotNil(t, got)

			ev.Probes, ev.Canaries, ev.Spans, ev.Logs, ev.Problems = nil, nil, nil, nil, nil
			ev.Expect = checks.Expectations{}
			ev.Captured = checks.Captured{Metrics: true}
			ev.Target = checks.Target{Service: name}
			want := checks.Run(ev, catalogue.All(), checks.Options{ResolveProfile: true, Profile: profile})
			gv, wv := verdicts(*got), verdicts(want)
			for id, w := range wv {
				g, ok := gv[id]
				if !ok || rulesJudgingTheTransport[id] != "" {
					continue
				}
				compared++
				if rulesTheReceiverRepairs[id] != "" {
					assert.Subset(t, w.findings, g.findings, "rule %s", id)
					continue
				}
				if id == "metrics/counter-monotonic" {
					// Its messages name the scrapes (the recording's phases
					// offline, window positions here) and the first series
					// found (body order offline; the receiver does not keep it).
					assert.Equal(t, w.status, g.status, "rule %s", id)
					assert.Equal(t, subjects(w.findings), subjects(g.findings), "rule %s", id)
					continue
				}
				assert.Equal(t, w, g, "rule %s\nexposition the engine judged:\n%s", id, firstBody(got, e))
			}
		})
	}
	assert.Greater(t, compared, 100)
}

func firstBody(_ *checks.Result, e *Engine) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.services {
		v := s.view()
		if len(v.scrapes) > 0 {
			return string(exposition(v.scrapes[0].md))
		}
	}
	return ""
}

func scrapeNumber(path string) int {
	var n int
	_, _ = fmt.Sscanf(strings.TrimPrefix(filepath.Base(path), "metrics-"), "%d", &n)
	return n
}

// subjects keeps "severity subject" of each finding line.
func subjects(findings []string) []string {
	var out []string
	for _, f := range findings {
		head, _, _ := strings.Cut(f, ": ")
		out = append(out, head)
	}
	return out
}
