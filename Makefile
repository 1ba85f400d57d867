# Doorstep developer commands. Every target bootstraps .venv on its own (idempotently: the
# editable install is redone only when pyproject.toml changes), so a fresh clone needs only
# Python 3.11+, make, and Node.js with npm (for the PWA's QR decoder and the CJK font of posters
# and summary cards, from package-lock.json).
#
#   make run     the whole system on an embedded PostgreSQL, with a demo organization
#   make test    the test suite (installs the Debian packages the tests need when root)
#   make lint    ruff check, ruff format --check, mypy --strict
#   make bench   every benchmark in bench/, each printing its figures

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.doorstep-installed
# The npm packages (package.json, pinned in package-lock.json): the PWA's QR decoder, served by
# backend/pwa.py, and the CJK font found by backend/kit/fonts.py.
NODE_STAMP := node_modules/.doorstep-installed
PYTEST_ARGS ?=
# Test processes (pytest-xdist): most tests wait on servers, browsers and databases, so three
# workers on two cores finish the suite in 11 minutes where one takes over 18; 0 runs
# in-process (e.g. `make test TEST_WORKERS=0 PYTEST_ARGS='-k name'`).
TEST_WORKERS ?= 3

.DEFAULT_GOAL := help
.PHONY: help install dev system-deps run test lint format bench clean

help:
	@echo "make run          serve on http://localhost:8000 with the demo organization"
	@echo "make test         run the test suite (PYTEST_ARGS='-k name' to narrow it)"
	@echo "make lint         ruff check + ruff format --check + mypy (strict)"
	@echo "make bench        run every bench/*.py and print the figures"
	@echo "make install      create .venv and install Doorstep with its dev tools"
	@echo "make dev          install + the system packages the tests need"
	@echo "make format       apply ruff's formatting and safe fixes"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python $(NODE_STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# Redone only when package.json or the lock changes; the registry only, no install scripts.
# Without npm the server still runs (the scan screen falls back to typing the code; posters and
# summary cards need a system CJK font or DOORSTEP_CJK_FONT_PATH), so this only warns.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "make: npm not found: the PWA's QR decoder and the CJK font (node_modules/) are not" \
			"installed; install Node.js and npm, then run make install" >&2; \
	fi

install: $(STAMP)

system-deps:
	@bash .ci/system-deps

dev: install system-deps

run: $(STAMP)
	$(BIN)/doorstep serve --demo

# pytest exits 5 when it collected no tests: that is a failure here, never a silent pass.
test: $(STAMP) system-deps
	@status=0; $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	exit $$status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache build *.egg-info
	@echo "(kept .venv and the data dir ./var; remove them by hand if you mean it)"
