# Shared by bench/compare.sh, bench/inbox.sh, bench/inbox-paired.sh, bench/mam.sh and bench/mam-paired.sh
# (sourced, not run): the
# temporary directory, the log of exact commands, building, server start /
# stop bookkeeping with cleanup on exit, the PostgreSQL check, the
# certificate and the report. The caller sets ROOT, RESULTS, OUT and NAME
# (its commands go to $RESULTS/commands-$NAME.txt, or wherever it points
# COMMANDS afterwards) before sourcing.

WORK=$(mktemp -d /tmp/gander-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$RESULTS" "$WORK/bin"
COMMANDS=$RESULTS/commands-$NAME.txt
SERVER_PID=""   # the running server's process (what --pid samples)
LAUNCH_PID=""   # the process we started (setsid: also its process group)
STARTED_EPMD=0
CURRENT=""

log() { printf '%s %s: %s\n' "$(date -u +%H:%M:%S)" "$NAME" "$*" >&2; }

# run writes the command to the commands file (the report prints it) and
# runs it.
run() {
  local a line=""
  for a in "$@"; do
    case $a in *[[:space:]\'\"\$\(\)\&\;\|\<\>]*) a="'$a'" ;; esac
    line+="${line:+ }$a"
  done
  printf '%s\n' "$line" | sed "s#$WORK/bin/##g; s#$WORK#\$WORK#g; s#$RESULTS#\$RESULTS#g; s#$ROOT/##g; s#--pid [0-9]*#--pid \$SERVER_PID#" >>"$COMMANDS"
  "$@"
}

# note writes a line to the commands file without running anything.
note() { printf '%s\n' "$*" >>"$COMMANDS"; }

stop_server() {
  [ -n "$LAUNCH_PID" ] || return 0
  log "stopping $CURRENT"
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  for _ in $(seq 1 150); do
    if ! kill -0 "${SERVER_PID:-$LAUNCH_PID}" 2>/dev/null; then break; fi
    sleep 0.2
  done
  # Leftovers (ejabberdctl's su, a server that ignored SIGTERM): the
  # process group we started, by its id, then the server itself.
  kill -KILL -- "-$LAUNCH_PID" 2>/dev/null || true
  if [ -n "$SERVER_PID" ]; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
  wait "$LAUNCH_PID" 2>/dev/null || true
  LAUNCH_PID="" SERVER_PID=""
}

# pin CPUS prints "taskset -c CPUS " when CPUS is set: the prefix that runs
# a command on those CPUs only (BENCH_SERVER_CPUS, BENCH_LOAD_CPUS).
pin() { [ -z "$1" ] || printf 'taskset -c %s ' "$1"; }

# pin_postgres: with BENCH_DB_CPUS set, moves every PostgreSQL process (and
# so the backends the postmaster forks later) to those CPUs until the script
# exits. The server alone on its CPUs makes the throughput a measure of the
# server, as when the database has a machine of its own.
PG_CPUS_BEFORE=""
pin_postgres() {
  [ -n "${BENCH_DB_CPUS:-}" ] || return 0
  local p
  # The CPU list the postmaster had, restored on exit.
  PG_CPUS_BEFORE=$(taskset -p -c "$(pgrep -x -o postgres)" | sed 's/.*: //')
  for p in $(pgrep -x postgres); do taskset -a -p -c "$BENCH_DB_CPUS" "$p" >/dev/null 2>&1 || true; done
  note "for p in \$(pgrep -x postgres); do taskset -a -p -c $BENCH_DB_CPUS \$p; done"
}

unpin_postgres() {
  [ -n "$PG_CPUS_BEFORE" ] || return 0
  local p
  for p in $(pgrep -x postgres); do taskset -a -p -c "$PG_CPUS_BEFORE" "$p" >/dev/null 2>&1 || true; done
  PG_CPUS_BEFORE=""
}

cleanup() {
  local rc=$?
  stop_server
  unpin_postgres
  if [ "$STARTED_EPMD" = 1 ]; then epmd -kill >/dev/null 2>&1 || true; fi
  if [ "${BENCH_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    log "kept $WORK (server data and logs)"
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
      log "$CURRENT exited before listening on $1 (logs in $WORK)"; return 1
    fi
    sleep 0.2
  done
  log "$CURRENT is not listening on $1 after 60 s"; return 1
}

raise_fd_limit() {
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  if [ "$(ulimit -n)" -lt "$1" ]; then
    log "warning: open-file limit $(ulimit -n) is below $1; the large scenarios may fail"
  fi
}

build() {
  log "building gander and gander-bench"
  run go build -o "$WORK/bin/gander" ./cmd/gander
  run go build -o "$WORK/bin/gander-bench" ./cmd/gander-bench
  GANDER=$WORK/bin/gander
  BENCH=$WORK/bin/gander-bench
}

# need_postgres makes sure PostgreSQL answers on 127.0.0.1:5432 (as .ci/run).
need_postgres() {
  pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; }
  if ! pg_up; then
    log "PostgreSQL is not answering on 127.0.0.1:5432; trying to start it"
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    fi
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  pg_up || { log "FATAL: PostgreSQL is not reachable at 127.0.0.1:5432"; exit 1; }
}

# fresh_pg_database [NAME]: an empty database NAME (default gander_bench).
fresh_pg_database() {
  local db=${1:-gander_bench}
  run psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  run psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $db"
}

# inbox_modules FILE BACKEND: appends MUC Light with its occupant cache
# (cache_affs, as a production deployment runs it) and, unless BACKEND is
# "off", mod_inbox with that backend and the $BENCH_INBOX_OPTS line.
inbox_modules() {
  printf '\n[modules.mod_muc_light]\n  backend = "rdbms"\n  [modules.mod_muc_light.cache_affs]\n' >>"$1"
  [ "$2" != off ] || return 0
  printf '\n[modules.mod_inbox]\n  backend = "%s"\n' "$2" >>"$1"
  [ -z "${BENCH_INBOX_OPTS:-}" ] || printf '  %s\n' "$BENCH_INBOX_OPTS" >>"$1"
}

# mam_modules FILE WRITER: appends mod_mam with the one-to-one archive
# (docs/modules/mod_mam.md), the asynchronous writer ("async") or the
# synchronous one ("sync"), and the $BENCH_MAM_OPTS line; "off" appends
# nothing.
mam_modules() {
  [ "$2" != off ] || return 0
  local enabled=true
  [ "$2" != sync ] || enabled=false
  printf '\n[modules.mod_mam]\n  async_writer.enabled = %s\n' "$enabled" >>"$1"
  [ -z "${BENCH_MAM_OPTS:-}" ] || printf '  %s\n' "$BENCH_MAM_OPTS" >>"$1"
  printf '  [modules.mod_mam.pm]\n' >>"$1"
}

make_cert() {
  mkdir -p "$WORK/cert"
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 7 \
    -keyout "$WORK/cert/server.key" -out "$WORK/cert/server.crt" 2>/dev/null
  cat "$WORK/cert/server.crt" "$WORK/cert/server.key" >"$WORK/cert/server.pem"
  chmod 755 "$WORK/cert"; chmod 644 "$WORK/cert"/*
}

# render copies bench/FILE to $WORK/FILE with @DIR@ replaced by $WORK.
render() { sed "s#@DIR@#$WORK#g" "$ROOT/bench/$1" >"$WORK/${2:-$1}"; }

# start_gander LABEL CONFIG: provisions the accounts with the bulk mode of
# gander register, then starts gander serve.
start_gander() {
  local label=$1 cfg=$2
  mkdir -p "$WORK/$label"
  log "$label: provisioning $N_ACCOUNTS accounts"
  run "$GANDER" register --config "$WORK/$cfg" --create --prefix "$PREFIX" --count "$N_ACCOUNTS" --password "$PASSWORD" >&2
  # BENCH_GANDER_FLAGS adds serve flags, e.g. "--cpuprofile /tmp/gander.prof".
  note "$(pin "${BENCH_SERVER_CPUS:-}")setsid gander serve --config \$WORK/$cfg ${BENCH_GANDER_FLAGS:-}&"
  # shellcheck disable=SC2086
  $(pin "${BENCH_SERVER_CPUS:-}") setsid "$GANDER" serve --config "$WORK/$cfg" ${BENCH_GANDER_FLAGS:-} >"$WORK/$label.log" 2>&1 &
  LAUNCH_PID=$! SERVER_PID=$!
}

# report writes $OUT from every result in $RESULTS, with the commands of
# every script that wrote there.
report() {
  log "writing $OUT"
  local f
  : >"$WORK/commands"
  for f in compare compare-gander-sqlite compare-gander-pg compare-ejabberd compare-prosody inbox; do
    if [ -f "$RESULTS/commands-$f.txt" ]; then
      cat "$RESULTS/commands-$f.txt" >>"$WORK/commands"; echo >>"$WORK/commands"
    fi
  done
  "$BENCH" report --results "$RESULTS" --out "$OUT" --commands "$WORK/commands"
}
