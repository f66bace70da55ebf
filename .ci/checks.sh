#!/usr/bin/env bash
# What `make test` checks, once the services are up: lint, import contracts, catalogues, the suite.
set -euo pipefail
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache >/dev/null
.venv/bin/python -m pytest "$@"
