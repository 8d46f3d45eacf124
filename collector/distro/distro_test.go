package distro

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
)

// Every component has its module recorded, so `components` names it.
func TestComponentsHaveModules(t *testing.T) {
	f, err := Components()
	require.NoError(t, err)
	require.NotNil(t, f.Telemetry)
	check := func(kind string, types []component.Type, mods map[component.Type]string) {
		for _, typ := range types {
			require.NotEmpty(t, mods[typ], "%s %s has no module", kind, typ)
		}
	}
	check("receiver", keys(f.Receivers), f.ReceiverModules)
	check("processor", keys(f.Processors), f.ProcessorModules)
	check("exporter", keys(f.Exporters), f.ExporterModules)
	check("connector", keys(f.Connectors), f.ConnectorModules)
	conformance := component.MustNewType("conformance")
	require.Contains(t, f.Processors, conformance)
	require.Contains(t, f.Connectors, conformance)
	// The exporters' deprecated names still resolve.
	require.Contains(t, f.Exporters, component.MustNewType("otlphttp"))
	require.Contains(t, f.Exporters, component.MustNewType("otlp_http"))
}

// keys returns the types a factory is registered under as its own type, not
// as a deprecated alias.
func keys[F component.Factory](m map[component.Type]F) []component.Type {
	var out []component.Type
	for typ, f := range m {
		if f.Type() == typ {
			out = append(out, typ)
		}
	}
	return out
}

func TestSettings(t *testing.T) {
	s := Settings("v9.9.9")
	require.Equal(t, "v9.9.9", s.BuildInfo.Version)
	require.Len(t, s.ConfigProviderSettings.ResolverSettings.ProviderFactories, 3)
	require.Equal(t, "env", s.ConfigProviderSettings.ResolverSettings.DefaultScheme)
}
