package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

func obsOf(values ...float64) []observation {
	out := make([]observation, len(values))
	for i, v := range values {
		out[i] = observation{scrape: i, value: v, text: formatValue(v)}
	}
	return out
}

func TestIdentityVerdict(t *testing.T) {
	tests := []struct {
		name    string
		values  []float64
		ordered bool
		want    verdict
	}{
		{"one value", []float64{10, 10, 10}, true, sameProcess},
		{"one scrape", []float64{10}, true, sameProcess},
		{"restart: later start, confirmed", []float64{10, 10, 20, 20}, true, restarted},
		{"change at the last scrape only", []float64{10, 10, 20}, true, ambiguous},
		{"two scrapes, later start", []float64{10, 20}, true, ambiguous},
		{"a value comes back", []float64{10, 20, 20, 10}, true, severalProcesses},
		{"an earlier start after a later one", []float64{20, 20, 10, 10}, true, severalProcesses},
		{"three values", []float64{10, 20, 30}, true, severalProcesses},
		{"unordered (pids): a lower value is a restart too", []float64{20, 20, 10, 10}, false, restarted},
		{"unordered: a value comes back", []float64{20, 10, 20}, false, severalProcesses},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := identity{ordered: tt.ordered, obs: obsOf(tt.values...)}
			assert.Equal(t, tt.want, id.verdict())
		})
	}
}

// scrapeText builds a parsed scrape from exposition text.
func scrapeText(t *testing.T, phase, text string) checks.Scrape {
	t.Helper()
	fams, err := checks.ParseExposition([]byte(text), "text/plain; version=0.0.4")
	require.NoError(t, err)
	return checks.Scrape{Phase: phase, Status: 200, Families: fams}
}

func startScrape(t *testing.T, phase string, start, requests float64) checks.Scrape {
	return scrapeText(t, phase, fmt.Sprintf(`# TYPE process_start_time_seconds gauge
process_start_time_seconds %g
# TYPE http_requests_total counter
http_requests_total{route="/"} %g
`, start, requests))
}

// runMonotonic runs the rule and requires it evaluated: pass without
// findings, fail with.
func runMonotonic(t *testing.T, scrapes ...checks.Scrape) []checks.Finding {
	t.Helper()
	ev := &checks.Evidence{Scrapes: scrapes, Target: checks.Target{Profile: checks.ProfilePython}, Captured: checks.Captured{Metrics: true}}
	res := checks.Run(ev, []*checks.Rule{CounterMonotonic}, checks.Options{})
	require.Len(t, res.Rules, 1)
	want := checks.StatusPass
	if len(res.Findings) > 0 {
		want = checks.StatusFail
	}
	require.Equal(t, want, res.Rules[0].Status, res.Rules[0].Reason)
	return res.Findings
}

