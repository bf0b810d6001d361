# The two commands a new user runs: `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
# Python keeps compiled modules (and pytest its rewritten test modules) in __pycache__: a
# machine that turns that off (PYTHONDONTWRITEBYTECODE, as some CI images do) compiles the
# gateway and every library again in each of the suite's workers and subprocesses, about
# 2 s of CPU per process start.
unexport PYTHONDONTWRITEBYTECODE

GRAPHIQL := gateway/graphiql
EXAMPLES := examples
NPM      ?= npm

.PHONY: run run-distributed test suite install dev pgbouncer wrk node-deps fuzz soak seed serve lint typecheck pytest pytest-remote bench schema clean graphiql examples chromium screenshots

$(UV):
	python3.11 -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "uv>=0.5,<1"

# --inexact keeps uv itself, which lives in the same venv.
install: $(UV) graphiql examples
	$(UV) sync --frozen --inexact --no-dev --quiet

## make graphiql: GraphiQL's browser files, from the npm packages pinned in gateway/graphiql
graphiql: $(GRAPHIQL)/static/manifest.json

$(GRAPHIQL)/static/manifest.json: $(GRAPHIQL)/package-lock.json $(GRAPHIQL)/assets.py $(GRAPHIQL)/build.py | $(UV)
	@command -v $(NPM) >/dev/null 2>&1 || { echo "make: $(NPM) not found. GraphiQL's files come from \
	the npm packages pinned in $(GRAPHIQL)/package-lock.json: install Node.js 18+ with npm \
	(Debian: apt-get install npm) and run make again." >&2; exit 1; }
	cd $(GRAPHIQL) && $(NPM) ci --ignore-scripts --no-audit --no-fund --loglevel=error
	$(PY) -m gateway.graphiql.build

## make examples: the storefront's and back office's libraries, pinned in examples/package-lock.json
examples: $(EXAMPLES)/static/manifest.json

$(EXAMPLES)/static/manifest.json: $(EXAMPLES)/package-lock.json gateway/examples/assets.py gateway/examples/build.py $(wildcard $(EXAMPLES)/operations/*.graphql $(EXAMPLES)/operations/*/*.graphql) | $(UV)
	@command -v $(NPM) >/dev/null 2>&1 || { echo "make: $(NPM) not found. The examples' libraries come \
	from the npm packages pinned in $(EXAMPLES)/package-lock.json: install Node.js 18+ with npm \
	(Debian: apt-get install npm) and run make again." >&2; exit 1; }
	cd $(EXAMPLES) && $(NPM) ci --ignore-scripts --no-audit --no-fund --loglevel=error
	$(PY) -m gateway.examples.build

## make screenshots: docs/screenshots/*.png of the storefront and back office, phone and desktop
screenshots: dev examples chromium
	$(PY) -m gateway.examples.screenshots

# Debian's chromium for the GraphiQL browser test, installed where missing when root (as CI
# is); otherwise the test says how (and fails with CI=true).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else echo "make: chromium not found: the GraphiQL browser test needs it (apt-get install chromium)" >&2; fi; }

# PgBouncer (transaction mode) for tests/gateway/test_pgbouncer.py, from Debian like chromium.
pgbouncer:
	@command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null; \
	  else echo "make: pgbouncer not found: tests/gateway/test_pgbouncer.py needs it (apt-get install pgbouncer)" >&2; fi; }

# wrk (C) generates bench.processes' listing load for little CPU, from Debian like pgbouncer;
# without it the bench falls back to its Python generator (and says so).
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends wrk >/dev/null; \
	  else echo "make: wrk not found: bench.processes falls back to its Python load generator (apt-get install wrk)" >&2; fi; }

dev: $(UV)
	$(UV) sync --frozen --inexact --quiet

## make run: install, create and seed ./data if absent, serve on http://127.0.0.1:8000/graphql
run: install
	$(PY) -m gateway seed
	$(PY) -m gateway serve

