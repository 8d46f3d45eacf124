// Package config reads obslint.yaml, the service repo's declaration of how to
// run, probe and judge it. Every field is also a flag; flags win.
//
// The file is checked before it is decoded: every unknown key, wrong type and
// invalid value is reported at once, each naming its key path, the file and
// the line, so a typo fails in a second rather than after a two-minute run.
// docs/obslint.schema.json and docs/config.md are generated from the types
// below (their doc comments are the descriptions; see schema_test.go).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/obslint/obslint/checks"
)

// FileName is the config file read from the working directory.
const FileName = "obslint.yaml"

// Defaults, named so docs and flags agree.
const (
	DefaultMetricsPath  = "/metrics"
	DefaultTimeout      = 2 * time.Minute
	DefaultReadyTimeout = 30 * time.Second
	DefaultSpanWait     = 10 * time.Second
	DefaultProbeTimeout = 10 * time.Second
	DefaultGrace        = 5 * time.Second
)

// maxFileBytes caps the config file: it is hand-written, and a huge one is a
// mistake (a log file passed as --config), not a config.
const maxFileBytes = 1 << 20

// Config is obslint.yaml. Zero values mean "use the default".
//
// Tags: yaml is the key; flag is the command-line flag that overrides it
// ("--" for the command after --); schema adds JSON Schema constraints
// (enum=a|b, pattern=RE, minimum=N, maximum=N, minLength=N, minItems=N for
// a list, keyPattern=RE for a mapping's keys).
type Config struct {
	// The command that starts the service (run only), as a list of words.
	Command []string `yaml:"command" flag:"--" schema:"minItems=1"`
	// The service's base URL; empty means http://127.0.0.1:$PORT with a free port passed in PORT.
	URL string `yaml:"url" flag:"url"`
	// The metrics path under url (default /metrics).
	MetricsPath string `yaml:"metrics_path" flag:"metrics-path" schema:"pattern=^/"`
	// The full metrics URL, when metrics are served apart from url (e.g. an OpenTelemetry Prometheus exporter on :9464).
	MetricsURL string `yaml:"metrics_url" flag:"metrics-url"`
	// A path or URL that answers 2xx once the service is ready (default: the metrics URL).
	Ready string `yaml:"ready" flag:"ready"`
	// The stack whose conventions judge the service: auto detects it from what the service sends.
	Profile string `yaml:"profile" flag:"profile" schema:"enum=auto|node|python"`
	// The probe plan: requests sent to the service, each with its own traceparent. Empty means a default plan.
	Probes []Probe `yaml:"probes" flag:"probe"`
	// What the service must expose; each declaration is checked by a rule.
	Expect Expect `yaml:"expect"`
	// Rule disables (each with a reason) and severity overrides.
	Rules Rules `yaml:"rules"`
	// Bounds on every wait.
	Timeouts Timeouts `yaml:"timeouts"`
	// Caps on what is read and kept; hitting one is reported.
	Limits Limits `yaml:"limits"`

	// Source says where the config came from, for errors that name a line.
	Source *Source `yaml:"-"`
}

// Probe is one request of the probe plan.
type Probe struct {
	// The HTTP method (default GET).
	Method string `yaml:"method" schema:"enum=GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|get|head|post|put|patch|delete|options"`
	// The request path, with any query string.
	Path string `yaml:"path" schema:"pattern=^/"`
	// The route template the service's framework matches the path with (/users/:id in express, /users/{user_id} in FastAPI); rules compare it with metric labels and span attributes.
	Route string `yaml:"route" schema:"pattern=^/"`
	// The expected response status; 0 or absent accepts any.
	Status int `yaml:"status" schema:"minimum=100,maximum=599"`
	// Request headers.
	Headers map[string]string `yaml:"headers"`
	// The request body, sent as is; set a Content-Type header to match.
	Body string `yaml:"body"`
}

