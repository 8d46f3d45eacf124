package metrics

import (
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

func TestContentTypeProblem(t *testing.T) {
	tests := []struct {
		ct string
		ok bool
	}{
		{"text/plain; version=0.0.4; charset=utf-8", true},
		{"text/plain; version=1.0.0; charset=utf-8; escaping=underscores", true},
		{"text/plain", true},
		{"application/openmetrics-text; version=1.0.0; charset=utf-8", true},
		{"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", true},
		{"", false},
		{"   ", false},
		{"text/html; charset=utf-8", false},
		{"application/json", false},
		{"text/plain; version=2.0.0", false},
		{"text/plain; version", false}, // malformed
	}
	for _, tt := range tests {
		t.Run(tt.ct, func(t *testing.T) {
			got := contentTypeProblem(tt.ct)
			if tt.ok {
				assert.Empty(t, got)
			} else {
				assert.NotEmpty(t, got)
			}
		})
	}
}

func TestScrapeSubject(t *testing.T) {
	tests := []struct{ url, metricsURL, want string }{
		{"http://127.0.0.1:39211/metrics", "", "/metrics"},
		{"http://localhost:8000/internal/prom?x=1", "", "/internal/prom"},
		{"http://localhost:8000", "", "/"},
		{"../../fixtures/cases/x/metrics-1.prom", "", "metrics-1.prom"},
		{"stdin", "", "stdin"},
		{"", "http://127.0.0.1:1/m", "/m"},
		{"", "", "/metrics"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, scrapeSubject(checks.Scrape{URL: tt.url}, tt.metricsURL), tt.url)
	}
}

func TestParseErrSubject(t *testing.T) {
	tests := map[string]string{
		`text format parsing error in line 7: second HELP line for metric name "http_requests_total"`:               "http_requests_total",
		`text format parsing error in line 2: second TYPE line for metric name "x", or TYPE reported after samples`: "x",
		`text format parsing error in line 3: expected integer as timestamp, got "#"`:                               "exposition",
		`text format parsing error in line 4: unknown metric type "gaugez"`:                                         "exposition",
		`text format parsing error in line 9: counter "jobs" missing _total value`:                                  "jobs",
		`text format parsing error in line 9: negative bucket population for histogram "job_duration_seconds"`:      "job_duration_seconds",
		`text format parsing error in line 1: unexpected end of input stream`:                                       "exposition",
		`text format parsing error in line 5: invalid metric name "my.metric"`:                                      "my.metric",
		`text format parsing error in line 2: interleaved metric family "a"`:                                        "a",
		`openmetrics format parsing error in line 3: unit "seconds" not a suffix of metric "request_duration"`:      "request_duration",
		`text format parsing error in line 5: expected '=' after label name, found ' '`:                             "exposition",
		`text format parsing error in line 5: label name "__name__" is reserved; sample "x" has it` + "":            "x",
		`some error without a name`: "exposition",
	}
	for msg, want := range tests {
		assert.Equal(t, want, parseErrSubject(msg), msg)
	}
}

func hist(count *uint64, sum *float64, buckets ...[2]float64) *dto.Histogram {
	h := &dto.Histogram{SampleCount: count, SampleSum: sum}
	for _, b := range buckets {
		ub, c := b[0], uint64(b[1])
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: &ub, CumulativeCount: &c})
	}
	return h
}

func ptr[T any](v T) *T { return &v }

func TestHistogramProblem(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name string
		h    *dto.Histogram
		want string
	}{
		{"valid", hist(ptr[uint64](3), ptr(1.5), [2]float64{0.1, 1}, [2]float64{1, 3}, [2]float64{inf, 3}), ""},
		{"unsorted", hist(ptr[uint64](3), ptr(1.5), [2]float64{1, 2}, [2]float64{0.1, 1}, [2]float64{inf, 3}), `buckets not sorted by le: le="0.1" comes after le="1"`},
		{"duplicate le", hist(ptr[uint64](3), ptr(1.5), [2]float64{1, 2}, [2]float64{1, 2}, [2]float64{inf, 3}), `buckets not sorted by le: le="1" comes after le="1"`},
		{"not cumulative", hist(ptr[uint64](3), ptr(1.5), [2]float64{0.1, 3}, [2]float64{1, 2}, [2]float64{inf, 3}), `bucket counts not cumulative: le="1" has 2, less than le="0.1" with 3`},
		{"no +Inf", hist(ptr[uint64](3), ptr(1.5), [2]float64{0.1, 1}, [2]float64{1, 3}), `no le="+Inf" bucket: histogram_quantile() returns NaN`},
		{"no _count", hist(nil, ptr(1.5), [2]float64{inf, 3}), "no _count sample"},
		{"no _sum", hist(ptr[uint64](3), nil, [2]float64{inf, 3}), "no _sum sample"},
		{"+Inf != count", hist(ptr[uint64](4), ptr(1.5), [2]float64{inf, 3}), `le="+Inf" bucket is 3 but _count is 4; they must be equal`},
		{"no buckets", hist(ptr[uint64](4), ptr(1.5)), "no _bucket samples"},
		{"native", &dto.Histogram{Schema: ptr[int32](3), SampleCount: ptr[uint64](1), SampleSum: ptr(1.0)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, histogramProblem(tt.h))
		})
	}
}

