#!/usr/bin/env bash
# Spans per second through `obslint collector` with and without the
# conformance components (otlp -> conformance -> nop vs otlp -> nop), the CPU
# time and peak RSS of each collector process, and a run with many distinct
# service.name values to show that the engine's memory stays bounded.
# Settings: DURATION (20s), SENDERS (4), SPANS (spans per request, 500),
# REPEAT (3 alternating runs of each), CARDINALITY (10000; 0 skips that run).
# With 2 or more CPUs the collector runs on CPU 1 and the load generator on
# CPU 0, so the collector's throughput is its own (COLLECTOR_CPUS= turns
# pinning off). Results also go to bench/out/collector-throughput.json.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
go build -o bin/ ./cmd/obslint ./cmd/obslint-collector
go build -o bin/bench-collector ./bench/collector
pin=()
cpus=${COLLECTOR_CPUS-}
if [ -z "${COLLECTOR_CPUS+x}" ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  cpus=1
fi
if [ -n "$cpus" ]; then
  pin=(taskset -c 0)
fi
"${pin[@]}" bin/bench-collector -obslint bin/obslint -collector-cpus "$cpus" \
  -duration "${DURATION:-20s}" -senders "${SENDERS:-4}" -spans-per-request "${SPANS:-500}" \
  -repeat "${REPEAT:-3}" -cardinality "${CARDINALITY:-10000}" -json bench/out/collector-throughput.json
