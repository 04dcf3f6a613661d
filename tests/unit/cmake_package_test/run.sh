#!/usr/bin/env bash
# ctest cmake_package_test: proves find_package(pgqrs) works for a downstream project.
#
#   run.sh BUILD_DIR SOURCE_DIR
#
# Installs the already-built BUILD_DIR into a temporary prefix (cmake --install), then
# configures, builds and runs the consumer project beside this script against that prefix
# only. The consumer is compiled with BUILD_DIR's compiler, build type and flags, so it
# links under the asan/tsan presets too.
set -euo pipefail

build_dir=${1:?usage: run.sh BUILD_DIR SOURCE_DIR}
source_dir=${2:?usage: run.sh BUILD_DIR SOURCE_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/pgqrs-package-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Reads a variable from the build's CMake cache (empty if unset).
cache_var() {
  sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt" | head -n 1
}
[[ -f $build_dir/CMakeCache.txt ]] || { echo "run.sh: $build_dir is not a CMake build dir" >&2; exit 1; }

echo "== cmake --install $build_dir --prefix <tmp>/prefix"
cmake --install "$build_dir" --prefix "$work/prefix" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; echo "run.sh: cmake --install failed" >&2; exit 1; }
for header in "$source_dir"/include/pgqrs/*.h; do
  test -f "$work/prefix/include/pgqrs/${header##*/}" ||
    { echo "run.sh: public header ${header##*/} was not installed" >&2; exit 1; }
done

build_type=$(cache_var CMAKE_BUILD_TYPE)
echo "== configure consumer (find_package(pgqrs), build type ${build_type:-none})"
# CMAKE_FIND_USE_PACKAGE_REGISTRY=OFF and a prefix path of only the install dir: the
# consumer must find the installed package, never the build tree.
cmake -S "$here" -B "$work/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DCMAKE_CXX_COMPILER="$(cache_var CMAKE_CXX_COMPILER)" \
  -DCMAKE_CXX_FLAGS="$(cache_var CMAKE_CXX_FLAGS)" \
  -DCMAKE_EXE_LINKER_FLAGS="$(cache_var CMAKE_EXE_LINKER_FLAGS)" \
  >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; echo "run.sh: configuring the consumer failed" >&2; exit 1; }
grep -q "pgqrs_DIR:PATH=$work/prefix" "$work/consumer/CMakeCache.txt" ||
  { grep pgqrs_DIR "$work/consumer/CMakeCache.txt" >&2; echo "run.sh: pgqrs found outside the install prefix" >&2; exit 1; }

echo "== build consumer"
cmake --build "$work/consumer" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; echo "run.sh: building the consumer failed" >&2; exit 1; }

echo "== run consumer"
"$work/consumer/consumer"