// Expect declares what the service must expose.
type Expect struct {
	// The name of the HTTP server duration histogram, when it is not http_request_duration_seconds or http_server_request_duration_seconds (metrics/http-server-duration).
	DurationMetric string `yaml:"duration_metric" flag:"expect-duration-metric" schema:"pattern=^[a-zA-Z_:][a-zA-Z0-9_:]*$"`
	// Metric family names that must exist in the last scrape (metrics/expected).
	RequiredMetrics []string `yaml:"required_metrics" flag:"expect-metric" schema:"pattern=^[a-zA-Z_:][a-zA-Z0-9_:]*$"`
	// Route templates that must each have a SERVER span with that http.route (traces/expected-routes).
	Routes []string `yaml:"routes" flag:"expect-route" schema:"pattern=^/"`
	// Fields every JSON log line must carry; a dotted name may be a nested path (logs/expected-fields).
	LogFields []string `yaml:"log_fields" flag:"expect-log-field" schema:"minLength=1"`
}

// Rules tunes the catalogue: disable with a reason, override severities.
type Rules struct {
	// Rule IDs or signal patterns (logs/*) to disable, each mapped to the reason (required).
	Disable map[string]string `yaml:"disable" flag:"disable" schema:"minLength=1,keyPattern=^(metrics|logs|traces|correlation)/([a-z0-9]+(-[a-z0-9]+)*|[*])$"`
	// Rule IDs mapped to the severity their findings get.
	Severity map[string]string `yaml:"severity" flag:"severity" schema:"enum=error|warning|warn|info,keyPattern=^(metrics|logs|traces|correlation)/[a-z0-9]+(-[a-z0-9]+)*$"`
}

// Timeouts bound every wait.
type Timeouts struct {
	// Bound on the whole run (default 2m).
	Total Duration `yaml:"total" flag:"timeout"`
	// How long the service may take to get ready (default 30s).
	Ready Duration `yaml:"ready" flag:"ready-timeout"`
	// Bound on each probe request and scrape (default 10s).
	Probe Duration `yaml:"probe" flag:"probe-timeout"`
	// How long to wait for the probes' spans to arrive (default 10s).
	Spans Duration `yaml:"spans" flag:"span-wait"`
	// How long the service may take to exit after SIGTERM before SIGKILL (default 5s).
	Grace Duration `yaml:"grace" flag:"grace"`
}

// Limits cap what is read and kept. Zero means the default.
type Limits struct {
	// Longer log lines are cut and reported (default 1048576).
	MaxLogLineBytes int `yaml:"max_log_line_bytes" flag:"max-log-line-bytes" schema:"minimum=1"`
	// Log lines kept (examples, --save-evidence) and OTLP log records kept; every log line is judged (default 200000).
	MaxLogLines int `yaml:"max_log_lines" flag:"max-log-lines" schema:"minimum=1"`
	// Larger expositions (after gzip) are cut and reported (default 33554432).
	MaxScrapeBytes int64 `yaml:"max_scrape_bytes" flag:"max-scrape-bytes" schema:"minimum=1"`
	// Spans saved with --save-evidence and fetched from Jaeger; every span received or read from a file is judged (default 200000).
	MaxSpans int `yaml:"max_spans" flag:"max-spans" schema:"minimum=1"`
}

// Duration reads "30s", "2m".
type Duration struct{ time.Duration }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30s or 2m", s)
	}
	d.Duration = v
	return nil
}

// Expectations converts the expect section for the evidence.
func (e Expect) Expectations() checks.Expectations {
	return checks.Expectations{DurationMetric: e.DurationMetric, RequiredMetrics: e.RequiredMetrics,
		Routes: e.Routes, LogFields: e.LogFields}
}

// Load reads a config file. A missing file is not an error: ok is false.
// Every problem is reported at once, each as a *FieldError naming its key,
// the file and the line.
func Load(path string) (cfg Config, ok bool, err error) {
	b, err := readCapped(path)
	if errors.Is(err, os.ErrNotExist) {
		return Config{}, false, nil
	}
	if err != nil {
		return Config{}, false, err
	}
	cfg, err = Parse(path, b)
	return cfg, true, err
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes; is it really obslint's config?", path, maxFileBytes)
	}
	return b, nil
}

