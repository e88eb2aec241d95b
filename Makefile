# lichnhac — `make run` and `make test` are the two commands of the README's quick start.
# Both set up everything they need on a fresh machine (venv, pip and npm packages, and for
# tests the Debian packages a real server or browser needs).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CONFIG ?= config.toml
# Tests run under a non-Vietnamese timezone (with daylight saving) to catch naive datetimes.
TEST_TZ ?= America/New_York
PYTEST_ARGS ?=

.PHONY: run test lint typecheck pytest setup system-deps node-deps check bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed-stamp: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

node-deps: node_modules/.installed-stamp

system-deps:
	bash .ci/system-deps

# The first `make run` of the shipped example (outbox transport, no ledger yet) first
# delivers the last 90 days' reminders into var/outbox with `simulate`, so a fresh clone
# shows real emails at once instead of waiting for the next 08:00; then the daemon runs.
run: $(STAMP)
	@if [ "$(CONFIG)" = config.toml ] && [ ! -e var/ledger.sqlite3 ] \
	    && grep -q '^transport = "outbox"' config.toml; then \
	  echo "first run of the example deployment: the last 90 days' reminders go to var/outbox"; \
	  $(BIN)/lichnhac --config config.toml simulate \
	    --from $$(date -d '90 days ago' +%F) --to $$(date -d yesterday +%F); \
	fi
	$(BIN)/lichnhac --config $(CONFIG) run

check: $(STAMP)
	$(BIN)/lichnhac --config $(CONFIG) check

lint: $(STAMP)
	$(BIN)/ruff check scheduler tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) node-deps system-deps
	TZ=$(TEST_TZ) $(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
