#!/usr/bin/env bash
# test.sh — installs what is missing, runs a short smoke of every benchmark scenario against
# dashboard-hub and the baselines (the tools work, nothing is lost), runs each fuzz target for a
# bounded time (FUZZ_SECONDS, default 60), then builds and runs every test three times: a debug
# build, an AddressSanitizer + UndefinedBehaviorSanitizer build and a ThreadSanitizer build.
# Exits non-zero if anything fails; ctest's summary of the ThreadSanitizer run comes last.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-tests
# playwright-core for the browser test (it drives Debian's Chromium and downloads no browser), at
# the version the lock file names.
installed=$(cat tests/browser/node_modules/playwright-core/package.json 2>/dev/null | grep -m1 '"version"' || true)
locked=$(grep -A1 '"node_modules/playwright-core"' tests/browser/package-lock.json | grep -m1 '"version"')
[ "$(echo "$installed" | tr -d ' ,')" = "$(echo "$locked" | tr -d ' ,')" ] ||
  npm ci --prefix tests/browser --no-audit --no-fund
echo "=== benchmark smoke (small and short: checks the tools, not speed)"
bash scripts/bench-setup.sh go node python
for scenario in fanout slow handshake hold curve; do
  python3 bench/compare "$scenario" --smoke --no-build
done
python3 bench/stored --smoke
echo "=== fuzzing: each target ${FUZZ_SECONDS:-60} s from the committed seeds"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
for preset in debug asan tsan; do
  echo "=== ${preset}: configure, build, test"
  cmake --workflow --preset "${preset}"
done
