#!/usr/bin/env bash
# The test command: lint and type checks, then pytest. Extra arguments go to pytest.
#   bash scripts/test.sh          set up everything the tests need (Docker engine, sandbox
#                                 image, PostgreSQL, the local model), then run every test
#   bash scripts/test.sh --fast   the tests that need no Docker, PostgreSQL, bubblewrap, model,
#                                 Ray or Chromium (deselected by marker: tests/conftest.py's
#                                 FAST_DESELECT), in the existing .venv, set up nothing
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
  deselect=$(.venv/bin/python -c "from tests.conftest import FAST_DESELECT; print(FAST_DESELECT)")
  # Out of reach, so that a test needing Docker or PostgreSQL without its marker fails here
  # instead of quietly using them.
  export DOCKER_HOST=unix:///nonexistent/fast-tests-use-no-docker.sock
  unset DGM_TEST_POSTGRES_URL
  exec .venv/bin/pytest -m "$deselect" "$@"
fi
exec .venv/bin/pytest "$@"
