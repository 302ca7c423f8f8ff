#!/usr/bin/env bash
# Runs the Stripe-compatible test server (infra/stripe_server.py) for development and tests.
#   infra/stripe.sh start|stop|url
# Port: GIGWIRE_STRIPE_PORT (default 12111), so several checkouts or test runs can coexist.
# Webhooks: GIGWIRE_STRIPE_WEBHOOK_URL and GIGWIRE_STRIPE_WEBHOOK_SECRET, or at run time through
# POST /_test/webhooks (the stack's URL is known only once it is deployed).
# Pid and log live in .tools/stripe-PORT/; state lives in memory and ends with the server.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${GIGWIRE_STRIPE_PORT:-12111}"
URL="http://127.0.0.1:$PORT"
DIR="$ROOT/.tools/stripe-$PORT"
PIDFILE="$DIR/pid"
LOG="$DIR/log"

# The pid file alone could name a reused pid: also check that it is our server.
running() {
  [[ -f "$PIDFILE" ]] && grep -qs stripe_server "/proc/$(cat "$PIDFILE")/cmdline"
}
healthy() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "$URL/_test/health" 2>/dev/null
}
# Anything answering HTTP on the port (another program's server would not have our health route).
port_taken() {
  python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
    "$PORT" 2>/dev/null
}

start() {
  if running; then
    if healthy; then echo "$URL"; return 0; fi
    stop  # alive but not answering: start afresh
  elif port_taken; then
    # Someone else's server answers here: using it would mix test runs and their state.
    echo "port $PORT is already served by another process; stop it or set GIGWIRE_STRIPE_PORT" >&2
    return 1
  fi
  mkdir -p "$DIR"
  setsid python3 "$ROOT/infra/stripe_server.py" --port "$PORT" \
    </dev/null >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 50); do
    if healthy; then echo "$URL"; return 0; fi
    if ! running; then break; fi
    sleep 0.1
  done
  echo "Stripe test server did not become healthy on port $PORT; last log lines:" >&2
  tail -n 30 "$LOG" >&2
  stop >/dev/null 2>&1 || true
  return 1
}

stop() {
  running || { rm -f "$PIDFILE"; return 0; }
  local pid
  pid="$(cat "$PIDFILE")"
  kill -TERM "$pid" 2>/dev/null || true
  # `running`, not `kill -0`: an exited server can linger as a zombie until its reaper gets to it.
  for _ in $(seq 1 50); do
    running || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
