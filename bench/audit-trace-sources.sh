#!/usr/bin/env bash
# Time from `obslint audit` start to verdict against the running Node example,
# with traces pulled from Jaeger versus received by the embedded OTLP receiver,
# in one run and with the same service settings. Two copies of the example run
# side by side: A exports to Jaeger, B to the address audit listens on.
# Needs: make test-deps (node_modules, the cached Jaeger binary).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
out=bench/out/audit-trace-sources
rm -rf "$out"; mkdir -p "$out"
go build -o bin/obslint ./cmd/obslint
jaeger=$(tools/jaeger/build.sh)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
jq_http=$(free_port); jq_grpc=$(free_port); j_health=$(free_port); j_otlp_grpc=$(free_port); j_otlp_http=$(free_port)
port_a=$(free_port); port_b=$(free_port); listen=$(free_port)
while [ "$((listen + 1))" = "$port_a" ] || [ "$((listen + 1))" = "$port_b" ]; do listen=$(free_port); done

cat > "$out/jaeger.yaml" <<EOF
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [jaeger_storage_exporter]}
  telemetry: {resource: {service.name: jaeger}, metrics: {level: none}, traces: {level: none}, logs: {level: warn}}
extensions:
  jaeger_storage: {backends: {memstore: {memory: {max_traces: 100000}}}}
  jaeger_query:
    enable_tracing: false
    storage: {traces: memstore}
    http: {endpoint: "127.0.0.1:$jq_http"}
    grpc: {endpoint: "127.0.0.1:$jq_grpc"}
  healthcheckv2: {use_v2: true, http: {endpoint: "127.0.0.1:$j_health"}}
receivers:
  otlp: {protocols: {grpc: {endpoint: "127.0.0.1:$j_otlp_grpc"}, http: {endpoint: "127.0.0.1:$j_otlp_http"}}}
processors: {batch: {timeout: 200ms}}
exporters: {jaeger_storage_exporter: {trace_storage: memstore}}
EOF

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

JAEGER_LISTEN_HOST=127.0.0.1 "$jaeger" --config "$out/jaeger.yaml" > "$out/jaeger.log" 2>&1 & pids+=($!)
# Both services: the same batch delay (200 ms), the same code.
common=(OTEL_BSP_SCHEDULE_DELAY=200 OTEL_BLRP_SCHEDULE_DELAY=200 OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)
(cd examples/node-express && exec env "${common[@]}" PORT=$port_a OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$j_otlp_http \
  node server.js > "../../$out/a.log" 2>&1) & pids+=($!)
(cd examples/node-express && exec env "${common[@]}" PORT=$port_b OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$((listen + 1)) \
  node server.js > "../../$out/b.log" 2>&1) & pids+=($!)
for u in "http://127.0.0.1:$j_health/status" "http://127.0.0.1:$port_a/metrics" "http://127.0.0.1:$port_b/metrics"; do
  for _ in $(seq 100); do curl -fsS -o /dev/null "$u" 2>/dev/null && break; sleep 0.1; done
done

ms() { echo $(( $(date +%s%N) / 1000000 )); }
for i in $(seq "$runs"); do
  t0=$(ms)
  bin/obslint audit --url "http://127.0.0.1:$port_a" --jaeger "127.0.0.1:$jq_grpc" --format json > "$out/jaeger-$i.json" || true
  t1=$(ms)
  bin/obslint audit --url "http://127.0.0.1:$port_b" --otlp-listen "127.0.0.1:$listen" --format json > "$out/otlp-$i.json" || true
  t2=$(ms)
  echo "run $i: jaeger $((t1 - t0)) ms, embedded receiver $((t2 - t1)) ms" | tee -a "$out/times.txt"
done
python3 - "$out" "$runs" <<'PY'
import json, sys, statistics, re
out, runs = sys.argv[1], int(sys.argv[2])
j, o = [], []
for line in open(f"{out}/times.txt"):
    m = re.search(r"jaeger (\d+) ms, embedded receiver (\d+) ms", line)
    j.append(int(m[1])); o.append(int(m[2]))
for name in ("jaeger", "otlp"):
    for i in range(1, runs + 1):
        r = json.load(open(f"{out}/{name}-{i}.json"))
        ne = [x["id"] for x in r["rules"] if x["status"] == "not_evaluated" and x["id"].startswith("traces/") and x["id"] != "traces/expected-routes"]
        assert not ne, f"{name} run {i}: trace rules not evaluated: {ne}"
print(f"median: jaeger {statistics.median(j):.0f} ms, embedded receiver {statistics.median(o):.0f} ms, "
      f"jaeger/embedded = {statistics.median(j)/statistics.median(o):.2f}x")
PY
