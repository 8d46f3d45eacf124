#!/usr/bin/env bash
# Peak memory of `obslint run` against a service whose /metrics is a 2 GiB
# body, a 4 GiB gzip bomb or 3M series (fixtures/services/python-huge-metrics),
# with the limit each run names. Goal: peak RSS <= 512 MiB whatever the
# number of scrapes. Needs python3 and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/obslint ./cmd/obslint
out=bench/out
mkdir -p "$out"
for mode in body gzip series; do
  /usr/bin/time -v bin/obslint run --format json --no-progress --span-wait 1s \
    -- env HUGE_METRICS="$mode" python3 fixtures/services/python-huge-metrics/server.py \
    > "$out/huge-$mode.json" 2> "$out/huge-$mode.time" || true
  rss=$(awk -F: '/Maximum resident/ {print int($2/1024)}' "$out/huge-$mode.time")
  wall=$(awk -F'): ' '/Elapsed/ {print $2}' "$out/huge-$mode.time")
  python3 - "$out/huge-$mode.json" "$mode" "$rss" "$wall" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
limit = next((f["message"] for f in r["findings"] if "size limit" in f["message"]), "no limit named")
print(f'{sys.argv[2]:7s} peak {sys.argv[3]} MiB, {sys.argv[4]} wall, {r["judged"]["scrapes"]} scrapes judged: {limit}')
PY
done
