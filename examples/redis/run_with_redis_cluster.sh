#!/bin/sh
# Runs an example against a 3-master Redis Cluster of its own on loopback (ctest helper): three
# redis-servers in cluster mode, joined by redis-cli --cluster create; the example gets the
# first node's port. Exits 77 (ctest: skipped) when redis-server or redis-cli is missing.
set -eu
example=$1
command -v redis-server >/dev/null 2>&1 || { echo "SKIPPED: redis-server not found"; exit 77; }
command -v redis-cli >/dev/null 2>&1 || { echo "SKIPPED: redis-cli not found"; exit 77; }
root=$(mktemp -d)
pids=""
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for pid in $pids; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$root"
}
trap cleanup EXIT
# Ports from the process id, each with its bus port (--cluster-port) below 65536.
base=$(( 20000 + ($$ % 2000) * 10 ))
nodes=""
for i in 0 1 2; do
  port=$((base + i))
  mkdir "$root/$i"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$root/$i" \
    --logfile "$root/$i/log" --daemonize no --cluster-enabled yes \
    --cluster-config-file nodes.conf --cluster-port $((port + 5)) &
  pids="$pids $!"
  nodes="$nodes 127.0.0.1:$port"
done
for i in 0 1 2; do
  tries=0
  until redis-cli -p $((base + i)) ping >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 200 ] || { echo "redis-server did not start"; exit 1; }
    sleep 0.02
  done
done
# shellcheck disable=SC2086
redis-cli --cluster create $nodes --cluster-replicas 0 --cluster-yes >/dev/null
for i in 0 1 2; do
  tries=0
  until redis-cli -p $((base + i)) cluster info | grep -q cluster_state:ok; do
    tries=$((tries + 1))
    [ "$tries" -lt 500 ] || { echo "cluster did not become ok"; exit 1; }
    sleep 0.02
  done
done
"$example" "$base"
