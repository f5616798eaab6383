#!/usr/bin/env bash
# bench-setup.sh — builds what bench/compare runs: the release server and load generator, and
# the baselines named as arguments (go, node, python). Installs the benchmark's Debian packages
# (setup.sh --with-bench) and the Node.js baseline's npm packages once.
set -euo pipefail
cd "$(dirname "$0")/.."
want=" $* "
bash scripts/setup.sh --with-bench
cmake --preset release >/dev/null
cmake --build --preset release --target dashboard-hub dashboard-bench store-restart
if [[ $want == *" go "* ]]; then
  GO111MODULE=off GOPATH="$PWD/bench/baselines/go:/usr/share/gocode" GOCACHE="$PWD/build/gocache" \
    go build -o build/baseline-go baseline
fi
if [[ $want == *" node "* && ! -d bench/baselines/node/node_modules ]]; then
  (cd bench/baselines/node && npm ci --no-audit --no-fund)
fi
