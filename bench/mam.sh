#!/usr/bin/env bash
# Archive query benchmark (issue 21, docs/benchmarks.md "Message archive"):
# Gander on PostgreSQL with mod_mam, an archive of 10 million one-to-one
# rows loaded by gander-bench mam-load (10,000 owners x 10 peers x 100 rows,
# plus 100 measured conversations of 10,000 rows), then gander-bench mam:
# 1,000 queries for the last 50 messages of a measured conversation (RSM
# <before/>, count included), each by a random measured owner, over XMPP.
# Target: p99 < 20 ms. Prints the query plan of one such query (EXPLAIN
# ANALYZE) and the latency line; JSON results and the exact commands go to
# $BENCH_RESULTS (default /tmp/gander-bench-results-mam).
#
#   bench/mam.sh
#
# Knobs: BENCH_MAM_OWNERS (10000), BENCH_MAM_PEERS (10), BENCH_MAM_ROWS
# (rows per conversation, 100), BENCH_MAM_MEASURED (100),
# BENCH_MAM_MEASURED_ROWS (10000), BENCH_MAM_QUERIES (1000),
# BENCH_MAM_CONCURRENCY (queries in flight, 1), BENCH_MAM_OPTS (one more
# [modules.mod_mam] line), BENCH_KEEP, BENCH_GANDER_FLAGS and the CPU lists
# BENCH_SERVER_CPUS, BENCH_LOAD_CPUS, BENCH_DB_CPUS as for bench/inbox.sh.
# A smoke run: BENCH_MAM_OWNERS=200 BENCH_MAM_ROWS=10 BENCH_MAM_MEASURED=10
# BENCH_MAM_MEASURED_ROWS=1000 BENCH_MAM_QUERIES=100 bench/mam.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PATH="$PATH:/usr/local/go/bin"

OWNERS=${BENCH_MAM_OWNERS:-10000}
PEERS=${BENCH_MAM_PEERS:-10}
ROWS=${BENCH_MAM_ROWS:-100}
MEASURED=${BENCH_MAM_MEASURED:-100}
MROWS=${BENCH_MAM_MEASURED_ROWS:-10000}
QUERIES=${BENCH_MAM_QUERIES:-1000}
CONC=${BENCH_MAM_CONCURRENCY:-1}
RESULTS=${BENCH_RESULTS:-/tmp/gander-bench-results-mam}
OUT=/dev/null
NAME=mam
N_ACCOUNTS=$OWNERS PASSWORD=benchpass PREFIX=bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

echo "# $(date -u +%FT%TZ): BENCH_MAM_OWNERS=$OWNERS BENCH_MAM_PEERS=$PEERS BENCH_MAM_ROWS=$ROWS BENCH_MAM_MEASURED=$MEASURED BENCH_MAM_MEASURED_ROWS=$MROWS BENCH_MAM_QUERIES=$QUERIES BENCH_MAM_CONCURRENCY=$CONC bench/mam.sh" >"$COMMANDS"
build
need_postgres
pin_postgres
make_cert

CURRENT=mam
db=gander_mam
fresh_pg_database "$db"
render gander-pg.toml mam.toml
sed -i -e "s/gander_bench/$db/" "$WORK/mam.toml"
mam_modules "$WORK/mam.toml" async
start_gander "$CURRENT" mam.toml
wait_port 15322

log "loading the archive"
# shellcheck disable=SC2046
run $(pin "${BENCH_LOAD_CPUS:-}") "$BENCH" mam-load --pg-dsn "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" \
  --owners "$OWNERS" --peers "$PEERS" --peer-rows "$ROWS" --measured "$MEASURED" --measured-rows "$MROWS" \
  --measured-with measured@localhost
run psql -h 127.0.0.1 -U postgres -d "$db" -Atc "SELECT pg_size_pretty(pg_total_relation_size('mam_message')) || ' (table and indexes), ' || count(*) || ' rows' FROM mam_message"
log "the plans of one query (the statements the server runs, for bench1's measured conversation)"
uid=$(psql -h 127.0.0.1 -U postgres -d "$db" -Atc "SELECT id FROM mam_server_user WHERE server = 'localhost' AND user_name = 'bench1'")
run psql -h 127.0.0.1 -U postgres -d "$db" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT id, remote_bare_jid, remote_resource, direction, from_jid, origin_id, is_groupchat, message FROM mam_message WHERE user_id = $uid AND remote_bare_jid = 'measured@localhost' ORDER BY id DESC LIMIT 51"
run psql -h 127.0.0.1 -U postgres -d "$db" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*) FROM mam_message WHERE user_id = $uid AND remote_bare_jid = 'measured@localhost'"

log "$QUERIES queries, $CONC at a time"
# shellcheck disable=SC2046
run $(pin "${BENCH_LOAD_CPUS:-}") "$BENCH" mam --server 127.0.0.1:15322 --users "$MEASURED" --user-prefix "$PREFIX" --password "$PASSWORD" \
  --mam-with measured@localhost --mam-queries "$QUERIES" --mam-concurrency "$CONC" --mam-max 50 \
  --pid "$SERVER_PID" --label mam-pg --json "$RESULTS/mam-pg.json" | tee "$WORK/mam.txt"
p99=$(grep -o 'p99 [0-9.]* ms' "$WORK/mam.txt" | awk '{print $2}')
if [ -n "$p99" ] && awk -v p="$p99" 'BEGIN { exit !(p < 20) }'; then
  echo "last 50 of a conversation: p99 $p99 ms (target < 20 ms: met)"
else
  echo "last 50 of a conversation: p99 ${p99:-none} ms (target < 20 ms: NOT met)"
fi
log "results in $RESULTS"
