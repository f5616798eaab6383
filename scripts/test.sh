#!/usr/bin/env bash
# test.sh — the README's test command and CI's (.ci/run). Installs what is missing, then:
#   release  builds what ships, optimised (the server, the benchmark tools), runs a short smoke of
#            every benchmark scenario against dashboard-hub and the baselines (the tools work,
#            nothing is lost), then the tests that need an unsanitised build: the install, the
#            Conan recipe, the .deb, the systemd unit, --help against the README;
#   fuzz     builds the libFuzzer targets (clang, ASan + UBSan) and runs each FUZZ_SECONDS (60);
#   asan     every test under AddressSanitizer + UndefinedBehaviorSanitizer (a debug build:
#            assertions on);
#   tsan     every test under ThreadSanitizer (a debug build: assertions on).
# The benchmark smoke and the test suites mostly wait on sockets and timers, so the next build
# compiles beside them, at the lowest CPU and I/O priority: they get the cores whenever they want
# them. Ends with a table of the stages and their wall times, also when one fails (the run stops
# there, non-zero). Compiles go through ccache when it is installed (its cache is outside the
# clone, in ~/.cache/ccache), which makes a rerun quick and never changes what is built.
#   scripts/test.sh [stage...]   only the named stages (release, fuzz, asan, tsan), after setup
set -euo pipefail
cd "$(dirname "$0")/.."

# A warm cache holds the four builds.
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"
mkdir -p build

stage_names=()
stage_times=()
failed_stage=""
run_started=$SECONDS
current=""
current_started=0

stage() {  # stage NAME: ends the stage before it and starts timing NAME
  end_stage
  current="$1"
  current_started=$SECONDS
  echo "=== ${current}"
}
end_stage() {
  [ -n "${current}" ] || return 0
  stage_names+=("${current}")
  stage_times+=($((SECONDS - current_started)))
  current=""
}
mmss() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }
cache_figures() {
  ccache --print-stats 2>/dev/null | awk -F'\t' '
    $1 == "direct_cache_hit" || $1 == "preprocessed_cache_hit" { hits += $2 }
    $1 == "cache_miss" { misses = $2 }
    END { printf "ccache: %d hits, %d misses this run", hits, misses }'
}
print_stages() {
  local status=$?
  stop_background
  [ "${status}" -eq 0 ] || failed_stage="${failed_stage:-${current}}"
  end_stage
  echo
  echo "=== stages (wall time; $(cache_figures))"
  local i mark
  for i in "${!stage_names[@]}"; do
    mark="ok"
    [ "${stage_names[$i]}" = "${failed_stage}" ] && mark="FAILED"
    printf '  %-44s %6s  %s\n' "${stage_names[$i]}" "$(mmss "${stage_times[$i]}")" "${mark}"
  done
  printf '  %-44s %6s\n' "total" "$(mmss $((SECONDS - run_started)))"
  exit "${status}"
}
trap print_stages EXIT

# A build beside the current stage: started at the lowest priority in a process group of its own
# (stopped with the run if the run fails first), its output kept in a log and shown when it is
# joined; its time in the table is its own, from its start to its end.
background_name=""
background_pid=""
background() {  # background NAME COMMAND...: starts COMMAND beside what follows
  background_name="$1"
  shift
  echo "=== ${background_name} (beside what follows; its output comes when it is joined)"
  setsid bash -c 'started=$(date +%s); status=0
                  nice -n 19 ionice -c 3 "$@" >build/.background.log 2>&1 || status=$?
                  echo "$(( $(date +%s) - started ))" >build/.background.seconds
                  exit "${status}"' background "$@" &
  background_pid=$!
}
join_background() {  # waits for the background build; fails the run if it failed
  [ -n "${background_pid}" ] || return 0
  local status=0
  wait "${background_pid}" || status=$?
  background_pid=""
  echo "=== ${background_name}: joined"
  cat build/.background.log
  stage_names+=("${background_name} (beside)")
  stage_times+=("$(cat build/.background.seconds)")
  if [ "${status}" -ne 0 ]; then
    failed_stage="${background_name} (beside)"
    exit "${status}"
  fi
}
stop_background() {
  [ -n "${background_pid}" ] || return 0
  kill -- "-${background_pid}" 2>/dev/null || true
}

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(release fuzz asan tsan)
wants() { [[ " ${wanted[*]} " == *" $1 "* ]]; }

stage "setup: packages, npm"
bash scripts/setup.sh --with-tests --with-bench
# playwright-core for the browser test (it drives Debian's Chromium and downloads no browser), at
# the version the lock file names.
installed=$(cat tests/browser/node_modules/playwright-core/package.json 2>/dev/null | grep -m1 '"version"' || true)
locked=$(grep -A1 '"node_modules/playwright-core"' tests/browser/package-lock.json | grep -m1 '"version"')
[ "$(echo "$installed" | tr -d ' ,')" = "$(echo "$locked" | tr -d ' ,')" ] ||
  npm ci --prefix tests/browser --no-audit --no-fund
# Counts what this run took from the cache (the table's first line).
if command -v ccache >/dev/null; then ccache --zero-stats >/dev/null; fi

build() {  # build PRESET: configure and build every target of the preset
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1"
}
# Tests of one build run in parallel (the presets say how many: they are independent, with free
# ports and their own directories, and mostly wait on sockets); TEST_JOBS overrides it.
suite() {  # suite PRESET: the preset's tests
  ctest --preset "$1" ${TEST_JOBS:+-j "${TEST_JOBS}"}
}

if wants release; then
  stage "release: build"
  build release
  bash scripts/bench-setup.sh go node python
  if wants fuzz; then background "fuzz: build" bash scripts/fuzz.sh --build-only; fi
  stage "release: benchmark smoke"
  for scenario in fanout slow handshake hold curve; do
    python3 bench/compare "$scenario" --smoke --no-build
  done
  python3 bench/stored --smoke
  stage "release: packaging tests"
  suite package
fi
if wants fuzz; then
  end_stage
  join_background
  # Nothing compiles beside the fuzzers: a build at the lowest priority still cost them a quarter
  # of their executions (docs/build-times.md).
  stage "fuzz: ${FUZZ_SECONDS:-60} s a target, two at a time"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
fi
if wants asan; then
  stage "asan: build"
  build asan
  if wants tsan; then
    background "tsan: build" bash -c 'cmake --preset tsan >/dev/null && cmake --build --preset tsan'
  fi
  stage "asan: tests"
  suite asan
fi
if wants tsan; then
  end_stage
  join_background
  if ! wants asan; then  # else it was built beside the asan tests
    stage "tsan: build"
    build tsan
  fi
  stage "tsan: tests"
  suite tsan
fi
