package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/bundle"
	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/jaeger"
	"github.com/obslint/obslint/internal/runner"
)

func TestAuditPassesSettingsAndSavesEvidence(t *testing.T) {
	var got runner.AuditSettings
	a := fakeApp()
	a.auditCapture = func(ctx context.Context, s runner.AuditSettings) (*runner.Capture, error) {
		got = s
		_, ok := ctx.Deadline()
		require.True(t, ok, "the audit is bounded")
		ev := &checks.Evidence{Captured: checks.Captured{Metrics: true}, Target: checks.Target{URL: s.Config.URL, Shared: true}}
		ev.Scrapes = []checks.Scrape{checks.NewScrape("http://127.0.0.1:9000/metrics", "before", 200, bundle.TextContentType, []byte(exposition), false)}
		return &runner.Capture{Evidence: ev}, nil
	}
	bundleDir := filepath.Join(t.TempDir(), "bundle")
	o := obslint(t, a, "", "audit", "--format", "json", "--fail-on", "warning", "--url", "http://127.0.0.1:9000", "--logs", "app.log", "--logs-from-start",
		"--otlp-listen", "127.0.0.1:14317", "--service", "users", "--span-wait", "3s", "--probe", "GET /users/42 route=/users/:id",
		"--save-evidence", bundleDir)
	assert.Equal(t, exitFindings, o.code, o.stderr)
	assert.Equal(t, "http://127.0.0.1:9000", got.Config.URL)
	assert.Equal(t, "app.log", got.Logs)
	assert.True(t, got.LogsFromStart)
	assert.True(t, got.OTLP)
	assert.Equal(t, "127.0.0.1:14317", got.OTLPGRPC)
	assert.Equal(t, "127.0.0.1:14318", got.OTLPHTTP)
	assert.Equal(t, "users", got.Service)
	assert.Equal(t, 3*time.Second, got.Config.Timeouts.Spans.Duration)
	assert.Len(t, got.Config.Probes, 1)
	assert.FileExists(t, filepath.Join(bundleDir, "evidence.json"))

	// The bundle replays to the same rule statuses.
	live := decode(t, []byte(o.stdout))
	r := obslint(t, fakeApp(), "", "lint", "--evidence", bundleDir, "--format", "json")
	assert.Equal(t, live["rules"], decode(t, []byte(r.stdout))["rules"])
	assert.Equal(t, live["findings"], decode(t, []byte(r.stdout))["findings"])
}

func TestAuditFlagErrors(t *testing.T) {
	never := func(context.Context, runner.AuditSettings) (*runner.Capture, error) {
		t.Fatal("bad flags must fail before the audit")
		return nil, nil
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no url", []string{}, "no URL to audit: give --url"},
		{"two trace sources", []string{"--url", "http://x:1", "--otlp-listen", "127.0.0.1:4317", "--jaeger", "j:16685"}, "--otlp-listen and --jaeger: give one trace source"},
		{"bad jaeger api", []string{"--url", "http://x:1", "--jaeger-api", "thrift"}, `--jaeger-api: "thrift" is not one of auto, grpc, http`},
		{"bad listen", []string{"--url", "http://x:1", "--otlp-listen", "4317"}, `--otlp-listen "4317": want HOST:PORT`},
		{"from start without file", []string{"--url", "http://x:1", "--logs", "-", "--logs-from-start"}, "--logs-from-start needs --logs FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := fakeApp()
			a.auditCapture = never
			o := obslint(t, a, "", append([]string{"audit"}, tt.args...)...)
			assert.Equal(t, exitError, o.code)
			assert.Contains(t, o.stderr, tt.want)
		})
	}
}

func TestAuditSaveEvidenceFailureIsExit2(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main"), 0o644))
	a := fakeApp()
	a.auditCapture = func(context.Context, runner.AuditSettings) (*runner.Capture, error) {
		return &runner.Capture{Evidence: &checks.Evidence{}}, nil
	}
	o := obslint(t, a, "", "audit", "--url", "http://x:1", "--save-evidence", dir)
	assert.Equal(t, exitError, o.code)
	assert.Contains(t, o.stderr, "--save-evidence: evidence bundle: "+dir+" holds main.go")
	assert.Contains(t, o.stdout, "summary:", "the verdict is still reported")
}

func TestParseOTLPListen(t *testing.T) {
	tests := []struct {
		in, grpc, http, err string
	}{
		{"127.0.0.1:4317", "127.0.0.1:4317", "127.0.0.1:4318", ""},
		{"0.0.0.0:5000", "0.0.0.0:5000", "0.0.0.0:5001", ""},
		{"grpc=127.0.0.1:5000,http=127.0.0.1:6000", "127.0.0.1:5000", "127.0.0.1:6000", ""},
		{"http=127.0.0.1:6000", "", "127.0.0.1:6000", ""},
		{"grpc=127.0.0.1:5000", "127.0.0.1:5000", "", ""},
		{"127.0.0.1:65535", "", "", "leaves no room for HTTP"},
		{"127.0.0.1:0", "", "", `port "0": want 1 to 65535`},
		{"thrift=127.0.0.1:1", "", "", `unknown protocol "thrift"`},
		{"grpc=127.0.0.1:1,http=127.0.0.1:1", "", "", "two ports"},
		{"grpc=localhost", "", "", "grpc: want HOST:PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g, h, err := parseOTLPListen(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{tt.grpc, tt.http}, []string{g, h})
		})
	}
}

func TestAuditJaegerAPI(t *testing.T) {
	for in, want := range map[string]jaeger.API{"auto": jaeger.APIAuto, "grpc": jaeger.APIGRPC, "http": jaeger.APIHTTP} {
		f := auditFlags{jaegerAPI: in}
		s, err := f.settings()
		require.NoError(t, err)
		assert.Equal(t, want, s.JaegerAPI)
	}
}
