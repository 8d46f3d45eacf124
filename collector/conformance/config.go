package conformance

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
)

// Defaults of Config, as createDefaultConfig returns them.
const (
	defaultEngine            = "default"
	defaultWindow            = 60 * time.Second
	defaultEvaluateEvery     = 10 * time.Second
	defaultMaxServices       = 1000
	defaultMaxSpans          = 2000
	defaultMaxLogRecords     = 2000
	defaultMaxAttributes     = 128
	defaultMemoryLimitMiB    = 256
	defaultMaxCopyPerSecond  = 5000
	defaultProfile           = checks.ProfileAuto
	maxWindowBuckets         = 60
	minEvaluateEvery         = 100 * time.Millisecond
	maxMemoryLimitMiB        = 1 << 20
	maxAttributesUpperBound  = 1 << 16
	maxPerServiceUpperBound  = 1 << 24
	maxServicesUpperBound    = 1 << 24
	defaultReportReadTimeout = 5 * time.Second
)

// Config configures the conformance processor and connector. Both read the
// same struct: instances that name the same Engine in one process share one
// engine, so a processor can feed what a connector reports.
type Config struct {
	// Engine names the shared engine; "" means "default".
	Engine string `mapstructure:"engine"`
	// Window is how much telemetry per service one evaluation sees.
	Window time.Duration `mapstructure:"window"`
	// EvaluateEvery is how often the rules run over every window.
	EvaluateEvery time.Duration `mapstructure:"evaluate_every"`
	// MaxServices bounds the services tracked; beyond it the least recently
	// seen service is evicted and counted.
	MaxServices int `mapstructure:"max_services"`
	// MaxSpansPerService bounds the spans kept per service and window; more
	// are counted, not kept.
	MaxSpansPerService int `mapstructure:"max_spans_per_service"`
	// MaxLogRecordsPerService bounds the log records kept per service and window.
	MaxLogRecordsPerService int `mapstructure:"max_log_records_per_service"`
	// MaxAttributes bounds the attributes kept per span or record; extras are
	// counted, not kept.
	MaxAttributes int `mapstructure:"max_attributes"`
	// MemoryLimitMiB is the approximate memory the engine may hold; over it
	// the oldest windows are evicted and reported.
	MemoryLimitMiB int `mapstructure:"memory_limit_mib"`
	// MaxCopyPerSecond bounds the spans plus log records the engine copies
	// per second across all services (a token bucket with one second of
	// burst); more are counted, not kept. It caps the CPU the component
	// takes from the pipeline whatever the number of services: with few
	// services the per-service caps fill first, with thousands of services
	// each sending a little, this does. 0 means no limit.
	MaxCopyPerSecond int `mapstructure:"max_copy_per_second"`
	// Profile is auto, node or python.
	Profile string `mapstructure:"profile"`
	// Disable lists rule IDs or patterns ("logs/*") not to run.
	Disable []string `mapstructure:"disable"`
	// Severity overrides the default severity of rules (error, warning, info).
	Severity map[string]string `mapstructure:"severity"`
	// Report configures the HTTP report endpoint.
	Report ReportConfig `mapstructure:"report"`
	_      struct{}
}

// ReportConfig configures the HTTP report endpoint.
type ReportConfig struct {
	// Endpoint is host:port to serve GET /report on; "" turns it off.
	Endpoint string `mapstructure:"endpoint"`
	_        struct{}
}

// NewDefaultConfig returns the defaults (also the connector's).
func NewDefaultConfig() *Config {
	return &Config{
		Engine:                  defaultEngine,
		Window:                  defaultWindow,
		EvaluateEvery:           defaultEvaluateEvery,
		MaxServices:             defaultMaxServices,
		MaxSpansPerService:      defaultMaxSpans,
		MaxLogRecordsPerService: defaultMaxLogRecords,
		MaxAttributes:           defaultMaxAttributes,
		MemoryLimitMiB:          defaultMemoryLimitMiB,
		MaxCopyPerSecond:        defaultMaxCopyPerSecond,
		Profile:                 defaultProfile,
	}
}

// Validate checks the config and names each bad key; every error is reported.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Window <= 0 {
		bad("window: must be positive, got %s", c.Window)
	}
	if c.EvaluateEvery < minEvaluateEvery {
		bad("evaluate_every: must be at least %s, got %s", minEvaluateEvery, c.EvaluateEvery)
	}
	if c.Window > 0 && c.EvaluateEvery > 0 && c.EvaluateEvery > c.Window {
		bad("evaluate_every (%s) must not be longer than window (%s)", c.EvaluateEvery, c.Window)
	}
	if c.Window > 0 && c.EvaluateEvery >= minEvaluateEvery && c.Window/c.EvaluateEvery > maxWindowBuckets {
		bad("window (%s) may be at most %d times evaluate_every (%s)", c.Window, maxWindowBuckets, c.EvaluateEvery)
	}
	positive := func(key string, v, upper int) {
		if v <= 0 || v > upper {
			bad("%s: must be between 1 and %d, got %d", key, upper, v)
		}
	}
	positive("max_services", c.MaxServices, maxServicesUpperBound)
	positive("max_spans_per_service", c.MaxSpansPerService, maxPerServiceUpperBound)
	positive("max_log_records_per_service", c.MaxLogRecordsPerService, maxPerServiceUpperBound)
	positive("max_attributes", c.MaxAttributes, maxAttributesUpperBound)
	positive("memory_limit_mib", c.MemoryLimitMiB, maxMemoryLimitMiB)
	if c.MaxCopyPerSecond < 0 {
		bad("max_copy_per_second: must be 0 (no limit) or positive, got %d", c.MaxCopyPerSecond)
	}
	switch c.Profile {
	case "", checks.ProfileAuto, checks.ProfileNode, checks.ProfilePython:
	default:
		bad("profile: must be auto, node or python, got %q", c.Profile)
	}
	for i, p := range c.Disable {
		if !knownPattern(p) {
			bad("disable::%d: %q matches no rule (want a rule ID such as logs/json, or signal/* such as logs/*)", i, p)
		}
	}
	for _, rule := range slices.Sorted(maps.Keys(c.Severity)) {
		if _, ok := catalogue.Lookup(rule); !ok {
			bad("severity::%s: unknown rule ID", rule)
		}
		if _, err := checks.ParseSeverity(c.Severity[rule]); err != nil {
			bad("severity::%s: %v", rule, err)
		}
	}
	if c.Report.Endpoint != "" {
		if _, _, err := net.SplitHostPort(c.Report.Endpoint); err != nil {
			bad("report::endpoint: want host:port, got %q: %v", c.Report.Endpoint, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Config) engineName() string {
	if c.Engine == "" {
		return defaultEngine
	}
	return c.Engine
}

// knownPattern reports whether a disable entry names a rule or a signal/*.
func knownPattern(p string) bool {
	if sig, ok := strings.CutSuffix(p, "/*"); ok {
		return slices.Contains(checks.Signals, checks.Signal(sig))
	}
	_, ok := catalogue.Lookup(p)
	return ok
}

// options turns the rule selection into checks.Options (Validate ran first).
func (c *Config) options() checks.Options {
	opt := checks.Options{Disabled: map[string]string{}, Severity: map[string]checks.Severity{}}
	for _, p := range c.Disable {
		opt.Disabled[p] = "disabled in the conformance component config"
	}
	for rule, s := range c.Severity {
		if sev, err := checks.ParseSeverity(s); err == nil {
			opt.Severity[rule] = sev
		}
	}
	return opt
}
