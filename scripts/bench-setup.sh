#!/usr/bin/env bash
# bench-setup.sh — builds what bench/compare runs: the release server and load generator, and
# the baselines named as arguments (go, node, python). Installs their Debian/npm packages once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
want=" $* "
packages=(gnuplot-nox)
[[ $want == *" go "* ]] && packages+=(golang-go golang-github-gorilla-websocket-dev golang-github-golang-jwt-jwt-dev)
[[ $want == *" python "* ]] && packages+=(python3-websockets python3-jwt)
[[ $want == *" node "* ]] && packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from outside Debian on some machines; only install them when absent.
if ((${#missing[@]})); then
  filtered=()
  for p in "${missing[@]}"; do
    if [[ $p == nodejs || $p == npm ]] && command -v "${p/nodejs/node}" >/dev/null; then continue; fi
    filtered+=("$p")
  done
  if ((${#filtered[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${filtered[@]}"
  fi
fi
cmake --preset release >/dev/null
cmake --build --preset release --target dashboard-hub dashboard-bench store-restart
if [[ $want == *" go "* ]]; then
  GO111MODULE=off GOPATH="$PWD/bench/baselines/go:/usr/share/gocode" GOCACHE="$PWD/build/gocache" \
    go build -o build/baseline-go baseline
fi
if [[ $want == *" node "* && ! -d bench/baselines/node/node_modules ]]; then
  (cd bench/baselines/node && npm ci --no-audit --no-fund)
fi
