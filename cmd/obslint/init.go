package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/config"
)

func (a *app) initCommand() *cobra.Command {
	var force bool
	var profile string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter " + config.FileName + " for the service in this directory",
		Long: "init detects the stack from package.json (express, prom-client → node) or\n" +
			"requirements.txt / pyproject.toml (fastapi, flask → python), guesses the command that\n" +
			"starts the service, and writes a starter config with a probe plan to adapt.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return a.init(profile, force) },
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing "+config.FileName)
	cmd.Flags().StringVar(&profile, "profile", "", "write for this stack instead of detecting it: node, python or generic")
	return cmd
}

func (a *app) init(profile string, force bool) error {
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	st := detectStack(dir)
	switch profile {
	case "":
	case checks.ProfileNode, checks.ProfilePython, "generic":
		st = stackFor(dir, profile, "--profile "+profile)
	default:
		return fmt.Errorf("--profile: %q is not one of node, python, generic", profile)
	}
	var buf bytes.Buffer
	if err := starterTemplate.Execute(&buf, st); err != nil {
		return err
	}
	path := filepath.Join(dir, config.FileName)
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists; edit it, or run obslint init --force to replace it", config.FileName)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "obslint: wrote %s for a %s service (%s); adapt the probes, then run: obslint run\n",
		config.FileName, st.Name, st.Reason)
	return nil
}

// stack is what init detected, and what the template needs.
type stack struct {
	Profile string // node, python or "" (generic)
	Name    string // for messages
	Reason  string
	Command []string
	Route   string // the framework's route template syntax for /users/42
}

// maxManifestBytes caps the manifests init reads.
const maxManifestBytes = 1 << 20

func detectStack(dir string) stack {
	if deps, ok := nodeDeps(dir); ok {
		for _, d := range []string{"express", "prom-client", "@opentelemetry/sdk-node", "winston"} {
			if slices.Contains(deps, d) {
				return stackFor(dir, checks.ProfileNode, "package.json depends on "+d)
			}
		}
	}
	for _, m := range []string{"requirements.txt", "pyproject.toml"} {
		b := readManifest(filepath.Join(dir, m))
		for _, d := range []string{"fastapi", "flask"} {
			if regexp.MustCompile(`(?im)(^|["'\s])` + d + `\b`).Match(b) {
				return stackFor(dir, checks.ProfilePython, m+" names "+d)
			}
		}
	}
	return stackFor(dir, "generic", "no Node or Python web stack detected")
}

func stackFor(dir, profile, reason string) stack {
	switch profile {
	case checks.ProfileNode:
		return stack{Profile: profile, Name: "Node.js", Reason: reason, Command: nodeCommand(dir), Route: "/users/:id"}
	case checks.ProfilePython:
		return stack{Profile: profile, Name: "Python", Reason: reason, Command: pythonCommand(dir), Route: "/users/{user_id}"}
	}
	return stack{Name: "generic", Reason: reason, Route: "/users/:id"}
}

func readManifest(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxManifestBytes))
	return b
}

// nodeDeps lists package.json's dependencies; ok is false without a
// readable package.json.
func nodeDeps(dir string) (deps []string, ok bool) {
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if json.Unmarshal(readManifest(filepath.Join(dir, "package.json")), &pkg) != nil {
		return nil, false
	}
	for d := range pkg.Dependencies {
		deps = append(deps, d)
	}
	for d := range pkg.DevDependencies {
		deps = append(deps, d)
	}
	return deps, true
}

// nodeCommand guesses `node ENTRY`: package.json's main, else a usual name.
func nodeCommand(dir string) []string {
	var pkg struct {
		Main string `json:"main"`
	}
	_ = json.Unmarshal(readManifest(filepath.Join(dir, "package.json")), &pkg)
	return []string{"node", firstExisting(dir, "server.js", pkg.Main, "server.js", "app.js", "index.js", "src/server.js", "src/index.js")}
}

// pythonCommand guesses the project's venv interpreter and entry script.
func pythonCommand(dir string) []string {
	py := "python3"
	if exists(filepath.Join(dir, ".venv", "bin", "python")) {
		py = ".venv/bin/python"
	}
	return []string{py, firstExisting(dir, "app.py", "app.py", "main.py", "server.py", "app/main.py")}
}

// firstExisting returns the first candidate that is a file in dir, else def.
func firstExisting(dir, def string, candidates ...string) string {
	for _, c := range candidates {
		if c != "" && exists(filepath.Join(dir, c)) {
			return c
		}
	}
	return def
}

func exists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// flow renders a command as a YAML flow list, quoting words YAML would
// otherwise read as something else.
func flow(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = w
		if w == "" || strings.ContainsAny(w, ":{}[],&*#?|-<>=!%@`'\" ") {
			b, _ := json.Marshal(w)
			out[i] = string(b)
		}
	}
	return "[" + strings.Join(out, ", ") + "]"
}

var starterTemplate = template.Must(template.New(config.FileName).Funcs(template.FuncMap{"flow": flow}).Parse(
	`# yaml-language-server: $schema=https://raw.githubusercontent.com/obslint/obslint/main/docs/obslint.schema.json
# obslint.yaml: how obslint runs, probes and judges this service ({{.Name}}; {{.Reason}}).
# Reference: docs/config.md. Every key is also a flag of obslint run; flags win.

# The command that starts the service. obslint passes a free port in PORT
# and points OTEL_EXPORTER_OTLP_ENDPOINT at its own receiver.
{{if .Command}}command: {{flow .Command}}{{else}}# command: [./start-service]{{end}}

# The stack whose conventions judge the service: auto detects it from what
# the service sends (telemetry.sdk.language).
profile: {{if .Profile}}{{.Profile}}{{else}}auto{{end}}

# Where metrics are served, and a path that answers 2xx once the service is ready.
metrics_path: /metrics
# ready: /healthz

# The probe plan: one request per route that matters, with the route template
# your framework matches it with and the status it must answer. obslint adds a
# request to an unknown path for a 404.
probes:
  - {method: GET, path: /, route: /, status: 200}
  - {method: GET, path: /users/42, route: "{{.Route}}", status: 200}
  # - method: POST
  #   path: /orders
  #   route: /orders
  #   status: 201
  #   headers: {Content-Type: application/json}
  #   body: '{"sku": "A-1"}'

# What the service must expose; each list is checked by its own rule.
expect:
  # duration_metric: http_request_duration_seconds
  required_metrics: []   # e.g. [orders_created_total]     (metrics/expected)
  routes: []             # e.g. ["{{.Route}}"]    (traces/expected-routes)
  log_fields: []         # e.g. [service, request_id]      (logs/expected-fields)

# Tune the catalogue (obslint rules lists it). A disable needs a reason.
# rules:
#   disable:
#     logs/json: access logs go through the ingress, not stdout
#   severity:
#     metrics/help: info

timeouts:
  total: 2m
  ready: 30s
`))
