package conformance

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/otelcol/otelcoltest"
)

func TestDefaultsSurviveEmptyConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, confmap.New().Unmarshal(cfg))
	assert.Equal(t, NewDefaultConfig(), cfg)
	assert.NoError(t, cfg.Validate())
}

func TestLoadConfig(t *testing.T) {
	factories, err := otelcoltest.NopFactories()
	require.NoError(t, err)
	factories.Processors[Type] = NewFactory()
	cfg, err := otelcoltest.LoadConfigAndValidate(filepath.Join("testdata", "config.yaml"), factories)
	require.NoError(t, err)

	assert.Equal(t, NewDefaultConfig(), cfg.Processors[component.NewID(Type)])
	assert.Equal(t, &Config{
		Engine: "edge", Window: 2 * time.Minute, EvaluateEvery: 20 * time.Second, MaxServices: 50,
		MaxSpansPerService: 500, MaxLogRecordsPerService: 400, MaxAttributes: 64, MemoryLimitMiB: 32, MaxCopyPerSecond: 5000,
		Profile: "node", Disable: []string{"logs/*", "traces/span-name"},
		Severity: map[string]string{"traces/status": "warning"},
		Report:   ReportConfig{Endpoint: "127.0.0.1:0"},
	}, cfg.Processors[component.MustNewIDWithName("conformance", "custom")])
}

func TestUnknownKeyFails(t *testing.T) {
	cfg := NewDefaultConfig()
	err := confmap.NewFromStringMap(map[string]any{"max_servics": 3}).Unmarshal(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "max_servics")
}

func TestValidateNamesEveryBadKey(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"window", func(c *Config) { c.Window = 0 }, []string{"window: must be positive"}},
		{"evaluate_every", func(c *Config) { c.EvaluateEvery = time.Millisecond }, []string{"evaluate_every: must be at least 100ms"}},
		{"evaluate longer than window", func(c *Config) { c.EvaluateEvery = 2 * time.Minute }, []string{"evaluate_every (2m0s) must not be longer than window (1m0s)"}},
		{"too many buckets", func(c *Config) { c.Window = time.Hour; c.EvaluateEvery = time.Second }, []string{"window (1h0m0s) may be at most 60 times evaluate_every"}},
		{"limits", func(c *Config) {
			c.MaxServices, c.MaxSpansPerService, c.MaxLogRecordsPerService, c.MaxAttributes, c.MemoryLimitMiB = 0, -1, 0, 0, 0
		}, []string{"max_services: must be between", "max_spans_per_service: must be between", "max_log_records_per_service: must be between",
			"max_attributes: must be between", "memory_limit_mib: must be between"}},
		{"copy budget", func(c *Config) { c.MaxCopyPerSecond = -1 }, []string{"max_copy_per_second: must be 0 (no limit) or positive, got -1"}},
		{"profile", func(c *Config) { c.Profile = "ruby" }, []string{`profile: must be auto, node or python, got "ruby"`}},
		{"disable", func(c *Config) { c.Disable = []string{"logs/jsn", "nope/*", ""} }, []string{
			`disable::0: "logs/jsn" matches no rule`, `disable::1: "nope/*" matches no rule`, `disable::2: "" matches no rule`}},
		{"severity", func(c *Config) { c.Severity = map[string]string{"logs/json": "fatal", "logs/nope": "info"} }, []string{
			`severity::logs/json: unknown severity "fatal"`, "severity::logs/nope: unknown rule ID"}},
		{"endpoint", func(c *Config) { c.Report.Endpoint = "8080" }, []string{`report::endpoint: want host:port, got "8080"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewDefaultConfig()
			tt.mod(cfg)
			err := cfg.Validate()
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
