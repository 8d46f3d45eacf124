#!/usr/bin/env bash
# Wall time, peak RSS and spans judged of `obslint lint --traces` on OTLP
# JSON files of 500k and 5M spans (bench/gen_traces.py): every span is
# judged, memory is bounded by the span index (checks.MaxIndexedSpans), not
# by the file. Needs python3 and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/obslint ./cmd/obslint
out=bench/out
mkdir -p "$out"
for n in 500 5000; do
  f=$out/traces-${n}k.json
  [ -f "$f" ] || python3 bench/gen_traces.py "$n" 999 "$f"
  /usr/bin/time -f '%e %M' bin/obslint lint --format json --traces "$f" > "$out/traces-${n}k.out.json" 2> "$out/traces-${n}k.time" || true
  read -r wall kib < <(tail -1 "$out/traces-${n}k.time")
  python3 - "$out/traces-${n}k.out.json" "$f" "$wall" "$kib" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
size = os.path.getsize(sys.argv[2]) >> 20
print(f"{sys.argv[2]} ({size} MiB): {r['judged']['spans']} spans judged in {sys.argv[3]} s, peak RSS {int(sys.argv[4]) >> 10} MiB, "
      f"{r['summary']['errors']} errors, problems: {[p['message'][:60] for p in r.get('problems', [])]}")
PY
done
