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
		cfg.Source = nil
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
  - method: POST
    path: /orders
    headers: {Content-Type: application/json}
    body: '{"sku": "A-1"}'
expect:
  duration_metric: api_request_duration_seconds
  required_metrics: [app_users_total]
  routes: [/users/:id]
  log_fields: [service, http.method]
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
limits:
  max_log_line_bytes: 4096
  max_log_lines: 1000
  max_scrape_bytes: 1048576
  max_spans: 500
`)
	cfg, ok, err := Load(p)
	require.NoError(t, err)
	assert.True(t, ok)
	require.NotNil(t, cfg.Source)
	assert.Equal(t, p, cfg.Source.File)
	assert.Equal(t, 11, cfg.Source.Line("probes::0::route"))
	assert.Equal(t, 9, cfg.Source.Line("probes::0::body"), "a key not in the file has its parent's line")
	cfg.Source = nil
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
			{Method: "POST", Path: "/orders", Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"sku": "A-1"}`},
		},
		Expect: Expect{DurationMetric: "api_request_duration_seconds", RequiredMetrics: []string{"app_users_total"},
			Routes: []string{"/users/:id"}, LogFields: []string{"service", "http.method"}},
		Rules: Rules{
			Disable:  map[string]string{"logs/json": "we ship text logs through a sidecar"},
			Severity: map[string]string{"metrics/help": "info"},
		},
		Timeouts: Timeouts{
			Total: Duration{2 * time.Minute}, Ready: Duration{45 * time.Second}, Probe: Duration{1500 * time.Millisecond},
			Spans: Duration{5 * time.Second}, Grace: Duration{time.Second},
		},
		Limits: Limits{MaxLogLineBytes: 4096, MaxLogLines: 1000, MaxScrapeBytes: 1 << 20, MaxSpans: 500},
	}, cfg)
}

// Every error names the key path, the file and the line, and all of them
// are reported at once. want holds whole lines; FILE stands for the path.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{"unknown key with a suggestion", "probes:\n  - path: /\n    stauts: 200\n",
			[]string{`probes::0: unknown key "stauts" at FILE:3; did you mean "status"?`}},
		{"unknown top-level key", "url: http://x:1\nmetric_path: /m\n",
			[]string{`unknown key "metric_path" at FILE:2; did you mean "metrics_path"?`}},
		{"unknown key far from any", "colour: red\n",
			[]string{`unknown key "colour" at FILE:1; valid keys: command, url, metrics_path, metrics_url, ready, profile, probes, expect, rules, timeouts, limits`}},
		{"nested section", "timeouts:\n  totl: 1m\nlimits:\n  max_span: 3\n", []string{
			`timeouts: unknown key "totl" at FILE:2; did you mean "total"?`,
			`limits: unknown key "max_span" at FILE:4; did you mean "max_spans"?`,
		}},
		{"wrong type", "probes: 3\n", []string{`probes: want a list, e.g. [{path: /users/42, route: /users/:id}], got "3" at FILE:1`}},
		{"command as a string", "command: node server.js\n", []string{`command: want a list, e.g. [node, server.js], got "node server.js" at FILE:1`}},
		{"command as a mapping", "command: {run: node}\n", []string{`command: want a list, e.g. [node, server.js], got a mapping at FILE:1`}},
		{"status not a number", "probes:\n  - {path: /, status: ok}\n", []string{`probes::0::status: want an integer, got "ok" at FILE:2`}},
		{"header as a list", "probes:\n  - path: /\n    headers: [a]\n", []string{`probes::0::headers: want a mapping of key: value, got a list at FILE:3`}},
		{"string as a mapping", "url: {host: x}\n", []string{`url: want a string, got a mapping at FILE:1`}},
		{"bad duration", "timeouts:\n  ready: soon\n", []string{`timeouts::ready: "soon" is not a duration like 30s or 2m at FILE:2`}},
		{"duration without unit", "timeouts:\n  total: 30\n", []string{`timeouts::total: "30" is not a duration like 30s or 2m at FILE:2`}},
		{"duration as a list", "timeouts:\n  total: [1s]\n", []string{`timeouts::total: want a duration like 30s or 2m, got a list at FILE:2`}},
		{"limit not a number", "limits:\n  max_spans: lots\n", []string{`limits::max_spans: want an integer, got "lots" at FILE:2`}},
		{"not YAML", "url: [unclosed\n", []string{`syntax error at FILE:1: did not find expected ',' or ']'`}},
		{"not a mapping", "- a\n", []string{`want a mapping of key: value, got a list at FILE:1`}},
		{"invalid value", "profile: ruby\n", []string{`profile: "ruby" is not one of auto, node, python at FILE:1`}},
		{"every problem at once", "url: 1\nprobes:\n  - path: /\n    status: x\n    verb: GET\ntimeouts:\n  grace: never\n", []string{
			`probes::0::status: want an integer, got "x" at FILE:4`,
			`probes::0: unknown key "verb" at FILE:5; valid keys: method, path, route, status, headers, body`,
			`timeouts::grace: "never" is not a duration like 30s or 2m at FILE:7`,
		}},
		{"invalid values, located", "profile: go\nprobes:\n  - path: users\nrules:\n  disable:\n    logs/json:\nlimits:\n  max_spans: -1\nexpect:\n  routes: [users]\n", []string{
			`profile: "go" is not one of auto, node, python at FILE:1`,
			`probes::0::path: must start with "/" (got "users") at FILE:3`,
			`expect::routes::0: must start with "/" (got "users") at FILE:10`,
			`rules::disable::logs/json: a reason is required at FILE:6`,
			`limits::max_spans: must be positive (got -1) at FILE:8`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.content)
			cfg, ok, err := Load(p)
			require.Error(t, err)
			assert.True(t, ok, "the file exists")
			assert.Equal(t, Config{}, cfg, "a bad file yields no config")
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "FILE", p))
			}
			assert.Equal(t, want, strings.Split(err.Error(), "\n"))
		})
	}
}

func TestLoadTooLarge(t *testing.T) {
	p := writeConfig(t, "# "+strings.Repeat("x", maxFileBytes))
	_, _, err := Load(p)
	require.ErrorContains(t, err, p+": larger than")
}

func TestSourceErrorf(t *testing.T) {
	cfg, err := Parse("obslint.yaml", []byte("rules:\n  severity:\n    metrics/hlep: info\n"))
	require.NoError(t, err)
	err = cfg.Source.Errorf("rules::severity::metrics/hlep", "did you mean metrics/help?", "unknown rule %s", "metrics/hlep")
	assert.EqualError(t, err, "rules::severity::metrics/hlep: unknown rule metrics/hlep at obslint.yaml:3; did you mean metrics/help?")
	var none *Source
	assert.EqualError(t, none.Errorf("rules::severity::x", "", "unknown rule x"), "rules::severity::x: unknown rule x")
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
			`profile: "go" is not one of auto, node, python`,
			`probes::0::path: must start with "/" (got "x")`,
			`probes::0::route: must start with "/" (got "y")`,
			`probes::0::status: 1 is not an HTTP status`,
			`probes::1::path: must start with "/" (got "z")`,
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
