#!/usr/bin/env bash
# Paired inbox benchmark (issue 6): two Gander servers on PostgreSQL side by
# side, one with mod_inbox off and one with backend "rdbms_async", each driven
# at the same time by its own gander-bench muclight (1,000 users in MUC Light
# rooms of 10) at the same rates. Both see the same machine at the same
# moment, so their server CPU per delivered stanza can be compared step by
# step even when the machine's speed swings between runs (see
# docs/benchmarks.md). Prints one line per step; the JSON results and the
# commands go to $BENCH_RESULTS (default /tmp/gander-bench-results-paired).
#
#   bench/inbox-paired.sh
#
# Knobs: BENCH_PAIRED_RATES (msgs/s per server, default 800,1200,1600),
# BENCH_STEP (default 30s), BENCH_INBOX_QUERY_EVERY (default 30s; 0: never),
# BENCH_INBOX_OPTS (one more [modules.mod_inbox] line), BENCH_GANDER_FLAGS
# and BENCH_OFF_FLAGS (extra serve flags of the inbox server and of the other
# one, e.g. --cpuprofile /tmp/async.prof), BENCH_KEEP as for bench/compare.sh,
# BENCH_SERVER_CPUS, BENCH_LOAD_CPUS and BENCH_DB_CPUS as for bench/inbox.sh
# (with BENCH_SERVER_CPUS both servers share those CPUs).
#
# Turns (BENCH_PAIRED_TURNS=1): instead of loading both servers at once, the
# two generators take turns step by step (gander-bench --turns): step i of
# the first configuration, then step i of the second, each in a slot of
# BENCH_STEP plus 5 s, so each server has the machine to itself while it is
# measured and the two are compared a few seconds apart. Each generator stops
# at its first step not sustained (p99 over 100 ms or deliveries missing), so
# the result is the highest sustained rate of each, as bench/inbox.sh gives,
# without the minutes between two runs. BENCH_PAIRED_CONFIGS (turns only)
# lists the configurations in turn order, default "off rdbms_async"; a name
# ending in "_noq" is that backend without inbox queries (the reference's
# scenario), e.g. "rdbms_async off rdbms_async_noq".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PATH="$PATH:/usr/local/go/bin"

RATES=${BENCH_PAIRED_RATES:-800,1200,1600}
TURNS=${BENCH_PAIRED_TURNS:-0}
CONFIGS=${BENCH_PAIRED_CONFIGS:-off rdbms_async}
[ "$TURNS" = 1 ] || CONFIGS="off rdbms_async"
STEP=${BENCH_STEP:-30s}
QUERY_EVERY=${BENCH_INBOX_QUERY_EVERY:-30s}
RESULTS=${BENCH_RESULTS:-/tmp/gander-bench-results-paired}
OUT=/dev/null # no report: the comparison is printed
NAME=inbox-paired
N_ACCOUNTS=1000 PASSWORD=benchpass PREFIX=bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
OTHER_PIDS=""
# shellcheck disable=SC2086
trap 'rc=$?; [ -z "$OTHER_PIDS" ] || kill $OTHER_PIDS 2>/dev/null || true; (exit $rc); cleanup' EXIT

raise_fd_limit 3000
echo "# $(date -u +%FT%TZ): BENCH_PAIRED_RATES=$RATES BENCH_STEP=$STEP BENCH_PAIRED_TURNS=$TURNS BENCH_PAIRED_CONFIGS='$CONFIGS' bench/inbox-paired.sh" >"$COMMANDS"
build
need_postgres
pin_postgres
make_cert

declare -A PORT=() HTTP=() PID=() TURN=()
i=0
for c in $CONFIGS; do
  PORT[$c]=$((15322 + i)) HTTP[$c]=$((15651 + i)) TURN[$c]=$i
  i=$((i + 1))
done
for c in $CONFIGS; do
  CURRENT=paired-$c
  db=gander_paired_$c
  fresh_pg_database "$db"
  render gander-pg.toml "$c.toml"
  sed -i -e "s/15322/${PORT[$c]}/" -e "s/15651/${HTTP[$c]}/" -e "s/gander_bench/$db/" \
    -e "s#$WORK/gander-pg\"#$WORK/gander-pg-$c\"#" "$WORK/$c.toml"
  inbox_modules "$WORK/$c.toml" "${c%_noq}"
  flags=${BENCH_OFF_FLAGS:-}
  [ "$c" = off ] || flags=${BENCH_GANDER_FLAGS:-}
  BENCH_GANDER_FLAGS=$flags start_gander "$CURRENT" "$c.toml"
  wait_port "${PORT[$c]}"
  PID[$c]=$SERVER_PID
  # lib.sh stops the last server started; the others are stopped here.
  OTHER_PIDS="${OTHER_PIDS:-} $SERVER_PID"
