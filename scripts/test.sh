#!/usr/bin/env bash
# test.sh — installs what is missing, then builds and runs every test twice: a debug build, and
# an AddressSanitizer + UndefinedBehaviorSanitizer build. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for preset in debug asan; do
  echo "=== ${preset}: configure, build, test"
  cmake --workflow --preset "${preset}"
done
