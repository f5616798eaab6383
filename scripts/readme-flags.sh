#!/usr/bin/env bash
# readme-flags.sh [--check] BINARY — the README's configuration reference is BINARY's --help,
# verbatim, between the flags:begin and flags:end markers. Without --check it rewrites that block;
# with --check it fails (and shows the difference) when the two have drifted apart.
set -euo pipefail
check=0
[ "${1:-}" = --check ] && { check=1; shift; }
binary=$1
readme="$(cd "$(dirname "$0")/.." && pwd)/README.md"
block=$(mktemp)
trap 'rm -f "$block" "$block.new"' EXIT
{ echo '<!-- flags:begin (scripts/readme-flags.sh writes this block from --help) -->'; echo '```text'; "$binary" --help; echo '```'; echo '<!-- flags:end -->'; } > "$block"
awk -v block="$block" '
  /^<!-- flags:begin/ { while ((getline line < block) > 0) print line; skipping = 1; next }
  /^<!-- flags:end -->/ { skipping = 0; next }
  !skipping { print }' "$readme" > "$block.new"
grep -q '^<!-- flags:begin' "$readme" || { echo "README.md has no flags:begin marker" >&2; exit 1; }
if [ "$check" = 1 ]; then
  diff -u "$readme" "$block.new" && echo "README's configuration reference matches --help"
else
  cp "$block.new" "$readme"
fi
