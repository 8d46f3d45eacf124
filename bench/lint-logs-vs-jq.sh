#!/usr/bin/env bash
# Compares `obslint lint --logs` (every rule on every line) with `jq -c .` on
# the same 500k-line winston log, in one run, and prints the ratio and both
# peak memories; then the peak memory of obslint on a file ten times larger,
# which must be the same (memory does not grow with the input).
# Needs: python3, jq, hyperfine (Debian packages jq, hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED:-../shared}
out=bench/out
mkdir -p "$out"
logs=$out/logs.jsonl
[ -f "$logs" ] || python3 "$shared/bench/gen_logs.py" "$logs"
ls -l "$logs"
go build -o bin/obslint ./cmd/obslint
hyperfine --warmup 1 --runs "${RUNS:-5}" -i --export-json "$out/lint-logs-vs-jq.json" \
  -n jq      "jq -c . $logs > /dev/null" \
  -n obslint "bin/obslint lint --format json --logs $logs > $out/lint-logs.json"
python3 - "$out/lint-logs-vs-jq.json" "$out/lint-logs.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
j, o = r["jq"]["median"], r["obslint"]["median"]
judged = json.load(open(sys.argv[2]))["judged"]["log_lines"]
print(f"jq {j*1000:.0f} ms, obslint {o*1000:.0f} ms ({judged} lines judged), obslint/jq = {o/j:.2f}x")
PY
peak() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
echo "peak RSS: jq $(( $(peak jq -c . "$logs") / 1024 )) MiB, obslint $(( $(peak bin/obslint lint --logs "$logs") / 1024 )) MiB"
big=$out/logs-x10.jsonl
[ -f "$big" ] || for _ in $(seq 10); do cat "$logs"; done > "$big"
echo "obslint on a 10x file ($(du -h "$big" | cut -f1)): peak RSS $(( $(peak bin/obslint lint --logs "$big") / 1024 )) MiB," \
  "$(bin/obslint lint --format json --logs "$big" | python3 -c 'import json,sys; print(json.load(sys.stdin)["judged"]["log_lines"])') lines judged"
