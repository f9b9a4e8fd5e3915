# Two commands on a fresh machine (pip only, no root, no Docker):
#   make demo   build the demo backups and verify them (pytest suites/rds suites/redis, and suites/mysql when a
#               MariaDB/MySQL server is installed: apt-get install mariadb-server), print the report
#   make test   the harness's own tests, fast default (without those marked slow; `make test-all` runs every one)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-slow test-all test-real-account lint check docs clean dist

$(BIN)/restoreproof: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

# The shop (MySQL) backup exists only when build_demo found a MariaDB/MySQL server; it says so when it did not.
demo: $(BIN)/restoreproof
	$(BIN)/python -m fixtures.build_demo
	$(BIN)/pytest suites/rds suites/redis $$(ls fixtures/snapshots/shop-*.sql.gz >/dev/null 2>&1 && echo suites/mysql)

test: $(BIN)/restoreproof
	$(BIN)/pytest tests -m "not slow"

test-slow: $(BIN)/restoreproof
	$(BIN)/pytest tests -m slow

test-all: test test-slow

# Against a real cloud account (billed; never in CI): RESTOREPROOF_REAL_ACCOUNT=aws|gcp|aws,gcp make test-real-account
test-real-account: $(BIN)/restoreproof
	@test -n "$$RESTOREPROOF_REAL_ACCOUNT" || { echo "set RESTOREPROOF_REAL_ACCOUNT=aws, gcp or aws,gcp (see tests/real_account/README.md)"; exit 2; }
	$(BIN)/pytest tests/real_account

# The inventory reference, generated from the pydantic models (tests/unit/test_inventory_reference.py checks it).
docs: $(BIN)/restoreproof
	$(BIN)/python -m verifiers.inventory_reference > docs/inventory-reference.md

lint: $(BIN)/restoreproof
	$(BIN)/ruff check .
	$(BIN)/mypy

check: lint test

clean:
	rm -rf $(VENV) fixtures/snapshots .pytest_cache .mypy_cache .ruff_cache dist build

# The release artifacts: the sdist, then the wheel built from it, checked against PyPI's metadata rules.
dist: $(BIN)/restoreproof
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/python -m twine check --strict dist/*
