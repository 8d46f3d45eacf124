package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), FileName)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestLoadMissing(t *testing.T) {
	cfg, ok, err := Load(filepath.Join(t.TempDir(), FileName))
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, Config{}, cfg)
}

func TestLoadUnreadable(t *testing.T) {
	_, ok, err := Load(t.TempDir()) // a directory
	assert.Error(t, err)
	assert.False(t, ok)
}

func TestLoadEmpty(t *testing.T) {
	for _, content := range []string{"", "\n\n", "# only a comment\n"} {
		cfg, ok, err := Load(writeConfig(t, content))
		require.NoError(t, err, "%q", content)
		assert.True(t, ok, "an empty file exists")
		assert.Equal(t, Config{}, cfg)
	}
}

func TestLoadFull(t *testing.T) {
	p := writeConfig(t, `# obslint.yaml of the users service
command: [node, server.js]
url: http://127.0.0.1:3000
metrics_path: /prom
metrics_url: http://127.0.0.1:9464/metrics
ready: /healthz
profile: node
probes:
  - method: get
    path: /users/42
    route: /users/:id
    status: 200
    headers: {X-Tenant: acme}
  - path: /boom
    status: 500
expect:
  duration_metric: api_request_duration_seconds
  required_metrics: [app_users_total]
rules:
  disable:
    logs/json: we ship text logs through a sidecar
  severity:
    metrics/help: info
timeouts:
  total: 2m
  ready: 45s
  probe: 1500ms
  spans: 5s
  grace: 1s
`)
	cfg, ok, err := Load(p)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, Config{
		Command:     []string{"node", "server.js"},
		URL:         "http://127.0.0.1:3000",
		MetricsPath: "/prom",
		MetricsURL:  "http://127.0.0.1:9464/metrics",
		Ready:       "/healthz",
		Profile:     "node",
		Probes: []Probe{
			{Method: "get", Path: "/users/42", Route: "/users/:id", Status: 200, Headers: map[string]string{"X-Tenant": "acme"}},
			{Path: "/boom", Status: 500},
		},
		Expect: Expect{DurationMetric: "api_request_duration_seconds", RequiredMetrics: []string{"app_users_total"}},
		Rules: Rules{
			Disable:  map[string]string{"logs/json": "we ship text logs through a sidecar"},
			Severity: map[string]string{"metrics/help": "info"},
		},
		Timeouts: Timeouts{
			Total: Duration{2 * time.Minute}, Ready: Duration{45 * time.Second}, Probe: Duration{1500 * time.Millisecond},
			Spans: Duration{5 * time.Second}, Grace: Duration{time.Second},
		},
	}, cfg)
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error, after the file name
	}{
		{"unknown key", "url: http://x:1\ncolour: red\n", []string{"line 2", "field colour not found"}},
		{"unknown nested key", "probes:\n  - path: /\n    verb: GET\n", []string{"line 3", "field verb not found"}},
		{"wrong type", "probes: 3\n", []string{"line 1", "cannot unmarshal"}},
		{"wrong type in a list", "command: {run: node}\n", []string{"line 1", "cannot unmarshal"}},
		{"bad duration", "timeouts:\n  ready: soon\n", []string{`line 2: "soon" is not a duration like 30s or 2m`}},
		{"duration without unit", "timeouts:\n  total: 30\n", []string{`line 2: "30" is not a duration like 30s or 2m`}},
		{"duration as a list", "timeouts:\n  total: [1s]\n", []string{"line 2", "cannot unmarshal"}},
		{"not YAML", "url: [unclosed\n", []string{"line"}},
		{"invalid value", "profile: ruby\n", []string{`profile: "ruby" is not one of auto, node, python`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.content)
			cfg, ok, err := Load(p)
			require.Error(t, err)
			assert.True(t, ok, "the file exists")
			assert.Equal(t, Config{}, cfg, "a bad file yields no config")
			assert.True(t, strings.HasPrefix(err.Error(), p+": "), "the error names the file: %v", err)
			assert.NotContains(t, strings.TrimPrefix(err.Error(), p), "yaml: ", "the library prefix is dropped")
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // the whole joined error; "" means valid
	}{
		{"zero", Config{}, ""},
		{"good", Config{
			Profile: "auto",
			Probes:  []Probe{{Path: "/", Status: 200}, {Path: "/users/1", Route: "/users/:id"}},
			Rules:   Rules{Disable: map[string]string{"logs/*": "no logs"}},
		}, ""},
		{"path without slash", Config{Probes: []Probe{{Path: "/"}, {Path: "users"}}}, `probes::1::path: must start with "/" (got "users")`},
		{"empty path", Config{Probes: []Probe{{}}}, `probes::0::path: must start with "/" (got "")`},
		{"route without slash", Config{Probes: []Probe{{Path: "/", Route: "users/:id"}}}, `probes::0::route: must start with "/" (got "users/:id")`},
		{"status too low", Config{Probes: []Probe{{Path: "/", Status: 99}}}, "probes::0::status: 99 is not an HTTP status"},
		{"status too high", Config{Probes: []Probe{{Path: "/", Status: 600}}}, "probes::0::status: 600 is not an HTTP status"},
		{"profile", Config{Profile: "Node"}, `profile: "Node" is not one of auto, node, python`},
		{"disable without reason", Config{Rules: Rules{Disable: map[string]string{"logs/json": "  "}}}, "rules::disable::logs/json: a reason is required"},
		{"every error, in order", Config{
			Probes:  []Probe{{Path: "x", Route: "y", Status: 1}, {Path: "z"}},
			Profile: "go",
			Rules:   Rules{Disable: map[string]string{"traces/*": "", "logs/json": "", "metrics/help": "ok", "correlation/exemplars": ""}},
		}, strings.Join([]string{
			`probes::0::path: must start with "/" (got "x")`,
			`probes::0::route: must start with "/" (got "y")`,
			`probes::0::status: 1 is not an HTTP status`,
			`probes::1::path: must start with "/" (got "z")`,
			`profile: "go" is not one of auto, node, python`,
			`rules::disable::correlation/exemplars: a reason is required`,
			`rules::disable::logs/json: a reason is required`,
			`rules::disable::traces/*: a reason is required`,
		}, "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 5 { // map order must not show in the message
				err := tt.cfg.Validate()
				if tt.want == "" {
					require.NoError(t, err)
					continue
				}
				require.EqualError(t, err, tt.want)
			}
		})
	}
}

func TestLoadValidates(t *testing.T) {
	p := writeConfig(t, "probes:\n  - path: users\nrules:\n  disable:\n    logs/json:\n")
	_, ok, err := Load(p)
	assert.True(t, ok)
	require.Error(t, err)
	assert.Equal(t, p+": "+`probes::0::path: must start with "/" (got "users")`+"\n"+"rules::disable::logs/json: a reason is required", err.Error())
}
