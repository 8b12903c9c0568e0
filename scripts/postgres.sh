#!/usr/bin/env bash
# Start a throwaway PostgreSQL for the tests (as the postgres user: initdb refuses
# root) and print `export DGM_TEST_POSTGRES_URL=...` for the caller to eval.
# Prints a loud warning and no URL when no server can be had.
set -uo pipefail
PORT="${DGM_TEST_PG_PORT:-55432}"
DATA="${DGM_TEST_PG_DATA:-/tmp/dgm-test-pg}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
url="postgresql+psycopg://postgres@127.0.0.1:${PORT}/postgres"
warn() { echo "echo '!!! PostgreSQL unavailable: $* -- the PostgreSQL tests will fail' >&2"; }
if [[ -z "$BIN" ]]; then warn "no server binaries"; exit 0; fi
as_pg() { runuser -u postgres -- "$@"; }
id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
if ! as_pg "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    mkdir -p "$DATA" && chown postgres: "$DATA"
    as_pg "$BIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null || { warn "initdb failed"; exit 0; }
  fi
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 30 \
    -o "-h 127.0.0.1 -p $PORT -k /tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { warn "server did not start (see $DATA/server.log)"; exit 0; }
fi
echo "export DGM_TEST_POSTGRES_URL='$url'"
