# Two commands do all set-up: `make run` starts attunement, `make test` runs the whole test suite.
# Each creates the virtual environment in .venv when it is missing or older than pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint style typecheck clean system-deps validation

# The test suite starts a throwaway PostgreSQL server and drives Debian's Chromium headless, and
# installs LHC-Forms with npm. All come from Debian's packages; install them when they are missing
# (needs root or sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1 \
		|| ! command -v npm >/dev/null 2>&1; then \
		echo "Installing PostgreSQL, Chromium and npm from Debian's packages"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql chromium $$(command -v npm >/dev/null 2>&1 || echo nodejs npm) >/dev/null; \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/attunement serve --demo

# LHC-Forms (the NLM's FHIR form renderer) and fhirpath, from npm at the versions the lock file
# pins, for the test that renders every Questionnaire in a real FHIR client
# (tests/e2e/test_fhir_client.py); reinstalled when the lock file changes.
FHIR_CLIENT := tests/fhir_client
FHIR_CLIENT_STAMP := $(FHIR_CLIENT)/node_modules/.installed
$(FHIR_CLIENT_STAMP): $(FHIR_CLIENT)/package.json $(FHIR_CLIENT)/package-lock.json
	cd $(FHIR_CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $(FHIR_CLIENT_STAMP)

test: $(STAMP) system-deps $(FHIR_CLIENT_STAMP)
	$(BIN)/python -m pytest

# docs/validation.md and its plots: every early-warning method on 20,000 held-out simulated
# clients, fitted on 20,000 others, then the same on every cohort shape (PHQ-9 only, GAD-7 only,
# CORE-10 only, PHQ-9 + GAD-7 without relationship measures, the full set): about half an hour
# on 2 cores. The full-set shape is the main evaluation itself (same seeds and size): its figures
# are kept as JSON for the shapes script, which simulates and evaluates the other shapes.
VALIDATION := build/validation
validation: $(STAMP)
	rm -rf $(VALIDATION)/shapes && mkdir -p $(VALIDATION)/shapes/full
	$(BIN)/attunement simulate --clients 20000 --seed 1 --out $(VALIDATION)/reference --format parquet --json >/dev/null
	$(BIN)/attunement simulate --clients 20000 --seed 2 --out $(VALIDATION)/held_out --format parquet --json >/dev/null
	$(BIN)/attunement evaluate --cohort $(VALIDATION)/held_out --reference $(VALIDATION)/reference \
		--plots docs/validation --markdown docs/validation.md --json > $(VALIDATION)/shapes/full/evaluation.json
	$(BIN)/python benchmarks/cohort_shapes.py --clients 20000 --out $(VALIDATION)/shapes --markdown docs/validation.md

# `make lint`: the style checks and the type check (mypy, installed with the test extras), which
# CI runs before `make test`.
lint: style typecheck

style: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info $(FHIR_CLIENT)/node_modules
