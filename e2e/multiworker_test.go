package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// multiworkerDir is the gunicorn service with 4 workers (see its README.md).
func multiworkerDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot(), "fixtures", "services", "python-multiworker")
	if !exists(filepath.Join(dir, ".venv", "bin", "gunicorn")) {
		t.Fatalf("%s has no .venv with gunicorn: run make test-deps", dir)
	}
	return dir
}

// runMultiworker runs `obslint run` in a variant's directory (its
// obslint.yaml holds the command) and returns the report.
func runMultiworker(t *testing.T, variant string) report {
	t.Helper()
	dir := filepath.Join(multiworkerDir(t), variant)
	code, stdout, stderr, took := obslintRaw(t, dir, 3*time.Minute, "run", "--format", "json", "--no-progress")
	t.Logf("obslint run in %s took %s (exit %d)", variant, took.Round(time.Millisecond), code)
	// No OTel SDK in this fixture: trace rules fail, so exit 1 either way.
	require.Equal(t, 1, code, "stderr:\n%s", stderr)
	var r report
	require.NoError(t, json.Unmarshal([]byte(stdout), &r), "report is not JSON:\n%s\nstderr:\n%s", stdout, stderr)
	return r
}

func ruleStatus(r report, id string) string {
	for _, rr := range r.Rules {
		if rr.ID == id {
			return rr.Status
		}
	}
	return ""
}

// Without multiprocess mode each scrape is answered by one worker's
// registry: obslint must see several processes behind /metrics, whatever
// worker happens to answer, and say so under process_start_time_seconds.
func TestMultiworkerBrokenIsCaught(t *testing.T) {
	r := runMultiworker(t, "broken")
	require.Equal(t, "python", r.Target.Profile)
	require.Equal(t, "fail", ruleStatus(r, "metrics/counter-monotonic"), dump(r))
	var subjects []string
	for _, f := range r.Findings {
		if f.Rule != "metrics/counter-monotonic" {
			continue
		}
		subjects = append(subjects, f.Subject)
		assert.Equal(t, "error", f.Severity)
		assert.Contains(t, f.Message, "several processes answer the metrics endpoint", dump(r))
		assert.Contains(t, f.Evidence, "process_start_time_seconds per scrape:")
	}
	assert.Equal(t, []string{"process_start_time_seconds"}, subjects, dump(r))
	// The probes spread over the workers: their counts are not comparable
	// and metrics/http-traffic does not add a second, noisier finding.
	assert.Equal(t, "not_evaluated", ruleStatus(r, "metrics/http-traffic"), dump(r))
}

// In multiprocess mode the workers' values are summed: counters never go
// down, and the default collectors it cannot serve are an info note. No
// metrics rule may fail (the trace rules do: there is no OTel SDK).
func TestMultiworkerFixedPasses(t *testing.T) {
	r := runMultiworker(t, "fixed")
	require.Equal(t, "python", r.Target.Profile)
	assert.Equal(t, "pass", ruleStatus(r, "metrics/counter-monotonic"), dump(r))
	assert.Equal(t, "pass", ruleStatus(r, "metrics/runtime-defaults"), dump(r))
	noted := false
	for _, f := range r.Findings {
		if f.Rule == "metrics/runtime-defaults" {
			assert.Equal(t, "info", f.Severity, dump(r))
			noted = noted || strings.Contains(f.Message, "multiprocess mode")
		}
	}
	assert.True(t, noted, "runtime-defaults should note multiprocess mode:\n%s", dump(r))
	for _, rr := range r.Rules {
		if strings.HasPrefix(rr.ID, "metrics/") {
			assert.NotEqual(t, "fail", rr.Status, "%s fails:\n%s", rr.ID, dump(r))
		}
	}
}
