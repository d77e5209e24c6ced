#!/usr/bin/env bash
# The message archive's cost on one-to-one chat (issue 21, docs/benchmarks.md
# "Message archive"): Gander servers on PostgreSQL side by side, mod_mam off,
# with the asynchronous writer and with the synchronous one, each driven by
# its own gander-bench chat (1,000 users, random pairs) at the same rate
# steps, taking turns step by step as bench/inbox-paired.sh does with
# BENCH_PAIRED_TURNS=1 (gander-bench --turns): step i of the first
# configuration, then step i of the next, each in a slot of BENCH_STEP plus
# 5 s while the others idle, until each one's first step not sustained (p99
# over 100 ms or deliveries missing). Prints each configuration's highest
# sustained rate and its cost against off. Target: async >= 90 % of off.
# JSON results and the exact commands go to $BENCH_RESULTS (default
# /tmp/gander-bench-results-mam-paired).
#
#   bench/mam-paired.sh
#
# Knobs: BENCH_MAM_RATES (total msgs/s steps, default
# 2000,4000,6000,8000,10000,12000,14000,16000,20000), BENCH_STEP (default
# 20s), BENCH_MAM_CONFIGS (turn order, default "off async sync"),
# BENCH_MAM_USERS (1000), BENCH_MAM_OPTS (one more [modules.mod_mam] line),
# BENCH_GANDER_FLAGS, BENCH_KEEP, BENCH_SERVER_CPUS, BENCH_LOAD_CPUS and
# BENCH_DB_CPUS as for bench/inbox.sh. A smoke run:
# BENCH_MAM_RATES=200,400 BENCH_STEP=5s bench/mam-paired.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PATH="$PATH:/usr/local/go/bin"

RATES=${BENCH_MAM_RATES:-2000,4000,6000,8000,10000,12000,14000,16000,20000}
CONFIGS=${BENCH_MAM_CONFIGS:-off async sync}
STEP=${BENCH_STEP:-20s}
RESULTS=${BENCH_RESULTS:-/tmp/gander-bench-results-mam-paired}
OUT=/dev/null
NAME=mam-paired
N_ACCOUNTS=${BENCH_MAM_USERS:-1000} PASSWORD=benchpass PREFIX=bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
OTHER_PIDS=""
# shellcheck disable=SC2086
trap 'rc=$?; [ -z "$OTHER_PIDS" ] || kill $OTHER_PIDS 2>/dev/null || true; (exit $rc); cleanup' EXIT

raise_fd_limit 3000
echo "# $(date -u +%FT%TZ): BENCH_MAM_RATES=$RATES BENCH_STEP=$STEP BENCH_MAM_CONFIGS='$CONFIGS' bench/mam-paired.sh" >"$COMMANDS"
build
need_postgres
pin_postgres
make_cert

declare -A PORT=() HTTP=() PID=() TURN=()
i=0
for c in $CONFIGS; do
  PORT[$c]=$((15422 + i)) HTTP[$c]=$((15751 + i)) TURN[$c]=$i
  i=$((i + 1))
done
for c in $CONFIGS; do
  CURRENT=mam-$c
  db=gander_mam_$c
  fresh_pg_database "$db"
  render gander-pg.toml "$c.toml"
  sed -i -e "s/15322/${PORT[$c]}/" -e "s/15651/${HTTP[$c]}/" -e "s/gander_bench/$db/" \
    -e "s#$WORK/gander-pg\"#$WORK/gander-pg-$c\"#" "$WORK/$c.toml"
  mam_modules "$WORK/$c.toml" "$c"
  start_gander "$CURRENT" "$c.toml"
  wait_port "${PORT[$c]}"
  PID[$c]=$SERVER_PID
  # lib.sh stops the last server started; the others are stopped here.
  OTHER_PIDS="${OTHER_PIDS:-} $SERVER_PID"
done

log "rates $RATES msgs/s, steps of $STEP, taking turns: $CONFIGS"
# Slots of a step plus 5 s (2 s of draining, 3 s to spare), from 40 s on
# (the logins of every generator).
nrates=$(tr ',' '\n' <<<"$RATES" | wc -l)
slot=$(($(sed 's/s$//' <<<"$STEP") + 5))
start=$(($(date +%s) + 40))
gens=()
for c in $CONFIGS; do
  # shellcheck disable=SC2046
  run $(pin "${BENCH_LOAD_CPUS:-}") "$BENCH" chat --server "127.0.0.1:${PORT[$c]}" --users "$N_ACCOUNTS" --user-prefix "$PREFIX" --password "$PASSWORD" \
    --rates "$RATES" --step-duration "$STEP" --warmup 3s --turns "$i" --turn "${TURN[$c]}" --turn-start "$start" --turn-length "${slot}s" \
    --max-duration "$((40 + i * nrates * slot + 60))s" --pid "${PID[$c]}" --db-proc postgres --quiet --label "mam-$c" \
    --json "$RESULTS/mam-$c.json" >"$WORK/$c.txt" 2>&1 &
  gens+=($!)
done
wait "${gens[@]}"
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
    line="$line ($(awk -v o="${MAX[off]}" -v a="${MAX[$c]}" 'BEGIN { printf "%.1f %% of off", a / o * 100 }'))"
  fi
  line="$line,"
done
echo "${line%,}"
for c in $CONFIGS; do
  [ "$c" != off ] || continue
  n=$(psql -h 127.0.0.1 -U postgres -d "gander_mam_$c" -Atc "SELECT count(*) FROM mam_message")
  echo "$c: $n archived rows"
done
log "results in $RESULTS"
