// Package distro is the component list of the `obslint collector`
// distribution: an OpenTelemetry Collector with the OTLP, Prometheus and
// filelog receivers, the batch processor, the debug, nop, OTLP and OTLP/HTTP
// exporters, and obslint's conformance processor and connector. An ocb
// distribution built from collector/builder-config.yaml has the same list.
package distro

import (
	"fmt"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/nopexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/obslint/obslint/collector/conformance"
	"github.com/obslint/obslint/collector/conformanceconnector"
)

// Module versions the `components` subcommand shows; they are go.mod's.
const (
	coreModule    = "go.opentelemetry.io/collector/%s v0.165.0"
	contribModule = "github.com/open-telemetry/opentelemetry-collector-contrib/%s v0.165.1"
	obslintModule = "github.com/obslint/obslint"
)

// Components returns the factories of every component in the distribution.
func Components() (otelcol.Factories, error) {
	var err error
	f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
	// Modules are keyed by each factory's own type: otlp_grpc and otlp_http
	// are the exporters' names since v0.165 (otlp and otlphttp still work as
	// deprecated aliases).
	receivers := []receiver.Factory{otlpreceiver.NewFactory(), prometheusreceiver.NewFactory(), filelogreceiver.NewFactory()}
	processors := []processor.Factory{batchprocessor.NewFactory(), conformance.NewFactory()}
	exporters := []exporter.Factory{debugexporter.NewFactory(), nopexporter.NewFactory(), otlpexporter.NewFactory(), otlphttpexporter.NewFactory()}
	connectors := []connector.Factory{conformanceconnector.NewFactory()}
	if f.Receivers, err = otelcol.MakeFactoryMap(receivers...); err != nil {
		return f, err
	}
	if f.Processors, err = otelcol.MakeFactoryMap(processors...); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap(exporters...); err != nil {
		return f, err
	}
	if f.Connectors, err = otelcol.MakeFactoryMap(connectors...); err != nil {
		return f, err
	}
	if f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](); err != nil {
		return f, err
	}
	f.ReceiverModules = modules(receivers, []string{
		fmt.Sprintf(coreModule, "receiver/otlpreceiver"),
		fmt.Sprintf(contribModule, "receiver/prometheusreceiver"),
		fmt.Sprintf(contribModule, "receiver/filelogreceiver"),
	})
	f.ProcessorModules = modules(processors, []string{fmt.Sprintf(coreModule, "processor/batchprocessor"), obslintModule})
	f.ExporterModules = modules(exporters, []string{
		fmt.Sprintf(coreModule, "exporter/debugexporter"),
		fmt.Sprintf(coreModule, "exporter/nopexporter"),
		fmt.Sprintf(coreModule, "exporter/otlpexporter"),
		fmt.Sprintf(coreModule, "exporter/otlphttpexporter"),
	})
	f.ConnectorModules = modules(connectors, []string{obslintModule})
	return f, nil
}

// modules maps each factory's type to the module at the same index.
func modules[F component.Factory](factories []F, mods []string) map[component.Type]string {
	m := make(map[component.Type]string, len(factories))
	for i, f := range factories {
		m[f.Type()] = mods[i]
	}
	return m
}

// Settings returns the collector settings of the distribution: its
// components, and configuration from files, inline YAML (`yaml:`) and
// environment variables (`${env:VAR}`, also the default scheme for `${VAR}`).
func Settings(version string) otelcol.CollectorSettings {
	return otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "obslint-collector",
			Description: "obslint collector: an OpenTelemetry Collector that judges the telemetry passing through it",
			Version:     version,
		},
		Factories: Components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					envprovider.NewFactory(), fileprovider.NewFactory(), yamlprovider.NewFactory(),
				},
				DefaultScheme: "env",
			},
		},
		ProviderModules: map[string]string{
			"env":  "go.opentelemetry.io/collector/confmap/provider/envprovider v1.71.0",
			"file": "go.opentelemetry.io/collector/confmap/provider/fileprovider v1.71.0",
			"yaml": "go.opentelemetry.io/collector/confmap/provider/yamlprovider v1.71.0",
		},
	}
}
