#!/usr/bin/env bash
# The test command: lint and type checks, then pytest. Extra arguments go to pytest.
#   bash scripts/test.sh          set up everything the tests need (Docker engine, sandbox
#                                 image, PostgreSQL, the local model), then run every test
#   bash scripts/test.sh --fast   the tests that need no Docker, PostgreSQL or model
#                                 (deselected by marker), in the existing .venv, set up nothing
# A test whose component is missing fails; none is ever skipped for it (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
FAST=0
if [[ "${1:-}" == "--fast" ]]; then FAST=1; shift; fi

if [[ $FAST == 1 ]]; then
  [[ -x .venv/bin/pytest ]] || { echo "no .venv with the test tools: run bash scripts/setup.sh --dev first" >&2; exit 2; }
else
  bash scripts/setup.sh --dev
  eval "$(bash scripts/postgres.sh)"   # exports DGM_TEST_POSTGRES_URL
fi

echo "==> ruff check"; .venv/bin/ruff check
echo "==> ruff format --check"; .venv/bin/ruff format --check
echo "==> mypy"; .venv/bin/mypy

if [[ $FAST == 1 ]]; then
  exec .venv/bin/pytest -m "not docker and not postgres and not local_model" "$@"
fi
exec .venv/bin/pytest "$@"
