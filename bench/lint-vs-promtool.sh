#!/usr/bin/env bash
# Compares `obslint lint --metrics` with `promtool check metrics` on the same
# ~100k-series exposition, in one run, and prints the ratio.
# Needs: python3, hyperfine and promtool (Debian packages hyperfine, prometheus).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED:-../shared}
out=bench/out
mkdir -p "$out"
[ -f "$out/exposition.prom" ] || python3 "$shared/bench/gen_exposition.py" "$out/exposition.prom"
ls -l "$out/exposition.prom"
go build -o bin/obslint ./cmd/obslint
# Both tools exit non-zero when they find problems; that is not a failure here.
hyperfine --warmup 1 --runs "${RUNS:-5}" -i --export-json "$out/lint-vs-promtool.json" \
  -n promtool "promtool check metrics < $out/exposition.prom" \
  -n obslint  "bin/obslint lint --format json --metrics $out/exposition.prom > /dev/null"
python3 - "$out/lint-vs-promtool.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
p, o = r["promtool"]["mean"], r["obslint"]["mean"]
print(f"promtool {p*1000:.0f} ms, obslint {o*1000:.0f} ms, obslint/promtool = {o/p:.2f}x")
PY
