package correlation

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

const (
	traceA = "4bf92f3577b34da6a3ce929d0e0e4736"
	canary = "ocnry_q_4a8e6d2b0c7f"
)

// run judges evidence with one rule and returns the result.
func run(t *testing.T, r *checks.Rule, ev *checks.Evidence) (checks.RuleResult, []checks.Finding) {
	t.Helper()
	res := checks.Run(ev, []*checks.Rule{r}, checks.Options{})
	require.Len(t, res.Rules, 1)
	return res.Rules[0], res.Findings
}

func subjects(fs []checks.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Subject)
	}
	return out
}

func TestParseExemplarLine(t *testing.T) {
	tests := []struct {
		line   string
		name   string
		labels map[string]string
	}{
		{`http_request_duration_seconds_bucket{le="0.5",method="GET"} 1 # {traceId="abc123",spanId="def"} 0.3 1795633822.326`,
			"http_request_duration_seconds_bucket", map[string]string{"traceId": "abc123", "spanId": "def"}},
		{`jobs_total 1.0 # {trace_id="abc123"} 1.0 1795633839.127254`, "jobs_total", map[string]string{"trace_id": "abc123"}},
		{`req_total{path="/a#b{c}",q="x\"y"} 3 # {trace_id="t1"} 1`, "req_total", map[string]string{"trace_id": "t1"}},
		{`req_total{path="/a # {trace_id=\"fake\"}"} 3`, "", nil}, // '#' inside a label value is no exemplar
		{`req_total 3`, "", nil},
		{`# HELP req_total with # {trace_id="x"} in it`, "", nil},
		{`req_total{path="unterminated} 3 # {trace_id="x"} 1`, "", nil},
		{`req_total 3 # {trace_id="x" 1`, "", nil},
		{`req_total 3 # {"trace.id"="t2"} 1`, "req_total", map[string]string{"trace.id": "t2"}},
		{``, "", nil},
	}
	for _, tt := range tests {
		name, labels, ok := parseExemplarLine(tt.line)
		assert.Equal(t, tt.name != "", ok, tt.line)
		assert.Equal(t, tt.name, name, tt.line)
		assert.Equal(t, tt.labels, labels, tt.line)
	}
}

func TestScrapeExemplarsFromOpenMetrics(t *testing.T) {
	body := "# TYPE jobs counter\n# HELP jobs Jobs\njobs_total 3 # {trace_id=\"" + traceA + "\"} 1 1795633823.1\n" +
		"# TYPE d histogram\nd_bucket{le=\"1\"} 1 # {traceId=\"" + traceA + "\"} 0.3\nd_bucket{le=\"+Inf\"} 1\nd_sum 0.3\nd_count 1\n# EOF\n"
	const om = "application/openmetrics-text; version=1.0.0; charset=utf-8"
	fams, err := checks.ParseExposition([]byte(body), om)
	require.NoError(t, err)
	got := dedupe(ScrapeExemplars(checks.Scrape{Body: []byte(body), Families: fams, ContentType: om}))
	assert.Equal(t, []Exemplar{{"jobs_total", traceA}, {"d", traceA}}, got, "parsed and raw exemplars agree on family names")
}

func TestExemplarsSkipsWithoutExemplarsOrSpans(t *testing.T) {
	text := checks.Scrape{Status: 200, Body: []byte("jobs_total 3\n")}
	rr, _ := run(t, Exemplars, &checks.Evidence{Captured: checks.Captured{Metrics: true, Traces: true}, Scrapes: []checks.Scrape{text},
		Spans: []checks.Span{{TraceID: traceA}}})
	assert.Equal(t, checks.StatusNotEvaluated, rr.Status)
	assert.Contains(t, rr.Reason, "text format")

	om := checks.Scrape{Status: 200, Body: []byte(`jobs_total 3 # {trace_id="` + traceA + `"} 1` + "\n")}
	rr, _ = run(t, Exemplars, &checks.Evidence{Captured: checks.Captured{Metrics: true, Traces: true}, Scrapes: []checks.Scrape{om}})
	assert.Equal(t, checks.StatusNotEvaluated, rr.Status)
	assert.Contains(t, rr.Reason, "no spans")

	rr, _ = run(t, Exemplars, &checks.Evidence{Captured: checks.Captured{Metrics: true, Traces: true}, Scrapes: []checks.Scrape{om},
		Spans: []checks.Span{{TraceID: traceA}}})
	assert.Equal(t, checks.StatusPass, rr.Status)
}

