# cj-fulfillment: `make run` starts the service, `make test` runs the tests.
# Both install what they need (virtualenv, packages; for tests Postgres and Redis).
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
SYNCED := $(VENV)/.synced
# Every process a target starts imports about 6 s of source when nothing is compiled (a
# machine may set PYTHONDONTWRITEBYTECODE=1, as this one does); `make test` starts hundreds.
# The packages are compiled once at install, the project's own modules on first import
# (into the git-ignored __pycache__): the import of the service and worker takes 2.6 s.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help install run test test-medusa test-store lint fmt openapi migrate bench services

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(SYNCED): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode
	@touch $@

install: $(SYNCED) ## create .venv and install the locked packages

run: $(SYNCED) ## start the service on SQLite, no Redis, against the bundled CJ simulator
	@scripts/run-local.sh

services: ## make sure the test Postgres and Redis are up (start or install them)
	@scripts/ensure-services.sh

test: $(SYNCED) services ## pytest on the real Postgres and Redis, the Medusa plugin's checks, the store and browser tests
	$(PY) -m pytest -q $(PYTEST_ARGS)
	@scripts/test-medusa.sh
	@scripts/test-store.sh

test-medusa: $(SYNCED) services ## only the Medusa provider's checks (tsc, unit and integration tests on cjsim)
	@scripts/test-medusa.sh

test-store: $(SYNCED) services ## only the store and browser tests: a real Medusa store with the plugin, the service and cjsim
	@scripts/test-store.sh

lint: $(SYNCED) ## ruff check, ruff format --check, mypy --strict app
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --strict app

fmt: $(SYNCED) ## format and auto-fix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

openapi: $(SYNCED) ## rewrite openapi/openapi.json from the app
	$(PY) -m app.openapi

migrate: $(SYNCED) ## alembic upgrade head on DATABASE_URL (default: the SQLite file)
	$(VENV)/bin/alembic upgrade head

bench: $(SYNCED) services ## run the benchmarks in bench/
	@for script in bench/*.py; do [ -e "$$script" ] || continue; echo "== $$script"; $(PY) "$$script" || exit 1; done
