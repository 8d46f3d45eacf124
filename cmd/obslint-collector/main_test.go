package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

type outcome struct {
	code           int
	stdout, stderr string
}

func collector(t *testing.T, args ...string) outcome {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return outcome{code, stdout.String(), stderr.String()}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	return path
}

func repoFile(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(file), "..", ".."}, parts...)...)
}

// `obslint collector components` lists the distribution: the receivers that
// scrape and tail as well as receive OTLP, and the conformance processor and
// connector from this module.
func TestCollectorComponents(t *testing.T) {
	out := collector(t, "components")
	require.Equal(t, 0, out.code, out.stderr)
	var got struct {
		Receivers, Processors, Exporters, Connectors []struct {
			Name   string `yaml:"name"`
			Module string `yaml:"module"`
		}
		Providers []struct {
			Scheme string `yaml:"scheme"`
		}
	}
	require.NoError(t, yaml.Unmarshal([]byte(out.stdout), &got), out.stdout)
	names := func(cs []struct {
		Name   string `yaml:"name"`
		Module string `yaml:"module"`
	}) []string {
		var n []string
		for _, c := range cs {
			n = append(n, c.Name)
			assert.NotEmpty(t, c.Module, "%s has no module", c.Name)
		}
		return n
	}
	assert.ElementsMatch(t, []string{"otlp", "prometheus", "file_log"}, names(got.Receivers))
	assert.ElementsMatch(t, []string{"batch", "conformance"}, names(got.Processors))
	assert.ElementsMatch(t, []string{"debug", "nop", "otlp_grpc", "otlp_http"}, names(got.Exporters))
	assert.ElementsMatch(t, []string{"conformance"}, names(got.Connectors))
	var schemes []string
	for _, p := range got.Providers {
		schemes = append(schemes, p.Scheme)
	}
	assert.ElementsMatch(t, []string{"env", "file", "yaml"}, schemes)
}

// The sample config in examples/collector is valid for this distribution.
func TestCollectorValidateSampleConfig(t *testing.T) {
	out := collector(t, "validate", "--config", repoFile("examples", "collector", "obslint-collector.yaml"))
	require.Equal(t, 0, out.code, "stdout:\n%s\nstderr:\n%s", out.stdout, out.stderr)
}

// A bad config is exit 2 with the key named, before anything listens.
func TestCollectorValidateBadConfig(t *testing.T) {
	for name, tc := range map[string]struct{ config, want string }{
		"conformance setting": {
			config: `
receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:0"}}}}
processors: {conformance: {window: -1s}}
exporters: {nop: }
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [otlp], processors: [conformance], exporters: [nop]}}
`,
			want: "window",
		},
		"unknown component": {
			config: `
receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:0"}}}}
processors: {conformanse: }
exporters: {nop: }
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [otlp], processors: [conformanse], exporters: [nop]}}
`,
			want: "conformanse",
		},
		"unknown key": {
			config: `
receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:0"}}}}
processors: {conformance: {evaluate_evry: 1s}}
exporters: {nop: }
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [otlp], processors: [conformance], exporters: [nop]}}
`,
			want: "evaluate_evry",
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := writeFile(t, "collector.yaml", tc.config)
			out := collector(t, "validate", "--config", path)
			require.Equal(t, 2, out.code, out.stdout)
			require.Contains(t, out.stderr, tc.want)
			require.True(t, strings.HasPrefix(out.stderr, "obslint collector: "), out.stderr)
		})
	}
}

func TestCollectorHelp(t *testing.T) {
	out := collector(t, "--help")
	require.Equal(t, 0, out.code, out.stderr)
	require.Contains(t, out.stdout, "obslint collector --config")
	require.Contains(t, out.stdout, "validate")
	require.Contains(t, out.stdout, "components")
}
