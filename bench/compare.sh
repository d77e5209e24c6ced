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
#   BENCH_RESULTS     directory for the JSON results (default /tmp/gander-bench-results-TIME)
#   BENCH_OUT         report file (default docs/benchmarks.md)
#   BENCH_KEEP=1      keep the temporary directory (server data and logs)
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

WORK=$(mktemp -d /tmp/gander-bench.XXXXXX)
chmod 755 "$WORK"
RESULTS=${BENCH_RESULTS:-/tmp/gander-bench-results-$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$RESULTS" "$WORK/bin"
COMMANDS=$WORK/commands.sh
SERVER_PID=""   # the running server's process (what --pid samples)
LAUNCH_PID=""   # the process we started (setsid: also its process group)
STARTED_EPMD=0

log() { printf '%s compare: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# run logs the command into the commands file (the report prints it) and runs it.
run() {
  printf '%s\n' "$*" | sed "s#$WORK#\$WORK#g; s#$ROOT/##g" >>"$COMMANDS"
  "$@"
}

stop_server() {
  [ -n "$LAUNCH_PID" ] || return 0
  log "stopping $CURRENT"
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  for _ in $(seq 1 150); do
    if ! kill -0 "${SERVER_PID:-$LAUNCH_PID}" 2>/dev/null; then break; fi
    sleep 0.2
  done
  # Leftovers (ejabberdctl's su, a server that ignored SIGTERM): the whole
  # process group we started, by its id.
  kill -KILL -- "-$LAUNCH_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$LAUNCH_PID" 2>/dev/null || true
  LAUNCH_PID="" SERVER_PID=""
}

cleanup() {
  local rc=$?
  stop_server
  if [ "$STARTED_EPMD" = 1 ]; then epmd -kill >/dev/null 2>&1 || true; fi
  if [ "${BENCH_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    log "kept $WORK (logs, data)"
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 300); do
    port_open "$1" && return 0
    if ! kill -0 "$LAUNCH_PID" 2>/dev/null; then
      log "$CURRENT exited before listening on $1"; return 1
    fi
    sleep 0.2
  done
  log "$CURRENT is not listening on $1 after 60 s"; return 1
}

# ---------------------------------------------------------------- setup
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt $((N_IDLE + 1000)) ]; then
  log "warning: open-file limit $(ulimit -n) is below $((N_IDLE + 1000)); the idle scenario may fail"
fi

{
  echo "# $(date -u +%FT%TZ) BENCH_QUICK=$QUICK BENCH_SERVERS='$SERVERS' bench/compare.sh"
  echo "ulimit -n $(ulimit -n)"
} >"$COMMANDS"

log "building gander and gander-bench"
run go build -o "$WORK/bin/gander" ./cmd/gander
run go build -o "$WORK/bin/gander-bench" ./cmd/gander-bench
GANDER=$WORK/bin/gander
BENCH=$WORK/bin/gander-bench

need_peer=0
for s in $SERVERS; do case $s in ejabberd|prosody) need_peer=1;; esac; done
if [ $need_peer = 1 ] && { ! command -v ejabberdctl >/dev/null || ! command -v prosody >/dev/null; }; then
  log "installing ejabberd and prosody from Debian"
  apt-get install -y ejabberd prosody >/dev/null
  # The packages may start their daemons on the standard ports: stop them.
  for svc in ejabberd prosody; do service "$svc" stop >/dev/null 2>&1 || true; done
fi

case " $SERVERS " in *" gander-pg "*)
  pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; }
  if ! pg_up; then
    log "PostgreSQL is not answering on 127.0.0.1:5432; trying to start it"
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    fi
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  pg_up || { log "FATAL: PostgreSQL is not reachable at 127.0.0.1:5432"; exit 1; }
esac

log "self-signed certificate for localhost"
mkdir -p "$WORK/cert"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 7 \
  -keyout "$WORK/cert/server.key" -out "$WORK/cert/server.crt" 2>/dev/null
