# campaign-listener: the two commands of the README (`make run`, `make test`) and the helpers around them.
# Everything installs into ./.venv from the package index, pinned by pyproject.toml and constraints.txt.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
DEPS   := pyproject.toml constraints.txt

.PHONY: run serve test lint format bench demo install dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamps re-run the install whenever the pinned dependencies change.
$(VENV)/.runtime: $(BIN)/python $(DEPS)
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.runtime
dev: $(VENV)/.dev

## Install, migrate the embedded SQLite database (./data by default) and start the service.
run: install
	$(BIN)/listener db upgrade
	exec $(BIN)/listener run

## Install the dev dependencies, check style and types, run the whole test suite.
test: dev lint
	$(BIN)/python -m pytest

lint: dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Benchmarks (ratios against baselines measured in the same run); ARGS=--quick for a short run.
bench: dev
	$(BIN)/python -m bench $(ARGS)

## The bundled sample campaign (fictitious shops) in its own data directory (data/demo), the demo logins
## printed on the console, then the service on http://127.0.0.1:8080 (`listener demo --help` for options).
demo: install
	exec $(BIN)/listener demo $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
