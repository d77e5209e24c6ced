#!/usr/bin/env bash
# Side-by-side benchmark of Gander (SQLite, PostgreSQL), ejabberd and Prosody
# with gander-bench (issue 8). One server at a time: fresh data, start,
# provision the accounts, login / chat at two sizes / idle, stop; then write
# the comparison into docs/benchmarks.md. See bench/README.md.
#
#   bench/compare.sh                 full run (about 30 minutes on 2 cores)
#   BENCH_QUICK=1 bench/compare.sh   smoke run with small N (about 2 minutes)
#
# Knobs (environment):
#   BENCH_SERVERS     servers to run, default "gander-sqlite gander-pg ejabberd prosody"
#   BENCH_RATES_1000  chat rate steps (total msgs/s) at N = 1,000
#   BENCH_RATES_5000  chat rate steps at N = 5,000
#   BENCH_STEP        duration of each rate step (default 20s)
#   BENCH_IDLE        idle connections (default 10000)
#   BENCH_RESULTS     directory for the JSON results (default /tmp/gander-bench-results,
#                     -quick for BENCH_QUICK=1); bench/inbox.sh writes there too
#   BENCH_OUT         report file (default docs/benchmarks.md)
#   BENCH_KEEP=1      keep the temporary directory (server data and logs)
#   BENCH_CACHE       where ejabberd's and Prosody's provisioned data directories
#                     are kept between runs (default /tmp/gander-bench-cache)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PATH="$PATH:/usr/local/go/bin"

QUICK=${BENCH_QUICK:-0}
SERVERS=${BENCH_SERVERS:-gander-sqlite gander-pg ejabberd prosody}
SERVERS=${SERVERS//,/ }
if [ "$QUICK" = 1 ]; then
  N_SMALL=100 N_LARGE=200
  RATES_SMALL=${BENCH_RATES_1000:-200,400}
  RATES_LARGE=${BENCH_RATES_5000:-200,400}
  STEP=${BENCH_STEP:-4s} WARMUP=1s SETTLE=2s HOLD=1s
  N_IDLE=${BENCH_IDLE:-300}
else
  N_SMALL=1000 N_LARGE=5000
  RATES_SMALL=${BENCH_RATES_1000:-500,1000,2000,4000,8000,16000,32000}
  RATES_LARGE=${BENCH_RATES_5000:-500,1000,2000,4000,8000,16000,32000}
  STEP=${BENCH_STEP:-20s} WARMUP=3s SETTLE=10s HOLD=5s
  N_IDLE=${BENCH_IDLE:-10000}
fi
N_ACCOUNTS=$N_IDLE
[ "$N_LARGE" -gt "$N_ACCOUNTS" ] && N_ACCOUNTS=$N_LARGE
PASSWORD=benchpass
PREFIX=bench
SOURCES=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4
OUT=${BENCH_OUT:-$ROOT/docs/benchmarks.md}
CACHE=${BENCH_CACHE:-/tmp/gander-bench-cache}

if [ "$QUICK" = 1 ]; then
  RESULTS=${BENCH_RESULTS:-/tmp/gander-bench-results-quick}
else
  RESULTS=${BENCH_RESULTS:-/tmp/gander-bench-results}
fi
NAME=compare
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

raise_fd_limit $((N_IDLE + 1000))
# This run's results replace those of the same servers from an earlier run;
# other files in $RESULTS (another server, bench/inbox.sh) stay in the report.
for s in $SERVERS; do
  rm -f "$RESULTS"/{login,idle,register}-"$s".json "$RESULTS"/chat-*-"$s".json "$RESULTS/commands-compare-$s.txt"
done
{
  echo "# $(date -u +%FT%TZ): BENCH_QUICK=$QUICK BENCH_SERVERS='$SERVERS' bench/compare.sh"
  echo "ulimit -n $(ulimit -n)"
} >"$COMMANDS"
build

need_peer=0
for s in $SERVERS; do case $s in ejabberd|prosody) need_peer=1;; esac; done
if [ $need_peer = 1 ] && { ! command -v ejabberdctl >/dev/null || ! command -v prosody >/dev/null; }; then
  log "installing ejabberd and prosody from Debian"
  apt-get install -y ejabberd prosody >/dev/null
  # The packages may start their daemons on the standard ports: stop them.
  for svc in ejabberd prosody; do service "$svc" stop >/dev/null 2>&1 || true; done
