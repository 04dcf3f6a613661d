#!/usr/bin/env bash
# The Debian package as a user gets it: `make deb`'s .deb unpacked into a scratch root
# (dpkg -x: no root needed, nothing touches the system), its contents checked, its CLI run,
# and the find_package(pgqrs) consumer (tests/unit/cmake_package_test) built and run against
# that root only.
#
#   tests/package/deb_test.sh PATH/TO/pgqrs_VERSION_ARCH.deb
set -euo pipefail

deb=${1:?usage: deb_test.sh PATH/TO/pgqrs.deb}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
consumer_src=$here/../unit/cmake_package_test
work=$(mktemp -d "${TMPDIR:-/tmp}/pgqrs-deb-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "deb_test: FAIL: $*" >&2; exit 1; }

echo "== dpkg -x $(basename "$deb")"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Depends\):/  \1:/p'
dpkg -x "$deb" "$work/root"
usr=$work/root/usr
libdir=$(dirname "$(find "$usr" -name 'libpgqrs.so*' -type f | head -n 1)")
[[ -n $libdir && -d $libdir ]] || fail "no libpgqrs.so in the package"
for f in "$usr/bin/pgqrs" "$usr/include/pgqrs/pgqrs.h" "$usr/share/man/man1/pgqrs.1.gz" \
  "$libdir/cmake/pgqrs/pgqrsConfig.cmake" "$libdir/libpgqrs.so"; do
  [[ -e $f ]] || fail "missing ${f#"$work/root"}"
done
echo "  contents ok: $(dpkg-deb --contents "$deb" | wc -l) entries"

echo "== pgqrs --version from the package"
LD_LIBRARY_PATH=$libdir "$usr/bin/pgqrs" --version | tee "$work/version.txt"
grep -q '^backends .*sqlite' "$work/version.txt" || fail "pgqrs --version lists no sqlite backend"
ldd "$usr/bin/pgqrs" | grep -q 'libpgqrs.so' || fail "the CLI does not use the shared libpgqrs"

echo "== find_package(pgqrs) consumer against the unpacked root"
cmake -S "$consumer_src" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$usr" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Release >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; fail "configuring the consumer"; }
grep -q "pgqrs_DIR:PATH=$libdir/cmake/pgqrs" "$work/consumer/CMakeCache.txt" ||
  fail "pgqrs found outside the unpacked package: $(grep pgqrs_DIR "$work/consumer/CMakeCache.txt")"
cmake --build "$work/consumer" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; fail "building the consumer"; }
LD_LIBRARY_PATH=$libdir "$work/consumer/consumer"
echo "deb_test: ok"
