"""OpenTelemetry tracing: provider, OTLP exporter and instrumentations.

app.py sets OTEL_SEMCONV_STABILITY_OPT_IN before importing this module; the
instrumentations read it when they are instrumented.
"""

import logging
import os
import threading
from urllib.parse import unquote_plus

from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

SERVICE = "python-fastapi-example"
VERSION = "1.0.0"

# Query parameters whose values never reach a span. The instrumentation copies
# the query string verbatim into url.query (stable) and http.url (old names);
# its own redaction only covers a few cloud-signature parameters.
REDACTED_QUERY_PARAMS = frozenset(
    p.lower()
    for p in (
        "access_token",
        "api_key",
        "apikey",
        "token",
        "password",
        "secret",
        "sig",
        "signature",
        "awsaccesskeyid",
        "x-goog-signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    )
)

# Spans still buffered are flushed on shutdown, but an unreachable collector
# makes the exporter retry for up to OTEL_EXPORTER_OTLP_TIMEOUT (10 s), and
# TracerProvider.shutdown() takes no timeout: give up sooner than that rather
# than hold up a rolling deploy.
FLUSH_TIMEOUT_S = 1.5

log = logging.getLogger(__name__)


def trace_exporter_from_env(env=os.environ):
    """Returns the OTLP span exporter the environment asks for.

    The Python SDK's default protocol is grpc (port 4317); obslint and many
    collectors are reached with http/protobuf (4318). Both exporters read the
    endpoint, headers and timeout from OTEL_EXPORTER_OTLP_* themselves.
    """
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc"
    ).strip()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    elif protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        raise RuntimeError(f"unsupported OTLP protocol {protocol!r} (want grpc or http/protobuf)")
    return OTLPSpanExporter()


def redact_query(query):
    """Replaces the values of sensitive parameters with REDACTED and leaves
    every other byte of the query string as the client sent it."""
    parts = []
    for part in query.split("&"):
        raw_key = part.partition("=")[0]
        if unquote_plus(raw_key).lower() in REDACTED_QUERY_PARAMS:
            part = f"{raw_key}=REDACTED"
        parts.append(part)
    return "&".join(parts)


def redact_span_query(span, scope):
    """server_request_hook: rewrites the query-bearing attributes of the span."""
    if not span.is_recording():
        return
    raw = scope.get("query_string", b"").decode("latin-1")
    if not raw:
        return
    query = redact_query(raw)
    attrs = getattr(span, "attributes", None) or {}
    if "url.query" in attrs:
        span.set_attribute("url.query", query)
    url = attrs.get("http.url")
    if url:
        span.set_attribute("http.url", url.split("?", 1)[0] + "?" + query)


def setup_tracing():
    """Installs the global TracerProvider and instruments httpx."""
    # Resource.create keeps telemetry.sdk.*, adds service.instance.id (a uuid4;
    # checked on SDK 1.45.2) and lets OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES override.
    resource = Resource.create({SERVICE_NAME: SERVICE, SERVICE_VERSION: VERSION})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(trace_exporter_from_env()))
    trace.set_tracer_provider(provider)
    # Patches httpx's transports: outgoing calls get a CLIENT span and a
    # traceparent header. Must run before any httpx client is created.
    HTTPXClientInstrumentor().instrument()
    return provider


def instrument_app(app):
    FastAPIInstrumentor.instrument_app(
        app,
        server_request_hook=redact_span_query,
        # The ASGI "http receive"/"http send" INTERNAL spans add three spans per
        # request and nothing a reader needs; without them the SERVER span is the
        # current span in handlers, so log lines carry its span_id.
        exclude_spans=["receive", "send"],
    )


def shutdown_tracing(provider):
    """Flushes buffered spans and shuts the provider down, waiting at most
    FLUSH_TIMEOUT_S. The exporting threads are daemons, so an abandoned flush
    does not keep the process alive."""
    worker = threading.Thread(target=provider.shutdown, name="otel-shutdown", daemon=True)
    worker.start()
    worker.join(FLUSH_TIMEOUT_S)
    if worker.is_alive():
        log.warning("telemetry flush timed out after %.1f s", FLUSH_TIMEOUT_S)
