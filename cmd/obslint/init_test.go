package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/internal/config"
)

// initIn runs obslint init in dir with files laid out first.
func initIn(t *testing.T, files map[string]string, args ...string) (outcome, string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	a := newApp(nil, &stdout, &stderr)
	code := a.execute(append([]string{"init"}, args...))
	return outcome{code, stdout.String(), stderr.String()}, dir
}

func TestInitDetectsTheStack(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		args    []string
		profile string
		command []string
		route   string
		says    string
	}{
		{"node with main", map[string]string{"package.json": `{"main":"src/index.js","dependencies":{"express":"^5","prom-client":"^15"}}`, "src/index.js": ""},
			nil, "node", []string{"node", "src/index.js"}, "/users/:id", "package.json depends on express"},
		{"node, usual entry", map[string]string{"package.json": `{"devDependencies":{"prom-client":"^15"}}`, "app.js": ""},
			nil, "node", []string{"node", "app.js"}, "/users/:id", "package.json depends on prom-client"},
		{"python requirements with venv", map[string]string{"requirements.txt": "FastAPI==0.115.0\nuvicorn==0.30\n", "main.py": "", ".venv/bin/python": ""},
			nil, "python", []string{".venv/bin/python", "main.py"}, "/users/{user_id}", "requirements.txt names fastapi"},
		{"python pyproject", map[string]string{"pyproject.toml": "[project]\ndependencies = [\"flask>=3\"]\n"},
			nil, "python", []string{"python3", "app.py"}, "/users/{user_id}", "pyproject.toml names flask"},
		{"generic", map[string]string{"go.mod": "module x\n"}, nil, "auto", nil, "/users/:id", "no Node or Python web stack detected"},
		{"package.json without a web stack", map[string]string{"package.json": `{"dependencies":{"left-pad":"1"}}`}, nil, "auto", nil, "/users/:id", "generic"},
		{"forced", map[string]string{"package.json": `{"dependencies":{"express":"5"}}`}, []string{"--profile", "python"},
			"python", []string{"python3", "app.py"}, "/users/{user_id}", "--profile python"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, dir := initIn(t, tc.files, tc.args...)
			require.Equal(t, exitOK, o.code, o.stderr)
			assert.Contains(t, o.stderr, tc.says)
			cfg, ok, err := config.Load(filepath.Join(dir, config.FileName))
			require.NoError(t, err, "the starter file loads")
			require.True(t, ok)
			assert.Equal(t, tc.profile, cfg.Profile)
			assert.Equal(t, tc.command, cfg.Command)
			require.Len(t, cfg.Probes, 2)
			assert.Equal(t, tc.route, cfg.Probes[1].Route)
			assert.Equal(t, "/metrics", cfg.MetricsPath)
			b, err := os.ReadFile(filepath.Join(dir, config.FileName))
			require.NoError(t, err)
			assert.Contains(t, string(b), "#   disable:\n#     logs/json: ", "a commented disable shows the reason it needs")
		})
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	o, dir := initIn(t, map[string]string{config.FileName: "url: http://mine\n"})
	assert.Equal(t, exitError, o.code)
	assert.Contains(t, o.stderr, "obslint.yaml already exists; edit it, or run obslint init --force")
	b, err := os.ReadFile(filepath.Join(dir, config.FileName))
	require.NoError(t, err)
	assert.Equal(t, "url: http://mine\n", string(b), "untouched")

	o, dir = initIn(t, map[string]string{config.FileName: "url: http://mine\n"}, "--force")
	require.Equal(t, exitOK, o.code, o.stderr)
	cfg, _, err := config.Load(filepath.Join(dir, config.FileName))
	require.NoError(t, err)
	assert.Empty(t, cfg.URL)

	o, _ = initIn(t, nil, "--profile", "ruby")
	assert.Equal(t, exitError, o.code)
	assert.Contains(t, o.stderr, `--profile: "ruby" is not one of node, python, generic`)
}

func TestFlow(t *testing.T) {
	assert.Equal(t, `[node, server.js]`, flow([]string{"node", "server.js"}))
	assert.Equal(t, `[.venv/bin/python, "-m", "my app:main"]`, flow([]string{".venv/bin/python", "-m", "my app:main"}))
}
