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
# SPLANTS_INSTANCE=production selects deploy/dagster.production.yaml (PostgreSQL; needs DAGSTER_POSTGRES_URL)
SPLANTS_INSTANCE ?= local
INSTANCE_YAML := $(if $(filter production,$(SPLANTS_INSTANCE)),deploy/dagster.production.yaml,deploy/dagster.yaml)

.PHONY: install home run demo test bench probe lint format sql clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -c "from splants_dagster.qa.flesch import ensure_cmudict; ensure_cmudict()"
	touch $(STAMP)

install: $(STAMP)

# the project-local Dagster instance (git-ignored); dagster.yaml refreshed from deploy/ when it changes
home: install
	mkdir -p $(DAGSTER_HOME)
	cp $(INSTANCE_YAML) $(DAGSTER_HOME)/dagster.yaml

run: home
	$(BIN)/splants campaign sync
	@echo "Dagster UI: http://$(HOST):$(PORT)  (DAGSTER_HOME=$(DAGSTER_HOME), data in $(SPLANTS_DATA_DIR))"
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dg dev --use-active-venv --host $(HOST) --port $(PORT)

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

format: install
	$(BIN)/ruff format splants_dagster splants_dagster_tests bench
	$(BIN)/ruff check --fix splants_dagster splants_dagster_tests bench

sql: install
	$(BIN)/splants sql

clean:
	rm -rf $(DAGSTER_HOME) data/warehouse data/analytics.duckdb data/outbox data/models
