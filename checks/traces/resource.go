package traces

import (
	"maps"
	"slices"
	"strings"

	"github.com/obslint/obslint/checks"
)

// ServiceName: the resource names the service.
var ServiceName = &checks.Rule{
	ID:       "traces/service-name",
	Severity: checks.Error,
	Summary:  "resource service.name is set and not unknown_service",
	Needs:    []checks.Need{checks.NeedSpans},
	Doc: `The resource attribute ` + "`service.name`" + ` is how every backend groups spans, logs and
metrics of one service. When it is not configured, the SDKs fall back to
` + "`unknown_service`" + ` or ` + "`unknown_service:<executable>`" + ` (` + "`unknown_service:node`" + `,
` + "`unknown_service:python3`" + `), and every service lands in the same bucket.

Bad (Node): ` + "`new NodeSDK({ traceExporter })`" + ` with no service name and no
` + "`OTEL_SERVICE_NAME`" + `; spans carry ` + "`service.name=unknown_service:node`" + `.

Good (Node):

    OTEL_SERVICE_NAME=users-api node --require ./tracing.js server.js
    // or new NodeSDK({ serviceName: 'users-api', ... })

Bad (Python): ` + "`TracerProvider()`" + ` with the default resource and no ` + "`OTEL_SERVICE_NAME`" + `:
` + "`service.name=unknown_service`" + `.

Good (Python):

    OTEL_SERVICE_NAME=users-api opentelemetry-instrument uvicorn app:app
    # or TracerProvider(resource=Resource.create({"service.name": "users-api"}))

Fix: set ` + "`OTEL_SERVICE_NAME`" + ` in the deployment, or the service name in code.`,
	Fix: checks.Fix{
		Node:   "set OTEL_SERVICE_NAME, or new NodeSDK({ serviceName: '<name>' })",
		Python: "set OTEL_SERVICE_NAME, or Resource.create({\"service.name\": \"<name>\"})",
	},
	Check: checkServiceName,
}

func checkServiceName(p *checks.Pass) {
	for _, nc := range p.SpanIndex().ServiceNames() {
		switch v := nc.Name; {
		case v == "":
			p.Reportf("resource", "%s carry no service.name resource attribute", plural(nc.Count, "span"))
		case strings.HasPrefix(v, "unknown_service"):
			p.Reportf("resource", "%s carry the SDK's fallback service.name %q: the service name was never configured", plural(nc.Count, "span"), v)
		}
	}
}

// Resource: the resource identifies the SDK and the service instance.
var Resource = &checks.Rule{
	ID:       "traces/resource",
	Severity: checks.Warning,
	Summary:  "resource has telemetry.sdk.*, service.version and service.instance.id",
	Needs:    []checks.Need{checks.NeedSpans},
	Doc: `Besides ` + "`service.name`" + `, the resource should say which SDK produced the telemetry
(` + "`telemetry.sdk.name`" + `, ` + "`telemetry.sdk.language`" + `, ` + "`telemetry.sdk.version`" + `, required by
the semantic conventions), which release is running (` + "`service.version`" + `) and which
replica (` + "`service.instance.id`" + `, stable since semconv v1.40). The old
` + "`deployment.environment`" + ` was renamed ` + "`deployment.environment.name`" + ` in v1.27 and is
reported as deprecated.

Bad (Node): passing a resource to NodeSDK replaces the default one, so
` + "`telemetry.sdk.*`" + ` and ` + "`service.instance.id`" + ` disappear:

    new NodeSDK({ resource: resourceFromAttributes({ 'service.name': 'users-api' }) })

Good (Node): merge onto the default resource and name the version:

    new NodeSDK({ resource: defaultResource().merge(resourceFromAttributes({
      'service.name': 'users-api', 'service.version': pkg.version,
      'deployment.environment.name': 'production' })) })

Bad (Python): ` + "`Resource({...})`" + ` (the constructor) skips the detectors, so the SDK
attributes and ` + "`service.instance.id`" + ` are missing.

Good (Python): ` + "`Resource.create({...})`" + ` runs the detectors; the SDK adds
` + "`service.instance.id`" + ` from 1.43.0:

    Resource.create({"service.name": "users-api", "service.version": __version__})

Fix: build the resource from the SDK's default one, and set ` + "`service.version`" + `
(` + "`OTEL_RESOURCE_ATTRIBUTES=service.version=1.4.2`" + ` works in both SDKs).`,
	Fix: checks.Fix{
		Node:   "merge your attributes onto defaultResource() instead of replacing it, and set service.version (OTEL_RESOURCE_ATTRIBUTES=service.version=…)",
		Python: "use Resource.create({...}) (not Resource({...})) on opentelemetry-sdk ≥ 1.43, and set service.version",
	},
	Spans: newResourceJudge,
}

// resourceRequired are the resource attributes every span's resource needs.
var resourceRequired = []string{"telemetry.sdk.name", "telemetry.sdk.language", "telemetry.sdk.version", "service.version", "service.instance.id"}

// resourceDeprecated maps deprecated resource attributes to their successor.
var resourceDeprecated = map[string]string{"deployment.environment": "deployment.environment.name"}

// resourceJudge counts the spans whose resource lacks each required
// attribute or carries a deprecated one.
type resourceJudge struct {
	n                   int
	missing, deprecated map[string]int
}

func newResourceJudge(*checks.Evidence) checks.SpanJudge {
	return &resourceJudge{missing: map[string]int{}, deprecated: map[string]int{}}
}

func (j *resourceJudge) Span(s *checks.Span) {
	j.n++
	for _, k := range resourceRequired {
		if s.ResourceAttr(k) == "" {
			j.missing[k]++
		}
	}
	for k := range resourceDeprecated {
		if _, ok := s.Resource[k]; ok {
			j.deprecated[k]++
		}
	}
}

func (j *resourceJudge) Merge(later checks.SpanJudge) {
	o := later.(*resourceJudge)
	j.n += o.n
	for k, n := range o.missing {
		j.missing[k] += n
	}
	for k, n := range o.deprecated {
		j.deprecated[k] += n
	}
}

func (j *resourceJudge) Finish(p *checks.Pass) {
	for _, k := range resourceRequired {
		if n := j.missing[k]; n > 0 {
			p.Reportf("resource attribute "+k, "%s of %d carry no %s resource attribute%s", plural(n, "span"), j.n, k, resourceHint(k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(j.deprecated)) {
		p.Reportf("resource attribute "+k, "%s carry the deprecated %s; rename it %s", plural(j.deprecated[k], "span"), k, resourceDeprecated[k])
	}
}

func resourceHint(key string) string {
	switch {
	case strings.HasPrefix(key, "telemetry.sdk."):
		return " (a resource built from scratch replaces the SDK's default one)"
	case key == "service.instance.id":
		return " (Node: keep the serviceinstance detector; Python: opentelemetry-sdk ≥ 1.43 with Resource.create)"
	}
	return ""
}