func TestCheckMonotonicMessages(t *testing.T) {
	tests := []struct {
		name        string
		scrapes     func(t *testing.T) []checks.Scrape
		wantSubject []string
		wantIn      []string
		wantFix     string
	}{
		{
			name: "single process, growing counters",
			scrapes: func(t *testing.T) []checks.Scrape {
				return []checks.Scrape{startScrape(t, "before", 1e9, 1), startScrape(t, "after", 1e9, 5), startScrape(t, "after-2", 1e9, 6)}
			},
		},
		{
			name: "two workers forked in one clock tick look like one process: the decrease is reported alone",
			scrapes: func(t *testing.T) []checks.Scrape {
				return []checks.Scrape{startScrape(t, "before", 1e9, 7), startScrape(t, "after", 1e9, 3)}
			},
			wantSubject: []string{"http_requests_total"},
			wantIn:      []string{"went down from 7 to 3 between scrape 1 (before) and scrape 2 (after)", "no process_start_time_seconds"},
		},
		{
			name: "alternating workers: one finding, even without a decrease",
			scrapes: func(t *testing.T) []checks.Scrape {
				return []checks.Scrape{startScrape(t, "before", 1e9, 1), startScrape(t, "after", 1e9+1, 1), startScrape(t, "after-2", 1e9, 2)}
			},
			wantSubject: []string{"process_start_time_seconds"},
			wantIn:      []string{"several processes answer", "took 2 different values in 3 scrapes", "came back at scrape 3 (after-2)", "no counter went down"},
			wantFix:     "PROMETHEUS_MULTIPROC_DIR",
		},
		{
			name: "restart: says so and asks why",
			scrapes: func(t *testing.T) []checks.Scrape {
				return []checks.Scrape{startScrape(t, "before", 1e9, 5), startScrape(t, "after", 1e9+60, 1), startScrape(t, "after-2", 1e9+60, 2)}
			},
			wantSubject: []string{"process_start_time_seconds"},
			wantIn:      []string{"changed once", "stayed in the 1 later scrape(s)", "restarted", "went down from 5 to 1"},
			wantFix:     "find out why the process restarted",
		},
		{
			name: "a failed scrape in between keeps the numbering of the report",
			scrapes: func(t *testing.T) []checks.Scrape {
				return []checks.Scrape{startScrape(t, "before", 1e9, 5), {Phase: "after", Err: "refused"}, startScrape(t, "after-2", 1e9, 1)}
			},
			wantSubject: []string{"http_requests_total"},
			wantIn:      []string{"between scrape 1 (before) and scrape 3 (after-2)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := runMonotonic(t, tt.scrapes(t)...)
			var subjects []string
			for _, f := range fs {
				subjects = append(subjects, f.Subject)
			}
			assert.Equal(t, tt.wantSubject, subjects)
			if len(fs) == 0 {
				return
			}
			for _, w := range tt.wantIn {
				assert.Contains(t, fs[0].Message, w)
			}
			if tt.wantFix != "" {
				assert.Contains(t, fs[0].Fix, tt.wantFix)
			}
		})
	}
}

// In multiprocess mode every answer carries each worker's pid: not a tell.
// A pid label with one value per answer is.
func TestPIDLabels(t *testing.T) {
	pid := func(pids ...string) string {
		var b strings.Builder
		b.WriteString("# TYPE inprogress gauge\n")
		for _, p := range pids {
			fmt.Fprintf(&b, "inprogress{pid=%q} 1\n", p)
		}
		return b.String()
	}
	aggregated := []checks.Scrape{scrapeText(t, "a", pid("1", "2")), scrapeText(t, "b", pid("1", "2")), scrapeText(t, "c", pid("2"))}
	assert.Empty(t, seen(aggregated).pidLabels())

	own := []checks.Scrape{scrapeText(t, "a", pid("1")), scrapeText(t, "b", pid("2")), scrapeText(t, "c", pid("1"))}
	ids := seen(own).pidLabels()
	require.Len(t, ids, 1)
	assert.Equal(t, "inprogress", ids[0].subject)
	assert.Equal(t, severalProcesses, ids[0].verdict())
	assert.Equal(t, "the pid label of inprogress per scrape: A B A (A=1 B=2)", ids[0].evidence())
}

// A series removed and created again has a later _created once: no tell.
func TestCreatedRecreatedSeriesIsNoTell(t *testing.T) {
	exp := func(created float64) string {
		return fmt.Sprintf("# TYPE jobs_total counter\njobs_total 1\n# TYPE jobs_created gauge\njobs_created %g\n", created)
	}
	assert.Empty(t, seen([]checks.Scrape{scrapeText(t, "a", exp(10)), scrapeText(t, "b", exp(20)), scrapeText(t, "c", exp(20))}).createdTimes())
	ids := seen([]checks.Scrape{scrapeText(t, "a", exp(10)), scrapeText(t, "b", exp(20)), scrapeText(t, "c", exp(10))}).createdTimes()
	require.Len(t, ids, 1)
	assert.Equal(t, "jobs_created", ids[0].subject)
}

// seen is the tells of a series of parsed scrapes.
func seen(scrapes []checks.Scrape) *tells {
	t := newTells()
	for i := range scrapes {
		t.see(i, &scrapes[i])
	}
	return &t
}

func TestLetter(t *testing.T) {
	assert.Equal(t, "A", letter(0))
	assert.Equal(t, "Z", letter(25))
	assert.Equal(t, "27", letter(26))
}
