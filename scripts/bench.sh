#!/usr/bin/env bash
# Runs the FieldPay benchmarks (issue 5) in release and writes BENCHMARKS.md: builds
# fieldpay-bench and fieldpay-server, then runs the rows inside a private D-Bus session with an
# unlocked gnome-keyring (the engine keeps its refresh token in the OS credential store).
#
#   scripts/bench.sh                     every row (8-14 minutes on a 2-core machine, by its load,
#                                        before rows 12 and 13 added a few more)
#   scripts/bench.sh search sync         some rows; the others keep their last figures
#   scripts/bench.sh all --quick         small sizes: a smoke test of the harness (no BENCHMARKS.md)
#
# Rows: all, search, sync, delta, data (= search sync delta with one load), outbox, pdf,
# charges (and rss), ivr, app, charges-pg (row 6's load on SQLite and on PostgreSQL with 1 and
# 2 server instances), sync-pg (row 2's first sync from SQLite and from PostgreSQL, 50k
# accounts), openloop (row 12: charge creation at fixed arrival rates, beside a bare axum
# handler, the HTTP floor), sync-rss (row 13: server RSS while serving a first sync of 200k
# accounts), app-sync (row 15: the app's memory during a first sync of 200k accounts; needs
# the app built: scripts/build-app.sh --release), texts (row 16: 1,000 bills through Solapi's
# stand-in answering each request in 100 ms). For all, charges-pg and sync-pg a throwaway
# PostgreSQL is started with `scripts/pg-test.sh start --durable` (fsync on,
# synchronous_commit off) and stopped at exit.
# Options go to fieldpay-bench (see its --help), e.g.
# --work DIR --keep-data --app-bin PATH --sizes 10000,50000 --sync-runs 2. Only the data:
# "$CARGO_TARGET_DIR/release/fieldpay-bench gen --accounts 200000 --data DIR" (then
# fieldpay-server --data DIR serves it). Environment: CARGO_TARGET_DIR (default ./target).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh >/dev/null
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

rows=()
opts=()
for a in "$@"; do
  case "$a" in
    all | search | sync | delta | data | outbox | pdf | charges | rss | ivr | app | charges-pg | sync-pg | openloop | sync-rss | app-sync | texts) rows+=("$a") ;;
    -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
    *) opts+=("$a") ;;
  esac
done
[ ${#rows[@]} -gt 0 ] || rows=(all)

cargo build --release -p fieldpay-bench -p fieldpay-server
bench="$CARGO_TARGET_DIR/release/fieldpay-bench"

keyrings=$(mktemp -d)
pgdir=""
cleanup() {
  rm -rf "$keyrings"
  if [ -n "$pgdir" ]; then scripts/pg-test.sh stop "$pgdir"; fi
}
trap cleanup EXIT
# The PostgreSQL rows get their own throwaway cluster (durable settings, see pg-test.sh).
for row in "${rows[@]}"; do
  case "$row" in
    all | charges-pg | sync-pg)
      eval "$(scripts/pg-test.sh start --durable)"
      pgdir=$FIELDPAY_TEST_PG_DIR
      export FIELDPAY_BENCH_DATABASE_URL=$FIELDPAY_TEST_DATABASE_URL
      export FIELDPAY_BENCH_PG_DIR=$FIELDPAY_TEST_PG_DIR
      echo "== PostgreSQL for the benchmarks: $FIELDPAY_BENCH_DATABASE_URL ($pgdir)"
      break
      ;;
  esac
done
started=$SECONDS
XDG_DATA_HOME="$keyrings" dbus-run-session -- bash -c '
  set -euo pipefail
  echo -n fieldpay-bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  bench=$1 nrows=$2
  shift 2
  rows=("${@:1:$nrows}")
  opts=("${@:$((nrows + 1))}")
  for row in "${rows[@]}"; do
    "$bench" "$row" ${opts[@]+"${opts[@]}"}
  done
' bench "$bench" "${#rows[@]}" "${rows[@]}" ${opts[@]+"${opts[@]}"}
echo "== benchmarks done in $((SECONDS - started)) s"
