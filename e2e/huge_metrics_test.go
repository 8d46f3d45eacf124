package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// maxRunRSS is the peak memory obslint run may take against a huge
// exposition (issue "One streaming judge"): every scrape is judged within
// the scrape cap, one parsed scrape at a time.
const maxRunRSS = 512 << 20

// obslint run against a service whose /metrics is a 2 GiB body, a 4 GiB
// gzip bomb or 3M series judges all 13 scrapes up to the 32 MiB cap, says
// the cap was hit, and stays in bounded memory. Sequential subtests: each
// peak is its own.
func TestRunHugeMetrics(t *testing.T) {
	dir := filepath.Join(repoRoot(), "fixtures", "services", "python-huge-metrics")
	for _, mode := range []string{"body", "gzip", "series"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			c := exec.CommandContext(ctx, obslintBin, "run", "--format", "json", "--no-progress", "--span-wait", "1s",
				"--", "env", "HUGE_METRICS="+mode, "python3", "server.py")
			c.Dir = dir
			var stdout, stderr bytes.Buffer
			c.Stdout, c.Stderr = &stdout, &stderr
			err := c.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("want exit 1 (findings), got %v; stderr:\n%s", err, stderr.String())
			}
			rss := c.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
			t.Logf("%s: peak RSS %d MiB", mode, rss>>20)
			require.LessOrEqual(t, rss, int64(maxRunRSS), "peak RSS of obslint run")

			var r struct {
				Judged   struct{ Scrapes int } `json:"judged"`
				Findings []struct{ Rule, Subject, Message string }
				Problems []struct{ Phase, Message string }
			}
			require.NoError(t, json.Unmarshal(stdout.Bytes(), &r), stdout.String())
			require.Equal(t, 13, r.Judged.Scrapes, "every scrape is judged, none dropped for its size")
			cut := 0
			for _, f := range r.Findings {
				if f.Rule == "metrics/parse" && strings.Contains(f.Message, "cut at the size limit (33554432 bytes)") {
					cut++
				}
			}
			require.Positive(t, cut, "a finding names the limit hit (one per message: the scrapes' are the same)")
		})
	}
}

// maxBusyRSS is the peak memory of obslint run against 200k spans: the
// receiver spools them to disk, the judge reads one batch at a time.
const maxBusyRSS = 256 << 20

// TestRunJudgesEverySpanOfABusyService: a service that exports 200,000
// spans is judged on every one of them although --max-spans keeps 1,000,
// and obslint's memory stays bounded.
func TestRunJudgesEverySpanOfABusyService(t *testing.T) {
	dir := filepath.Join(repoRoot(), "fixtures", "services", "python-busy-traces")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, obslintBin, "run", "--format", "json", "--no-progress", "--span-wait", "1s", "--max-spans", "1000",
		"--", "python3", "server.py")
	c.Dir = dir
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("want exit 0 or 1, got %v; stderr:\n%s", err, stderr.String())
	}
	rss := c.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	t.Logf("peak RSS %d MiB", rss>>20)
	require.LessOrEqual(t, rss, int64(maxBusyRSS), "peak RSS of obslint run")
	var r struct {
		Judged   struct{ Spans int } `json:"judged"`
		Problems []struct{ Phase, Message string }
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &r), stdout.String())
	require.GreaterOrEqual(t, r.Judged.Spans, 199_000, "every span received is judged, not --max-spans of them")
	for _, p := range r.Problems {
		require.NotContains(t, p.Message, "spans dropped")
		require.NotContains(t, p.Message, "not indexed")
	}
}
