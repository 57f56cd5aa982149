# Two entry points: `make demo` and `make test`. Both install what is missing first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FORGE := node_modules/@foundry-rs/forge-linux-amd64/bin/forge
FORGE_PROFILE ?= default

.PHONY: install demo test test-python test-contracts lint bench clean

install: node_modules/.installed $(VENV)/.installed

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

demo: install
	$(VENV)/bin/provenance demo

test: install lint test-contracts test-python

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

clean:
	rm -rf build contracts/out contracts/cache .provenance .pytest_cache
