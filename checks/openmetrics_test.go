package checks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

func TestOpenMetricsToText(t *testing.T) {
	tests := []struct {
		name, om, text string
		err            string
	}{
		{
			name: "counter: family renamed, HELP before TYPE, _created and UNIT dropped",
			om:   "# HELP jobs Jobs.\n# TYPE jobs counter\n# UNIT jobs jobs\njobs_total 3\njobs_created 1.7e9\n# EOF\n",
			text: "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\n\njobs_total 3\n\n",
		},
		{
			name: "exemplar and timestamp stripped",
			om:   "# TYPE jobs counter\njobs_total{a=\"b\"} 3 1700000000.5 # {trace_id=\"abc\"} 1 1700000000.1\n# EOF\n",
			text: "# TYPE jobs_total counter\njobs_total{a=\"b\"} 3\n",
		},
		{
			name: "exemplar without timestamp, prom-client spacing",
			om:   "h_bucket{le=\"0.05\",method=\"GET\"} 1 # {traceId=\"d5\",spanId=\"8b\"} 0.038\n# EOF",
			text: "h_bucket{le=\"0.05\",method=\"GET\"} 1\n",
		},
		{
			name: "label values with '#', '}', spaces and escaped quotes",
			om:   "m{path=\"/a#b } \\\"c\\\" # {x}\"} 1 # {trace_id=\"t\"} 1\n# EOF\n",
			text: "m{path=\"/a#b } \\\"c\\\" # {x}\"} 1\n",
		},
		{
			name: "info and stateset become gauges",
			om:   "# HELP build Build.\n# TYPE build info\nbuild_info{version=\"1\"} 1\n# TYPE state stateset\nstate{state=\"up\"} 1\n# EOF\n",
			text: "# HELP build_info Build.\n# TYPE build_info gauge\nbuild_info{version=\"1\"} 1\n# TYPE state gauge\nstate{state=\"up\"} 1\n",
		},
		{
			name: "gaugehistogram becomes a histogram",
			om:   "# TYPE q gaugehistogram\nq_bucket{le=\"+Inf\"} 2\nq_gcount 2\nq_gsum 4\n# EOF\n",
			text: "# TYPE q histogram\nq_bucket{le=\"+Inf\"} 2\nq_count 2\nq_sum 4\n",
		},
		{
			name: "histogram and summary _created dropped, unknown becomes untyped",
			om: "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\nh_created 1.7e9\n" +
				"# TYPE s summary\ns_count 1\ns_sum 1\ns_created 1.7e9\n# TYPE u unknown\nu 1\n# EOF\n",
			text: "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\n\n" +
				"# TYPE s summary\ns_count 1\ns_sum 1\n\n# TYPE u untyped\nu 1\n",
		},
		{
			name: "a gauge named _created is a gauge",
			om:   "# TYPE job_created gauge\njob_created 1.7e9\n# TYPE g gauge\ng_created 1\n# EOF\n",
			text: "# TYPE job_created gauge\njob_created 1.7e9\n# TYPE g gauge\ng_created 1\n",
		},
		{
			name: "unsplittable lines are kept for the text parser to report",
			om:   "a{x=\"1\" 2\nb\nc 1 2 3\n# EOF\n",
			text: "a{x=\"1\" 2\nb\nc 1 2 3\n",
		},
		{
			name: "no # EOF",
			om:   "a 1\nb 2",
			text: "a 1\nb 2\n",
			err:  "text format parsing error in line 3: data does not end with # EOF",
		},
		{
			name: "empty body",
			om:   "",
			text: "",
			err:  "text format parsing error in line 1: data does not end with # EOF",
		},
		{
			name: "a blank line after # EOF",
			om:   "a 1\n# EOF\n\n",
			text: "a 1\n",
			err:  "text format parsing error in line 3: unexpected data after # EOF",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, err := openMetricsToText([]byte(tt.om))
			assert.Equal(t, tt.text, string(text))
			if tt.err == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tt.err)
			}
		})
	}
}

