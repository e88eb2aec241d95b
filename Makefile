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

.PHONY: run test test-quick lint typecheck pytest setup system-deps node-deps check bench fuzz \
	clean messages compile-messages

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
# delivers the last 90 days' reminders into var/outbox with `simulate --live` (the
# example's own ledger and outbox: the daemon then knows they were sent), so a fresh clone
# shows real emails at once instead of waiting for the next 08:00; then the daemon runs.
# The dates come from the venv's python, not GNU `date -d`, so this works on macOS too.
DAYS_AGO = $(BIN)/python -c 'import datetime as d, sys; print(d.date.today() - d.timedelta(days=int(sys.argv[1])))'
run: $(STAMP)
	@if [ "$(CONFIG)" = config.toml ] && [ ! -e var/ledger.sqlite3 ] \
	    && grep -q '^transport = "outbox"' config.toml; then \
	  echo "first run of the example deployment: the last 90 days' reminders go to var/outbox"; \
	  $(BIN)/lichnhac --config config.toml simulate --live \
	    --from $$($(DAYS_AGO) 90) --to $$($(DAYS_AGO) 1); \
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

# Everything but the tests marked slow (crash trials, OCR, national-scale data).
test-quick: lint typecheck
	$(MAKE) pytest PYTEST_ARGS='-m "not slow" $(PYTEST_ARGS)'

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The config fuzzer of the test suite, longer and with fresh randomness each run: mutated
# config.toml and calendars through `check`, `agenda` and `plan` (exit 0/1/2 only, no
# traceback, each under 10 s). It prints the cases run and the slowest run per command.
FUZZ_EXAMPLES ?= 3000
fuzz: $(STAMP)
	LICHNHAC_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) TZ=$(TEST_TZ) $(BIN)/python -m pytest \
	  tests/test_fuzz_config.py -q -s -p no:cacheprovider

# The command line's message catalogs (scheduler/i18n.py): extract every _() message into
# the .pot, merge it into the vi and en .po (translate the new vi entries by hand; English
# ones are filled with their msgid), compile the .mo files that are committed and shipped.
LOCALE := scheduler/locale
messages: $(STAMP)
	$(BIN)/pybabel extract --no-location --sort-output -F babel.cfg -o $(LOCALE)/lichnhac.pot scheduler
	for lang in vi en; do \
	  test -e $(LOCALE)/$$lang/LC_MESSAGES/lichnhac.po \
	    || $(BIN)/pybabel init -D lichnhac -i $(LOCALE)/lichnhac.pot -d $(LOCALE) -l $$lang; \
	done
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -w 100 -D lichnhac \
	  -i $(LOCALE)/lichnhac.pot -d $(LOCALE)
	$(BIN)/python -m scheduler.i18n_catalogs fill-en
	$(MAKE) compile-messages

compile-messages: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -D lichnhac -d $(LOCALE)
	$(BIN)/python -m scheduler.i18n_catalogs

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
