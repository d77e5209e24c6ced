#!/usr/bin/env bash
# Paired inbox benchmark (issue 6): two Gander servers on PostgreSQL side by
# side, one with mod_inbox off and one with backend "rdbms_async", each driven
# at the same time by its own gander-bench muclight (1,000 users in MUC Light
# rooms of 10) at the same rates. Both see the same machine at the same
# moment, so their server CPU per delivered stanza can be compared step by
# step even when the machine's speed swings between runs (see
# docs/benchmarks.md). Prints one line per step; results in $WORK.
#
#   bench/inbox-paired.sh
#
# Knobs: BENCH_PAIRED_RATES (msgs/s per server, default 800,1200,1600),
# BENCH_STEP (default 30s), BENCH_INBOX_QUERY_EVERY (default 30s; 0: never),
# BENCH_INBOX_OPTS (one more [modules.mod_inbox] line), BENCH_GANDER_FLAGS
# and BENCH_OFF_FLAGS (extra serve flags of the inbox server and of the other
# one, e.g. --cpuprofile /tmp/async.prof).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PATH="$PATH:/usr/local/go/bin"
RATES=${BENCH_PAIRED_RATES:-800,1200,1600}
STEP=${BENCH_STEP:-30s}
QUERY=${BENCH_INBOX_QUERY_EVERY:-30s}
WORK=$(mktemp -d /tmp/gander-paired.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
log() { echo "$(date -u +%T) paired: $*" >&2; }

pg_isready -h 127.0.0.1 -q || { log "PostgreSQL is not running on 127.0.0.1"; exit 1; }
log "building into $WORK"
go build -o "$WORK/gander" ./cmd/gander
go build -o "$WORK/gander-bench" ./cmd/gander-bench
mkdir -p "$WORK/cert"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 7 \
  -keyout "$WORK/cert/server.key" -out "$WORK/cert/server.crt" 2>/dev/null

for c in off async; do
  db=gander_paired_$c port=15322 http=15651
  [ "$c" = async ] && port=15323 http=15652
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $db"
  sed -e "s#@DIR@/cert#$WORK/cert#g" -e "s#@DIR@#$WORK/$c#g" -e "s/15322/$port/" -e "s/15651/$http/" \
    -e "s/gander_bench/$db/" bench/gander-pg.toml >"$WORK/$c.toml"
  printf '\n[modules.mod_muc_light]\n  backend = "rdbms"\n  [modules.mod_muc_light.cache_affs]\n' >>"$WORK/$c.toml"
  read -r -a flags <<<"${BENCH_OFF_FLAGS:-}"
  if [ "$c" = async ]; then
    printf '\n[modules.mod_inbox]\n  backend = "rdbms_async"\n' >>"$WORK/$c.toml"
    [ -z "${BENCH_INBOX_OPTS:-}" ] || printf '  %s\n' "$BENCH_INBOX_OPTS" >>"$WORK/$c.toml"
    read -r -a flags <<<"${BENCH_GANDER_FLAGS:-}"
  fi
  mkdir -p "$WORK/$c"
  "$WORK/gander" register --config "$WORK/$c.toml" --prefix bench --count 1000 --password benchpass >/dev/null
  setsid "$WORK/gander" serve --config "$WORK/$c.toml" "${flags[@]}" >"$WORK/$c.log" 2>&1 &
  echo $! >"$WORK/$c.pid"
  PIDS+=("$(cat "$WORK/$c.pid")")
done
for port in 15322 15323; do
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done

log "rates $RATES msgs/s per server, steps of $STEP"
bench=()
for c in off async; do
  port=15322 extra=()
  [ "$c" = async ] && port=15323
  [ "$c" = async ] && [ "$QUERY" != 0 ] && extra=(--inbox-query-every "$QUERY")
  "$WORK/gander-bench" muclight --server 127.0.0.1:$port --users 1000 --user-prefix bench --password benchpass \
    --room-size 10 --rates "$RATES" --step-duration "$STEP" --warmup 5s --all-steps "${extra[@]}" \
    --pid "$(cat "$WORK/$c.pid")" --db-proc postgres --quiet --label "paired-$c" --json "$WORK/$c.json" >"$WORK/$c.txt" 2>&1 &
  bench+=($!)
done
wait "${bench[@]}"
# Per step: target, server CPU s and s per 1,000 stanzas of each, the inbox
# server's extra CPU in % (from the CPU seconds: both delivered the same
# stanzas when both sustained the step), PostgreSQL CPU s (all postgres
# processes), p99s.
echo "msgs/s  off CPU s  async CPU s  off s/1k  async s/1k  async extra  PostgreSQL s  off p99 ms  async p99 ms"
paste <(grep -E '^ *[0-9]+ ' "$WORK/off.txt") <(grep -E '^ *[0-9]+ ' "$WORK/async.txt") |
  awk -v pg="$(grep -o 'db CPU at [0-9]*/s: [0-9.]* s' "$WORK/async.txt" | awk '{print $5}' | paste -sd, -)" '
    BEGIN { n = split(pg, p, ",") }
    { h = NF / 2; printf "%6s  %9s  %11s  %8s  %10s  %10.1f%%  %12s  %10s  %11s\n",
        $1, $10, $(h+10), $11, $(h+11), ($(h+10) / $10 - 1) * 100, p[NR], $7, $(h+7) }'
log "results in $WORK"
