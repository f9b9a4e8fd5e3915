# Two commands on a fresh machine (pip only, no root, no Docker):
#   make demo   build the demo backups and verify them (pytest suites/rds suites/redis), print the report
#   make test   the harness's own tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint check clean

$(BIN)/restoreproof: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

demo: $(BIN)/restoreproof
	$(BIN)/python -m fixtures.build_demo
	$(BIN)/pytest suites/rds suites/redis

test: $(BIN)/restoreproof
	$(BIN)/pytest tests

lint: $(BIN)/restoreproof
	$(BIN)/ruff check .
	$(BIN)/mypy

check: lint test

clean:
	rm -rf $(VENV) fixtures/snapshots .pytest_cache .mypy_cache .ruff_cache
