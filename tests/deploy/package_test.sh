#!/usr/bin/env bash
# package_test.sh BUILD_DIR — the install and the packages, with real tools:
#   1. cmake --install into a temporary prefix; the public headers pull in no Beast, Asio or SQLite;
#   2. the Conan recipe checked against that install (conan_recipe_check.py: a stub of conan);
#   3. test_package/ built with plain CMake against the prefix (find_package(dashboard_hub)), run;
#   4. cpack builds the .deb; its Depends come from dpkg-shlibdeps; dpkg -i installs it; the
#      installed binary answers --version; systemd-analyze verify passes on the installed unit;
#      the postinst made the env file 0600; dpkg -P removes it all again.
# Exits 77 (ctest: skipped) when not root, and refuses to touch a dashboard-hub package that
# was installed before it ran.
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then echo "not root: dpkg -i cannot run; skipped"; exit 77; fi
if dpkg-query -W -f='${Status}' dashboard-hub 2>/dev/null | grep -q installed; then
  echo "a dashboard-hub package is installed on this machine; this test would replace it: remove it first"; exit 1
fi
work=$(mktemp -d /tmp/dh-package-XXXXXX)
installed=0
cleanup() {
  [ "$installed" = 0 ] || dpkg -P dashboard-hub >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "=== 1. cmake --install"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
find "$work/prefix" -type f | sed "s|$work/prefix/||" | sort
if grep -rlE '#include *<(boost/beast|boost/asio|sqlite3)' "$work/prefix/include"; then
  echo "FAIL: an installed header includes Beast, Asio or SQLite"; exit 1
fi

echo "=== 2. the Conan recipe against the install"
python3 "$source_dir/tests/deploy/conan_recipe_check.py" "$source_dir" "$work/prefix"

echo "=== 3. test_package with plain CMake against the prefix"
cmake -S "$source_dir/test_package" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
"$work/prefix/bin/dashboard-hub" --version

echo "=== 4. the .deb"
(cd "$work" && cpack --config "$build/CPackConfig.cmake" -B "$work/deb" >/dev/null)
deb=$(ls "$work"/deb/dashboard-hub_*.deb)
dpkg-deb --field "$deb" Package Version Architecture Depends
dpkg-deb --field "$deb" Depends | grep -q 'libboost-json1.81.0' || { echo "FAIL: Depends lacks what dpkg-shlibdeps finds"; exit 1; }
dpkg-deb --contents "$deb" | awk '{print $6}'
installed=1
dpkg -i "$deb" >/dev/null
/usr/bin/dashboard-hub --version
unit=$(dpkg -L dashboard-hub | grep 'systemd/system/dashboard-hub.service$')
out=$(systemd-analyze verify "$unit" 2>&1) || { echo "$out"; echo "FAIL: systemd-analyze verify"; exit 1; }
[ -z "$out" ] || { echo "$out"; echo "FAIL: systemd-analyze verify warned"; exit 1; }
echo "systemd-analyze verify $unit: clean"
[ "$(stat -c %a /etc/dashboard-hub/dashboard-hub.env)" = 600 ] || { echo "FAIL: the env file is not 0600"; exit 1; }
dpkg -P dashboard-hub >/dev/null
installed=0
[ ! -e /etc/dashboard-hub/dashboard-hub.env ] || { echo "FAIL: the purge left the env file"; exit 1; }
echo "package test passed"