func TestParseExpositionOpenMetricsTypes(t *testing.T) {
	body := "# HELP build Build.\n# TYPE build info\nbuild_info{version=\"1\"} 1.0\n" +
		"# TYPE state stateset\nstate{state=\"up\"} 1.0\nstate{state=\"down\"} 0.0\n" +
		"# TYPE q gaugehistogram\nq_bucket{le=\"1.0\"} 1\nq_bucket{le=\"+Inf\"} 2\nq_gcount 2\nq_gsum 4\n" +
		"# TYPE u unknown\nu 1\n# EOF\n"
	fams, err := ParseExposition([]byte(body), openMetricsCT)
	require.NoError(t, err, "prometheus_client's Info and Enum must not stop the parse")
	require.Equal(t, []string{"build_info", "state", "q", "u"}, familyNames(fams))
	want := []dto.MetricType{dto.MetricType_GAUGE, dto.MetricType_GAUGE, dto.MetricType_HISTOGRAM, dto.MetricType_UNTYPED}
	for i, f := range fams {
		assert.Equal(t, want[i], f.GetType(), f.GetName())
	}
	assert.Equal(t, "Build.", fams[0].GetHelp())
	assert.Len(t, fams[1].GetMetric(), 2)
	h := fams[2].GetMetric()[0].GetHistogram()
	assert.Equal(t, uint64(2), h.GetSampleCount())
	assert.Equal(t, 4.0, h.GetSampleSum())
}

// TestOpenMetricsMatchesExpfmt decodes real OpenMetrics output (prom-client's
// and prometheus_client's) both ways and wants the same families as
// expfmt's OpenMetrics parser gives, less what the translation drops on
// purpose: exemplars, _created timestamps, units and sample timestamps.
func TestOpenMetricsMatchesExpfmt(t *testing.T) {
	bodies := map[string][]byte{"prometheus_client": []byte(pythonOpenMetrics)}
	files, err := filepath.Glob("../fixtures/cases/*/metrics.om")
	require.NoError(t, err)
	require.NotEmpty(t, files, "the prom-client fixtures are the point of this test")
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		bodies[f] = b
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			want := expfmtOpenMetrics(t, body)
			got, err := ParseExposition(body, openMetricsCT)
			require.NoError(t, err)
			sortFamilies(got)
			require.Equal(t, familyNames(want), familyNames(got))
			for i := range want {
				assert.True(t, proto.Equal(want[i], got[i]), "family %s differs:\nexpfmt: %s\nours:   %s",
					want[i].GetName(), prototext.Format(want[i]), prototext.Format(got[i]))
			}
		})
	}
}

// pythonOpenMetrics is prometheus_client's OpenMetrics shape: float values,
// _created samples, a UNIT line, exemplars with timestamps.
const pythonOpenMetrics = `# HELP http_requests Total requests
# TYPE http_requests counter
http_requests_total{method="GET",status="200"} 3.0 # {trace_id="0af7651916cd43dd8448eb211c80319c"} 1.0 1.7956338391272388e+09
http_requests_created{method="GET",status="200"} 1.7956338391272388e+09
# HELP request_latency_seconds Latency
# TYPE request_latency_seconds histogram
# UNIT request_latency_seconds seconds
request_latency_seconds_bucket{le="0.005"} 0.0
request_latency_seconds_bucket{le="0.5"} 2.0 # {trace_id="b7ad6b7169203331b7ad6b7169203331"} 0.3 1.7956338391272388e+09
request_latency_seconds_bucket{le="+Inf"} 3.0
request_latency_seconds_count 3.0
request_latency_seconds_sum 1.25
request_latency_seconds_created 1.7956338391272388e+09
# HELP queue_size Items
# TYPE queue_size gauge
queue_size 7.0 1.7956338391272388e+09
# HELP rpc_seconds RPC
# TYPE rpc_seconds summary
rpc_seconds_count 2.0
rpc_seconds_sum 0.5
rpc_seconds_created 1.7956338391272388e+09
# EOF
`