func TestIDLike(t *testing.T) {
	probed := probedValues([]checks.Probe{
		{Method: "GET", Path: "/users/42?expand=1", Route: "/users/:id", Status: 200},
		{Method: "GET", Path: "/orders/ab12/items/9", Route: "/orders/{order_id}/items/{item}", Status: 200},
		{Method: "GET", Path: "/health", Route: "/health", Status: 200},
	})
	tests := []struct {
		value string
		id    bool
	}{
		{"42", true},
		{"/users/42", true},
		{"ab12", true},
		{"9", false}, // one character: too common to blame on a probe
		{"/health", false},
		{"/users/:id", false},
		{"/users/{user_id}", false},
		{"/users/#val", false},
		{"0b7e2c5e-4f1a-4c39-9a55-2f0d9c1e8b11", true},
		{"ada@example.com", true},
		{"1234567", true},
		{"8080", false},
		{"200", false},
		{"5f1d7c3e9a2b4c6d8e0f1a2b", true}, // a Mongo ObjectId
		{"deadbeefdeadbeef", false},        // no digit: a word, not an id
		{"/api/v1/products/918273", true},
		{"/api/v1/products", false},
		{"GET", false},
		{"email", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			assert.Equal(t, tt.id, idLike(tt.value, probed) != "", idLike(tt.value, probed))
		})
	}
}

func TestRouteAndStatusMatching(t *testing.T) {
	assert.True(t, sameRoute("/users/:id", "/users/{user_id}"))
	assert.True(t, sameRoute("/users/<int:user_id>", "/users/:id"))
	assert.True(t, sameRoute("/users/:id/", "/users/:id"))
	assert.True(t, sameRoute("/users/#val", "/users/:id"))
	assert.False(t, sameRoute("/users/:id", "/users/42"))
	assert.False(t, sameRoute("/users/:id", "/orders/:id"))

	assert.True(t, statusMatches("200", 200))
	assert.True(t, statusMatches("2xx", 200))
	assert.True(t, statusMatches("4XX", 404))
	assert.False(t, statusMatches("2xx", 404))
	assert.False(t, statusMatches("201", 200))
}

func TestLibrary(t *testing.T) {
	fam := func(name string, typ dto.MetricType) *dto.MetricFamily {
		return &dto.MetricFamily{Name: &name, Type: &typ}
	}
	fams := byName([]*dto.MetricFamily{
		fam("http_requests_total", dto.MetricType_COUNTER),
		fam("http_requests_created", dto.MetricType_GAUGE),
		fam("job_duration_seconds", dto.MetricType_HISTOGRAM),
		fam("job_duration_seconds_created", dto.MetricType_GAUGE),
		fam("orders_created", dto.MetricType_GAUGE),
	})
	tests := []struct {
		name, profile, want string
	}{
		{"nodejs_active_handles_total", "", "prom-client's collectDefaultMetrics"},
		{"myapp_nodejs_active_handles_total", "node", "prom-client's collectDefaultMetrics"},
		{"nodejs_eventloop_utilization_histogram", "node", "@prometheus-io/client's collectDefaultMetrics"},
		{"process_cpu_seconds_total", "python", "prometheus_client's process collector"},
		{"process_cpu_seconds_total", "node", "prom-client's collectDefaultMetrics"},
		{"myapp_process_resident_memory_bytes", "node", "prom-client's collectDefaultMetrics"},
		{"python_gc_objects_collected_total", "python", "prometheus_client's default collectors"},
		{"python_info", "", "prometheus_client's default collectors"},
		{"http_requests_created", "python", "prometheus_client, as the _created series of http_requests_total"},
		{"job_duration_seconds_created", "python", "prometheus_client, as the _created series of job_duration_seconds"},
		{"orders_created", "python", ""}, // no partner: the service's own gauge
		{"http_requests_total", "node", ""},
		{"orders_process_duration_seconds", "node", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mf := fams[tt.name]
			if mf == nil {
				mf = fam(tt.name, dto.MetricType_GAUGE)
			}
			assert.Equal(t, tt.want, Library(mf, fams, tt.profile))
		})
	}
}

