#!/usr/bin/env bash
# ab.sh — before/after: runs one scenario against two dashboard-hub binaries in memory, back to
# back and alternating (two rounds), on loopback, and prints each run's figures.
#   bench/ab.sh OLD_BINARY NEW_BINARY fanout|slow|handshake [extra dashboard-bench flags]
# RATE sets the offered events/s (default 60000 for fanout, 20000 for slow); handshake opens
# 20,000 connections, 128 at a time; ROUNDS sets the rounds (default 2); DURABLE=1 gives each
# server a fresh --data-dir instead of :memory:. Needs a built
# build/release/dashboard-bench. Every load is bounded (15 s) and every server is stopped.
set -euo pipefail
old=$1 new=$2 scenario=$3
shift 3
root="$(cd "$(dirname "$0")/.." && pwd)"
bench="$root/build/release/dashboard-bench"
if [ ! -x "$bench" ]; then
  echo "ab.sh: no $bench; build it first: cmake --preset release && cmake --build --preset release --target dashboard-bench" >&2
  exit 2
fi
secret=bench-secret-0123456789abcdefghijklmnop
key=bench-ingest-key-0123456789
rate=${RATE:-$([ "$scenario" = slow ] && echo 20000 || echo 60000)}
case "$scenario" in
  fanout) load=(--users 500 --per-user 2 --rate "$rate" --batch 100 --seconds 15) ;;
  slow) load=(--users 500 --per-user 2 --rate "$rate" --batch 100 --seconds 15 --slow-share 0.1) ;;
  handshake) load=(--connections 20000 --concurrency 128) ;;
  *) echo "ab.sh: scenario must be fanout, slow or handshake" >&2; exit 2 ;;
esac
out=$(mktemp -d)
net=200
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for round in $(seq "${ROUNDS:-2}"); do
  for which in old new; do
    bin=$old
    [ "$which" = new ] && bin=$new
    port=$(free_port)
    data=:memory:
    [ -n "${DURABLE:-}" ] && data="$out/data-$which-$round"
    "$bin" --port "$port" --bind 127.0.0.1 --jwt-secret "$secret" --ingest-key "$key" --data-dir "$data" \
      --log-level warn --max-conns-per-user 5 --rate-limit 100 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    net=$((net + 1))
    "$bench" "$scenario" --port "$port" --jwt-secret "$secret" --ingest-key "$key" --label "$which" \
      --json "$out/$which-$round.json" --server-pid "$pid" --source-net "$net" "${load[@]}" "$@" >/dev/null 2>&1
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    [ "$data" != :memory: ] && rm -rf "$data"
    python3 - "$out/$which-$round.json" "$which" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["result"]
if "handshakes_per_s" in r:
    print(f'{sys.argv[2]:4} {r["handshakes_per_s"]:9.0f}/s  p50 {r["latency"]["p50_ms"]:6.1f} ms  p99 {r["latency"]["p99_ms"]:6.1f} ms  failed {r["failed"]}')
else:
    print(f'{sys.argv[2]:4} {r["delivered_per_s"]:9.0f}/s  p50 {r["latency"]["p50_ms"]:6.1f} ms  p99 {r["latency"]["p99_ms"]:6.1f} ms  lost {r["lost"]}  dup {r["duplicates"]}')
PY
    sleep 3  # let TIME_WAIT sockets of the previous run drain
  done
done
