"""Prometheus metrics: prometheus_client's default collectors (process, gc,
platform, registered on import) plus the two RED metrics of an HTTP server."""

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

# Labels are bounded: route is the FastAPI route template (/users/{user_id}),
# never the raw path, so the number of series does not grow with user ids.
HTTP_LABELS = ("method", "route", "status_code")

# The route label for requests no route matched: one fixed value, so scanners
# probing random paths cannot create new series.
UNMATCHED_ROUTE = "unmatched"

HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Duration of HTTP requests handled by the server, in seconds.",
    HTTP_LABELS,
)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests handled by the server.",
    HTTP_LABELS,
)


def observe_request(method, route, status_code, seconds):
    labels = {"method": method, "route": route, "status_code": str(status_code)}
    HTTP_REQUEST_DURATION.labels(**labels).observe(seconds)
    HTTP_REQUESTS.labels(**labels).inc()


def exposition():
    """Returns (body, content type) for GET /metrics."""
    return generate_latest(), CONTENT_TYPE_LATEST
