# The two commands a newcomer needs (see README.md):
#   make demo   build obslint, install the examples' packages, check both examples
#   make test   install what the tests need, then run them all
#   make docs   regenerate docs/rules.md from the rules' docs in code

GO        ?= go
BIN       := bin/obslint
NODE_DIRS := examples/node-express fixtures/services/node-broken tools/sarif
PY_DIRS   := examples/python-fastapi fixtures/services/python-broken fixtures/services/python-multiworker
PYTHON    ?= python3
STATICCHECK_VERSION := v0.8.2

.PHONY: build build-collector deps demo demo-broken test test-deps lint bench bench-logs bench-huge bench-traces bench-collector docs clean jaeger

build:
	$(GO) build -o $(BIN) ./cmd/obslint

# The collector distribution, beside obslint (`obslint collector` runs it).
# Its own binary: the collector and the Prometheus scrape stack are a few
# minutes of cold compile that obslint run/audit/lint do not need.
build-collector:
	$(GO) build -o bin/ ./cmd/obslint-collector

# What the tests need: the services' packages and a real Jaeger.
test-deps: deps jaeger

# The services' packages. npm ci only when package-lock.json changed since the
# last install; a venv (.venv, from the pinned requirements.txt) only when
# requirements.txt did.
deps:
	@for d in $(NODE_DIRS); do \
	  if [ ! -f $$d/node_modules/.package-lock.json ] || [ $$d/package-lock.json -nt $$d/node_modules/.package-lock.json ]; then \
	    echo "npm ci in $$d"; (cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	  fi; \
	done
	@for d in $(PY_DIRS); do \
	  if [ ! -f $$d/.venv/.installed ] || [ $$d/requirements.txt -nt $$d/.venv/.installed ]; then \
	    echo "venv in $$d"; rm -rf $$d/.venv; \
	    $(PYTHON) -m venv $$d/.venv && $$d/.venv/bin/pip install --quiet -r $$d/requirements.txt && touch $$d/.venv/.installed || exit 1; \
	  fi; \
	done

# The Jaeger all-in-one the Jaeger tests run, built once into the obslint
# cache (~5 min cold); prints its path.
jaeger:
	@tools/jaeger/build.sh

demo: build deps
	cd examples/node-express && ../../$(BIN) run -- node server.js
	cd examples/python-fastapi && ../../$(BIN) run -- .venv/bin/python app.py

demo-broken: build deps
	cd fixtures/services/node-broken && ../../../$(BIN) run -- node server.js || true
	cd fixtures/services/python-broken && ../../../$(BIN) run -- .venv/bin/python app.py || true

test: test-deps
	$(GO) test -count=1 ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

bench: build
	bench/lint-vs-promtool.sh

# obslint lint --logs vs jq -c . on the 500k-line bench log, and flat memory.
bench-logs: build
	bench/lint-logs-vs-jq.sh

# obslint lint --traces on 500k and 5M spans: all judged, bounded memory.
bench-traces: build
	bench/lint-traces.sh

# Peak memory of obslint run against huge /metrics (2 GiB body, gzip bomb, 3M series).
bench-huge: build
	bench/run-huge-metrics.sh

# Spans/s through `obslint collector` with and without conformance (docs/collector.md).
bench-collector:
	bench/collector-throughput.sh

# docs/rules.md is generated; TestRulesDoc fails when it is out of date.
docs:
	$(GO) run ./cmd/obslint rules --format markdown > docs/rules.md.tmp || { rm -f docs/rules.md.tmp; exit 1; }
	mv docs/rules.md.tmp docs/rules.md
	$(GO) test ./internal/config -run TestGeneratedDocs -update

clean:
	rm -rf bin
