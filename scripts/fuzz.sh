#!/usr/bin/env bash
# fuzz.sh — builds the libFuzzer targets (fuzz/, clang with ASan + UBSan) and runs each for a
# bounded time, starting from the committed seeds. Any crash, leak, sanitizer report or hang
# (over 10 s for one input) fails the run; the input that caused it is kept in
# build/fuzz/artifacts/. The committed corpus is read only: new inputs go to build/fuzz/corpus/.
#   scripts/fuzz.sh [seconds per target, default 60] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(client_message ingest jwt http_connection ws_session)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target $(printf 'fuzz_%s ' "${targets[@]}")

dict_of() {
  case "$1" in
    http_connection) echo fuzz/dict/http.dict ;;
    jwt) echo "" ;;
    *) echo fuzz/dict/json.dict ;;
  esac
}

mkdir -p build/fuzz/artifacts
for target in "${targets[@]}"; do
  work="build/fuzz/corpus/${target}"
  mkdir -p "${work}"
  dict="$(dict_of "${target}")"
  echo "=== fuzz_${target}: ${seconds} s"
  log="build/fuzz/${target}.log"
  status=0
  # detect_leaks: LeakSanitizer after each input that allocated more than it freed.
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "build/fuzz/fuzz/fuzz_${target}" "${work}" "fuzz/corpus/${target}" \
      -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 -max_len=20000 \
      -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/${target}-" \
      ${dict:+-dict=${dict}} >"${log}" 2>&1 || status=$?
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "${log}" || true
  if [ "${status}" -ne 0 ]; then
    tail -60 "${log}"
    echo "fuzz_${target} FAILED (exit ${status}); the input is in build/fuzz/artifacts/, the log in ${log}"
    exit 1
  fi
done
echo "fuzzing: all ${#targets[@]} targets ran ${seconds} s each without a finding"
