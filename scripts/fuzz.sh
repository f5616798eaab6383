#!/usr/bin/env bash
# fuzz.sh — builds the libFuzzer targets (fuzz/, clang with ASan + UBSan) and runs each for a
# bounded time, starting from the committed seeds. Any crash, leak, sanitizer report or hang
# (over 10 s for one input) fails the run; the input that caused it is kept in
# build/fuzz/artifacts/. The committed corpus is read only: new inputs go to build/fuzz/corpus/.
# FUZZ_JOBS targets run at once (default: the number of cores), each on one core for its whole
# time, so every target gets the same executions as it would alone.
#   scripts/fuzz.sh [seconds per target, default 60] [target...]
#   scripts/fuzz.sh --build-only      builds them all, runs none
set -euo pipefail
cd "$(dirname "$0")/.."
build_only=""
if [ "${1:-}" = --build-only ]; then build_only=1; shift; fi
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(client_message ingest jwt http_connection ws_session sse_request)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target $(printf 'fuzz_%s ' "${targets[@]}")
[ -z "${build_only}" ] || exit 0

dict_of() {
  case "$1" in
    http_connection) echo fuzz/dict/http.dict ;;
    jwt) echo "" ;;
    *) echo fuzz/dict/json.dict ;;
  esac
}

mkdir -p build/fuzz/artifacts
# fuzz_one TARGET: runs one target for its time; its output goes to build/fuzz/TARGET.log.
fuzz_one() {
  local target="$1"
  local work="build/fuzz/corpus/${target}"
  mkdir -p "${work}"
  local dict
  dict="$(dict_of "${target}")"
  # detect_leaks: LeakSanitizer after each input that allocated more than it freed.
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "build/fuzz/fuzz/fuzz_${target}" "${work}" "fuzz/corpus/${target}" \
      -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 -max_len=20000 \
      -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/${target}-" \
      ${dict:+-dict=${dict}} >"build/fuzz/${target}.log" 2>&1
}

jobs="${FUZZ_JOBS:-$(nproc)}"
declare -A pid_of
failed=()
wait_for() {  # wait_for TARGET: reaps its run and prints its figures (all of its log on failure)
  local target="$1" status=0
  wait "${pid_of[$target]}" || status=$?
  local log="build/fuzz/${target}.log"
  echo "=== fuzz_${target}: ${seconds} s"
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "${log}" || true
  if [ "${status}" -ne 0 ]; then
    tail -60 "${log}"
    echo "fuzz_${target} FAILED (exit ${status}); the input is in build/fuzz/artifacts/, the log in ${log}"
    failed+=("${target}")
  fi
}
running=()
for target in "${targets[@]}"; do
  if [ ${#running[@]} -ge "${jobs}" ]; then
    wait_for "${running[0]}"
    running=("${running[@]:1}")
  fi
  fuzz_one "${target}" &
  pid_of[$target]=$!
  running+=("${target}")
done
for target in "${running[@]}"; do
  wait_for "${target}"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzzing: all ${#targets[@]} targets ran ${seconds} s each without a finding"
