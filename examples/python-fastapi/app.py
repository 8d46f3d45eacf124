"""python-fastapi example: FastAPI on uvicorn with structlog JSON logs,
prometheus_client metrics and OpenTelemetry traces. Run: python app.py"""

import os

# The Python HTTP instrumentations still emit the old semantic-convention names
# (http.method, http.status_code, http.target…) unless asked for the stable ones.
# Set before the instrumentations are imported; an explicit setting still wins.
os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")

import contextlib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402
import structlog  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import JSONResponse, Response  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.trace import Status, StatusCode  # noqa: E402

import logconfig  # noqa: E402
import metrics  # noqa: E402
import telemetry  # noqa: E402

HOST = "127.0.0.1"
PORT = int(os.environ.get("PORT", "8000"))
CHAIN_TIMEOUT_S = 2.0
MAX_DOWNSTREAM_BYTES = 1 << 20
# uvicorn waits this long for open connections after SIGTERM before closing them.
GRACEFUL_SHUTDOWN_S = 2

logconfig.configure()
log = structlog.get_logger("app")
provider = telemetry.setup_tracing()


def route_of(scope):
    """The route template that served the request, e.g. /users/{user_id}.

    Never scope["path"] or the URL: those carry ids (unbounded cardinality) and
    the query string with whatever secrets a client put there.
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else metrics.UNMATCHED_ROUTE


class AccessLogMiddleware:
    """Records the RED metrics and writes one "request completed" line per
    request. It runs inside the OpenTelemetry middleware, so its lines carry the
    request's trace_id/span_id. Headers and the query string are never logged.

    It is also where unhandled exceptions end: it logs them (the exception as a
    structured field), records them on the SERVER span and answers 500. Letting
    them reach Starlette's ServerErrorMiddleware would re-raise them into
    uvicorn, which logs a second, context-less traceback line.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500, "started": False}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:  # noqa: BLE001 - every failure must become a 500
            log.error("request failed", method=scope["method"], route=route_of(scope), exc_info=exc)
            span = trace.get_current_span()
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            if not status["started"]:
                await JSONResponse({"error": "internal server error"}, status_code=500)(
                    scope, receive, send_wrapper
                )
        finally:
            seconds = time.perf_counter() - start
            route = route_of(scope)
            metrics.observe_request(scope["method"], route, status["code"], seconds)
            log.info(
                "request completed",
                method=scope["method"],
                route=route,
                status=status["code"],
                duration_ms=round(seconds * 1000, 3),
            )


async def get_json(client, url):
    """GETs url and decodes a JSON answer of at most MAX_DOWNSTREAM_BYTES."""
    async with client.stream("GET", url) as resp:
        body = bytearray()
        async for chunk in resp.aiter_bytes():
            body.extend(chunk)
            if len(body) > MAX_DOWNSTREAM_BYTES:
                raise RuntimeError("downstream response too large")
        if resp.status_code != 200:
            raise RuntimeError(f"downstream answered {resp.status_code}")
        return json.loads(body)


@contextlib.asynccontextmanager
async def lifespan(app):
    # The httpx client is created after HTTPXClientInstrumentor ran, so its
    # requests are traced and carry traceparent.
    async with httpx.AsyncClient(timeout=CHAIN_TIMEOUT_S) as client:
        app.state.http = client
        yield
    log.info("shutting down")
    # Flushes spans still in the batch processor (bounded, see telemetry.py).
    telemetry.shutdown_tracing(provider)


def create_app():
    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(AccessLogMiddleware)

    @app.get("/")
    async def index():
        return {"service": telemetry.SERVICE, "status": "ok"}

    @app.get("/healthz")
    async def healthz():
        return {"status": "ready"}

    @app.get("/metrics")
    async def prometheus_metrics():
        body, content_type = metrics.exposition()
        return Response(content=body, media_type=None, headers={"Content-Type": content_type})

    @app.get("/users/{user_id}")
    async def get_user(user_id: str):
        log.info("get user", user_id=user_id)
        return {"id": user_id, "name": f"user {user_id}"}

    @app.get("/orders/{order_id}")
    async def get_order(order_id: str):
        log.info("get order", order_id=order_id)
        return {"id": order_id, "status": "shipped"}

    @app.get("/boom")
    async def boom():
        raise RuntimeError("boom: deliberate failure")

    @app.get("/chain")
    async def chain(request: Request):
        port = request.scope["server"][1]
        user = await get_json(request.app.state.http, f"http://{HOST}:{port}/users/7")
        log.info("chain completed", user_id=user["id"])
        return {"chained": True, "user": user}

    telemetry.instrument_app(app)
    return app


app = create_app()


if __name__ == "__main__":
    # uvicorn handles SIGTERM/SIGINT: it stops accepting, waits for open
    # requests (at most GRACEFUL_SHUTDOWN_S), runs the lifespan shutdown above
    # and exits 0.
    uvicorn.run(
        app,
        host=HOST,
        port=PORT,
        log_config=logconfig.LOGGING_CONFIG,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
    )
