# Two commands on a fresh machine (pip only, no root, no Docker):
#   make demo   build the demo backups and verify them (pytest suites/rds suites/redis, and suites/mysql when a
#               MariaDB/MySQL server is installed: apt-get install mariadb-server, and suites/mongo when mongoeco
#               is), print the report
#   make test   the harness's own tests, fast default (without those marked slow; `make test-all` runs every one)
# Both also install mongoeco (a MongoDB wire-protocol server in Python, not MongoDB) into .cache/mongoeco, where a
# Python >= 3.13 exists: the Mongo store's tests and the demo's Mongo store restore into it (no mongod needed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# mongoeco needs Python >= 3.13 and, undeclared, pymongo (without it every request fails inside the server).
MONGOECO := .cache/mongoeco
MONGOECO_PINS := mongoeco==4.11.0 pymongo==4.20.1
MONGOECO_STAMP := $(MONGOECO)/.installed-$(subst ==,-,$(word 1,$(MONGOECO_PINS)))-$(subst ==,-,$(word 2,$(MONGOECO_PINS)))
# The first interpreter >= 3.13 that runs: on PATH, else pyenv's versions (a pyenv shim of a version that is not
# selected does not run, so each is asked for its real path).
# Looked for once per make run (`:=`); MONGOECO_BASE=/path/to/python3.13 on the command line or in the environment wins.
ifndef MONGOECO_BASE
MONGOECO_BASE := $(shell for p in python3.14 python3.13 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[3-9]*/bin/python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 13)); ' 2>/dev/null && $$p -c 'import sys; print(sys.executable)' \
	&& break; done)
endif
# Where mongoeco cannot be installed the demo leaves its Mongo store out and the Mongo wire-server tests fail,
# saying what to install (as for any server the tests need).
MONGOECO_LEFT_OUT = so the demo leaves its Mongo store out and the Mongo wire-server tests fail
# Tests and the demo find the server's interpreter here (an inherited RESTOREPROOF_MONGOECO_PYTHON wins).
WITH_MONGOECO = RESTOREPROOF_MONGOECO_PYTHON="$${RESTOREPROOF_MONGOECO_PYTHON:-$$(test -x $(MONGOECO)/bin/python \
	&& echo $(CURDIR)/$(MONGOECO)/bin/python)}"

.PHONY: mongoeco demo test test-slow test-all test-real-account lint check docs clean dist

$(BIN)/restoreproof: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

ifeq ($(MONGOECO_BASE),)
mongoeco:
	@echo "no Python >= 3.13 found (python3.14, python3.13, pyenv): mongoeco is not installed, $(MONGOECO_LEFT_OUT)"
else
# A stamp whose virtualenv no longer imports mongoeco (its base Python removed) is no installation: made again.
mongoeco:
	@$(MONGOECO)/bin/python -c 'import mongoeco' 2>/dev/null || rm -f $(MONGOECO_STAMP)
	@$(MAKE) -s --no-print-directory $(MONGOECO_STAMP)
endif

# A failed install (no venv module, no registry) leaves nothing half-made and no stamp, and says so.
$(MONGOECO_STAMP):
	@rm -rf $(MONGOECO)
	@if $(MONGOECO_BASE) -m venv $(MONGOECO) && \
		$(MONGOECO)/bin/pip install --quiet --disable-pip-version-check $(MONGOECO_PINS); then touch $@; \
	else rm -rf $(MONGOECO); echo "mongoeco could not be installed from $(MONGOECO_BASE) (see above), $(MONGOECO_LEFT_OUT)"; fi

# The shop (MySQL) backup exists only when build_demo found a MariaDB/MySQL server, the catalog (Mongo) backup only
# when mongoeco is installed; it says so when they are not.
demo: $(BIN)/restoreproof mongoeco
	$(WITH_MONGOECO) $(BIN)/python -m fixtures.build_demo
	$(WITH_MONGOECO) $(BIN)/pytest suites/rds suites/redis $$(ls fixtures/snapshots/shop-*.sql.gz >/dev/null 2>&1 && echo suites/mysql) \
		$$(ls fixtures/snapshots/catalog-*.archive.gz >/dev/null 2>&1 && echo suites/mongo)

test: $(BIN)/restoreproof mongoeco
	$(WITH_MONGOECO) $(BIN)/pytest tests -m "not slow"

test-slow: $(BIN)/restoreproof mongoeco
	$(WITH_MONGOECO) $(BIN)/pytest tests -m slow

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