## make run-distributed: the same shop, each source its own service (ports 8101-8104)
run-distributed: install
	$(PY) -m gateway seed
	$(PY) -m gateway serve --spawn-sources

seed: install
	$(PY) -m gateway seed

serve: install
	$(PY) -m gateway serve

## make test: dev dependencies, lint, types, the whole suite (PostgreSQL and Redis included)
# Two job slots keep both cores busy: mypy (one core for a cold half-minute) runs beside the
# npm installs and the suite, and the sub-make below inherits the slots, so the remote
# re-run starts beside the main suite once mypy is done (docs/development.md).
test: dev
	$(MAKE) --no-print-directory -j2 typecheck suite

suite: graphiql examples chromium pgbouncer wrk node-deps lint
	$(MAKE) --no-print-directory pytest pytest-remote

# npm packages of the GraphQL-over-HTTP audits (tests/http_audit), from its lock file.
node-deps:
	@if command -v npm >/dev/null 2>&1; then \
	  cd tests/http_audit && npm ci --no-audit --no-fund --loglevel=error; \
	elif [ "$$CI" = true ]; then echo "npm (Node.js 20) is required in CI" >&2; exit 1; \
	else echo "npm not found: the GraphQL-over-HTTP audits will be skipped" >&2; fi

lint:
	$(VENV)/bin/ruff check gateway sources tests bench
	$(VENV)/bin/ruff format --check gateway sources tests bench

typecheck:
	$(VENV)/bin/mypy gateway sources

# pytest-xdist; each worker has its own SQLite files, PostgreSQL databases, Redis key
# prefixes and ports. One worker more than the cores: the suite waits on servers (the
# database's own CPU, subprocesses, HTTP) about a third of the time, and a third worker
# fills it. worksteal: the few long tests do not leave a core idle.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 2) + 1 )))
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist worksteal
pytest:
	$(PY) -m pytest -q --durations=15 $(PYTEST_PARALLEL) $(PYTEST_ARGS)

# The GraphQL tests that matter most, again with every source reached over HTTP (the whole
# of tests/gateway would double its time; the 40-buyer races alone take minutes remote).
REMOTE_TESTS ?= tests/gateway/test_listing.py tests/gateway/test_cart.py \
	tests/gateway/test_checkout_errors.py tests/gateway/test_checkout_orders.py \
	tests/gateway/test_backoffice_order_view.py \
	tests/gateway/test_catalog_manage.py \
	tests/gateway/test_checkout_races.py::test_the_same_key_ten_times_at_once_places_one_order
pytest-remote:
	$(PY) -m pytest -q $(PYTEST_PARALLEL) --sources=remote $(REMOTE_TESTS)
## make fuzz: the fuzzers at ten times the suite's example counts (FUZZ_SCALE)
fuzz: dev
	FUZZ_SCALE=$${FUZZ_SCALE:-10} $(PY) -m pytest -q -s -p no:randomly tests/fuzz

## make soak: three minutes of mixed load on PostgreSQL + Redis with faults (SOAK_ARGS)
soak: dev
	$(PY) -m bench.soak $(SOAK_ARGS)

## make bench: benchmarks against a seeded shop; figures in bench/results/*.json, rendered
## into docs/benchmarks.md with their command, date, commit and load
bench: dev wrk
	$(PY) -m bench $(BENCH_ARGS)
	$(PY) -m bench.imports $(IMPORT_BENCH_ARGS)
	$(PY) -m bench.compression
	$(PY) -m bench.processes
	$(PY) -m bench.tracing
	$(PY) -m bench.search $(SEARCH_BENCH_ARGS)
	$(PY) -m bench.docs

## make schema: re-export schema.graphql from the code
schema: dev
	$(PY) -m strawberry export-schema gateway.schema:schema --output schema.graphql

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache $(GRAPHIQL)/node_modules $(GRAPHIQL)/static \
		$(EXAMPLES)/node_modules $(EXAMPLES)/static
