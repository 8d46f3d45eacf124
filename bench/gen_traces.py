"""OTLP JSON traces, one export request per line (as the collector's file
exporter writes): REQUESTS requests of SPANS spans each, every trace a
SERVER span with the stable HTTP attributes and two INTERNAL children, as
a conformant Node service exports them.

    python3 bench/gen_traces.py REQUESTS SPANS OUT
"""
import json, sys
n_req = int(sys.argv[1]); per = int(sys.argv[2])
out = open(sys.argv[3], "w")
res = {"attributes": [{"key": k, "value": {"stringValue": v}} for k, v in [
    ("service.name", "users"), ("service.version", "1.4.2"), ("service.instance.id", "3f0c"),
    ("telemetry.sdk.name", "opentelemetry"), ("telemetry.sdk.language", "nodejs"), ("telemetry.sdk.version", "2.2.0")]]}
t0 = 1795633800000000000
for r in range(n_req):
    spans = []
    for i in range(per // 3):
        k = r * per + i
        tid = "%032x" % (k + 1)
        sid = "%016x" % (3 * k + 1)
        start = t0 + k * 1000000
        for c in range(2):
            spans.append({"traceId": tid, "spanId": "%016x" % (3 * k + 2 + c), "parentSpanId": sid, "name": "middleware - step%d" % c,
                          "kind": 1, "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 500000),
                          "attributes": [{"key": "express.type", "value": {"stringValue": "middleware"}}]})
        spans.append({"traceId": tid, "spanId": sid, "name": "GET /users/:id", "kind": 2,
                      "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 800000),
                      "attributes": [{"key": "http.request.method", "value": {"stringValue": "GET"}},
                                     {"key": "url.path", "value": {"stringValue": "/users/%d" % k}},
                                     {"key": "url.scheme", "value": {"stringValue": "http"}},
                                     {"key": "http.route", "value": {"stringValue": "/users/:id"}},
                                     {"key": "http.response.status_code", "value": {"intValue": "200"}},
                                     {"key": "network.peer.port", "value": {"intValue": str(40000 + k % 20000)}}]})
    out.write(json.dumps({"resourceSpans": [{"resource": res, "scopeSpans": [{"scope": {"name": "@opentelemetry/instrumentation-http"}, "spans": spans}]}]}) + "\n")