fi

case " $SERVERS " in *" gander-pg "*) need_postgres ;; esac
log "self-signed certificate for localhost"
make_cert

# ------------------------------------------------------------- servers
start_ejabberd() {
  render ejabberd.yml
  cp "$ROOT/bench/ejabberdctl.cfg" "$WORK/ejabberdctl.cfg"
  : >"$WORK/inetrc"
  mkdir -p "$WORK/ejabberd/spool" "$WORK/ejabberd/logs"
  rm -f "$WORK/ejabberd/spool/ejabberd.pid"
  chown -R ejabberd "$WORK/ejabberd" 2>/dev/null || true
  port_open 4369 || STARTED_EPMD=1
  note "EJABBERD_PID_PATH=\$WORK/ejabberd/spool/ejabberd.pid setsid ejabberdctl --config-dir \$WORK --config \$WORK/ejabberd.yml --ctl-config \$WORK/ejabberdctl.cfg --logs \$WORK/ejabberd/logs --spool \$WORK/ejabberd/spool foreground &"
  (cd "$WORK/ejabberd/spool" && EJABBERD_PID_PATH="$WORK/ejabberd/spool/ejabberd.pid" exec setsid ejabberdctl \
    --config-dir "$WORK" --config "$WORK/ejabberd.yml" --ctl-config "$WORK/ejabberdctl.cfg" \
    --logs "$WORK/ejabberd/logs" --spool "$WORK/ejabberd/spool" foreground) >"$WORK/ejabberd.out" 2>&1 &
  LAUNCH_PID=$!
  for _ in $(seq 1 300); do
    [ -s "$WORK/ejabberd/spool/ejabberd.pid" ] && break
    kill -0 "$LAUNCH_PID" 2>/dev/null || break
    sleep 0.2
  done
  SERVER_PID=$(cat "$WORK/ejabberd/spool/ejabberd.pid" 2>/dev/null || true)
  [ -n "$SERVER_PID" ] || { log "ejabberd did not write its pid file; see $WORK/ejabberd.out"; return 1; }
}

start_prosody() {
  render prosody.cfg.lua
  mkdir -p "$WORK/prosody-data"
  note "setsid prosody -F --config \$WORK/prosody.cfg.lua &"
  setsid prosody -F --config "$WORK/prosody.cfg.lua" >"$WORK/prosody.out" 2>&1 &
  LAUNCH_PID=$! SERVER_PID=$!
}

# start_peer starts ejabberd or Prosody with the accounts in place. The
# accounts are registered over XMPP (XEP-0077), the peers' own registration
# code, so their storage is exactly what they write themselves. That takes
# minutes for 10,000 accounts (ejabberd hashes at about 40/s here), so the
# server is then stopped and its freshly provisioned data directory saved
# in $CACHE; later runs start from a copy of it.
start_peer() {
  local data snap=$CACHE/$CURRENT-$N_ACCOUNTS
  case $CURRENT in ejabberd) data=$WORK/ejabberd/spool ;; prosody) data=$WORK/prosody-data ;; esac
  if [ -d "$snap" ]; then
    log "$CURRENT: accounts from $snap"
    mkdir -p "$(dirname "$data")"; rm -rf "$data"; cp -a "$snap" "$data"
    note "# accounts: $snap was saved after a first run's"
    note "#   gander-bench register --server $ADDR --users $N_ACCOUNTS --user-prefix $PREFIX --password $PASSWORD --login-concurrency 50"
    note "cp -a $snap \$WORK/${data#"$WORK/"}"
    "start_$CURRENT"; wait_port "$PORT"
    return
  fi
  "start_$CURRENT"; wait_port "$PORT"
  log "$CURRENT: registering $N_ACCOUNTS accounts in-band"
  run "$BENCH" register --server "$ADDR" --users "$N_ACCOUNTS" --user-prefix "$PREFIX" --password "$PASSWORD" \
    --login-concurrency 50 --label "$CURRENT" --json "$WORK/register-$CURRENT.json" --quiet >&2
  stop_server
  mkdir -p "$CACHE"; rm -rf "$snap.tmp"; cp -a "$data" "$snap.tmp"; mv "$snap.tmp" "$snap"
  log "$CURRENT: saved the provisioned data in $snap"
  "start_$CURRENT"; wait_port "$PORT"
}

