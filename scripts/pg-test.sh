#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: `scripts/pg-test.sh start` creates a cluster in a
# temporary folder (Debian's postgresql package, installed when missing), starts it on a free
# loopback port and prints the shell lines that export FIELDPAY_TEST_DATABASE_URL and
# FIELDPAY_TEST_PG_DIR; `scripts/pg-test.sh stop DIR` stops it and removes the folder.
# Use: eval "$(scripts/pg-test.sh start)"; ...; scripts/pg-test.sh stop "$FIELDPAY_TEST_PG_DIR"
#
# `start --durable` (the benchmarks, scripts/bench.sh): durability comparable to the server's
# SQLite (WAL, synchronous=NORMAL: a commit survives a crash of the process, the last commits
# may be lost on power loss): fsync=on, full_page_writes=on, synchronous_commit=off (a commit
# is answered before its WAL is flushed; the WAL writer flushes it within wal_writer_delay,
# 200 ms). pg_stat_statements is loaded when installed (statement counts per benchmark).
# The default (tests) has no fsync at all: the cluster is thrown away.
set -euo pipefail

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$d" ]; then
    echo "installing PostgreSQL (apt)..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
    d=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$d"
}

# Runs a PostgreSQL program as the postgres user when we are root (it refuses to run as root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A port nothing listens on now (bash only: a fresh machine may have no python).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

case "${1:-}" in
  start)
    bin=$(bindir)
    # Tests only: no fsync (the cluster is thrown away), room for many test databases' pools.
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if [ "${2:-}" = --durable ]; then
      durability="-c fsync=on -c synchronous_commit=off -c full_page_writes=on"
      if [ -e "$("$bin/pg_config" --pkglibdir 2>/dev/null || echo "$bin/../lib")/pg_stat_statements.so" ]; then
        durability="$durability -c shared_preload_libraries=pg_stat_statements"
      fi
    elif [ -n "${2:-}" ]; then
      echo "usage: scripts/pg-test.sh start [--durable] | stop DIR" >&2
      exit 2
    fi
    dir=$(mktemp -d /tmp/fieldpay-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    # Another process may take the port between the check and the start: try a few.
    for _ in 1 2 3 4 5; do
      port=$(free_port)
      if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $durability -c max_connections=1000 -c shared_buffers=256MB" \
        start >/dev/null; then
        started=1
        break
      fi
    done
    if [ -z "${started:-}" ]; then
      echo "cannot start the test PostgreSQL server (log: $dir/log)" >&2
      exit 1
    fi
    echo "export FIELDPAY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
    echo "export FIELDPAY_TEST_PG_DIR=$dir"
    ;;
  stop)
    dir=${2:?usage: pg-test.sh stop DIR}
    bin=$(bindir)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: scripts/pg-test.sh start [--durable] | stop DIR" >&2
    exit 2
    ;;
esac