func TestDurationFamilyAndRoles(t *testing.T) {
	body := []byte(`# TYPE api_latency_seconds histogram
api_latency_seconds_bucket{verb="GET",le="+Inf"} 1
api_latency_seconds_sum{verb="GET"} 0.1
api_latency_seconds_count{verb="GET"} 1
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{http_request_method="GET",http_route="/",http_response_status_code="200",le="+Inf"} 1
http_server_request_duration_seconds_sum{http_request_method="GET",http_route="/",http_response_status_code="200"} 0.1
http_server_request_duration_seconds_count{http_request_method="GET",http_route="/",http_response_status_code="200"} 1
`)
	fams, err := checks.ParseExposition(body, "text/plain; version=0.0.4")
	require.NoError(t, err)
	s := checks.Scrape{Families: fams}

	mf, ok := DurationFamily(s, "")
	require.True(t, ok)
	assert.Equal(t, "http_server_request_duration_seconds", mf.GetName())
	assert.Equal(t, LabelRoles{Method: "http_request_method", Route: "http_route", Status: "http_response_status_code"}, Roles(mf))

	mf, ok = DurationFamily(s, "api_latency_seconds")
	require.True(t, ok)
	assert.Equal(t, "api_latency_seconds", mf.GetName())
	assert.Equal(t, LabelRoles{}, Roles(mf))

	_, ok = DurationFamily(checks.Scrape{}, "")
	assert.False(t, ok)
}

// runRule runs one rule over hand-built evidence.
func runRule(t *testing.T, r *checks.Rule, ev *checks.Evidence) checks.Result {
	t.Helper()
	res := checks.Run(ev, []*checks.Rule{r}, checks.Options{})
	require.Len(t, res.Rules, 1)
	return res
}

func TestEndpointBlankContentType(t *testing.T) {
	ev := &checks.Evidence{
		Captured: checks.Captured{Metrics: true},
		Scrapes:  []checks.Scrape{{URL: "http://127.0.0.1:41234/metrics", Status: 200, ContentType: ""}},
	}
	res := runRule(t, Endpoint, ev)
	assert.Equal(t, checks.StatusFail, res.Rules[0].Status)
	require.Len(t, res.Findings, 1)
	assert.Equal(t, "/metrics", res.Findings[0].Subject)
	assert.Contains(t, res.Findings[0].Message, "blank Content-Type")
}

func TestParseTruncatedAndEmpty(t *testing.T) {
	body := []byte("# TYPE a_total counter\na_total 1\n")
	fams, err := checks.ParseExposition(body, "")
	require.NoError(t, err)
	ev := &checks.Evidence{
		Captured: checks.Captured{Metrics: true},
		Scrapes:  []checks.Scrape{{URL: "http://x/metrics", Status: 200, Body: body, Families: fams, Truncated: true}},
	}
	res := runRule(t, Parse, ev)
	require.Len(t, res.Findings, 1)
	assert.Equal(t, "exposition", res.Findings[0].Subject)
	assert.Contains(t, res.Findings[0].Message, "size limit")

	ev.Scrapes = []checks.Scrape{{URL: "http://x/metrics", Err: "connection refused"}}
	res = runRule(t, Parse, ev)
	assert.Equal(t, checks.StatusNotEvaluated, res.Rules[0].Status)
}

func TestRulesNeverPanicOnOddFamilies(t *testing.T) {
	// Families as a decoder may build them: nil pointers everywhere.
	name := "odd"
	odd := []*dto.MetricFamily{
		{Name: &name, Type: dto.MetricType_HISTOGRAM.Enum(), Metric: []*dto.Metric{{}, {Histogram: &dto.Histogram{}}}},
		{Name: ptr("odd_summary"), Type: dto.MetricType_SUMMARY.Enum(), Metric: []*dto.Metric{{}}},
		{Name: ptr("http_request_duration_seconds"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{{Label: []*dto.LabelPair{{}}}}},
		{},
	}
	ev := &checks.Evidence{
		Target:   checks.Target{Profile: checks.ProfileNode},
		Captured: checks.Captured{Metrics: true, Probes: true},
		Scrapes:  []checks.Scrape{{Status: 200, Families: odd}, {Status: 200, Families: odd}},
		Probes:   []checks.Probe{{Method: "GET", Path: "/", Route: "/", Status: 200}, {Path: "/a/b", Route: "/:x", Status: 500}},
	}
	res := checks.Run(ev, Rules, checks.Options{})
	for _, r := range res.Rules {
		assert.NotContains(t, r.Reason, "internal error", r.ID)
	}
}
