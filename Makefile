# Two commands: `make run` starts Laser OS with demo data; `make test` runs every test.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run worker test lint chromium bench

run: $(VENV)/.installed
	$(BIN)/laseros serve

# Only needed with LASEROS_WORKER=off (`make run` runs the job worker inside the web process).
worker: $(VENV)/.installed
	$(BIN)/laseros worker

test: $(VENV)/.installed-test chromium
	$(BIN)/ruff check src tests e2e benchmarks migrations
	$(BIN)/mypy src
	# Two runs: the browser suite's event loop (Playwright's sync API) stays "running" for the rest of a
	# session, so the unit and integration tests, which call asyncio.run, go first in a session of their own.
	$(BIN)/pytest tests
	$(BIN)/pytest e2e

# Every benchmark (ten years of a busy shop; a quiet machine), then one screen of targets met and missed.
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run_all.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests e2e benchmarks migrations
	$(BIN)/ruff format --check src tests e2e benchmarks migrations
	$(BIN)/mypy src

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

# Playwright drives Debian's Chromium (it cannot download its own browser here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }
