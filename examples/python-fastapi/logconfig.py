"""One JSON object per line on stdout, for structlog and stdlib logging alike.

Every record, whether it comes from structlog (the app), uvicorn's own loggers
or a library such as the OpenTelemetry exporter, goes through the stdlib root
logger and one structlog ProcessorFormatter, so no plain-text line can slip in.
"""

import logging
import logging.config
import sys

import structlog
from opentelemetry import trace

LOG_LEVEL = "INFO"


def add_trace_context(_logger, _method, event_dict):
    """Adds flat trace_id/span_id/trace_flags from the current OTel span.

    The structlog docs recipe nests them under "span" and writes null for
    unsampled spans; flat W3C-style fields are what log backends (and obslint)
    look for, and an unsampled request still has a valid trace id worth logging.
    """
    try:
        ctx = trace.get_current_span().get_span_context()
    except Exception:  # noqa: BLE001 - a log line must never be lost to this
        # Seen with OTEL_PROPAGATORS=none: the ASGI instrumentation then
        # attaches a None context and every context lookup raises.
        return event_dict
    if ctx.is_valid:
        event_dict["trace_id"] = format(ctx.trace_id, "032x")
        event_dict["span_id"] = format(ctx.span_id, "016x")
        event_dict["trace_flags"] = format(ctx.trace_flags, "02x")
    return event_dict


def add_service(_logger, _method, event_dict):
    """Adds "service" from the TracerProvider's resource (service.name), so the
    logs name the service exactly as the traces do, OTEL_SERVICE_NAME included.
    Read per line: logging is configured before the provider exists."""
    resource = getattr(trace.get_tracer_provider(), "resource", None)
    name = resource.attributes.get("service.name") if resource is not None else None
    if name:
        event_dict.setdefault("service", name)
    return event_dict


# Run for every record: structlog's own (before wrap_for_formatter) and foreign
# stdlib ones (as the formatter's foreign_pre_chain).
SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    add_service,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    add_trace_context,
    structlog.processors.StackInfoRenderer(),
]

# dict_tracebacks renders exceptions as a list of frames under "exception".
# Its default transformer records every frame's local variables, and locals of
# a request handler can hold headers, tokens or passwords: turned off.
EXCEPTION_RENDERER = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
)


def json_formatter():
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            EXCEPTION_RENDERER,
            structlog.processors.JSONRenderer(),
        ],
    )


# LOGGING_CONFIG is handed to uvicorn.run(log_config=...), which applies it with
# dictConfig. It replaces uvicorn's text formatters: uvicorn.error (start-up and
# shutdown messages) propagates to the root handler. uvicorn.access is silenced
# because app.py writes its own access line inside the request's span; uvicorn's
# would carry no trace context and includes the full request line with the
# query string. httpx is raised to WARNING for the same reason.
LOGGING_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": json_formatter}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "uvicorn": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "uvicorn.error": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        # httpx logs every request's full URL at INFO; URLs can carry secrets.
        "httpx": {"level": "WARNING"},
    },
}


def configure():
    """Configures stdout, stdlib logging and structlog. Call before logging."""
    # A pipe makes stdout block-buffered: lines would only show up in 8 KiB
    # chunks or at exit, long after the request they belong to.
    sys.stdout.reconfigure(line_buffering=True)
    logging.config.dictConfig(LOGGING_CONFIG)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
