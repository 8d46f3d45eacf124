//go:build tools

// Package deps pins modules the collector distribution and the Jaeger client
// need while their code lands, so go mod tidy keeps them.
package deps

import (
	_ "github.com/gogo/protobuf/proto"
	_ "github.com/jaegertracing/jaeger-idl/model/v1"
	_ "github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	_ "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	_ "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"
	_ "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"
	_ "go.opentelemetry.io/collector/component/componenttest"
	_ "go.opentelemetry.io/collector/confmap"
	_ "go.opentelemetry.io/collector/confmap/provider/envprovider"
	_ "go.opentelemetry.io/collector/confmap/provider/fileprovider"
	_ "go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	_ "go.opentelemetry.io/collector/connector"
	_ "go.opentelemetry.io/collector/connector/connectortest"
	_ "go.opentelemetry.io/collector/consumer/consumertest"
	_ "go.opentelemetry.io/collector/exporter"
	_ "go.opentelemetry.io/collector/exporter/debugexporter"
	_ "go.opentelemetry.io/collector/exporter/nopexporter"
	_ "go.opentelemetry.io/collector/exporter/otlpexporter"
	_ "go.opentelemetry.io/collector/exporter/otlphttpexporter"
	_ "go.opentelemetry.io/collector/extension"
	_ "go.opentelemetry.io/collector/otelcol"
	_ "go.opentelemetry.io/collector/otelcol/otelcoltest"
	_ "go.opentelemetry.io/collector/processor"
	_ "go.opentelemetry.io/collector/processor/batchprocessor"
	_ "go.opentelemetry.io/collector/processor/processorhelper"
	_ "go.opentelemetry.io/collector/processor/processortest"
	_ "go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
	_ "google.golang.org/grpc/encoding/proto"
)
