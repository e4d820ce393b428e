# Switchboard: `make run` (embedded stack with sample traffic) and `make test` (every tier).
# Both set themselves up: virtualenv, pinned packages, buf, Prometheus/promtool.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
STAMP := $(VENV)/.installed
BUF := tools/buf/node_modules/.bin/buf
PYTEST_ARGS ?=
# Tests mostly wait on real processes (group joins, deadlines); 4 workers on 2 cores cut the wall time ~3x.
PYTEST_WORKERS ?= 4
XDIST := -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: help setup run test test-scale-out bench-deps test-unit test-integration test-e2e test-deploy bench proto proto-check \
        buf-lint buf-breaking lint chart-sync chart-golden chart-check chart-docs system-deps image clean lock lock-check \
        mutation

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(STAMP): pyproject.toml requirements.lock setup.py
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

setup: $(STAMP) $(BUF) system-deps ## create the virtualenv and install every tool

$(BUF): tools/buf/package.json tools/buf/package-lock.json
	cd tools/buf && npm ci --no-audit --no-fund --silent
	touch $(BUF)

system-deps: ## Prometheus + promtool (rule tests, scrape test); Chromium + CJK/emoji fonts (console browser tests)
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || { \
	  command -v apt-get >/dev/null || { echo "install Prometheus 2.x (prometheus + promtool) on PATH"; exit 1; }; \
	  echo "installing prometheus (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	@test -x /usr/bin/chromium && { ! command -v dpkg-query >/dev/null || \
	  dpkg-query -W fonts-noto-cjk fonts-noto-color-emoji >/dev/null 2>&1; } || { \
	  command -v apt-get >/dev/null || { echo "install Chromium at /usr/bin/chromium, CJK and emoji fonts (Debian: chromium fonts-noto-cjk fonts-noto-color-emoji)"; exit 1; }; \
	  echo "installing chromium, fonts-noto-cjk and fonts-noto-color-emoji (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null; }

run: $(STAMP) ## broker + MongoDB-wire store + all five services + console + sample traffic; Ctrl-C stops
	$(PY) tools/devstack.py

test: setup ## every tier: unit, integration, e2e, deploy; then the scale-out proof on its own
	$(PYTEST) tests -q $(XDIST) --durations=12 -m "not scale_out" $(PYTEST_ARGS)
	$(PYTEST) tests/e2e/test_scale_out.py -q $(PYTEST_ARGS)
	$(MAKE) --no-print-directory lint lock-check proto-check buf-lint buf-breaking chart-check

test-unit: $(STAMP) ## pure domain, no I/O
	$(PYTEST) tests/unit -q $(PYTEST_ARGS)

test-integration: $(STAMP) ## one service against the real broker and store
	$(PYTEST) tests/integration -q $(XDIST) $(PYTEST_ARGS)

test-scale-out: $(STAMP) ## issue 15's 2-replica kill -9 proof alone (make test runs it after the other tiers)
	$(PYTEST) tests/e2e/test_scale_out.py -q -s $(PYTEST_ARGS)

test-e2e: $(STAMP) system-deps ## several services as real processes
	$(PYTEST) tests/e2e -q $(XDIST) $(PYTEST_ARGS)

test-deploy: $(STAMP) system-deps ## Helm chart, alert rules, dashboards
	$(PYTEST) tests/deploy -q $(PYTEST_ARGS)

bench: $(STAMP) bench-deps ## measured figures, JSON + table (docs/performance.md)
	$(PY) tools/bench.py

bench-deps: ## wrk (Debian) drives the HTTP benchmarks
	@command -v wrk >/dev/null || { command -v apt-get >/dev/null || { echo "install wrk"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }

# Bounded (MUTATION_TIMEOUT seconds); 2 workers because the 2 cores are shared. Not part of `make test`.
MUTATION_WORKERS ?= 2
MUTATION_TIMEOUT ?= 3600
mutation: $(STAMP) ## mutation testing of the SLA calendar/tracker and routing choice -> docs/mutation.md
	$(PY) tools/mutation.py --workers $(MUTATION_WORKERS) --timeout $(MUTATION_TIMEOUT)

proto: $(STAMP) ## regenerate Python code from proto/
	$(PY) tools/proto.py

proto-check: $(STAMP) ## fail if generated code drifted from proto/
	$(PY) tools/proto.py --check

buf-lint: $(BUF) ## buf lint on proto/
	cd proto && ../$(BUF) lint && echo "buf lint: clean"

buf-breaking: $(BUF) ## buf breaking against main
	cd proto && ../$(BUF) breaking --against '../.git#branch=main,subdir=proto'

lint: $(STAMP)
	$(VENV)/bin/ruff check libs services tests tools benchmarks

chart-sync: $(STAMP) ## copy topic registry, default config, rules, dashboards into the chart
	$(PY) tools/chart_sync.py

chart-golden: $(STAMP) ## after an intended chart/config/rules change: sync files, docs table, goldens
	$(PY) tools/chart_sync.py && $(PY) tools/chart_docs.py && $(PY) tests/deploy/chart_render.py --update-golden

chart-check: $(STAMP) ## fail if the chart's copies, README table or goldens drifted
	$(PY) tools/chart_sync.py --check && $(PY) tools/chart_docs.py --check

chart-docs: $(STAMP) ## regenerate the chart README values table
	$(PY) tools/chart_docs.py

lock-check: $(STAMP) ## requirements-runtime.lock is the closure of the project's dependencies
	$(PY) tools/lock.py --check

image: ## build the container image (needs a Docker engine)
	docker build -t switchboard:dev .

lock: ## re-pin requirements.lock (dev) and requirements-runtime.lock (the image) from the current virtualenv
	$(PY) tools/lock.py

clean:
	rm -rf $(VENV) .data tools/buf/node_modules .pytest_cache
