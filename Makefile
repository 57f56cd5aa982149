# Two entry points: `make demo` and `make test`. Both install what is missing first.
# didkit's wheels are for CPython 3.11 only, and `python3` is 3.13 on a current Debian: the
# first of python3.11 / python3 that is 3.11 (or PYTHON=/path/to/python3.11).
IS_311 := -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'
ifndef PYTHON
PYTHON := $(firstword $(foreach candidate,python3.11 python3,$(shell \
	command -v $(candidate) >/dev/null 2>&1 && $(candidate) $(IS_311) 2>/dev/null && echo $(candidate))))
endif
VENV := .venv
PY := $(VENV)/bin/python
FORGE := node_modules/@foundry-rs/forge-linux-amd64/bin/forge
FORGE_PROFILE ?= default

.PHONY: install python browser demo test test-python test-contracts lint bench screenshots clean

install: python node_modules/.installed $(VENV)/.installed

# Stops at once, before anything is fetched, when no Python 3.11 is there to make the venv.
python:
	@test -x $(PY) || { test -n "$(PYTHON)" && $(PYTHON) $(IS_311) 2>/dev/null; } || { \
		echo "Python 3.11 is needed (didkit's wheels are built for 3.11 only) and neither"; \
		echo "python3.11 nor python3 is 3.11: install it (Debian: apt-get install python3.11"; \
		echo "python3.11-venv; or pyenv install 3.11) or run make PYTHON=/path/to/python3.11"; \
		exit 1; } >&2

# After the Node packages: the C module compiles libsecp256k1 from the npm package's source.
$(VENV)/.installed: pyproject.toml setup.py oracle_bridge/native/_hotpath.c \
		oracle_bridge/native/_batch_verify.c oracle_bridge/native/_batch_verify.h \
		node_modules/.installed
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# `npm install` rather than `npm ci`: Foundry's wrapper packages list optional binaries for
# other platforms that the registry does not serve, which `npm ci` counts as a stale lock.
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund
	touch $@

# The scan pages' browser tests drive Debian's Chromium and chromedriver: installed here where
# missing when run as root; otherwise the tests skip (and fail under PROVENANCE_REQUIRE_SERVICES=1).
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
		else \
			echo "Chromium and chromedriver are missing and this is not root: browser tests will skip"; \
		fi; \
	fi

demo: install
	$(VENV)/bin/provenance demo

test: install browser lint test-contracts test-python

test-contracts: install
	cd contracts && FOUNDRY_PROFILE=$(FORGE_PROFILE) ../$(FORGE) test --offline --use ./tools/solc

test-python: install
	$(VENV)/bin/provenance compile
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check ledger_client credentials api oracle_bridge provenance tests bench
	$(VENV)/bin/ruff format --check ledger_client credentials api oracle_bridge provenance tests bench
	$(VENV)/bin/mypy
	cd contracts && ../$(FORGE) fmt --check

bench: install
	$(PY) bench/anchor_events.py --quick

# The README's screenshots of the scan pages, taken by the browser tests.
screenshots: install browser
	PROVENANCE_SCREENSHOT_DIR=docs/screenshots $(VENV)/bin/pytest -q -m browser

clean:
	rm -rf build contracts/out contracts/cache .provenance .pytest_cache
