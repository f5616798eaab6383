#!/usr/bin/env bash
# cluster.sh N — for trying Redis mode by hand: a local redis-server and N dashboard-hub
# instances sharing one port with --reuse-port, one JWT secret and ingest key among them.
# Ctrl-C stops them all. PORT (default 8000) and REDIS_PORT (default 6390) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-3}
[[ $count =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/cluster.sh N (instances, at least 1)" >&2; exit 2; }
port=${PORT:-8000}
redis_port=${REDIS_PORT:-6390}

bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target dashboard-hub
bin=./build/release/dashboard-hub
data=$PWD/data/cluster-redis
mkdir -p "$data"

export DASHBOARD_JWT_SECRET=${DASHBOARD_JWT_SECRET:-$(openssl rand -hex 32)}
export DASHBOARD_INGEST_KEY=${DASHBOARD_INGEST_KEY:-$(openssl rand -hex 16)}
pids=()
stop() {
  trap - INT TERM EXIT
  ((${#pids[@]})) && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$data" --appendonly yes --loglevel warning &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
for i in $(seq "$count"); do
  "$bin" --port "$port" --bind 127.0.0.1 --reuse-port --threads 1 --redis "redis://127.0.0.1:$redis_port" \
    --log-level warn &
  pids+=($!)
done

token=$("$bin" token --user 1)
echo
echo "  $count instances on 127.0.0.1:$port, Redis on 127.0.0.1:$redis_port (data in $data)"
echo "  connect:  ws://127.0.0.1:$port/ws/dashboard/1?token=$token"
echo "  post:     curl -X POST http://127.0.0.1:$port/api/v1/events -H 'Authorization: Bearer $DASHBOARD_INGEST_KEY' \\"
echo "              -d '{\"action\":\"created\",\"userId\":1,\"task\":{\"id\":1,\"title\":\"Try it\",\"status\":false}}'"
echo "  Ctrl-C stops everything."
wait -n "${pids[@]}"