cat "$WORK/cert/server.crt" "$WORK/cert/server.key" >"$WORK/cert/server.pem"
chmod 755 "$WORK/cert"; chmod 644 "$WORK/cert"/*

render() { sed "s#@DIR@#$WORK#g" "$ROOT/bench/$1" >"$WORK/$1"; }

# ------------------------------------------------------------- servers
start_gander() { # label config port
  local label=$1 cfg=$2
  render "$cfg"
  if [ "$label" = gander-pg ]; then
    run psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS gander_bench WITH (FORCE)"
    run psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE gander_bench"
  fi
  mkdir -p "$WORK/$label"
  log "$label: provisioning $N_ACCOUNTS accounts"
  run "$GANDER" register --config "$WORK/$cfg" --prefix "$PREFIX" --count "$N_ACCOUNTS" --password "$PASSWORD" >&2
  printf '%s\n' "setsid gander serve --config \$WORK/$cfg &" >>"$COMMANDS"
  setsid "$GANDER" serve --config "$WORK/$cfg" >"$WORK/$label.log" 2>&1 &
  LAUNCH_PID=$! SERVER_PID=$!
}

start_ejabberd() {
  render ejabberd.yml
  cp "$ROOT/bench/ejabberdctl.cfg" "$WORK/ejabberdctl.cfg"
  : >"$WORK/inetrc"
  mkdir -p "$WORK/ejabberd/spool" "$WORK/ejabberd/logs"
  chown -R ejabberd "$WORK/ejabberd" 2>/dev/null || true
  port_open 4369 || STARTED_EPMD=1
  printf '%s\n' "EJABBERD_PID_PATH=\$WORK/ejabberd/spool/ejabberd.pid setsid ejabberdctl --config-dir \$WORK --config \$WORK/ejabberd.yml --ctl-config \$WORK/ejabberdctl.cfg --logs \$WORK/ejabberd/logs --spool \$WORK/ejabberd/spool foreground &" >>"$COMMANDS"
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
  printf '%s\n' "setsid prosody -F --config \$WORK/prosody.cfg.lua &" >>"$COMMANDS"
  setsid prosody -F --config "$WORK/prosody.cfg.lua" >"$WORK/prosody.out" 2>&1 &
  LAUNCH_PID=$! SERVER_PID=$!
}

# provision_ibr registers the accounts over XMPP (XEP-0077): the peers'
# own registration code, so their storage is exactly what they write.
provision_ibr() {
  log "$CURRENT: registering $N_ACCOUNTS accounts in-band"
  run "$BENCH" register --server "$ADDR" --users "$N_ACCOUNTS" --user-prefix "$PREFIX" --password "$PASSWORD" \
    --login-concurrency 50 --label "$CURRENT" --json "$WORK/register-$CURRENT.json" --quiet >&2
}

scenarios() {
  local common=(--server "$ADDR" --user-prefix "$PREFIX" --password "$PASSWORD" --pid "$SERVER_PID"
    --label "$CURRENT" --scram-cache "$WORK/scram-$CURRENT.cache" --quiet)
  log "$CURRENT: login ($N_ACCOUNTS users)"
  run "$BENCH" login "${common[@]}" --users "$N_ACCOUNTS" --source-addrs "$SOURCES" \
    --json "$RESULTS/login-$CURRENT.json" >&2 || log "$CURRENT: login failed"
  log "$CURRENT: chat, $N_SMALL users, rates $RATES_SMALL"
  run "$BENCH" chat "${common[@]}" --users "$N_SMALL" --rates "$RATES_SMALL" --step-duration "$STEP" --warmup "$WARMUP" \
    --json "$RESULTS/chat-$N_SMALL-$CURRENT.json" >&2 || log "$CURRENT: chat $N_SMALL failed"
  log "$CURRENT: chat, $N_LARGE users, rates $RATES_LARGE"
  run "$BENCH" chat "${common[@]}" --users "$N_LARGE" --rates "$RATES_LARGE" --step-duration "$STEP" --warmup "$WARMUP" \
    --json "$RESULTS/chat-$N_LARGE-$CURRENT.json" >&2 || log "$CURRENT: chat $N_LARGE failed"
  log "$CURRENT: idle, $N_IDLE connections"
  run "$BENCH" idle "${common[@]}" --users "$N_IDLE" --source-addrs "$SOURCES" --settle "$SETTLE" --hold "$HOLD" \
    --json "$RESULTS/idle-$CURRENT.json" >&2 || log "$CURRENT: idle failed"
}

for CURRENT in $SERVERS; do
  log "=== $CURRENT"
  printf '\n# %s\n' "$CURRENT" >>"$COMMANDS"
  case $CURRENT in
    gander-sqlite) PORT=15222; start_gander gander-sqlite gander-sqlite.toml ;;
    gander-pg)     PORT=15322; start_gander gander-pg gander-pg.toml ;;
    ejabberd)      PORT=15422; start_ejabberd ;;
    prosody)       PORT=15522; start_prosody ;;
    *) log "unknown server $CURRENT (gander-sqlite, gander-pg, ejabberd, prosody)"; exit 2 ;;
  esac
  ADDR=127.0.0.1:$PORT
  wait_port "$PORT"
  case $CURRENT in ejabberd|prosody) provision_ibr ;; esac
  scenarios
  stop_server
done

log "writing $OUT"
report=("$BENCH" report --results "$RESULTS" --out "$OUT" --commands "$COMMANDS")
if ! "${report[@]}" 2>"$WORK/report.err"; then
  if grep -q "not built yet" "$WORK/report.err"; then
    # gander-bench's report subcommand is wired to internal/benchreport at
    # merge time; until then the same code runs through bench/report.
    report=(go run ./bench/report --results "$RESULTS" --out "$OUT" --commands "$COMMANDS")
    "${report[@]}"
  else
    cat "$WORK/report.err" >&2; exit 1
  fi
fi
log "done: $OUT (results in $RESULTS)"