done

log "rates $RATES msgs/s per server, steps of $STEP$([ "$TURNS" = 1 ] && echo ", taking turns: $CONFIGS")"
mode=(--all-steps --warmup 5s)
if [ "$TURNS" = 1 ]; then
  # Slots of a step plus 5 s (2 s of draining, 3 s to spare), from 40 s on
  # (the logins and rooms of both generators).
  nrates=$(tr ',' '\n' <<<"$RATES" | wc -l)
  slot=$(($(sed 's/s$//' <<<"$STEP") + 5))
  start=$(($(date +%s) + 40))
  mode=(--warmup 3s --turns "$i" --turn-start "$start" --turn-length "${slot}s" --max-duration "$((40 + i * nrates * slot + 60))s")
fi
gens=()
for c in $CONFIGS; do
  query=()
  [ "$c" = off ] || [ "$c" != "${c%_noq}" ] || [ "$QUERY_EVERY" = 0 ] || query=(--inbox-query-every "$QUERY_EVERY")
  turn=()
  [ "$TURNS" != 1 ] || turn=(--turn "${TURN[$c]}")
  # shellcheck disable=SC2046
  run $(pin "${BENCH_LOAD_CPUS:-}") "$BENCH" muclight --server "127.0.0.1:${PORT[$c]}" --users "$N_ACCOUNTS" --user-prefix "$PREFIX" --password "$PASSWORD" \
    --room-size 10 --rates "$RATES" --step-duration "$STEP" "${mode[@]}" "${turn[@]}" "${query[@]}" \
    --pid "${PID[$c]}" --db-proc postgres --quiet --label "paired-$c" --json "$RESULTS/paired-$c.json" >"$WORK/$c.txt" 2>&1 &
  gens+=($!)
done
wait "${gens[@]}"
if [ "$TURNS" = 1 ]; then
  declare -A MAX=()
  for c in $CONFIGS; do
    echo "== $c"
    grep -E '^ *(target|[0-9]+ )|max sustained|error' "$WORK/$c.txt" || true
    MAX[$c]=$(grep -o 'max sustained: [0-9]*' "$WORK/$c.txt" | awk '{print $3}' || true)
  done
  line="highest sustained msgs/s:"
  for c in $CONFIGS; do
    line="$line $c ${MAX[$c]:-none}"
    if [ "$c" != off ] && [ -n "${MAX[off]:-}" ] && [ -n "${MAX[$c]}" ]; then
      line="$line ($(awk -v o="${MAX[off]}" -v a="${MAX[$c]}" 'BEGIN { printf "cost %.1f %%", (1 - a / o) * 100 }'))"
    fi
    line="$line,"
  done
  echo "${line%,}"
  log "results in $RESULTS"
  exit 0
fi
# Per step: target, server CPU s and s per 1,000 stanzas of each, the inbox
# server's extra CPU in % (from the CPU seconds: both delivered the same
# stanzas when both sustained the step), PostgreSQL CPU s (all postgres
# processes), p99s.
echo "msgs/s  off CPU s  async CPU s  off s/1k  async s/1k  async extra  PostgreSQL s  off p99 ms  async p99 ms"
paste <(grep -E '^ *[0-9]+ ' "$WORK/off.txt") <(grep -E '^ *[0-9]+ ' "$WORK/rdbms_async.txt") |
  awk -v pg="$(grep -o 'db CPU at [0-9]*/s: [0-9.]* s' "$WORK/rdbms_async.txt" | awk '{print $5}' | paste -sd, -)" '
    BEGIN { split(pg, p, ",") }
    { h = NF / 2; printf "%6s  %9s  %11s  %8s  %10s  %10.1f%%  %12s  %10s  %11s\n",
        $1, $10, $(h+10), $11, $(h+11), ($(h+10) / $10 - 1) * 100, p[NR], $7, $(h+7) }'
log "results in $RESULTS"