// Parse reads the content of a config file; name is used in errors.
func Parse(name string, b []byte) (Config, error) {
	src := &Source{File: name, lines: map[string]int{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Config{Source: src}, nil
		}
		return Config{}, syntaxError(name, err)
	}
	if err := checkNode(src, &doc); err != nil {
		return Config{}, err
	}
	var cfg Config
	// The check above accepted every key and type, so this cannot fail on
	// them; KnownFields stays on in case the two ever disagree.
	dec = yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	cfg.Source = src
	if err := cfg.Validate(); err != nil {
		return Config{}, src.annotate(err)
	}
	return cfg, nil
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// syntaxError turns "yaml: line 3: did not find …" into "syntax error at FILE:3: did not find …".
func syntaxError(name string, err error) error {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("syntax error at %s:%s: %s", name, m[1], m[2])
	}
	return fmt.Errorf("syntax error in %s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	httpMethods  = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
)

// Validate reports every invalid value at once, each as a *FieldError with
// its key path, in file order.
func (c Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if c.MetricsPath != "" && !strings.HasPrefix(c.MetricsPath, "/") {
		add("metrics_path", "must start with \"/\" (got %q)", c.MetricsPath)
	}
	switch c.Profile {
	case "", checks.ProfileAuto, checks.ProfileNode, checks.ProfilePython:
	default:
		add("profile", "%q is not one of auto, node, python", c.Profile)
	}
	for i, p := range c.Probes {
		key := fmt.Sprintf("probes::%d", i)
		if p.Method != "" && !slices.Contains(httpMethods, strings.ToUpper(p.Method)) {
			add(key+"::method", "%q is not one of %s", p.Method, strings.Join(httpMethods, ", "))
		}
		if !strings.HasPrefix(p.Path, "/") {
			add(key+"::path", "must start with \"/\" (got %q)", p.Path)
		}
		if p.Route != "" && !strings.HasPrefix(p.Route, "/") {
			add(key+"::route", "must start with \"/\" (got %q)", p.Route)
		}
		if p.Status != 0 && (p.Status < 100 || p.Status > 599) {
			add(key+"::status", "%d is not an HTTP status", p.Status)
		}
	}
	errs = append(errs, c.Expect.validate()...)
	// Sorted, so the same file gives the same message.
	for _, id := range slices.Sorted(maps.Keys(c.Rules.Disable)) {
		if strings.TrimSpace(c.Rules.Disable[id]) == "" {
			add("rules::disable::"+id, "a reason is required")
		}
	}
	for _, l := range []struct {
		key string
		v   int64
	}{
		{"max_log_line_bytes", int64(c.Limits.MaxLogLineBytes)}, {"max_log_lines", int64(c.Limits.MaxLogLines)},
		{"max_scrape_bytes", c.Limits.MaxScrapeBytes}, {"max_spans", int64(c.Limits.MaxSpans)},
	} {
		if l.v < 0 {
			add("limits::"+l.key, "must be positive (got %d)", l.v)
		}
	}
	for _, t := range []struct {
		key string
		d   Duration
	}{{"total", c.Timeouts.Total}, {"ready", c.Timeouts.Ready}, {"probe", c.Timeouts.Probe}, {"spans", c.Timeouts.Spans}, {"grace", c.Timeouts.Grace}} {
		if t.d.Duration < 0 {
			add("timeouts::"+t.key, "must not be negative (got %s)", t.d.Duration)
		}
	}
	return errors.Join(errs...)
}

// IsMetricName reports whether s is a valid Prometheus metric name.
func IsMetricName(s string) bool { return metricNameRE.MatchString(s) }

func (e Expect) validate() []error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if e.DurationMetric != "" && !metricNameRE.MatchString(e.DurationMetric) {
		add("expect::duration_metric", "%q is not a Prometheus metric name", e.DurationMetric)
	}
	for i, m := range e.RequiredMetrics {
		if !metricNameRE.MatchString(m) {
			add(fmt.Sprintf("expect::required_metrics::%d", i), "%q is not a Prometheus metric name", m)
		}
	}
	for i, r := range e.Routes {
		if !strings.HasPrefix(r, "/") {
			add(fmt.Sprintf("expect::routes::%d", i), "must start with \"/\" (got %q)", r)
		}
	}
	for i, f := range e.LogFields {
		if strings.TrimSpace(f) == "" {
			add(fmt.Sprintf("expect::log_fields::%d", i), "must not be empty")
		}
	}
	return errs
}
