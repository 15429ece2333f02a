#!/bin/sh
# Runs an example against a redis-server of its own on a free loopback port (ctest helper).
# Exits 77 (ctest: skipped) when redis-server is not installed.
set -eu
example=$1
command -v redis-server >/dev/null 2>&1 || { echo "SKIPPED: redis-server not found"; exit 77; }
dir=$(mktemp -d)
port=$(( 20000 + $$ % 20000 ))
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  --logfile "$dir/log" --daemonize no &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
tries=0
until redis-cli -p "$port" ping >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 200 ] || { echo "redis-server did not start"; exit 1; }
  sleep 0.02
done
"$example" "$port"
