# spp-activities: every set-up and check step lives here.
# `make demo` and `make test` are the two commands a new machine needs.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV      := .venv
BIN       := $(CURDIR)/$(VENV)/bin
PY        := $(BIN)/python
NODE_BIN  := $(CURDIR)/node_modules/.bin
STAMP     := $(VENV)/.installed
# Node is needed only by the spec lint (Spectral) and the Prism tests, so it has its own
# stamp: `make demo` and `make generate` never run npm.
NODE_STAMP := node_modules/.installed
# The generator's ruff post-hook must be the pinned ruff from the venv.
export PATH := $(BIN):$(NODE_BIN):$(PATH)

GENERATE = openapi-python-client generate --path openapi.yaml --config generator-config.yml \
	--custom-template-path overlays/spp_api_templates \
	--meta none --fail-on-warning --overwrite

.PHONY: help install generate check-generated lint-spec lint typecheck check-breaking check test \
	demo bench nox release-check clean

help:
	@echo "make demo      run the main job against an embedded sandbox"
	@echo "make test      run every check, then the test suite"
	@echo "make install   create .venv and node_modules (other targets do it for you)"
	@echo "make generate  regenerate generated/spp_api from openapi.yaml"
	@echo "make check     lint the spec, check generated/, ruff, mypy --strict, breaking changes"
	@echo "make bench     run the benchmarks under bench/"
	@echo "make nox       the test subset on Python 3.11-3.13 and on the lowest/newest dependencies"
	@echo "make release-check  build sdist and wheel, twine check, try the wheel in a clean venv"

# Idempotent: each part re-runs only when its dependency files change.
install: $(STAMP) $(NODE_STAMP)
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

generate: $(STAMP)
	$(GENERATE) --output-path generated/spp_api

# Regenerate into a temporary folder; any difference from generated/ fails.
check-generated: $(STAMP)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(GENERATE) --output-path "$$tmp/spp_api" >/dev/null; \
	if ! diff -r -q generated/spp_api "$$tmp/spp_api" -x __pycache__; then \
		echo "generated/ differs from a fresh generation: run 'make generate' and never edit generated/ by hand." >&2; \
		exit 1; \
	fi; \
	echo "generated/ matches openapi.yaml"

lint-spec: $(STAMP) $(NODE_STAMP)
	openapi-spec-validator openapi.yaml
	spectral lint --fail-severity=warn --quiet openapi.yaml
	@echo "openapi.yaml: no errors, no warnings"

lint: $(STAMP)
	ruff check overlays tests bench noxfile.py
	ruff format --check overlays tests bench noxfile.py

typecheck: $(STAMP)
	mypy
	mypy tests/client  # the client tests, typed through their fixtures

# Breaking changes since the release kept in tests/gates/released/: openapi.yaml, and the
# Python API of spp_activities and spp_api. Each passes only with a major version bump
# and a CHANGELOG.md entry naming it.
check-breaking: $(STAMP)
	$(PY) tests/gates/spec_breaking.py
	$(PY) tests/gates/api_breaking.py

# check-breaking runs first, so that a breaking edit is named before the linters or mypy
# trip over its consequences (an example that no longer fits, an overlay that no longer types).
check: check-breaking lint-spec check-generated lint typecheck

test: check $(NODE_STAMP)
	pytest

# Starts the embedded sandbox on a free port with a temporary database, creates an
# activity through SPPClient, shows one handled error, shuts down.
demo: $(STAMP)
	@$(BIN)/spp-activities demo

# Ratios measured side by side against local servers in child processes; writes
# bench/results.json and bench/results.png. Under 5 minutes on 2 cores. Never part of `make test`.
bench: $(STAMP)
	$(PY) bench/run.py

# Lean by design (a subset of the suite per session, uv's shared cache): CI runs it after
# `make test` within its 90-minute budget.
nox: $(STAMP)
	$(BIN)/nox

# What a user installs: build both archives, check their metadata, install the wheel alone
# into a clean venv and run the README's bare-client snippet against a sandbox.
release-check: $(STAMP)
	.ci/release-check

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .nox dist
