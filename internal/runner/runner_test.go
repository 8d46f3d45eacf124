package runner

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/probe"
)

func TestPlanDefault(t *testing.T) {
	tests := []struct {
		name, metricsURL, metricsPath string
	}{
		{"default metrics URL", "http://127.0.0.1:3000/metrics", "/metrics"},
		{"custom metrics path", "http://127.0.0.1:3000/prom", "/prom"},
		{"metrics on another port", "http://127.0.0.1:9464/metrics", "/metrics"},
		{"no path", "http://127.0.0.1:3000", "/metrics"},
		{"no metrics URL", "", "/metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs, err := plan(config.Config{}, tt.metricsURL)
			require.NoError(t, err)
			assert.Equal(t, probe.DefaultPlan(tt.metricsPath), specs)
			assert.Contains(t, specs, probe.Spec{Method: "GET", Path: tt.metricsPath})
		})
	}
}

func TestPlanDeclared(t *testing.T) {
	cfg := config.Config{Probes: []config.Probe{
		{Method: "post", Path: "/users", Status: 201, Headers: map[string]string{"Content-Type": "application/json"}},
		{Path: "/users/42", Route: "/users/:id"},
	}}
	specs, err := plan(cfg, "http://127.0.0.1:3000/metrics")
	require.NoError(t, err)
	assert.Equal(t, []probe.Spec{
		{Method: "POST", Path: "/users", Status: 201, Headers: map[string]string{"Content-Type": "application/json"}},
		{Method: "GET", Path: "/users/42", Route: "/users/:id"},
		{Method: "GET", Path: probe.NotFoundPath, Status: 404},
	}, specs, "declared probes, methods upper-cased, then one unknown path for a 404")
}

func TestReadyTarget(t *testing.T) {
	const base = "http://127.0.0.1:3000"
	tests := []struct {
		name, ready, metricsURL, want string
	}{
		{"path on the base URL", "/healthz", base + "/metrics", base + "/healthz"},
		{"http URL", "http://127.0.0.1:8081/ready", base + "/metrics", "http://127.0.0.1:8081/ready"},
		{"https URL", "https://svc.local/ready", base + "/metrics", "https://svc.local/ready"},
		{"tcp", "tcp://127.0.0.1:3000", base + "/metrics", "tcp://127.0.0.1:3000"},
		{"none: the metrics URL", "", "http://127.0.0.1:9464/metrics", "http://127.0.0.1:9464/metrics"},
		{"none and no metrics URL: the port", "", "", "tcp://127.0.0.1:3000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, readyTarget(tt.ready, base, tt.metricsURL))
		})
	}
}

func TestServiceURLConfigured(t *testing.T) {
	tests := []struct {
		name, configured, base string
		env                    []string
	}{
		{"with port", "http://127.0.0.1:3000", "http://127.0.0.1:3000", []string{"PORT=3000"}},
		{"trailing slash", "http://localhost:8080/", "http://localhost:8080", []string{"PORT=8080"}},
		{"with a path", "http://localhost:8080/api/", "http://localhost:8080/api", []string{"PORT=8080"}},
		{"without port", "https://users.internal", "https://users.internal", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, env, err := serviceURL(tt.configured)
			require.NoError(t, err)
			assert.Equal(t, tt.base, base)
			assert.Equal(t, tt.env, env)
		})
	}
}

func TestServiceURLBad(t *testing.T) {
	for _, bad := range []string{"localhost:3000", "/users", "http://[::1", "::"} {
		_, _, err := serviceURL(bad)
		require.Error(t, err, bad)
		assert.Equal(t, `url: "`+bad+`" is not an absolute URL`, err.Error())
	}
}

func TestServiceURLFreePort(t *testing.T) {
	base, env, err := serviceURL("")
	require.NoError(t, err)
	u, err := url.Parse(base)
	require.NoError(t, err)
	assert.Equal(t, "http", u.Scheme)
	assert.Equal(t, "127.0.0.1", u.Hostname())
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	assert.Positive(t, port)
	assert.Equal(t, []string{"PORT=" + u.Port()}, env)

	// The port is free: the service can listen on it.
	l, err := net.Listen("tcp", u.Host)
	require.NoError(t, err, "the chosen port must be free")
	require.NoError(t, l.Close())
	assert.False(t, strings.HasSuffix(base, "/"))
}
