package metrics_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/metrics"
)

// largeExposition writes about 100k series: counters, gauges and
// histograms (12 buckets each) with realistic label sets.
func largeExposition() []byte {
	var b bytes.Buffer
	b.WriteString("# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1795643137\n")
	for f := range 100 {
		fmt.Fprintf(&b, "# HELP app_events_%d_total Events of kind %d.\n# TYPE app_events_%d_total counter\n", f, f, f)
		for s := range 600 {
			fmt.Fprintf(&b, "app_events_%d_total{shard=\"%d\",outcome=\"ok\",region=\"eu-%d\"} %d\n", f, s, s%7, s*3)
		}
	}
	for f := range 50 {
		fmt.Fprintf(&b, "# HELP app_queue_%d_depth Items waiting in queue %d.\n# TYPE app_queue_%d_depth gauge\n", f, f, f)
		for s := range 500 {
			fmt.Fprintf(&b, "app_queue_%d_depth{worker=\"w%d\"} %d\n", f, s, s%13)
		}
	}
	bounds := []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
	for f := range 20 {
		name := fmt.Sprintf("app_step_%d_duration_seconds", f)
		if f == 0 {
			name = "http_request_duration_seconds"
		}
		fmt.Fprintf(&b, "# HELP %s Duration of step %d.\n# TYPE %s histogram\n", name, f, name)
		for s := range 750 {
			labels := fmt.Sprintf("method=\"GET\",route=\"/r%d/:id\",status_code=\"%d\"", s, 200+s%5)
			for i, le := range bounds {
				fmt.Fprintf(&b, "%s_bucket{le=\"%s\",%s} %d\n", name, le, labels, i)
			}
			fmt.Fprintf(&b, "%s_sum{%s} 1.5\n%s_count{%s} %d\n", name, labels, name, labels, len(bounds)-1)
		}
	}
	return b.Bytes()
}

// benchEvidence is two scrapes of body after a probe; with fams nil the
// judge parses them, as in a run.
func benchEvidence(body []byte, fams []*dto.MetricFamily) *checks.Evidence {
	const ct = "text/plain; version=0.0.4; charset=utf-8"
	ev := &checks.Evidence{
		Target:   checks.Target{Profile: checks.ProfileNode},
		Captured: checks.Captured{Metrics: true, Probes: true},
		Probes:   []checks.Probe{{Method: "GET", Path: "/r1/42", Route: "/r1/:id", Status: 201}},
	}
	for i := range 2 {
		s := checks.NewScrape("http://127.0.0.1:3000/metrics", fmt.Sprint(i), 200, ct, body, false)
		s.Families = fams
		ev.Scrapes = append(ev.Scrapes, s)
	}
	return ev
}

// BenchmarkLintLargeExposition parses and judges two scrapes of the large
// exposition with every metrics rule.
func BenchmarkLintLargeExposition(b *testing.B) {
	body := largeExposition()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		res := checks.Run(benchEvidence(body, nil), metrics.Rules, checks.Options{})
		if len(res.Rules) != len(metrics.Rules) {
			b.Fatalf("got %d rule results", len(res.Rules))
		}
	}
}

// BenchmarkMetricsRules judges two parsed scrapes of the large exposition
// with all the metrics rules, then each alone, so that a slow rule shows.
// The parse is outside the loop (BenchmarkTextParsers in checks measures it).
func BenchmarkMetricsRules(b *testing.B) {
	body := largeExposition()
	fams, err := checks.ParseExposition(body, "text/plain; version=0.0.4; charset=utf-8")
	if err != nil {
		b.Fatal(err)
	}
	judge := func(b *testing.B, rules []*checks.Rule) {
		b.ReportAllocs()
		for b.Loop() {
			checks.Run(benchEvidence(body, fams), rules, checks.Options{})
		}
	}
	b.Run("all", func(b *testing.B) { judge(b, metrics.Rules) })
	for _, r := range metrics.Rules {
		b.Run(strings.TrimPrefix(r.ID, "metrics/"), func(b *testing.B) { judge(b, []*checks.Rule{r}) })
	}
}
