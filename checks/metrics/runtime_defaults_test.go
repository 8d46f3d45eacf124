package metrics

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

func TestMultiprocessMode(t *testing.T) {
	const text = "text/plain; version=0.0.4"
	const om = "application/openmetrics-text; version=1.0.0; charset=utf-8"
	tests := []struct {
		name, ct, body string
		want           string // a part of the reason, "" for none
	}{
		{"pid label on a gauge", text, "# TYPE inprogress gauge\ninprogress{pid=\"41\"} 1\n", "pid label"},
		{"counter and histogram without _created", text,
			"# TYPE jobs_total counter\njobs_total 3\n# TYPE d histogram\nd_bucket{le=\"+Inf\"} 1\nd_count 1\nd_sum 0.1\n", "without any _created"},
		{"a private CollectorRegistry writes _created", text,
			"# TYPE jobs_total counter\njobs_total 3\n# TYPE jobs_created gauge\njobs_created 1.7e9\n", ""},
		{"OpenMetrics _created, which the parser drops", om,
			"# TYPE jobs counter\njobs_total 3\njobs_created 1.7e9\n# EOF\n", ""},
		{"OpenMetrics without _created", om, "# TYPE jobs counter\njobs_total 3\n# EOF\n", "without any _created"},
		{"gauges only: nothing to tell by", text, "# TYPE temperature gauge\ntemperature 3\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fams, err := checks.ParseExposition([]byte(tt.body), tt.ct)
			require.NoError(t, err)
			j := &defaultsJudge{}
			j.Scrape(&checks.Scrape{ContentType: tt.ct, Body: []byte(tt.body), Families: fams})
			got := j.multiprocessMode(j.fams.ordered())
			if tt.want == "" {
				assert.Empty(t, got)
			} else {
				assert.Contains(t, got, tt.want)
			}
		})
	}
}
