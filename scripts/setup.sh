#!/usr/bin/env bash
# setup.sh — installs the Debian bookworm packages that building dashboard-hub needs; with
# --with-tests also those its tests use, with --with-bench those of the benchmark's baselines
# (one apt-get update and one apt-get install for all of them).
# Idempotent: when everything is present it only checks, which takes well under a second.
set -euo pipefail

packages=(
  g++ cmake ninja-build make pkg-config ccache git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-program-options1.81-dev
  libfmt-dev doctest-dev libjwt-dev libssl-dev libsqlite3-dev libhiredis-dev redis-server openssl
  prometheus-cpp-dev
)
# --with-tests: what only the tests use: promtool checks /metrics, Chromium and Node.js run the
# browser test (a Node.js from elsewhere is kept if one is on PATH), clang and its runtime
# build the libFuzzer targets, nginx fronts two instances in the deployment test, Sentinel
# watches three redis-servers in the failover test, and
# systemd-analyze, dpkg-shlibdeps and file check the unit and build the .deb.
want=" $* "
if [[ $want == *" --with-tests "* ]]; then
  packages+=(prometheus chromium clang libclang-rt-14-dev nginx-light systemd dpkg-dev file python3 redis-sentinel)
fi
# --with-bench: gnuplot draws the charts; Go, Node.js and Python run the baselines.
if [[ $want == *" --with-bench "* ]]; then
  packages+=(gnuplot-nox golang-go golang-github-gorilla-websocket-dev golang-github-golang-jwt-jwt-dev
             python3-websockets python3-jwt)
fi
if [[ $want == *" --with-tests "* || $want == *" --with-bench "* ]]; then
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: run as root (or install the packages above yourself)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