scenarios() {
  local common=(--server "$ADDR" --user-prefix "$PREFIX" --password "$PASSWORD" --pid "$SERVER_PID"
    --label "$CURRENT" --scram-cache "$WORK/scram-$CURRENT.cache" --quiet)
  # Idle first, on the freshly started server: RSS before is the server's
  # own baseline, not memory a garbage collector kept from earlier load.
  log "$CURRENT: idle, $N_IDLE connections"
  run "$BENCH" idle "${common[@]}" --users "$N_IDLE" --source-addrs "$SOURCES" --settle "$SETTLE" --hold "$HOLD" \
    --json "$RESULTS/idle-$CURRENT.json" >&2 || log "$CURRENT: idle failed"
  log "$CURRENT: login ($N_ACCOUNTS users)"
  run "$BENCH" login "${common[@]}" --users "$N_ACCOUNTS" --source-addrs "$SOURCES" \
    --json "$RESULTS/login-$CURRENT.json" >&2 || log "$CURRENT: login failed"
  log "$CURRENT: chat, $N_SMALL users, rates $RATES_SMALL"
  run "$BENCH" chat "${common[@]}" --users "$N_SMALL" --rates "$RATES_SMALL" --step-duration "$STEP" --warmup "$WARMUP" \
    --json "$RESULTS/chat-$N_SMALL-$CURRENT.json" >&2 || log "$CURRENT: chat $N_SMALL failed"
  log "$CURRENT: chat, $N_LARGE users, rates $RATES_LARGE"
  run "$BENCH" chat "${common[@]}" --users "$N_LARGE" --rates "$RATES_LARGE" --step-duration "$STEP" --warmup "$WARMUP" \
    --json "$RESULTS/chat-$N_LARGE-$CURRENT.json" >&2 || log "$CURRENT: chat $N_LARGE failed"
}

for CURRENT in $SERVERS; do
  log "=== $CURRENT"
  # Each server's commands go to their own file, so that a rerun of some
  # servers keeps the commands of the others beside their results.
  COMMANDS=$RESULTS/commands-compare-$CURRENT.txt
  : >"$COMMANDS"
  note "# $CURRENT ($(date -u +%FT%TZ), bench/compare.sh)"
  case $CURRENT in
    gander-sqlite) PORT=15222; render gander-sqlite.toml; start_gander gander-sqlite gander-sqlite.toml ;;
    gander-pg)     PORT=15322; render gander-pg.toml; fresh_pg_database; start_gander gander-pg gander-pg.toml ;;
    ejabberd)      PORT=15422 ;;
    prosody)       PORT=15522 ;;
    *) log "unknown server $CURRENT (gander-sqlite, gander-pg, ejabberd, prosody)"; exit 2 ;;
  esac
  ADDR=127.0.0.1:$PORT
  case $CURRENT in
    ejabberd|prosody) start_peer ;;
    *) wait_port "$PORT" ;;
  esac
  scenarios
  stop_server
done

report
log "done: $OUT (results in $RESULTS)"
