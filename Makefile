# Headwater — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, else the PyPI wheel run as a module (installed on first use).
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN := $(UV) run --frozen --no-sync

.PHONY: help install test-deps up down logs status test test-unit test-integration test-e2e fuzz lint format bench bench-ingestion

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

install: ## install uv (if missing) and the locked workspace into .venv
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages uv
	@$(UV) sync --frozen --all-packages --quiet

test-deps: ## the system packages tests need beyond the workspace: mariadb-server (the MySQL source tests' server), when missing
	@command -v mariadbd >/dev/null 2>&1 || test -x /usr/sbin/mariadbd || { \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server) >/dev/null 2>&1 \
		|| echo "mariadb-server is missing and could not be installed here: the MySQL source tests will skip"; }

up: install ## run the whole system in the background on embedded Postgres and the tansu broker
	@$(RUN) headwater-dev up

down: ## stop every process (recorded data is kept in .headwater/)
	@if [ -x .venv/bin/headwater-dev ]; then $(RUN) headwater-dev down; else echo "nothing to stop"; fi

logs: ## follow the logs of every process
	@$(RUN) headwater-dev logs

status: ## say whether the system runs
	@$(RUN) headwater-dev status

test: install test-deps lint ## every test: unit, integration and end-to-end, on their own Postgres and broker
	@$(RUN) pytest

test-unit: install ## unit tests only (no Postgres, no broker)
	@$(RUN) pytest -m "not integration and not e2e"

test-integration: install test-deps ## integration tests only
	@$(RUN) pytest -m integration

test-e2e: install test-deps ## end-to-end tests only
	@$(RUN) pytest -m e2e

fuzz: install ## fuzz every route of the gateway's OpenAPI as every role with a large budget (HEADWATER_FUZZ_EXAMPLES)
	@HEADWATER_FUZZ_EXAMPLES=$${HEADWATER_FUZZ_EXAMPLES:-100} $(RUN) pytest -p no:cacheprovider tests/fuzz

lint: install ## ruff lint and format check, type check (basedpyright: strict for libs/common/src and services/*/src)
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .
	@$(RUN) basedpyright

format: install ## apply ruff's formatting and safe fixes
	@$(RUN) ruff check --fix .
	@$(RUN) ruff format .

bench: install ## load-generate against the running system (`make up` first) and report throughput and latency
	@$(RUN) python -m bench

bench-ingestion: install ## the ingestion engine on a generated 1M-row CSV (own embedded Postgres): rows/s, peak RSS, COPY baseline
	@$(RUN) python -m bench.ingestion
