#!/usr/bin/env bash
# systemd_verify.sh BINARY — systemd-analyze verify on deploy/systemd/dashboard-hub.service as
# shipped, its ExecStart pointed at BINARY (verify checks that the command exists). Any warning fails.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/dh-unit-XXXXXX)
trap 'rm -rf "$work"' EXIT
sed "s|/usr/bin/dashboard-hub|$1|" "$source_dir/deploy/systemd/dashboard-hub.service" > "$work/dashboard-hub.service"
out=$(systemd-analyze verify "$work/dashboard-hub.service" 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || { echo "$out"; exit 1; }
echo "systemd-analyze verify: clean"
