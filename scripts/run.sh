#!/usr/bin/env bash
# run.sh — installs what is missing, builds the release binary and runs it in development mode:
# a made-up JWT secret, a sample token and the URL to connect to. Extra arguments are passed on.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target dashboard-hub
exec ./build/release/dashboard-hub --dev "$@"
