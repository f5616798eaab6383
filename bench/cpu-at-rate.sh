#!/usr/bin/env bash
# cpu-at-rate.sh — what one fan-out load costs each process, at an offered rate every setup keeps
# up with: the CPU seconds Redis, each instance and the load spent. At saturation throughput is
# set by waiting as much as by work; at a fixed rate the CPU shows the work alone.
#   bench/cpu-at-rate.sh mem|redis|redis-x3   (RATE, default 10000 events/s; SECONDS_RUN, default 15)
# The fan-out scenario of bench/compare otherwise (500 users x 2, POSTs of 100 by 2 posters).
# redis-x3: three instances on one Redis, user n's clients on instance n mod 3, ingest on the
# first. Loopback only; every process is stopped at the end.
set -euo pipefail
mode=${1:?usage: cpu-at-rate.sh mem|redis|redis-x3}
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/build/release"
[ -x "$bin/dashboard-bench" ] || { echo "cpu-at-rate.sh: build the release preset first" >&2; exit 2; }
secret=bench-secret-0123456789abcdefghijklmnop
key=bench-ingest-key-0123456789
rate=${RATE:-10000} seconds=${SECONDS_RUN:-15}
dir=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

redis_args=()
if [ "$mode" != mem ]; then
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir" >/dev/null &
  redis_pid=$!
  pids+=("$redis_pid")
  wait_port "$redis_port"
  redis_args=(--redis "redis://127.0.0.1:$redis_port")
fi
instance() {
  "$bin/dashboard-hub" --port "$1" --bind 127.0.0.1 --jwt-secret "$secret" --ingest-key "$key" --data-dir :memory: \
    --log-level error --max-conns-per-user 5 --rate-limit 100 "${redis_args[@]}" >/dev/null &
  pids+=("$!")
  wait_port "$1"
}
ports=("$(free_port)")
[ "$mode" = redis-x3 ] && ports+=("$(free_port)" "$(free_port)")
for port in "${ports[@]}"; do instance "$port"; done
instances=("${pids[@]:$([ "$mode" = mem ] && echo 0 || echo 1)}")
client_ports=()
[ "$mode" = redis-x3 ] && client_ports=(--client-ports "$(IFS=,; echo "${ports[*]}")")
sleep 1  # the instances' first lease renewals and readiness, before the measured load

"$bin/dashboard-bench" fanout --port "${ports[0]}" --jwt-secret "$secret" --ingest-key "$key" --label "$mode" \
  --json "$dir/out.json" --server-pid "${instances[0]}" --users 500 --per-user 2 --rate "$rate" --batch 100 \
  --seconds "$seconds" "${client_ports[@]}" >"$dir/bench.txt" 2>&1 &
load=$!
sleep "$seconds"
load_cpu=$(cpu "$load")  # before the load exits and takes its /proc entry with it
wait "$load"
events=$(grep -o '"events_posted":[0-9]*' "$dir/out.json" | cut -d: -f2)
delivered=$(grep -o '"delivered":[0-9]*' "$dir/out.json" | cut -d: -f2)
line="$mode rate=$rate events=$events delivered=$delivered cpu_s:"
[ "$mode" != mem ] && line+=" redis=$(cpu "$redis_pid")"
for i in "${!instances[@]}"; do line+=" instance$((i + 1))=$(cpu "${instances[$i]}")"; done
echo "$line load>=$load_cpu"