// expfmtOpenMetrics decodes with expfmt's OpenMetrics parser and clears the
// fields the translation does not keep.
func expfmtOpenMetrics(t *testing.T, body []byte) []*dto.MetricFamily {
	t.Helper()
	d := expfmt.NewDecoder(bytes.NewReader(body), expfmt.FmtOpenMetrics_1_0_0)
	var out []*dto.MetricFamily
	for {
		mf := &dto.MetricFamily{}
		err := d.Decode(mf)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		mf.Unit = nil
		for _, m := range mf.GetMetric() {
			m.TimestampMs = nil
			if c := m.GetCounter(); c != nil {
				c.Exemplar, c.CreatedTimestamp = nil, nil
			}
			if h := m.GetHistogram(); h != nil {
				h.CreatedTimestamp = nil
				for _, b := range h.GetBucket() {
					b.Exemplar = nil
				}
			}
			if s := m.GetSummary(); s != nil {
				s.CreatedTimestamp = nil
			}
		}
		out = append(out, mf)
	}
	sortFamilies(out)
	return out
}

func sortFamilies(fams []*dto.MetricFamily) {
	slices.SortStableFunc(fams, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
}

// TestParseExpositionOpenMetricsLongLabelIsFast: one 4,000-character label
// value took expfmt's OpenMetrics parser 34 s. The bound is loose on purpose
// (the text path takes microseconds); it catches a return to that parser.
func TestParseExpositionOpenMetricsLongLabelIsFast(t *testing.T) {
	long := strings.Repeat("x", 4000)
	body := "# TYPE m gauge\nm{v=\"" + long + "\"} 1\n# EOF\n"
	start := time.Now()
	fams, err := ParseExposition([]byte(body), openMetricsCT)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
	require.Len(t, fams, 1)
	assert.Equal(t, long, fams[0].GetMetric()[0].GetLabel()[0].GetValue())
}

// openMetricsSeries writes an OpenMetrics body of n histogram series (each
// with a bucket exemplar) and n counter series, in prom-client's shape.
func openMetricsSeries(n int) []byte {
	var b strings.Builder
	b.WriteString("# HELP http_request_duration_seconds Duration\n# TYPE http_request_duration_seconds histogram\n")
	for i := range n / 2 {
		l := fmt.Sprintf(`method="GET",route="/r%d",status_code="200"`, i)
		fmt.Fprintf(&b, "http_request_duration_seconds_bucket{le=\"0.1\",%s} 1 # {traceId=\"%032x\"} 0.05 1795633822.326\n", l, i)
		fmt.Fprintf(&b, "http_request_duration_seconds_bucket{le=\"+Inf\",%s} 1\n", l)
		fmt.Fprintf(&b, "http_request_duration_seconds_sum{%s} 0.05\nhttp_request_duration_seconds_count{%s} 1\n", l, l)
	}
	b.WriteString("# HELP http_requests Requests\n# TYPE http_requests counter\n")
	for i := range n / 2 {
		fmt.Fprintf(&b, "http_requests_total{route=\"/r%d\"} %d\n", i, i)
	}
	b.WriteString("# EOF\n")
	return []byte(b.String())
}

// BenchmarkParseExpositionOpenMetrics parses 10,000 series as OpenMetrics;
// compare with BenchmarkParseExpositionTextSameSeries, the same body as
// classic text (expfmt's OpenMetrics parser needed about 9 s for it).
func BenchmarkParseExpositionOpenMetrics(b *testing.B) {
	body := openMetricsSeries(10_000)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseExposition(body, openMetricsCT); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseExpositionTextSameSeries(b *testing.B) {
	text, err := openMetricsToText(openMetricsSeries(10_000))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := ParseExposition(text, textCT); err != nil {
			b.Fatal(err)
		}
	}
}
