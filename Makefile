# The two commands a new user runs: `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: run test install dev node-deps fuzz soak seed serve lint typecheck pytest bench schema clean

$(UV):
	python3.11 -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "uv>=0.5,<1"

# --inexact keeps uv itself, which lives in the same venv.
install: $(UV)
	$(UV) sync --frozen --inexact --no-dev --quiet

dev: $(UV)
	$(UV) sync --frozen --inexact --quiet

## make run: install, create and seed ./data if absent, serve on http://127.0.0.1:8000/graphql
run: install
	$(PY) -m gateway seed
	$(PY) -m gateway serve

seed: install
	$(PY) -m gateway seed

serve: install
	$(PY) -m gateway serve

## make test: dev dependencies, lint, types, the whole suite (PostgreSQL and Redis included)
test: dev node-deps lint typecheck pytest

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

pytest:
	$(PY) -m pytest -q $(PYTEST_ARGS)

## make fuzz: the fuzzers at ten times the suite's example counts (FUZZ_SCALE)
fuzz: dev
	FUZZ_SCALE=$${FUZZ_SCALE:-10} $(PY) -m pytest -q -s -p no:randomly tests/fuzz

## make soak: three minutes of mixed load on PostgreSQL + Redis with faults (SOAK_ARGS)
soak: dev
	$(PY) -m bench.soak $(SOAK_ARGS)

## make bench: benchmarks against a seeded shop (see README for the table)
bench: dev
	$(PY) -m bench $(BENCH_ARGS)

## make schema: re-export schema.graphql from the code
schema: dev
	$(PY) -m strawberry export-schema gateway.schema:schema --output schema.graphql

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
