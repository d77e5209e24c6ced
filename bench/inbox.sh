#!/usr/bin/env bash
# Inbox benchmark (issue 6): Gander on PostgreSQL, MUC Light rooms of 10,
# gander-bench muclight at the same rate steps three times: mod_inbox off,
# backend "rdbms", backend "rdbms_async". Writes the "MUC Light + inbox"
# table of docs/benchmarks.md (through the same report as bench/compare.sh,
# whose results in the same directory stay in it). See bench/README.md.
#
#   bench/inbox.sh                  full run (about 12 minutes)
#   BENCH_QUICK=1 bench/inbox.sh    smoke run (about 1 minute)
#
# Knobs (environment):
#   BENCH_INBOX_USERS   users (default 1000 = 100 rooms; quick 100)
#   BENCH_INBOX_RATES   total groupchat msgs/s steps (each delivered to 9 members)
#   BENCH_INBOX_CONFIGS configurations, default "off rdbms rdbms_async"
#   BENCH_INBOX_OPTS    one more [modules.mod_inbox] line for rdbms and rdbms_async,
#                       e.g. "async_writer.flush_interval = 1000"
#   BENCH_INBOX_QUERY_EVERY  how often each user queries its inbox (default 30s)
#   BENCH_SERVER_CPUS, BENCH_LOAD_CPUS, BENCH_DB_CPUS  CPU lists (taskset -c) for
#                       the server, gander-bench and PostgreSQL, e.g. 0, 1 and 1:
#                       the server alone on a core is the bottleneck, as on a
#                       machine of its own (unset: no pinning)
#   BENCH_STEP, BENCH_RESULTS, BENCH_OUT, BENCH_KEEP as for bench/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PATH="$PATH:/usr/local/go/bin"

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
  N=${BENCH_INBOX_USERS:-100}
  RATES=${BENCH_INBOX_RATES:-20,40}
  STEP=${BENCH_STEP:-4s} WARMUP=1s QUERY_EVERY=2s
  RESULTS=${BENCH_RESULTS:-/tmp/gander-bench-results-quick}
else
  N=${BENCH_INBOX_USERS:-1000}
  RATES=${BENCH_INBOX_RATES:-200,400,800,1600,3200,4000,4800,5200,5600,6000,6400,6800,7200,7600,8000,8800}
  STEP=${BENCH_STEP:-20s} WARMUP=3s QUERY_EVERY=${BENCH_INBOX_QUERY_EVERY:-30s}
  RESULTS=${BENCH_RESULTS:-/tmp/gander-bench-results}
fi
CONFIGS=${BENCH_INBOX_CONFIGS:-off rdbms rdbms_async}
CONFIGS=${CONFIGS//,/ }
N_ACCOUNTS=$N
PASSWORD=benchpass
PREFIX=bench
PORT=15322
ADDR=127.0.0.1:$PORT
OUT=${BENCH_OUT:-$ROOT/docs/benchmarks.md}
NAME=inbox
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

raise_fd_limit $((N + 1000))
for c in $CONFIGS; do rm -f "$RESULTS/muclight-gander-pg-inbox-$c.json"; done
{
  echo "# $(date -u +%FT%TZ): BENCH_QUICK=$QUICK BENCH_INBOX_CONFIGS='$CONFIGS' bench/inbox.sh"
  echo "ulimit -n $(ulimit -n)"
} >"$COMMANDS"
build
need_postgres
pin_postgres
make_cert

for c in $CONFIGS; do
  CURRENT=gander-pg-inbox-$c
  log "=== $CURRENT"
  note ""; note "# $CURRENT: bench/gander-pg.toml plus MUC Light (cache_affs)$([ "$c" = off ] || echo " and [modules.mod_inbox] backend = \"$c\" ${BENCH_INBOX_OPTS:-}")"
  cfg=$CURRENT.toml
  render gander-pg.toml "$cfg"
  query=()
  case $c in
    off) ;;
    rdbms|rdbms_async) query=(--inbox-query-every "$QUERY_EVERY") ;;
    *) log "unknown configuration $c (off, rdbms, rdbms_async)"; exit 2 ;;
  esac
  inbox_modules "$WORK/$cfg" "$c"
  fresh_pg_database
  start_gander "$CURRENT" "$cfg"
  wait_port "$PORT"
  log "$CURRENT: muclight, $N users in rooms of 10, rates $RATES"
  # shellcheck disable=SC2046
  run $(pin "${BENCH_LOAD_CPUS:-}") "$BENCH" muclight --server "$ADDR" --users "$N" --user-prefix "$PREFIX" --password "$PASSWORD" \
    --room-size 10 --rates "$RATES" --step-duration "$STEP" --warmup "$WARMUP" "${query[@]}" \
    --pid "$SERVER_PID" --db-proc postgres --label "$CURRENT" --scram-cache "$WORK/scram-$CURRENT.cache" --quiet \
    --json "$RESULTS/muclight-$CURRENT.json" >&2 || log "$CURRENT: muclight failed"
  stop_server
done

report
log "done: $OUT (results in $RESULTS)"