func TestServiceIdentity(t *testing.T) {
	span := func(name string) checks.Span { return checks.Span{Resource: map[string]any{"service.name": name}} }
	logLine := func(fields map[string]any) checks.LogLine { return checks.LogLine{Source: "stdout", Fields: fields} }
	tests := []struct {
		name string
		ev   checks.Evidence
		want checks.Status
	}{
		{"traces only", checks.Evidence{Spans: []checks.Span{span("a")}}, checks.StatusNotEvaluated},
		{"traces and winston agree", checks.Evidence{Spans: []checks.Span{span("a")},
			Logs: []checks.LogLine{logLine(map[string]any{"service": "a"})}}, checks.StatusPass},
		{"ECS nested service.name disagrees", checks.Evidence{Spans: []checks.Span{span("a")},
			Logs: []checks.LogLine{logLine(map[string]any{"service": map[string]any{"name": "b"}})}}, checks.StatusFail},
		{"structlog service_name disagrees", checks.Evidence{Spans: []checks.Span{span("a")},
			Logs: []checks.LogLine{logLine(map[string]any{"service_name": "b"})}}, checks.StatusFail},
		{"unknown_service names nothing", checks.Evidence{Spans: []checks.Span{span("unknown_service:node")},
			Logs: []checks.LogLine{logLine(map[string]any{"service": "b"})}}, checks.StatusNotEvaluated},
		{"OTLP log resource and traces", checks.Evidence{Spans: []checks.Span{span("a")},
			LogRecords: []checks.LogRecord{{Resource: map[string]any{"service.name": "a"}}}}, checks.StatusPass},
		{"two names within one signal", checks.Evidence{Spans: []checks.Span{span("a"), span("b")},
			Logs: []checks.LogLine{logLine(map[string]any{"service": "a"})}}, checks.StatusFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr, fs := run(t, ServiceIdentity, &tt.ev)
			assert.Equal(t, tt.want, rr.Status, rr.Reason)
			if tt.want == checks.StatusFail {
				assert.Equal(t, []string{"service"}, subjects(fs))
			}
		})
	}
}

func TestTargetInfoName(t *testing.T) {
	pair := func(n, v string) *dto.LabelPair { return &dto.LabelPair{Name: &n, Value: &v} }
	assert.Equal(t, "users-api", targetInfoName([]*dto.LabelPair{pair("job", "shop/users"), pair("service_name", "users-api")}))
	assert.Equal(t, "users", targetInfoName([]*dto.LabelPair{pair("job", "shop/users")}))
	assert.Equal(t, "users", targetInfoName([]*dto.LabelPair{pair("job", "users")}))
	assert.Empty(t, targetInfoName([]*dto.LabelPair{pair("instance", "x")}))
}

func TestNoCanaryLeak(t *testing.T) {
	probes := []checks.Probe{{Method: "GET", Path: "/users/42?access_token=" + canary, Canaries: true}}
	canaries := []checks.Canary{{Where: "query parameter access_token", Value: canary}}
	res := map[string]any{"service.name": "a", "process.command_args": []any{"node", "server.js", "--token=" + canary}}
	ev := &checks.Evidence{
		Captured: checks.Captured{Probes: true}, Probes: probes, Canaries: canaries,
		Spans: []checks.Span{
			{Name: "GET /users/:id", Kind: checks.KindServer, Resource: res, Attrs: map[string]any{"url.query": "access_token=" + canary}},
			{Name: "GET /users/:id", Kind: checks.KindServer, Resource: res, Attrs: map[string]any{"url.query": "access_token=" + canary}},
			{Name: "GET /users/" + canary, Kind: checks.KindServer, Resource: res,
				Attrs: map[string]any{"deep": map[string]any{"a": []any{map[string]any{"b": "x" + canary}}}}},
		},
		LogRecords: []checks.LogRecord{{Body: "token " + canary, Attrs: map[string]any{"headers": map[string]any{"x": canary}}}},
	}
	rr, fs := run(t, NoCanaryLeak, ev)
	require.Equal(t, checks.StatusFail, rr.Status)
	assert.ElementsMatch(t, []string{
		"span GET /users/:id attribute url.query",
		"resource attribute process.command_args", // once, although three spans share the resource
		"span server name",
		"span GET /users/ocnr****(masked) attribute deep",
		"log otlp body",
		"log otlp attribute headers",
	}, subjects(fs))
	for _, f := range fs {
		assert.NotContains(t, f.Message+f.Subject+f.Evidence, canary, "a report must never print the canary")
		if f.Subject == "span GET /users/:id attribute url.query" {
			assert.Contains(t, f.Message, "2 times")
		}
	}
}

func TestNoCanaryLeakSkips(t *testing.T) {
	for name, ev := range map[string]*checks.Evidence{
		"no canaries":             {Captured: checks.Captured{Probes: true}, Probes: []checks.Probe{{Canaries: true}}},
		"probes without canaries": {Captured: checks.Captured{Probes: true}, Probes: []checks.Probe{{}}, Canaries: []checks.Canary{{Value: canary}}},
		"no probes (offline)":     {Canaries: []checks.Canary{{Value: canary}}},
	} {
		rr, _ := run(t, NoCanaryLeak, ev)
		assert.Equal(t, checks.StatusNotEvaluated, rr.Status, name)
	}
}

func TestContainingDepthBound(t *testing.T) {
	var v any = canary
	for range maxDepth + 5 {
		v = []any{v}
	}
	_, found := containing(v, canary, 0)
	assert.False(t, found, "nesting deeper than maxDepth is not walked")
	_, found = containing([]any{[]any{"x" + canary}}, canary, 0)
	assert.True(t, found)
	assert.True(t, strings.HasPrefix(checks.Mask(canary), "ocnr"))
}
