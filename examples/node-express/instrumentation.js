'use strict';
// OpenTelemetry bootstrap. server.js requires this file before anything else:
// the instrumentations patch http, express and winston when those modules are
// first required, so anything loaded earlier would go untraced.

const { inspect } = require('node:util');
const { diag, DiagLogLevel } = require('@opentelemetry/api');
const { diagLogLevelFromString } = require('@opentelemetry/core');
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { defaultResource, resourceFromAttributes } = require('@opentelemetry/resources');
const { ATTR_HTTP_ROUTE, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } = require('@opentelemetry/semantic-conventions');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');
const { WinstonInstrumentation } = require('@opentelemetry/instrumentation-winston');

const pkg = require('./package.json');

// instrumentation-http copies the query string into `url.query` verbatim except
// for a few cloud-signature parameters. Setting the list replaces the default,
// so the defaults are repeated here next to the credentials this service may see.
const REDACTED_QUERY_PARAMS = [
  'access_token', 'api_key', 'apikey', 'token', 'password', 'secret',
  'sig', 'Signature', 'AWSAccessKeyId', 'X-Goog-Signature',
  'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token',
];

// The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTLP variables)
// itself, so no URL is hard-coded. http/protobuf is the Node SDK default; for any
// other protocol or exporter choice (grpc, http/json, console, none) we return
// undefined and let the SDK build the exporter from the environment.
function traceExporterFromEnv(env = process.env) {
  const exporter = (env.OTEL_TRACES_EXPORTER || 'otlp').trim();
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (exporter !== 'otlp' || protocol !== 'http/protobuf') return undefined;
  return new OTLPTraceExporter();
}

// instrumentation-express leaves http.route unset for the root route whenever
// the URL has a query string (it compares req.originalUrl, query included, with
// "/"), so `GET /?x=1` would get a span named plain "GET". express itself knows
// the matched route template, so we set it from req.route after the response.
function setMatchedRoute(span, req) {
  if (!req.route || typeof req.route.path !== 'string') return;
  const route = `${req.baseUrl || ''}${req.route.path}`;
  span.setAttribute(ATTR_HTTP_ROUTE, route);
  span.updateName(`${req.method} ${route}`);
}

// The SDK's own diagnostics go to a DiagConsoleLogger as plain text, which would
// break "every stdout line is JSON". This logger writes the same messages as
// JSON lines shaped like the winston output (winston itself cannot be used here:
// requiring it now would load it before its instrumentation is registered).
function jsonDiagLine(level) {
  return (message, ...args) => {
    const line = { level, logger: 'opentelemetry', ...diagMessage(message), timestamp: new Date().toISOString() };
    if (args.length > 0) line.details = args.map(diagDetail);
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
}

// diagDetail renders one extra diag argument as a short string (debug output
// passes whole objects, e.g. detected resources).
function diagDetail(arg) {
  if (typeof arg === 'string') return arg;
  if (arg instanceof Error) return arg.message;
  return inspect(arg, { depth: 2, breakLength: Infinity }).slice(0, 1000);
}

// The SDK's global error handler passes errors as a JSON string such as
// {"stack":"Error: connect ECONNREFUSED…","message":"…"}; unpack it so the
// stack becomes its own field like winston's format.errors() output.
function diagMessage(message) {
  const text = String(message);
  if (!text.startsWith('{"')) return { message: text };
  try {
    const err = JSON.parse(text);
    if (typeof err.stack !== 'string') return { message: text };
    const first = err.stack.split('\n', 1)[0];
    return { message: typeof err.message === 'string' ? err.message : first, stack: err.stack };
  } catch {
    return { message: text };
  }
}

const jsonDiagLogger = {
  error: jsonDiagLine('error'),
  warn: jsonDiagLine('warn'),
  info: jsonDiagLine('info'),
  debug: jsonDiagLine('debug'),
  verbose: jsonDiagLine('debug'),
};

// The NodeSDK constructor installs the plain-text console logger whenever
// OTEL_LOG_LEVEL is set, and already logs through it. So install the JSON logger
// first and hide the variable from the constructor (its level is applied here).
diag.setLogger(jsonDiagLogger, {
  logLevel: diagLogLevelFromString(process.env.OTEL_LOG_LEVEL) ?? DiagLogLevel.WARN,
});

function createSDK() {
  const logLevel = process.env.OTEL_LOG_LEVEL;
  delete process.env.OTEL_LOG_LEVEL;
  try {
    return new NodeSDK({
      // Merging onto defaultResource() keeps telemetry.sdk.*; a bare resource would
      // replace it. The default detectors still add service.instance.id, host.*,
      // process.* and OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME on top.
      resource: defaultResource().merge(resourceFromAttributes({
        [ATTR_SERVICE_NAME]: pkg.name,
        [ATTR_SERVICE_VERSION]: pkg.version,
      })),
      traceExporter: traceExporterFromEnv(),
      instrumentations: [
        new HttpInstrumentation({
          redactedQueryParamsServer: REDACTED_QUERY_PARAMS,
          redactedQueryParams: REDACTED_QUERY_PARAMS,
          // Also called for CLIENT spans, whose request has no .route: a no-op there.
          applyCustomAttributesOnSpan: (span, req) => setMatchedRoute(span, req),
        }),
        new ExpressInstrumentation(),
        // Correlation (trace_id/span_id/trace_flags on every line) only. Log sending
        // needs @opentelemetry/winston-transport, which is built against an older
        // logs API and sends nothing with this SDK line; logs go to stdout as JSON.
        new WinstonInstrumentation({ disableLogSending: true }),
      ],
    });
  } finally {
    if (logLevel !== undefined) process.env.OTEL_LOG_LEVEL = logLevel;
  }
}

const sdk = createSDK();
sdk.start();

module.exports = { sdk, traceExporterFromEnv };
