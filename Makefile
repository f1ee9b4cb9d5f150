# splants-dagster: `make run` (UI with the demo) and `make test` (whole suite) work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export SPLANTS_DATA_DIR ?= $(CURDIR)/data
HOST ?= 127.0.0.1
PORT ?= 3000
DESK_HOST ?= 127.0.0.1
DESK_PORT ?= 3001
# SPLANTS_INSTANCE=production selects deploy/dagster.production.yaml (PostgreSQL; needs DAGSTER_POSTGRES_URL)
SPLANTS_INSTANCE ?= local
INSTANCE_YAML := $(if $(filter production,$(SPLANTS_INSTANCE)),deploy/dagster.production.yaml,deploy/dagster.yaml)

.PHONY: install home run demo test bench probe lint check format sql clean

# Dependencies (docs/dependencies.md): every install comes from uv.lock. uv itself is the one tool
# bootstrapped by hand, pinned, from PyPI into the venv, so a fresh clone needs nothing but Python 3.11+.
UV_VERSION := 0.13.9
UV := $(BIN)/uv
UV_STAMP := $(VENV)/.uv-$(UV_VERSION)
# uv syncs this venv (not one of its own) and never downloads a Python
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_PYTHON_DOWNLOADS := never
# floors run: the lowest allowed version of every direct dependency, in a throwaway venv
FLOORS_VENV ?= /tmp/splants-floors

.PHONY: lock lock-check deps-check floors

$(UV_STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	touch $(UV_STAMP)

# --locked: install exactly uv.lock, and stop (naming `make lock`) when pyproject.toml has changed since it
# was written; every extra (serve, celery, dev) because make run and make test need them all; --inexact
# leaves pip, uv and anything installed by hand in place (rm -rf .venv for a pristine one)
$(STAMP): pyproject.toml uv.lock $(UV_STAMP)
	$(UV) sync --locked --all-extras --inexact || { echo "uv.lock: if it does not match pyproject.toml, run make lock" >&2; exit 1; }
	$(BIN)/python -c "from splants_dagster.qa.flesch import ensure_cmudict; ensure_cmudict()"
	touch $(STAMP)

install: $(STAMP)

# after editing the dependencies in pyproject.toml (LOCK_ARGS="--upgrade-package NAME" to move one package)
lock: $(UV_STAMP)
	$(UV) lock $(LOCK_ARGS)

# fails when uv.lock no longer matches pyproject.toml
lock-check: $(UV_STAMP)
	$(UV) lock --check || { echo "uv.lock does not match pyproject.toml: run make lock and commit both" >&2; exit 1; }

# every third-party import declared, every declared package used ([tool.deptry] in pyproject.toml)
deps-check: install
	$(BIN)/deptry .

floors: $(UV_STAMP)
	$(UV) venv --quiet --allow-existing --python $(BIN)/python $(FLOORS_VENV)
	$(UV) pip install --quiet --python $(FLOORS_VENV)/bin/python --resolution lowest-direct -e '.[serve,celery,dev]'
	$(FLOORS_VENV)/bin/python -c "from splants_dagster.qa.flesch import ensure_cmudict; ensure_cmudict()"
	$(FLOORS_VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# the project-local Dagster instance (git-ignored); dagster.yaml refreshed from deploy/ when it changes
home: install
	mkdir -p $(DAGSTER_HOME)
	cp $(INSTANCE_YAML) $(DAGSTER_HOME)/dagster.yaml

# code server, webserver, daemon and desk, started directly (deploy/run-local.sh; `make bench BENCH_ARGS=startup`
# measures the same script); Ctrl-C stops all four. RELOAD=1: the UI's "Reload" picks up code edits (~100 MB more)
GRPC_PORT ?= 4266
RELOAD ?= 0
run: home
	HOST=$(HOST) PORT=$(PORT) DESK_HOST=$(DESK_HOST) DESK_PORT=$(DESK_PORT) GRPC_PORT=$(GRPC_PORT) BIN=$(BIN) \
	RELOAD=$(RELOAD) deploy/run-local.sh

demo: home
	$(BIN)/splants demo

test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# issue #14: bad inputs on the real `splants` command; figures in test-artifacts/probe-summary.json
probe: install
	$(BIN)/python -m bench.probe $(PROBE_ARGS)

lint: install
	$(BIN)/ruff check splants_dagster splants_dagster_tests bench
	$(BIN)/ruff format --check splants_dagster splants_dagster_tests bench

# issue #17: lint, format and types with zero errors (mypy settings and its cache: [tool.mypy] in pyproject.toml)
check: install
	$(BIN)/ruff check splants_dagster splants_dagster_tests bench
	$(BIN)/ruff format --check splants_dagster splants_dagster_tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format splants_dagster splants_dagster_tests bench
	$(BIN)/ruff check --fix splants_dagster splants_dagster_tests bench

sql: install
	$(BIN)/splants sql

clean:
	rm -rf $(DAGSTER_HOME) data/warehouse data/analytics.duckdb data/outbox data/models
