#!/usr/bin/env bash
# Drives two Profanity clients (alice and bob) in tmux through the README's
# "Connecting a client" steps against a freshly built gander running its
# built-in configuration: login, roster add, chat (with an offline message),
# subscription, last activity, and a classic MUC room. Exits 0 when every
# step shows what a user would see, 1 otherwise (with the screens and the
# server log). See test/interop/README.md.
#
# Needs: go, tmux, profanity (Debian: apt-get install tmux profanity; run
# as root and they are installed when missing).
#
# Environment: GANDER_INTEROP_KEEP=1 keeps the work directory; STEP_TIMEOUT
# (seconds, default 20) bounds each wait.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STEP_TIMEOUT=${STEP_TIMEOUT:-20}
export PATH="$PATH:/usr/local/go/bin"

need() {
  command -v "$1" >/dev/null 2>&1 && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing $2 (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  else
    echo "FATAL: $1 not found (apt-get install $2)" >&2; exit 1
  fi
}
need tmux tmux
need profanity profanity
need go golang

WORK=$(mktemp -d /tmp/gander-interop.XXXXXX)
TMUX_SOCK="gander-interop-$$"
GANDER_PID=""
cleanup() {
  tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
  if [ -n "$GANDER_PID" ]; then kill "$GANDER_PID" 2>/dev/null || true; wait "$GANDER_PID" 2>/dev/null || true; fi
  if [ "${GANDER_INTEROP_KEEP:-}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "== building gander"
(cd "$ROOT" && go build -o "$WORK/gander" ./cmd/gander)
C2S=$(free_port); HTTP=$(free_port)
# The built-in configuration, on free ports so that the script runs next to
# another server.
"$WORK/gander" print-default-config | sed -e "s/port = 5222/port = $C2S/" -e "s/port = 5551/port = $HTTP/" >"$WORK/gander.toml"
"$WORK/gander" check-config "$WORK/gander.toml"
"$WORK/gander" serve --config "$WORK/gander.toml" --data-dir "$WORK/data" >"$WORK/gander.log" 2>&1 &
GANDER_PID=$!
for _ in $(seq 1 100); do
  grep -q "gander started" "$WORK/gander.log" && break
  kill -0 "$GANDER_PID" 2>/dev/null || { cat "$WORK/gander.log"; echo "FATAL: gander exited" >&2; exit 1; }
  sleep 0.2
done
grep -q "gander started" "$WORK/gander.log" || { cat "$WORK/gander.log"; echo "FATAL: gander did not start" >&2; exit 1; }
"$WORK/gander" register --config "$WORK/gander.toml" --data-dir "$WORK/data" --username alice --password secret
"$WORK/gander" register --config "$WORK/gander.toml" --data-dir "$WORK/data" --username bob --password secret

t() { tmux -L "$TMUX_SOCK" "$@"; }

# client NAME: starts Profanity for NAME with its own home directory.
client() {
  local h="$WORK/home-$1"
  mkdir -p "$h"
  t new-session -d -s "$1" -x 200 -y 50 \
    "env HOME=$h XDG_CONFIG_HOME=$h/.config XDG_DATA_HOME=$h/.local/share TERM=xterm-256color profanity"
}

# say NAME TEXT: types a line into NAME's Profanity.
say() { t send-keys -t "$1" -l "$2"; t send-keys -t "$1" Enter; }

screen() { t capture-pane -p -J -S -300 -t "$1"; }

STEP=0
dump() {
  for c in alice bob; do echo "----- $c's screen"; screen "$c" 2>/dev/null | grep -v '^\s*$' | tail -40 || true; done
  echo "----- gander log"; tail -40 "$WORK/gander.log"
}

# expect NAME REGEX WHAT: waits until NAME's current window shows REGEX.
expect() {
  local deadline=$((SECONDS + STEP_TIMEOUT))
  STEP=$((STEP + 1))
  while ! screen "$1" | grep -Eq -- "$2"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "FAIL step $STEP: $3 ($1's screen never showed /$2/)"
      dump
      exit 1
    fi
    sleep 0.2
  done
  echo "ok   step $STEP: $3"
}

# login NAME: the README's /connect, then the password prompt.
login() {
  say "$1" "/connect $1@localhost server 127.0.0.1 port $C2S tls trust"
  expect "$1" "Enter password" "$1 is asked for the password"
  say "$1" secret
  expect "$1" "$1@localhost/[^ ]+ logged in successfully" "$1 logs in (STARTTLS, SCRAM)"
}

echo "== Profanity $(profanity --version | head -1 | awk '{print $3}') against gander (c2s 127.0.0.1:$C2S)"
client alice
client bob
expect alice "Profanity" "alice's Profanity starts"
expect bob "Profanity" "bob's Profanity starts"

login alice
say alice "/roster add bob@localhost Bob"
expect alice "Roster item added: bob@localhost \(Bob\)" "roster add"
say alice "/roster"
expect alice "bob@localhost \(Bob\) - none" "the roster lists bob"
say alice "/msg bob@localhost Hello Bob"
expect alice "me: Hello Bob" "alice sends bob a message while he is offline"

login bob
expect bob "<< chat message: alice@localhost" "bob gets the offline message on login"
say bob "/win 2"
expect bob "alice@localhost/[^:]+: Hello Bob" "bob reads it"
say bob "Hello Alice"
expect alice "Bob/[^:]+: Hello Alice" "alice gets bob's answer (shown with his roster name)"

say alice "/win 1"
say alice "/sub request bob@localhost"
expect alice "Sent subscription request to bob@localhost" "alice asks for bob's presence"
say bob "/win 1"
expect bob "Received authorization request from alice@localhost" "bob gets the request"
say bob "/sub allow alice@localhost"
expect alice "Subscription received from bob@localhost" "bob allows it"

say alice "/lastactivity get localhost"
expect alice "localhost up since .*uptime" "last activity of the server (mod_last)"

say bob "/join lobby@conference.localhost"
expect bob "Room locked, requires configuration" "bob creates a MUC room"
say bob "/room accept"
expect bob "Room unlocked" "bob accepts the default room configuration"
say alice "/join lobby@conference.localhost"
expect alice "You have joined the room as alice" "alice joins the room"
say alice "Hi room"
expect bob "alice: Hi room" "bob reads alice's groupchat message"

say bob "/disconnect"
say alice "/win 1"
expect alice "Bob \([^)]*\) is offline" "alice sees bob go offline"
say alice "/lastactivity get bob@localhost"
expect alice "bob@localhost last logged in" "last activity of bob, who has left (mod_last)"

echo "PASS: $STEP steps"
