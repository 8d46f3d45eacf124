#!/usr/bin/env bash
# Builds the Jaeger all-in-one binary (v1.76.0) that the Jaeger tests run,
# into ${OBSLINT_CACHE:-$HOME/.cache/obslint}/jaeger-v1.76.0/jaeger, only when
# it is not there yet, and prints its path on stdout (progress goes to stderr).
#
# Jaeger lives in this separate module (tools/jaeger/go.mod) because it needs
# an older OpenTelemetry collector than obslint's own module. A cold build
# downloads ~300 modules and takes ~5 minutes on 2 cores; afterwards it is a
# no-op.
set -euo pipefail

version=v1.76.0
here="$(cd "$(dirname "$0")" && pwd)"
cache="${OBSLINT_CACHE:-$HOME/.cache/obslint}"
dir="$cache/jaeger-$version"
bin="$dir/jaeger"

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$dir"
tmp="$(mktemp "$dir/.jaeger.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
echo "building Jaeger $version into $bin (first time only, takes a few minutes)" >&2
start=$(date +%s)
(cd "$here" && GOWORK=off GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
chmod +x "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
echo "built Jaeger $version in $(( $(date +%s) - start ))s" >&2
echo "$bin"
