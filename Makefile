# SPDX-License-Identifier: Apache-2.0 OR MIT
# Two commands matter: `make demo` and `make test`. Both set everything up themselves.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.arco-runtime
DEV_STAMP := $(VENV)/.arco-dev
LAB_STAMP := $(VENV)/.arco-lab
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
# Extra arguments for `jupyter lab` in `make lab`, e.g. headless:
#   make lab LAB_ARGS="--no-browser --ServerApp.ip=127.0.0.1 --port 8888"
LAB_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install install-dev dot demo test lint format typecheck pytest nbval docs bench bench-peers lab clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

$(BIN)/python:
	@sh scripts/make-venv.sh $(PYTHON) $(VENV)
	$(PIP) install --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	@touch $@ $(RUNTIME_STAMP) $(LAB_STAMP)

$(LAB_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[lab]'
	@touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)  ## create .venv and install Arco
install-dev: $(DEV_STAMP)  ## create .venv and install Arco with every extra and dev tool

dot:  ## make sure graphviz's `dot` program is installed
	@sh scripts/ensure-dot.sh

demo: install  ## the tours, then `arco run notebooks/01_quickstart.ipynb`, against ./.arco
	@sh scripts/ensure-dot.sh --optional
	$(BIN)/python examples/core_store_demo.py
	$(BIN)/python examples/metadata_demo.py
	$(BIN)/arco run notebooks/01_quickstart.ipynb
	@# The quickstart works in a workspace of its own (%arco use --workspace tutorial-01).
	$(BIN)/arco --workspace tutorial-01 assets
	$(BIN)/arco --workspace tutorial-01 runs --limit 5
	@$(BIN)/arco --workspace tutorial-01 lineage orders_clean --format svg \
	  -o .arco/quickstart-lineage.svg || $(BIN)/arco --workspace tutorial-01 lineage orders_clean

test: install-dev  ## everything CI checks: lint, types, tests with coverage, notebooks, docs
	@sh scripts/ensure-dot.sh
	@sh scripts/ensure-chromium.sh
	$(MAKE) --no-print-directory lint typecheck pytest nbval docs

lint: install-dev  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install-dev  ## mypy --strict on arco_nb
	$(BIN)/mypy --strict arco_nb

pytest: install-dev  ## the test suite on every core, with coverage gated at 85%
	$(BIN)/pytest -n auto --dist worksteal --cov=arco_nb --cov-report=term --cov-fail-under=85 --durations=15 tests

nbval: install-dev  ## run the tutorials as Lab would, in order then reversed, each pass on one root
	@set -e; forward=$$(ls notebooks/*.ipynb); backward=$$(ls notebooks/*.ipynb | sort -r); \
	for order in forward backward; do \
	  root=$$(mktemp -d -t arco-nb-root-XXXXXX); \
	  if [ $$order = forward ]; then list=$$forward; else list=$$backward; fi; \
	  echo "nbval: tutorials $$order, all on one root"; \
	  ARCO_ROOT=$$root $(BIN)/pytest -q -p no:cov --nbval $$list \
	    --nbval-sanitize-with notebooks/sanitize.cfg || { rm -rf "$$root"; exit 1; }; \
	  rm -rf "$$root"; \
	done

docs: install-dev  ## build the documentation (warnings fail)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

bench: install-dev  ## run the benchmarks in benches/
	$(BIN)/pytest benches -o python_files='bench_*.py' --benchmark-only \
	  --benchmark-columns=min,median,mean,max,rounds --benchmark-sort=name

bench-peers:  ## Arco beside Dagster and JupySQL, in a throwaway environment of their own
	bash benches/peers/run.sh

lab: $(LAB_STAMP)  ## JupyterLab on notebooks/, opened on the quickstart (installs only what Lab needs)
	@sh scripts/ensure-dot.sh --optional
	cd notebooks && $(abspath $(BIN))/jupyter lab 01_quickstart.ipynb $(if $(filter 0,$(shell id -u)),--allow-root) \
	  $(LAB_ARGS)

clean:  ## remove build products (keeps .venv and ./.arco)
	rm -rf docs/_build build dist .coverage .coverage.* htmlcov .mypy_cache .ruff_cache
