// Package config reads obslint.yaml, the service repo's declaration of how to
// run, probe and judge it. Every field is also a flag; flags win.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
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

// Config is obslint.yaml. Zero values mean "use the default".
type Config struct {
	// Command launches the service (run only); `obslint run -- CMD` wins.
	Command []string `yaml:"command"`
	// URL is the service's base URL; empty means http://127.0.0.1:$PORT with a free port.
	URL string `yaml:"url"`
	// MetricsPath is appended to URL unless MetricsURL is set.
	MetricsPath string `yaml:"metrics_path"`
	MetricsURL  string `yaml:"metrics_url"`
	// Ready is a path or URL that answers 2xx once the service is ready.
	Ready    string   `yaml:"ready"`
	Profile  string   `yaml:"profile"`
	Probes   []Probe  `yaml:"probes"`
	Expect   Expect   `yaml:"expect"`
	Rules    Rules    `yaml:"rules"`
	Timeouts Timeouts `yaml:"timeouts"`
}

// Probe is one request of the probe plan.
type Probe struct {
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Route   string            `yaml:"route"`
	Status  int               `yaml:"status"`
	Headers map[string]string `yaml:"headers"`
}

// Expect declares what the service must expose.
type Expect struct {
	DurationMetric  string   `yaml:"duration_metric"`
	RequiredMetrics []string `yaml:"required_metrics"`
}

// Rules tunes the catalogue: disable with a reason, override severities.
type Rules struct {
	Disable  map[string]string `yaml:"disable"`
	Severity map[string]string `yaml:"severity"`
}

// Timeouts bound every wait.
type Timeouts struct {
	Total Duration `yaml:"total"`
	Ready Duration `yaml:"ready"`
	Probe Duration `yaml:"probe"`
	Spans Duration `yaml:"spans"`
	Grace Duration `yaml:"grace"`
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
		return fmt.Errorf("line %d: %q is not a duration like 30s or 2m", n.Line, s)
	}
	d.Duration = v
	return nil
}

// Load reads a config file. A missing file is not an error: ok is false.
// Unknown keys are an error naming the key and line.
func Load(path string) (cfg Config, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Config{}, false, nil
	}
	if err != nil {
		return Config{}, false, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, true, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, true, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, true, nil
}

// Validate reports every problem at once, each with its key path.
func (c Config) Validate() error {
	var errs []error
	for i, p := range c.Probes {
		if !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, fmt.Errorf("probes::%d::path: must start with \"/\" (got %q)", i, p.Path))
		}
		if p.Route != "" && !strings.HasPrefix(p.Route, "/") {
			errs = append(errs, fmt.Errorf("probes::%d::route: must start with \"/\" (got %q)", i, p.Route))
		}
		if p.Status != 0 && (p.Status < 100 || p.Status > 599) {
			errs = append(errs, fmt.Errorf("probes::%d::status: %d is not an HTTP status", i, p.Status))
		}
	}
	switch c.Profile {
	case "", "auto", "node", "python":
	default:
		errs = append(errs, fmt.Errorf("profile: %q is not one of auto, node, python", c.Profile))
	}
	// Sorted, so the same file gives the same message.
	for _, id := range slices.Sorted(maps.Keys(c.Rules.Disable)) {
		if strings.TrimSpace(c.Rules.Disable[id]) == "" {
			errs = append(errs, fmt.Errorf("rules::disable::%s: a reason is required", id))
		}
	}
	return errors.Join(errs...)
}
