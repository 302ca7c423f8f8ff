#!/usr/bin/env bash
# Runs the local AWS emulator (ministack) for development and tests.
#   infra/emulator.sh start|stop|url
# Port: GIGWIRE_EMULATOR_PORT (default 4566), so several checkouts or test runs can coexist.
# State lives in .tools/emulator-PORT/; it survives a restart only with GIGWIRE_PERSIST=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${GIGWIRE_EMULATOR_PORT:-4566}"
URL="http://127.0.0.1:$PORT"
DIR="$ROOT/.tools/emulator-$PORT"
PIDFILE="$DIR/pid"
LOG="$DIR/log"

# The pid file alone could name a reused pid: also check that it is our launcher.
running() {
  [[ -f "$PIDFILE" ]] && grep -qs ministack_launcher "/proc/$(cat "$PIDFILE")/cmdline"
}
healthy() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "$URL/_ministack/health" 2>/dev/null
}

start() {
  if running; then
    if healthy; then echo "$URL"; return 0; fi
    stop  # alive but not answering: start afresh
  elif healthy; then
    # Someone else's emulator answers here: using it would mix stacks and state.
    echo "port $PORT is already served by another emulator; stop it or set GIGWIRE_EMULATOR_PORT" >&2
    return 1
  fi
  "$ROOT/infra/tools.sh" ministack
  local persist=0
  [[ "${GIGWIRE_PERSIST:-0}" == 1 ]] && persist=1
  # Function code is unpacked under tmp/ on every deploy (hundreds of MB each time): a fresh,
  # non-persistent start needs none of it.
  [[ "$persist" == 1 ]] || rm -rf "$DIR/tmp"
  mkdir -p "$DIR/tmp" "$DIR/state" "$DIR/s3"
  # A clean environment: the Lambda processes inherit the emulator's, and a variable that only
  # happens to be set in this shell must not make a function work here that fails on AWS.
  # Listeners stay on loopback; function code is unpacked under TMPDIR, so it and all state stay
  # inside the project. AWS_ENDPOINT_URL is how the functions' SDK clients find the emulator.
  # setsid gives the emulator its own process group, so stop also reaches the Lambda processes.
  # AUTH=true makes the emulator check signatures and evaluate IAM like AWS: each function then
  # runs with only its template policies, so a missing permission fails here, not in production.
  env -i AUTH="${GIGWIRE_EMULATOR_AUTH:-true}" PATH="$PATH" HOME="$HOME" LANG="${LANG:-C.UTF-8}" LOG_LEVEL="${LOG_LEVEL:-INFO}" \
    GATEWAY_PORT="$PORT" BIND_HOST=127.0.0.1 IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 \
    TMPDIR="$DIR/tmp" STATE_DIR="$DIR/state" S3_DATA_DIR="$DIR/s3" \
    PERSIST_STATE="$persist" S3_PERSIST="$persist" \
    AWS_ENDPOINT_URL="$URL" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    setsid "$ROOT/.tools/ministack/bin/python" "$ROOT/infra/ministack_launcher.py" \
    </dev/null >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 150); do
    if healthy; then echo "$URL"; return 0; fi
    if ! running; then break; fi
    sleep 0.2
  done
  echo "emulator did not become healthy on port $PORT; last log lines:" >&2
  tail -n 30 "$LOG" >&2
  stop >/dev/null 2>&1 || true
  return 1
}

stop() {
  running || { rm -f "$PIDFILE"; return 0; }
  local pid
  pid="$(cat "$PIDFILE")"
  # SIGTERM first so ministack shuts down cleanly (and saves state when persisting), then
  # whatever is left of its process group (warm Lambda processes) is killed.
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
